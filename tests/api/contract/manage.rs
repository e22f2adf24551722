//! A booking's reference, its manage link and the player's contact: the confirm answers a
//! reference and a manage key; `GET /bookings/{reference}` and its cancel take the key as the
//! bearer, and any other key, a missing one or an unknown reference get the same 404; contact
//! details are checked, and shown only to the owner, the key's holder and operators.

use reqwest::Method;
use serde_json::{Value, json};

use super::the_vault_plays_daily;
use crate::harness::{Event, OPERATOR_TOKEN, Reply, TestApp, assert_status};

/// A contact as a player fills it in.
pub(crate) fn ada() -> Value {
    json!({ "name": "Ada Lovelace", "email": "ada@example.org", "phone": "+493012345678" })
}

/// Holds `slot` for `user` and confirms it with `contact`: the confirm's answer.
pub(crate) async fn book_with_contact(
    t: &TestApp,
    slot: &str,
    user: &str,
    contact: Value,
) -> Reply {
    let hold_id = t.hold(slot, user).await;
    let confirmed = t
        .post(
            &format!("/holds/{hold_id}/confirm"),
            json!({ "user_id": user, "contact": contact }),
        )
        .await;
    assert_status(&confirmed, 200, None);
    confirmed
}

/// `GET /bookings/{reference}` with `key` as the bearer (none: no `Authorization`).
pub(crate) async fn managed(t: &TestApp, reference: &str, key: Option<&str>) -> Reply {
    let event = Event::get(&format!("/bookings/{reference}"));
    t.send(match key {
        Some(key) => event.bearer(key),
        None => event,
    })
    .await
}

/// `POST /bookings/{reference}/cancel` with `key` as the bearer.
pub(crate) async fn cancel_by_link(t: &TestApp, reference: &str, key: Option<&str>) -> Reply {
    let event = Event::new(Method::POST, &format!("/bookings/{reference}/cancel"));
    t.send(match key {
        Some(key) => event.bearer(key),
        None => event,
    })
    .await
}

fn text(reply: &Reply, field: &str) -> String {
    reply.body[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field} in {:?}", reply.body))
        .to_owned()
}

fn is_reference(value: &str) -> bool {
    value.len() == 10
        && value
            .bytes()
            .all(|b| b"0123456789ABCDEFGHJKMNPQRSTVWXYZ".contains(&b))
}

pub async fn a_confirmed_booking_has_a_reference_and_a_key_that_opens_it(t: TestApp) {
    let confirmed = book_with_contact(&t, "s-1", "u-alice", ada()).await;
    let (reference, key) = (
        text(&confirmed, "reference"),
        text(&confirmed, "manage_key"),
    );
    let hold_id = text(&confirmed, "hold_id");
    assert!(is_reference(&reference), "{reference}");
    assert_eq!(key.len(), 43, "256 bits of base64url");
    assert_eq!(confirmed.body["contact"], ada());

    let opened = managed(&t, &reference, Some(&key)).await;
    assert_status(&opened, 200, None);
    assert_eq!(opened.body["reference"], json!(reference));
    assert_eq!(opened.body["hold_id"], json!(hold_id));
    assert_eq!(opened.body["slot_id"], json!("s-1"));
    assert_eq!(opened.body["room_id"], json!("r-101"));
    assert_eq!(opened.body["status"], json!("CONFIRMED"));
    assert_eq!(opened.body["contact"], ada());
    assert!(
        opened.body.get("manage_key").is_none(),
        "the key is never shown again"
    );

    // The owner's look-ups and the operator's day sheet show the reference and the contact.
    let looked_up = t.look_up(&hold_id, "u-alice").await;
    assert_eq!(looked_up.body["reference"], json!(reference));
    assert_eq!(looked_up.body["contact"], ada());
    let mine = t.bookings_of("u-alice").await;
    assert_eq!(mine.body["holds"][0]["reference"], json!(reference));
    assert_eq!(mine.body["holds"][0]["contact"], ada());

    // A retried confirm answers the same booking and reference, without the key (not kept).
    let again = t.confirm(&hold_id, "u-alice").await;
    assert_status(&again, 200, None);
    assert_eq!(again.body["reference"], json!(reference));
    assert!(again.body.get("manage_key").is_none(), "{:?}", again.body);
}

