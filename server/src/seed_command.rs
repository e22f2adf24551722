//! `seed [--demo] [--bench ROOMSxSLOTS] [--user ID]...`: provisions the configured store (on
//! DynamoDB the table, with its index and TTL, if it is missing), then loads the demo venue (its
//! users, rooms and schedules) and makes the schedules' slots (one horizon run) only when asked:
//! with `--demo`, or on a new (empty) SQLite file unless `DEMO=0` (as the server does). So `seed`
//! on a production table never adds the two demo rooms, whose slots the daily job would then keep
//! making. With `--bench` the benchmark data set too (as many users as slots per room), and with
//! `--user` more users (e.g. the `sub` of each identity that will call through a JWT authorizer).
//! Idempotent: what exists stays as it is.

use chrono::Utc;
use shared::Error;
use shared::config::{Config, StoreConfig};
use shared::domain::UserId;
use shared::{horizon, seed, store};

const USAGE: &str = "usage: seed [--demo] [--bench ROOMSxSLOTS] [--user ID]...";

/// What the command line asked for.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct SeedArgs {
    /// `--demo`: load the demo venue whatever the store.
    pub demo: bool,
    pub bench: Option<(u32, u32)>,
    pub users: Vec<UserId>,
}

/// Parses the arguments after `seed`.
pub fn parse_args(args: &[&str]) -> Result<SeedArgs, Error> {
    let mut parsed = SeedArgs::default();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        if *arg == "--demo" {
            parsed.demo = true;
            continue;
        }
        match (*arg, args.next()) {
            ("--bench", Some(size)) => {
                parsed.bench = Some(
                    size.split_once('x')
                        .and_then(|(r, s)| Some((r.parse::<u32>().ok()?, s.parse::<u32>().ok()?)))
                        .ok_or_else(|| {
                            Error::Validation(format!(
                                "--bench takes ROOMSxSLOTS, e.g. 100x1000, got `{size}`"
                            ))
                        })?,
                );
            }
            ("--user", Some(user)) => parsed.users.push(UserId::parse(user)?),
            _ => return Err(Error::Validation(USAGE.into())),
        }
    }
    Ok(parsed)
}

/// Runs `seed` with `args` against the configured store.
pub async fn run(config: &Config, args: &[&str]) -> Result<(), Error> {
    let args = parse_args(args)?;
    let store = store::open(&config.store).await?;
    store.prepare().await?;
    let now = Utc::now();
    let new_sqlite_file = matches!(config.store, StoreConfig::Sqlite { .. })
        && config.demo
        && store.is_empty().await?;
    if args.demo || new_sqlite_file {
        store.load(&seed::demo()?).await?;
        let runs = horizon::extend_horizons(store.as_ref(), now).await?;
        for run in runs {
            tracing::info!(room = %run.room_id, created = run.created, "the demo schedule's slots");
        }
    }
    if !args.users.is_empty() {
        store
            .load(&seed::SeedData {
                users: args.users,
                ..seed::SeedData::default()
            })
            .await?;
    }
    if let Some((rooms, slots)) = args.bench {
        let data = seed::bench(rooms, slots, slots.max(1), now)?;
        store.load(&data).await?;
        tracing::info!(
            rooms,
            slots_per_room = slots,
            total_slots = data.slots.len(),
            "loaded the benchmark data"
        );
    }
    tracing::info!("seeded");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bench_sizes_and_users_are_read_and_anything_else_is_a_usage_error() {
        let parsed = parse_args(&["--bench", "3x10", "--user", "u-x"]).unwrap();
        assert!(!parsed.demo);
        assert!(parse_args(&["--user", "u-x", "--demo"]).unwrap().demo);
        assert_eq!(parsed.bench, Some((3, 10)));
        assert_eq!(parsed.users, vec![UserId::parse("u-x").unwrap()]);
        assert!(parse_args(&["--bench", "3by10"]).is_err());
        assert!(parse_args(&["--user"]).is_err());
        assert!(parse_args(&["--nope", "x"]).is_err());
    }
}
