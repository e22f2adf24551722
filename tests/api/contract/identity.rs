//! Who the caller is: with API Gateway's JWT authorizer the token's `sub` is the caller on every
//! route (and a new player needs no provisioning); API Gateway's base64 bodies and named stage.

use lambda_http::http::StatusCode;
use serde_json::json;

use crate::harness::{Event, STAGE, TestApp, assert_status};

pub async fn with_a_jwt_the_claimed_user_must_be_the_authenticated_one(t: TestApp) {
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
