//! The SQLite side of `export` and `import`. Export reads every record of the venue in ONE read
//! transaction, so the file is a consistent snapshot even while the server keeps writing (WAL:
//! the writer goes on). Retired rooms are in it with their `archived_at`, their schedules, slots
//! and holds; so are the calendar feeds (their keys' digests) and the webhook endpoints (their
//! secrets). Left out: idempotency keys (a day's retry window) and the outbox (see
//! docs/operations.md). Import's side ([`Transfer`]): what the store has under many keys, read in
//! one read transaction, and the records that need no guard written in one write transaction.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Row, params};

use super::SqliteStore;
use super::rooms::policy_json;
use super::rows::{ROOM_COLUMNS, hold_at, hold_columns, room_at, stored};
use super::schedules::schedule_json;
use crate::domain::{Contact, Room, RoomId, SlotId, UserId};
use crate::error::Error;
use crate::schedule::Schedule;
use crate::store::transfer::{HoldRecord, Record, RecordKey, Transfer, WebhookRecord};
use crate::store::{from_millis, millis};

/// The hold columns of the export (and of a comparison): the hold as stored, then its story.
fn hold_select(filter: &str) -> String {
    format!(
        "SELECT {}, h.created_at, h.confirmed_at, h.manage_key, h.cancelled_at,
                h.cancelled_by, h.cancel_reason
         FROM holds h JOIN time_slots s ON s.id = h.slot_id JOIN rooms r ON r.id = s.room_id
         {filter}",
        hold_columns()
    )
}

/// A room record from a row of [`ROOM_COLUMNS`] and `archived_at` after them.
fn room_record(row: &Row<'_>) -> Result<Record, Error> {
    let room = room_at(row, 0)?;
    Ok(Record::Room {
        room_id: room.id,
        name: room.name,
        capacity: room.capacity,
        policy: room.policy,
        archived_at: row.get::<_, Option<i64>>(4)?.map(from_millis).transpose()?,
    })
}

fn schedule_record(room: &str, json: &str) -> Result<Record, Error> {
    let schedule: Schedule =
        serde_json::from_str(json).map_err(|e| Error::Internal(format!("stored schedule: {e}")))?;
    Ok(Record::Schedule {
        room_id: stored(RoomId::try_from(room.to_owned()))?,
        schedule,
    })
}

fn slot_record(row: &Row<'_>) -> Result<Record, Error> {
    Ok(Record::Slot {
        slot_id: stored(SlotId::try_from(row.get::<_, String>(0)?))?,
        room_id: stored(RoomId::try_from(row.get::<_, String>(1)?))?,
        start_time: from_millis(row.get(2)?)?,
        end_time: from_millis(row.get(3)?)?,
    })
}

fn feed_record(row: &Row<'_>) -> Result<Record, Error> {
    Ok(Record::CalendarFeed {
        room_id: stored(RoomId::try_from(row.get::<_, String>(0)?))?,
        key_digest: row.get(1)?,
        rotated_at: from_millis(row.get(2)?)?,
    })
}

fn webhook_record(row: &Row<'_>) -> Result<Record, Error> {
    Ok(Record::Webhook(Box::new(WebhookRecord::from(
        super::webhooks::webhook_of(row)?,
    ))))
}

