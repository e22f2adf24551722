//! Rows back to domain values: the column lists the queries select and the one reader of each
//! (a hold, a slot, a room, a booking), so that every query reading a hold reads it the same way.
//! A malformed stored value is an internal error (500), never a panic.

use chrono::{DateTime, Utc};
use rusqlite::Row;

use crate::domain::{
    Booking, BookingDetails, Hold, HoldId, HoldStatus, Invalid, Reference, Room, RoomId,
    RoomPolicy, Slot, SlotId, UserId,
};
use crate::error::Error;
use crate::store::from_millis;

/// A room's rule from its policy JSON, with its default for a room stored before rules existed.
/// `r` is the `rooms` row; SQLite evaluates this inside the statement that decides.
pub(super) const MIN_NOTICE_MS: &str =
    "COALESCE(json_extract(r.policy, '$.min_notice_minutes'), 0) * 60000";
pub(super) const CANCEL_CUTOFF_MS: &str =
    "COALESCE(json_extract(r.policy, '$.cancel_cutoff_minutes'), 0) * 60000";
pub(super) const MIN_PLAYERS: &str = "COALESCE(json_extract(r.policy, '$.min_players'), 1)";

/// Reads a stored id back through its validating constructor: a malformed row is an internal
/// error, not a panic.
pub(super) fn stored<T>(parsed: Result<T, Invalid>) -> Result<T, Error> {
    parsed.map_err(|e| Error::Internal(format!("malformed stored id: {e}")))
}

fn status_of(status: &str) -> Result<HoldStatus, Error> {
    HoldStatus::parse(status).ok_or_else(|| Error::Internal(format!("stored status {status}")))
}

/// The eleven columns [`hold_at`] reads, for a hold as it is stored: `holds h` joined to its slot
/// `time_slots s` and the slot's room `rooms r` (the cut-off is the room's; see [`HOLD_JOINS`]).
pub(super) fn hold_columns() -> String {
    format!(
        "h.id, h.slot_id, h.user_id, h.status, h.expires_at, s.start_time, h.extended, h.players,
         s.start_time - {CANCEL_CUTOFF_MS}, h.reference, h.contact"
    )
}

/// The eleven columns [`hold_at`] reads, for a slot's live hold beside the slot (`time_slots s`
/// LEFT JOIN `holds h`): a listing shows holds, not their party, cut-off, reference or contact,
/// so those are NULL (the cut-off the slot's start). All NULL when the slot has no live hold.
pub(super) const LIVE_HOLD_COLUMNS: &str = "h.id, s.id, h.user_id, h.status, h.expires_at, \
     s.start_time, h.extended, NULL, s.start_time, NULL, NULL";

/// The joins under [`hold_columns`].
pub(super) const HOLD_JOINS: &str =
    "holds h JOIN time_slots s ON s.id = h.slot_id JOIN rooms r ON r.id = s.room_id";

/// How many columns [`hold_at`] reads.
pub(super) const HOLD_COLUMN_COUNT: usize = 11;

/// THE reading of a hold from a row: the [`HOLD_COLUMN_COUNT`] columns of [`hold_columns`] or
/// [`LIVE_HOLD_COLUMNS`] from column `at` on. `None` when the hold's id is NULL (a LEFT JOIN
/// found no hold).
pub(super) fn hold_at(row: &Row<'_>, at: usize) -> Result<Option<Hold>, Error> {
    let Some(id) = row.get::<_, Option<String>>(at)? else {
        return Ok(None);
    };
    Ok(Some(Hold {
        id: stored(HoldId::parse(&id))?,
        slot_id: stored(SlotId::try_from(row.get::<_, String>(at + 1)?))?,
        user_id: stored(UserId::try_from(row.get::<_, String>(at + 2)?))?,
        status: status_of(&row.get::<_, String>(at + 3)?)?,
        expires_at: from_millis(row.get(at + 4)?)?,
        starts_at: from_millis(row.get(at + 5)?)?,
        extended: row.get(at + 6)?,
        players: row.get(at + 7)?,
        cancel_by: from_millis(row.get(at + 8)?)?,
        details: details_at(row, at + 9)?,
    }))
}

