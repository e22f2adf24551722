//! Reading holds and bookings: one hold, a user's live holds and bookings, a room's day sheet.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use super::rows::{
    BOOKING_COLUMNS, HOLD_COLUMN_COUNT, HOLD_JOINS, ROOM_COLUMNS, booking_of_row, hold_at,
    hold_columns, room_of, room_row, stored, time_zone_of,
};
use crate::domain::{self, Hold, HoldId, KeyDigest, Reference, RoomId, UserId};
use crate::error::Error;
use crate::store::{DaySheet, ManagedBooking, SheetWindow, UserHold, from_millis, millis};

/// The hold as stored, if it exists (also the explanation's read inside a write transaction).
pub(super) fn read_hold(conn: &Connection, id: HoldId) -> Result<Option<Hold>, Error> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {} FROM {HOLD_JOINS} WHERE h.id = ?1",
        hold_columns()
    ))?;
    let mut rows = stmt.query([id.to_string()])?;
    match rows.next()? {
        Some(row) => hold_at(row, 0),
        None => Ok(None),
    }
}

/// See [`crate::store::Store::booking_by_reference`].
pub(super) fn by_reference(
    conn: &Connection,
    reference: &Reference,
) -> Result<Option<ManagedBooking>, Error> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {}, h.manage_key, s.room_id FROM {HOLD_JOINS} WHERE h.reference = ?1",
        hold_columns()
    ))?;
    let mut rows = stmt.query([reference.as_str()])?;
    let Some(row) = rows.next()? else {
        return Ok(None);
    };
    let hold = hold_at(row, 0)?
        .ok_or_else(|| Error::Internal(format!("booking {reference} without a hold id")))?;
    let key: Option<String> = row.get(HOLD_COLUMN_COUNT)?;
    let key = key.ok_or_else(|| Error::Internal(format!("booking {reference} without a key")))?;
    Ok(Some(ManagedBooking {
        hold,
        key: KeyDigest::stored(key),
        room_id: Some(stored(RoomId::try_from(
            row.get::<_, String>(HOLD_COLUMN_COUNT + 1)?,
        ))?),
    }))
}

/// See [`crate::store::Store::user_holds`].
pub(super) fn user_holds(
    conn: &Connection,
    user: &UserId,
    now: DateTime<Utc>,
) -> Result<Vec<UserHold>, Error> {
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
        let hold = hold_at(row, 0)?
            .ok_or_else(|| Error::Internal(format!("a hold of {user} without an id")))?;
        holds.push(UserHold {
            hold,
            room_id: stored(RoomId::try_from(row.get::<_, String>(HOLD_COLUMN_COUNT)?))?,
            created_at: from_millis(row.get(HOLD_COLUMN_COUNT + 1)?)?,
        });
    }
    Ok(holds)
}

/// See [`crate::store::Store::room_bookings`]. `tx` is a read transaction: one snapshot for the
/// room (its time zone) and its bookings.
pub(super) fn room_bookings(
    tx: &Connection,
    room: &RoomId,
    window: SheetWindow,
    now: DateTime<Utc>,
) -> Result<DaySheet, Error> {
    let found = tx
        .prepare_cached(&format!("SELECT {ROOM_COLUMNS} FROM rooms WHERE id = ?1"))?
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
    // Each slot's latest hold, when it is a booking (confirmed, or cancelled and not held again
    // since): what DynamoDB's slot items carry.
    let mut stmt = tx.prepare_cached(&format!(
        "SELECT {BOOKING_COLUMNS}
         FROM time_slots s
         JOIN holds h ON h.id = (SELECT l.id FROM holds l WHERE l.slot_id = s.id
                                 ORDER BY l.created_at DESC, l.id DESC LIMIT 1)
         WHERE s.room_id = ?1 AND s.start_time >= ?2 AND s.start_time < ?3
           AND h.status IN ('CONFIRMED', 'CANCELLED')
         ORDER BY s.start_time, s.id"
    ))?;
    let mut rows = stmt.query(params![room.as_str(), millis(from), millis(to)])?;
    let mut bookings = Vec::new();
    while let Some(row) = rows.next()? {
        bookings.push(booking_of_row(row)?);
    }
    Ok(DaySheet {
        time_zone,
        from,
        to,
        bookings,
    })
}
