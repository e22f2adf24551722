//! The SQLite side of `export`: every record of the venue read in ONE read transaction, so the
//! file is a consistent snapshot even while the server keeps writing (WAL: the writer goes on).
//! Retired rooms, with their slots and holds, are left out; so are idempotency keys (a day's
//! retry window), calendar feeds and the outbox (see docs/operations.md).

use chrono::{DateTime, Utc};
use rusqlite::Row;

use super::SqliteStore;
use super::rows::{ROOM_COLUMNS, hold_at, hold_columns, room_at, stored};
use crate::domain::{Contact, RoomId, SlotId, UserId};
use crate::error::Error;
use crate::schedule::Schedule;
use crate::store::from_millis;
use crate::store::transfer::{HoldRecord, Record};

impl SqliteStore {
    /// The venue's records (see the module's header), as `now` sees each hold.
    pub fn export(&self, now: DateTime<Utc>) -> Result<Vec<Record>, Error> {
        let mut conn = self.readers.get()?;
        let tx = conn.transaction()?;
        let mut records = Vec::new();
        let mut stmt = tx.prepare("SELECT id FROM users ORDER BY id")?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            records.push(Record::User {
                user_id: stored(UserId::try_from(row.get::<_, String>(0)?))?,
            });
        }
        let mut stmt = tx.prepare(&format!(
            "SELECT {ROOM_COLUMNS} FROM rooms WHERE archived_at IS NULL ORDER BY id"
        ))?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let room = room_at(row, 0)?;
            records.push(Record::Room {
                room_id: room.id,
                name: room.name,
                capacity: room.capacity,
                policy: room.policy,
            });
        }
        let mut stmt = tx.prepare(
            "SELECT c.room_id, c.schedule FROM schedules c JOIN rooms r ON r.id = c.room_id
             WHERE r.archived_at IS NULL ORDER BY c.room_id",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let schedule: Schedule = serde_json::from_str(&row.get::<_, String>(1)?)
                .map_err(|e| Error::Internal(format!("stored schedule: {e}")))?;
            records.push(Record::Schedule {
                room_id: stored(RoomId::try_from(row.get::<_, String>(0)?))?,
                schedule,
            });
        }
        let mut stmt = tx.prepare(
            "SELECT s.id, s.room_id, s.start_time, s.end_time FROM time_slots s
             JOIN rooms r ON r.id = s.room_id WHERE r.archived_at IS NULL
             ORDER BY s.room_id, s.start_time, s.id",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            records.push(Record::Slot {
                slot_id: stored(SlotId::try_from(row.get::<_, String>(0)?))?,
                room_id: stored(RoomId::try_from(row.get::<_, String>(1)?))?,
                start_time: from_millis(row.get(2)?)?,
                end_time: from_millis(row.get(3)?)?,
            });
        }
        let mut stmt = tx.prepare(&format!(
            "SELECT {}, h.created_at, h.confirmed_at, h.manage_key, h.cancelled_at,
                    h.cancelled_by, h.cancel_reason
             FROM holds h JOIN time_slots s ON s.id = h.slot_id JOIN rooms r ON r.id = s.room_id
             WHERE r.archived_at IS NULL ORDER BY h.created_at, h.id",
            hold_columns()
        ))?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            records.push(Record::Hold(Box::new(hold_record(row, now)?)));
        }
        Ok(records)
    }
}

/// One row of the export's hold statement.
fn hold_record(row: &Row<'_>, now: DateTime<Utc>) -> Result<HoldRecord, Error> {
    let hold = hold_at(row, 0)?.ok_or_else(|| Error::Internal("a hold without an id".into()))?;
    let at = super::rows::HOLD_COLUMN_COUNT;
    let time = |i: usize| -> Result<Option<DateTime<Utc>>, Error> {
        row.get::<_, Option<i64>>(i)?.map(from_millis).transpose()
    };
    let contact: Option<Contact> = hold.details.contact.clone();
    Ok(HoldRecord {
        hold_id: hold.id,
        slot_id: hold.slot_id.clone(),
        user_id: hold.user_id.clone(),
        status: hold.view_status(now),
        created_at: from_millis(row.get(at)?)?,
        expires_at: hold.expires_at,
        extended: hold.extended,
        players: hold.players,
        confirmed_at: time(at + 1)?,
        reference: hold.details.reference.clone(),
        manage_key_digest: row.get(at + 2)?,
        contact,
        cancelled_at: time(at + 3)?,
        cancelled_by: row.get(at + 4)?,
        reason: row.get(at + 5)?,
    })
}
