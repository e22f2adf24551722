//! Calendar files (RFC 5545), as pure functions of values: a booking's `booking.ics` (one
//! `VEVENT`, `METHOD:REQUEST` with `SEQUENCE:0` for a booking, `METHOD:CANCEL` with
//! `SEQUENCE:1` and `STATUS:CANCELLED` for its cancellation) and a room's feed for its staff
//! (`METHOD:PUBLISH`, one `VEVENT` per upcoming booking).
//!
//! Written with the `icalendar` crate (docs/architecture.md says why): it escapes text values
//! (`,`, `;`, `\`, new lines), folds lines at 75 octets and ends them with CRLF, which is where
//! hand-written calendar files go wrong. Times are written in UTC (`DTSTART:…Z`): an instant no
//! client can misread, whatever zone the reader's calendar is in — the venue's local time and its
//! zone's name are in the description for people. `DTSTAMP` is an argument, never the clock, so
//! the same values give the same file.
//!
//! A leaf: it imports nothing from the rest of the crate.

use chrono::{DateTime, Utc};
use icalendar::{Calendar, Component, Event, EventLike, EventStatus};

/// The product that wrote a file (`PRODID`).
pub const PRODUCT: &str = "-//Escape Room Booking//booking.ics//EN";

/// The `UID` host when no `PUBLIC_BASE_URL` is set: a name that resolves nowhere (RFC 2606),
/// so it can never be mistaken for anybody's domain.
pub const DEFAULT_UID_HOST: &str = "escape-room.invalid";

/// A booking's `UID`: `<reference>@<host>`, the same in the booking's file, its cancellation and
/// the staff feed, so a calendar that imported one updates that event instead of adding another.
/// `host` is the host of `PUBLIC_BASE_URL` (see [`uid_host`]).
pub fn uid(reference: &str, host: &str) -> String {
    format!("{reference}@{host}")
}

/// The host of a public base URL (`https://book.example.com:8443` → `book.example.com`), or
/// [`DEFAULT_UID_HOST`] without one.
pub fn uid_host(public_base_url: Option<&str>) -> String {
    let host = public_base_url.and_then(|url| {
        let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
        let authority = rest.split('/').next().unwrap_or_default();
        let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        let host = host.split(':').next().unwrap_or_default();
        (!host.is_empty()).then(|| host.to_ascii_lowercase())
    });
    host.unwrap_or_else(|| DEFAULT_UID_HOST.to_owned())
}

/// One game as a calendar event: what a `VEVENT` says of a booking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Game {
    /// See [`uid`].
    pub uid: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// One line: the room and the party (see [`player_summary`], [`staff_summary`]).
    pub summary: String,
    /// The room's name.
    pub location: String,
    /// Lines for people: the local time with the zone's name, the reference, the link.
    pub description: String,
    /// The booking's page, if the service knows its public address.
    pub url: Option<String>,
}

/// What a player's calendar is told of their booking: plain values, from the booking page's
/// look-up or from a booking event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookingFacts<'a> {
    pub reference: &'a str,
    pub room_name: &'a str,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// The venue's zone: the description gives the local time with its name.
    pub zone: chrono_tz::Tz,
    pub players: Option<u32>,
    /// The booking's page (`{PUBLIC_BASE_URL}/booking/{reference}`, never with its key).
    pub page: Option<String>,
    /// See [`uid_host`].
    pub uid_host: &'a str,
}

/// A time in the venue's zone, for people, with the zone's name:
/// `Saturday 4 July 2026, 18:00 (Europe/Berlin)`.
pub fn local_when(at: DateTime<Utc>, zone: chrono_tz::Tz) -> String {
    let local = at.with_timezone(&zone);
    format!("{} ({})", local.format("%A %-d %B %Y, %H:%M"), zone.name())
}

/// A player's booking as a calendar event: the room and party in the summary, the room as the
/// location, the local time with its zone, the party, the reference and the booking's page in
/// the description.
pub fn player_game(facts: &BookingFacts<'_>) -> Game {
    let players = facts.players.map(party);
    Game {
        uid: uid(facts.reference, facts.uid_host),
        start: facts.start,
        end: facts.end,
        summary: player_summary(facts.room_name, facts.players),
        location: facts.room_name.to_owned(),
        description: lines(
            [
                Some(local_when(facts.start, facts.zone)),
                players,
                Some(format!("Reference {}", facts.reference)),
                facts
                    .page
                    .as_ref()
                    .map(|page| format!("See or cancel it: {page}")),
            ]
            .into_iter()
            .flatten(),
        ),
        url: facts.page.clone(),
    }
}

/// What a booking's file asks of the calendar it is opened in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// A booking: add it (`METHOD:REQUEST`, `SEQUENCE:0`, `STATUS:CONFIRMED`).
    Request,
    /// Its cancellation: take it away (`METHOD:CANCEL`, `SEQUENCE:1`, `STATUS:CANCELLED`).
    Cancel,
}

