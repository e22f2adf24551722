//! `create-player` Lambda function: wiring only; the handler lives in `shared::http`.

use lambda_http::{Error, run, service_fn};
use shared::{Endpoint, Route, app, config::Config, telemetry};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    // In `guest` mode, the players' token keys from SSM (PLAYER_TOKEN_SECRET_PARAMETER).
    let config = Config::from_env()?.with_player_keys_from_ssm().await?;
    let app = app::from_config(&config).await?;
    run(service_fn(|request| {
        app.handle(const { Endpoint::of(Route::CreatePlayer) }, request)
    }))
    .await
}
