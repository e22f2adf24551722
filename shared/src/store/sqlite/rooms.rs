//! Rooms: listing, reading, creating or replacing one. A room's rules live in its `policy` JSON,
//! which the guarded statements read directly (see `rows::MIN_NOTICE_MS`), so a changed rule
//! applies at once to every slot of the room.

use rusqlite::{Connection, params};

use super::rows::{ROOM_COLUMNS, room_at};
use crate::domain::{Room, RoomId, RoomPolicy, too_many_rooms};
use crate::error::Error;

/// A room's policy as stored (JSON).
pub(super) fn policy_json(policy: &RoomPolicy) -> Result<String, Error> {
    serde_json::to_string(policy).map_err(|e| Error::Internal(format!("room policy encoding: {e}")))
}

/// See [`crate::store::Store::list_rooms`].
pub(super) fn list(conn: &Connection) -> Result<Vec<Room>, Error> {
    let mut stmt = conn.prepare_cached(&format!("SELECT {ROOM_COLUMNS} FROM rooms ORDER BY id"))?;
    let mut rows = stmt.query([])?;
    let mut rooms = Vec::new();
    while let Some(row) = rows.next()? {
        rooms.push(room_at(row, 0)?);
    }
    Ok(rooms)
}

/// See [`crate::store::Store::get_room`].
pub(super) fn get(conn: &Connection, room: &RoomId) -> Result<Option<Room>, Error> {
    let mut stmt =
        conn.prepare_cached(&format!("SELECT {ROOM_COLUMNS} FROM rooms WHERE id = ?1"))?;
    let mut rows = stmt.query([room.as_str()])?;
    match rows.next()? {
        Some(row) => Ok(Some(room_at(row, 0)?)),
        None => Ok(None),
    }
}

/// See [`crate::store::Store::put_room`]; `policy` is [`policy_json`] of the room's. Whether the
/// room was created. Both statements run in the caller's write transaction: the room replaced
/// if it exists, otherwise inserted only while fewer than `max_rooms` rooms exist (the count is
/// the `INSERT`'s own guard, so no other write comes between them).
pub(super) fn put(
    tx: &Connection,
    room: &Room,
    policy: &str,
    max_rooms: Option<usize>,
) -> Result<bool, Error> {
    let replaced = tx
        .prepare_cached("UPDATE rooms SET name = ?2, capacity = ?3, policy = ?4 WHERE id = ?1")?
        .execute(params![room.id.as_str(), room.name, room.capacity, policy])?;
    if replaced > 0 {
        return Ok(false);
    }
    let cap = max_rooms.map_or(i64::MAX, |max| i64::try_from(max).unwrap_or(i64::MAX));
    let inserted = tx
        .prepare_cached(
            "INSERT INTO rooms (id, name, capacity, policy)
             SELECT ?1, ?2, ?3, ?4 WHERE (SELECT COUNT(*) FROM rooms) < ?5",
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
