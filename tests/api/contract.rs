//! The contract suite: the seed's test scenarios and the contract's rules, each written once as a
//! scenario over a [`TestApp`] and run against every store (see `for_each_store!` at the bottom).

use lambda_http::http::StatusCode;
use serde_json::json;

use crate::helpers::{TTL_SECONDS, TestApp};

// ── Basic flow ──────────────────────────────────────────────────────────────────────────────

pub async fn listing_a_fresh_room_shows_every_slot_available_in_start_time_order(t: TestApp) {
    let list = t.list("r-101", Some("u-demo")).await;
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(list.body["room_id"], "r-101");
    assert_eq!(list.body["next_cursor"], json!(null));
    let slots = list.body["slots"].as_array().unwrap();
    assert!(
        slots.len() >= 12,
        "at least 12 demo slots, got {}",
        slots.len()
    );
    assert!(
        slots
            .iter()
            .all(|s| s["status"] == "AVAILABLE" && s["room_id"] == "r-101")
    );
    let starts: Vec<&str> = slots
        .iter()
        .map(|s| s["start_time"].as_str().unwrap())
        .collect();
    let mut sorted = starts.clone();
    sorted.sort();
    assert_eq!(starts, sorted);
    assert!(starts.iter().all(|s| s.ends_with('Z')));
    assert!(
        slots
            .iter()
            .all(|s| s.get("hold_id").is_none() && s.get("expires_at").is_none())
    );
}

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
        confirmed.body,
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

// ── Conflicts ───────────────────────────────────────────────────────────────────────────────

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

// ── A. Expiration ───────────────────────────────────────────────────────────────────────────

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

// ── B. Ownership ────────────────────────────────────────────────────────────────────────────

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

// ── C. Idempotency ──────────────────────────────────────────────────────────────────────────

