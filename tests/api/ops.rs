//! The local server's operator routes, driving the server binary: `GET /healthz` and
//! `GET /readyz`, and `GET /metrics`, whose text is read by a real Prometheus parser
//! (`prometheus-client`'s, pinned in requirements-dev.txt, from `.venv/`) and whose counters
//! move as requests are made.

use std::collections::HashMap;
use std::process::Stdio;

use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

use crate::harness::{assert_status, http_reply};
use crate::processes::ServerProcess;
use crate::template::repo;

const OPERATOR: &str = "ops-operator-token-0123456789abcdef0123";
const READER: &str = "ops-metrics-reader-0123456789abcdef01234";

/// One sample: its metric name, its labels, its value.
type Sample = (String, HashMap<String, String>, f64);

/// Parses Prometheus text with `prometheus_client.parser`: every sample of every family.
async fn parse(text: &str) -> Vec<Sample> {
    let python = repo().join(".venv/bin/python");
    assert!(
        python.is_file(),
        "{} is missing: `source scripts/dev-venv` first",
        python.display()
    );
    let script = "import json, sys\n\
        from prometheus_client.parser import text_string_to_metric_families\n\
        out = [[s.name, s.labels, s.value] for f in text_string_to_metric_families(sys.stdin.read()) for s in f.samples]\n\
        print(json.dumps(out))\n";
    let mut child = Command::new(python)
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(text.as_bytes()).await.unwrap();
    drop(stdin);
    let output = child.wait_with_output().await.unwrap();
    assert!(
        output.status.success(),
        "the parser refused the text: {}\n{text}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// The value of the sample `name` with every label of `labels` (0 when there is none yet).
fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
    samples
        .iter()
        .filter(|(n, l, _)| {
            n == name
                && labels
                    .iter()
                    .all(|(k, v)| l.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|(_, _, v)| v)
        .sum()
}

async fn scrape(server: &ServerProcess, token: &str) -> Vec<Sample> {
    let response = reqwest::Client::new()
        .get(server.url("/metrics"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    parse(&response.text().await.unwrap()).await
}

async fn post(server: &ServerProcess, path: &str, body: Value) -> crate::harness::Reply {
    http_reply(
        reqwest::Client::new()
            .post(server.url(path))
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await
}

#[tokio::test]
async fn metrics_counters_move_as_requests_are_made_and_a_prometheus_parser_reads_them() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start_with(
        &dir.path().join("ops.db"),
        &[("OPERATOR_TOKEN", OPERATOR), ("METRICS_TOKEN", READER)],
    )
    .await;
    let before = scrape(&server, READER).await;
    let listed = http_reply(
        reqwest::get(server.url("/slots?room_id=r-101&limit=50"))
            .await
            .unwrap(),
    )
    .await;
    assert_status(&listed, 200, None);
    let slot = listed.body["slots"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["status"] == "AVAILABLE")
        .unwrap()["slot_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let held = post(
        &server,
        "/holds",
        json!({ "slot_id": slot, "user_id": "u-demo" }),
    )
    .await;
    assert_status(&held, 201, None);
    let taken = post(
        &server,
        "/holds",
        json!({ "slot_id": slot, "user_id": "u-bob" }),
    )
    .await;
    assert_status(&taken, 409, Some("SLOT_UNAVAILABLE"));
    let hold = held.body["hold_id"].as_str().unwrap();
    let confirmed = post(
        &server,
        &format!("/holds/{hold}/confirm"),
        json!({ "user_id": "u-demo" }),
    )
    .await;
    assert_status(&confirmed, 200, None);
    let cancelled = post(
        &server,
        &format!("/holds/{hold}/cancel"),
        json!({ "user_id": "u-demo" }),
    )
    .await;
    assert_status(&cancelled, 200, None);

    // The operator's token reads them too.
    let after = scrape(&server, OPERATOR).await;
    let moved = |name: &str, labels: &[(&str, &str)]| {
        value(&after, name, labels) - value(&before, name, labels)
    };
    let listing = [("route", "list-slots"), ("status", "200")];
    assert_eq!(moved("http_requests_total", &listing), 1.0);
    assert_eq!(
        moved(
            "http_requests_total",
            &[("route", "create-hold"), ("status", "409")]
        ),
        1.0
    );
    assert_eq!(moved("holds_created_total", &[]), 1.0);
    assert_eq!(
        moved("holds_refused_total", &[("reason", "SLOT_UNAVAILABLE")]),
        1.0
    );
    assert_eq!(moved("confirms_total", &[]), 1.0);
    assert_eq!(moved("cancellations_total", &[("by", "player")]), 1.0);
    // The latency histogram counted the listing, in buckets.
    assert_eq!(
        moved(
            "http_request_duration_seconds_count",
            &[("route", "list-slots")]
        ),
        1.0
    );
    assert!(
        after
            .iter()
            .any(|(n, l, _)| n == "http_request_duration_seconds_bucket"
                && l.get("le").map(String::as_str) == Some("+Inf"))
    );
    // The writer's batches: the hold, the confirm and the cancel were written (at least one
    // batch each, each of at least one write).
    assert!(moved("sqlite_writer_batch_size_count", &[]) >= 3.0);
    assert!(
        after
            .iter()
            .any(|(n, _, _)| n == "sqlite_writer_queue_length")
    );
}

#[tokio::test]
async fn metrics_need_the_operator_or_the_metrics_token_and_health_needs_none() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start_with(
        &dir.path().join("ops.db"),
        &[("OPERATOR_TOKEN", OPERATOR), ("METRICS_TOKEN", READER)],
    )
    .await;
    let client = reqwest::Client::new();
    let anonymous = http_reply(client.get(server.url("/metrics")).send().await.unwrap()).await;
    assert_status(&anonymous, 401, Some("UNAUTHENTICATED"));
    let wrong = format!("{READER}x");
    let guessed = http_reply(
        client
            .get(server.url("/metrics"))
            .bearer_auth(&wrong)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_status(&guessed, 401, Some("UNAUTHENTICATED"));
    assert!(!guessed.body.to_string().contains("http_requests_total"));

    let health = http_reply(client.get(server.url("/healthz")).send().await.unwrap()).await;
    assert_status(&health, 200, None);
    assert_eq!(health.body, json!({ "status": "ok" }));
    let ready = http_reply(client.get(server.url("/readyz")).send().await.unwrap()).await;
    assert_status(&ready, 200, None);
    assert_eq!(ready.body, json!({ "status": "ready" }));
}

#[tokio::test]
async fn with_metrics_off_nothing_is_served_at_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start_with(
        &dir.path().join("ops.db"),
        &[("OPERATOR_TOKEN", OPERATOR), ("METRICS", "off")],
    )
    .await;
    let reply = http_reply(
        reqwest::Client::new()
            .get(server.url("/metrics"))
            .bearer_auth(OPERATOR)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_status(&reply, 404, Some("ROUTE_NOT_FOUND"));
}

/// The EMF lines of `output` (JSON lines with an `_aws` member).
fn emf_lines(output: &str) -> Vec<Value> {
    output
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|line| line.get("_aws").is_some())
        .collect()
}

#[tokio::test]
async fn on_lambda_holds_created_and_refused_are_emf_lines_in_the_functions_logs() {
    use crate::harness::{Event, StoreKind, Transport};
    let seeded = crate::harness::seeded(StoreKind::Sqlite, chrono::Utc::now(), &[]).await;
    let stack = crate::runtime::Stack::start(seeded.env.clone()).await;
    let hold = |user: &str| Event::post("/holds", json!({ "slot_id": "s-1", "user_id": user }));
    assert_status(&stack.send(&hold("u-demo")).await, 201, None);
    assert_status(
        &stack.send(&hold("u-bob")).await,
        409,
        Some("SLOT_UNAVAILABLE"),
    );
    let lines = crate::harness::poll_until(
        "two EMF lines from create-hold",
        std::time::Duration::from_secs(10),
        std::time::Duration::from_millis(20),
        || async {
            let lines = emf_lines(&stack.output_of("create-hold").await);
            (lines.len() >= 2).then_some(lines)
        },
    )
    .await;
    let created = &lines[0];
    assert_eq!(created["holds_created_total"], 1);
    assert_eq!(
        created["_aws"]["CloudWatchMetrics"][0]["Namespace"],
        "EscapeRoom"
    );
    let refused = &lines[1];
    assert_eq!(refused["holds_refused_total"], 1);
    assert_eq!(refused["reason"], "SLOT_UNAVAILABLE");
    assert_eq!(
        refused["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
        json!([["reason"]])
    );
    // Requests and latencies are API Gateway's metrics there: no line for them.
    assert_eq!(lines.len(), 2, "{lines:?}");
}
