//! The storage port: one trait for the request path, implemented by the embedded SQLite store and
//! by DynamoDB. Creating tables and loading data are not request-path work: they live in
//! [`provision`], which no Lambda function needs.
//!
//! Every method is shaped so that its happy path is ONE round trip to DynamoDB: no method needs a
//! read before its write. Race safety lives here, in one atomic guarded write per operation; a
//! refused guard comes back as a domain [`Error`] (`SlotUnavailable`, `HoldGone`, `NotHoldOwner`,
//! `HoldConfirmed`), the same on every store.

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};

use crate::domain::{Hold, HoldId, HoldStatus, RoomId, SlotId, SlotState, UserId};
use crate::error::Error;

#[cfg(feature = "dynamodb")]
pub mod dynamo;
pub mod provision;
pub mod sqlite;

pub use provision::Provision;

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
    /// `user`'s, `HOLD` and live. A retry of a release by `user` is answered with the released
    /// hold only until the hold's `expires_at`; after it, a released hold is as gone as an
    /// expired one (`HoldGone`), on both stores (see `domain::explain_release`).
    ///
    /// Errors: `NotHoldOwner`, `HoldConfirmed`, `HoldGone` (unknown or expired).
    async fn release_hold(
        &self,
        id: HoldId,
        user: &UserId,
        now: DateTime<Utc>,
    ) -> Result<Hold, Error>;
}
