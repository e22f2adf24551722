//! The embedded store: SQLite through `rusqlite` (bundled library, so nothing to install) with an
//! `r2d2` pool of read-only connections and one writer connection.
//!
//! Why rusqlite over sqlx: every statement here runs in microseconds on a local file, so an async
//! driver would only add a thread hop per query; rusqlite's cached prepared statements and plain
//! synchronous calls are the fastest path, and `bundled` pins the SQLite version we test against.
//!
//! Concurrency: WAL mode lets readers run beside the writer without blocking. Every write runs in a
//! `BEGIN IMMEDIATE` transaction on the single writer connection, so writers queue on the write
//! lock (and `busy_timeout` covers other processes on the same file) instead of failing on a stale
//! snapshot. The race-deciding step of each operation is one guarded statement.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use r2d2::Pool;
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::{NewHold, Provision, Store, from_millis, millis};
use crate::domain::{
    self, Hold, HoldId, HoldStatus, Invalid, RoomId, Slot, SlotId, SlotState, UserId,
};
use crate::error::Error;
use crate::seed::SeedData;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS users (
    id   TEXT PRIMARY KEY,
    name TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS rooms (
    id       TEXT PRIMARY KEY,
    name     TEXT NOT NULL,
    capacity INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS time_slots (
    id         TEXT PRIMARY KEY,
    room_id    TEXT NOT NULL REFERENCES rooms(id),
    start_time INTEGER NOT NULL,  -- epoch milliseconds
    end_time   INTEGER NOT NULL,
    is_booked  INTEGER NOT NULL DEFAULT 0,
    CHECK (start_time < end_time)
) WITHOUT ROWID;
-- listing a room's slots in (start_time, id) order; covering, so the listing reads only the index
CREATE INDEX IF NOT EXISTS time_slots_listing
    ON time_slots(room_id, start_time, id, end_time, is_booked);
CREATE TABLE IF NOT EXISTS holds (
    id         TEXT PRIMARY KEY,
    slot_id    TEXT NOT NULL REFERENCES time_slots(id),
    user_id    TEXT NOT NULL REFERENCES users(id),
    status     TEXT NOT NULL CHECK (status IN ('HOLD', 'CONFIRMED', 'RELEASED')),
    expires_at INTEGER NOT NULL,  -- epoch milliseconds
    created_at INTEGER NOT NULL
) WITHOUT ROWID;
-- finding a slot's live hold (the guard of create and the join of list), covering the join
CREATE INDEX IF NOT EXISTS holds_open_by_slot
    ON holds(slot_id, expires_at, user_id) WHERE status = 'HOLD';
";

// busy_timeout first: processes starting together on a new file (four functions under
// `cargo lambda watch`) wait for each other while one switches the file to WAL.
const PRAGMAS: &str = "
PRAGMA busy_timeout = 5000;
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
PRAGMA foreign_keys = ON;
";

/// Read connections in the pool; more than the worker threads, so a read never waits for one.
const READERS: u32 = 8;

pub struct SqliteStore {
    path: PathBuf,
    readers: Pool<SqliteConnectionManager>,
    writer: Mutex<Connection>,
}

/// Reads a stored id back through its validating constructor: a malformed row is an internal
/// error, not a panic.
fn stored<T>(parsed: Result<T, Invalid>) -> Result<T, Error> {
    parsed.map_err(|e| Error::Internal(format!("malformed stored id: {e}")))
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path`, sets WAL mode and the schema.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref().to_path_buf();
        let mut writer = Connection::open(&path)?;
        writer.execute_batch(PRAGMAS)?;
        writer.execute_batch(SCHEMA)?;
        writer.set_prepared_statement_cache_capacity(32);
        // Make sure the schema is committed before readers open.
        writer
            .transaction_with_behavior(TransactionBehavior::Immediate)?
            .commit()?;
        let manager = SqliteConnectionManager::file(&path).with_init(|c| {
            c.execute_batch(
                "PRAGMA busy_timeout = 5000; PRAGMA query_only = ON; PRAGMA mmap_size = 268435456;",
            )?;
            c.set_prepared_statement_cache_capacity(32);
            Ok(())
        });
        // A local file cannot go away under a connection: no liveness query on every checkout.
        let readers = Pool::builder()
            .max_size(READERS)
            .test_on_check_out(false)
            .build(manager)?;
        Ok(Self {
            path,
            readers,
            writer: Mutex::new(writer),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` in a `BEGIN IMMEDIATE` transaction on the writer connection; commits on `Ok`,
    /// rolls back on `Err`.
    fn write<T>(
        &self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let mut conn = self
            .writer
            .lock()
            .map_err(|_| Error::Internal("sqlite writer mutex poisoned".into()))?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let value = f(&tx)?;
        tx.commit()?;
        Ok(value)
    }

    fn read_hold(conn: &Connection, id: HoldId) -> Result<Option<Hold>, Error> {
        let mut stmt = conn.prepare_cached(
            "SELECT slot_id, user_id, status, expires_at FROM holds WHERE id = ?1",
        )?;
        let row = stmt
            .query_row([id.to_string()], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, i64>(3)?,
                ))
            })
            .optional()?;
        row.map(|(slot, user, status, expires)| {
            Ok(Hold {
                id,
                slot_id: stored(SlotId::parse(&slot))?,
                user_id: stored(UserId::parse(&user))?,
                status: HoldStatus::parse(&status)
                    .ok_or_else(|| Error::Internal(format!("stored status {status}")))?,
                expires_at: from_millis(expires)?,
            })
        })
        .transpose()
    }

    /// Moves a live hold of `user` from `HOLD` to `to`, in one guarded statement. Returns the
    /// hold as it now stands when the guard held, `None` when it refused.
    fn transition(
        tx: &Connection,
        id: HoldId,
        user: &UserId,
        now: DateTime<Utc>,
        to: HoldStatus,
    ) -> Result<Option<Hold>, Error> {
        // The guard: the caller's hold, still HOLD, not expired. Zero rows means "explain".
        let mut stmt = tx.prepare_cached(
            "UPDATE holds SET status = ?4
             WHERE id = ?1 AND user_id = ?2 AND status = 'HOLD' AND expires_at > ?3
             RETURNING slot_id, expires_at",
        )?;
        let row: Option<(String, i64)> = stmt
            .query_row(
                params![id.to_string(), user.as_str(), millis(now), to.as_str()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        row.map(|(slot_id, expires_at)| {
            Ok(Hold {
                id,
                slot_id: stored(SlotId::try_from(slot_id))?,
                user_id: user.clone(),
                status: to,
                expires_at: from_millis(expires_at)?,
            })
        })
        .transpose()
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn list_slots(&self, room: &RoomId, now: DateTime<Utc>) -> Result<Vec<SlotState>, Error> {
        let conn = self.readers.get()?;
        // One statement, one snapshot: the room (so an unknown room is told from an empty one),
        // its slots in order, and each slot's live hold if any.
        let mut stmt = conn.prepare_cached(
            "SELECT s.id, s.start_time, s.end_time, s.is_booked, h.id, h.user_id, h.expires_at
             FROM rooms r
             LEFT JOIN time_slots s ON s.room_id = r.id
             LEFT JOIN holds h ON h.slot_id = s.id AND h.status = 'HOLD' AND h.expires_at > ?2
             WHERE r.id = ?1
             ORDER BY s.start_time, s.id",
        )?;
        let mut rows = stmt.query(params![room.as_str(), millis(now)])?;
        let mut found_room = false;
        let mut slots = Vec::new();
        while let Some(row) = rows.next()? {
            found_room = true;
            let Some(slot_id) = row.get::<_, Option<String>>(0)? else {
                continue; // the room has no slots
            };
            let slot_id = stored(SlotId::try_from(slot_id))?;
            let hold = match row.get::<_, Option<String>>(4)? {
                Some(hold_id) => Some(Hold {
                    id: stored(HoldId::parse(&hold_id))?,
                    slot_id: slot_id.clone(),
                    user_id: stored(UserId::try_from(row.get::<_, String>(5)?))?,
                    status: HoldStatus::Hold,
                    expires_at: from_millis(row.get(6)?)?,
                }),
                None => None,
            };
            slots.push(SlotState {
                slot: Slot {
                    id: slot_id,
                    room_id: room.clone(),
                    start_time: from_millis(row.get(1)?)?,
                    end_time: from_millis(row.get(2)?)?,
                },
                booked: row.get(3)?,
                hold,
            });
        }
        if found_room {
            Ok(slots)
        } else {
            Err(Error::RoomNotFound)
        }
    }

    async fn create_hold(&self, hold: &NewHold, now: DateTime<Utc>) -> Result<Hold, Error> {
        self.write(|tx| {
            // The guard and the write in one statement: insert only if the slot and user exist,
            // the slot is not booked and no live hold is on it.
            let inserted = tx
                .prepare_cached(
                    "INSERT INTO holds (id, slot_id, user_id, status, expires_at, created_at)
                     SELECT ?1, s.id, u.id, 'HOLD', ?4, ?5
                     FROM time_slots s, users u
                     WHERE s.id = ?2 AND u.id = ?3 AND s.is_booked = 0
                       AND NOT EXISTS (SELECT 1 FROM holds h
                                       WHERE h.slot_id = s.id AND h.status = 'HOLD'
                                         AND h.expires_at > ?5)",
                )?
                .execute(params![
                    hold.id.to_string(),
                    hold.slot_id.as_str(),
                    hold.user_id.as_str(),
                    millis(hold.expires_at),
                    millis(now),
                ])?;
            if inserted == 1 {
                return Ok(hold.created());
            }
            // Refused: say why (inside the same transaction, so the answer matches the guard).
            let (slot_exists, user_exists): (bool, bool) = tx
                .prepare_cached(
                    "SELECT EXISTS (SELECT 1 FROM time_slots WHERE id = ?1),
                            EXISTS (SELECT 1 FROM users WHERE id = ?2)",
                )?
                .query_row(params![hold.slot_id.as_str(), hold.user_id.as_str()], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })?;
            Err(match (slot_exists, user_exists) {
                (false, _) => Error::SlotNotFound,
                (_, false) => Error::UserNotFound,
                _ => Error::SlotUnavailable,
            })
        })
    }

    async fn confirm_hold(
        &self,
        id: HoldId,
        user: &UserId,
        now: DateTime<Utc>,
    ) -> Result<Hold, Error> {
        self.write(|tx| {
            let Some(hold) = Self::transition(tx, id, user, now, HoldStatus::Confirmed)? else {
                return Ok(domain::explain_confirm(
                    Self::read_hold(tx, id)?.as_ref(),
                    user,
                    now,
                )?);
            };
            // Same transaction: book the slot. A live hold implies an unbooked slot, so this
            // guard failing means a broken invariant; the transaction is rolled back.
            let booked = tx
                .prepare_cached(
                    "UPDATE time_slots SET is_booked = 1 WHERE id = ?1 AND is_booked = 0",
                )?
                .execute([hold.slot_id.as_str()])?;
            if booked != 1 {
                return Err(Error::Internal(format!(
                    "slot {} already booked under live hold {id}",
                    hold.slot_id
                )));
            }
            Ok(hold)
        })
    }

    async fn release_hold(
        &self,
        id: HoldId,
        user: &UserId,
        now: DateTime<Utc>,
    ) -> Result<Hold, Error> {
        self.write(
            |tx| match Self::transition(tx, id, user, now, HoldStatus::Released)? {
                Some(hold) => Ok(hold),
                None => Ok(domain::explain_release(
                    Self::read_hold(tx, id)?.as_ref(),
                    user,
                    now,
                )?),
            },
        )
    }
}

/// The schema is created on [`SqliteStore::open`]; loading is one transaction.
#[async_trait]
impl Provision for SqliteStore {
    async fn prepare(&self) -> Result<(), Error> {
        Ok(())
    }

    async fn load(&self, data: &SeedData) -> Result<(), Error> {
        self.write(|tx| {
            let mut user = tx.prepare_cached("INSERT INTO users (id, name) VALUES (?1, ?1) ON CONFLICT (id) DO NOTHING")?;
            for u in &data.users {
                user.execute([u.as_str()])?;
            }
            let mut room =
                tx.prepare_cached("INSERT INTO rooms (id, name, capacity) VALUES (?1, ?2, ?3) ON CONFLICT (id) DO NOTHING")?;
            for r in &data.rooms {
                room.execute(params![r.id.as_str(), r.name, r.capacity])?;
            }
            let mut slot = tx.prepare_cached(
                "INSERT INTO time_slots (id, room_id, start_time, end_time) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (id) DO NOTHING",
            )?;
            for s in &data.slots {
                slot.execute(params![
                    s.id.as_str(),
                    s.room_id.as_str(),
                    millis(s.start_time),
                    millis(s.end_time)
                ])?;
            }
            Ok(())
        })
    }

    async fn is_empty(&self) -> Result<bool, Error> {
        let conn = self.readers.get()?;
        let any: bool = conn.query_row("SELECT EXISTS (SELECT 1 FROM rooms)", [], |r| r.get(0))?;
        Ok(!any)
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
