//! `escape-room-server`: the API on one machine (embedded SQLite by default), and the seeding
//! commands. Usage: `escape-room-server [serve]` | `escape-room-server seed [--bench ROOMSxSLOTS]
//! [--user ID]...` | `escape-room-server backup --to FILE` (a consistent copy of the SQLite
//! file) | `export --to FILE` / `import --from FILE [--replace]` (a venue between stores, JSON
//! Lines) | `escape-room-server routes` (the route table, one row a line).
//! Wiring only: the server is `server::run`, the command `server::seed_command::run`.

use shared::{app, config::Config, telemetry};

/// mimalloc instead of glibc's malloc for the server's Rust allocations: a listing allocates
/// per slot, and glibc's malloc, free and consolidation were 8 % of a listing's profile
/// (docs/benchmarks.md, "The ceiling targets").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let _log = telemetry::init_server();
    let config = Config::from_env()?;
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        [] | ["serve"] => {
            if config.bench_ceiling {
                server::enable_ceiling();
            }
            server::ops::enable_metrics(config.metrics)?;
            let limits = server::Limits::new(&config.rate_limits);
            server::run(
                app::from_config(&config).await?,
                limits,
                config.bind,
                config.server,
            )
            .await?
        }
        ["seed", rest @ ..] => server::seed_command::run(&config, rest).await?,
        ["backup", rest @ ..] => server::backup_command::run(&config, rest)?,
        ["export", rest @ ..] => server::transfer_command::export(&config, rest).await?,
        ["import", rest @ ..] => server::transfer_command::import(&config, rest).await?,
        ["routes"] => print!("{}", server::route_lines()),
        _ => {
            return Err(
                "usage: escape-room-server [serve] | seed [--demo] [--bench ROOMSxSLOTS] [--user ID]... | backup --to FILE | export --to FILE | import --from FILE [--replace] | routes"
                    .into(),
            );
        }
    }
    Ok(())
}