pub async fn a_wrong_key_another_bookings_key_and_an_unknown_reference_are_one_404(t: TestApp) {
    let alice = book_with_contact(&t, "s-1", "u-alice", ada()).await;
    let bob = book_with_contact(&t, "s-2", "u-bob", ada()).await;
    let (reference, bobs_key) = (text(&alice, "reference"), text(&bob, "manage_key"));
    let guessed = "A".repeat(43);
    let unknown = if reference == "0000000000" {
        "1111111111"
    } else {
        "0000000000"
    };
    let answers = [
        managed(&t, &reference, Some(&bobs_key)).await,
        managed(&t, &reference, Some(&guessed)).await,
        managed(&t, &reference, None).await,
        managed(&t, unknown, Some(&text(&alice, "manage_key"))).await,
        managed(&t, "not-a-reference", Some(&guessed)).await,
        cancel_by_link(&t, &reference, Some(&bobs_key)).await,
        cancel_by_link(&t, &reference, None).await,
        cancel_by_link(&t, unknown, Some(&text(&alice, "manage_key"))).await,
    ];
    for answer in &answers {
        assert_status(answer, 404, Some("BOOKING_NOT_FOUND"));
        assert_eq!(answer.body, answers[0].body, "one body for every miss");
    }
    // Nothing was cancelled by the wrong keys.
    assert_eq!(t.status_of("r-101", "s-1", None).await, "BOOKED");
}

pub async fn another_kind_of_bearer_on_the_manage_routes_is_401(t: TestApp) {
    let alice = book_with_contact(&t, "s-1", "u-alice", ada()).await;
    let reference = text(&alice, "reference");
    for bearer in [OPERATOR_TOKEN, "short", "a.b.c"] {
        assert_status(&managed(&t, &reference, Some(bearer)).await, 401, None);
        assert_status(
            &cancel_by_link(&t, &reference, Some(bearer)).await,
            401,
            None,
        );
    }
    assert_eq!(t.status_of("r-101", "s-1", None).await, "BOOKED");
}

pub async fn cancelling_by_the_manage_link_follows_the_players_rules(t: TestApp) {
    // Games are at most 16 hours apart, so the first starts within the day's cut-off.
    let slots = the_vault_plays_daily(&t, json!({ "cancel_cutoff_minutes": 1440 })).await;
    let soon = book_with_contact(&t, &slots[0], "u-alice", ada()).await;
    let later = book_with_contact(&t, &slots[4], "u-alice", ada()).await;
    let refused = cancel_by_link(
        &t,
        &text(&soon, "reference"),
        Some(&text(&soon, "manage_key")),
    )
    .await;
    assert_status(&refused, 409, Some("CANCEL_CUTOFF"));

    let (reference, key) = (text(&later, "reference"), text(&later, "manage_key"));
    let opened = managed(&t, &reference, Some(&key)).await;
    assert_eq!(opened.body["time_zone"], json!("Europe/Berlin"));
    assert_eq!(opened.body["room_name"], json!("The Vault"));
    let local = opened.body["local_start"].as_str().unwrap();
    assert!(
        local.ends_with("+01:00") || local.ends_with("+02:00"),
        "{local}"
    );
    let cancelled = cancel_by_link(&t, &reference, Some(&key)).await;
    assert_status(&cancelled, 200, None);
    assert_eq!(
        cancelled.body,
        json!({ "hold_id": later.body["hold_id"], "status": "CANCELLED" })
    );
    assert_eq!(t.status_of("r-vault", &slots[4], None).await, "AVAILABLE");
    assert_eq!(
        managed(&t, &reference, Some(&key)).await.body["status"],
        json!("CANCELLED")
    );
    // Again: done already.
    assert_status(&cancel_by_link(&t, &reference, Some(&key)).await, 200, None);
    let from = opened.body["start_time"].as_str().unwrap();
    let sheet = t.day_sheet("r-vault", &format!("?from={from}")).await;
    let booking = &sheet.body["bookings"][0];
    assert_eq!(booking["reference"], json!(reference));
    assert_eq!(booking["status"], json!("CANCELLED"));
    assert_eq!(
        booking["cancelled_by"],
        json!("u-alice"),
        "cancelled by the player"
    );
}

