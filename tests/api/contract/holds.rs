//! Holding, confirming and releasing a slot: the happy path, conflicts (409), unknown slots and
//! users (404), and holds that belong to someone else (403).

use lambda_http::http::StatusCode;
use serde_json::json;

use crate::harness::{TTL_SECONDS, TestApp, booking_fields_aside};

pub async fn create_returns_201_with_the_hold_and_its_location(t: TestApp) {
    let created = t.create_hold("s-1", "u-demo").await;
    assert_eq!(created.status, StatusCode::CREATED);
    let hold_id = created.body["hold_id"].as_str().unwrap();
    assert!(uuid::Uuid::parse_str(hold_id).is_ok_and(|u| u.get_version_num() == 4));
    assert_eq!(created.body["slot_id"], "s-1");
    assert_eq!(created.body["user_id"], "u-demo");
    assert_eq!(created.body["status"], "HOLD");
    let expires: chrono::DateTime<chrono::Utc> = created.body["expires_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        expires,
        t.clock.now() + chrono::Duration::seconds(TTL_SECONDS)
    );
    assert!(created.body["expires_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(
        created.headers["location"],
        format!("/holds/{hold_id}").as_str()
    );
}

pub async fn confirm_books_the_slot_for_everyone(t: TestApp) {
    let hold_id = t.hold("s-1", "u-demo").await;
    let confirmed = t.confirm(&hold_id, "u-demo").await;
    assert_eq!(confirmed.status, StatusCode::OK);
    assert_eq!(
        booking_fields_aside(&confirmed.body),
        json!({ "hold_id": hold_id, "slot_id": "s-1", "status": "CONFIRMED" })
    );
    assert_eq!(t.status_of("r-101", "s-1", Some("u-demo")).await, "BOOKED");
    assert_eq!(t.status_of("r-101", "s-1", Some("u-bob")).await, "BOOKED");
    assert_eq!(t.status_of("r-101", "s-1", None).await, "BOOKED");
}

pub async fn release_frees_the_slot_at_once(t: TestApp) {
    let hold_id = t.hold("s-2", "u-demo").await;
    let released = t.release(&hold_id, "u-demo").await;
    assert_eq!(released.status, StatusCode::OK);
    assert_eq!(
        released.body,
        json!({ "hold_id": hold_id, "status": "RELEASED" })
    );
    assert_eq!(
        t.status_of("r-101", "s-2", Some("u-demo")).await,
        "AVAILABLE"
    );
    t.hold("s-2", "u-bob").await;
}

pub async fn a_second_user_holding_a_held_slot_gets_409(t: TestApp) {
    t.hold("s-1", "u-alice").await;
    let second = t.create_hold("s-1", "u-bob").await;
    assert_eq!(second.status, StatusCode::CONFLICT);
    assert_eq!(second.error_code(), "SLOT_UNAVAILABLE");
    assert_eq!(second.body["message"], "Slot is already held or booked.");
}

pub async fn the_holder_holding_the_same_slot_again_gets_409(t: TestApp) {
    t.hold("s-1", "u-alice").await;
    assert_eq!(
        t.create_hold("s-1", "u-alice").await.status,
        StatusCode::CONFLICT
    );
}

pub async fn holding_a_booked_slot_gets_409_even_after_the_hold_would_have_expired(t: TestApp) {
    let hold_id = t.hold("s-1", "u-alice").await;
    assert_eq!(t.confirm(&hold_id, "u-alice").await.status, StatusCode::OK);
    assert_eq!(
        t.create_hold("s-1", "u-bob").await.status,
        StatusCode::CONFLICT
    );
    t.advance(TTL_SECONDS * 2);
    assert_eq!(
        t.create_hold("s-1", "u-bob").await.status,
        StatusCode::CONFLICT
    );
    assert_eq!(t.status_of("r-101", "s-1", Some("u-bob")).await, "BOOKED");
}

pub async fn holding_an_unknown_slot_or_as_an_unknown_user_gets_404(t: TestApp) {
    let slot = t.create_hold("s-404", "u-demo").await;
    assert_eq!(
        (slot.status, slot.error_code()),
        (StatusCode::NOT_FOUND, "SLOT_NOT_FOUND")
    );
    let user = t.create_hold("s-1", "u-nobody").await;
    assert_eq!(
        (user.status, user.error_code()),
        (StatusCode::NOT_FOUND, "USER_NOT_FOUND")
    );
}

pub async fn confirming_another_users_hold_returns_403_and_leaves_it_held(t: TestApp) {
    let hold_id = t.hold("s-1", "u-alice").await;
    let theft = t.confirm(&hold_id, "u-bob").await;
    assert_eq!(
        (theft.status, theft.error_code()),
        (StatusCode::FORBIDDEN, "NOT_HOLD_OWNER")
    );
    assert_eq!(
        t.status_of("r-101", "s-1", Some("u-alice")).await,
        "HELD_BY_ME"
    );
}

pub async fn releasing_another_users_hold_returns_403_and_leaves_it_held(t: TestApp) {
    let hold_id = t.hold("s-1", "u-alice").await;
    assert_eq!(
        t.release(&hold_id, "u-bob").await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        t.status_of("r-101", "s-1", Some("u-alice")).await,
        "HELD_BY_ME"
    );
}

pub async fn releasing_a_confirmed_hold_returns_409_and_keeps_the_booking(t: TestApp) {
    let hold_id = t.hold("s-1", "u-demo").await;
    assert_eq!(t.confirm(&hold_id, "u-demo").await.status, StatusCode::OK);
    let release = t.release(&hold_id, "u-demo").await;
    assert_eq!(
        (release.status, release.error_code()),
        (StatusCode::CONFLICT, "HOLD_CONFIRMED")
    );
    assert_eq!(t.status_of("r-101", "s-1", None).await, "BOOKED");
}

pub async fn confirming_a_released_hold_returns_410(t: TestApp) {
    let hold_id = t.hold("s-1", "u-demo").await;
    assert_eq!(t.release(&hold_id, "u-demo").await.status, StatusCode::OK);
    assert_eq!(t.confirm(&hold_id, "u-demo").await.status, StatusCode::GONE);
}
