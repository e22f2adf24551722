//! What a booking email says, as a pure function of values: the subject names the room and the
//! local date and time; the text gives the room, the local date and time with the venue's zone's
//! name, the players, the reference and the booking's page; `booking.ics` is attached
//! (`METHOD:REQUEST`, `SEQUENCE:0` for a confirmation; `METHOD:CANCEL`, `SEQUENCE:1`,
//! `STATUS:CANCELLED` for a cancellation; one `UID` for both).

use chrono::{DateTime, Utc};

use crate::ics;

/// Which email.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailKind {
    /// `booking.confirmed`.
    Confirmed,
    /// `booking.cancelled`; `by_venue`: an operator cancelled it (not the player).
    Cancelled { by_venue: bool },
}

/// What an email tells of a booking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookingMail<'a> {
    pub kind: MailKind,
    /// The contact's name, for the greeting.
    pub name: &'a str,
    /// The booking's facts, as its calendar file has them.
    pub booking: ics::BookingFacts<'a>,
}

/// A composed email: its subject, its text and its calendar file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Composed {
    pub subject: String,
    pub text: String,
    /// The `booking.ics` to attach.
    pub ics: String,
    /// The calendar file's `METHOD` (`REQUEST`, `CANCEL`), for its MIME type.
    pub ics_method: &'static str,
}

/// Composes the email; `stamp` is the calendar file's `DTSTAMP` (when it was made).
pub fn compose(mail: &BookingMail<'_>, stamp: DateTime<Utc>) -> Composed {
    let b = &mail.booking;
    let when = ics::local_when(b.start, b.zone);
    let room = one_line(b.room_name);
    let (subject, opening, method) = match mail.kind {
        MailKind::Confirmed => (
            format!("Booking confirmed: {room}, {when}"),
            "your booking is confirmed.",
            ics::Method::Request,
        ),
        MailKind::Cancelled { by_venue: false } => (
            format!("Booking cancelled: {room}, {when}"),
            "your booking is cancelled, as you asked.",
            ics::Method::Cancel,
        ),
        MailKind::Cancelled { by_venue: true } => (
            format!("Booking cancelled: {room}, {when}"),
            "we are sorry: the venue has had to cancel your booking.",
            ics::Method::Cancel,
        ),
    };
    let mut text = format!("Hello {},\n\n{opening}\n\n", one_line(mail.name));
    text.push_str(&format!("Room: {room}\n"));
    text.push_str(&format!("When: {when}\n"));
    if let Some(players) = b.players {
        text.push_str(&format!("Players: {players}\n"));
    }
    text.push_str(&format!("Reference: {}\n", b.reference));
    match (mail.kind, &b.page) {
        (MailKind::Confirmed, Some(page)) => text.push_str(&format!(
            "\nSee or cancel your booking: {page}\n(it opens with the manage link you were \
             shown when you booked; keep that link, or quote your reference to the venue)\n"
        )),
        (MailKind::Confirmed, None) => text.push_str(
            "\nTo see or cancel your booking, use the manage link you were shown when you \
             booked, or quote your reference to the venue.\n",
        ),
        (MailKind::Cancelled { .. }, _) => {}
    }
    text.push_str(match mail.kind {
        MailKind::Confirmed => "\nThe attached booking.ics adds the game to your calendar.\n",
        MailKind::Cancelled { .. } => {
            "\nThe attached booking.ics takes the game out of your calendar.\n"
        }
    });
    let game = ics::player_game(b);
    Composed {
        subject,
        text,
        ics: ics::booking(&game, method, stamp),
        ics_method: match method {
            ics::Method::Request => "REQUEST",
            ics::Method::Cancel => "CANCEL",
        },
    }
}

/// One line of the operator's or the player's text (a room's name, a contact's name): control
/// characters become spaces, so nothing can add a header line or break the layout.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn mail(kind: MailKind, start: DateTime<Utc>) -> BookingMail<'static> {
        BookingMail {
            kind,
            name: "Ada Lovelace",
            booking: ics::BookingFacts {
                reference: "7K3M9QXA2B",
                room_name: "The Vault",
                start,
                end: start + chrono::Duration::minutes(90),
                zone: chrono_tz::Europe::Berlin,
                players: Some(4),
                page: Some("https://book.example.com/booking/7K3M9QXA2B".into()),
                uid_host: "book.example.com",
            },
        }
    }

    #[test]
    fn a_confirmation_names_room_local_time_with_zone_players_reference_and_page() {
        let summer = Utc.with_ymd_and_hms(2026, 7, 4, 16, 0, 0).unwrap();
        let m = compose(&mail(MailKind::Confirmed, summer), summer);
        assert_eq!(
            m.subject,
            "Booking confirmed: The Vault, Saturday 4 July 2026, 18:00 (Europe/Berlin)"
        );
        for part in [
            "Hello Ada Lovelace,",
            "Room: The Vault\n",
            "When: Saturday 4 July 2026, 18:00 (Europe/Berlin)\n",
            "Players: 4\n",
            "Reference: 7K3M9QXA2B\n",
            "https://book.example.com/booking/7K3M9QXA2B",
        ] {
            assert!(m.text.contains(part), "{part} in {}", m.text);
        }
        assert_eq!(m.ics_method, "REQUEST");
        assert!(m.ics.contains("METHOD:REQUEST\r\n"));
        assert!(m.ics.contains("DTSTART:20260704T160000Z\r\n"));
    }

    #[test]
    fn a_cancellation_in_winter_says_who_cancelled_and_attaches_the_cancel() {
        let winter = Utc.with_ymd_and_hms(2026, 12, 5, 17, 0, 0).unwrap();
        let m = compose(
            &mail(MailKind::Cancelled { by_venue: true }, winter),
            winter,
        );
        assert_eq!(
            m.subject,
            "Booking cancelled: The Vault, Saturday 5 December 2026, 18:00 (Europe/Berlin)"
        );
        assert!(m.text.contains("the venue has had to cancel"), "{}", m.text);
        assert_eq!(m.ics_method, "CANCEL");
        assert!(m.ics.contains("STATUS:CANCELLED\r\n") && m.ics.contains("SEQUENCE:1\r\n"));
    }
}
