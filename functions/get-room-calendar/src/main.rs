//! `get-room-calendar` Lambda function: wiring only; the handler lives in `shared::http`. Its
//! only credential is the feed's key in the URL: it reads neither the operators' tokens nor the
//! players' keys (a bearer here is refused, 401, whoever's it is).

use lambda_http::{Error, run, service_fn};
use shared::{Endpoint, Route, app, config::Config, telemetry};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let config = Config::from_env()?;
    let app = app::from_config(&config).await?;
    run(service_fn(|request| {
        app.handle(const { Endpoint::of(Route::GetRoomCalendar) }, request)
    }))
    .await
}
