//! The operator's routes of the local server, outside the route table (they exist on this server
//! only: on AWS, API Gateway and CloudWatch play their part, and every row of the route table
//! becomes a Lambda function):
//!
//! - `GET /healthz`: the process answers (no store call);
//! - `GET /readyz`: the store answers a cheap read (one room looked up by key) within the request
//!   deadline; 503 `SERVICE_UNAVAILABLE` otherwise;
//! - `GET /metrics`: the Prometheus text of what [`shared::http::metrics`] and the SQLite writer
//!   record, for an operator's token or `METRICS_TOKEN` (compared as SHA-256 digests in constant
//!   time); 401 otherwise; 404 with `METRICS=off`.
//!
//! The recorder is `metrics-exporter-prometheus`'s, installed once by [`enable_metrics`] without
//! its HTTP listener: the text is rendered from its handle here.

use std::sync::OnceLock;
use std::time::Duration;

use hyper::HeaderMap;
use hyper::header::AUTHORIZATION;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Response};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use shared::config::{MetricsConfig, token_digest};
use shared::domain::RoomId;
use shared::http::identity::token_holder;
use shared::http::{App, error_response, json_response};
use shared::{Error, http::metrics};
use subtle::ConstantTimeEq;

/// The latency histogram's buckets, in seconds: 100 µs to 10 s.
const LATENCY_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
];
/// The SQLite writer's batch sizes (at most 64 writes a batch).
const BATCH_BUCKETS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0];
/// How often the recorder's histograms are drained into their buckets.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// The recorder's handle and who may read it, once [`enable_metrics`] ran.
struct Metrics {
    handle: PrometheusHandle,
    token: Option<[u8; 32]>,
}

static METRICS: OnceLock<Metrics> = OnceLock::new();

/// Installs the Prometheus recorder as the process's `metrics` recorder (with `METRICS=on`, the
/// default) and keeps its handle for `GET /metrics`; its upkeep runs on the current Tokio
/// runtime. With `METRICS=off` nothing is recorded and `/metrics` is 404.
pub fn enable_metrics(config: MetricsConfig) -> Result<(), Error> {
    if !config.enabled || METRICS.get().is_some() {
        return Ok(());
    }
    let failed = |e: metrics_exporter_prometheus::BuildError| {
        Error::Internal(format!("installing the metrics recorder: {e}"))
    };
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(
            metrics_exporter_prometheus::Matcher::Full(metrics::DURATION.into()),
            LATENCY_BUCKETS,
        )
        .and_then(|b| {
            b.set_buckets_for_metric(
                metrics_exporter_prometheus::Matcher::Suffix("batch_size".into()),
                BATCH_BUCKETS,
            )
        })
        .map_err(failed)?
        .install_recorder()
        .map_err(failed)?;
    let upkeep = handle.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(UPKEEP_EVERY);
        loop {
            every.tick().await;
            upkeep.run_upkeep();
        }
    });
    let _ = METRICS.set(Metrics {
        handle,
        token: config.token,
    });
    Ok(())
}

/// `GET /metrics` with a token allowed to read it: the Prometheus text. `None` for any other
/// request (which then goes through the rate limits like any other, a wrong token spending the
/// address's credentials budget, and reaches [`answer`]).
pub fn scrape(path: &str, headers: &HeaderMap, app: &App) -> Option<Response<Body>> {
    let metrics = METRICS.get().filter(|_| path == "/metrics")?;
    let given = headers
        .get(AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")?
        .trim();
    let operator = token_holder(app.operators.tokens(), given).is_some();
    let reader = metrics
        .token
        .is_some_and(|token| bool::from(token.ct_eq(&token_digest(given))));
    if !(operator | reader) {
        return None;
    }
    let mut response = Response::new(Body::Text(metrics.handle.render()));
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    Some(response)
}

/// `GET /healthz`, `GET /readyz`, and `GET /metrics` without a token that may read it (401;
/// 404 with `METRICS=off`); `None` for any other request.
pub async fn answer(
    path: &str,
    method: &hyper::Method,
    app: &App,
    deadline: Duration,
    request_id: &str,
) -> Option<Response<Body>> {
    if method != hyper::Method::GET {
        return None;
    }
    match path {
        "/healthz" => Some(json_response(
            StatusCode::OK,
            &serde_json::json!({ "status": "ok" }),
        )),
        "/readyz" => Some(match ready(app, deadline).await {
            Ok(()) => json_response(StatusCode::OK, &serde_json::json!({ "status": "ready" })),
            Err(err) => error_response(err, request_id),
        }),
        "/metrics" if METRICS.get().is_some() => {
            Some(error_response(Error::Unauthenticated, request_id))
        }
        _ => None,
    }
}

/// The store answers one read by key within `deadline`: a room that does not exist, so the
/// answer is "none" on a working store (one indexed `SELECT` on SQLite, one `GetItem` on
/// DynamoDB).
async fn ready(app: &App, deadline: Duration) -> Result<(), Error> {
    let probe = RoomId::parse("readyz-probe")
        .map_err(|_| Error::Internal("the readiness probe's room id".into()))?;
    match tokio::time::timeout(deadline, app.store.get_room(&probe)).await {
        Ok(Ok(_)) | Ok(Err(Error::RoomNotFound)) => Ok(()),
        Ok(Err(err)) => Err(err),
        Err(_) => Err(Error::Unavailable(format!(
            "the store did not answer within {} s",
            deadline.as_secs()
        ))),
    }
}