pub async fn contact_details_are_checked_and_shown_only_to_the_owner_and_operators(t: TestApp) {
    let hold_id = t.hold("s-1", "u-alice").await;
    let path = format!("/holds/{hold_id}/confirm");
    for contact in [
        json!({ "name": "", "email": "ada@example.org" }),
        json!({ "name": "x".repeat(101), "email": "ada@example.org" }),
        json!({ "name": "Ada", "email": "ada" }),
        json!({ "name": "Ada", "email": format!("{}@example.org", "a".repeat(250)) }),
        json!({ "name": "Ada", "email": "ada@example.org", "phone": "030 1234567" }),
        json!({ "name": "Ada" }),
    ] {
        let refused = t
            .post(&path, json!({ "user_id": "u-alice", "contact": contact }))
            .await;
        assert_status(&refused, 422, Some("VALIDATION_ERROR"));
    }
    assert_eq!(t.look_up(&hold_id, "u-alice").await.body["status"], "HOLD");
    let confirmed = t
        .post(&path, json!({ "user_id": "u-alice", "contact": ada() }))
        .await;
    assert_status(&confirmed, 200, None);

    // Another player learns nothing of it: not from a look-up, a listing or their bookings.
    let bobs_look = t.look_up(&hold_id, "u-bob").await;
    assert_status(&bobs_look, 403, Some("NOT_HOLD_OWNER"));
    for reply in [
        bobs_look,
        t.list("r-101", Some("u-bob")).await,
        t.list("r-101", None).await,
        t.bookings_of("u-bob").await,
    ] {
        let shown = reply.body.to_string();
        assert!(
            !shown.contains("ada@example.org") && !shown.contains("Lovelace"),
            "{shown}"
        );
    }
    // The operator's day sheet shows it.
    let from = t.slot("r-101", "s-1", None).await["start_time"].clone();
    let sheet = t
        .day_sheet("r-101", &format!("?from={}", from.as_str().unwrap()))
        .await;
    assert_eq!(sheet.body["bookings"][0]["contact"], ada());
}

/// `GET /bookings/{reference}/booking.ics` with `key` as the bearer (none: no `Authorization`).
pub(crate) async fn calendar_file(t: &TestApp, reference: &str, key: Option<&str>) -> Reply {
    let event = Event::get(&format!("/bookings/{reference}/booking.ics"));
    t.send(match key {
        Some(key) => event.bearer(key),
        None => event,
    })
    .await
}

/// A wire time (RFC 3339, UTC) as an iCalendar UTC date-time: `20261204T180000Z`.
fn ics_time(wire: &Value) -> String {
    let time = chrono::DateTime::parse_from_rfc3339(wire.as_str().unwrap()).unwrap();
    time.with_timezone(&chrono::Utc)
        .format("%Y%m%dT%H%M%SZ")
        .to_string()
}

/// The file's content lines, unfolded.
fn ics_lines(reply: &Reply) -> Vec<String> {
    let text = reply.body.as_str().unwrap_or_else(|| panic!("{reply:?}"));
    let mut lines: Vec<String> = Vec::new();
    for line in text.split("\r\n") {
        match line.strip_prefix(' ') {
            Some(rest) if !lines.is_empty() => lines.last_mut().unwrap().push_str(rest),
            _ => lines.push(line.to_owned()),
        }
    }
    lines
}

pub async fn a_booking_is_a_calendar_file_behind_its_key_and_its_cancellation_cancels_it(
    t: TestApp,
) {
    let alice = book_with_contact(&t, "s-1", "u-alice", ada()).await;
    let bob = book_with_contact(&t, "s-2", "u-bob", ada()).await;
    let (reference, key) = (text(&alice, "reference"), text(&alice, "manage_key"));
    let slot = t.slot("r-101", "s-1", None).await;

    let file = calendar_file(&t, &reference, Some(&key)).await;
    assert_status(&file, 200, None);
    assert_eq!(
        file.header("content-type"),
        Some("text/calendar; charset=utf-8")
    );
    assert_eq!(
        file.header("content-disposition"),
        Some("attachment; filename=\"booking.ics\"")
    );
    assert_eq!(file.header("cache-control"), Some("no-store"));
    let lines = ics_lines(&file);
    let uid = format!("UID:{reference}@escape-room.invalid");
    for expected in [
        "METHOD:REQUEST".to_owned(),
        uid.clone(),
        format!("DTSTART:{}", ics_time(&slot["start_time"])),
        format!("DTEND:{}", ics_time(&slot["end_time"])),
        "SEQUENCE:0".to_owned(),
        "STATUS:CONFIRMED".to_owned(),
        "LOCATION:The Cursed Library".to_owned(),
    ] {
        assert!(lines.contains(&expected), "{expected} in {lines:?}");
    }
    assert_eq!(lines.iter().filter(|l| *l == "BEGIN:VEVENT").count(), 1);

    // No key, another booking's key, a guessed key: the one 404 of the manage link.
    for wrong in [None, Some(text(&bob, "manage_key")), Some("A".repeat(43))] {
        let refused = calendar_file(&t, &reference, wrong.as_deref()).await;
        assert_status(&refused, 404, Some("BOOKING_NOT_FOUND"));
    }

    // Cancelled, the same event (its UID) is cancelled: sequence 1.
    assert_status(&cancel_by_link(&t, &reference, Some(&key)).await, 200, None);
    let cancelled = ics_lines(&calendar_file(&t, &reference, Some(&key)).await);
    for expected in [
        "METHOD:CANCEL".to_owned(),
        uid,
        "SEQUENCE:1".to_owned(),
        "STATUS:CANCELLED".to_owned(),
    ] {
        assert!(cancelled.contains(&expected), "{expected} in {cancelled:?}");
    }
}
