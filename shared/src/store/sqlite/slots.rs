//! Listing a room's slots: one statement on a reader connection.

use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, Row, params};

use super::rows::{
    LIVE_HOLD_COLUMNS, SLOT_COLUMN_COUNT, SLOT_COLUMNS, hold_at, slot_at, time_zone_of,
};
use crate::domain::{RoomId, SlotState};
use crate::error::Error;
use crate::store::{SlotWindow, from_millis, millis};

/// The columns after the slot's and its hold's: the room's time zone, the slot's `book_by`.
const TIME_ZONE_COLUMN: usize = SLOT_COLUMN_COUNT + super::rows::HOLD_COLUMN_COUNT;
const BOOK_BY_COLUMN: usize = TIME_ZONE_COLUMN + 1;

/// One statement, one snapshot: the room (so an unknown room is told from an empty window), the
/// window's slots in order, and each slot's live hold if any. The room's rules are read from its
/// JSON once per listing, not once per slot: each is a non-correlated scalar subquery, which
/// SQLite evaluates once per execution (a materialized CTE would cost the ordered index scan a
/// temporary B-tree). Built once: the listing is the hottest statement.
static LIST_SLOTS: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {SLOT_COLUMNS}, {LIVE_HOLD_COLUMNS},
                (SELECT json_extract(policy, '$.time_zone') FROM rooms WHERE id = ?1),
                s.start_time - (SELECT COALESCE(json_extract(policy, '$.min_notice_minutes'), 0)
                                       * 60000 FROM rooms WHERE id = ?1)
         FROM rooms r
         LEFT JOIN time_slots s ON s.room_id = r.id
             AND s.start_time >= ?3 AND s.start_time < ?4
             AND (s.start_time, s.id) > (?5, ?6)
         LEFT JOIN holds h ON h.slot_id = s.id AND h.status = 'HOLD' AND h.expires_at > ?2
         WHERE r.id = ?1 AND r.archived_at IS NULL
         ORDER BY s.start_time, s.id
         LIMIT ?7"
    )
});

/// See [`crate::store::Store::list_slots`].
pub(super) fn list(
    conn: &Connection,
    room: &RoomId,
    window: &SlotWindow,
    now: DateTime<Utc>,
) -> Result<Vec<SlotState>, Error> {
    let mut stmt = conn.prepare_cached(&LIST_SLOTS)?;
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
        if let Some(slot) = slot_state(row, room, &mut zone)? {
            slots.push(slot);
        }
    }
    if found_room {
        Ok(slots)
    } else {
        Err(Error::RoomNotFound)
    }
}

/// A row of [`LIST_SLOTS`] as a slot with its live hold; `None` for the room's row without a
/// slot (no slots in the window). The room's time zone is decoded once, into `zone`.
fn slot_state(
    row: &Row<'_>,
    room: &RoomId,
    zone: &mut Option<chrono_tz::Tz>,
) -> Result<Option<SlotState>, Error> {
    let Some((slot, booked)) = slot_at(row, room)? else {
        return Ok(None);
    };
    let time_zone = match *zone {
        Some(zone) => zone,
        None => {
            let z = time_zone_of(row.get::<_, Option<String>>(TIME_ZONE_COLUMN)?.as_deref())?;
            *zone = Some(z);
            z
        }
    };
    Ok(Some(SlotState {
        slot,
        booked,
        hold: hold_at(row, SLOT_COLUMN_COUNT)?,
        time_zone,
        book_by: from_millis(row.get(BOOK_BY_COLUMN)?)?,
    }))
}
