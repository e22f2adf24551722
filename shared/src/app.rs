//! Assembly: configuration → store → [`App`]. The top of the crate, used by the local server and
//! the Lambda functions' `main`s; nothing in the crate imports it.

use std::sync::Arc;

use crate::clock::Clock;
use crate::config::{Config, StoreConfig};
use crate::error::Error;
use crate::http::App;
use crate::store::Store;

/// The configured store, opened once (at cold start). A new (empty) SQLite database is loaded
/// with the demo venue first and its schedules' slots are made, so the local server (and
/// functions under `cargo lambda watch`) answer with rooms and slots at once. Opening DynamoDB
/// sends no request and provisions nothing: its table is created and loaded by the `seed`
/// command.
pub async fn open_store(config: &StoreConfig) -> Result<Arc<dyn Store>, Error> {
    match config {
        #[cfg(feature = "sqlite")]
        StoreConfig::Sqlite { path, durability } => {
            use crate::store::Provision;
            let store = Arc::new(crate::store::sqlite::SqliteStore::open_with(
                path,
                *durability,
            )?);
            if store.is_empty().await? {
                store.load(&crate::seed::demo()?).await?;
                let runs = App::new(store.clone(), Clock::System, chrono::Duration::zero())
                    .extend_horizons()
                    .await?;
                let slots: usize = runs.iter().map(|r| r.created).sum();
                tracing::info!(path = %path.display(), slots, "loaded the demo venue into a new database");
            }
            Ok(store)
        }
        // `Config` refuses SQLite in a build without it; this arm is never reached.
        #[cfg(not(feature = "sqlite"))]
        StoreConfig::Sqlite { .. } => Err(Error::Internal(
            "this binary was built without the sqlite feature".into(),
        )),
        #[cfg(feature = "dynamodb")]
        StoreConfig::Dynamo { table } => Ok(Arc::new(
            crate::store::dynamo::DynamoStore::from_env(table.as_str()).await,
        )),
        // `Config` refuses DynamoDB in a build without it; this arm is never reached.
        #[cfg(not(feature = "dynamodb"))]
        StoreConfig::Dynamo { .. } => Err(Error::Internal(
            "this binary was built without the dynamodb feature".into(),
        )),
    }
}

/// The app of the local server and of every Lambda function: the configured store, the system
/// clock, the hold length.
pub async fn from_config(config: &Config) -> Result<App, Error> {
    let store = open_store(&config.store).await?;
    Ok(App::new(store, Clock::System, config.hold_ttl)
        .with_cancel_cutoff(config.cancel_cutoff)
        .with_operators(config.operators.clone()))
}
