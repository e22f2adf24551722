//! The manage link on the server's binary over real TCP: guessed keys spend the address's
//! `"auth"` budget until 429, and neither a contact nor a manage key ever reaches the server's
//! log (its output is captured and searched).

use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{OPERATOR_TOKEN, poll_until};
use crate::processes::ServerProcess;

async fn json_of(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// The demo venue's r-101 slots that are free, from the listing.
async fn free_slots(server: &ServerProcess) -> Vec<String> {
    let url = server.url("/slots?room_id=r-101&limit=20");
    let (_, page) = json_of(reqwest::get(url).await.unwrap()).await;
    page["slots"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["status"] == "AVAILABLE")
        .map(|s| s["slot_id"].as_str().unwrap().to_owned())
        .collect()
}

/// Holds and confirms `slot` for `user` with a contact: the confirm's answer.
async fn book(server: &ServerProcess, slot: &str, user: &str, contact: &Value) -> Value {
    let client = reqwest::Client::new();
    let (status, held) = json_of(
        client
            .post(server.url("/holds"))
            .json(&json!({ "slot_id": slot, "user_id": user }))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{held}");
    let hold_id = held["hold_id"].as_str().unwrap();
    let (status, confirmed) = json_of(
        client
            .post(server.url(&format!("/holds/{hold_id}/confirm")))
            .json(&json!({ "user_id": user, "contact": contact }))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{confirmed}");
    confirmed
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guessed_manage_keys_spend_the_auth_limit_until_429() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("guesses.db");
    let server = ServerProcess::start_with(&db, &[("RATE_LIMIT", "on")]).await;
    let contact = json!({ "name": "Ada", "email": "ada@example.org" });
    let slot = free_slots(&server).await.remove(0);
    let booking = book(&server, &slot, "u-demo", &contact).await;
    let reference = booking["reference"].as_str().unwrap();
    let url = server.url(&format!("/bookings/{reference}"));
    let guesser = reqwest::Client::builder()
        .local_address("127.0.0.2".parse::<IpAddr>().unwrap())
        .build()
        .unwrap();
    // The default: 10 refused credentials a minute; every key is counted.
    for guess in 0..10 {
        let key = format!("{guess:0>43}");
        let answer = guesser.get(&url).bearer_auth(&key).send().await.unwrap();
        assert_eq!(answer.status(), StatusCode::NOT_FOUND, "guess {guess}");
        let remaining = answer.headers()["ratelimit"].to_str().unwrap().to_owned();
        assert_eq!(remaining, format!("\"auth\";r={}", 9 - guess));
    }
    // Over the budget, even the right key is refused from that address.
    let right = booking["manage_key"].as_str().unwrap();
    let over = guesser.get(&url).bearer_auth(right).send().await.unwrap();
    assert_eq!(over.status(), StatusCode::TOO_MANY_REQUESTS);
    // Another address with the right key is served.
    let (status, opened) = json_of(
        reqwest::Client::new()
            .get(&url)
            .bearer_auth(right)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{opened}");
    assert_eq!(opened["reference"], json!(reference));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn neither_a_contact_nor_a_manage_key_nor_a_feed_key_reaches_the_servers_log() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("log.db");
    let log = Arc::new(Mutex::new(Vec::new()));
    // The most verbose level the server has: whatever any layer logs is searched.
    let server = ServerProcess::start_logging(
        &db,
        &[("RUST_LOG", "trace"), ("OPERATOR_TOKEN", OPERATOR_TOKEN)],
        log.clone(),
    )
    .await;
    let contact = json!({
        "name": "Zebulon Quaxworthy",
        "email": "zebulon.quaxworthy@example.org",
        "phone": "+4915712345678"
    });
    let slots = free_slots(&server).await;
    let booking = book(&server, &slots[0], "u-demo", &contact).await;
    let (reference, key) = (
        booking["reference"].as_str().unwrap(),
        booking["manage_key"].as_str().unwrap(),
    );
    let hold_id = booking["hold_id"].as_str().unwrap();
    let client = reqwest::Client::new();
    // Every way the contact is read or refused: the look-ups, the manage link, the day sheet,
    // a contact refused (its text echoed to its sender only), a cancel by the link.
    let reads = [
        client.get(server.url(&format!("/holds/{hold_id}?user_id=u-demo"))),
        client.get(server.url("/users/u-demo/holds")),
        client
            .get(server.url(&format!("/bookings/{reference}")))
            .bearer_auth(key),
        client
            .get(server.url("/rooms/r-101/bookings"))
            .bearer_auth(OPERATOR_TOKEN),
    ];
    for read in reads {
        assert_eq!(read.send().await.unwrap().status(), StatusCode::OK);
    }
    // The staff feed: its key in its URL's query, the contact in its events.
    let rotated = client
        .post(server.url("/rooms/r-101/calendar-feed/rotate"))
        .bearer_auth(OPERATOR_TOKEN)
        .send()
        .await
        .unwrap();
    let (_, rotated) = json_of(rotated).await;
    let feed_url = rotated["url"].as_str().unwrap().to_owned();
    let feed_key = feed_url.rsplit_once("key=").unwrap().1.to_owned();
    let feed = client.get(server.url(&feed_url)).send().await.unwrap();
    assert_eq!(feed.status(), StatusCode::OK);
    assert!(feed.text().await.unwrap().contains("Zebulon Quaxworthy"));
    let held = client
        .post(server.url("/holds"))
        .json(&json!({ "slot_id": slots[1], "user_id": "u-demo" }))
        .send()
        .await
        .unwrap();
    let (_, held) = json_of(held).await;
    let mut refused = contact.clone();
    refused["email"] = json!("zebulon.quaxworthy at example.org");
    let refused = client
        .post(server.url(&format!(
            "/holds/{}/confirm",
            held["hold_id"].as_str().unwrap()
        )))
        .json(&json!({ "user_id": "u-demo", "contact": refused }))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let cancelled = client
        .post(server.url(&format!("/bookings/{reference}/cancel")))
        .bearer_auth(key)
        .send()
        .await
        .unwrap();
    assert_eq!(cancelled.status(), StatusCode::OK);

    // The log has every request's line (the cancel's last)…
    let lines = poll_until(
        "the cancel's log line",
        std::time::Duration::from_secs(10),
        std::time::Duration::from_millis(20),
        || {
            let log = log.clone();
            let reference = reference.to_owned();
            async move {
                let lines = log.lock().unwrap().clone();
                lines
                    .iter()
                    .any(|l| l.contains(&format!("/bookings/{reference}/cancel")))
                    .then_some(lines)
            }
        },
    )
    .await;
    // …and none of the contact's details, nor the key.
    let text = lines.join("\n");
    for secret in [
        "Zebulon",
        "Quaxworthy",
        "quaxworthy",
        "4915712345678",
        key,
        &feed_key,
    ] {
        assert!(!text.contains(secret), "{secret} in the log:\n{text}");
    }
}
