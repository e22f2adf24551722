//! Opening the configured store: one function for the local server, the Lambda functions and
//! the `seed` command.

use std::sync::Arc;

use super::transfer::Transfer;
use super::{Provision, Store};
use crate::config::StoreConfig;
use crate::error::Error;

/// A store with its set-up side: what [`open`] returns. Coerces to `Arc<dyn Store>` for the
/// request path and to `Arc<dyn Provision>` for set-up; [`Transfer`] is the import's side.
pub trait Backend: Store + Provision + Transfer {}

impl<T: Store + Provision + Transfer> Backend for T {}

/// Opens the configured store. SQLite creates its schema on open; DynamoDB sends no request
/// (its table is created by `seed`, see [`Provision::prepare`]).
pub async fn open(config: &StoreConfig) -> Result<Arc<dyn Backend>, Error> {
    match config {
        #[cfg(feature = "sqlite")]
        StoreConfig::Sqlite { path, durability } => Ok(Arc::new(
            super::sqlite::SqliteStore::open_with(path, *durability)?,
        )),
        #[cfg(feature = "dynamodb")]
        StoreConfig::Dynamo {
            table,
            attempt_timeout,
        } => Ok(Arc::new(
            super::dynamo::DynamoStore::from_env(table.as_str(), *attempt_timeout).await,
        )),
        // A build with one store only: `Config::from_env` refuses the other with a message that
        // names the feature, so only a hand-made `StoreConfig` gets here.
        #[allow(unreachable_patterns)]
        other => Err(Error::Internal(format!(
            "this binary was built without the store of {other:?}"
        ))),
    }
}
