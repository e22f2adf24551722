//! Time: a hold expires at its `expires_at` (410 afterwards), and a slot that has started can no
//! longer be held, confirmed or extended.

use lambda_http::http::StatusCode;

use crate::harness::{TTL_SECONDS, TestApp, assert_status};

pub async fn an_expired_hold_no_longer_blocks_the_slot(t: TestApp) {
    t.hold("s-3", "u-alice").await;
    t.advance(TTL_SECONDS - 1);
    assert_eq!(
        t.create_hold("s-3", "u-bob").await.status,
        StatusCode::CONFLICT
    );
    t.advance(1); // expires_at <= now: the hold is gone
    assert_eq!(
        t.status_of("r-101", "s-3", Some("u-alice")).await,
        "AVAILABLE"
    );
    t.hold("s-3", "u-bob").await;
    assert_eq!(
        t.status_of("r-101", "s-3", Some("u-bob")).await,
        "HELD_BY_ME"
    );
}

pub async fn confirm_returns_410_when_the_hold_expired(t: TestApp) {
    let hold_id = t.hold("s-1", "u-demo").await;
    t.advance(TTL_SECONDS);
    let late = t.confirm(&hold_id, "u-demo").await;
    assert_eq!(late.status, StatusCode::GONE);
    assert_eq!(late.error_code(), "HOLD_GONE");
    assert_eq!(late.body["message"], "Hold not found or expired.");
    assert_eq!(
        t.status_of("r-101", "s-1", Some("u-demo")).await,
        "AVAILABLE"
    );
}

pub async fn confirm_just_before_expiry_succeeds(t: TestApp) {
    let hold_id = t.hold("s-1", "u-demo").await;
    t.advance(TTL_SECONDS - 1);
    assert_eq!(t.confirm(&hold_id, "u-demo").await.status, StatusCode::OK);
}

pub async fn an_expired_hold_taken_over_by_another_user_cannot_be_confirmed_by_its_first_owner(
    t: TestApp,
) {
    let first = t.hold("s-1", "u-alice").await;
    t.advance(TTL_SECONDS);
    let second = t.hold("s-1", "u-bob").await;
    assert_eq!(t.confirm(&first, "u-alice").await.status, StatusCode::GONE);
    assert_eq!(t.confirm(&second, "u-bob").await.status, StatusCode::OK);
}

pub async fn release_returns_410_when_the_hold_expired(t: TestApp) {
    let hold_id = t.hold("s-1", "u-demo").await;
    t.advance(TTL_SECONDS); // expires_at == now: gone
    assert_eq!(t.release(&hold_id, "u-demo").await.status, StatusCode::GONE);
}

pub async fn confirm_and_release_of_an_unknown_hold_return_410(t: TestApp) {
    let unknown = uuid::Uuid::new_v4().to_string();
    assert_eq!(t.confirm(&unknown, "u-demo").await.status, StatusCode::GONE);
    assert_eq!(t.release(&unknown, "u-demo").await.status, StatusCode::GONE);
}

/// Whoever asks: a user the service does not know gets the same `SLOT_STARTED`, so the answer
/// does not tell known users from unknown ones.
pub async fn a_started_slot_cannot_be_held_and_is_left_out_of_the_listing_unless_asked(t: TestApp) {
    let first_start = t.slot("r-101", "s-1", None).await["start_time"].clone();
    t.advance_to_before_start("r-101", "s-1", 0).await;
    for user in ["u-alice", "u-nobody-knows"] {
        assert_status(&t.create_hold("s-1", user).await, 409, Some("SLOT_STARTED"));
    }
    let listed = t.slots("r-101", None).await;
    assert!(
        !listed.iter().any(|s| s["slot_id"] == "s-1"),
        "past slots are left out by default"
    );
    let asked = t
        .get(&format!(
            "/slots?room_id=r-101&from={}",
            first_start.as_str().unwrap()
        ))
        .await;
    assert_eq!(asked.body["slots"][0]["slot_id"], "s-1");
    assert_eq!(asked.body["slots"][0]["status"], "PAST");
}

pub async fn a_hold_cannot_be_confirmed_or_extended_once_its_slot_started(t: TestApp) {
    t.advance_to_before_start("r-101", "s-1", 60).await;
    let hold_id = t.hold("s-1", "u-alice").await;
    t.advance(60);
    assert_status(
        &t.confirm(&hold_id, "u-alice").await,
        409,
        Some("SLOT_STARTED"),
    );
    assert_status(
        &t.extend(&hold_id, "u-alice").await,
        409,
        Some("SLOT_STARTED"),
    );
}
