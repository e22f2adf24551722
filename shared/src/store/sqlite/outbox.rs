//! The outbox on SQLite: the `events` row written in the transaction of its change (see
//! [`record`], called by the confirm and the cancellation in `holds.rs`), and the `deliveries`
//! rows the drainer fans it out to, claims, and records attempts on.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Row, params};

use super::rows::{CANCEL_CUTOFF_MS, MIN_PLAYERS, stored};
use crate::domain::{Contact, HoldId, ManageKey, Reference, RoomId, SlotId, UserId};
use crate::error::Error;
use crate::events::{self, BookingEvent, EventData, EventId, EventKind};
use crate::store::outbox::{
    Attempted, DeliveriesAfter, DeliveriesPage, Delivery, DeliveryRecord, DeliveryState,
    MAIL_CHANNEL, Outcome, Target,
};
use crate::store::{from_millis, millis};

/// The tables of the outbox (part of the schema; created by `schema.rs`).
pub(super) const SCHEMA: &str = "
-- a booking event, written in the transaction of its change; the payload is events::BookingEvent
CREATE TABLE IF NOT EXISTS events (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    hold_id     TEXT NOT NULL,
    occurred_at INTEGER NOT NULL,  -- epoch milliseconds
    payload     TEXT NOT NULL,
    dispatched  INTEGER NOT NULL DEFAULT 0,
    -- a confirm's manage key in the clear for its email's link (never in the payload); NULL
    -- once fanned out (moved onto the email's delivery, or erased)
    mail_key    TEXT
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS events_undispatched ON events(occurred_at) WHERE dispatched = 0;
CREATE INDEX IF NOT EXISTS events_by_time ON events(occurred_at);
-- one delivery of an event to a target (channel, address)
CREATE TABLE IF NOT EXISTS deliveries (
    event_id        TEXT NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    channel         TEXT NOT NULL,
    address         TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_status     INTEGER,
    next_attempt_at INTEGER,  -- epoch milliseconds; NULL once no longer pending
    delivered_at    INTEGER,
    occurred_at     INTEGER NOT NULL,  -- the event's, for the newest-first listing
    -- an email delivery's manage key (from its event); NULL once delivered or given up
    mail_key        TEXT,
    PRIMARY KEY (event_id, channel, address)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries(next_attempt_at) WHERE state = 'pending';
CREATE INDEX IF NOT EXISTS deliveries_by_target
    ON deliveries(channel, address, occurred_at, event_id);
";

/// Columns of the outbox added after its first version: (table, column), each added to a
/// database without it (`schema.rs`).
pub(super) const COLUMNS_ADDED: [(&str, &str); 2] =
    [("events", "mail_key"), ("deliveries", "mail_key")];

/// Writes the event `kind` of the booking made by hold `id`, as the transaction `tx` has just
/// left it (the booking, its slot and room), at `now`. Called inside the confirm's or the
/// cancellation's transaction, after its guarded statement succeeded: the event commits or
/// rolls back with the change. The id is the same for a retried change, and `INSERT OR IGNORE`
/// keeps the first. `mail_key`: the manage key a confirm keeps for its email's link
/// ([`crate::store::NewBooking::mail_key`]), beside the payload, never in it.
pub(super) fn record(
    tx: &Connection,
    id: HoldId,
    kind: EventKind,
    mail_key: Option<&ManageKey>,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    let data = tx
        .prepare_cached(&format!(
            "SELECT h.reference, s.room_id, r.name, s.id, s.start_time, s.end_time,
                    COALESCE(json_extract(r.policy, '$.time_zone'), 'UTC'),
                    COALESCE(h.players, {MIN_PLAYERS}), h.user_id, h.contact, h.cancelled_by,
                    h.cancel_reason, s.start_time - {CANCEL_CUTOFF_MS}
             FROM holds h JOIN time_slots s ON s.id = h.slot_id JOIN rooms r ON r.id = s.room_id
             WHERE h.id = ?1"
        ))?
        .query_row([id.to_string()], |row| Ok(data_row(row, id)))
        .optional()?
        .ok_or_else(|| Error::Internal(format!("event of {id}: its booking is not there")))??;
    let event = BookingEvent::new(kind, now, data);
    let payload = serde_json::to_string(&event)
        .map_err(|e| Error::Internal(format!("event as JSON: {e}")))?;
    tx.prepare_cached(
        "INSERT OR IGNORE INTO events (id, kind, hold_id, occurred_at, payload, mail_key)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        event.id.as_str(),
        kind.as_str(),
        id.to_string(),
        millis(now),
        payload,
        mail_key.map(ManageKey::as_str)
    ])?;
    Ok(())
}

/// The event's data from the row of [`record`]'s query.
fn data_row(row: &Row<'_>, id: HoldId) -> Result<EventData, Error> {
    let reference = row
        .get::<_, Option<String>>(0)?
        .map(|r| stored(Reference::parse(&r)))
        .transpose()?;
    let contact = row
        .get::<_, Option<String>>(9)?
        .map(|c| serde_json::from_str::<Contact>(&c))
        .transpose()
        .map_err(|e| Error::Internal(format!("stored contact: {e}")))?;
    let start_time = from_millis(row.get(4)?)?;
    let time_zone: String = row.get(6)?;
    Ok(EventData {
        reference,
        hold_id: id,
        room_id: stored(RoomId::try_from(row.get::<_, String>(1)?))?,
        room_name: row.get(2)?,
        slot_id: stored(SlotId::try_from(row.get::<_, String>(3)?))?,
        start_time,
        end_time: from_millis(row.get(5)?)?,
        local_start: events::local_start(start_time, &time_zone),
        time_zone,
        players: row.get(7)?,
        user_id: stored(UserId::try_from(row.get::<_, String>(8)?))?,
        contact,
        cancelled_by: row.get(10)?,
        reason: row.get(11)?,
    })
}

fn event_of(payload: &str) -> Result<BookingEvent, Error> {
    serde_json::from_str(payload).map_err(|e| Error::Internal(format!("stored event: {e}")))
}

/// See [`crate::store::Outbox::undispatched_events`].
pub(super) fn undispatched(conn: &Connection, limit: usize) -> Result<Vec<BookingEvent>, Error> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let mut stmt = conn.prepare_cached(
        "SELECT payload FROM events WHERE dispatched = 0 ORDER BY occurred_at, id LIMIT ?1",
    )?;
    let rows = stmt.query_map([limit], |r| r.get::<_, String>(0))?;
    rows.map(|payload| event_of(&payload?)).collect()
}

/// See [`crate::store::Outbox::dispatch_event`]: in the one transaction, the email delivery
/// takes the event's `mail_key` and the event's is erased.
pub(super) fn dispatch(
    tx: &Connection,
    event: &BookingEvent,
    targets: &[Target],
    now: DateTime<Utc>,
) -> Result<(), Error> {
    let mut insert = tx.prepare_cached(
        "INSERT OR IGNORE INTO deliveries
             (event_id, channel, address, state, next_attempt_at, occurred_at, mail_key)
         VALUES (?1, ?2, ?3, 'pending', ?4, ?5,
                 CASE WHEN ?2 = ?6 THEN (SELECT mail_key FROM events WHERE id = ?1) END)",
    )?;
    for target in targets {
        insert.execute(params![
            event.id.as_str(),
            target.channel,
            target.address,
            millis(now),
            millis(event.occurred_at),
            MAIL_CHANNEL
        ])?;
    }
    tx.prepare_cached("UPDATE events SET dispatched = 1, mail_key = NULL WHERE id = ?1")?
        .execute([event.id.as_str()])?;
    Ok(())
}

/// A stored key back; a value not of a key's shape is no key (the link goes without it).
fn stored_key(value: Option<String>) -> Option<ManageKey> {
    value.and_then(ManageKey::stored)
}

/// See [`crate::store::Outbox::claim_deliveries`]: one statement claims the due rows.
pub(super) fn claim(
    tx: &Connection,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    limit: usize,
) -> Result<Vec<Delivery>, Error> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let mut stmt = tx.prepare_cached(
        "UPDATE deliveries SET next_attempt_at = ?2
         WHERE (event_id, channel, address) IN (
             SELECT event_id, channel, address FROM deliveries
             WHERE state = 'pending' AND next_attempt_at <= ?1
             ORDER BY next_attempt_at LIMIT ?3)
         RETURNING event_id, channel, address, attempts,
                   (SELECT payload FROM events WHERE id = deliveries.event_id), mail_key",
    )?;
    let rows = stmt.query_map(params![millis(now), millis(lease_until), limit], |r| {
        Ok((
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, u32>(3)?,
            r.get::<_, String>(4)?,
            r.get::<_, Option<String>>(5)?,
        ))
    })?;
    let mut claimed = Vec::new();
    for row in rows {
        let (channel, address, attempts, payload, key) = row?;
        claimed.push(Delivery {
            event: event_of(&payload)?,
            target: Target { channel, address },
            attempts,
            manage_key: stored_key(key),
        });
    }
    Ok(claimed)
}

