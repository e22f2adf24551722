//! A room's day sheet: the bookings its slot items carry (a `Query` of `gsi1`, `SLOT#…`) and the
//! cancelled bookings whose slots have moved on, kept by their hold records in the same
//! partition (`BOOKING#…`, written by the cancellation), merged in one order and paged.

use chrono::{DateTime, Duration, Utc};

use super::errors::sdk_error;
use super::schema::*;
use super::{DynamoStore, rooms, slots};
use crate::domain::{self, Booking, BookingDetails, HoldStatus, RoomId};
use crate::error::Error;
use crate::store::{DaySheet, Page, SheetAfter, SheetWindow, from_millis, millis};

/// A booking and its place in the sheet's order: (start ms, slot id, hold's creation ms, hold id).
type Keyed = ((i64, String, i64, String), Booking);

/// See [`crate::store::Store::room_bookings`]. Today's window needs the room's time zone, which
/// every slot item carries: one Query of a span that holds today in any zone (a day is at most
/// 25 hours long, so from 25 hours before now to 25 after), narrowed here. A second request, for
/// the room, only when the span has no slots at all (an unknown room, or an empty calendar). The
/// slots of the page's span are read whole (a window is at most 31 days); the cancelled
/// bookings' records `limit + 1` at a time.
pub(super) async fn room_bookings(
    store: &DynamoStore,
    room: &RoomId,
    window: SheetWindow,
    page: &Page<SheetAfter>,
    now: DateTime<Utc>,
) -> Result<DaySheet, Error> {
    let (low, high) = match window {
        SheetWindow::Today => (now - Duration::hours(25), now + Duration::hours(25)),
        SheetWindow::Between(from, to) => (from, to),
    };
    let low = match &page.after {
        Some(after) if after.start > low => after.start.min(high),
        _ => low,
    };
    let slots = slots::room_slot_items(store, room, low, Some(high), "Query (day sheet)").await?;
    let time_zone = time_zone(store, room, slots.first()).await?;
    let (from, to) = match window {
        SheetWindow::Today => domain::today_in(time_zone, now),
        SheetWindow::Between(from, to) => (from, to),
    };
    let after = page.after.as_ref().map(|a| {
        (
            millis(a.start),
            a.slot.to_string(),
            millis(a.created),
            a.hold.to_string(),
        )
    });
    let follows = |key: &(i64, String, i64, String)| after.as_ref().is_none_or(|a| key > a);
    let mut merged = Vec::new();
    for slot in slots {
        let start = from_millis(slot.start_time)?;
        if start >= from
            && start < to
            && let Some(keyed) = booking_of(slot)?
            && follows(&keyed.0)
        {
            merged.push(keyed);
        }
    }
    let span = (millis(from.max(low)), millis(to));
    let (records, more) = cancelled(store, room, span, page.limit + 1, &follows).await?;
    // Past the last record read, another record may come before a slot's booking: those wait.
    let bound = more.then(|| records.last().map(|r| r.0.clone())).flatten();
    merged.extend(records);
    merged.sort_by(|a, b| a.0.cmp(&b.0));
    // A slot's latest booking, once cancelled, is on the slot and in its record: shown once.
    merged.dedup_by(|a, b| a.1.hold_id == b.1.hold_id);
    if let Some(bound) = bound {
        merged.retain(|b| b.0 <= bound);
    }
    let next = if merged.len() > page.limit || more {
        merged.truncate(page.limit);
        merged.last().map(|(key, b)| -> Result<SheetAfter, Error> {
            Ok(SheetAfter {
                start: b.start_time,
                slot: b.slot_id.clone(),
                created: from_millis(key.2)?,
                hold: b.hold_id,
            })
        })
    } else {
        None
    }
    .transpose()?;
    Ok(DaySheet {
        time_zone,
        from,
        to,
        bookings: merged.into_iter().map(|(_, b)| b).collect(),
        next,
    })
}

/// The room's time zone, from its first slot of the span, else from the room (one `GetItem`:
/// `RoomNotFound` when there is none).
async fn time_zone(
    store: &DynamoStore,
    room: &RoomId,
    first: Option<&SlotItem>,
) -> Result<chrono_tz::Tz, Error> {
    let zone = match first {
        Some(slot) => slot.time_zone.clone(),
        None => Some(
            rooms::get(store, room)
                .await?
                .ok_or(Error::RoomNotFound)?
                .policy
                .time_zone,
        ),
    };
    match zone.as_deref() {
        Some(zone) => zone
            .parse()
            .map_err(|_| Error::Internal(format!("room {room} has time zone {zone}"))),
        None => Ok(chrono_tz::UTC),
    }
}

