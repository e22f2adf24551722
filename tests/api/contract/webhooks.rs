//! The webhook routes through every transport: an operator registers an endpoint (its secret
//! shown once), lists it (no secret), reads its deliveries, enables it again after a `410`
//! disabled it, and deletes it; a player may not; an unknown id is 404. (Deliveries themselves: `webhooks.rs`, through the server's binary.) The
//! URL is a public address literal, so registration resolves nothing; no event happens while it
//! exists, so nothing is sent to it.

use reqwest::Method;
use serde_json::json;

use crate::harness::{Event, OPERATOR_TOKEN, TestApp, assert_status};

pub async fn an_operator_registers_lists_and_deletes_a_webhook_whose_secret_is_shown_once(
    t: TestApp,
) {
    let body = json!({
        "url": "https://93.184.216.34/escape-room",
        "events": ["booking.confirmed", "booking.cancelled"]
    });
    // A player (no operator token) may not.
    let refused = t.send(Event::post("/webhooks", body.clone())).await;
    assert_status(&refused, 401, Some("UNAUTHENTICATED"));

    let created = t
        .send(Event::post("/webhooks", body).bearer(OPERATOR_TOKEN))
        .await;
    assert_status(&created, 201, None);
    let id = created.body["webhook_id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("wh_") && id.len() == 35, "{id}");
    let secret = created.body["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"));
    assert_eq!(
        created.body["events"],
        json!(["booking.confirmed", "booking.cancelled"])
    );

    let listed = t.send(Event::get("/webhooks").bearer(OPERATOR_TOKEN)).await;
    assert_status(&listed, 200, None);
    assert_eq!(listed.body["webhooks"][0]["webhook_id"], json!(id));
    assert!(!listed.body.to_string().contains(&secret), "never listed");

    let deliveries_path = format!("/webhooks/{id}/deliveries");
    let deliveries = t
        .send(Event::get(&deliveries_path).bearer(OPERATOR_TOKEN))
        .await;
    assert_status(&deliveries, 200, None);
    assert_eq!(deliveries.body["deliveries"], json!([]));

    let path = format!("/webhooks/{id}");
    let deleted = t
        .send(Event::new(Method::DELETE, &path).bearer(OPERATOR_TOKEN))
        .await;
    assert_status(&deleted, 200, None);
    let again = t
        .send(Event::new(Method::DELETE, &path).bearer(OPERATOR_TOKEN))
        .await;
    assert_status(&again, 404, Some("WEBHOOK_NOT_FOUND"));
    let gone = t
        .send(Event::get(&deliveries_path).bearer(OPERATOR_TOKEN))
        .await;
    assert_status(&gone, 404, Some("WEBHOOK_NOT_FOUND"));
    // A malformed id, and an event type that does not exist.
    let malformed = t
        .send(Event::new(Method::DELETE, "/webhooks/nope").bearer(OPERATOR_TOKEN))
        .await;
    assert_status(&malformed, 422, Some("VALIDATION_ERROR"));
    let unknown_type = t
        .send(
            Event::post(
                "/webhooks",
                json!({ "url": "https://93.184.216.34/x", "events": ["booking.created"] }),
            )
            .bearer(OPERATOR_TOKEN),
        )
        .await;
    assert_status(&unknown_type, 422, Some("VALIDATION_ERROR"));
}

pub async fn an_operator_enables_a_webhook_a_410_disabled_and_only_an_operator_may(t: TestApp) {
    let created = t
        .send(
            Event::post(
                "/webhooks",
                json!({ "url": "https://93.184.216.34/escape-room", "events": ["booking.confirmed"] }),
            )
            .bearer(OPERATOR_TOKEN),
        )
        .await;
    assert_status(&created, 201, None);
    let id = created.body["webhook_id"].as_str().unwrap().to_owned();
    let secret = created.body["secret"].as_str().unwrap().to_owned();
    let path = format!("/webhooks/{id}/enable");
    let enable = || Event::new(Method::POST, &path).bearer(OPERATOR_TOKEN);
    let disabled = |listed: &crate::harness::Reply| listed.body["webhooks"][0]["disabled"].clone();

    // A player (no operator token) may not.
    let refused = t.send(Event::new(Method::POST, &path)).await;
    assert_status(&refused, 401, Some("UNAUTHENTICATED"));
    // Enabling an enabled endpoint changes nothing.
    let enabled = t.send(enable()).await;
    assert_status(&enabled, 200, None);
    assert_eq!(enabled.body["webhook_id"], json!(id));
    assert_eq!(enabled.body["disabled"], false);
    assert_eq!(enabled.body["events"], json!(["booking.confirmed"]));
    assert!(
        !enabled.body.to_string().contains(&secret),
        "never shown again"
    );

    // Disabled as a receiver's 410 disables it (the store's own write), then enabled.
    if let Some(store) = t.store() {
        store.disable_webhook(&id).await.unwrap();
        let listed = t.send(Event::get("/webhooks").bearer(OPERATOR_TOKEN)).await;
        assert_eq!(disabled(&listed), true);
        let enabled = t.send(enable()).await;
        assert_status(&enabled, 200, None);
        assert_eq!(enabled.body["disabled"], false);
        let listed = t.send(Event::get("/webhooks").bearer(OPERATOR_TOKEN)).await;
        assert_eq!(disabled(&listed), false);
        let kept = store.get_webhook(&id).await.unwrap().unwrap();
        assert_eq!(
            (kept.disabled, kept.secret.as_str()),
            (false, secret.as_str())
        );
    }

    // Unknown, deleted and malformed ids.
    let unknown = t
        .send(
            Event::new(
                Method::POST,
                "/webhooks/wh_00000000000000000000000000000000/enable",
            )
            .bearer(OPERATOR_TOKEN),
        )
        .await;
    assert_status(&unknown, 404, Some("WEBHOOK_NOT_FOUND"));
    let deleted = t
        .send(Event::new(Method::DELETE, &format!("/webhooks/{id}")).bearer(OPERATOR_TOKEN))
        .await;
    assert_status(&deleted, 200, None);
    assert_status(&t.send(enable()).await, 404, Some("WEBHOOK_NOT_FOUND"));
    let malformed = t
        .send(Event::new(Method::POST, "/webhooks/nope/enable").bearer(OPERATOR_TOKEN))
        .await;
    assert_status(&malformed, 422, Some("VALIDATION_ERROR"));
}
