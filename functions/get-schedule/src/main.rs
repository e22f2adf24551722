//! `get-schedule` Lambda function: wiring only; the handler lives in `shared::http`.

use lambda_http::{Error, run, service_fn};
use shared::config::{Config, IfUnreadable};
use shared::{Endpoint, Route, app, telemetry};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    // It serves players too: it starts even when the operators' tokens cannot be read (its
    // operator branch then answers 403).
    let config = Config::from_env()?
        .with_operator_tokens_from_ssm(IfUnreadable::StartWithout)
        .await?
        .with_player_keys_from_ssm()
        .await?;
    let app = app::from_config(&config).await?;
    run(service_fn(|request| {
        app.handle(const { Endpoint::of(Route::GetSchedule) }, request)
    }))
    .await
}
