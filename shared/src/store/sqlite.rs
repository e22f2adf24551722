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
use chrono::{DateTime, Duration, Utc};
use r2d2::Pool;
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::{
    Applied, Created, DaySheet, IDEMPOTENCY_WINDOW, IdempotencyKey, NewHold, Provision,
    SheetWindow, SlotWindow, Store, UserHold, from_millis, millis, overlaps,
};
use crate::config::Durability;
use crate::domain::{
    self, Booking, Canceller, Hold, HoldId, HoldStatus, Invalid, Room, RoomId, RoomPolicy, Slot,
    SlotId, SlotState, UserId,
};
use crate::error::Error;
use crate::schedule::{PlannedSlot, Schedule};
use crate::seed::SeedData;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS users (
    id   TEXT PRIMARY KEY,
    name TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS rooms (
    id       TEXT PRIMARY KEY,
    name     TEXT NOT NULL,
    capacity INTEGER NOT NULL,
    policy   TEXT  -- domain::RoomPolicy as JSON; NULL: the defaults (a room of an earlier version)
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
    id           TEXT PRIMARY KEY,
    slot_id      TEXT NOT NULL REFERENCES time_slots(id),
    user_id      TEXT NOT NULL REFERENCES users(id),
    status       TEXT NOT NULL CHECK (status IN ('HOLD', 'CONFIRMED', 'RELEASED', 'CANCELLED')),
    expires_at   INTEGER NOT NULL,  -- epoch milliseconds
    created_at   INTEGER NOT NULL,
    extended     INTEGER NOT NULL DEFAULT 0,
    cancelled_at INTEGER
) WITHOUT ROWID;
-- (the columns of later versions are added by HOLD_COLUMNS_ADDED below)
-- finding a slot's live hold (the guard of create and the join of list), covering the join
CREATE INDEX IF NOT EXISTS holds_open_by_slot
    ON holds(slot_id, expires_at, user_id) WHERE status = 'HOLD';
-- a user's holds, newest first
CREATE INDEX IF NOT EXISTS holds_by_user ON holds(user_id, created_at);
-- a slot's latest hold (the day sheet)
CREATE INDEX IF NOT EXISTS holds_by_slot ON holds(slot_id, created_at);
-- a room's weekly schedule (schedule::Schedule as JSON)
CREATE TABLE IF NOT EXISTS schedules (
    room_id    TEXT PRIMARY KEY REFERENCES rooms(id),
    schedule   TEXT NOT NULL,
    updated_at INTEGER NOT NULL
) WITHOUT ROWID;
-- Idempotency-Key of POST /holds: written in the hold's own transaction
CREATE TABLE IF NOT EXISTS idempotency_keys (
    key        TEXT PRIMARY KEY,
    request    TEXT NOT NULL,
    hold_id    TEXT NOT NULL,
    slot_id    TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    created_at INTEGER NOT NULL
) WITHOUT ROWID;
";

/// A database made before holds could be extended or cancelled: its `holds` table is rebuilt with
/// the new columns and status, rows kept, in one transaction (SQLite cannot alter a CHECK).
const MIGRATE_HOLDS: &str = "
CREATE TABLE holds_v2 (
    id           TEXT PRIMARY KEY,
    slot_id      TEXT NOT NULL REFERENCES time_slots(id),
    user_id      TEXT NOT NULL REFERENCES users(id),
    status       TEXT NOT NULL CHECK (status IN ('HOLD', 'CONFIRMED', 'RELEASED', 'CANCELLED')),
    expires_at   INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    extended     INTEGER NOT NULL DEFAULT 0,
    cancelled_at INTEGER
) WITHOUT ROWID;
INSERT INTO holds_v2 (id, slot_id, user_id, status, expires_at, created_at)
    SELECT id, slot_id, user_id, status, expires_at, created_at FROM holds;
DROP TABLE holds;
ALTER TABLE holds_v2 RENAME TO holds;
";

/// Columns of `holds` added after its first version, each added to a database without it.
const HOLD_COLUMNS_ADDED: [(&str, &str); 4] = [
    ("players", "INTEGER"),      // the party size
    ("confirmed_at", "INTEGER"), // epoch milliseconds
    ("cancelled_by", "TEXT"),    // the player's user id, or the operator
    ("cancel_reason", "TEXT"),   // an operator's reason
];

/// A room's rule from its policy JSON, with its default for a room stored before rules existed.
/// `r` is the `rooms` row; SQLite evaluates this inside the statement that decides.
const MIN_NOTICE_MS: &str = "COALESCE(json_extract(r.policy, '$.min_notice_minutes'), 0) * 60000";
const CANCEL_CUTOFF_MS: &str =
    "COALESCE(json_extract(r.policy, '$.cancel_cutoff_minutes'), 0) * 60000";
const MIN_PLAYERS: &str = "COALESCE(json_extract(r.policy, '$.min_players'), 1)";

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
    writer: Mutex<Connection>,
}