/// See [`crate::store::Outbox::record_attempt`]: a delivery no longer pending keeps no key.
pub(super) fn record_attempt(
    tx: &Connection,
    event: &EventId,
    target: &Target,
    attempted: &Attempted,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    let (state, next, delivered) = match attempted.outcome {
        Outcome::Delivered => (DeliveryState::Delivered, None, Some(millis(now))),
        Outcome::RetryAt(at) => (DeliveryState::Pending, Some(millis(at)), None),
        Outcome::GaveUp => (DeliveryState::Failed, None, None),
    };
    tx.prepare_cached(
        "UPDATE deliveries SET attempts = attempts + 1, last_status = ?4, state = ?5,
             next_attempt_at = ?6, delivered_at = ?7,
             mail_key = CASE WHEN ?5 = 'pending' THEN mail_key END
         WHERE event_id = ?1 AND channel = ?2 AND address = ?3 AND state = 'pending'",
    )?
    .execute(params![
        event.as_str(),
        target.channel,
        target.address,
        attempted.status,
        state.as_str(),
        next,
        delivered
    ])?;
    Ok(())
}

/// See [`crate::store::Outbox::abandon_deliveries`].
pub(super) fn abandon(tx: &Connection, target: &Target) -> Result<usize, Error> {
    Ok(tx
        .prepare_cached(
            "UPDATE deliveries SET state = 'failed', next_attempt_at = NULL, mail_key = NULL
             WHERE channel = ?1 AND address = ?2 AND state = 'pending'",
        )?
        .execute(params![target.channel, target.address])?)
}

