//! Signed webhooks through the server's binary, on both stores, to a receiver on loopback that
//! verifies every delivery with the Standard Webhooks reference library
//! (`tests/webhooks/receiver.py`, `standardwebhooks` pinned in requirements-dev.txt): a confirm
//! and a cancellation reach it signed; a receiver that fails twice gets the same `webhook-id`
//! three times; `410` disables an endpoint; a hanging endpoint does not hold up another; an event
//! committed before a `kill -9` is delivered after the restart with its id; an endpoint disabled
//! by a `410` and enabled again by an operator gets the next event; a loopback URL is refused
//! without `WEBHOOK_ALLOW_INSECURE`.

use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use shared::domain::HoldId;
use shared::events::{EventId, EventKind};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::harness::{OPERATOR_TOKEN, StoreKind, operator_tokens_variable, seeded};
use crate::processes::{ServerProcess, free_port};
use crate::template::repo;

/// The receiver, started on `port`.
pub(crate) struct Receiver {
    _child: Child,
    pub(crate) base: String,
}

impl Receiver {
    pub(crate) async fn start(port: u16) -> Self {
        let python = repo().join(".venv/bin/python");
        assert!(
            python.is_file(),
            "{} is missing: `source scripts/dev-venv` first",
            python.display()
        );
        let mut child = Command::new(python)
            .arg(repo().join("tests/webhooks/receiver.py"))
            .arg(port.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let line = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
            .await
            .expect("the receiver starts")
            .unwrap()
            .unwrap();
        assert!(line.starts_with("listening on"), "{line}");
        Self {
            _child: child,
            base: format!("http://127.0.0.1:{port}"),
        }
    }

    pub(crate) async fn secret(&self, path: &str, secret: &str) {
        let answer = reqwest::Client::new()
            .post(format!("{}/_secrets", self.base))
            .json(&json!({ path: secret }))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 204);
    }

