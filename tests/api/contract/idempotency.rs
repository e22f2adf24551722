//! Repeated requests: a confirm or release sent again answers as the first did, and a repeated
//! `Idempotency-Key` on `POST /holds` returns the first hold and creates nothing (for 24 hours).
//! (Simultaneous duplicates are in `races`.)

use lambda_http::http::StatusCode;
use serde_json::json;

use crate::harness::{TTL_SECONDS, TestApp, assert_status};

pub async fn confirming_twice_returns_200_with_the_same_body(t: TestApp) {
    let hold_id = t.hold("s-1", "u-demo").await;
    let first = t.confirm(&hold_id, "u-demo").await;
    let again = t.confirm(&hold_id, "u-demo").await;
    assert_eq!(
        (first.status, again.status),
        (StatusCode::OK, StatusCode::OK)
    );
    // The same booking, reference and contact; the manage key only in the first answer (only
    // its digest is kept).
    let mut first = first.body;
    assert_eq!(first["manage_key"].as_str().map(str::len), Some(43));
    first.as_object_mut().unwrap().remove("manage_key");
    assert_eq!(first, again.body);
    // Even long after the hold's expiry: a booking does not expire.
    t.advance(TTL_SECONDS * 10);
    assert_eq!(t.confirm(&hold_id, "u-demo").await.body, first);
}

pub async fn releasing_twice_returns_200(t: TestApp) {
    let hold_id = t.hold("s-1", "u-demo").await;
    let first = t.release(&hold_id, "u-demo").await;
    let again = t.release(&hold_id, "u-demo").await;
    assert_eq!(
        (first.status, again.status),
        (StatusCode::OK, StatusCode::OK)
    );
    assert_eq!(first.body, again.body);
}

pub async fn a_release_retried_after_the_slot_was_held_again_still_returns_200(t: TestApp) {
    let first = t.hold("s-1", "u-alice").await;
    assert_eq!(t.release(&first, "u-alice").await.status, StatusCode::OK);
    t.hold("s-1", "u-bob").await;
    let retry = t.release(&first, "u-alice").await;
    assert_eq!(retry.status, StatusCode::OK, "{retry:?}");
    assert_eq!(
        retry.body,
        json!({ "hold_id": first, "status": "RELEASED" })
    );
    assert_eq!(
        t.release(&first, "u-bob").await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        t.status_of("r-101", "s-1", Some("u-bob")).await,
        "HELD_BY_ME"
    );
}

pub async fn a_release_retried_after_the_hold_would_have_expired_returns_410(t: TestApp) {
    let hold_id = t.hold("s-1", "u-demo").await;
    assert_eq!(t.release(&hold_id, "u-demo").await.status, StatusCode::OK);
    t.advance(TTL_SECONDS - 1);
    assert_eq!(t.release(&hold_id, "u-demo").await.status, StatusCode::OK);
    t.advance(1);
    assert_eq!(t.release(&hold_id, "u-demo").await.status, StatusCode::GONE);
}

pub async fn a_repeated_idempotency_key_returns_the_first_hold_and_creates_nothing(t: TestApp) {
    let first = t.create_hold_with_key("s-1", "u-alice", "key-1").await;
    assert_status(&first, 201, None);
    let again = t.create_hold_with_key("s-1", "u-alice", "key-1").await;
    assert_status(&again, 201, None);
    assert_eq!(again.body, first.body);
    assert_eq!(again.header("location"), first.header("location"));
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    let hold_id = first.body["hold_id"].as_str().unwrap();
    assert_status(&t.release(hold_id, "u-alice").await, 200, None);
    let after_release = t.create_hold_with_key("s-1", "u-alice", "key-1").await;
    assert_eq!(
        (after_release.status.as_u16(), &after_release.body),
        (201, &first.body)
    );
    assert_eq!(
        t.status_of("r-101", "s-1", Some("u-alice")).await,
        "AVAILABLE",
        "nothing created"
    );
    let other = t.create_hold_with_key("s-2", "u-alice", "key-1").await;
    assert_status(&other, 422, Some("IDEMPOTENCY_KEY_REUSED"));
    assert_status(
        &t.create_hold_with_key("s-2", "u-alice", "").await,
        422,
        Some("VALIDATION_ERROR"),
    );
}

/// Keys belong to the player who sends them: another player's request with the same key is
/// another request (a new hold, or the slot's own refusal), never the first player's hold
/// replayed and never `IDEMPOTENCY_KEY_REUSED`, which would tell them the key is in use.
pub async fn the_same_idempotency_key_from_another_player_is_another_key(t: TestApp) {
    let alices = t.create_hold_with_key("s-1", "u-alice", "shared-key").await;
    assert_status(&alices, 201, None);
    let bobs_on_alices_slot = t.create_hold_with_key("s-1", "u-bob", "shared-key").await;
    assert_status(&bobs_on_alices_slot, 409, Some("SLOT_UNAVAILABLE"));
    let bobs = t.create_hold_with_key("s-2", "u-bob", "shared-key").await;
    assert_status(&bobs, 201, None);
    assert_eq!(bobs.header("idempotent-replayed"), None);
    assert_ne!(bobs.body["hold_id"], alices.body["hold_id"]);
    assert_eq!(bobs.body["user_id"], "u-bob");
    let bobs_again = t.create_hold_with_key("s-2", "u-bob", "shared-key").await;
    assert_eq!(bobs_again.body, bobs.body, "Bob's key replays Bob's hold");
    let alices_again = t.create_hold_with_key("s-1", "u-alice", "shared-key").await;
    assert_eq!(alices_again.body, alices.body, "Alice's key still hers");
}

pub async fn an_idempotency_key_is_forgotten_after_24_hours(t: TestApp) {
    let first = t.create_hold_with_key("s-1", "u-alice", "key-day").await;
    assert_status(&first, 201, None);
    t.advance(24 * 3600);
    let later = t.create_hold_with_key("s-9", "u-alice", "key-day").await;
    assert_status(&later, 201, None);
    assert_ne!(later.body["hold_id"], first.body["hold_id"]);
}