/// See [`crate::store::Outbox::deliveries_to`]: one statement on `deliveries_by_target`.
pub(super) fn deliveries_to(
    conn: &Connection,
    target: &Target,
    after: Option<&DeliveriesAfter>,
    limit: usize,
) -> Result<DeliveriesPage, Error> {
    let wanted = i64::try_from(limit.saturating_add(1)).unwrap_or(i64::MAX);
    let mut stmt = conn.prepare_cached(
        "SELECT d.event_id, e.kind, d.occurred_at, d.state, d.attempts, d.last_status,
                d.next_attempt_at, d.delivered_at
         FROM deliveries d JOIN events e ON e.id = d.event_id
         WHERE d.channel = ?1 AND d.address = ?2
           AND (?3 IS NULL OR (d.occurred_at, d.event_id) < (?3, ?4))
         ORDER BY d.occurred_at DESC, d.event_id DESC
         LIMIT ?5",
    )?;
    let mut rows = stmt.query(params![
        target.channel,
        target.address,
        after.map(|a| millis(a.occurred_at)),
        after.map(|a| a.event.as_str()),
        wanted
    ])?;
    let mut deliveries = Vec::new();
    while let Some(row) = rows.next()? {
        deliveries.push(record_row(row)?);
    }
    let next = if deliveries.len() > limit {
        deliveries.truncate(limit);
        deliveries.last().map(|d| DeliveriesAfter {
            occurred_at: d.occurred_at,
            event: d.event_id.clone(),
        })
    } else {
        None
    };
    Ok(DeliveriesPage { deliveries, next })
}

fn record_row(row: &Row<'_>) -> Result<DeliveryRecord, Error> {
    let time = |at: usize| -> Result<Option<DateTime<Utc>>, Error> {
        row.get::<_, Option<i64>>(at)?.map(from_millis).transpose()
    };
    let kind: String = row.get(1)?;
    let state: String = row.get(3)?;
    Ok(DeliveryRecord {
        event_id: EventId::stored(row.get(0)?),
        kind: EventKind::parse(&kind)
            .ok_or_else(|| Error::Internal(format!("stored event kind {kind}")))?,
        occurred_at: from_millis(row.get(2)?)?,
        state: DeliveryState::parse(&state)
            .ok_or_else(|| Error::Internal(format!("stored delivery state {state}")))?,
        attempts: row.get(4)?,
        last_status: row.get(5)?,
        next_attempt_at: time(6)?,
        delivered_at: time(7)?,
    })
}

/// See [`crate::store::Outbox::event`].
pub(super) fn event(conn: &Connection, id: &EventId) -> Result<Option<BookingEvent>, Error> {
    conn.prepare_cached("SELECT payload FROM events WHERE id = ?1")?
        .query_row([id.as_str()], |r| r.get::<_, String>(0))
        .optional()?
        .map(|payload| event_of(&payload))
        .transpose()
}

/// See [`crate::store::Outbox::forget_events`]: the deliveries go with their events
/// (`ON DELETE CASCADE`).
pub(super) fn forget(tx: &Connection, before: DateTime<Utc>) -> Result<usize, Error> {
    Ok(tx
        .prepare_cached("DELETE FROM events WHERE occurred_at < ?1")?
        .execute([millis(before)])?)
}
