//! Provisioning: what sets a store up rather than serves a request. Creating the schema or table
//! and loading demo or benchmark data are done by the local server at start and by the `seed`
//! command, never by a Lambda function on its request path, so they are a trait of their own
//! beside [`super::Store`].

use async_trait::async_trait;

use crate::error::Error;
use crate::seed::SeedData;

#[async_trait]
pub trait Provision: Send + Sync {
    /// Creates what the store needs (SQLite: the schema, done on open; DynamoDB: the table, its
    /// index and TTL) unless it exists. Idempotent.
    async fn prepare(&self) -> Result<(), Error>;

    /// Loads users, rooms and slots, skipping any that already exist (idempotent: a re-load
    /// never resets a slot's holds).
    async fn load(&self, data: &SeedData) -> Result<(), Error>;

    /// Whether the store holds no rooms yet (the local server loads the demo data then).
    async fn is_empty(&self) -> Result<bool, Error>;
}
