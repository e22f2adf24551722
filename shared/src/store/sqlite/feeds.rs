//! A room's calendar feed key (its digest): read, and replaced in one guarded statement.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use crate::domain::{KeyDigest, RoomId};
use crate::error::Error;
use crate::store::{CalendarFeed, from_millis, millis};

/// See [`crate::store::Store::calendar_feed`].
pub(super) fn get(conn: &Connection, room: &RoomId) -> Result<Option<CalendarFeed>, Error> {
    let row: Option<(String, i64)> = conn
        .prepare_cached("SELECT key_digest, rotated_at FROM calendar_feeds WHERE room_id = ?1")?
        .query_row([room.as_str()], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    row.map(|(key, at)| {
        Ok(CalendarFeed {
            key: KeyDigest::stored(key),
            rotated_at: from_millis(at)?,
        })
    })
    .transpose()
}

/// See [`crate::store::Store::rotate_calendar_feed`]: one statement, written only if the room
/// exists (no row written: `RoomNotFound`).
pub(super) fn rotate(
    tx: &Transaction<'_>,
    room: &RoomId,
    key: &KeyDigest,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    let written = tx
        .prepare_cached(
            "INSERT INTO calendar_feeds (room_id, key_digest, rotated_at)
         SELECT ?1, ?2, ?3 WHERE EXISTS (SELECT 1 FROM rooms WHERE id = ?1)
         ON CONFLICT (room_id) DO UPDATE SET key_digest = excluded.key_digest,
                                            rotated_at = excluded.rotated_at",
        )?
        .execute(params![room.as_str(), key.as_str(), millis(now)])?;
    if written == 0 {
        return Err(Error::RoomNotFound);
    }
    Ok(())
}
