//! The embedded store: SQLite through `rusqlite` (bundled library, so nothing to install) with an
//! `r2d2` pool of read-only connections and one writer connection.
//!
//! Why rusqlite over sqlx: every statement here runs in microseconds on a local file, so an async
//! driver would only add a thread hop per query; rusqlite's cached prepared statements and plain
//! synchronous calls are the fastest path, and `bundled` pins the SQLite version we test against.
//!
//! Concurrency: WAL mode lets readers run beside the writer without blocking, and a thread of its
//! own (`checkpoint.rs`) copies the WAL into the database file beside the writer. Every write runs on
//! the single writer connection, which lives on a thread of its own (`writer.rs`: a write never
//! blocks an async worker), in a `SAVEPOINT` of its own inside a `BEGIN IMMEDIATE` transaction
//! that the writes queued together share (group commit, `batch.rs`: one commit for all of them,
//! each answered after it), so writers queue on the write lock (and `busy_timeout` covers other
//! processes on the same file) instead of failing on a stale snapshot. The race-deciding step of
//! each operation is one guarded statement, which sees every write before it in the queue.
//!
//! The code is split by resource, as the DynamoDB store is: this file opens the store and says,
//! for each [`Store`] operation, on which connection (a reader, or the writer in one
//! transaction) it runs; `slots.rs` (listing), `holds.rs` (the writes of a hold's life),
//! `bookings.rs` (reading holds and bookings), `rooms.rs`, `schedules.rs` and `provision.rs`
//! hold the SQL; `schema.rs` the tables and migrations; `rows.rs` the column lists and the one
//! reader of each row (a hold, a slot, a room, a booking).

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use r2d2::Pool;
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::{Connection, TransactionBehavior};

use checkpoint::Checkpointer;
use writer::Writer;

use super::outbox::{Attempted, DeliveriesAfter, DeliveriesPage, Delivery, Outbox, Target};
use super::webhooks::{Webhook, Webhooks, WebhooksPage};
use super::{
    Applied, CalendarFeed, Confirmed, Created, DaySheet, HoldsAfter, HoldsPage, IdempotencyKey,
    ManagedBooking, NewBooking, NewHold, Page, Retired, SheetAfter, SheetWindow, SlotWindow, Store,
};
use crate::config::Durability;
use crate::domain::{
    Canceller, Hold, HoldId, KeyDigest, Reference, Room, RoomId, SlotState, UserId,
};
use crate::error::Error;
use crate::events::{BookingEvent, EventId};
use crate::schedule::{PlannedSlot, Schedule};

pub mod backup;
mod batch;
#[cfg(test)]
mod batch_tests;
mod bookings;
mod checkpoint;
mod feeds;
mod holds;
mod outbox;
mod provision;
mod rooms;
mod rows;
mod schedules;
mod schema;
mod slots;
mod transfer;
mod webhooks;
mod writer;

// busy_timeout first: processes starting together on a new file (four functions under
// `cargo lambda watch`) wait for each other while one switches the file to WAL. `synchronous` is
// set after these, from the configured durability.
const PRAGMAS: &str = "
PRAGMA busy_timeout = 5000;
PRAGMA journal_mode = WAL;
PRAGMA foreign_keys = ON;
";

/// Read connections in the pool; more than the worker threads, so a read never waits for one.
const READERS: u32 = 8;

pub struct SqliteStore {
    path: PathBuf,
    readers: Pool<SqliteConnectionManager>,
    writer: Writer,
    /// Copies the WAL into the file beside the writer (`checkpoint.rs`); dropped after it.
    _checkpointer: Checkpointer,
}

