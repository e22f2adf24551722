//! Rooms: listing, reading, creating or replacing one. A room's rules live in its `policy` JSON,
//! which the guarded statements read directly (see `rows::MIN_NOTICE_MS`), so a changed rule
//! applies at once to every slot of the room. A retired room keeps its row (`archived_at` set):
//! its bookings still name it; every reading here leaves it out.

use rusqlite::{Connection, params};

use chrono::{DateTime, Utc};

use super::holds;
use super::rows::{ROOM_COLUMNS, room_at, stored};
use crate::domain::{Canceller, HoldId, Room, RoomId, RoomPolicy, too_many_rooms};
use crate::error::Error;
use crate::store::{Retired, millis};

/// A room's policy as stored (JSON).
pub(super) fn policy_json(policy: &RoomPolicy) -> Result<String, Error> {
    serde_json::to_string(policy).map_err(|e| Error::Internal(format!("room policy encoding: {e}")))
}

/// See [`crate::store::Store::list_rooms`].
pub(super) fn list(conn: &Connection) -> Result<Vec<Room>, Error> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {ROOM_COLUMNS} FROM rooms WHERE archived_at IS NULL ORDER BY id"
    ))?;
    let mut rows = stmt.query([])?;
    let mut rooms = Vec::new();
    while let Some(row) = rows.next()? {
        rooms.push(room_at(row, 0)?);
    }
    Ok(rooms)
}

/// See [`crate::store::Store::get_room`].
pub(super) fn get(conn: &Connection, room: &RoomId) -> Result<Option<Room>, Error> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {ROOM_COLUMNS} FROM rooms WHERE id = ?1 AND archived_at IS NULL"
    ))?;
    let mut rows = stmt.query([room.as_str()])?;
    match rows.next()? {
        Some(row) => Ok(Some(room_at(row, 0)?)),
        None => Ok(None),
    }
}

/// See [`crate::store::Store::put_room`]; `policy` is [`policy_json`] of the room's. Whether the
/// room was created. Both statements run in the caller's write transaction: the room replaced
/// if it exists, otherwise inserted only while fewer than `max_rooms` rooms exist (the count is
/// the `INSERT`'s own guard, so no other write comes between them; a retired room does not
/// count). A retired room's id is refused (`RoomArchived`).
pub(super) fn put(
    tx: &Connection,
    room: &Room,
    policy: &str,
    max_rooms: Option<usize>,
) -> Result<bool, Error> {
    let replaced = tx
        .prepare_cached(
            "UPDATE rooms SET name = ?2, capacity = ?3, policy = ?4
             WHERE id = ?1 AND archived_at IS NULL",
        )?
        .execute(params![room.id.as_str(), room.name, room.capacity, policy])?;
    if replaced > 0 {
        return Ok(false);
    }
    let archived: bool = tx
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM rooms WHERE id = ?1)")?
        .query_row([room.id.as_str()], |r| r.get(0))?;
    if archived {
        return Err(Error::RoomArchived);
    }
    let cap = max_rooms.map_or(i64::MAX, |max| i64::try_from(max).unwrap_or(i64::MAX));
    let inserted = tx
        .prepare_cached(
            "INSERT INTO rooms (id, name, capacity, policy)
             SELECT ?1, ?2, ?3, ?4
             WHERE (SELECT COUNT(*) FROM rooms WHERE archived_at IS NULL) < ?5",
        )?
        .execute(params![
            room.id.as_str(),
            room.name,
            room.capacity,
            policy,
            cap
        ])?;
    match max_rooms {
        Some(max) if inserted == 0 => Err(too_many_rooms(max).into()),
        _ => Ok(true),
    }
}

/// See [`crate::store::Store::retire_room`]: every statement in the caller's write transaction,
/// so the room, its bookings and its holds change together or not at all. Each booking is
/// cancelled by [`holds::cancel`], the operator's cancellation itself.
pub(super) fn retire(
    tx: &Connection,
    room: &RoomId,
    cancel: Option<&Canceller>,
    now: DateTime<Utc>,
) -> Result<Retired, Error> {
    // A retired room is retired again (idempotent): its state is already what this leaves.
    let found: bool = tx
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM rooms WHERE id = ?1)")?
        .query_row([room.as_str()], |r| r.get(0))?;
    if !found {
        return Err(Error::RoomNotFound);
    }
    let bookings = hold_ids(
        tx,
        "SELECT h.id FROM holds h JOIN time_slots s ON s.id = h.slot_id
         WHERE s.room_id = ?1 AND h.status = 'CONFIRMED' AND s.start_time > ?2
         ORDER BY s.start_time, h.id",
        room,
        now,
    )?;
    let Some(by) = cancel.filter(|_| !bookings.is_empty()) else {
        if !bookings.is_empty() {
            return Err(Error::RoomHasBookings {
                count: bookings.len(),
            });
        }
        return archive(tx, room, Vec::new(), now);
    };
    for &id in &bookings {
        holds::cancel(tx, id, by, now)?;
    }
    archive(tx, room, bookings, now)
}

/// Releases the room's live holds and marks it retired; with the bookings already cancelled.
fn archive(
    tx: &Connection,
    room: &RoomId,
    cancelled: Vec<HoldId>,
    now: DateTime<Utc>,
) -> Result<Retired, Error> {
    let released = hold_ids(
        tx,
        "UPDATE holds SET status = 'RELEASED'
         WHERE status = 'HOLD' AND expires_at > ?2
           AND slot_id IN (SELECT id FROM time_slots WHERE room_id = ?1)
         RETURNING id",
        room,
        now,
    )?;
    tx.prepare_cached("UPDATE rooms SET archived_at = COALESCE(archived_at, ?2) WHERE id = ?1")?
        .execute(params![room.as_str(), millis(now)])?;
    Ok(Retired {
        cancelled,
        released,
        kept: Vec::new(),
    })
}

/// The hold ids a statement over (room, now) answers.
fn hold_ids(
    tx: &Connection,
    sql: &str,
    room: &RoomId,
    now: DateTime<Utc>,
) -> Result<Vec<HoldId>, Error> {
    let mut stmt = tx.prepare_cached(sql)?;
    let mut rows = stmt.query(params![room.as_str(), millis(now)])?;
    let mut ids = Vec::new();
    while let Some(row) = rows.next()? {
        ids.push(stored(HoldId::parse(&row.get::<_, String>(0)?))?);
    }
    Ok(ids)
}
