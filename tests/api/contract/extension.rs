//! Extending a hold: once, by its owner, while it lives and is still a hold.

use serde_json::json;

use crate::harness::{TTL_SECONDS, TestApp, assert_status};

pub async fn extending_a_hold_moves_its_expiry_once(t: TestApp) {
    let hold_id = t.hold("s-1", "u-alice").await;
    t.advance(100);
    let extended = t.extend(&hold_id, "u-alice").await;
    assert_status(&extended, 200, None);
    let expires = t.clock.now() + chrono::Duration::seconds(TTL_SECONDS);
    assert_eq!(
        extended.body,
        json!({ "hold_id": hold_id, "status": "HOLD", "expires_at": shared::domain::format_time(expires) })
    );
    let again = t.extend(&hold_id, "u-alice").await;
    assert_status(&again, 409, Some("EXTENSION_USED"));
    let looked_up = t.look_up(&hold_id, "u-alice").await;
    assert_eq!(looked_up.body["expires_at"], extended.body["expires_at"]);
    assert_eq!(looked_up.body["extended"], true);
    // It lives until the new expiry, and not a moment longer.
    t.advance(TTL_SECONDS - 1);
    assert_eq!(
        t.status_of("r-101", "s-1", Some("u-alice")).await,
        "HELD_BY_ME"
    );
    t.advance(1);
    assert_eq!(
        t.status_of("r-101", "s-1", Some("u-alice")).await,
        "AVAILABLE"
    );
}

pub async fn another_users_extension_is_403_and_does_not_use_up_the_owners(t: TestApp) {
    let hold_id = t.hold("s-1", "u-alice").await;
    assert_status(
        &t.extend(&hold_id, "u-bob").await,
        403,
        Some("NOT_HOLD_OWNER"),
    );
    assert_status(&t.extend(&hold_id, "u-alice").await, 200, None);
}

pub async fn extending_an_expired_hold_is_410(t: TestApp) {
    let hold_id = t.hold("s-1", "u-alice").await;
    t.advance(TTL_SECONDS);
    assert_status(&t.extend(&hold_id, "u-alice").await, 410, Some("HOLD_GONE"));
}

pub async fn extending_a_confirmed_or_released_hold_is_409(t: TestApp) {
    let booked = t.hold("s-1", "u-alice").await;
    assert_status(&t.confirm(&booked, "u-alice").await, 200, None);
    assert_status(
        &t.extend(&booked, "u-alice").await,
        409,
        Some("HOLD_CONFIRMED"),
    );
    let released = t.hold("s-2", "u-alice").await;
    assert_status(&t.release(&released, "u-alice").await, 200, None);
    assert_status(
        &t.extend(&released, "u-alice").await,
        409,
        Some("HOLD_RELEASED"),
    );
}
