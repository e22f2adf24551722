//! Reading holds and bookings: one hold (a `BatchGetItem` of its slot and its record), a user's
//! live holds and bookings (a `Query` of `gsi2`), a room's day sheet (a `Query` of `gsi1`).

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};
use chrono::{DateTime, Duration, Utc};

use super::errors::sdk_error;
use super::schema::*;
use super::{DynamoStore, rooms, slots};
use crate::domain::{self, Booking, Hold, HoldId, HoldStatus, RoomId, UserId};
use crate::error::Error;
use crate::store::{DaySheet, SheetWindow, UserHold, from_millis};

/// See [`crate::store::Store::get_hold`]: the slot (the authority while it carries the hold) and
/// the record, in one request.
pub(super) async fn get_hold(
    store: &DynamoStore,
    id: HoldId,
    now: DateTime<Utc>,
) -> Result<Option<Hold>, Error> {
    Ok(hold_and_room(store, id, now).await?.map(|(hold, _)| hold))
}

/// [`get_hold`], with the room of the hold's slot when the slot item still exists.
pub(super) async fn hold_and_room(
    store: &DynamoStore,
    id: HoldId,
    now: DateTime<Utc>,
) -> Result<Option<(Hold, Option<RoomId>)>, Error> {
    let keys = built(
        "look-up keys",
        KeysAndAttributes::builder()
            .keys(Key::slot(id.slot_key()).item()?)
            .keys(Key::hold(id).item()?)
            .consistent_read(true)
            .build(),
    )?;
    let output = store
        .client
        .batch_get_item()
        .request_items(&store.table, keys)
        .send()
        .await
        .map_err(|e| sdk_error("BatchGetItem (hold)", e))?;
    if output
        .unprocessed_keys
        .as_ref()
        .is_some_and(|k| !k.is_empty())
    {
        return Err(Error::Unavailable(format!(
            "dynamodb BatchGetItem (hold {id}): keys left unprocessed"
        )));
    }
    let mut items = output
        .responses
        .and_then(|mut r| r.remove(&store.table))
        .unwrap_or_default();
    let sort_key =
        |item: &HashMap<String, AttributeValue>| item.get(SK).and_then(|v| v.as_s().ok()).cloned();
    let slot = items
        .iter()
        .position(|i| sort_key(i).as_deref() == Some(SLOT_SK))
        .map(|at| items.swap_remove(at));
    let slot: Option<SlotItem> = slot.map(parse_item).transpose()?;
    let room = slot.as_ref().map(|s| s.room_id.clone());
    if let Some(hold) = slot.as_ref().map(|s| s.hold_if(id)).transpose()?.flatten() {
        return Ok(Some((hold, room)));
    }
    match items
        .into_iter()
        .find(|i| sort_key(i).as_deref() == Some(HOLD_SK))
    {
        Some(record) => {
            let mut hold = parse_item::<HoldItem>(record)?.hold(now)?;
            // A hold made without a party size was for the room's minimum, which the slot item
            // knows (its record does not).
            if hold.players.is_none() {
                hold.players = slot.and_then(|s| s.min_players);
            }
            Ok(Some((hold, room)))
        }
        None => Ok(None),
    }
}

/// See [`crate::store::Store::user_holds`].
pub(super) async fn user_holds(
    store: &DynamoStore,
    user: &UserId,
    now: DateTime<Utc>,
) -> Result<Vec<UserHold>, Error> {
    let page = store
        .client
        .query()
        .table_name(&store.table)
        .index_name(GSI2)
        .key_condition_expression(format!("{GSI2PK} = :user"))
        .expression_attribute_values(":user", s(user_pk(user)))
        .scan_index_forward(false)
        .send()
        .await
        .map_err(|e| sdk_error("Query (user holds)", e))?;
    let mut holds = Vec::new();
    for item in page.items.unwrap_or_default() {
        let slot: SlotItem = parse_item(item)?;
        let Some(id) = slot.hold_id else { continue };
        let Some(hold) = slot.hold_if(id)? else {
            continue;
        };
        let live = hold.status == HoldStatus::Confirmed || hold.is_live(now);
        if live && &hold.user_id == user {
            holds.push(UserHold {
                hold,
                room_id: slot.room_id,
                created_at: from_millis(slot.hold_created_at.unwrap_or_default())?,
            });
        }
    }
    Ok(holds)
}

/// See [`crate::store::Store::room_bookings`]. Today's window needs the room's time zone, which
/// every slot item carries: one Query of a span that holds today in any zone (a day is at most
/// 25 hours long, so from 25 hours before now to 25 after), narrowed here. A second request, for
/// the room, only when the span has no slots at all (an unknown room, or an empty calendar).
pub(super) async fn room_bookings(
    store: &DynamoStore,
    room: &RoomId,
    window: SheetWindow,
    now: DateTime<Utc>,
) -> Result<DaySheet, Error> {
    let (low, high) = match window {
        SheetWindow::Today => (now - Duration::hours(25), now + Duration::hours(25)),
        SheetWindow::Between(from, to) => (from, to),
    };
    let slots = slots::room_slot_items(store, room, low, Some(high), "Query (day sheet)").await?;
    let zone = match slots.first() {
        Some(slot) => slot.time_zone.clone(),
        None => Some(
            rooms::get(store, room)
                .await?
                .ok_or(Error::RoomNotFound)?
                .policy
                .time_zone,
        ),
    };
    let time_zone: chrono_tz::Tz = match zone.as_deref() {
        Some(zone) => zone
            .parse()
            .map_err(|_| Error::Internal(format!("room {room} has time zone {zone}")))?,
        None => chrono_tz::UTC,
    };
    let (from, to) = match window {
        SheetWindow::Today => domain::today_in(time_zone, now),
        SheetWindow::Between(from, to) => (from, to),
    };
    let mut bookings = Vec::new();
    for slot in slots {
        let start = from_millis(slot.start_time)?;
        if start >= from
            && start < to
            && let Some(booking) = booking_of(slot)?
        {
            bookings.push(booking);
        }
    }
    Ok(DaySheet {
        time_zone,
        from,
        to,
        bookings,
    })
}

/// The slot's latest hold as a booking, when it is one (`CONFIRMED`, or `CANCELLED` and not held
/// again since).
fn booking_of(slot: SlotItem) -> Result<Option<Booking>, Error> {
    let (
        Some(hold_id),
        Some(user_id),
        Some(status @ (HoldStatus::Confirmed | HoldStatus::Cancelled)),
    ) = (slot.hold_id, slot.holder, slot.hold_status)
    else {
        return Ok(None);
    };
    let time = |ms: Option<i64>| ms.map(from_millis).transpose();
    Ok(Some(Booking {
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
        details: crate::domain::BookingDetails {
            reference: slot.hold_reference,
            contact: slot.hold_contact,
        },
    }))
}
