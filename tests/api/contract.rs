//! The contract suite: the seed's test scenarios and the contract's rules, each written once as a
//! scenario over a [`TestApp`] and run on both stores through every transport where it makes
//! sense (see the `scenarios!` table at the bottom): the handlers in process, the local server
//! over loopback, and the function binaries through the Lambda Runtime API.

use lambda_http::http::{Method, StatusCode};
use serde_json::json;

use crate::harness::{Event, STAGE, TTL_SECONDS, TestApp, assert_status};

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
    // The demo rooms are in UTC: their local start is the start itself, with its offset.
    assert!(
        slots
            .iter()
            .all(|s| s["local_start"].as_str().unwrap().ends_with("+00:00"))
    );
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
    use crate::harness::Event;
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
    use crate::harness::Event;
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

// ── Whole flows ─────────────────────────────────────────────────────────────────────────

/// Without an authorizer the `user_id` of the request is the caller.
pub async fn the_booking_flow_from_listing_to_booking_and_release(t: TestApp) {
    let slots = t.slots("r-101", Some("u-demo")).await;
    assert!(slots.len() >= 12, "{slots:?}");
    assert!(
        slots.iter().all(|s| s["status"] == "AVAILABLE"),
        "{slots:?}"
    );
    let starts: Vec<&str> = slots
        .iter()
        .map(|s| s["start_time"].as_str().unwrap())
        .collect();
    assert!(
        starts.windows(2).all(|w| w[0] < w[1]),
        "start-time order: {starts:?}"
    );
    let first = slots[0]["slot_id"].as_str().unwrap().to_owned();
    let second = slots[1]["slot_id"].as_str().unwrap().to_owned();

    let created = t
        .post("/holds", json!({ "slot_id": first, "user_id": "u-demo" }))
        .await;
    assert_status(&created, 201, None);
    let hold = created.body["hold_id"].as_str().unwrap().to_owned();
    assert_eq!(
        created.header("location"),
        Some(format!("/holds/{hold}").as_str())
    );
    assert_eq!(created.body["status"], "HOLD");
    assert_eq!(created.body["slot_id"], first.as_str());
    assert_eq!(created.body["user_id"], "u-demo");
    assert!(created.body["expires_at"].as_str().unwrap().ends_with('Z'));

    let mine = t.slot("r-101", &first, Some("u-demo")).await;
    assert_eq!(
        (mine["status"].as_str(), mine["hold_id"].as_str()),
        (Some("HELD_BY_ME"), Some(hold.as_str()))
    );
    assert_eq!(mine["expires_at"], created.body["expires_at"]);
    let theirs = t.slot("r-101", &first, Some("u-bob")).await;
    assert_eq!(theirs["status"], "HELD_BY_OTHER");
    assert!(
        theirs.get("hold_id").is_none() && theirs.get("expires_at").is_none(),
        "{theirs}"
    );
    assert_eq!(
        t.slot("r-101", &first, None).await["status"],
        "HELD_BY_OTHER"
    );

    let race = t
        .post("/holds", json!({ "slot_id": first, "user_id": "u-bob" }))
        .await;
    assert_status(&race, 409, Some("SLOT_UNAVAILABLE"));
    let foreign = t
        .post(
            &format!("/holds/{hold}/confirm"),
            json!({ "user_id": "u-bob" }),
        )
        .await;
    assert_status(&foreign, 403, Some("NOT_HOLD_OWNER"));

    let confirmed = t
        .post(
            &format!("/holds/{hold}/confirm"),
            json!({ "user_id": "u-demo" }),
        )
        .await;
    assert_status(&confirmed, 200, None);
    assert_eq!(
        confirmed.body,
        json!({ "hold_id": hold, "slot_id": first, "status": "CONFIRMED" })
    );
    let again = t
        .post(
            &format!("/holds/{hold}/confirm"),
            json!({ "user_id": "u-demo" }),
        )
        .await;
    assert_eq!(
        (again.status.as_u16(), &again.body),
        (200, &confirmed.body),
        "confirming again is idempotent"
    );
    let release = t
        .post(
            &format!("/holds/{hold}/release"),
            json!({ "user_id": "u-demo" }),
        )
        .await;
    assert_status(&release, 409, Some("HOLD_CONFIRMED"));
    assert_eq!(
        t.slot("r-101", &first, Some("u-demo")).await["status"],
        "BOOKED"
    );
    let booked = t
        .post("/holds", json!({ "slot_id": first, "user_id": "u-alice" }))
        .await;
    assert_status(&booked, 409, Some("SLOT_UNAVAILABLE"));

    let created = t
        .post("/holds", json!({ "slot_id": second, "user_id": "u-alice" }))
        .await;
    assert_status(&created, 201, None);
    let hold2 = created.body["hold_id"].as_str().unwrap().to_owned();
    let released = t
        .post(
            &format!("/holds/{hold2}/release"),
            json!({ "user_id": "u-alice" }),
        )
        .await;
    assert_status(&released, 200, None);
    assert_eq!(
        released.body,
        json!({ "hold_id": hold2, "status": "RELEASED" })
    );
    let again = t
        .post(
            &format!("/holds/{hold2}/release"),
            json!({ "user_id": "u-alice" }),
        )
        .await;
    assert_eq!(
        (again.status.as_u16(), &again.body),
        (200, &released.body),
        "releasing again is idempotent"
    );
    assert_eq!(
        t.slot("r-101", &second, Some("u-alice")).await["status"],
        "AVAILABLE"
    );
    let gone = t
        .post(
            &format!("/holds/{hold2}/confirm"),
            json!({ "user_id": "u-alice" }),
        )
        .await;
    assert_status(&gone, 410, Some("HOLD_GONE"));
}

