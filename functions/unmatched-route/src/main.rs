//! `unmatched-route` Lambda function: the HTTP API's `$default` route, which API Gateway invokes
//! for every request no contract route matches. Wiring only; the handler is
//! `shared::http::unmatched`. It opens no store and reads no configuration: it serves the booking
//! page (`/`) and the operator's view (`/operator`), embedded, and answers everything else with
//! the contract's 404 `ROUTE_NOT_FOUND` / 405 `METHOD_NOT_ALLOWED`.

use std::convert::Infallible;

use lambda_http::{Error, Request, run, service_fn};
use shared::{http, telemetry};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    run(service_fn(|request: Request| async move {
        Ok::<_, Infallible>(http::unmatched(&request))
    }))
    .await
}
