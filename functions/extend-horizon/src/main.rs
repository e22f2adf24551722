//! `extend-horizon` Lambda function: run daily by an EventBridge rule, not by a route. Wiring
//! only: the work is `shared::horizon::daily` (contact and event retention, then the horizons).

use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use serde_json::Value;
use shared::{app, config::Config, horizon, telemetry};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let config = Config::from_env()?;
    let app = app::from_config(&config).await?;
    run(service_fn(|_event: LambdaEvent<Value>| async {
        let runs = horizon::daily(app.store.as_ref(), &app.bookings, app.clock.now()).await?;
        Ok::<_, Error>(serde_json::json!({ "rooms": runs }))
    }))
    .await
}
