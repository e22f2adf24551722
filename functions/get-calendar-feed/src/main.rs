//! `get-calendar-feed` Lambda function: wiring only; the handler lives in `shared::http`.

use lambda_http::{Error, run, service_fn};
use shared::config::{Config, IfUnreadable};
use shared::{Endpoint, Route, app, telemetry};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let config = Config::from_env()?
        .with_operator_tokens_from_ssm(IfUnreadable::Refuse)
        .await?;
    let app = app::from_config(&config).await?;
    run(service_fn(|request| {
        app.handle(const { Endpoint::of(Route::GetCalendarFeed) }, request)
    }))
    .await
}