/// The query planner stability guarantee: a cached statement keeps its plan whatever values are
/// bound. The bundled SQLite is built with STAT4, which otherwise re-prepares (re-parses and
/// re-plans) a statement whenever a bound value of a range on an indexed column changes — the
/// listing's `from` changes on every request, and re-preparing it took about as long as running
/// it (measured with perf: `sqlite3RunParser` on every listing). Our plans do not depend on the
/// values: every query is an index range scan.
fn stable_plans(conn: &Connection) -> Result<(), rusqlite::Error> {
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )?;
    Ok(())
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path`, sets WAL mode and the schema (and
    /// migrates a database of an earlier version), with the default durability.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, Error> {
        Self::open_with(path, Durability::default())
    }

    /// [`Self::open`] with commits made as durable as `durability` says (the writer's
    /// `PRAGMA synchronous`).
    pub fn open_with(path: impl AsRef<Path>, durability: Durability) -> Result<Self, Error> {
        let path = path.as_ref().to_path_buf();
        let mut writer = Connection::open(&path)?;
        writer.execute_batch(PRAGMAS)?;
        writer.execute_batch(&format!(
            "PRAGMA synchronous = {}; PRAGMA wal_autocheckpoint = {};",
            durability.pragma(),
            checkpoint::WRITER_CHECKPOINT_PAGES
        ))?;
        {
            let tx = writer.transaction_with_behavior(TransactionBehavior::Immediate)?;
            schema::create_or_migrate(&tx)?;
            // Committed before readers open.
            tx.commit()?;
        }
        writer.set_prepared_statement_cache_capacity(32);
        stable_plans(&writer)?;
        let manager = SqliteConnectionManager::file(&path).with_init(|c| {
            c.execute_batch(
                "PRAGMA busy_timeout = 5000; PRAGMA query_only = ON; PRAGMA mmap_size = 268435456;",
            )?;
            c.set_prepared_statement_cache_capacity(32);
            stable_plans(c)
        });
        // A local file cannot go away under a connection: no liveness query on every checkout.
        let readers = Pool::builder()
            .max_size(READERS)
            .test_on_check_out(false)
            .build(manager)?;
        Ok(Self {
            readers,
            writer: Writer::start(writer)?,
            _checkpointer: Checkpointer::start(&path, durability)?,
            path,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` on the writer thread ([`writer`]) in its own savepoint of the next batch's
    /// `BEGIN IMMEDIATE` transaction; kept on `Ok`, rolled back on `Err`, answered once the batch
    /// is committed. `f` owns what it needs: it runs on another thread.
    async fn write<T, F>(&self, f: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&rusqlite::Transaction<'_>) -> Result<T, Error> + Send + 'static,
    {
        self.writer.write(f).await
    }

    /// Runs `f` on a reader connection from the pool (a snapshot per statement).
    fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T, Error>) -> Result<T, Error> {
        let conn = self.readers.get()?;
        f(&conn)
    }
}

/// Each operation: its connection, then its SQL in the module of its resource.
#[async_trait]
impl Store for SqliteStore {
    async fn list_slots(
        &self,
        room: &RoomId,
        window: &SlotWindow,
        now: DateTime<Utc>,
    ) -> Result<Vec<SlotState>, Error> {
        self.read(|conn| slots::list(conn, room, window, now))
    }

    async fn create_hold(
        &self,
        hold: &NewHold,
        key: Option<&IdempotencyKey>,
        now: DateTime<Utc>,
    ) -> Result<Created, Error> {
        let (hold, key) = (hold.clone(), key.cloned());
        self.write(move |tx| holds::create(tx, &hold, key.as_ref(), now))
            .await
    }

    async fn confirm_booking(
        &self,
        id: HoldId,
        user: &UserId,
        booking: &NewBooking,
        max_bookings: Option<u32>,
        now: DateTime<Utc>,
    ) -> Result<Confirmed, Error> {
        let (user, booking) = (user.clone(), booking.clone());
        self.write(move |tx| holds::confirm(tx, id, &user, &booking, max_bookings, now))
            .await
    }

    async fn booking_by_reference(
        &self,
        reference: &Reference,
        _now: DateTime<Utc>,
    ) -> Result<Option<ManagedBooking>, Error> {
        self.read(|conn| bookings::by_reference(conn, reference))
    }

