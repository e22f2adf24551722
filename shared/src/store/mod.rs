//! The storage port: one trait, implemented by the embedded SQLite store and by DynamoDB.
//!
//! Every method is shaped so that its happy path is ONE round trip to DynamoDB: no method needs a
//! read before its write. Race safety lives here, in one atomic guarded write per operation; a
//! refused guard comes back as a domain [`Error`] (`SlotUnavailable`, `HoldGone`, `NotHoldOwner`,
//! `HoldConfirmed`), the same on every store.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};

use crate::domain::{Hold, HoldId, HoldStatus, Room, RoomId, Slot, SlotId, SlotState, UserId};
use crate::error::Error;

pub mod dynamo;
pub mod sqlite;

use crate::config::StoreConfig;

/// Opens the configured store once (at cold start). An empty SQLite database gets the demo data;
/// a DynamoDB table is created and loaded by the seed command, never at a function's cold start
/// (opening it sends no request).
pub async fn open(config: &StoreConfig) -> Result<Arc<dyn Store>, Error> {
    match config {
        StoreConfig::Sqlite { path } => {
            let store = sqlite::SqliteStore::open(path)?;
            if store.is_empty().await? {
                store.seed(&crate::seed::demo(Utc::now())?).await?;
                tracing::info!(path = %path.display(), "loaded the demo data into a new database");
            }
            Ok(Arc::new(store))
        }
        StoreConfig::Dynamo { table } => Ok(Arc::new(
            dynamo::DynamoStore::from_env(table.as_str()).await,
        )),
    }
}

/// Times are stored as epoch milliseconds (SQLite INTEGER, DynamoDB N): exact, and compared as
/// numbers in guards.
pub(crate) fn millis(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

/// A stored time back; out of range means a corrupt record (500), never a panic.
pub(crate) fn from_millis(ms: i64) -> Result<DateTime<Utc>, Error> {
    Utc.timestamp_millis_opt(ms)
        .single()
        .ok_or_else(|| Error::Internal(format!("stored time {ms} out of range")))
}

/// Demo and benchmark data a store can be loaded with (see [`crate::seed`]).
#[derive(Debug, Clone, Default)]
pub struct SeedData {
    pub users: Vec<UserId>,
    pub rooms: Vec<Room>,
    pub slots: Vec<Slot>,
}

/// A request for a new hold; the caller (the handler) picks the id and the expiry.
#[derive(Debug, Clone)]
pub struct NewHold {
    pub id: HoldId,
    pub slot_id: SlotId,
    pub user_id: UserId,
    pub expires_at: DateTime<Utc>,
}

impl NewHold {
    /// The hold as it stands once created.
    pub fn created(&self) -> Hold {
        Hold {
            id: self.id,
            slot_id: self.slot_id.clone(),
            user_id: self.user_id.clone(),
            status: HoldStatus::Hold,
            expires_at: self.expires_at,
        }
    }
}

#[async_trait]
pub trait Store: Send + Sync {
    /// The room's slots in start-time order, each with its booked flag and its latest `HOLD`
    /// hold (possibly expired: the caller compares with `now`). One read: a snapshot on SQLite;
    /// on DynamoDB one `Query` of the room's index (more pages only for rooms over 1 MB), which
    /// is eventually consistent, so a write of the last moment may not show yet. Listing only
    /// informs; every decision is taken by the guarded writes below, which are always current.
    ///
    /// Errors: `RoomNotFound` when the room does not exist.
    async fn list_slots(&self, room: &RoomId, now: DateTime<Utc>) -> Result<Vec<SlotState>, Error>;

    /// Creates `hold` unless the slot is booked or carries a live hold (`expires_at > now`), in
    /// one atomic guarded write: however many callers race on one slot, exactly one succeeds.
    /// An expired hold does not block (lazy expiry).
    ///
    /// Errors: `SlotUnavailable` (held or booked), `SlotNotFound`, `UserNotFound`.
    async fn create_hold(&self, hold: &NewHold, now: DateTime<Utc>) -> Result<Hold, Error>;

    /// Marks the hold `CONFIRMED` and its slot booked in one atomic step, only if the hold is
    /// `user`'s, in status `HOLD` and `now < expires_at`. A hold already confirmed by `user`
    /// is returned as is (idempotent retry).
    ///
    /// Errors: `NotHoldOwner`, `HoldGone` (unknown, expired or released).
    async fn confirm_hold(
        &self,
        id: HoldId,
        user: &UserId,
        now: DateTime<Utc>,
    ) -> Result<Hold, Error>;

    /// Marks the hold `RELEASED` (its slot is free at once) in one atomic step, only if it is
    /// `user`'s, `HOLD` and live. A hold already released by `user` is returned as is.
    ///
    /// Errors: `NotHoldOwner`, `HoldConfirmed`, `HoldGone` (unknown or expired).
    async fn release_hold(
        &self,
        id: HoldId,
        user: &UserId,
        now: DateTime<Utc>,
    ) -> Result<Hold, Error>;

    /// Loads users, rooms and slots, skipping any that already exist (idempotent).
    async fn seed(&self, data: &SeedData) -> Result<(), Error>;

    /// Whether the store holds no rooms yet (used to load the demo data on first open).
    async fn is_empty(&self) -> Result<bool, Error>;
}