/// The contract's 4xx answers, each a JSON `{error, message}` from the function.
pub async fn client_errors_come_back_as_json_with_their_codes(t: TestApp) {
    assert_status(&t.get("/slots").await, 422, Some("VALIDATION_ERROR"));
    assert_status(
        &t.get("/slots?room_id=r-999").await,
        404,
        Some("ROOM_NOT_FOUND"),
    );
    assert_status(
        &t.get("/slots?room_id=r*1").await,
        422,
        Some("VALIDATION_ERROR"),
    );

    let no_body = Event::post("/holds", json!({})).without_body();
    assert_status(&t.send(no_body).await, 422, Some("VALIDATION_ERROR"));
    let form = Event::post_raw("/holds", b"slot_id=s-1&user_id=u-demo".to_vec());
    assert_status(&t.send(form).await, 422, Some("VALIDATION_ERROR"));
    let missing = t.post("/holds", json!({ "slot_id": "s-1" })).await;
    assert_status(&missing, 422, Some("VALIDATION_ERROR"));
    assert!(
        missing.body["message"]
            .as_str()
            .unwrap()
            .contains("user_id"),
        "{missing:?}"
    );
    let large = Event::post(
        "/holds",
        json!({ "slot_id": "s-1", "user_id": "u-demo", "pad": "x".repeat(70_000) }),
    );
    assert_status(&t.send(large).await, 413, Some("PAYLOAD_TOO_LARGE"));
    let unknown_slot = t
        .post(
            "/holds",
            json!({ "slot_id": "s-9999", "user_id": "u-demo" }),
        )
        .await;
    assert_status(&unknown_slot, 404, Some("SLOT_NOT_FOUND"));
    let unknown_user = t
        .post("/holds", json!({ "slot_id": "s-3", "user_id": "u-nobody" }))
        .await;
    assert_status(&unknown_user, 404, Some("USER_NOT_FOUND"));

    let bad_id = t
        .post("/holds/not-a-hold/confirm", json!({ "user_id": "u-demo" }))
        .await;
    assert_status(&bad_id, 422, Some("VALIDATION_ERROR"));
    let unknown = uuid::Uuid::new_v4();
    let gone = t
        .post(
            &format!("/holds/{unknown}/confirm"),
            json!({ "user_id": "u-demo" }),
        )
        .await;
    assert_status(&gone, 410, Some("HOLD_GONE"));
    assert_eq!(gone.body["message"], "Hold not found or expired.");
    let gone = t
        .post(
            &format!("/holds/{unknown}/release"),
            json!({ "user_id": "u-demo" }),
        )
        .await;
    assert_status(&gone, 410, Some("HOLD_GONE"));
}

