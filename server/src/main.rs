//! `escape-room-server`: the API on one machine (embedded SQLite by default), and the seeding
//! command. Usage: `escape-room-server [serve]` | `escape-room-server seed [--bench ROOMSxSLOTS] [--user ID]...`.

use shared::{App, config::Config, telemetry};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let _log = telemetry::init_server();
    let config = Config::from_env()?;
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        [] | ["serve"] => {
            let app = App::from_config(&config).await?;
            shared::server::run(app, config.bind).await?;
        }
        ["seed", rest @ ..] => shared::seed::run_command(&config, rest).await?,
        _ => {
            return Err(
                "usage: escape-room-server [serve] | seed [--bench ROOMSxSLOTS] [--user ID]..."
                    .into(),
            );
        }
    }
    Ok(())
}
