//! `backup --to FILE`: a consistent copy of the configured SQLite database, safe while a server
//! serves writes on it (`shared::store::sqlite::backup`: `VACUUM INTO`, the copy synced and
//! renamed into place). On DynamoDB there is nothing to copy from here: point-in-time recovery
//! is the table's backup (docs/operations.md).

use shared::Error;
use shared::config::{Config, StoreConfig};
use shared::store::sqlite::backup;

const USAGE: &str = "usage: backup --to FILE";

/// Runs `backup` with `args` against the configured store.
pub fn run(config: &Config, args: &[&str]) -> Result<(), Error> {
    let ["--to", to] = args else {
        return Err(Error::Validation(USAGE.into()));
    };
    let StoreConfig::Sqlite { path, .. } = &config.store else {
        return Err(Error::Validation(
            "backup copies a SQLite file; on DynamoDB use the table's point-in-time recovery \
             (docs/operations.md)"
                .into(),
        ));
    };
    let written = backup::backup(path, std::path::Path::new(to))?;
    println!(
        "backed up {} to {} ({} bytes)",
        path.display(),
        written.path.display(),
        written.bytes
    );
    Ok(())
}
