//! Whole flows, as a client walks them: from listing to booking and release, and the contract's
//! client errors, each as JSON with its code.

use serde_json::json;

use crate::harness::{Event, TestApp, assert_status, booking_fields_aside};

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
        booking_fields_aside(&confirmed.body),
        json!({ "hold_id": hold, "slot_id": first, "status": "CONFIRMED" })
    );
    let again = t
        .post(
            &format!("/holds/{hold}/confirm"),
            json!({ "user_id": "u-demo" }),
        )
        .await;
    // Idempotent: the same booking and reference; the manage key was for the first answer only.
    let mut once = confirmed.body.clone();
    once.as_object_mut().unwrap().remove("manage_key");
    assert_eq!(
        (again.status.as_u16(), &again.body),
        (200, &once),
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
