//! Reading holds and bookings: one hold, a user's live holds and bookings, a room's day sheet.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use super::rows::{
    BOOKING_COLUMN_COUNT, BOOKING_COLUMNS, HOLD_COLUMN_COUNT, HOLD_JOINS, ROOM_COLUMNS,
    booking_of_row, hold_at, hold_columns, room_of, room_row, stored, time_zone_of,
};
use crate::domain::{self, Hold, HoldId, KeyDigest, Reference, RoomId, UserId};
use crate::error::Error;
use crate::store::{
    DaySheet, HoldsAfter, HoldsPage, ManagedBooking, Page, SheetAfter, SheetWindow, UserHold,
    from_millis, millis,
};

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

/// See [`crate::store::Store::user_holds`]: one statement on `holds_by_user`, `limit + 1` rows
/// to tell whether another page follows.
pub(super) fn user_holds(
    conn: &Connection,
    user: &UserId,
    page: &Page<HoldsAfter>,
    include_past: bool,
    now: DateTime<Utc>,
) -> Result<HoldsPage, Error> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {}, s.room_id, h.created_at
         FROM {HOLD_JOINS}
         WHERE h.user_id = ?1
           AND (?3 OR (h.status = 'HOLD' AND h.expires_at > ?2)
                   OR (h.status = 'CONFIRMED' AND s.start_time > ?2))
           AND (?4 IS NULL OR h.created_at < ?4 OR (h.created_at = ?4 AND h.id < ?5))
         ORDER BY h.created_at DESC, h.id DESC
         LIMIT ?6",
        hold_columns()
    ))?;
    let (after_ms, after_id) = match &page.after {
        Some(after) => (Some(millis(after.created)), Some(after.hold.to_string())),
        None => (None, None),
    };
    let wanted = i64::try_from(page.limit.saturating_add(1)).unwrap_or(i64::MAX);
    let mut rows = stmt.query(params![
        user.as_str(),
        millis(now),
        include_past,
        after_ms,
        after_id,
        wanted
    ])?;
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
    let next = if holds.len() > page.limit {
        holds.truncate(page.limit);
        holds.last().map(|last| HoldsAfter {
            created: last.created_at,
            hold: last.hold.id,
        })
    } else {
        None
    };
    Ok(HoldsPage { holds, next })
}

/// See [`crate::store::Store::room_bookings`]. `tx` is a read transaction: one snapshot for the
/// room (its time zone) and its bookings. Every hold that was confirmed (`confirmed_at` set:
/// `CONFIRMED`, or `CANCELLED` after it), not only each slot's latest.
pub(super) fn room_bookings(
    tx: &Connection,
    room: &RoomId,
    window: SheetWindow,
    page: &Page<SheetAfter>,
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
    let mut stmt = tx.prepare_cached(&format!(
        "SELECT {BOOKING_COLUMNS}, h.created_at
         FROM time_slots s
         JOIN holds h ON h.slot_id = s.id
         WHERE s.room_id = ?1 AND s.start_time >= ?2 AND s.start_time < ?3
           AND h.status IN ('CONFIRMED', 'CANCELLED')
           AND (?4 IS NULL OR (s.start_time, s.id, h.created_at, h.id) > (?4, ?5, ?6, ?7))
         ORDER BY s.start_time, s.id, h.created_at, h.id
         LIMIT ?8"
    ))?;
    let after = page.after.as_ref();
    let wanted = i64::try_from(page.limit.saturating_add(1)).unwrap_or(i64::MAX);
    let mut rows = stmt.query(params![
        room.as_str(),
        millis(from),
        millis(to),
        after.map(|a| millis(a.start)),
        after.map(|a| a.slot.as_str()),
        after.map(|a| millis(a.created)),
        after.map(|a| a.hold.to_string()),
        wanted
    ])?;
    let mut bookings = Vec::new();
    let mut created = Vec::new();
    while let Some(row) = rows.next()? {
        bookings.push(booking_of_row(row)?);
        created.push(from_millis(row.get(BOOKING_COLUMN_COUNT)?)?);
    }
    let next = if bookings.len() > page.limit {
        bookings.truncate(page.limit);
        bookings.last().map(|last| SheetAfter {
            start: last.start_time,
            slot: last.slot_id.clone(),
            created: created[page.limit - 1],
            hold: last.hold_id,
        })
    } else {
        None
    };
    Ok(DaySheet {
        time_zone,
        from,
        to,
        bookings,
        next,
    })
}