    async fn calendar_feed(&self, room: &RoomId) -> Result<Option<CalendarFeed>, Error> {
        self.read(|conn| feeds::get(conn, room))
    }

    async fn rotate_calendar_feed(
        &self,
        room: &RoomId,
        key: &KeyDigest,
        now: DateTime<Utc>,
    ) -> Result<(), Error> {
        let (room, key) = (room.clone(), key.clone());
        self.write(move |tx| feeds::rotate(tx, &room, &key, now))
            .await
    }

    async fn erase_contacts(&self, ended_before: DateTime<Utc>) -> Result<usize, Error> {
        self.write(move |tx| holds::erase_contacts(tx, ended_before))
            .await
    }

    async fn release_hold(
        &self,
        id: HoldId,
        user: &UserId,
        now: DateTime<Utc>,
    ) -> Result<Hold, Error> {
        let user = user.clone();
        self.write(move |tx| holds::release(tx, id, &user, now))
            .await
    }

    async fn extend_hold(
        &self,
        id: HoldId,
        user: &UserId,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<DateTime<Utc>, Error> {
        let user = user.clone();
        self.write(move |tx| holds::extend(tx, id, &user, expires_at, now))
            .await
    }

    async fn cancel_hold(
        &self,
        id: HoldId,
        by: &Canceller,
        now: DateTime<Utc>,
    ) -> Result<(), Error> {
        let by = by.clone();
        self.write(move |tx| holds::cancel(tx, id, &by, now)).await
    }

    async fn room_bookings(
        &self,
        room: &RoomId,
        window: SheetWindow,
        page: &Page<SheetAfter>,
        now: DateTime<Utc>,
    ) -> Result<DaySheet, Error> {
        let mut conn = self.readers.get()?;
        // One snapshot: the room (its time zone) and its bookings.
        let tx = conn.transaction()?;
        bookings::room_bookings(&tx, room, window, page, now)
    }

    async fn get_hold(&self, id: HoldId, _now: DateTime<Utc>) -> Result<Option<Hold>, Error> {
        self.read(|conn| bookings::read_hold(conn, id))
    }

    async fn forget_idempotency_keys(&self, before: DateTime<Utc>) -> Result<usize, Error> {
        self.write(move |tx| holds::forget_keys(tx, before)).await
    }

    async fn user_holds(
        &self,
        user: &UserId,
        page: &Page<HoldsAfter>,
        include_past: bool,
        now: DateTime<Utc>,
    ) -> Result<HoldsPage, Error> {
        self.read(|conn| bookings::user_holds(conn, user, page, include_past, now))
    }

    async fn list_rooms(&self) -> Result<Vec<Room>, Error> {
        self.read(rooms::list)
    }

    async fn get_room(&self, room: &RoomId) -> Result<Option<Room>, Error> {
        self.read(|conn| rooms::get(conn, room))
    }

    async fn put_room(
        &self,
        room: &Room,
        max_rooms: Option<usize>,
        _now: DateTime<Utc>,
    ) -> Result<bool, Error> {
        let policy = rooms::policy_json(&room.policy)?;
        let room = room.clone();
        self.write(move |tx| rooms::put(tx, &room, &policy, max_rooms))
            .await
    }

    async fn retire_room(
        &self,
        room: &RoomId,
        cancel: Option<&Canceller>,
        now: DateTime<Utc>,
    ) -> Result<Retired, Error> {
        let (room, cancel) = (room.clone(), cancel.cloned());
        self.write(move |tx| rooms::retire(tx, &room, cancel.as_ref(), now))
            .await
    }

    async fn get_schedule(&self, room: &RoomId) -> Result<Option<Schedule>, Error> {
        self.read(|conn| schedules::get(conn, room))
    }

    async fn apply_schedule(
        &self,
        room: &Room,
        schedule: &Schedule,
        planned: &[PlannedSlot],
        from: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Applied, Error> {
        let schedule = schedules::schedule_json(schedule)?;
        // One short write transaction: the schedule, the new slots, the moves, the removals.
        let (room, planned) = (room.id.clone(), planned.to_vec());
        self.write(move |tx| schedules::apply(tx, &room, &schedule, &planned, from, now))
            .await
    }
}

/// The outbox: reads on a reader, writes on the writer (each one transaction).
#[async_trait]
impl Outbox for SqliteStore {
    async fn undispatched_events(&self, limit: usize) -> Result<Vec<BookingEvent>, Error> {
        self.read(|conn| outbox::undispatched(conn, limit))
    }

    async fn dispatch_event(
        &self,
        event: &BookingEvent,
        targets: &[Target],
        now: DateTime<Utc>,
    ) -> Result<(), Error> {
        let (event, targets) = (event.clone(), targets.to_vec());
        self.write(move |tx| outbox::dispatch(tx, &event, &targets, now))
            .await
    }

    async fn claim_deliveries(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Delivery>, Error> {
        self.write(move |tx| outbox::claim(tx, now, lease_until, limit))
            .await
    }

    async fn record_attempt(
        &self,
        event: &EventId,
        target: &Target,
        attempted: &Attempted,
        now: DateTime<Utc>,
    ) -> Result<(), Error> {
        let (event, target, attempted) = (event.clone(), target.clone(), attempted.clone());
        self.write(move |tx| outbox::record_attempt(tx, &event, &target, &attempted, now))
            .await
    }

    async fn abandon_deliveries(&self, target: &Target) -> Result<usize, Error> {
        let target = target.clone();
        self.write(move |tx| outbox::abandon(tx, &target)).await
    }

    async fn deliveries_to(
        &self,
        target: &Target,
        after: Option<&DeliveriesAfter>,
        limit: usize,
    ) -> Result<DeliveriesPage, Error> {
        self.read(|conn| outbox::deliveries_to(conn, target, after, limit))
    }

    async fn event(&self, id: &EventId) -> Result<Option<BookingEvent>, Error> {
        self.read(|conn| outbox::event(conn, id))
    }

    async fn forget_events(&self, before: DateTime<Utc>) -> Result<usize, Error> {
        self.write(move |tx| outbox::forget(tx, before)).await
    }
}

/// The webhook endpoints: reads on a reader, writes on the writer.
#[async_trait]
impl Webhooks for SqliteStore {
    async fn create_webhook(&self, hook: &Webhook, max: Option<usize>) -> Result<(), Error> {
        let hook = hook.clone();
        self.write(move |tx| webhooks::create(tx, &hook, max)).await
    }

    async fn list_webhooks(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<WebhooksPage, Error> {
        self.read(|conn| webhooks::list(conn, after, limit))
    }

    async fn get_webhook(&self, id: &str) -> Result<Option<Webhook>, Error> {
        self.read(|conn| webhooks::get(conn, id))
    }

    async fn delete_webhook(&self, id: &str) -> Result<bool, Error> {
        let id = id.to_owned();
        self.write(move |tx| webhooks::delete(tx, &id)).await
    }

    async fn disable_webhook(&self, id: &str) -> Result<(), Error> {
        let id = id.to_owned();
        self.write(move |tx| webhooks::disable(tx, &id)).await
    }

    async fn enable_webhook(&self, id: &str) -> Result<Option<Webhook>, Error> {
        let id = id.to_owned();
        self.write(move |tx| webhooks::enable(tx, &id)).await
    }
}

/// SQLite's busy/locked (after `busy_timeout`) is a transient 503; anything else is a 500.
impl From<rusqlite::Error> for Error {
    fn from(err: rusqlite::Error) -> Self {
        match err.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
                Self::Unavailable(err.to_string())
            }
            _ => Self::Internal(err.to_string()),
        }
    }
}

impl From<r2d2::Error> for Error {
    fn from(err: r2d2::Error) -> Self {
        Self::Unavailable(format!("sqlite pool: {err}"))
    }
}
