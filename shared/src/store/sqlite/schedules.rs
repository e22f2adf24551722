//! A room's weekly schedule: reading it, and applying one (storing it and making the room's
//! future slots the planned ones) in one short write transaction.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use super::rows::{LIVE_HOLD_COLUMNS, SLOT_COLUMN_COUNT, SLOT_COLUMNS, hold_at, slot_at};
use crate::domain::{RoomId, SlotState};
use crate::error::Error;
use crate::schedule::{PlannedSlot, Schedule};
use crate::store::{Applied, millis, overlaps};

/// A schedule as stored (JSON).
pub(super) fn schedule_json(schedule: &Schedule) -> Result<String, Error> {
    serde_json::to_string(schedule).map_err(|e| Error::Internal(format!("schedule encoding: {e}")))
}

/// See [`crate::store::Store::get_schedule`].
pub(super) fn get(conn: &Connection, room: &RoomId) -> Result<Option<Schedule>, Error> {
    let json: Option<String> = conn
        .prepare_cached("SELECT schedule FROM schedules WHERE room_id = ?1")?
        .query_row([room.as_str()], |r| r.get(0))
        .optional()?;
    json.map(|j| {
        serde_json::from_str(&j).map_err(|e| Error::Internal(format!("stored schedule: {e}")))
    })
    .transpose()
}

/// See [`crate::store::Store::apply_schedule`]; `schedule` is [`schedule_json`] of the room's.
/// Every decision is taken in `tx`, under the write lock, so no hold can land between a check
/// and a removal.
pub(super) fn apply(
    tx: &Connection,
    room: &RoomId,
    schedule: &str,
    planned: &[PlannedSlot],
    from: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Applied, Error> {
    tx.prepare_cached(
        "INSERT INTO schedules (room_id, schedule, updated_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (room_id) DO UPDATE SET schedule = ?2, updated_at = ?3",
    )?
    .execute(params![room.as_str(), schedule, millis(now)])?;
    let future = future_slots(tx, room, planned, from, now)?;
    let mut applied = Applied::default();
    create_planned(tx, room, planned, &future, &mut applied)?;
    let mut update = tx.prepare_cached(
        "UPDATE time_slots SET start_time = ?2, end_time = ?3 WHERE id = ?1 AND is_booked = 0",
    )?;
    for (id, start, end) in &future.moved {
        applied.updated += update.execute(params![id, millis(*start), millis(*end)])?;
    }
    // A free slot's past holds (released, expired, cancelled) go with it.
    let mut forget_holds = tx.prepare_cached("DELETE FROM holds WHERE slot_id = ?1")?;
    let mut remove = tx.prepare_cached("DELETE FROM time_slots WHERE id = ?1")?;
    for id in &future.free {
        forget_holds.execute([id.as_str()])?;
        applied.removed += remove.execute([id.as_str()])?;
    }
    applied.kept = future.kept;
    Ok(applied)
}

/// The room's slots from `from` on, by what the plan does with them.
#[derive(Default)]
struct Future {
    /// Slots the plan has (left as they are, or moved).
    planned: HashSet<String>,
    /// Free slots the plan has at other times: their id and planned start and end.
    moved: Vec<(String, DateTime<Utc>, DateTime<Utc>)>,
    /// Free slots the plan no longer has: removed.
    free: Vec<String>,
    /// Held or booked slots the plan no longer has: never touched.
    kept: Vec<SlotState>,
}

fn future_slots(
    tx: &Connection,
    room: &RoomId,
    planned: &[PlannedSlot],
    from: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Future, Error> {
    let wanted: HashMap<&str, &PlannedSlot> =
        planned.iter().map(|s| (s.slot_id.as_str(), s)).collect();
    let mut stmt = tx.prepare_cached(&format!(
        "SELECT {SLOT_COLUMNS}, {LIVE_HOLD_COLUMNS}
         FROM time_slots s
         LEFT JOIN holds h ON h.slot_id = s.id AND h.status = 'HOLD' AND h.expires_at > ?3
         WHERE s.room_id = ?1 AND s.start_time >= ?2
         ORDER BY s.start_time, s.id"
    ))?;
    let mut rows = stmt.query(params![room.as_str(), millis(from), millis(now)])?;
    let mut future = Future::default();
    while let Some(row) = rows.next()? {
        let Some((slot, booked)) = slot_at(row, room)? else {
            continue;
        };
        let hold = hold_at(row, SLOT_COLUMN_COUNT)?;
        let occupied = booked || hold.is_some();
        let id = slot.id.as_str().to_owned();
        if let Some(plan) = wanted.get(id.as_str()) {
            let planned_times = (millis(plan.start_time), millis(plan.end_time));
            if !occupied && planned_times != (millis(slot.start_time), millis(slot.end_time)) {
                future
                    .moved
                    .push((id.clone(), plan.start_time, plan.end_time));
            }
            future.planned.insert(id);
        } else if !occupied {
            future.free.push(id);
        } else {
            let start_time = slot.start_time;
            future.kept.push(SlotState {
                slot,
                booked,
                hold,
                time_zone: chrono_tz::UTC,
                book_by: start_time,
            });
        }
    }
    Ok(future)
}

/// Creates the planned slots that do not exist yet, except those a kept slot overlaps (a room
/// never has two games at once; counted as skipped).
fn create_planned(
    tx: &Connection,
    room: &RoomId,
    planned: &[PlannedSlot],
    future: &Future,
    applied: &mut Applied,
) -> Result<(), Error> {
    let mut insert = tx.prepare_cached(
        "INSERT INTO time_slots (id, room_id, start_time, end_time) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (id) DO NOTHING",
    )?;
    for slot in planned {
        if future.planned.contains(slot.slot_id.as_str()) {
            continue;
        }
        let span = (slot.start_time, slot.end_time);
        if future
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
    Ok(())
}
