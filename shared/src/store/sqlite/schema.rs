//! The tables and their indexes, and how a database of an earlier version is brought up to date.
//! [`create_or_migrate`] runs once, on [`super::SqliteStore::open`], before any reader opens.

use rusqlite::{OptionalExtension, Transaction};

use crate::error::Error;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS users (
    id   TEXT PRIMARY KEY,
    name TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS rooms (
    id       TEXT PRIMARY KEY,
    name     TEXT NOT NULL,
    capacity INTEGER NOT NULL,
    policy   TEXT,  -- domain::RoomPolicy as JSON; NULL: the defaults (a room of an earlier version)
    archived_at INTEGER  -- epoch milliseconds: retired (DELETE /rooms/{room_id}); NULL: in use
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
-- a room's calendar feed for its staff: the SHA-256 of its key (hex), never the key
CREATE TABLE IF NOT EXISTS calendar_feeds (
    room_id    TEXT PRIMARY KEY REFERENCES rooms(id),
    key_digest TEXT NOT NULL,
    rotated_at INTEGER NOT NULL  -- epoch milliseconds
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
const HOLD_COLUMNS_ADDED: [(&str, &str); 7] = [
    ("players", "INTEGER"),      // the party size
    ("confirmed_at", "INTEGER"), // epoch milliseconds
    ("cancelled_by", "TEXT"),    // the player's user id, or the operator
    ("cancel_reason", "TEXT"),   // an operator's reason
    ("reference", "TEXT"),       // a booking's reference (domain::Reference), unique
    ("manage_key", "TEXT"),      // the SHA-256 of its manage key (hex), never the key
    ("contact", "TEXT"),         // domain::Contact as JSON; NULL once erased
];

/// Indexes on the columns of [`HOLD_COLUMNS_ADDED`], made after them. A reference is unique:
/// the confirm that would repeat one fails on this index and draws another.
const HOLD_INDEXES_ADDED: &str = "
CREATE UNIQUE INDEX IF NOT EXISTS holds_by_reference ON holds(reference)
    WHERE reference IS NOT NULL;
-- the bookings whose contact is still kept (the retention job)
CREATE INDEX IF NOT EXISTS holds_with_contact ON holds(slot_id) WHERE contact IS NOT NULL;
";

/// Creates the tables and indexes that do not exist, in `tx`, after migrating a database of an
/// earlier version (a `holds` table without `CANCELLED`, a `rooms` table without `policy`, a
/// `holds` table without the columns of [`HOLD_COLUMNS_ADDED`]). Idempotent.
pub(super) fn create_or_migrate(tx: &Transaction<'_>) -> Result<(), Error> {
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
    let has_archived: bool = tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM pragma_table_info('rooms') WHERE name = 'archived_at')",
        [],
        |r| r.get(0),
    )?;
    if !has_archived {
        tx.execute_batch("ALTER TABLE rooms ADD COLUMN archived_at INTEGER")?;
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
    tx.execute_batch(HOLD_INDEXES_ADDED)?;
    tx.execute_batch(super::outbox::SCHEMA)?;
    for (table, column) in super::outbox::COLUMNS_ADDED {
        let has: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM pragma_table_info(?1) WHERE name = ?2)",
            [table, column],
            |r| r.get(0),
        )?;
        if !has {
            tx.execute_batch(&format!("ALTER TABLE {table} ADD COLUMN {column} TEXT"))?;
        }
    }
    tx.execute_batch(super::webhooks::SCHEMA)?;
    Ok(())
}