pub async fn confirming_twice_returns_200_with_the_same_body(t: TestApp) {
    let hold_id = t.hold("s-1", "u-demo").await;
    let first = t.confirm(&hold_id, "u-demo").await;
    let again = t.confirm(&hold_id, "u-demo").await;
    assert_eq!(
        (first.status, again.status),
        (StatusCode::OK, StatusCode::OK)
    );
    assert_eq!(first.body, again.body);
    // Even long after the hold's expiry: a booking does not expire.
    t.advance(TTL_SECONDS * 10);
    assert_eq!(t.confirm(&hold_id, "u-demo").await.body, first.body);
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

// ── E. Visibility ───────────────────────────────────────────────────────────────────────────

pub async fn listing_tells_my_holds_from_other_users_holds(t: TestApp) {
    let mine = t.hold("s-1", "u-demo").await;
    t.hold("s-2", "u-alice").await;
    let list = t.list("r-101", Some("u-demo")).await;
    let slots = list.body["slots"].as_array().unwrap();
    let slot = |id: &str| slots.iter().find(|s| s["slot_id"] == id).unwrap().clone();
    assert_eq!(slot("s-1")["status"], "HELD_BY_ME");
    assert_eq!(slot("s-1")["hold_id"], mine.as_str());
    assert!(slot("s-1")["expires_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(slot("s-2")["status"], "HELD_BY_OTHER");
    assert!(slot("s-2").get("hold_id").is_none() && slot("s-2").get("expires_at").is_none());
    assert_eq!(slot("s-3")["status"], "AVAILABLE");
    // Without a user id every live hold is someone else's.
    assert_eq!(t.status_of("r-101", "s-1", None).await, "HELD_BY_OTHER");
}

pub async fn listing_an_unknown_room_returns_404(t: TestApp) {
    let list = t.list("r-999", Some("u-demo")).await;
    assert_eq!(
        (list.status, list.error_code()),
        (StatusCode::NOT_FOUND, "ROOM_NOT_FOUND")
    );
}

pub async fn listing_only_shows_the_asked_rooms_slots(t: TestApp) {
    let hold = t.hold("s-17", "u-demo").await; // s-17 is in r-102
    let r101 = t.list("r-101", Some("u-demo")).await;
    assert!(
        r101.body["slots"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["slot_id"] != "s-17")
    );
    let r102 = t.list("r-102", Some("u-demo")).await;
    let s17 = r102.body["slots"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["slot_id"] == "s-17")
        .cloned();
    assert_eq!(s17.map(|s| s["hold_id"].clone()), Some(json!(hold)));
}

// ── Identity ────────────────────────────────────────────────────────────────────────────────

pub async fn with_a_jwt_the_claimed_user_must_be_the_authenticated_one(t: TestApp) {
    use crate::helpers::Event;
    let body = json!({ "slot_id": "s-1", "user_id": "u-bob" });
    let spoof = t
        .send(Event::post("/holds", body.clone()).authenticated_as("u-alice"))
        .await;
    assert_eq!(
        (spoof.status, spoof.error_code()),
        (StatusCode::FORBIDDEN, "IDENTITY_MISMATCH")
    );
    let own = t
        .send(Event::post("/holds", body).authenticated_as("u-bob"))
        .await;
    assert_eq!(own.status, StatusCode::CREATED);
    let hold_id = own.body["hold_id"].as_str().unwrap();
    let confirm = Event::post(
        &format!("/holds/{hold_id}/confirm"),
        json!({ "user_id": "u-bob" }),
    );
    let stolen = t.send(confirm.clone().authenticated_as("u-alice")).await;
    assert_eq!(
        (stolen.status, stolen.error_code()),
        (StatusCode::FORBIDDEN, "IDENTITY_MISMATCH")
    );
    assert_eq!(
        t.send(confirm.authenticated_as("u-bob")).await.status,
        StatusCode::OK
    );
}

pub async fn with_a_jwt_the_listing_is_seen_as_the_authenticated_user(t: TestApp) {
    use crate::helpers::Event;
    t.hold("s-1", "u-bob").await;
    let as_bob = t
        .send(Event::get("/slots?room_id=r-101").authenticated_as("u-bob"))
        .await;
    let s1 = as_bob.body["slots"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["slot_id"] == "s-1")
        .cloned();
    assert_eq!(s1.map(|s| s["status"].clone()), Some(json!("HELD_BY_ME")));
    let spoof = t
        .send(Event::get("/slots?room_id=r-101&user_id=u-alice").authenticated_as("u-bob"))
        .await;
    assert_eq!(spoof.status, StatusCode::FORBIDDEN);
}

/// Generates one `#[tokio::test]` per scenario and store, named `<store>::<scenario>`.
macro_rules! for_each_store {
    ($($scenario:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $scenario() {
                    super::$scenario(crate::helpers::TestApp::sqlite().await).await
                }
            )*
        }
        mod dynamodb {
            $(
                #[tokio::test]
                async fn $scenario() {
                    super::$scenario(crate::helpers::TestApp::dynamodb().await).await
                }
            )*
        }
    };
}

for_each_store!(
    listing_a_fresh_room_shows_every_slot_available_in_start_time_order,
    create_returns_201_with_the_hold_and_its_location,
    confirm_books_the_slot_for_everyone,
    release_frees_the_slot_at_once,
    a_second_user_holding_a_held_slot_gets_409,
    the_holder_holding_the_same_slot_again_gets_409,
    holding_a_booked_slot_gets_409_even_after_the_hold_would_have_expired,
    holding_an_unknown_slot_or_as_an_unknown_user_gets_404,
    an_expired_hold_no_longer_blocks_the_slot,
    confirm_returns_410_when_the_hold_expired,
    confirm_just_before_expiry_succeeds,
    an_expired_hold_taken_over_by_another_user_cannot_be_confirmed_by_its_first_owner,
    release_returns_410_when_the_hold_expired,
    confirm_and_release_of_an_unknown_hold_return_410,
    confirming_another_users_hold_returns_403_and_leaves_it_held,
    releasing_another_users_hold_returns_403_and_leaves_it_held,
    confirming_twice_returns_200_with_the_same_body,
    releasing_twice_returns_200,
    a_release_retried_after_the_slot_was_held_again_still_returns_200,
    a_release_retried_after_the_hold_would_have_expired_returns_410,
    releasing_a_confirmed_hold_returns_409_and_keeps_the_booking,
    confirming_a_released_hold_returns_410,
    listing_tells_my_holds_from_other_users_holds,
    listing_an_unknown_room_returns_404,
    listing_only_shows_the_asked_rooms_slots,
    with_a_jwt_the_claimed_user_must_be_the_authenticated_one,
    with_a_jwt_the_listing_is_seen_as_the_authenticated_user,
);
