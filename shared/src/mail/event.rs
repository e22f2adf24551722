//! A booking event as an email, pure: which booking events become an email (both kinds, when
//! the booking has a contact with an email address), to whom, saying what, under which
//! `Message-ID` (the event's id: the same on every retry).

use chrono::{DateTime, Utc};

use super::{BookingMail, Composed, MailKind, compose};
use crate::domain::ManageKey;
use crate::events::{BookingEvent, EventKind};
use crate::ics;

/// An email ready to send: its recipient, its content and its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    pub name: String,
    pub address: String,
    pub composed: Composed,
    /// `<{event id}@{host}>`: one id per event, so a retried email is the same message.
    pub message_id: String,
}

/// Whether `event` is cancelled by the venue (an operator), not by its player.
fn by_venue(cancelled_by: Option<&str>) -> bool {
    cancelled_by.is_some_and(|by| by == "operator" || by.starts_with("operator:"))
}

/// The email `event` sends, if any: none without a contact email. `public_base_url` gives the
/// booking's page (`{PUBLIC_BASE_URL}/booking/{reference}`) and the calendar `UID`'s host;
/// with `manage_key` (a confirmation's delivery carries it), a confirmation's manage link is
/// the page with `#key={manage_key}`. `stamp` is the calendar file's `DTSTAMP`.
pub fn email_of(
    event: &BookingEvent,
    public_base_url: Option<&str>,
    manage_key: Option<&ManageKey>,
    stamp: DateTime<Utc>,
) -> Option<Outgoing> {
    let data = &event.data;
    let contact = data.contact.as_ref().filter(|c| !c.email.is_empty())?;
    let hold = data.hold_id.to_string();
    // A booking always has a reference; one from before references is named by its hold.
    let reference = data
        .reference
        .as_ref()
        .map_or(hold.as_str(), |r| r.as_str());
    let zone: chrono_tz::Tz = data.time_zone.parse().unwrap_or(chrono_tz::UTC);
    let host = ics::uid_host(public_base_url);
    let kind = match event.kind {
        EventKind::Confirmed => MailKind::Confirmed,
        EventKind::Cancelled => MailKind::Cancelled {
            by_venue: by_venue(data.cancelled_by.as_deref()),
        },
    };
    let page = public_base_url.map(|base| format!("{base}/booking/{reference}"));
    let manage_link = match (event.kind, &page, data.reference.as_ref(), manage_key) {
        (EventKind::Confirmed, Some(page), Some(_), Some(key)) => {
            Some(format!("{page}#key={}", key.as_str()))
        }
        _ => None,
    };
    let composed = compose(
        &BookingMail {
            kind,
            name: &contact.name,
            booking: ics::BookingFacts {
                reference,
                room_name: &data.room_name,
                start: data.start_time,
                end: data.end_time,
                zone,
                players: data.players,
                page,
                uid_host: &host,
            },
            manage_link,
        },
        stamp,
    );
    Some(Outgoing {
        name: contact.name.clone(),
        address: contact.email.clone(),
        composed,
        message_id: format!("<{}@{host}>", event.id),
    })
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::domain::{Contact, HoldId, Reference, RoomId, SlotId, UserId};
    use crate::events::EventData;

    fn event(
        kind: EventKind,
        contact: Option<Contact>,
        cancelled_by: Option<&str>,
    ) -> BookingEvent {
        let slot = SlotId::parse("r-1.20270109T1800").unwrap();
        let start = Utc.with_ymd_and_hms(2027, 1, 9, 17, 0, 0).unwrap();
        BookingEvent::new(
            kind,
            start,
            EventData {
                reference: Some(Reference::parse("7K3M9QXA2B").unwrap()),
                hold_id: HoldId::generate(&slot),
                room_id: RoomId::parse("r-1").unwrap(),
                room_name: "The Vault".into(),
                slot_id: slot,
                start_time: start,
                end_time: start + chrono::Duration::minutes(90),
                local_start: "2027-01-09T18:00:00+01:00".into(),
                time_zone: "Europe/Berlin".into(),
                players: Some(4),
                user_id: UserId::parse("u-1").unwrap(),
                contact,
                cancelled_by: cancelled_by.map(str::to_owned),
                reason: None,
            },
        )
    }

    fn ada() -> Contact {
        Contact::checked("Ada Lovelace", "ada@example.org", None).unwrap()
    }

    #[test]
    fn no_contact_no_email() {
        assert_eq!(
            email_of(
                &event(EventKind::Confirmed, None, None),
                None,
                None,
                Utc::now()
            ),
            None
        );
    }

    #[test]
    fn a_confirmation_goes_to_the_contact_under_the_events_id() {
        let e = event(EventKind::Confirmed, Some(ada()), None);
        let mail = email_of(&e, Some("https://book.example.com"), None, Utc::now()).unwrap();
        assert_eq!(mail.address, "ada@example.org");
        assert_eq!(mail.message_id, format!("<{}@book.example.com>", e.id));
        assert!(mail.composed.subject.starts_with(
            "Booking confirmed: The Vault, Saturday 9 January 2027, 18:00 (Europe/Berlin)"
        ));
        assert!(
            mail.composed
                .text
                .contains("https://book.example.com/booking/7K3M9QXA2B")
        );
        assert!(
            mail.composed
                .ics
                .contains("UID:7K3M9QXA2B@book.example.com\r\n")
        );
    }

    #[test]
    fn a_confirmation_with_its_key_links_the_booking_with_the_key_and_its_calendar_does_not() {
        let e = event(EventKind::Confirmed, Some(ada()), None);
        let key = ManageKey::generate().unwrap();
        let mail = email_of(&e, Some("https://book.example.com"), Some(&key), Utc::now()).unwrap();
        let link = format!(
            "https://book.example.com/booking/7K3M9QXA2B#key={}",
            key.as_str()
        );
        assert!(mail.composed.text.contains(&link), "{}", mail.composed.text);
        assert!(!mail.composed.ics.contains(key.as_str()));
        // A cancellation never carries a key, even if one were passed.
        let c = event(EventKind::Cancelled, Some(ada()), Some("u-1"));
        let mail = email_of(&c, Some("https://book.example.com"), Some(&key), Utc::now()).unwrap();
        assert!(!mail.composed.text.contains(key.as_str()));
    }

    #[test]
    fn a_cancellation_by_an_operator_says_the_venue_cancelled() {
        let e = event(EventKind::Cancelled, Some(ada()), Some("operator:desk"));
        let mail = email_of(&e, None, None, Utc::now()).unwrap();
        assert!(mail.composed.text.contains("the venue has had to cancel"));
        assert_eq!(mail.composed.ics_method, "CANCEL");
        let by_player = event(EventKind::Cancelled, Some(ada()), Some("u-1"));
        let mail = email_of(&by_player, None, None, Utc::now()).unwrap();
        assert!(mail.composed.text.contains("as you asked"));
    }
}