    async fn log(&self) -> Vec<Value> {
        reqwest::get(format!("{}/_log", self.base))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// The deliveries to `path`, once `done` holds of them (at most `within`).
    pub(crate) async fn wait_for(
        &self,
        path: &str,
        within: Duration,
        done: impl Fn(&[Value]) -> bool,
    ) -> Vec<Value> {
        let started = Instant::now();
        loop {
            let got: Vec<Value> = self
                .log()
                .await
                .into_iter()
                .filter(|d| d["path"] == path)
                .collect();
            if done(&got) || started.elapsed() > within {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// An operator's request to the server.
async fn operator(
    server: &ServerProcess,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let client = reqwest::Client::new();
    let mut request = client
        .request(method.parse().unwrap(), server.url(path))
        .bearer_auth(OPERATOR_TOKEN);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let answer = request.send().await.unwrap();
    let status = answer.status().as_u16();
    (status, answer.json().await.unwrap_or(Value::Null))
}

/// Registers `url` for both kinds; its secret goes to the receiver.
async fn register(server: &ServerProcess, receiver: &Receiver, path: &str) -> String {
    let url = format!("{}{path}", receiver.base);
    let (status, body) = operator(
        server,
        "POST",
        "/webhooks",
        Some(json!({ "url": url, "events": ["booking.confirmed", "booking.cancelled"] })),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let secret = body["secret"].as_str().unwrap();
    assert!(secret.starts_with("whsec_"));
    receiver.secret(path, secret).await;
    body["webhook_id"].as_str().unwrap().to_owned()
}

/// Holds and confirms `slot` for u-demo through the server; the hold's id.
async fn book(server: &ServerProcess, slot: &str) -> String {
    let client = reqwest::Client::new();
    let hold: Value = client
        .post(server.url("/holds"))
        .json(&json!({ "slot_id": slot, "user_id": "u-demo" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = hold["hold_id"].as_str().unwrap().to_owned();
    let confirmed = client
        .post(server.url(&format!("/holds/{id}/confirm")))
        .json(&json!({ "user_id": "u-demo" }))
        .send()
        .await
        .unwrap();
    assert_eq!(confirmed.status(), 200);
    id
}

async fn cancel(server: &ServerProcess, hold: &str) {
    let answer = reqwest::Client::new()
        .post(server.url(&format!("/holds/{hold}/cancel")))
        .json(&json!({ "user_id": "u-demo" }))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
}

fn env(seeded_env: &[(String, String)], more: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut env = seeded_env.to_vec();
    env.push(("OPERATOR_TOKENS".into(), operator_tokens_variable()));
    env.extend(more.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    env
}

async fn start(db: &std::path::Path, env: &[(String, String)]) -> ServerProcess {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    ServerProcess::start_with(db, &env).await
}

async fn every_delivery_is_signed_retried_with_its_id_and_a_gone_or_hanging_endpoint_holds_up_no_other(
    kind: StoreKind,
) {
    let seeded = seeded(kind, chrono::Utc::now(), &[]).await;
    let dir = tempfile::tempdir().unwrap();
    let env = env(
        &seeded.env,
        &[
            ("WEBHOOK_ALLOW_INSECURE", "1"),
            ("WEBHOOK_RETRY_SECONDS", "1,1,1"),
        ],
    );
    let server = start(&dir.path().join("unused.db"), &env).await;
    let receiver = Receiver::start(free_port()).await;
    register(&server, &receiver, "/hang/a").await;
    register(&server, &receiver, "/ok/a").await;
    register(&server, &receiver, "/flaky/a").await;
    let gone = register(&server, &receiver, "/gone/a").await;

    let confirmed_at = Instant::now();
    let hold = book(&server, "s-1").await;
    let confirmed = EventId::of(HoldId::parse(&hold).unwrap(), EventKind::Confirmed);
    // The good endpoint has it within a few seconds although another hangs for a minute.
    let ok = receiver
        .wait_for("/ok/a", Duration::from_secs(5), |d| !d.is_empty())
        .await;
    assert_eq!(ok.len(), 1, "{ok:?}");
    assert!(confirmed_at.elapsed() < Duration::from_secs(5));
    assert_eq!(ok[0]["webhook_id"], confirmed.as_str());
    assert_eq!(ok[0]["verified"], true);
    assert_eq!(ok[0]["type"], "booking.confirmed");

    cancel(&server, &hold).await;
    let cancelled = EventId::of(HoldId::parse(&hold).unwrap(), EventKind::Cancelled);
    let ok = receiver
        .wait_for("/ok/a", Duration::from_secs(5), |d| d.len() >= 2)
        .await;
    assert_eq!(ok.len(), 2, "{ok:?}");
    assert_eq!(ok[1]["webhook_id"], cancelled.as_str());
    assert_eq!(ok[1]["type"], "booking.cancelled");

    // Failed twice, then 200: the same webhook-id three times, every one signed.
    let flaky = receiver
        .wait_for("/flaky/a", Duration::from_secs(15), |d| {
            d.iter()
                .filter(|x| x["webhook_id"] == confirmed.as_str())
                .count()
                >= 3
        })
        .await;
    let of_confirm: Vec<_> = flaky
        .iter()
        .filter(|d| d["webhook_id"] == confirmed.as_str())
        .collect();
    assert_eq!(of_confirm.len(), 3, "{flaky:?}");
    assert!(of_confirm.iter().all(|d| d["verified"] == true));
    let statuses: Vec<_> = of_confirm.iter().map(|d| d["status"].clone()).collect();
    assert_eq!(statuses, vec![json!(500), json!(500), json!(200)]);

    // 410: the endpoint is disabled, its delivery failed for good, nothing more sent.
    let (_, listed) = operator(&server, "GET", "/webhooks", None).await;
    let entry = listed["webhooks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["webhook_id"] == gone.as_str())
        .unwrap()
        .clone();
    assert_eq!(entry["disabled"], true);
    assert!(entry.get("secret").is_none());
    let (status, deliveries) = operator(
        &server,
        "GET",
        &format!("/webhooks/{gone}/deliveries"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let first = &deliveries["deliveries"][0];
    assert_eq!(first["state"], "failed", "{deliveries}");
    let gone_got = receiver
        .wait_for("/gone/a", Duration::from_millis(500), |_| false)
        .await;
    assert_eq!(gone_got.len(), 1, "{gone_got:?}");
}

async fn an_event_committed_before_a_kill_9_is_delivered_after_the_restart_with_its_id(
    kind: StoreKind,
) {
    let seeded = seeded(kind, chrono::Utc::now(), &[]).await;
    let dir = tempfile::tempdir().unwrap();
    let env = env(
        &seeded.env,
        &[
            ("WEBHOOK_ALLOW_INSECURE", "1"),
            ("WEBHOOK_RETRY_SECONDS", "1"),
        ],
    );
    let db = dir.path().join("unused.db");
    let server = start(&db, &env).await;
    // The receiver is not listening yet: the first attempt fails.
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}/ok/k");
    let (status, body) = operator(
        &server,
        "POST",
        "/webhooks",
        Some(json!({ "url": url, "events": ["booking.confirmed"] })),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let secret = body["secret"].as_str().unwrap().to_owned();
    let hold = book(&server, "s-2").await;
    server.kill_9().await;

    let receiver = Receiver::start(port).await;
    receiver.secret("/ok/k", &secret).await;
    let _restarted = start(&db, &env).await;
    let got = receiver
        .wait_for("/ok/k", Duration::from_secs(45), |d| !d.is_empty())
        .await;
    assert_eq!(got.len(), 1, "{got:?}");
    let id = EventId::of(HoldId::parse(&hold).unwrap(), EventKind::Confirmed);
    assert_eq!(got[0]["webhook_id"], id.as_str());
    assert_eq!(got[0]["verified"], true);
}

async fn an_endpoint_disabled_by_a_410_gets_the_next_event_once_an_operator_enables_it(
    kind: StoreKind,
) {
    let seeded = seeded(kind, chrono::Utc::now(), &[]).await;
    let dir = tempfile::tempdir().unwrap();
    let env = env(&seeded.env, &[("WEBHOOK_ALLOW_INSECURE", "1")]);
    let server = start(&dir.path().join("unused.db"), &env).await;
    let receiver = Receiver::start(free_port()).await;
    let id = register(&server, &receiver, "/back/a").await;
    let first = book(&server, "s-1").await;
    let got = receiver
        .wait_for("/back/a", Duration::from_secs(5), |d| !d.is_empty())
        .await;
    assert_eq!(got[0]["status"], 410, "{got:?}");
    let disabled = |listed: &Value| {
        listed["webhooks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|w| w["webhook_id"] == id.as_str())
            .unwrap()["disabled"]
            .clone()
    };
    let started = Instant::now();
    loop {
        let (_, listed) = operator(&server, "GET", "/webhooks", None).await;
        if disabled(&listed) == true || started.elapsed() > Duration::from_secs(5) {
            assert_eq!(disabled(&listed), true, "disabled by the 410");
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Disabled: the next booking is not sent to it.
    book(&server, "s-2").await;
    let quiet = receiver
        .wait_for("/back/a", Duration::from_secs(1), |_| false)
        .await;
    assert_eq!(quiet.len(), 1, "{quiet:?}");

    let (status, enabled) =
        operator(&server, "POST", &format!("/webhooks/{id}/enable"), None).await;
    assert_eq!(status, 200, "{enabled}");
    assert_eq!(enabled["disabled"], false);
    assert!(enabled.get("secret").is_none());
    let (_, listed) = operator(&server, "GET", "/webhooks", None).await;
    assert_eq!(disabled(&listed), false);
    // The next event reaches it, signed with the same secret; the given-up ones stay given up.
    let third = book(&server, "s-3").await;
    let third = EventId::of(HoldId::parse(&third).unwrap(), EventKind::Confirmed);
    let got = receiver
        .wait_for("/back/a", Duration::from_secs(5), |d| d.len() >= 2)
        .await;
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[1]["webhook_id"], third.as_str());
    assert_eq!(
        (got[1]["status"].clone(), got[1]["verified"].clone()),
        (json!(200), json!(true))
    );
    let first = EventId::of(HoldId::parse(&first).unwrap(), EventKind::Confirmed);
    // The receiver logs a delivery before it answers: the attempt is recorded just after.
    let started = Instant::now();
    let states = loop {
        let (_, deliveries) =
            operator(&server, "GET", &format!("/webhooks/{id}/deliveries"), None).await;
        let states: Vec<(Value, Value)> = deliveries["deliveries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| (d["event_id"].clone(), d["state"].clone()))
            .collect();
        if states.first().is_some_and(|s| s.1 == "delivered")
            || started.elapsed() > Duration::from_secs(5)
        {
            break states;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(
        states,
        vec![
            (json!(third.as_str()), json!("delivered")),
            (json!(first.as_str()), json!("failed")),
        ]
    );
}

async fn a_loopback_or_plain_http_url_is_refused_without_the_insecure_flag(kind: StoreKind) {
    let seeded = seeded(kind, chrono::Utc::now(), &[]).await;
    let dir = tempfile::tempdir().unwrap();
    let server = start(&dir.path().join("unused.db"), &env(&seeded.env, &[])).await;
    for url in [
        "https://127.0.0.1:9/hook",
        "https://localhost/hook",
        "https://[::1]/hook",
        "http://hooks.example.com/hook",
        "https://169.254.169.254/latest",
    ] {
        let (status, body) = operator(
            &server,
            "POST",
            "/webhooks",
            Some(json!({ "url": url, "events": ["booking.confirmed"] })),
        )
        .await;
        assert_eq!(status, 422, "{url}: {body}");
        assert_eq!(body["error"], "VALIDATION_ERROR");
    }
    let (_, listed) = operator(&server, "GET", "/webhooks", None).await;
    assert_eq!(listed["webhooks"], json!([]));
}

macro_rules! on_both_stores {
    ($($scenario:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread")]
            async fn $scenario() {
                super::$scenario(crate::harness::StoreKind::Sqlite).await
            })*
        }
        mod dynamodb {
            $(#[tokio::test(flavor = "multi_thread")]
            async fn $scenario() {
                super::$scenario(crate::harness::StoreKind::Dynamodb).await
            })*
        }
    };
}

on_both_stores!(
    every_delivery_is_signed_retried_with_its_id_and_a_gone_or_hanging_endpoint_holds_up_no_other,
    an_event_committed_before_a_kill_9_is_delivered_after_the_restart_with_its_id,
    a_loopback_or_plain_http_url_is_refused_without_the_insecure_flag,
    an_endpoint_disabled_by_a_410_gets_the_next_event_once_an_operator_enables_it,
);