/// Every row `sql` answers, each read by `read`.
fn all(
    conn: &Connection,
    sql: &str,
    read: impl Fn(&Row<'_>) -> Result<Record, Error>,
) -> Result<Vec<Record>, Error> {
    let mut stmt = conn.prepare(sql)?;
    let mut rows = stmt.query([])?;
    let mut records = Vec::new();
    while let Some(row) = rows.next()? {
        records.push(read(row)?);
    }
    Ok(records)
}

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
        records.extend(all(
            &tx,
            &format!("SELECT {ROOM_COLUMNS}, archived_at FROM rooms ORDER BY id"),
            room_record,
        )?);
        records.extend(all(
            &tx,
            "SELECT room_id, schedule FROM schedules ORDER BY room_id",
            |row| schedule_record(&row.get::<_, String>(0)?, &row.get::<_, String>(1)?),
        )?);
        records.extend(all(
            &tx,
            "SELECT room_id, key_digest, rotated_at FROM calendar_feeds ORDER BY room_id",
            feed_record,
        )?);
        records.extend(all(
            &tx,
            &format!(
                "SELECT {} FROM webhooks ORDER BY id",
                super::webhooks::COLUMNS
            ),
            webhook_record,
        )?);
        records.extend(all(
            &tx,
            "SELECT id, room_id, start_time, end_time FROM time_slots
             ORDER BY room_id, start_time, id",
            slot_record,
        )?);
        let mut stmt = tx.prepare(&hold_select("ORDER BY h.created_at, h.id"))?;
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

/// The record the store has under `key`, if any.
fn stored_record(
    conn: &Connection,
    key: &RecordKey,
    now: DateTime<Utc>,
) -> Result<Option<Record>, Error> {
    fn one(
        conn: &Connection,
        sql: &str,
        id: &str,
        read: impl Fn(&Row<'_>) -> Result<Record, Error>,
    ) -> Result<Option<Record>, Error> {
        let mut stmt = conn.prepare_cached(sql)?;
        let mut rows = stmt.query([id])?;
        rows.next()?.map(read).transpose()
    }
    match key {
        RecordKey::User(id) => Ok(conn
            .prepare_cached("SELECT 1 FROM users WHERE id = ?1")?
            .query_row([id.as_str()], |_| Ok(()))
            .optional()?
            .map(|()| Record::User {
                user_id: id.clone(),
            })),
        RecordKey::Room(id) => one(
            conn,
            &format!("SELECT {ROOM_COLUMNS}, archived_at FROM rooms WHERE id = ?1"),
            id.as_str(),
            room_record,
        ),
        RecordKey::Schedule(id) => one(
            conn,
            "SELECT room_id, schedule FROM schedules WHERE room_id = ?1",
            id.as_str(),
            |row| schedule_record(&row.get::<_, String>(0)?, &row.get::<_, String>(1)?),
        ),
        RecordKey::Slot(id) => one(
            conn,
            "SELECT id, room_id, start_time, end_time FROM time_slots WHERE id = ?1",
            id.as_str(),
            slot_record,
        ),
        RecordKey::Hold(id) => one(
            conn,
            &hold_select("WHERE h.id = ?1"),
            &id.to_string(),
            |row| Ok(Record::Hold(Box::new(hold_record(row, now)?))),
        ),
        RecordKey::CalendarFeed(id) => one(
            conn,
            "SELECT room_id, key_digest, rotated_at FROM calendar_feeds WHERE room_id = ?1",
            id.as_str(),
            feed_record,
        ),
        RecordKey::Webhook(id) => one(
            conn,
            &format!(
                "SELECT {} FROM webhooks WHERE id = ?1",
                super::webhooks::COLUMNS
            ),
            id,
            webhook_record,
        ),
    }
}

/// Writes one webhook endpoint as it is, over one with its id.
fn put_webhook(conn: &Connection, hook: &WebhookRecord) -> Result<(), Error> {
    let events: Vec<&str> = hook.events.iter().map(|e| e.as_str()).collect();
    let events = serde_json::to_string(&events)
        .map_err(|e| Error::Internal(format!("webhook events as JSON: {e}")))?;
    conn.prepare_cached(
        "INSERT INTO webhooks (id, url, events, secret, created_at, disabled)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (id) DO UPDATE SET url = excluded.url, events = excluded.events,
             secret = excluded.secret, created_at = excluded.created_at,
             disabled = excluded.disabled",
    )?
    .execute(params![
        hook.webhook_id,
        hook.url,
        events,
        hook.secret,
        millis(hook.created_at),
        hook.disabled
    ])?;
    Ok(())
}

/// Writes one record as it is (see [`Transfer::put_records`]).
fn put_record(conn: &Connection, record: &Record) -> Result<(), Error> {
    match record {
        Record::User { user_id } => {
            conn.prepare_cached(
                "INSERT INTO users (id, name) VALUES (?1, ?1) ON CONFLICT (id) DO NOTHING",
            )?
            .execute([user_id.as_str()])?;
        }
        Record::Room {
            room_id,
            name,
            capacity,
            policy,
            ..
        } => {
            conn.prepare_cached(
                "INSERT INTO rooms (id, name, capacity, policy) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (id) DO UPDATE SET name = excluded.name,
                     capacity = excluded.capacity, policy = excluded.policy",
            )?
            .execute(params![
                room_id.as_str(),
                name,
                capacity,
                policy_json(policy)?
            ])?;
        }
        Record::Schedule { room_id, schedule } => {
            conn.prepare_cached(
                "INSERT INTO schedules (room_id, schedule, updated_at) VALUES (?1, ?2, 0)
                 ON CONFLICT (room_id) DO UPDATE SET schedule = excluded.schedule",
            )?
            .execute(params![room_id.as_str(), schedule_json(schedule)?])?;
        }
        Record::Slot {
            slot_id,
            room_id,
            start_time,
            end_time,
        } => {
            conn.prepare_cached(
                "INSERT INTO time_slots (id, room_id, start_time, end_time) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![
                slot_id.as_str(),
                room_id.as_str(),
                millis(*start_time),
                millis(*end_time)
            ])?;
        }
        Record::CalendarFeed {
            room_id,
            key_digest,
            rotated_at,
        } => {
            conn.prepare_cached(
                "INSERT INTO calendar_feeds (room_id, key_digest, rotated_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (room_id) DO UPDATE SET key_digest = excluded.key_digest,
                     rotated_at = excluded.rotated_at",
            )?
            .execute(params![room_id.as_str(), key_digest, millis(*rotated_at)])?;
        }
        Record::Webhook(hook) => put_webhook(conn, hook)?,
        Record::Hold(hold) => {
            return Err(Error::Internal(format!(
                "hold {} is replayed, not put",
                hold.hold_id
            )));
        }
    }
    Ok(())
}

/// The order a write transaction puts records in: what others refer to first.
fn write_order(record: &Record) -> u8 {
    match record {
        Record::User { .. } => 0,
        Record::Room { .. } => 1,
        Record::Schedule { .. } | Record::CalendarFeed { .. } | Record::Webhook(_) => 2,
        Record::Slot { .. } => 3,
        Record::Hold(_) => 4,
    }
}

#[async_trait]
impl Transfer for SqliteStore {
    async fn stored(
        &self,
        keys: &[RecordKey],
        now: DateTime<Utc>,
    ) -> Result<HashMap<RecordKey, Record>, Error> {
        let mut conn = self.readers.get()?;
        let tx = conn.transaction()?;
        let mut found = HashMap::new();
        for key in keys {
            if let Some(record) = stored_record(&tx, key, now)? {
                found.insert(key.clone(), record);
            }
        }
        Ok(found)
    }

    async fn put_records(
        &self,
        records: &[Record],
        _rooms: &HashMap<RoomId, Room>,
    ) -> Result<(), Error> {
        if records.is_empty() {
            return Ok(());
        }
        let mut records = records.to_vec();
        records.sort_by_key(write_order);
        self.write(move |tx| {
            for record in &records {
                put_record(tx, record)?;
            }
            Ok(())
        })
        .await
    }
}
