//! `preview-schedule` Lambda function: wiring only; the handler lives in `shared::http`.

use lambda_http::{Error, run, service_fn};
use shared::{Route, app, config::Config, telemetry};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let config = Config::from_env()?;
    let app = app::from_config(&config).await?;
    run(service_fn(|request| {
        app.handle(Route::PreviewSchedule, request)
    }))
    .await
}