/// Reads a stored id back through its validating constructor: a malformed row is an internal
/// error, not a panic.
fn stored<T>(parsed: Result<T, Invalid>) -> Result<T, Error> {
    parsed.map_err(|e| Error::Internal(format!("malformed stored id: {e}")))
}

/// A hold with its slot's start and its room's cut-off, as
/// `SELECT … FROM holds h JOIN time_slots s … JOIN rooms r` reads it.
fn hold_columns() -> String {
    format!(
        "h.id, h.slot_id, h.user_id, h.status, h.expires_at, s.start_time, h.extended, h.players,
         s.start_time - {CANCEL_CUTOFF_MS}"
    )
}

/// The joins under [`hold_columns`].
const HOLD_JOINS: &str =
    "holds h JOIN time_slots s ON s.id = h.slot_id JOIN rooms r ON r.id = s.room_id";

/// The columns after [`hold_columns`]'s.
const AFTER_HOLD_COLUMNS: usize = 9;

fn hold_of_row(row: &rusqlite::Row<'_>) -> Result<Hold, Error> {
    let status: String = row.get(3)?;
    Ok(Hold {
        id: stored(HoldId::parse(&row.get::<_, String>(0)?))?,
        slot_id: stored(SlotId::try_from(row.get::<_, String>(1)?))?,
        user_id: stored(UserId::try_from(row.get::<_, String>(2)?))?,
        status: HoldStatus::parse(&status)
            .ok_or_else(|| Error::Internal(format!("stored status {status}")))?,
        expires_at: from_millis(row.get(4)?)?,
        starts_at: from_millis(row.get(5)?)?,
        extended: row.get(6)?,
        players: row.get(7)?,
        cancel_by: from_millis(row.get(8)?)?,
    })
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

/// A room's stored time zone (UTC for a room stored before rooms had rules).
fn time_zone_of(zone: Option<&str>) -> Result<chrono_tz::Tz, Error> {
    match zone {
        None => Ok(chrono_tz::UTC),
        Some(zone) => zone
            .parse()
            .map_err(|_| Error::Internal(format!("stored time zone {zone}"))),
    }
}

/// A `rooms` row's columns (id, name, capacity, policy) from column `at` on, undecoded.
type RoomRow = (String, String, u32, Option<String>);

fn room_row(row: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<RoomRow> {
    Ok((
        row.get(at)?,
        row.get(at + 1)?,
        row.get(at + 2)?,
        row.get(at + 3)?,
    ))
}

fn room_of((id, name, capacity, policy): RoomRow) -> Result<Room, Error> {
    let policy = match policy {
        Some(json) => serde_json::from_str(&json)
            .map_err(|e| Error::Internal(format!("stored room policy: {e}")))?,
        None => RoomPolicy::default(),
    };
    Ok(Room {
        id: stored(RoomId::try_from(id))?,
        name,
        capacity,
        policy,
    })
}

fn room_of_row(row: &rusqlite::Row<'_>) -> Result<Room, Error> {
    room_of(room_row(row, 0)?)
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
        writer.execute_batch(&format!("PRAGMA synchronous = {};", durability.pragma()))?;
        {
            let tx = writer.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let holds_sql: Option<String> = tx
                .query_row(
                    "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'holds'",
                    [],
                    |r| r.get(0),
                )
                .optional()?;
            if holds_sql.is_some_and(|sql| !sql.contains("CANCELLED")) {
                tx.execute_batch(MIGRATE_HOLDS)?;
            }
            tx.execute_batch(SCHEMA)?;
            let has_policy: bool = tx.query_row(
                "SELECT EXISTS (SELECT 1 FROM pragma_table_info('rooms') WHERE name = 'policy')",
                [],
                |r| r.get(0),
            )?;
            if !has_policy {
                tx.execute_batch("ALTER TABLE rooms ADD COLUMN policy TEXT")?;
            }
            for (column, kind) in HOLD_COLUMNS_ADDED {
                let has: bool = tx.query_row(
                    "SELECT EXISTS (SELECT 1 FROM pragma_table_info('holds') WHERE name = ?1)",
                    [column],
                    |r| r.get(0),
                )?;
                if !has {
                    tx.execute_batch(&format!("ALTER TABLE holds ADD COLUMN {column} {kind}"))?;
                }
            }
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
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {} FROM {HOLD_JOINS} WHERE h.id = ?1",
            hold_columns()
        ))?;
        let mut rows = stmt.query([id.to_string()])?;
        match rows.next()? {
            Some(row) => Ok(Some(hold_of_row(row)?)),
            None => Ok(None),
        }
    }

    /// Moves a live hold of `user` from `HOLD` to `to`, in one guarded statement (the caller's
    /// hold, still `HOLD`, not expired, and for a confirmation a slot that has not started).
    /// Returns the hold as it now stands when the guard held, `None` when it refused.
    fn transition(
        tx: &Connection,
        id: HoldId,
        user: &UserId,
        now: DateTime<Utc>,
        to: HoldStatus,
    ) -> Result<Option<Hold>, Error> {
        let started_guard = if to == HoldStatus::Confirmed {
            "AND (SELECT start_time FROM time_slots WHERE id = holds.slot_id) > ?3"
        } else {
            ""
        };
        let confirmed_at = if to == HoldStatus::Confirmed {
            "?3"
        } else {
            "NULL"
        };
        let mut stmt = tx.prepare_cached(&format!(
            "UPDATE holds SET status = ?4, confirmed_at = {confirmed_at}
             WHERE id = ?1 AND user_id = ?2 AND status = 'HOLD' AND expires_at > ?3 {started_guard}
             RETURNING id"
        ))?;
        let updated = stmt
            .query_row(
                params![id.to_string(), user.as_str(), millis(now), to.as_str()],
                |r| r.get::<_, String>(0),
            )
            .optional()?;
        match updated {
            Some(_) => Self::read_hold(tx, id),
            None => Ok(None),
        }
    }

    /// The live answer to a repeated `Idempotency-Key`: its first hold, or a refusal when the key
    /// came with another request. `None` when the key is new (or older than the window).
    fn replay(
        tx: &Connection,
        key: &IdempotencyKey,
        now: DateTime<Utc>,
    ) -> Result<Option<Created>, Error> {
        let mut stmt = tx.prepare_cached(
            "SELECT request, hold_id, slot_id, user_id, expires_at FROM idempotency_keys
             WHERE key = ?1 AND created_at > ?2",
        )?;
        let mut rows = stmt.query(params![key.key, millis(now - IDEMPOTENCY_WINDOW)])?;
        let Some(row) = rows.next()? else {
            return Ok(None);
        };
        if row.get::<_, String>(0)? != key.request {
            return Err(Error::IdempotencyKeyReused);
        }
        Ok(Some(Created {
            id: stored(HoldId::parse(&row.get::<_, String>(1)?))?,
            slot_id: stored(SlotId::try_from(row.get::<_, String>(2)?))?,
            user_id: stored(UserId::try_from(row.get::<_, String>(3)?))?,
            expires_at: from_millis(row.get(4)?)?,
            replayed: true,
        }))
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn list_slots(
        &self,
        room: &RoomId,
        window: &SlotWindow,
        now: DateTime<Utc>,
    ) -> Result<Vec<SlotState>, Error> {
        let conn = self.readers.get()?;
        // One statement, one snapshot: the room (so an unknown room is told from an empty
        // window), the window's slots in order, and each slot's live hold if any. The room's
        // rules are read from its JSON once per listing, not once per slot: each is a
        // non-correlated scalar subquery, which SQLite evaluates once per execution (a
        // materialized CTE would cost the ordered index scan a temporary B-tree).
        let mut stmt = conn.prepare_cached(
            "SELECT s.id, s.start_time, s.end_time, s.is_booked, h.id, h.user_id, h.expires_at,
                    h.extended,
                    (SELECT json_extract(policy, '$.time_zone') FROM rooms WHERE id = ?1),
                    s.start_time - (SELECT COALESCE(json_extract(policy, '$.min_notice_minutes'), 0)
                                           * 60000 FROM rooms WHERE id = ?1)
             FROM rooms r
             LEFT JOIN time_slots s ON s.room_id = r.id
                 AND s.start_time >= ?3 AND s.start_time < ?4
                 AND (s.start_time, s.id) > (?5, ?6)
             LEFT JOIN holds h ON h.slot_id = s.id AND h.status = 'HOLD' AND h.expires_at > ?2
             WHERE r.id = ?1
             ORDER BY s.start_time, s.id
             LIMIT ?7",
        )?;
        let (after_start, after_id) = match &window.after {
            Some((start, id)) => (millis(*start), id.as_str().to_owned()),
            None => (i64::MIN, String::new()),
        };
        let limit = i64::try_from(window.limit.saturating_add(1)).unwrap_or(i64::MAX);
        let mut rows = stmt.query(params![
            room.as_str(),
            millis(now),
            millis(window.from),
            window.to.map_or(i64::MAX, millis),
            after_start,
            after_id,
            limit,
        ])?;
        let mut found_room = false;
        let mut slots = Vec::new();
        let mut zone = None;
        while let Some(row) = rows.next()? {
            found_room = true;
            let Some(slot_id) = row.get::<_, Option<String>>(0)? else {
                continue; // no slots in the window
            };
            let time_zone = match zone {
                Some(zone) => zone,
                None => {
                    let z = time_zone_of(row.get::<_, Option<String>>(8)?.as_deref())?;
                    zone = Some(z);
                    z
                }
            };
            let slot_id = stored(SlotId::try_from(slot_id))?;
            let start_time = from_millis(row.get(1)?)?;
            let hold = match row.get::<_, Option<String>>(4)? {
                Some(hold_id) => Some(Hold {
                    id: stored(HoldId::parse(&hold_id))?,
                    slot_id: slot_id.clone(),
                    user_id: stored(UserId::try_from(row.get::<_, String>(5)?))?,
                    status: HoldStatus::Hold,
                    expires_at: from_millis(row.get(6)?)?,
                    starts_at: start_time,
                    extended: row.get(7)?,
                    // The listing shows holds, not their party or cut-off.
                    players: None,
                    cancel_by: start_time,
                }),
                None => None,
            };
            slots.push(SlotState {
                slot: Slot {
                    id: slot_id,
                    room_id: room.clone(),
                    start_time,
                    end_time: from_millis(row.get(2)?)?,
                },
                booked: row.get(3)?,
                hold,
                time_zone,
                book_by: from_millis(row.get(9)?)?,
            });
        }
        if found_room {
            Ok(slots)
        } else {
            Err(Error::RoomNotFound)
        }
    }

    async fn create_hold(
        &self,
        hold: &NewHold,
        key: Option<&IdempotencyKey>,
        now: DateTime<Utc>,
    ) -> Result<Created, Error> {
        self.write(|tx| {
            // A repeated key answers its first hold; its check and the new key's insert are in
            // this one write transaction, so duplicates racing each other queue on the lock.
            if let Some(key) = key
                && let Some(first) = Self::replay(tx, key, now)?
            {
                return Ok(first);
            }
            // A player proven by a verified JWT needs no provisioning: their record is made here.
            if hold.verified_user {
                tx.prepare_cached(
                    "INSERT INTO users (id, name) VALUES (?1, ?1) ON CONFLICT (id) DO NOTHING",
                )?
                .execute([hold.user_id.as_str()])?;
            }
            // The guard and the write in one statement: insert only if the slot and user exist,
            // the slot is bookable under its room's rules (not started, outside the notice
            // period, the party size in the room's range), not booked and no live hold is on it.
            let inserted = tx
                .prepare_cached(&format!(
                    "INSERT INTO holds (id, slot_id, user_id, status, expires_at, created_at, players)
                     SELECT ?1, s.id, u.id, 'HOLD', ?4, ?5, COALESCE(?6, {MIN_PLAYERS})
                     FROM time_slots s JOIN rooms r ON r.id = s.room_id, users u
                     WHERE s.id = ?2 AND u.id = ?3 AND s.is_booked = 0 AND s.start_time > ?5
                       AND s.start_time - {MIN_NOTICE_MS} > ?5
                       AND (?6 IS NULL OR (?6 >= {MIN_PLAYERS} AND ?6 <= r.capacity))
                       AND NOT EXISTS (SELECT 1 FROM holds h
                                       WHERE h.slot_id = s.id AND h.status = 'HOLD'
                                         AND h.expires_at > ?5)"
                ))?
                .execute(params![
                    hold.id.to_string(),
                    hold.slot_id.as_str(),
                    hold.user_id.as_str(),
                    millis(hold.expires_at),
                    millis(now),
                    hold.players,
                ])?;
            if inserted == 1 {
                if let Some(key) = key {
                    tx.prepare_cached(
                        "INSERT INTO idempotency_keys
                             (key, request, hold_id, slot_id, user_id, expires_at, created_at)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                         ON CONFLICT (key) DO UPDATE SET request = ?2, hold_id = ?3,
                             slot_id = ?4, user_id = ?5, expires_at = ?6, created_at = ?7",
                    )?
                    .execute(params![
                        key.key,
                        key.request,
                        hold.id.to_string(),
                        hold.slot_id.as_str(),
                        hold.user_id.as_str(),
                        millis(hold.expires_at),
                        millis(now),
                    ])?;
                }
                return Ok(hold.created());
            }
            // Refused: say why (inside the same transaction, so the answer matches the guard).
            let slot = tx
                .prepare_cached(
                    "SELECT s.start_time, r.id, r.name, r.capacity, r.policy
                     FROM time_slots s JOIN rooms r ON r.id = s.room_id WHERE s.id = ?1",
                )?
                .query_row([hold.slot_id.as_str()], |r| {
                    Ok((r.get::<_, i64>(0)?, room_row(r, 1)))
                })
                .optional()?;
            let user_exists: bool = tx
                .prepare_cached("SELECT EXISTS (SELECT 1 FROM users WHERE id = ?1)")?
                .query_row([hold.user_id.as_str()], |r| r.get(0))?;
            let Some((start, room)) = slot else {
                return Err(Error::SlotNotFound);
            };
            if !user_exists {
                return Err(Error::UserNotFound);
            }
            let start = from_millis(start)?;
            room_of(room?)?
                .rules_for(start)
                .check_hold(start, hold.players, now)?;
            Err(Error::SlotUnavailable)
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

    async fn extend_hold(
        &self,
        id: HoldId,
        user: &UserId,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<DateTime<Utc>, Error> {
        self.write(|tx| {
            // The guard: the caller's live hold, not extended yet, on a slot not started.
            let extended = tx
                .prepare_cached(
                    "UPDATE holds SET expires_at = ?4, extended = 1
                     WHERE id = ?1 AND user_id = ?2 AND status = 'HOLD' AND expires_at > ?3
                       AND extended = 0
                       AND (SELECT start_time FROM time_slots WHERE id = holds.slot_id) > ?3",
                )?
                .execute(params![
                    id.to_string(),
                    user.as_str(),
                    millis(now),
                    millis(expires_at)
                ])?;
            if extended == 1 {
                return Ok(expires_at);
            }
            let hold = domain::explain_extend(Self::read_hold(tx, id)?.as_ref(), user, now)?;
            Err(Error::Internal(format!(
                "extension of {} refused but explained as allowed",
                hold.id
            )))
        })
    }

    async fn cancel_hold(
        &self,
        id: HoldId,
        by: &Canceller,
        now: DateTime<Utc>,
    ) -> Result<(), Error> {
        // A player cancels their own booking before both cut-offs; an operator any booking
        // before its start.
        let (owner, service_cutoff, room_cutoff) = match by {
            Canceller::Player { user, cutoff } => (Some(user.as_str()), *cutoff, CANCEL_CUTOFF_MS),
            Canceller::Operator { .. } => (None, Duration::zero(), "0"),
        };
        self.write(|tx| {
            let cancelled = tx
                .prepare_cached(&format!(
                    "UPDATE holds SET status = 'CANCELLED', cancelled_at = ?3, cancelled_by = ?5,
                         cancel_reason = ?6
                     WHERE id = ?1 AND status = 'CONFIRMED' AND (?2 IS NULL OR user_id = ?2)
                       AND (SELECT s.start_time > ?4 AND s.start_time - {room_cutoff} > ?3
                            FROM time_slots s JOIN rooms r ON r.id = s.room_id
                            WHERE s.id = holds.slot_id)
                     RETURNING slot_id"
                ))?
                .query_row(
                    params![
                        id.to_string(),
                        owner,
                        millis(now),
                        millis(now + service_cutoff),
                        by.name(),
                        by.reason(),
                    ],
                    |r| r.get::<_, String>(0),
                )
                .optional()?;
            let Some(slot_id) = cancelled else {
                domain::explain_cancel(Self::read_hold(tx, id)?.as_ref(), by, now)?;
                return Ok(());
            };
            // Same transaction: the slot is free again.
            let freed = tx
                .prepare_cached(
                    "UPDATE time_slots SET is_booked = 0 WHERE id = ?1 AND is_booked = 1",
                )?
                .execute([slot_id.as_str()])?;
            if freed != 1 {
                return Err(Error::Internal(format!(
                    "slot {slot_id} of booking {id} was not booked"
                )));
            }
            Ok(())
        })
    }

    async fn room_bookings(
        &self,
        room: &RoomId,
        window: SheetWindow,
        now: DateTime<Utc>,
    ) -> Result<DaySheet, Error> {
        let mut conn = self.readers.get()?;
        // One snapshot: the room (its time zone) and its bookings.
        let tx = conn.transaction()?;
        let found = tx
            .prepare_cached("SELECT id, name, capacity, policy FROM rooms WHERE id = ?1")?
            .query_row([room.as_str()], |r| room_row(r, 0))
            .optional()?;
        let Some(found) = found else {
            return Err(Error::RoomNotFound);
        };
        let time_zone = time_zone_of(Some(&room_of(found)?.policy.time_zone))?;
        let (from, to) = match window {
            SheetWindow::Today => domain::today_in(time_zone, now),
            SheetWindow::Between(from, to) => (from, to),
        };
        // Each slot's latest hold, when it is a booking (confirmed, or cancelled and not held
        // again since): what DynamoDB's slot items carry.
        let mut stmt = tx.prepare_cached(
            "SELECT h.id, s.id, s.start_time, h.user_id, h.players, h.status, h.confirmed_at,
                    h.cancelled_at, h.cancelled_by, h.cancel_reason
             FROM time_slots s
             JOIN holds h ON h.id = (SELECT l.id FROM holds l WHERE l.slot_id = s.id
                                     ORDER BY l.created_at DESC, l.id DESC LIMIT 1)
             WHERE s.room_id = ?1 AND s.start_time >= ?2 AND s.start_time < ?3
               AND h.status IN ('CONFIRMED', 'CANCELLED')
             ORDER BY s.start_time, s.id",
        )?;
        let mut rows = stmt.query(params![room.as_str(), millis(from), millis(to)])?;
        let mut bookings = Vec::new();
        while let Some(row) = rows.next()? {
            let status: String = row.get(5)?;
            let time = |at: usize| -> Result<Option<DateTime<Utc>>, Error> {
                row.get::<_, Option<i64>>(at)?.map(from_millis).transpose()
            };
            bookings.push(Booking {
                hold_id: stored(HoldId::parse(&row.get::<_, String>(0)?))?,
                slot_id: stored(SlotId::try_from(row.get::<_, String>(1)?))?,
                start_time: from_millis(row.get(2)?)?,
                user_id: stored(UserId::try_from(row.get::<_, String>(3)?))?,
                players: row.get(4)?,
                status: HoldStatus::parse(&status)
                    .ok_or_else(|| Error::Internal(format!("stored status {status}")))?,
                confirmed_at: time(6)?,
                cancelled_at: time(7)?,
                cancelled_by: row.get(8)?,
                reason: row.get(9)?,
            });
        }
        Ok(DaySheet {
            time_zone,
            from,
            to,
            bookings,
        })
    }

    async fn get_hold(&self, id: HoldId, _now: DateTime<Utc>) -> Result<Option<Hold>, Error> {
        let conn = self.readers.get()?;
        Self::read_hold(&conn, id)
    }

    async fn user_holds(&self, user: &UserId, now: DateTime<Utc>) -> Result<Vec<UserHold>, Error> {
        let conn = self.readers.get()?;
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {}, s.room_id, h.created_at
             FROM {HOLD_JOINS}
             WHERE h.user_id = ?1
               AND (h.status = 'CONFIRMED' OR (h.status = 'HOLD' AND h.expires_at > ?2))
             ORDER BY h.created_at DESC, h.id DESC",
            hold_columns()
        ))?;
        let mut rows = stmt.query(params![user.as_str(), millis(now)])?;
        let mut holds = Vec::new();
        while let Some(row) = rows.next()? {
            holds.push(UserHold {
                hold: hold_of_row(row)?,
                room_id: stored(RoomId::try_from(row.get::<_, String>(AFTER_HOLD_COLUMNS)?))?,
                created_at: from_millis(row.get(AFTER_HOLD_COLUMNS + 1)?)?,
            });
        }
        Ok(holds)
    }

    async fn list_rooms(&self) -> Result<Vec<Room>, Error> {
        let conn = self.readers.get()?;
        let mut stmt =
            conn.prepare_cached("SELECT id, name, capacity, policy FROM rooms ORDER BY id")?;
        let mut rows = stmt.query([])?;
        let mut rooms = Vec::new();
        while let Some(row) = rows.next()? {
            rooms.push(room_of_row(row)?);
        }
        Ok(rooms)
    }

    async fn get_room(&self, room: &RoomId) -> Result<Option<Room>, Error> {
        let conn = self.readers.get()?;
        let mut stmt =
            conn.prepare_cached("SELECT id, name, capacity, policy FROM rooms WHERE id = ?1")?;
        let mut rows = stmt.query([room.as_str()])?;
        match rows.next()? {
            Some(row) => Ok(Some(room_of_row(row)?)),
            None => Ok(None),
        }
    }

    async fn get_schedule(&self, room: &RoomId) -> Result<Option<Schedule>, Error> {
        let conn = self.readers.get()?;
        let json: Option<String> = conn
            .prepare_cached("SELECT schedule FROM schedules WHERE room_id = ?1")?
            .query_row([room.as_str()], |r| r.get(0))
            .optional()?;
        json.map(|j| {
            serde_json::from_str(&j).map_err(|e| Error::Internal(format!("stored schedule: {e}")))
        })
        .transpose()
    }

    async fn apply_schedule(
        &self,
        room: &Room,
        schedule: &Schedule,
        planned: &[PlannedSlot],
        from: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Applied, Error> {
        let room = &room.id;
        let json = serde_json::to_string(schedule)
            .map_err(|e| Error::Internal(format!("schedule encoding: {e}")))?;
        // One short write transaction: the schedule, the new slots, the removals; every decision
        // is taken under the write lock, so no hold can land between a check and a removal.
        self.write(|tx| {
            tx.prepare_cached(
                "INSERT INTO schedules (room_id, schedule, updated_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (room_id) DO UPDATE SET schedule = ?2, updated_at = ?3",
            )?
            .execute(params![room.as_str(), json, millis(now)])?;
            let mut applied = Applied::default();
            let wanted: std::collections::HashMap<&str, &PlannedSlot> =
                planned.iter().map(|s| (s.slot_id.as_str(), s)).collect();
            let mut future = tx.prepare_cached(
                "SELECT s.id, s.start_time, s.end_time, s.is_booked, h.id, h.user_id, h.expires_at
                 FROM time_slots s
                 LEFT JOIN holds h ON h.slot_id = s.id AND h.status = 'HOLD' AND h.expires_at > ?3
                 WHERE s.room_id = ?1 AND s.start_time >= ?2
                 ORDER BY s.start_time, s.id",
            )?;
            let mut rows = future.query(params![room.as_str(), millis(from), millis(now)])?;
            let mut free = Vec::new();
            let mut moved = Vec::new();
            let mut existing = std::collections::HashSet::new();
            while let Some(row) = rows.next()? {
                let id: String = row.get(0)?;
                let (start_ms, end_ms): (i64, i64) = (row.get(1)?, row.get(2)?);
                let booked: bool = row.get(3)?;
                let hold: Option<String> = row.get(4)?;
                let occupied = booked || hold.is_some();
                if let Some(plan) = wanted.get(id.as_str()) {
                    if !occupied
                        && (millis(plan.start_time), millis(plan.end_time)) != (start_ms, end_ms)
                    {
                        moved.push((id.clone(), plan.start_time, plan.end_time));
                    }
                    existing.insert(id);
                    continue;
                }
                if !occupied {
                    free.push(id);
                    continue;
                }
                let slot_id = stored(SlotId::try_from(id))?;
                let start_time = from_millis(start_ms)?;
                let hold = match hold {
                    Some(hold_id) => Some(Hold {
                        id: stored(HoldId::parse(&hold_id))?,
                        slot_id: slot_id.clone(),
                        user_id: stored(UserId::try_from(row.get::<_, String>(5)?))?,
                        status: HoldStatus::Hold,
                        expires_at: from_millis(row.get(6)?)?,
                        starts_at: start_time,
                        extended: false,
                        players: None,
                        cancel_by: start_time,
                    }),
                    None => None,
                };
                applied.kept.push(SlotState {
                    slot: Slot {
                        id: slot_id,
                        room_id: room.clone(),
                        start_time,
                        end_time: from_millis(end_ms)?,
                    },
                    booked,
                    hold,
                    time_zone: chrono_tz::UTC,
                    book_by: start_time,
                });
            }
            drop(rows);
            let mut insert = tx.prepare_cached(
                "INSERT INTO time_slots (id, room_id, start_time, end_time) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (id) DO NOTHING",
            )?;
            for slot in planned {
                if existing.contains(slot.slot_id.as_str()) {
                    continue;
                }
                let span = (slot.start_time, slot.end_time);
                if applied
                    .kept
                    .iter()
                    .any(|k| overlaps(span, (k.slot.start_time, k.slot.end_time)))
                {
                    applied.skipped += 1;
                    continue;
                }
                applied.created += insert.execute(params![
                    slot.slot_id.as_str(),
                    room.as_str(),
                    millis(slot.start_time),
                    millis(slot.end_time)
                ])?;
            }
            let mut update = tx.prepare_cached(
                "UPDATE time_slots SET start_time = ?2, end_time = ?3 WHERE id = ?1 AND is_booked = 0",
            )?;
            for (id, start, end) in &moved {
                applied.updated += update.execute(params![id, millis(*start), millis(*end)])?;
            }
            // A free slot's past holds (released, expired, cancelled) go with it.
            let mut forget_holds = tx.prepare_cached("DELETE FROM holds WHERE slot_id = ?1")?;
            let mut remove = tx.prepare_cached("DELETE FROM time_slots WHERE id = ?1")?;
            for id in &free {
                forget_holds.execute([id.as_str()])?;
                applied.removed += remove.execute([id.as_str()])?;
            }
            Ok(applied)
        })
    }

    async fn put_room(&self, room: &Room, _now: DateTime<Utc>) -> Result<bool, Error> {
        let policy = serde_json::to_string(&room.policy)
            .map_err(|e| Error::Internal(format!("room policy encoding: {e}")))?;
        self.write(|tx| {
            let existed: bool = tx
                .prepare_cached("SELECT EXISTS (SELECT 1 FROM rooms WHERE id = ?1)")?
                .query_row([room.id.as_str()], |r| r.get(0))?;
            tx.prepare_cached(
                "INSERT INTO rooms (id, name, capacity, policy) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (id) DO UPDATE SET name = ?2, capacity = ?3, policy = ?4",
            )?
            .execute(params![room.id.as_str(), room.name, room.capacity, policy])?;
            Ok(!existed)
        })
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
                tx.prepare_cached("INSERT INTO rooms (id, name, capacity, policy) VALUES (?1, ?2, ?3, ?4) ON CONFLICT (id) DO NOTHING")?;
            for r in &data.rooms {
                let policy = serde_json::to_string(&r.policy)
                    .map_err(|e| Error::Internal(format!("room policy encoding: {e}")))?;
                room.execute(params![r.id.as_str(), r.name, r.capacity, policy])?;
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
            let mut schedule = tx.prepare_cached(
                "INSERT INTO schedules (room_id, schedule, updated_at) VALUES (?1, ?2, 0)
                 ON CONFLICT (room_id) DO NOTHING",
            )?;
            for (room, s) in &data.schedules {
                let json = serde_json::to_string(s)
                    .map_err(|e| Error::Internal(format!("schedule encoding: {e}")))?;
                schedule.execute(params![room.as_str(), json])?;
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