/// With API Gateway's JWT authorizer, the token's `sub` is the caller.
pub async fn with_a_jwt_the_token_subject_is_the_caller_on_every_route(t: TestApp) {
    let slot = t.slots("r-101", None).await[2]["slot_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let as_alice = |event: Event| event.authenticated_as("u-alice");

    let posing = as_alice(Event::post(
        "/holds",
        json!({ "slot_id": slot, "user_id": "u-demo" }),
    ));
    assert_status(&t.send(posing).await, 403, Some("IDENTITY_MISMATCH"));
    let created = t
        .send(as_alice(Event::post(
            "/holds",
            json!({ "slot_id": slot, "user_id": "u-alice" }),
        )))
        .await;
    assert_status(&created, 201, None);
    let hold = created.body["hold_id"].as_str().unwrap().to_owned();

    // Listing without user_id: the authenticated user is the caller.
    let list = t.send(as_alice(Event::get("/slots?room_id=r-101"))).await;
    assert_status(&list, 200, None);
    let listed = list.body["slots"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["slot_id"] == slot.as_str())
        .cloned();
    assert_eq!(
        listed.map(|s| s["status"].clone()),
        Some(json!("HELD_BY_ME"))
    );
    let other = t
        .send(as_alice(Event::get("/slots?room_id=r-101&user_id=u-bob")))
        .await;
    assert_status(&other, 403, Some("IDENTITY_MISMATCH"));

    let confirm = |sub: &str, user: &str| {
        Event::post(
            &format!("/holds/{hold}/confirm"),
            json!({ "user_id": user }),
        )
        .authenticated_as(sub)
    };
    assert_status(
        &t.send(confirm("u-alice", "u-demo")).await,
        403,
        Some("IDENTITY_MISMATCH"),
    );
    assert_status(
        &t.send(confirm("u-bob", "u-bob")).await,
        403,
        Some("NOT_HOLD_OWNER"),
    );
    let confirmed = t.send(confirm("u-alice", "u-alice")).await;
    assert_status(&confirmed, 200, None);
    assert_eq!(confirmed.body["status"], "CONFIRMED");
}

/// API Gateway sends bodies it does not consider text base64-encoded; the stage is in `rawPath`.
pub async fn base64_bodies_behind_a_named_stage_are_read_as_json(t: TestApp) {
    let event = Event::post("/holds", json!({ "slot_id": "s-4", "user_id": "u-bob" })).base64(None);
    let raw_path = event.to_json()["rawPath"].as_str().unwrap().to_owned();
    assert_eq!(
        raw_path,
        format!("/{STAGE}/holds"),
        "the event carries a named stage"
    );
    let created = t.send(event).await;
    assert_status(&created, 201, None);
    let hold = created.body["hold_id"].as_str().unwrap();
    let confirm = Event::post(
        &format!("/holds/{hold}/confirm"),
        json!({ "user_id": "u-bob" }),
    )
    .base64(Some("application/octet-stream"));
    assert_status(&t.send(confirm).await, 200, None);
}

// ── Extension ───────────────────────────────────────────────────────────────────────────────

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

pub async fn six_simultaneous_extensions_have_exactly_one_winner(t: TestApp) {
    let hold_id = t.hold("s-1", "u-alice").await;
    let t = std::sync::Arc::new(t);
    let tasks: Vec<_> = (0..6)
        .map(|_| {
            let (t, hold_id) = (t.clone(), hold_id.clone());
            tokio::spawn(async move { t.extend(&hold_id, "u-alice").await })
        })
        .collect();
    let mut statuses = Vec::new();
    for task in tasks {
        let reply = task.await.unwrap();
        if reply.status != 200 {
            assert_status(&reply, 409, Some("EXTENSION_USED"));
        }
        statuses.push(reply.status.as_u16());
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
}

// ── Look-ups ────────────────────────────────────────────────────────────────────────────────

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

pub async fn rooms_are_listed_with_their_name_and_capacity(t: TestApp) {
    let rooms = t.get("/rooms").await;
    assert_status(&rooms, 200, None);
    let listed: Vec<(&str, &str, u64)> = rooms.body["rooms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["room_id"].as_str().unwrap(),
                r["name"].as_str().unwrap(),
                r["capacity"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        listed,
        [
            ("r-101", "The Cursed Library", 6),
            ("r-102", "Submarine 7", 4)
        ]
    );
    assert_eq!(rooms.body["rooms"][0]["max_players"], 6);
    assert_eq!(rooms.body["rooms"][0]["time_zone"], "UTC");
}

// ── Pages and time windows ──────────────────────────────────────────────────────────────────

pub async fn a_room_is_listed_page_by_page_with_a_cursor(t: TestApp) {
    let all = t.slots("r-101", None).await;
    assert_eq!(all.len(), 16);
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let query = cursor.map(|c| format!("&cursor={c}")).unwrap_or_default();
        let page = t.get(&format!("/slots?room_id=r-101&limit=5{query}")).await;
        assert_status(&page, 200, None);
        let slots = page.body["slots"].as_array().unwrap();
        assert!(slots.len() <= 5);
        seen.extend(slots.iter().map(|s| s["slot_id"].clone()));
        pages += 1;
        match page.body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(pages, 4);
    let every: Vec<_> = all.iter().map(|s| s["slot_id"].clone()).collect();
    assert_eq!(seen, every, "every slot once, in order");
}

pub async fn a_cursor_of_another_room_a_garbage_cursor_or_a_bad_limit_is_422(t: TestApp) {
    let page = t.get("/slots?room_id=r-101&limit=2").await;
    let cursor = page.body["next_cursor"].as_str().unwrap().to_owned();
    let other = t
        .get(&format!("/slots?room_id=r-102&cursor={cursor}"))
        .await;
    assert_status(&other, 422, Some("VALIDATION_ERROR"));
    for bad in [
        "cursor=garbage",
        "cursor=%00%01",
        "limit=201",
        "limit=0",
        "limit=ten",
        "from=yesterday",
    ] {
        assert_status(
            &t.get(&format!("/slots?room_id=r-101&{bad}")).await,
            422,
            Some("VALIDATION_ERROR"),
        );
    }
    assert_status(&t.get("/slots?room_id=r-101&limit=200").await, 200, None);
}

pub async fn from_and_to_select_slots_by_start_time(t: TestApp) {
    let all = t.slots("r-101", None).await;
    let start = |i: usize| all[i]["start_time"].as_str().unwrap().to_owned();
    let window = t
        .get(&format!(
            "/slots?room_id=r-101&from={}&to={}",
            start(2),
            start(6)
        ))
        .await;
    assert_status(&window, 200, None);
    let ids: Vec<_> = window.body["slots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["slot_id"].clone())
        .collect();
    let expected: Vec<_> = all[2..6].iter().map(|s| s["slot_id"].clone()).collect();
    assert_eq!(ids, expected, "from inclusive, to exclusive");
    let empty = t
        .get(&format!(
            "/slots?room_id=r-101&from={}&to={}",
            start(2),
            start(2)
        ))
        .await;
    assert_status(&empty, 422, Some("VALIDATION_ERROR"));
    let unknown = t
        .get(&format!("/slots?room_id=r-999&from={}", start(2)))
        .await;
    assert_status(&unknown, 404, Some("ROOM_NOT_FOUND"));
}

// ── Time rules ──────────────────────────────────────────────────────────────────────────────

pub async fn a_started_slot_cannot_be_held_and_is_left_out_of_the_listing_unless_asked(t: TestApp) {
    let first_start = t.slot("r-101", "s-1", None).await["start_time"].clone();
    t.advance_to_before_start("r-101", "s-1", 0).await;
    assert_status(
        &t.create_hold("s-1", "u-alice").await,
        409,
        Some("SLOT_STARTED"),
    );
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

// ── Idempotency-Key ─────────────────────────────────────────────────────────────────────────

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

pub async fn an_idempotency_key_is_forgotten_after_24_hours(t: TestApp) {
    let first = t.create_hold_with_key("s-1", "u-alice", "key-day").await;
    assert_status(&first, 201, None);
    t.advance(24 * 3600);
    let later = t.create_hold_with_key("s-9", "u-alice", "key-day").await;
    assert_status(&later, 201, None);
    assert_ne!(later.body["hold_id"], first.body["hold_id"]);
}

pub async fn ten_simultaneous_duplicates_make_one_hold(t: TestApp) {
    let t = std::sync::Arc::new(t);
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let t = t.clone();
            tokio::spawn(async move { t.create_hold_with_key("s-1", "u-alice", "key-10").await })
        })
        .collect();
    let mut holds = std::collections::BTreeSet::new();
    for task in tasks {
        let reply = task.await.unwrap();
        match reply.status.as_u16() {
            201 => {
                holds.insert(reply.body["hold_id"].as_str().unwrap().to_owned());
            }
            // The first request was still being written: the client retries later.
            _ => assert_status(&reply, 409, Some("IDEMPOTENCY_KEY_IN_USE")),
        }
    }
    assert_eq!(holds.len(), 1, "{holds:?}");
    let mine = t.bookings_of("u-alice").await;
    assert_eq!(mine.body["holds"].as_array().unwrap().len(), 1);
}

// ── Cancellation ────────────────────────────────────────────────────────────────────────────

pub async fn cancelling_a_booking_frees_the_slot_for_anyone_at_once(t: TestApp) {
    let hold_id = t.hold("s-1", "u-alice").await;
    assert_status(&t.confirm(&hold_id, "u-alice").await, 200, None);
    let cancelled = t.cancel(&hold_id, "u-alice").await;
    assert_status(&cancelled, 200, None);
    assert_eq!(
        cancelled.body,
        json!({ "hold_id": hold_id, "status": "CANCELLED" })
    );
    assert_eq!(t.status_of("r-101", "s-1", None).await, "AVAILABLE");
    assert_status(
        &t.confirm(&hold_id, "u-alice").await,
        410,
        Some("HOLD_GONE"),
    );
    let bobs = t.hold("s-1", "u-bob").await;
    assert_status(&t.confirm(&bobs, "u-bob").await, 200, None);
    // A stale second cancel answers as done and never touches the newer booking.
    assert_status(&t.cancel(&hold_id, "u-alice").await, 200, None);
    assert_eq!(t.status_of("r-101", "s-1", Some("u-bob")).await, "BOOKED");
    assert_eq!(t.look_up(&bobs, "u-bob").await.body["status"], "CONFIRMED");
}

pub async fn only_the_owner_cancels_and_only_a_booking(t: TestApp) {
    let hold_id = t.hold("s-1", "u-alice").await;
    assert_status(
        &t.cancel(&hold_id, "u-alice").await,
        409,
        Some("HOLD_NOT_CONFIRMED"),
    );
    assert_status(&t.confirm(&hold_id, "u-alice").await, 200, None);
    assert_status(
        &t.cancel(&hold_id, "u-bob").await,
        403,
        Some("NOT_HOLD_OWNER"),
    );
    let unknown = uuid::Uuid::new_v4().to_string();
    assert_status(&t.cancel(&unknown, "u-alice").await, 410, Some("HOLD_GONE"));
    assert_eq!(t.status_of("r-101", "s-1", None).await, "BOOKED");
}

pub async fn a_booking_cannot_be_cancelled_once_its_slot_started(t: TestApp) {
    t.advance_to_before_start("r-101", "s-1", 120).await;
    let hold_id = t.hold("s-1", "u-alice").await;
    assert_status(&t.confirm(&hold_id, "u-alice").await, 200, None);
    t.advance(120);
    assert_status(
        &t.cancel(&hold_id, "u-alice").await,
        409,
        Some("SLOT_STARTED"),
    );
}

// ── Rooms and operators ─────────────────────────────────────────────────────────────────────

fn vault() -> serde_json::Value {
    json!({
        "name": "The Vault",
        "time_zone": "Europe/Berlin",
        "min_players": 2,
        "max_players": 6,
        "duration_minutes": 60,
        "buffer_minutes": 15
    })
}

pub async fn an_operator_creates_a_room_and_replaces_it_and_anyone_reads_it(t: TestApp) {
    let created = t.put_room("r-vault", vault()).await;
    assert_status(&created, 201, None);
    let expected = json!({
        "room_id": "r-vault",
        "name": "The Vault",
        "capacity": 6,
        "time_zone": "Europe/Berlin",
        "min_players": 2,
        "max_players": 6,
        "duration_minutes": 60,
        "buffer_minutes": 15,
        "min_notice_minutes": 0,
        "max_advance_days": 60,
        "cancel_cutoff_minutes": 0
    });
    assert_eq!(created.body, expected);
    assert_eq!(t.get("/rooms/r-vault").await.body, expected);
    let mut renamed = vault();
    renamed["name"] = json!("The Vault II");
    renamed["max_players"] = json!(8);
    let replaced = t.put_room("r-vault", renamed).await;
    assert_status(&replaced, 200, None);
    assert_eq!(
        (&replaced.body["name"], &replaced.body["capacity"]),
        (&json!("The Vault II"), &json!(8))
    );
    let rooms = t.get("/rooms").await;
    let listed: Vec<&str> = rooms.body["rooms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["room_id"].as_str().unwrap())
        .collect();
    assert_eq!(listed, ["r-101", "r-102", "r-vault"]);
    assert_status(
        &t.get("/rooms/r-nowhere").await,
        404,
        Some("ROOM_NOT_FOUND"),
    );
}

pub async fn operator_routes_need_an_operators_token(t: TestApp) {
    let put = |token: Option<&str>| {
        let event = Event::with_json(Method::PUT, "/rooms/r-vault", vault());
        match token {
            Some(token) => event.bearer(token),
            None => event,
        }
    };
    let anonymous = t.send(put(None)).await;
    assert_status(&anonymous, 401, Some("UNAUTHENTICATED"));
    assert_eq!(anonymous.header("www-authenticate"), Some("Bearer"));
    let wrong = t.send(put(Some("not-the-operator-token"))).await;
    assert_status(&wrong, 403, Some("OPERATOR_ONLY"));
    assert_status(&t.get("/rooms/r-vault").await, 404, Some("ROOM_NOT_FOUND"));
}

pub async fn a_room_with_a_rule_out_of_range_is_refused_naming_it(t: TestApp) {
    for (field, value) in [
        ("time_zone", json!("Mars/Olympus_Mons")),
        ("min_players", json!(7)),
        ("duration_minutes", json!(0)),
        ("max_advance_days", json!(400)),
    ] {
        let mut bad = vault();
        bad[field] = value;
        let refused = t.put_room("r-vault", bad).await;
        assert_status(&refused, 422, Some("VALIDATION_ERROR"));
        assert!(
            refused.body["message"].as_str().unwrap().contains(field),
            "{field}: {refused:?}"
        );
    }
    let mut unknown = vault();
    unknown["colour"] = json!("red");
    assert_status(
        &t.put_room("r-vault", unknown).await,
        422,
        Some("VALIDATION_ERROR"),
    );
}

pub async fn with_a_jwt_an_operator_is_a_caller_with_the_operator_scope(t: TestApp) {
    let as_player = Event::with_json(Method::PUT, "/rooms/r-vault", vault())
        .authenticated_as("u-alice")
        .claim("scope", "openid profile");
    assert_status(&t.send(as_player).await, 403, Some("OPERATOR_ONLY"));
    // With an authorizer the bearer token is the JWT itself: the operator token means nothing.
    let token_only = Event::with_json(Method::PUT, "/rooms/r-vault", vault())
        .authenticated_as("u-alice")
        .bearer(crate::harness::OPERATOR_TOKEN);
    assert_status(&t.send(token_only).await, 403, Some("OPERATOR_ONLY"));
    let as_operator = Event::with_json(Method::PUT, "/rooms/r-vault", vault())
        .authenticated_as("u-staff")
        .claim(
            "scope",
            &format!("openid {}", crate::harness::OPERATOR_SCOPE),
        );
    assert_status(&t.send(as_operator).await, 201, None);
}

// ── Schedules ───────────────────────────────────────────────────────────────────────────────

/// The Vault (Berlin, 60-minute games, 15-minute buffer), bookable two weeks ahead.
async fn the_vault_is_open(t: &TestApp) {
    let mut rules = vault();
    rules["max_advance_days"] = json!(14);
    assert_status(&t.put_room("r-vault", rules).await, 201, None);
}

fn daily(starts: &[&str]) -> serde_json::Value {
    json!({ "weekly": [{ "days": ["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"], "starts": starts }] })
}

/// The room's slot ids from now on.
async fn slot_ids(t: &TestApp, room: &str) -> Vec<String> {
    let page = t.get(&format!("/slots?room_id={room}&limit=200")).await;
    assert_status(&page, 200, None);
    page.body["slots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["slot_id"].as_str().unwrap().to_owned())
        .collect()
}

pub async fn publishing_a_schedule_makes_its_slots_and_publishing_it_again_changes_nothing(
    t: TestApp,
) {
    the_vault_is_open(&t).await;
    let published = t.put_schedule("r-vault", daily(&["10:00", "18:00"])).await;
    assert_status(&published, 200, None);
    let planned = published.body["planned"].as_u64().unwrap();
    assert!(
        (27..=29).contains(&planned),
        "two games a day for 14 days: {planned}"
    );
    assert_eq!(published.body["created"], planned);
    assert_eq!(
        (&published.body["removed"], &published.body["kept"]),
        (&json!(0), &json!([]))
    );
    let ids = slot_ids(&t, "r-vault").await;
    assert_eq!(ids.len() as u64, planned);
    assert!(
        ids.iter().all(
            |id| id.starts_with("r-vault.") && (id.ends_with("T1000") || id.ends_with("T1800"))
        ),
        "ids carry the local start in Berlin: {ids:?}"
    );
    for slot in t.slots("r-vault", None).await {
        let local: chrono::DateTime<chrono::FixedOffset> =
            slot["local_start"].as_str().unwrap().parse().unwrap();
        let utc: chrono::DateTime<chrono::Utc> =
            slot["start_time"].as_str().unwrap().parse().unwrap();
        assert_eq!(local, utc, "the same instant");
        let clock = local.format("%H:%M:%S").to_string();
        assert!(
            clock == "10:00:00" || clock == "18:00:00",
            "local_start is the schedule's time in Berlin: {slot}"
        );
        assert!(
            [3600, 7200].contains(&local.offset().local_minus_utc()),
            "{slot}"
        );
    }
    let again = t.put_schedule("r-vault", daily(&["18:00", "10:00"])).await;
    assert_eq!(
        (
            &again.body["created"],
            &again.body["removed"],
            &again.body["kept"]
        ),
        (&json!(0), &json!(0), &json!([]))
    );
    assert_eq!(slot_ids(&t, "r-vault").await, ids);
    let mut stored = daily(&["18:00", "10:00"]);
    stored["closed"] = json!([]);
    assert_eq!(t.get("/rooms/r-vault/schedule").await.body, stored);
}

pub async fn a_new_schedule_removes_free_slots_and_keeps_held_and_booked_ones(t: TestApp) {
    the_vault_is_open(&t).await;
    t.put_schedule("r-vault", daily(&["10:00", "18:00"])).await;
    let evenings: Vec<String> = slot_ids(&t, "r-vault")
        .await
        .into_iter()
        .filter(|id| id.ends_with("T1800"))
        .collect();
    let held = t.hold(&evenings[0], "u-alice").await;
    let booked = t.hold(&evenings[1], "u-bob").await;
    assert_status(&t.confirm(&booked, "u-bob").await, 200, None);
    let mornings_only = t.put_schedule("r-vault", daily(&["10:00"])).await;
    assert_status(&mornings_only, 200, None);
    assert_eq!(mornings_only.body["created"], 0);
    assert_eq!(mornings_only.body["removed"], evenings.len() - 2);
    let kept: Vec<(&str, &str)> = mornings_only.body["kept"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            (
                k["slot_id"].as_str().unwrap(),
                k["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        kept,
        [
            (evenings[0].as_str(), "HELD"),
            (evenings[1].as_str(), "BOOKED")
        ]
    );
    let left = slot_ids(&t, "r-vault").await;
    assert!(left.contains(&evenings[0]) && left.contains(&evenings[1]));
    assert_eq!(left.iter().filter(|id| id.ends_with("T1800")).count(), 2);
    assert_status(&t.confirm(&held, "u-alice").await, 200, None);
}

pub async fn no_game_is_offered_on_a_closed_date(t: TestApp) {
    the_vault_is_open(&t).await;
    t.put_schedule("r-vault", daily(&["10:00", "18:00"])).await;
    let ids = slot_ids(&t, "r-vault").await;
    // A day in the middle of the horizon, as the ids give it (local date YYYYMMDD).
    let day = ids[ids.len() / 2].split('.').nth(1).unwrap()[..8].to_owned();
    let date = format!("{}-{}-{}", &day[..4], &day[4..6], &day[6..8]);
    let mut closed = daily(&["10:00", "18:00"]);
    closed["closed"] = json!([{ "from": date, "to": date, "reason": "Staff party" }]);
    let published = t.put_schedule("r-vault", closed).await;
    assert_eq!(published.body["removed"], 2);
    let left = slot_ids(&t, "r-vault").await;
    assert_eq!(left.len(), ids.len() - 2);
    assert!(!left.iter().any(|id| id.contains(&format!(".{day}T"))));
}

pub async fn a_schedule_with_overlapping_games_is_refused_naming_the_clash(t: TestApp) {
    the_vault_is_open(&t).await;
    let refused = t.put_schedule("r-vault", daily(&["10:00", "10:30"])).await;
    assert_status(&refused, 422, Some("VALIDATION_ERROR"));
    let message = refused.body["message"].as_str().unwrap();
    assert!(
        message.contains("10:00") && message.contains("10:30"),
        "{message}"
    );
    assert!(slot_ids(&t, "r-vault").await.is_empty(), "nothing was made");
    assert_status(
        &t.get("/rooms/r-vault/schedule").await,
        404,
        Some("SCHEDULE_NOT_FOUND"),
    );
    let no_room = t.put_schedule("r-nowhere", daily(&["10:00"])).await;
    assert_status(&no_room, 404, Some("ROOM_NOT_FOUND"));
    let anonymous = t
        .send(Event::with_json(
            Method::PUT,
            "/rooms/r-vault/schedule",
            daily(&["10:00"]),
        ))
        .await;
    assert_status(&anonymous, 401, Some("UNAUTHENTICATED"));
}

pub async fn a_room_moved_to_another_time_zone_has_its_free_slots_moved(t: TestApp) {
    let mut rules = vault();
    rules["time_zone"] = json!("UTC");
    rules["max_advance_days"] = json!(5);
    assert_status(&t.put_room("r-vault", rules.clone()).await, 201, None);
    let first = t.put_schedule("r-vault", daily(&["10:00"])).await;
    let before = t.slots("r-vault", None).await;
    assert!(
        before
            .iter()
            .all(|s| s["start_time"].as_str().unwrap().ends_with("T10:00:00Z"))
    );
    rules["time_zone"] = json!("Asia/Kolkata");
    assert_status(&t.put_room("r-vault", rules).await, 200, None);
    let moved = t.put_schedule("r-vault", daily(&["10:00"])).await;
    assert_status(&moved, 200, None);
    assert!(moved.body["updated"].as_u64().unwrap() >= first.body["created"].as_u64().unwrap() - 1);
    let after = t.slots("r-vault", None).await;
    assert!(!after.is_empty());
    assert!(
        after
            .iter()
            .all(|s| s["start_time"].as_str().unwrap().ends_with("T04:30:00Z")),
        "10:00 in Kolkata is 04:30 UTC: {after:?}"
    );
}

pub async fn a_new_game_is_never_offered_over_a_kept_slot(t: TestApp) {
    // The demo room r-101 (UTC, 90-minute games) has s-1 at 10:00 tomorrow; someone holds it.
    let held = t.hold("s-1", "u-alice").await;
    let start = t.slot("r-101", "s-1", None).await["start_time"].clone();
    let published = t.put_schedule("r-101", daily(&["10:00"])).await;
    assert_status(&published, 200, None);
    assert_eq!(published.body["skipped"], 1, "{:?}", published.body);
    assert_eq!(published.body["kept"][0]["slot_id"], "s-1");
    let at_that_time: Vec<String> = t
        .slots("r-101", None)
        .await
        .into_iter()
        .filter(|s| s["start_time"] == start)
        .map(|s| s["slot_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(at_that_time, ["s-1"], "one game at a time in a room");
    assert_status(&t.confirm(&held, "u-alice").await, 200, None);
}

// ── Booking rules and the day sheet ─────────────────────────────────────────────────────────

/// The Vault open with `rules` over its defaults, playing daily at 10:00 and 18:00 (Berlin);
/// returns its slot ids from now on.
async fn the_vault_plays_daily(t: &TestApp, rules: serde_json::Value) -> Vec<String> {
    let mut room = vault();
    room["max_advance_days"] = json!(14);
    for (field, value) in rules.as_object().unwrap() {
        room[field] = value.clone();
    }
    assert_status(&t.put_room("r-vault", room).await, 201, None);
    let published = t.put_schedule("r-vault", daily(&["10:00", "18:00"])).await;
    assert_status(&published, 200, None);
    slot_ids(t, "r-vault").await
}

pub async fn a_party_outside_the_rooms_players_is_refused_and_looked_up_with_its_size(t: TestApp) {
    let slots = the_vault_plays_daily(&t, json!({})).await;
    for players in [1, 7] {
        let refused = t.create_hold_for(&slots[0], "u-alice", players).await;
        assert_status(&refused, 422, Some("VALIDATION_ERROR"));
        assert_eq!(
            refused.body["message"],
            format!("`players` must be from 2 to 6 for this room, got {players}.")
        );
    }
    assert_eq!(t.status_of("r-vault", &slots[0], None).await, "AVAILABLE");
    let four = t.create_hold_for(&slots[0], "u-alice", 4).await;
    assert_status(&four, 201, None);
    let four = four.body["hold_id"].as_str().unwrap();
    assert_eq!(t.look_up(four, "u-alice").await.body["players"], 4);
    // Without `players`, the party is the room's minimum.
    let default = t.hold(&slots[1], "u-alice").await;
    assert_eq!(t.look_up(&default, "u-alice").await.body["players"], 2);
    let mine = t.bookings_of("u-alice").await;
    let mut parties: Vec<(String, u64)> = mine.body["holds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["hold_id"].as_str().unwrap().to_owned(),
                h["players"].as_u64().unwrap(),
            )
        })
        .collect();
    parties.sort_by_key(|(_, players)| *players);
    assert_eq!(parties, [(default, 2), (four.to_owned(), 4)]);
}

pub async fn a_slot_inside_the_rooms_notice_period_is_closed_and_cannot_be_held(t: TestApp) {
    let slots = the_vault_plays_daily(&t, json!({ "min_notice_minutes": 120 })).await;
    let game = &slots[0];
    t.advance_to_before_start("r-vault", game, 2 * 3600 + 60)
        .await;
    assert_eq!(t.status_of("r-vault", game, None).await, "AVAILABLE");
    // Held in time, it can still be confirmed inside the notice period.
    let hold_id = t.hold(game, "u-alice").await;
    t.advance(120);
    assert_status(&t.confirm(&hold_id, "u-alice").await, 200, None);
    let next = &slots[1];
    t.advance_to_before_start("r-vault", next, 3600).await;
    assert_eq!(t.status_of("r-vault", next, None).await, "CLOSED");
    let late = t.create_hold(next, "u-bob").await;
    assert_status(&late, 409, Some("TOO_LATE_TO_BOOK"));
}

pub async fn a_change_of_the_rooms_rules_applies_to_its_slots_at_once(t: TestApp) {
    let slots = the_vault_plays_daily(&t, json!({})).await;
    let mut stricter = vault();
    stricter["max_advance_days"] = json!(14);
    stricter["min_notice_minutes"] = json!(43200);
    stricter["max_players"] = json!(3);
    assert_status(&t.put_room("r-vault", stricter).await, 200, None);
    assert_eq!(t.status_of("r-vault", &slots[0], None).await, "CLOSED");
    assert_status(
        &t.create_hold(&slots[0], "u-alice").await,
        409,
        Some("TOO_LATE_TO_BOOK"),
    );
    let mut bigger_parties_only = vault();
    bigger_parties_only["max_advance_days"] = json!(14);
    bigger_parties_only["min_players"] = json!(4);
    assert_status(&t.put_room("r-vault", bigger_parties_only).await, 200, None);
    assert_eq!(t.status_of("r-vault", &slots[0], None).await, "AVAILABLE");
    assert_status(
        &t.create_hold_for(&slots[0], "u-alice", 3).await,
        422,
        Some("VALIDATION_ERROR"),
    );
    let hold_id = t.hold(&slots[0], "u-alice").await;
    assert_eq!(t.look_up(&hold_id, "u-alice").await.body["players"], 4);
}

pub async fn the_rooms_cancel_cut_off_binds_players_but_not_operators(t: TestApp) {
    // Games are at most 16 hours apart, so the first starts within the day's cut-off.
    let slots = the_vault_plays_daily(&t, json!({ "cancel_cutoff_minutes": 1440 })).await;
    let hold_id = t.book(&slots[0], "u-alice", Some(3)).await;
    assert_status(
        &t.cancel(&hold_id, "u-alice").await,
        409,
        Some("CANCEL_CUTOFF"),
    );
    let cancelled = t.operator_cancel(&hold_id, "  Flooded basement  ").await;
    assert_status(&cancelled, 200, None);
    assert_eq!(
        cancelled.body,
        json!({ "hold_id": hold_id, "status": "CANCELLED" })
    );
    assert_eq!(t.status_of("r-vault", &slots[0], None).await, "AVAILABLE");
    assert_eq!(
        t.look_up(&hold_id, "u-alice").await.body["status"],
        "CANCELLED"
    );
    // Again: answered as done.
    assert_status(&t.operator_cancel(&hold_id, "Flooded").await, 200, None);
}

pub async fn an_operators_cancellation_needs_the_operator_and_a_reason(t: TestApp) {
    let hold_id = t.book("s-1", "u-alice", None).await;
    let path = format!("/holds/{hold_id}/cancel");
    let without_reason = t
        .send(Event::post(&path, json!({})).bearer(crate::harness::OPERATOR_TOKEN))
        .await;
    assert_status(&without_reason, 422, Some("VALIDATION_ERROR"));
    assert!(
        without_reason.body["message"]
            .as_str()
            .unwrap()
            .contains("`reason`"),
        "{without_reason:?}"
    );
    let wrong = t
        .send(Event::post(&path, json!({ "reason": "x" })).bearer("not-the-operator-token"))
        .await;
    assert_status(&wrong, 403, Some("OPERATOR_ONLY"));
    // Neither a user nor credentials: a player's request missing its user id.
    let anonymous = t.post(&path, json!({ "reason": "x" })).await;
    assert_status(&anonymous, 422, Some("VALIDATION_ERROR"));
    assert_eq!(t.status_of("r-101", "s-1", None).await, "BOOKED");
}

pub async fn the_day_sheet_shows_the_rooms_bookings_in_start_order_to_operators(t: TestApp) {
    let slots = the_vault_plays_daily(&t, json!({})).await;
    // A whole local day: the two games of the date of the third game.
    let date = slots[2].split('.').nth(1).unwrap()[..8].to_owned();
    let day: Vec<&String> = slots.iter().filter(|s| s.contains(&date)).collect();
    assert_eq!(day.len(), 2, "{slots:?}");
    let evening = t.book(day[1], "u-alice", Some(3)).await;
    let morning = t.book(day[0], "u-bob", None).await;
    assert_status(&t.cancel(&morning, "u-bob").await, 200, None);
    t.hold(&slots[0], "u-demo").await; // held, not booked: not on the sheet
    let listed = t.slots("r-vault", None).await;
    let start_of = |id: &str| -> String {
        listed.iter().find(|s| s["slot_id"] == id).unwrap()["start_time"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let local_start_of = |id: &str| -> String {
        listed.iter().find(|s| s["slot_id"] == id).unwrap()["local_start"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let from: chrono::DateTime<chrono::Utc> = start_of(day[0]).parse().unwrap();
    let from = (from - chrono::Duration::hours(1)).to_rfc3339();
    let sheet = t
        .day_sheet("r-vault", &format!("?from={}", from.replace('+', "%2B")))
        .await;
    assert_status(&sheet, 200, None);
    assert_eq!(sheet.body["time_zone"], "Europe/Berlin");
    let bookings = sheet.body["bookings"].as_array().unwrap();
    assert_eq!(bookings.len(), 2, "{sheet:?}");
    let (first, second) = (&bookings[0], &bookings[1]);
    assert_eq!(
        (&first["hold_id"], &first["slot_id"], &first["user_id"]),
        (&json!(morning), &json!(day[0]), &json!("u-bob"))
    );
    assert_eq!(
        (&first["status"], &first["players"], &first["cancelled_by"]),
        (&json!("CANCELLED"), &json!(2), &json!("u-bob"))
    );
    assert_eq!(
        (&second["hold_id"], &second["status"], &second["players"]),
        (&json!(evening), &json!("CONFIRMED"), &json!(3))
    );
    assert_eq!(second["start_time"], json!(start_of(day[1])));
    assert_eq!(second["local_start"], json!(local_start_of(day[1])));
    assert!(second["confirmed_at"].as_str().unwrap().ends_with('Z'));
    assert!(second.get("cancelled_at").is_none());

    // Without a window: today in the venue's zone.
    let today = t.day_sheet("r-vault", "").await;
    assert_status(&today, 200, None);
    let bound = |name: &str| -> chrono::DateTime<chrono::Utc> {
        today.body[name].as_str().unwrap().parse().unwrap()
    };
    let hours = (bound("to") - bound("from")).num_hours();
    assert!((23..=25).contains(&hours), "{today:?}");
    assert!(bound("from") <= t.clock.now() && t.clock.now() < bound("to"));

    let anonymous = t.get("/rooms/r-vault/bookings").await;
    assert_status(&anonymous, 401, Some("UNAUTHENTICATED"));
    assert_status(
        &t.day_sheet("r-nowhere", "").await,
        404,
        Some("ROOM_NOT_FOUND"),
    );
    assert_status(
        &t.day_sheet(
            "r-vault",
            "?from=2026-12-01T00:00:00Z&to=2026-11-30T00:00:00Z",
        )
        .await,
        422,
        Some("VALIDATION_ERROR"),
    );
}

pub async fn with_a_jwt_a_new_player_needs_no_provisioning(t: TestApp) {
    let first_hold = Event::post(
        "/holds",
        json!({ "slot_id": "s-3", "user_id": "u-newcomer" }),
    )
    .authenticated_as("u-newcomer");
    let created = t.send(first_hold).await;
    assert_status(&created, 201, None);
    let hold_id = created.body["hold_id"].as_str().unwrap().to_owned();
    let confirm = Event::post(
        &format!("/holds/{hold_id}/confirm"),
        json!({ "user_id": "u-newcomer" }),
    )
    .authenticated_as("u-newcomer");
    assert_status(&t.send(confirm).await, 200, None);
    // Without a verified identity, an unknown user is still refused.
    let anonymous = t.create_hold("s-4", "u-stranger").await;
    assert_status(&anonymous, 404, Some("USER_NOT_FOUND"));
}

/// Generates, for one transport, one `#[tokio::test]` per scenario and store, named
/// `<transport>::<store>::<scenario>`.
macro_rules! on_both_stores {
    ($via:ident as $transport:ident: $($scenario:ident),* $(,)?) => {
        mod $transport {
            mod sqlite {
                use crate::harness::{StoreKind, TestApp, Via};
                $(
                    #[tokio::test]
                    async fn $scenario() {
                        let t = TestApp::start(Via::$via, StoreKind::Sqlite, &[]).await;
                        crate::contract::$scenario(t).await
                    }
                )*
            }
            mod dynamodb {
                use crate::harness::{StoreKind, TestApp, Via};
                $(
                    #[tokio::test]
                    async fn $scenario() {
                        let t = TestApp::start(Via::$via, StoreKind::Dynamodb, &[]).await;
                        crate::contract::$scenario(t).await
                    }
                )*
            }
        }
    };
}

/// Each scenario is named once, in the group of what it needs; every group runs through the
/// handlers, the clock-moving ones also over loopback (the in-process server shares the manual
/// clock), the API Gateway ones also through the function binaries (which run on the system
/// clock, so nothing there moves time).
macro_rules! scenarios {
    (
        everywhere: [$($any:ident),* $(,)?],
        moving_the_clock: [$($clock:ident),* $(,)?],
        api_gateway_events: [$($gateway:ident),* $(,)?] $(,)?
    ) => {
        on_both_stores!(Handlers as handlers: $($any,)* $($clock,)* $($gateway,)*);
        on_both_stores!(Loopback as loopback: $($any,)* $($clock,)*);
        on_both_stores!(Runtime as runtime: $($any,)* $($gateway,)*);
    };
}

scenarios! {
    everywhere: [
        listing_a_fresh_room_shows_every_slot_available_in_start_time_order,
        confirm_books_the_slot_for_everyone,
        release_frees_the_slot_at_once,
        a_second_user_holding_a_held_slot_gets_409,
        the_holder_holding_the_same_slot_again_gets_409,
        holding_an_unknown_slot_or_as_an_unknown_user_gets_404,
        confirm_and_release_of_an_unknown_hold_return_410,
        confirming_another_users_hold_returns_403_and_leaves_it_held,
        releasing_another_users_hold_returns_403_and_leaves_it_held,
        releasing_twice_returns_200,
        a_release_retried_after_the_slot_was_held_again_still_returns_200,
        releasing_a_confirmed_hold_returns_409_and_keeps_the_booking,
        confirming_a_released_hold_returns_410,
        listing_tells_my_holds_from_other_users_holds,
        listing_an_unknown_room_returns_404,
        listing_only_shows_the_asked_rooms_slots,
        the_booking_flow_from_listing_to_booking_and_release,
        client_errors_come_back_as_json_with_their_codes,
        rooms_are_listed_with_their_name_and_capacity,
        a_room_is_listed_page_by_page_with_a_cursor,
        a_cursor_of_another_room_a_garbage_cursor_or_a_bad_limit_is_422,
        from_and_to_select_slots_by_start_time,
        another_users_extension_is_403_and_does_not_use_up_the_owners,
        extending_a_confirmed_or_released_hold_is_409,
        a_look_up_is_for_the_owner_only_and_needs_a_user_id,
        a_repeated_idempotency_key_returns_the_first_hold_and_creates_nothing,
        cancelling_a_booking_frees_the_slot_for_anyone_at_once,
        only_the_owner_cancels_and_only_a_booking,
        an_operator_creates_a_room_and_replaces_it_and_anyone_reads_it,
        operator_routes_need_an_operators_token,
        a_room_with_a_rule_out_of_range_is_refused_naming_it,
        publishing_a_schedule_makes_its_slots_and_publishing_it_again_changes_nothing,
        a_new_schedule_removes_free_slots_and_keeps_held_and_booked_ones,
        no_game_is_offered_on_a_closed_date,
        a_schedule_with_overlapping_games_is_refused_naming_the_clash,
        a_room_moved_to_another_time_zone_has_its_free_slots_moved,
        a_new_game_is_never_offered_over_a_kept_slot,
        a_party_outside_the_rooms_players_is_refused_and_looked_up_with_its_size,
        a_change_of_the_rooms_rules_applies_to_its_slots_at_once,
        the_rooms_cancel_cut_off_binds_players_but_not_operators,
        an_operators_cancellation_needs_the_operator_and_a_reason,
        the_day_sheet_shows_the_rooms_bookings_in_start_order_to_operators,
    ],
    // The scenario moves the manual clock, or races requests at one instant (the function
    // binaries run on the system clock and answer one request at a time).
    moving_the_clock: [
        extending_a_hold_moves_its_expiry_once,
        extending_an_expired_hold_is_410,
        six_simultaneous_extensions_have_exactly_one_winner,
        a_hold_is_looked_up_by_its_owner_with_its_status_and_seconds_left,
        a_look_up_tells_expired_released_and_cancelled_holds,
        my_bookings_are_my_live_holds_and_bookings_newest_first,
        a_started_slot_cannot_be_held_and_is_left_out_of_the_listing_unless_asked,
        a_hold_cannot_be_confirmed_or_extended_once_its_slot_started,
        an_idempotency_key_is_forgotten_after_24_hours,
        ten_simultaneous_duplicates_make_one_hold,
        a_booking_cannot_be_cancelled_once_its_slot_started,
        create_returns_201_with_the_hold_and_its_location,
        holding_a_booked_slot_gets_409_even_after_the_hold_would_have_expired,
        an_expired_hold_no_longer_blocks_the_slot,
        confirm_returns_410_when_the_hold_expired,
        confirm_just_before_expiry_succeeds,
        an_expired_hold_taken_over_by_another_user_cannot_be_confirmed_by_its_first_owner,
        release_returns_410_when_the_hold_expired,
        confirming_twice_returns_200_with_the_same_body,
        a_release_retried_after_the_hold_would_have_expired_returns_410,
        a_slot_inside_the_rooms_notice_period_is_closed_and_cannot_be_held,
    ],
    // JWT authorizer claims, base64 bodies and the stage exist only in API Gateway's events.
    api_gateway_events: [
        with_a_jwt_a_new_player_needs_no_provisioning,
        with_a_jwt_an_operator_is_a_caller_with_the_operator_scope,
        with_a_jwt_the_claimed_user_must_be_the_authenticated_one,
        with_a_jwt_the_listing_is_seen_as_the_authenticated_user,
        with_a_jwt_the_token_subject_is_the_caller_on_every_route,
        base64_bodies_behind_a_named_stage_are_read_as_json,
    ],
}
