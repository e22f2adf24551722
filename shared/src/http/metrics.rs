//! What is recorded about each answered request, in one place: [`App::handle`](super::App::handle)
//! calls [`record`] once per request on every entry point. Through the `metrics` facade: the local
//! server installs a Prometheus recorder (`GET /metrics`, `server/src/ops.rs`); without one (the
//! Lambda functions, `METRICS=off`) each call is a no-op.
//!
//! The names (docs/operations.md, "Metrics"):
//! - `http_requests_total{route, status}`: answers by route (its function's name) and status;
//! - `http_request_duration_seconds{route}`: the handler's time, a histogram;
//! - `holds_created_total`, `holds_refused_total{reason}` (the error code): `POST /holds`;
//! - `confirms_total`, `cancellations_total{by}` (`player` or `operator`): successful answers of
//!   `POST /holds/{id}/confirm` and `…/cancel` (an idempotent repeat is counted again).

use std::time::Duration;

use metrics::{counter, histogram};

use crate::route::Route;

/// The counter and histogram names, for the server's descriptions and the tests.
pub const REQUESTS: &str = "http_requests_total";
pub const DURATION: &str = "http_request_duration_seconds";
pub const HOLDS_CREATED: &str = "holds_created_total";
pub const HOLDS_REFUSED: &str = "holds_refused_total";
pub const CONFIRMS: &str = "confirms_total";
pub const CANCELLATIONS: &str = "cancellations_total";

/// How one request was answered.
pub struct Answered {
    pub route: Route,
    pub status: u16,
    /// The error code when the answer is an error.
    pub code: Option<&'static str>,
    /// Whether the caller was an operator (a cancellation's `by`).
    pub operator: bool,
    pub elapsed: Duration,
}

/// Records `answered`: the request counter and latency, then the business counter of its route.
pub fn record(answered: &Answered) {
    let route = answered.route.spec().function;
    counter!(REQUESTS, "route" => route, "status" => status_label(answered.status)).increment(1);
    histogram!(DURATION, "route" => route).record(answered.elapsed.as_secs_f64());
    let ok = answered.code.is_none() && answered.status < 300;
    match (answered.route, ok) {
        (Route::CreateHold, true) => counter!(HOLDS_CREATED).increment(1),
        (Route::CreateHold, false) => {
            let reason = answered.code.unwrap_or("UNKNOWN");
            counter!(HOLDS_REFUSED, "reason" => reason).increment(1);
        }
        (Route::ConfirmHold, true) => counter!(CONFIRMS).increment(1),
        (Route::CancelHold, true) => {
            let by = if answered.operator {
                "operator"
            } else {
                "player"
            };
            counter!(CANCELLATIONS, "by" => by).increment(1);
        }
        _ => {}
    }
}

/// The status as a label without an allocation for the ones the API answers.
fn status_label(status: u16) -> &'static str {
    match status {
        200 => "200",
        201 => "201",
        204 => "204",
        400 => "400",
        401 => "401",
        403 => "403",
        404 => "404",
        405 => "405",
        408 => "408",
        409 => "409",
        410 => "410",
        413 => "413",
        422 => "422",
        429 => "429",
        500 => "500",
        503 => "503",
        _ => "other",
    }
}
