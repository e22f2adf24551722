//! `export --to FILE` and `import --from FILE [--replace]`: a venue moved between stores as JSON
//! Lines (`shared::store::transfer`). The file holds the bookings' contact details, the digests
//! of their manage keys and the webhook endpoints' signing secrets, so it is created with mode
//! 0600 (owner only), and never over an existing file. On DynamoDB both print the requests they
//! sent, by action.

use std::io::{BufRead, BufWriter, Write};
#[cfg(unix)]
use std::os::unix::fs::OpenOptionsExt;

use chrono::Utc;
use shared::Error;
use shared::config::{Config, StoreConfig};
use shared::store::transfer::{self, Counts, Record};

const EXPORT_USAGE: &str = "usage: export --to FILE";
const IMPORT_USAGE: &str = "usage: import --from FILE [--replace]";

/// Runs `export` with `args` against the configured store.
pub async fn export(config: &Config, args: &[&str]) -> Result<(), Error> {
    let ["--to", to] = args else {
        return Err(Error::Validation(EXPORT_USAGE.into()));
    };
    let now = Utc::now();
    let started = std::time::Instant::now();
    // The requests DynamoDB's export sent, by action (SQLite's sends none).
    let (records, requests): (_, Option<String>) = match &config.store {
        StoreConfig::Sqlite { path, durability } => (
            shared::store::sqlite::SqliteStore::open_with(path, *durability)?.export(now)?,
            None,
        ),
        #[cfg(feature = "dynamodb")]
        StoreConfig::Dynamo {
            table,
            attempt_timeout,
        } => {
            let (store, counter) = counted_store(table.as_str(), *attempt_timeout).await;
            let (records, _) = store.export(now).await?;
            (records, Some(requests_of(&counter)))
        }
        #[allow(unreachable_patterns)]
        _ => {
            return Err(Error::Validation(
                "this build has no DynamoDB store (cargo build -p server --features dynamodb)"
                    .into(),
            ));
        }
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    options.mode(0o600);
    let file = options
        .open(to)
        .map_err(|e| Error::Validation(format!("export: cannot create {to}: {e}")))?;
    let mut out = BufWriter::new(file);
    let mut counts = std::collections::BTreeMap::<&str, usize>::new();
    for record in &records {
        let line = serde_json::to_string(record)
            .map_err(|e| Error::Internal(format!("export encoding: {e}")))?;
        writeln!(out, "{line}").map_err(|e| Error::Internal(format!("export writing: {e}")))?;
        *counts.entry(record.kind()).or_default() += 1;
    }
    out.into_inner()
        .map_err(|e| Error::Internal(format!("export writing: {e}")))?
        .sync_all()
        .map_err(|e| Error::Internal(format!("export syncing: {e}")))?;
    let counted: Vec<String> = counts.iter().map(|(k, n)| format!("{k} {n}")).collect();
    println!(
        "exported to {to}: {} in {:.1} s{}",
        counted.join(", "),
        started.elapsed().as_secs_f64(),
        requests.map_or_else(String::new, |r| format!("; DynamoDB requests: {r}"))
    );
    Ok(())
}

/// Runs `import` with `args` against the configured store.
pub async fn import(config: &Config, args: &[&str]) -> Result<(), Error> {
    let (from, replace) = match args {
        ["--from", from] => (*from, false),
        ["--from", from, "--replace"] | ["--replace", "--from", from] => (*from, true),
        _ => return Err(Error::Validation(IMPORT_USAGE.into())),
    };
    let file = std::fs::File::open(from)
        .map_err(|e| Error::Validation(format!("import: cannot open {from}: {e}")))?;
    let mut records = Vec::new();
    for (n, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|e| Error::Validation(format!("import: reading {from}: {e}")))?;
        if line.trim().is_empty() {
            continue;
        }
        let record: Record = serde_json::from_str(&line)
            .map_err(|e| Error::Validation(format!("import: {from} line {}: {e}", n + 1)))?;
        records.push(record);
    }
    let started = std::time::Instant::now();
    // The requests' type named: without the `dynamodb` feature (the README's `cargo run -p
    // server`) no arm gives it.
    let (counts, requests): (_, Option<String>) = match &config.store {
        #[cfg(feature = "dynamodb")]
        StoreConfig::Dynamo {
            table,
            attempt_timeout,
        } => {
            let (store, counter) = counted_store(table.as_str(), *attempt_timeout).await;
            shared::store::Provision::prepare(&store).await?;
            let counts = transfer::import(&store, records, replace, Utc::now()).await?;
            (counts, Some(requests_of(&counter)))
        }
        other => {
            let store = shared::store::open(other).await?;
            store.prepare().await?;
            let counts = transfer::import(store.as_ref(), records, replace, Utc::now()).await?;
            (counts, None)
        }
    };
    println!(
        "imported from {from} in {:.1} s: {}{}",
        started.elapsed().as_secs_f64(),
        describe(&counts),
        requests.map_or_else(String::new, |r| format!("; DynamoDB requests: {r}"))
    );
    Ok(())
}

/// The configured DynamoDB store, its client counting the requests it sends.
#[cfg(feature = "dynamodb")]
async fn counted_store(
    table: &str,
    attempt_timeout: std::time::Duration,
) -> (
    shared::store::dynamo::DynamoStore,
    shared::store::dynamo::RequestCounter,
) {
    let counter = shared::store::dynamo::RequestCounter::default();
    let client = shared::store::dynamo::client_from_env_counting(&counter, attempt_timeout).await;
    (
        shared::store::dynamo::DynamoStore::new(client, table),
        counter,
    )
}

/// `N in all (Action n, …)`.
#[cfg(feature = "dynamodb")]
fn requests_of(counter: &shared::store::dynamo::RequestCounter) -> String {
    let counts = counter.counts();
    let each: Vec<String> = counts.iter().map(|(a, n)| format!("{a} {n}")).collect();
    format!(
        "{} in all ({})",
        counts.values().sum::<usize>(),
        each.join(", ")
    )
}

/// `kind written/unchanged, …`.
fn describe(counts: &Counts) -> String {
    let mut kinds: Vec<&str> = counts
        .written
        .keys()
        .chain(counts.unchanged.keys())
        .copied()
        .collect();
    kinds.sort_unstable();
    kinds.dedup();
    kinds
        .iter()
        .map(|k| {
            format!(
                "{k} {} written, {} unchanged",
                counts.written.get(k).copied().unwrap_or(0),
                counts.unchanged.get(k).copied().unwrap_or(0)
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}