/// Up to `wanted` cancelled bookings' records of the room starting in `span` (epoch ms) that
/// `follows` the page's position, in order, and whether more may follow them.
async fn cancelled(
    store: &DynamoStore,
    room: &RoomId,
    (from, to): (i64, i64),
    wanted: usize,
    follows: &impl Fn(&(i64, String, i64, String)) -> bool,
) -> Result<(Vec<Keyed>, bool), Error> {
    let query = store
        .client
        .query()
        .table_name(&store.table)
        .index_name(GSI1)
        .key_condition_expression(format!(
            "{GSI1PK} = :room AND {GSI1SK} BETWEEN :low AND :high"
        ))
        .expression_attribute_values(":room", s(room_pk(room)))
        .expression_attribute_values(":low", s(format!("{BOOKING_PREFIX}{:015}", from.max(0))))
        .expression_attribute_values(":high", s(format!("{BOOKING_PREFIX}{:015}", to.max(0))));
    let mut start_key = None;
    let mut records = Vec::new();
    loop {
        let remaining = i32::try_from(wanted - records.len()).unwrap_or(i32::MAX);
        let output = query
            .clone()
            .set_exclusive_start_key(start_key)
            .limit(store.page_size.map_or(remaining, |p| p.min(remaining)))
            .send()
            .await
            .map_err(|e| sdk_error("Query (day sheet's cancellations)", e))?;
        for item in output.items.unwrap_or_default() {
            let keyed = cancelled_booking(parse_item(item)?)?;
            if follows(&keyed.0) {
                records.push(keyed);
            }
        }
        start_key = output.last_evaluated_key.filter(|k| !k.is_empty());
        match start_key {
            None => return Ok((records, false)),
            Some(_) if records.len() >= wanted => return Ok((records, true)),
            Some(_) => {}
        }
    }
}

/// A cancelled booking from its record (written so by the cancellation).
fn cancelled_booking(record: HoldItem) -> Result<Keyed, Error> {
    let start = record.start_time.ok_or_else(|| {
        Error::Internal(format!("cancelled record {} without start", record.hold_id))
    })?;
    let time = |ms: Option<i64>| ms.map(from_millis).transpose();
    let key = (
        start,
        record.slot_id.to_string(),
        record.created_at,
        record.hold_id.to_string(),
    );
    Ok((
        key,
        Booking {
            hold_id: record.hold_id,
            slot_id: record.slot_id,
            start_time: from_millis(start)?,
            user_id: record.user_id,
            players: record.players,
            status: HoldStatus::Cancelled,
            confirmed_at: time(record.confirmed_at)?,
            cancelled_at: time(record.cancelled_at)?,
            cancelled_by: record.cancelled_by,
            reason: record.reason,
            details: BookingDetails {
                reference: record.reference,
                contact: record.contact,
            },
        },
    ))
}

/// The slot's latest hold as a booking, when it is one (`CONFIRMED`, or `CANCELLED` and not held
/// again since).
fn booking_of(slot: SlotItem) -> Result<Option<Keyed>, Error> {
    let (
        Some(hold_id),
        Some(user_id),
        Some(status @ (HoldStatus::Confirmed | HoldStatus::Cancelled)),
    ) = (slot.hold_id, slot.holder, slot.hold_status)
    else {
        return Ok(None);
    };
    let time = |ms: Option<i64>| ms.map(from_millis).transpose();
    let key = (
        slot.start_time,
        slot.slot_id.to_string(),
        slot.hold_created_at.unwrap_or_default(),
        hold_id.to_string(),
    );
    Ok(Some((
        key,
        Booking {
            hold_id,
            slot_id: slot.slot_id,
            start_time: from_millis(slot.start_time)?,
            user_id,
            players: slot.hold_players,
            status,
            confirmed_at: time(slot.hold_confirmed_at)?,
            cancelled_at: time(slot.hold_cancelled_at)?,
            cancelled_by: slot.hold_cancelled_by,
            reason: slot.hold_cancel_reason,
            details: BookingDetails {
                reference: slot.hold_reference,
                contact: slot.hold_contact,
            },
        },
    )))
}