/// A booking's reference and contact (JSON) from two columns at `at`.
pub(super) fn details_at(row: &Row<'_>, at: usize) -> Result<BookingDetails, Error> {
    let reference = row
        .get::<_, Option<String>>(at)?
        .map(|r| stored(Reference::parse(&r)))
        .transpose()?;
    let contact = row
        .get::<_, Option<String>>(at + 1)?
        .map(|json| {
            serde_json::from_str(&json).map_err(|e| Error::Internal(format!("stored contact: {e}")))
        })
        .transpose()?;
    Ok(BookingDetails { reference, contact })
}

/// A slot's columns as [`slot_at`] reads them, first in the row.
pub(super) const SLOT_COLUMNS: &str = "s.id, s.start_time, s.end_time, s.is_booked";

/// How many columns [`slot_at`] reads.
pub(super) const SLOT_COLUMN_COUNT: usize = 4;

/// A slot of `room` and its booked flag from the row's first columns ([`SLOT_COLUMNS`]); `None`
/// when the slot's id is NULL (a room LEFT JOIN its slots found none).
pub(super) fn slot_at(row: &Row<'_>, room: &RoomId) -> Result<Option<(Slot, bool)>, Error> {
    let Some(id) = row.get::<_, Option<String>>(0)? else {
        return Ok(None);
    };
    let slot = Slot {
        id: stored(SlotId::try_from(id))?,
        room_id: room.clone(),
        start_time: from_millis(row.get(1)?)?,
        end_time: from_millis(row.get(2)?)?,
    };
    Ok(Some((slot, row.get(3)?)))
}

/// A room's stored time zone (UTC for a room stored before rooms had rules).
pub(super) fn time_zone_of(zone: Option<&str>) -> Result<chrono_tz::Tz, Error> {
    match zone {
        None => Ok(chrono_tz::UTC),
        Some(zone) => zone
            .parse()
            .map_err(|_| Error::Internal(format!("stored time zone {zone}"))),
    }
}

/// The columns of a `rooms` row, as [`room_row`] reads them.
pub(super) const ROOM_COLUMNS: &str = "id, name, capacity, policy";

/// A `rooms` row's columns (id, name, capacity, policy) from column `at` on, undecoded.
pub(super) type RoomRow = (String, String, u32, Option<String>);

/// A `rooms` row undecoded, for a `query_row` closure (which can only fail with SQLite's error).
pub(super) fn room_row(row: &Row<'_>, at: usize) -> rusqlite::Result<RoomRow> {
    Ok((
        row.get(at)?,
        row.get(at + 1)?,
        row.get(at + 2)?,
        row.get(at + 3)?,
    ))
}

/// A room from its undecoded row.
pub(super) fn room_of((id, name, capacity, policy): RoomRow) -> Result<Room, Error> {
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

/// A room from the row's [`ROOM_COLUMNS`] at column `at`.
pub(super) fn room_at(row: &Row<'_>, at: usize) -> Result<Room, Error> {
    room_of(room_row(row, at)?)
}

/// The columns [`booking_of_row`] reads: a slot `s` and one of its holds `h`.
pub(super) const BOOKING_COLUMNS: &str = "h.id, s.id, s.start_time, h.user_id, h.players, \
     h.status, h.confirmed_at, h.cancelled_at, h.cancelled_by, h.cancel_reason, h.reference, \
     h.contact";

/// How many columns [`booking_of_row`] reads.
pub(super) const BOOKING_COLUMN_COUNT: usize = 12;

/// A booking from a row of [`BOOKING_COLUMNS`].
pub(super) fn booking_of_row(row: &Row<'_>) -> Result<Booking, Error> {
    let time = |at: usize| -> Result<Option<DateTime<Utc>>, Error> {
        row.get::<_, Option<i64>>(at)?.map(from_millis).transpose()
    };
    Ok(Booking {
        hold_id: stored(HoldId::parse(&row.get::<_, String>(0)?))?,
        slot_id: stored(SlotId::try_from(row.get::<_, String>(1)?))?,
        start_time: from_millis(row.get(2)?)?,
        user_id: stored(UserId::try_from(row.get::<_, String>(3)?))?,
        players: row.get(4)?,
        status: status_of(&row.get::<_, String>(5)?)?,
        confirmed_at: time(6)?,
        cancelled_at: time(7)?,
        cancelled_by: row.get(8)?,
        reason: row.get(9)?,
        details: details_at(row, 10)?,
    })
}