impl Method {
    fn name(self) -> &'static str {
        match self {
            Method::Request => "REQUEST",
            Method::Cancel => "CANCEL",
        }
    }
}

/// The summary of a player's booking: `Room name · 4 players`.
pub fn player_summary(room: &str, players: Option<u32>) -> String {
    match players {
        Some(n) => format!("{} · {}", one_line(room), party(n)),
        None => one_line(room),
    }
}

/// The summary of a booking in the staff feed: `4 players · Ada Lovelace` (no name: the room).
pub fn staff_summary(room: &str, players: Option<u32>, name: Option<&str>) -> String {
    let who = name.map(one_line).filter(|n| !n.is_empty());
    match (players, who) {
        (Some(n), Some(who)) => format!("{} · {who}", party(n)),
        (Some(n), None) => format!("{} · {}", party(n), one_line(room)),
        (None, Some(who)) => format!("{} · {who}", one_line(room)),
        (None, None) => one_line(room),
    }
}

fn party(n: u32) -> String {
    if n == 1 {
        "1 player".to_owned()
    } else {
        format!("{n} players")
    }
}

/// Text without control characters (a room's name is the operator's text): a line break or a
/// carriage return in a summary would end it early in some clients.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_owned()
}

/// A description's lines, each cleaned of control characters, joined with new lines (which the
/// writer escapes as `\n`).
pub fn lines<I, S>(parts: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    parts
        .into_iter()
        .map(|line| one_line(line.as_ref()))
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

fn event(game: &Game, stamp: DateTime<Utc>) -> Event {
    let mut event = Event::new();
    event
        .uid(&game.uid)
        .timestamp(stamp)
        .starts(game.start)
        .ends(game.end)
        .summary(&game.summary)
        .location(&one_line(&game.location))
        .description(&game.description);
    if let Some(url) = &game.url {
        event.url(url);
    }
    event
}

fn calendar(method: &str) -> Calendar {
    let mut calendar = Calendar::empty();
    calendar
        .append_property(("VERSION", "2.0"))
        .append_property(("PRODID", PRODUCT))
        .append_property(("CALSCALE", "GREGORIAN"))
        .append_property(("METHOD", method));
    calendar
}

/// A booking's `booking.ics`: one `VEVENT`, as a booking ([`Method::Request`]) or its
/// cancellation ([`Method::Cancel`]). `stamp` is `DTSTAMP`: when the file was made.
pub fn booking(game: &Game, method: Method, stamp: DateTime<Utc>) -> String {
    let mut event = event(game, stamp);
    match method {
        Method::Request => event.sequence(0).status(EventStatus::Confirmed),
        Method::Cancel => event.sequence(1).status(EventStatus::Cancelled),
    };
    let mut calendar = calendar(method.name());
    calendar.push(event.done());
    calendar.to_string()
}

/// A room's feed for its staff: `METHOD:PUBLISH`, named `name` (`X-WR-CALNAME`), one `VEVENT`
/// per game, in the order given. `time_zone` (the venue's, `X-WR-TIMEZONE`) is how clients that
/// read it show the events; the times themselves are in UTC.
pub fn feed(name: &str, time_zone: &str, games: &[Game], stamp: DateTime<Utc>) -> String {
    let mut calendar = calendar("PUBLISH");
    calendar.name(&one_line(name)).timezone(time_zone);
    for game in games {
        let mut event = event(game, stamp);
        event.sequence(0).status(EventStatus::Confirmed);
        calendar.push(event.done());
    }
    calendar.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn game() -> Game {
        Game {
            uid: uid("7K3M9QXA2B", "book.example.com"),
            start: Utc.with_ymd_and_hms(2026, 7, 4, 16, 0, 0).unwrap(),
            end: Utc.with_ymd_and_hms(2026, 7, 4, 17, 30, 0).unwrap(),
            summary: player_summary("The Vault; level 2", Some(4)),
            location: "The Vault; level 2".into(),
            description: lines([
                "Saturday 4 July 2026, 18:00 (Europe/Berlin)",
                "Reference 7K3M9QXA2B",
            ]),
            url: Some("https://book.example.com/booking/7K3M9QXA2B".into()),
        }
    }

    fn stamp() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 6, 1, 9, 0, 0).unwrap()
    }

    /// The file's content lines, unfolded (a line that starts with a space continues the last).
    fn unfolded(text: &str) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for line in text.split("\r\n") {
            match line.strip_prefix(' ') {
                Some(rest) if !out.is_empty() => out.last_mut().unwrap().push_str(rest),
                _ => out.push(line.to_owned()),
            }
        }
        out
    }

    #[test]
    fn a_booking_is_one_request_event_in_utc_with_sequence_zero() {
        let text = booking(&game(), Method::Request, stamp());
        assert!(text.starts_with("BEGIN:VCALENDAR\r\n"), "{text}");
        assert!(text.ends_with("END:VCALENDAR\r\n"), "{text}");
        let lines = unfolded(&text);
        for expected in [
            "VERSION:2.0",
            "METHOD:REQUEST",
            "UID:7K3M9QXA2B@book.example.com",
            "DTSTART:20260704T160000Z",
            "DTEND:20260704T173000Z",
            "DTSTAMP:20260601T090000Z",
            "SEQUENCE:0",
            "STATUS:CONFIRMED",
            // Text is escaped: `;` and `,` would otherwise split the value.
            "SUMMARY:The Vault\\; level 2 · 4 players",
            "LOCATION:The Vault\\; level 2",
            "DESCRIPTION:Saturday 4 July 2026\\, 18:00 (Europe/Berlin)\\nReference 7K3M9QXA2B",
            "URL:https://book.example.com/booking/7K3M9QXA2B",
        ] {
            assert!(lines.iter().any(|l| l == expected), "{expected} in {text}");
        }
        assert_eq!(lines.iter().filter(|l| *l == "BEGIN:VEVENT").count(), 1);
        // Every physical line is at most 75 octets.
        assert!(text.split("\r\n").all(|l| l.len() <= 75), "{text}");
    }

    #[test]
    fn a_cancellation_has_the_same_uid_sequence_one_and_status_cancelled() {
        let text = booking(&game(), Method::Cancel, stamp());
        let lines = unfolded(&text);
        for expected in [
            "METHOD:CANCEL",
            "UID:7K3M9QXA2B@book.example.com",
            "SEQUENCE:1",
            "STATUS:CANCELLED",
        ] {
            assert!(lines.iter().any(|l| l == expected), "{expected} in {text}");
        }
    }

    #[test]
    fn the_same_values_give_the_same_file() {
        assert_eq!(
            booking(&game(), Method::Request, stamp()),
            booking(&game(), Method::Request, stamp())
        );
    }

    #[test]
    fn a_feed_publishes_one_event_per_game_under_the_rooms_name() {
        let mut second = game();
        second.uid = uid("AAAAAAAAAA", "book.example.com");
        second.summary = staff_summary("The Vault", Some(2), Some("Ada\r\nLovelace"));
        let text = feed("The Vault", "Europe/Berlin", &[game(), second], stamp());
        let lines = unfolded(&text);
        assert!(lines.iter().any(|l| l == "METHOD:PUBLISH"));
        assert!(lines.iter().any(|l| l == "X-WR-CALNAME:The Vault"));
        assert!(lines.iter().any(|l| l == "X-WR-TIMEZONE:Europe/Berlin"));
        assert_eq!(lines.iter().filter(|l| *l == "BEGIN:VEVENT").count(), 2);
        assert!(
            lines
                .iter()
                .any(|l| l == "SUMMARY:2 players · Ada  Lovelace"),
            "{text}"
        );
    }

    #[test]
    fn a_players_game_gives_the_local_time_with_the_zones_name_in_summer_and_winter() {
        let facts = |start: DateTime<Utc>| BookingFacts {
            reference: "7K3M9QXA2B",
            room_name: "The Vault",
            start,
            end: start + chrono::Duration::minutes(90),
            zone: chrono_tz::Europe::Berlin,
            players: Some(4),
            page: Some("https://book.example.com/booking/7K3M9QXA2B".into()),
            uid_host: "book.example.com",
        };
        let summer = player_game(&facts(Utc.with_ymd_and_hms(2026, 7, 4, 16, 0, 0).unwrap()));
        assert_eq!(summer.summary, "The Vault · 4 players");
        assert_eq!(summer.location, "The Vault");
        assert_eq!(
            summer.description,
            "Saturday 4 July 2026, 18:00 (Europe/Berlin)\n4 players\nReference 7K3M9QXA2B\n\
             See or cancel it: https://book.example.com/booking/7K3M9QXA2B"
        );
        let winter = player_game(&facts(Utc.with_ymd_and_hms(2026, 12, 5, 17, 0, 0).unwrap()));
        assert!(
            winter
                .description
                .starts_with("Saturday 5 December 2026, 18:00 (Europe/Berlin)")
        );
    }

    #[test]
    fn summaries_name_the_party_and_uids_take_the_public_host() {
        assert_eq!(player_summary("Vault", Some(1)), "Vault · 1 player");
        assert_eq!(player_summary("Vault", None), "Vault");
        assert_eq!(staff_summary("Vault", Some(3), None), "3 players · Vault");
        assert_eq!(staff_summary("Vault", None, Some("Bo")), "Vault · Bo");
        assert_eq!(
            uid_host(Some("https://Book.Example.com:8443/x")),
            "book.example.com"
        );
        assert_eq!(uid_host(Some("http://127.0.0.1:3000")), "127.0.0.1");
        assert_eq!(uid_host(None), DEFAULT_UID_HOST);
    }
}
