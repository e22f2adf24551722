//! A room's calendar feed for its staff: off until an operator rotates its key; the rotation
//! shows the feed's URL once (its key kept only as a digest); the feed lists every upcoming
//! confirmed booking with the party and the contact; a missing, wrong, another room's or a
//! rotated-away key is the one 404.

use reqwest::Method;
use serde_json::{Value, json};

use super::manage::{ada, book_with_contact, cancel_by_link};
use crate::harness::{Event, OPERATOR_TOKEN, Reply, TestApp, assert_status};

/// `GET /rooms/{room}/calendar-feed` as the operator.
async fn feed_status(t: &TestApp, room: &str) -> Reply {
    t.send(Event::get(&format!("/rooms/{room}/calendar-feed")).bearer(OPERATOR_TOKEN))
        .await
}

/// `POST /rooms/{room}/calendar-feed/rotate` as the operator.
pub(crate) async fn rotate(t: &TestApp, room: &str) -> Reply {
    let path = format!("/rooms/{room}/calendar-feed/rotate");
    t.send(Event::new(Method::POST, &path).bearer(OPERATOR_TOKEN))
        .await
}

/// The feed's URL (a path here: the tests set no `PUBLIC_BASE_URL`) from a rotation.
pub(crate) async fn feed_url(t: &TestApp, room: &str) -> String {
    let rotated = rotate(t, room).await;
    assert_status(&rotated, 200, None);
    rotated.body["url"].as_str().unwrap().to_owned()
}

/// The file's content lines, unfolded.
pub(crate) fn lines(reply: &Reply) -> Vec<String> {
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

fn ics_time(wire: &Value) -> String {
    let time = chrono::DateTime::parse_from_rfc3339(wire.as_str().unwrap()).unwrap();
    time.with_timezone(&chrono::Utc)
        .format("%Y%m%dT%H%M%SZ")
        .to_string()
}

pub async fn a_rooms_feed_is_off_until_rotated_and_its_url_is_shown_only_by_the_rotation(
    t: TestApp,
) {
    let off = feed_status(&t, "r-101").await;
    assert_status(&off, 200, None);
    assert_eq!(
        off.body,
        json!({ "room_id": "r-101", "active": false, "rotated_at": null })
    );

    let rotated = rotate(&t, "r-101").await;
    assert_status(&rotated, 200, None);
    let url = rotated.body["url"].as_str().unwrap();
    let key = url
        .strip_prefix("/rooms/r-101/calendar.ics?key=")
        .unwrap_or_else(|| panic!("{url}"));
    assert_eq!(key.len(), 43, "256 bits of base64url: {url}");
    assert_eq!(rotated.body["active"], json!(true));

    let on = feed_status(&t, "r-101").await;
    assert_status(&on, 200, None);
    assert_eq!(on.body["active"], json!(true));
    assert_eq!(on.body["rotated_at"], rotated.body["rotated_at"]);
    assert!(on.body.get("url").is_none(), "the key is never shown again");
    assert!(!on.body.to_string().contains(key));

    // A second rotation makes another key.
    let again = rotate(&t, "r-101").await;
    assert_ne!(again.body["url"], rotated.body["url"]);

    // An unknown room; no operator credentials; a player is no operator.
    assert_status(
        &feed_status(&t, "r-nope").await,
        404,
        Some("ROOM_NOT_FOUND"),
    );
    assert_status(&rotate(&t, "r-nope").await, 404, Some("ROOM_NOT_FOUND"));
    let anonymous = t.get("/rooms/r-101/calendar-feed").await;
    assert_status(&anonymous, 401, Some("UNAUTHENTICATED"));
    let path = "/rooms/r-101/calendar-feed/rotate";
    let anonymous = t.send(Event::new(Method::POST, path)).await;
    assert_status(&anonymous, 401, Some("UNAUTHENTICATED"));
}

pub async fn the_feed_is_every_upcoming_booking_with_party_and_contact_behind_its_current_key(
    t: TestApp,
) {
    // Alice books s-1 for three with her contact; Bob books s-2 and cancels it.
    let hold = t
        .post(
            "/holds",
            json!({ "slot_id": "s-1", "user_id": "u-alice", "players": 3 }),
        )
        .await;
    assert_status(&hold, 201, None);
    let hold_id = hold.body["hold_id"].as_str().unwrap();
    let alice = t
        .post(
            &format!("/holds/{hold_id}/confirm"),
            json!({ "user_id": "u-alice", "contact": ada() }),
        )
        .await;
    assert_status(&alice, 200, None);
    let bob = book_with_contact(&t, "s-2", "u-bob", ada()).await;
    let (bob_ref, bob_key) = (
        bob.body["reference"].as_str().unwrap(),
        bob.body["manage_key"].as_str().unwrap(),
    );
    assert_status(&cancel_by_link(&t, bob_ref, Some(bob_key)).await, 200, None);
    let reference = alice.body["reference"].as_str().unwrap();
    let slot = t.slot("r-101", "s-1", None).await;

    let url = feed_url(&t, "r-101").await;
    let feed = t.get(&url).await;
    assert_status(&feed, 200, None);
    assert_eq!(
        feed.header("content-type"),
        Some("text/calendar; charset=utf-8")
    );
    assert_eq!(feed.header("cache-control"), Some("no-store"));
    let lines = lines(&feed);
    for expected in [
        "METHOD:PUBLISH".to_owned(),
        "X-WR-CALNAME:The Cursed Library bookings".to_owned(),
        format!("UID:{reference}@escape-room.invalid"),
        format!("DTSTART:{}", ics_time(&slot["start_time"])),
        format!("DTEND:{}", ics_time(&slot["end_time"])),
        "SUMMARY:3 players · Ada Lovelace".to_owned(),
        "LOCATION:The Cursed Library".to_owned(),
    ] {
        assert!(lines.contains(&expected), "{expected} in {lines:?}");
    }
    let description = lines
        .iter()
        .find(|l| l.starts_with("DESCRIPTION:"))
        .unwrap();
    for part in [
        "Contact: Ada Lovelace",
        "Email: ada@example.org",
        "Phone: +493012345678",
        &format!("Reference: {reference}"),
    ] {
        assert!(description.contains(part), "{part} in {description}");
    }
    // One event: Bob's cancelled booking is not in the feed.
    assert_eq!(lines.iter().filter(|l| *l == "BEGIN:VEVENT").count(), 1);
    assert!(!feed.body.as_str().unwrap().contains(bob_ref));

    // No key, a guessed key, another room's key, the key before a rotation: the one 404.
    let other_room = feed_url(&t, "r-102").await;
    let other_key = other_room.rsplit_once("key=").unwrap().1.to_owned();
    let old = url.clone();
    let new = feed_url(&t, "r-101").await;
    for wrong in [
        "/rooms/r-101/calendar.ics".to_owned(),
        format!("/rooms/r-101/calendar.ics?key={}", "A".repeat(43)),
        format!("/rooms/r-101/calendar.ics?key={other_key}"),
        old,
        format!("/rooms/r-nope/calendar.ics?key={other_key}"),
    ] {
        let refused = t.get(&wrong).await;
        assert_status(&refused, 404, Some("CALENDAR_FEED_NOT_FOUND"));
    }
    assert_status(&t.get(&new).await, 200, None);
    // A bearer of any kind is not the feed's credential: 401.
    let with_bearer = t.send(Event::get(&new).bearer(OPERATOR_TOKEN)).await;
    assert_status(&with_bearer, 401, Some("UNAUTHENTICATED"));
}
