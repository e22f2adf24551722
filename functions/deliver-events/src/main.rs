//! `deliver-events` Lambda function: fed by the table's stream (the inserts of booking event
//! items, filtered by its event source mapping) and by a one-minute EventBridge schedule, not by
//! a route. Wiring only: the work is `shared::delivery::invocation` (the outbox's fan-out and
//! due deliveries, as the local server's drainer does them).

use std::time::{Duration, UNIX_EPOCH};

use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use serde_json::Value;
use shared::config::Config;
use shared::delivery::invocation;
use shared::{app, telemetry};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    // The SMTP URL (with its password) from SSM when SMTP_URL_PARAMETER is set: without it the
    // function would drop the emails, so it does not start.
    let config = Config::from_env()?.with_mail_from_ssm().await?;
    let app = app::from_config(&config).await?;
    let deliverer = app::deliverer(&app)?;
    let clock = app.clock.clone();
    run(service_fn(|event: LambdaEvent<Value>| {
        let (deliverer, clock) = (&deliverer, clock.clone());
        async move {
            let deadline = UNIX_EPOCH + Duration::from_millis(event.context.deadline);
            invocation::invoke(deliverer, &event.payload, deadline, move || clock.now())
                .await
                .map_err(Error::from)
        }
    }))
    .await
}
