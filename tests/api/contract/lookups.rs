//! Looking up one hold (`GET /holds/{hold_id}`) and a player's holds and bookings
//! (`GET /users/{user_id}/holds`).

use serde_json::json;

use crate::harness::{TTL_SECONDS, TestApp, assert_status};

pub async fn a_hold_is_looked_up_by_its_owner_with_its_status_and_seconds_left(t: TestApp) {
    let hold_id = t.hold("s-1", "u-alice").await;
    let live = t.look_up(&hold_id, "u-alice").await;
    assert_status(&live, 200, None);
    assert_eq!(live.body["status"], "HOLD");
    assert_eq!(live.body["slot_id"], "s-1");
    assert_eq!(live.body["user_id"], "u-alice");
    assert_eq!(live.body["seconds_left"], TTL_SECONDS);
    assert_eq!(live.body["extended"], false);
    t.advance(100);
    assert_eq!(
        t.look_up(&hold_id, "u-alice").await.body["seconds_left"],
        TTL_SECONDS - 100
    );
    assert_status(&t.confirm(&hold_id, "u-alice").await, 200, None);
    let booked = t.look_up(&hold_id, "u-alice").await;
    assert_eq!(
        (&booked.body["status"], &booked.body["seconds_left"]),
        (&json!("CONFIRMED"), &json!(0))
    );
    t.advance(TTL_SECONDS);
    assert_eq!(
        t.look_up(&hold_id, "u-alice").await.body["status"],
        "CONFIRMED"
    );
}

pub async fn a_look_up_is_for_the_owner_only_and_needs_a_user_id(t: TestApp) {
    let hold_id = t.hold("s-1", "u-alice").await;
    assert_status(
        &t.look_up(&hold_id, "u-bob").await,
        403,
        Some("NOT_HOLD_OWNER"),
    );
    assert_status(
        &t.get(&format!("/holds/{hold_id}")).await,
        422,
        Some("VALIDATION_ERROR"),
    );
    let unknown = uuid::Uuid::new_v4();
    assert_status(
        &t.look_up(&unknown.to_string(), "u-alice").await,
        404,
        Some("HOLD_NOT_FOUND"),
    );
    assert_status(
        &t.look_up("not-a-hold", "u-alice").await,
        422,
        Some("VALIDATION_ERROR"),
    );
}

pub async fn a_look_up_tells_expired_released_and_cancelled_holds(t: TestApp) {
    let expired = t.hold("s-1", "u-alice").await;
    let released = t.hold("s-2", "u-alice").await;
    assert_status(&t.release(&released, "u-alice").await, 200, None);
    let cancelled = t.hold("s-3", "u-alice").await;
    assert_status(&t.confirm(&cancelled, "u-alice").await, 200, None);
    assert_status(&t.cancel(&cancelled, "u-alice").await, 200, None);
    assert_eq!(
        t.look_up(&released, "u-alice").await.body["status"],
        "RELEASED"
    );
    assert_eq!(
        t.look_up(&cancelled, "u-alice").await.body["status"],
        "CANCELLED"
    );
    t.advance(TTL_SECONDS);
    let gone = t.look_up(&expired, "u-alice").await;
    assert_eq!(
        (&gone.body["status"], &gone.body["seconds_left"]),
        (&json!("EXPIRED"), &json!(0))
    );
    // The slots moved on to other users: the answers stay the same.
    t.hold("s-1", "u-bob").await;
    t.hold("s-3", "u-bob").await;
    assert_eq!(
        t.look_up(&expired, "u-alice").await.body["status"],
        "EXPIRED"
    );
    assert_eq!(
        t.look_up(&cancelled, "u-alice").await.body["status"],
        "CANCELLED"
    );
}

pub async fn my_bookings_are_my_live_holds_and_bookings_newest_first(t: TestApp) {
    let expired = t.hold("s-5", "u-alice").await;
    t.advance(TTL_SECONDS);
    let booked = t.hold("s-1", "u-alice").await;
    assert_status(&t.confirm(&booked, "u-alice").await, 200, None);
    t.advance(1);
    let released = t.hold("s-3", "u-alice").await;
    assert_status(&t.release(&released, "u-alice").await, 200, None);
    t.advance(1);
    let held = t.hold("s-2", "u-alice").await;
    t.hold("s-4", "u-bob").await;
    let mine = t.bookings_of("u-alice").await;
    assert_status(&mine, 200, None);
    assert_eq!(mine.body["user_id"], "u-alice");
    let holds = mine.body["holds"].as_array().unwrap();
    let listed: Vec<(&str, &str)> = holds
        .iter()
        .map(|h| {
            (
                h["hold_id"].as_str().unwrap(),
                h["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        listed,
        [(held.as_str(), "HOLD"), (booked.as_str(), "CONFIRMED")]
    );
    assert!(
        !listed
            .iter()
            .any(|(id, _)| *id == expired || *id == released)
    );
    assert_eq!(holds[0]["slot_id"], "s-2");
    assert_eq!(holds[0]["room_id"], "r-101");
    assert_eq!(holds[0]["seconds_left"], TTL_SECONDS);
    assert!(holds[0]["start_time"].as_str().unwrap().ends_with('Z'));
    let nobody = t.bookings_of("u-demo").await;
    assert_eq!(nobody.body["holds"], json!([]));
}
