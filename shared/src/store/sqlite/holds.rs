//! The writes of a hold's life: create, confirm, release, extend, cancel. Each runs inside the
//! caller's `BEGIN IMMEDIATE` transaction ([`super::SqliteStore`]'s `write`), and each decides
//! with ONE guarded statement; a refusal is explained from the hold as the same transaction sees
//! it (`domain::explain_*`), so the answer always matches the guard.

use chrono::{DateTime, Duration, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use super::bookings::read_hold;
use super::outbox;
use super::rows::{
    CANCEL_CUTOFF_MS, MIN_NOTICE_MS, MIN_PLAYERS, RoomRow, room_of, room_row, stored,
};
use crate::domain::{self, Canceller, Hold, HoldId, HoldStatus, Reference, SlotId, UserId};
use crate::error::Error;
use crate::events::EventKind;
use crate::store::{
    Confirmed, Created, IDEMPOTENCY_WINDOW, IdempotencyKey, NewBooking, NewHold,
    REFERENCE_ATTEMPTS, from_millis, millis,
};

/// See [`crate::store::Store::create_hold`].
pub(super) fn create(
    tx: &Connection,
    hold: &NewHold,
    key: Option<&IdempotencyKey>,
    now: DateTime<Utc>,
) -> Result<Created, Error> {
    // A repeated key answers its first hold; its check and the new key's insert are in this one
    // write transaction, so duplicates racing each other queue on the lock.
    if let Some(key) = key
        && let Some(first) = replay(tx, key, now)?
    {
        return Ok(first);
    }
    // A player proven by a verified JWT or a guest token needs no provisioning: their record is
    // made by their first hold, here. The guarded insert needs the user's row, so only when it
    // was refused is the row made (in this same transaction) and the insert tried again: a
    // returning player's hold stays one statement on the writer.
    if insert_hold(tx, hold, now)?
        || (hold.verified_user && new_user(tx, &hold.user_id)? && insert_hold(tx, hold, now)?)
    {
        if let Some(key) = key {
            remember_key(tx, hold, key, now)?;
        }
        return Ok(hold.created());
    }
    if let Some(limit) = hold_limit(tx, hold, now)? {
        return Err(limit);
    }
    Err(create_refusal(tx, hold, now)?)
}

/// Makes the verified player's user row; whether it was new.
fn new_user(tx: &Connection, user: &UserId) -> Result<bool, Error> {
    let made = tx
        .prepare_cached("INSERT INTO users (id, name) VALUES (?1, ?1) ON CONFLICT (id) DO NOTHING")?
        .execute([user.as_str()])?;
    Ok(made == 1)
}

/// The player's live holds: `HOLD` and not expired (a released, confirmed, cancelled or expired
/// hold takes no place; an extended one takes its one place).
const LIVE_HOLDS_OF_USER: &str = "FROM holds h WHERE h.user_id = ?1 AND h.status = 'HOLD' \
                                  AND h.expires_at > ?2";

/// `HoldLimit` when the player is at `hold.max_live_holds` (inside the create's transaction,
/// after its guarded insert refused): `Retry-After` until their earliest live hold expires.
fn hold_limit(tx: &Connection, hold: &NewHold, now: DateTime<Utc>) -> Result<Option<Error>, Error> {
    let Some(cap) = hold.max_live_holds else {
        return Ok(None);
    };
    let (live, earliest): (i64, Option<i64>) = tx
        .prepare_cached(&format!(
            "SELECT COUNT(*), MIN(h.expires_at) {LIVE_HOLDS_OF_USER}"
        ))?
        .query_row(params![hold.user_id.as_str(), millis(now)], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
    if live < i64::from(cap) {
        return Ok(None);
    }
    let earliest = from_millis(earliest.unwrap_or_else(|| millis(now)))?;
    Ok(Some(Error::HoldLimit {
        retry_after_seconds: crate::domain::whole_seconds_until(earliest, now),
    }))
}

/// The guard and the write in one statement: inserts the hold only if the slot and user exist,
/// the slot is bookable under its room's rules (not started, outside the notice period, the party
/// size in the room's range), not booked and no live hold is on it, and the player has fewer
/// live holds than `hold.max_live_holds`. Whether it did.
fn insert_hold(tx: &Connection, hold: &NewHold, now: DateTime<Utc>) -> Result<bool, Error> {
    let inserted = tx
        .prepare_cached(&format!(
            "INSERT INTO holds (id, slot_id, user_id, status, expires_at, created_at, players)
             SELECT ?1, s.id, u.id, 'HOLD', ?4, ?5, COALESCE(?6, {MIN_PLAYERS})
             FROM time_slots s JOIN rooms r ON r.id = s.room_id, users u
             WHERE s.id = ?2 AND u.id = ?3 AND s.is_booked = 0 AND s.start_time > ?5
               AND r.archived_at IS NULL
               AND s.start_time - {MIN_NOTICE_MS} > ?5
               AND (?6 IS NULL OR (?6 >= {MIN_PLAYERS} AND ?6 <= r.capacity))
               AND NOT EXISTS (SELECT 1 FROM holds h
                               WHERE h.slot_id = s.id AND h.status = 'HOLD'
                                 AND h.expires_at > ?5)
               AND (?7 IS NULL OR (SELECT COUNT(*) FROM holds c
                                   WHERE c.user_id = u.id AND c.status = 'HOLD'
                                     AND c.expires_at > ?5) < ?7)"
        ))?
        .execute(params![
            hold.id.to_string(),
            hold.slot_id.as_str(),
            hold.user_id.as_str(),
            millis(hold.expires_at),
            millis(now),
            hold.players,
            hold.max_live_holds,
        ])?;
    Ok(inserted == 1)
}

/// Why the create was refused (inside the same transaction, so the answer matches the guard):
/// no such slot, no such user, the room's rules (started, notice, party), else held or booked.
fn create_refusal(tx: &Connection, hold: &NewHold, now: DateTime<Utc>) -> Result<Error, Error> {
    let slot: Option<(i64, rusqlite::Result<RoomRow>)> = tx
        .prepare_cached(
            "SELECT s.start_time, r.id, r.name, r.capacity, r.policy
             FROM time_slots s JOIN rooms r ON r.id = s.room_id
             WHERE s.id = ?1 AND r.archived_at IS NULL",
        )?
        .query_row([hold.slot_id.as_str()], |r| {
            Ok((r.get::<_, i64>(0)?, room_row(r, 1)))
        })
        .optional()?;
    let user_exists: bool = tx
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM users WHERE id = ?1)")?
        .query_row([hold.user_id.as_str()], |r| r.get(0))?;
    let Some((start, room)) = slot else {
        return Ok(Error::SlotNotFound);
    };
    // The slot's own rules before the user: whoever asks, a started slot answers the same.
    let start = from_millis(start)?;
    let checked = room_of(room?)?
        .rules_for(start)
        .check_hold(start, hold.players, now);
    if checked.is_ok() && !user_exists {
        return Ok(Error::UserNotFound);
    }
    Ok(match checked {
        Ok(()) => Error::SlotUnavailable,
        Err(refusal) => refusal.into(),
    })
}

/// The live answer to a repeated `Idempotency-Key`: its first hold, or a refusal when the key
/// came with another request. `None` when the key is new (or older than the window).
fn replay(
    tx: &Connection,
    key: &IdempotencyKey,
    now: DateTime<Utc>,
) -> Result<Option<Created>, Error> {
    let mut stmt = tx.prepare_cached(
        "SELECT request, hold_id, slot_id, user_id, expires_at FROM idempotency_keys
         WHERE key = ?1 AND created_at > ?2",
    )?;
    let mut rows = stmt.query(params![key.key, millis(now - IDEMPOTENCY_WINDOW)])?;
    let Some(row) = rows.next()? else {
        return Ok(None);
    };
    if row.get::<_, String>(0)? != key.request {
        return Err(Error::IdempotencyKeyReused);
    }
    Ok(Some(Created {
        id: stored(HoldId::parse(&row.get::<_, String>(1)?))?,
        slot_id: stored(SlotId::try_from(row.get::<_, String>(2)?))?,
        user_id: stored(UserId::try_from(row.get::<_, String>(3)?))?,
        expires_at: from_millis(row.get(4)?)?,
        replayed: true,
    }))
}

/// See [`crate::store::Store::forget_idempotency_keys`].
pub(super) fn forget_keys(tx: &Connection, before: DateTime<Utc>) -> Result<usize, Error> {
    Ok(tx
        .prepare_cached("DELETE FROM idempotency_keys WHERE created_at < ?1")?
        .execute([millis(before)])?)
}

/// Stores `key` for the hold just created (a key older than the window is replaced).
fn remember_key(
    tx: &Connection,
    hold: &NewHold,
    key: &IdempotencyKey,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    tx.prepare_cached(
        "INSERT INTO idempotency_keys
             (key, request, hold_id, slot_id, user_id, expires_at, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (key) DO UPDATE SET request = ?2, hold_id = ?3,
             slot_id = ?4, user_id = ?5, expires_at = ?6, created_at = ?7",
    )?
    .execute(params![
        key.key,
        key.request,
        hold.id.to_string(),
        hold.slot_id.as_str(),
        hold.user_id.as_str(),
        millis(hold.expires_at),
        millis(now),
    ])?;
    Ok(())
}

/// See [`crate::store::Store::confirm_booking`].
pub(super) fn confirm(
    tx: &Connection,
    id: HoldId,
    user: &UserId,
    booking: &NewBooking,
    max_bookings: Option<u32>,
    now: DateTime<Utc>,
) -> Result<Confirmed, Error> {
    let Some(hold) = confirm_transition(tx, id, user, booking, now)? else {
        let hold = domain::explain_confirm(read_hold(tx, id)?.as_ref(), user, now)?;
        return Ok(Confirmed {
            hold,
            replayed: true,
        });
    };
    // Same transaction: the booking just made is counted with the player's other upcoming ones;
    // over the cap the transaction rolls back and the hold stays a hold.
    if let Some(cap) = max_bookings
        && upcoming_bookings(tx, user, now)? > i64::from(cap)
    {
        return Err(Error::BookingLimit);
    }
    // Same transaction: book the slot. A live hold implies an unbooked slot, so this guard
    // failing means a broken invariant; the transaction is rolled back.
    let booked = tx
        .prepare_cached("UPDATE time_slots SET is_booked = 1 WHERE id = ?1 AND is_booked = 0")?
        .execute([hold.slot_id.as_str()])?;
    if booked != 1 {
        return Err(Error::Internal(format!(
            "slot {} already booked under live hold {id}",
            hold.slot_id
        )));
    }
    // Same transaction: the event, which commits or rolls back with the booking (and the key
    // its email's link carries, if the confirm keeps one).
    outbox::record(tx, id, EventKind::Confirmed, booking.mail_key.as_ref(), now)?;
    Ok(Confirmed {
        hold,
        replayed: false,
    })
}

/// The confirm's guarded statement: the caller's live hold on a slot not started becomes
/// `CONFIRMED` with its reference, key digest and contact. A reference already taken fails the
/// unique index (the statement alone is undone, the transaction goes on): another is drawn.
fn confirm_transition(
    tx: &Connection,
    id: HoldId,
    user: &UserId,
    booking: &NewBooking,
    now: DateTime<Utc>,
) -> Result<Option<Hold>, Error> {
    let contact = booking
        .contact
        .as_ref()
        .map(serde_json::to_string)
        .transpose()
        .map_err(|e| Error::Internal(format!("contact as JSON: {e}")))?;
    let mut reference = booking.reference.clone();
    for _ in 0..REFERENCE_ATTEMPTS {
        let updated = tx
            .prepare_cached(
                "UPDATE holds SET status = 'CONFIRMED', confirmed_at = ?3, reference = ?4,
                     manage_key = ?5, contact = ?6
                 WHERE id = ?1 AND user_id = ?2 AND status = 'HOLD' AND expires_at > ?3
                   AND (SELECT start_time FROM time_slots WHERE id = holds.slot_id) > ?3",
            )?
            .execute(params![
                id.to_string(),
                user.as_str(),
                millis(now),
                reference.as_str(),
                booking.key.as_str(),
                contact,
            ]);
        match updated {
            Ok(0) => return Ok(None),
            Ok(_) => return read_hold(tx, id),
            Err(err) if is_unique_violation(&err) => {
                reference = Reference::generate().map_err(|e| Error::Internal(e.0))?;
            }
            Err(err) => return Err(err.into()),
        }
    }
    Err(Error::Unavailable(format!(
        "{REFERENCE_ATTEMPTS} booking references in a row were taken"
    )))
}

/// A unique index refused the statement.
fn is_unique_violation(err: &rusqlite::Error) -> bool {
    matches!(
        err,
        rusqlite::Error::SqliteFailure(e, _)
            if e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
    )
}

/// See [`crate::store::Store::erase_contacts`].
pub(super) fn erase_contacts(tx: &Connection, ended_before: DateTime<Utc>) -> Result<usize, Error> {
    Ok(tx
        .prepare_cached(
            "UPDATE holds SET contact = NULL
             WHERE contact IS NOT NULL
               AND (SELECT end_time FROM time_slots WHERE id = holds.slot_id) < ?1",
        )?
        .execute([millis(ended_before)])?)
}

/// The player's upcoming bookings: confirmed (not cancelled) on a slot that has not started.
fn upcoming_bookings(tx: &Connection, user: &UserId, now: DateTime<Utc>) -> Result<i64, Error> {
    Ok(tx
        .prepare_cached(
            "SELECT COUNT(*) FROM holds h JOIN time_slots s ON s.id = h.slot_id
             WHERE h.user_id = ?1 AND h.status = 'CONFIRMED' AND s.start_time > ?2",
        )?
        .query_row(params![user.as_str(), millis(now)], |r| r.get(0))?)
}

/// See [`crate::store::Store::release_hold`].
pub(super) fn release(
    tx: &Connection,
    id: HoldId,
    user: &UserId,
    now: DateTime<Utc>,
) -> Result<Hold, Error> {
    match transition(tx, id, user, now, HoldStatus::Released)? {
        Some(hold) => Ok(hold),
        None => Ok(domain::explain_release(
            read_hold(tx, id)?.as_ref(),
            user,
            now,
        )?),
    }
}

/// Moves a live hold of `user` from `HOLD` to `to` (released), in one guarded statement (the
/// caller's hold, still `HOLD`, not expired; a confirm has its own, [`confirm_transition`]). Returns the
/// hold as it now stands when the guard held, `None` when it refused.
fn transition(
    tx: &Connection,
    id: HoldId,
    user: &UserId,
    now: DateTime<Utc>,
    to: HoldStatus,
) -> Result<Option<Hold>, Error> {
    let mut stmt = tx.prepare_cached(
        "UPDATE holds SET status = ?4, confirmed_at = NULL
         WHERE id = ?1 AND user_id = ?2 AND status = 'HOLD' AND expires_at > ?3
         RETURNING id",
    )?;
    let updated = stmt
        .query_row(
            params![id.to_string(), user.as_str(), millis(now), to.as_str()],
            |r| r.get::<_, String>(0),
        )
        .optional()?;
    match updated {
        Some(_) => read_hold(tx, id),
        None => Ok(None),
    }
}

/// See [`crate::store::Store::extend_hold`].
pub(super) fn extend(
    tx: &Connection,
    id: HoldId,
    user: &UserId,
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, Error> {
    // The guard: the caller's live hold, not extended yet, on a slot not started.
    let extended = tx
        .prepare_cached(
            "UPDATE holds SET expires_at = ?4, extended = 1
             WHERE id = ?1 AND user_id = ?2 AND status = 'HOLD' AND expires_at > ?3
               AND extended = 0
               AND (SELECT start_time FROM time_slots WHERE id = holds.slot_id) > ?3",
        )?
        .execute(params![
            id.to_string(),
            user.as_str(),
            millis(now),
            millis(expires_at)
        ])?;
    if extended == 1 {
        return Ok(expires_at);
    }
    let hold = domain::explain_extend(read_hold(tx, id)?.as_ref(), user, now)?;
    Err(Error::Internal(format!(
        "extension of {} refused but explained as allowed",
        hold.id
    )))
}

/// See [`crate::store::Store::cancel_hold`].
pub(super) fn cancel(
    tx: &Connection,
    id: HoldId,
    by: &Canceller,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    // A player cancels their own booking before both cut-offs; an operator any booking before
    // its start.
    let (owner, service_cutoff, room_cutoff) = match by {
        Canceller::Player { user, cutoff } => (Some(user.as_str()), *cutoff, CANCEL_CUTOFF_MS),
        Canceller::Operator { .. } => (None, Duration::zero(), "0"),
    };
    let cancelled = tx
        .prepare_cached(&format!(
            "UPDATE holds SET status = 'CANCELLED', cancelled_at = ?3, cancelled_by = ?5,
                 cancel_reason = ?6
             WHERE id = ?1 AND status = 'CONFIRMED' AND (?2 IS NULL OR user_id = ?2)
               AND (SELECT s.start_time > ?4 AND s.start_time - {room_cutoff} > ?3
                    FROM time_slots s JOIN rooms r ON r.id = s.room_id
                    WHERE s.id = holds.slot_id)
             RETURNING slot_id"
        ))?
        .query_row(
            params![
                id.to_string(),
                owner,
                millis(now),
                millis(now + service_cutoff),
                by.name(),
                by.reason(),
            ],
            |r| r.get::<_, String>(0),
        )
        .optional()?;
    let Some(slot_id) = cancelled else {
        domain::explain_cancel(read_hold(tx, id)?.as_ref(), by, now)?;
        return Ok(());
    };
    // Same transaction: the slot is free again.
    let freed = tx
        .prepare_cached("UPDATE time_slots SET is_booked = 0 WHERE id = ?1 AND is_booked = 1")?
        .execute([slot_id.as_str()])?;
    if freed != 1 {
        return Err(Error::Internal(format!(
            "slot {slot_id} of booking {id} was not booked"
        )));
    }
    // Same transaction: the event, with who cancelled and why.
    outbox::record(tx, id, EventKind::Cancelled, None, now)
}
