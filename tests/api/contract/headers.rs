//! The headers of every JSON answer: `X-Content-Type-Options: nosniff` (a browser never reads
//! one as another type) and `Cache-Control: no-store` (no cache keeps one caller's view).

use lambda_http::http::Method;
use serde_json::json;

use super::vault;
use crate::harness::{Event, Reply, TestApp, assert_status};

pub async fn every_json_answer_success_or_error_carries_nosniff_and_no_store(t: TestApp) {
    let hold = t.create_hold("s-1", "u-alice").await;
    let hold_id = hold.body["hold_id"].as_str().unwrap_or_default().to_owned();
    let answers: Vec<(&str, Reply, u16)> = vec![
        ("list rooms", t.get("/rooms").await, 200),
        ("list slots", t.list("r-101", Some("u-alice")).await, 200),
        ("hold", hold, 201),
        ("hold it again", t.create_hold("s-1", "u-bob").await, 409),
        ("look it up", t.look_up(&hold_id, "u-alice").await, 200),
        ("someone else's", t.look_up(&hold_id, "u-bob").await, 403),
        ("unknown room", t.get("/slots?room_id=r-999").await, 404),
        (
            "bad body",
            t.post("/holds", json!({ "slot_id": 7, "user_id": "u-bob" }))
                .await,
            422,
        ),
        (
            "operator route without credentials",
            t.send(Event::with_json(Method::PUT, "/rooms/r-vault", vault()))
                .await,
            401,
        ),
        (
            "body too large",
            t.post("/holds", json!({ "pad": "x".repeat(70_000) })).await,
            413,
        ),
    ];
    for (what, reply, status) in answers {
        assert_status(&reply, status, None);
        assert_eq!(
            (
                reply.header("x-content-type-options"),
                reply.header("cache-control")
            ),
            (Some("nosniff"), Some("no-store")),
            "{what}: {reply:?}"
        );
    }
}
