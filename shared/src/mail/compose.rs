//! What a booking email says, as a pure function of values: the subject names the room and the
//! local date and time; the text gives the room, the local date and time with the venue's zone's
//! name, the players, the reference and the booking's page (the manage link, with its key, when
//! the confirm kept one for it); an HTML part says the same, every interpolated value escaped;
//! `booking.ics` is attached
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
    /// The manage link with its key (`{PUBLIC_BASE_URL}/booking/{reference}#key={manage_key}`),
    /// for a confirmation whose confirm kept the key for it; never in the calendar file, which
    /// has the page without the key.
    pub manage_link: Option<String>,
}

/// A composed email: its subject, its text, the same as HTML, and its calendar file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Composed {
    pub subject: String,
    pub text: String,
    /// The HTML alternative of `text`: the same facts, every value escaped.
    pub html: String,
    /// The `booking.ics` to attach.
    pub ics: String,
    /// The calendar file's `METHOD` (`REQUEST`, `CANCEL`), for its MIME type.
    pub ics_method: &'static str,
}

/// What the text and the HTML part both say, each value as it is (escaped only by the HTML).
struct Said {
    greeting: String,
    opening: &'static str,
    facts: Vec<(&'static str, String)>,
    /// The link and its label, and the sentence under it.
    link: Option<(String, &'static str, &'static str)>,
    /// A sentence instead of a link (a confirmation without one).
    no_link: Option<&'static str>,
    closing: &'static str,
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
    let mut facts = vec![("Room", room), ("When", when)];
    if let Some(players) = b.players {
        facts.push(("Players", players.to_string()));
    }
    facts.push(("Reference", b.reference.to_owned()));
    let (link, no_link) = match (mail.kind, &mail.manage_link, &b.page) {
        (MailKind::Confirmed, Some(link), _) => (
            Some((
                link.clone(),
                "See or cancel your booking",
                "This link is the key to your booking: whoever has it can cancel it, so keep it \
                 to yourself.",
            )),
            None,
        ),
        (MailKind::Confirmed, None, Some(page)) => (
            Some((
                page.clone(),
                "See or cancel your booking",
                "It opens with the manage link you were shown when you booked; keep that link, \
                 or quote your reference to the venue.",
            )),
            None,
        ),
        (MailKind::Confirmed, None, None) => (
            None,
            Some(
                "To see or cancel your booking, use the manage link you were shown when you \
                 booked, or quote your reference to the venue.",
            ),
        ),
        (MailKind::Cancelled { .. }, _, _) => (None, None),
    };
    let said = Said {
        greeting: format!("Hello {},", one_line(mail.name)),
        opening,
        facts,
        link,
        no_link,
        closing: match mail.kind {
            MailKind::Confirmed => "The attached booking.ics adds the game to your calendar.",
            MailKind::Cancelled { .. } => {
                "The attached booking.ics takes the game out of your calendar."
            }
        },
    };
    let game = ics::player_game(b);
    Composed {
        text: text_of(&said),
        html: html_of(&said, &subject),
        subject,
        ics: ics::booking(&game, method, stamp),
        ics_method: match method {
            ics::Method::Request => "REQUEST",
            ics::Method::Cancel => "CANCEL",
        },
    }
}

/// The text part.
fn text_of(said: &Said) -> String {
    let mut text = format!("{}\n\n{}\n\n", said.greeting, said.opening);
    for (label, value) in &said.facts {
        text.push_str(&format!("{label}: {value}\n"));
    }
    if let Some((url, label, note)) = &said.link {
        text.push_str(&format!("\n{label}: {url}\n({note})\n"));
    }
    if let Some(sentence) = said.no_link {
        text.push_str(&format!("\n{sentence}\n"));
    }
    text.push_str(&format!("\n{}\n", said.closing));
    text
}

/// The HTML part: the same facts, every value escaped ([`escape`]), no script, no remote
/// content, styles inline (mail clients drop `<style>` blocks and block remote resources).
fn html_of(said: &Said, subject: &str) -> String {
    let mut html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\">\
         <title>{}</title></head>\n<body style=\"font-family: sans-serif; line-height: 1.5; \
         color: #222;\">\n<p>{}</p>\n<p>{}</p>\n<table role=\"presentation\" \
         style=\"border-collapse: collapse;\">\n",
        escape(subject),
        escape(&said.greeting),
        escape(said.opening)
    );
    for (label, value) in &said.facts {
        html.push_str(&format!(
            "<tr><th align=\"left\" style=\"padding: 0 1em 0 0;\">{}</th><td>{}</td></tr>\n",
            escape(label),
            escape(value)
        ));
    }
    html.push_str("</table>\n");
    if let Some((url, label, note)) = &said.link {
        html.push_str(&format!(
            "<p><a href=\"{}\">{}</a><br>\n<small>{}</small></p>\n",
            escape(url),
            escape(label),
            escape(note)
        ));
    }
    if let Some(sentence) = said.no_link {
        html.push_str(&format!("<p>{}</p>\n", escape(sentence)));
    }
    html.push_str(&format!(
        "<p>{}</p>\n</body>\n</html>\n",
        escape(said.closing)
    ));
    html
}

/// `text` as HTML text or a quoted attribute value: `&`, `<`, `>`, `"` and `'` as character
/// references, so no value (a contact's name, a room's) can open a tag or leave an attribute.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
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
            manage_link: None,
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
    fn the_html_part_says_the_same_facts_with_every_value_escaped() {
        let start = Utc.with_ymd_and_hms(2026, 7, 4, 16, 0, 0).unwrap();
        let mut m = mail(MailKind::Confirmed, start);
        m.name = "<script>alert('x')</script> & \"Bob\"";
        m.booking.room_name = "Cellar <b>";
        m.manage_link = Some("https://book.example.com/booking/7K3M9QXA2B#key=a\"><b>".into());
        let c = compose(&m, start);
        assert!(
            !c.html.contains("<script>") && !c.html.contains("<b>"),
            "{}",
            c.html
        );
        for part in [
            "<p>Hello &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;Bob&quot;,</p>",
            "<td>Cellar &lt;b&gt;</td>",
            "<td>Saturday 4 July 2026, 18:00 (Europe/Berlin)</td>",
            "<td>4</td>",
            "<td>7K3M9QXA2B</td>",
            "<a href=\"https://book.example.com/booking/7K3M9QXA2B#key=a&quot;&gt;&lt;b&gt;\">",
        ] {
            assert!(c.html.contains(part), "{part} in {}", c.html);
        }
        // The text part says it as it is.
        assert!(
            c.text
                .contains("Hello <script>alert('x')</script> & \"Bob\",")
        );
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
