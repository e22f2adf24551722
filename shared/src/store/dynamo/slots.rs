//! Listing a room's slots: one `Query` of `gsi1` (the room's slot items in start order), more
//! pages only for rooms over 1 MB, and a second request only to tell an unknown room from an
//! empty window.

use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use chrono::{DateTime, Utc};

use super::DynamoStore;
use super::errors::sdk_error;
use super::schema::*;
use crate::domain::{HoldStatus, RoomId, Slot, SlotKey, SlotState};
use crate::error::Error;
use crate::store::{SlotWindow, from_millis, millis};

/// See [`crate::store::Store::list_slots`].
pub(super) async fn list(
    store: &DynamoStore,
    room: &RoomId,
    window: &SlotWindow,
) -> Result<Vec<SlotState>, Error> {
    let wanted = window.limit.saturating_add(1);
    let (low, high) = slot_window_bounds(millis(window.from), window.to.map(millis));
    let mut start_key = match &window.after {
        Some((start, id)) => {
            let mut key = Key::slot(SlotKey::of(id)).item()?;
            key.insert(GSI1PK.into(), s(room_pk(room)));
            key.insert(GSI1SK.into(), s(slot_gsi1sk(millis(*start), id)));
            Some(key)
        }
        None => None,
    };
    let mut slots = Vec::new();
    // One Query per page; more only when a test sets a smaller page size.
    loop {
        let remaining = i32::try_from(wanted - slots.len()).unwrap_or(i32::MAX);
        let limit = store.page_size.map_or(remaining, |p| p.min(remaining));
        let page = room_window_query(store, room, &low, &high)
            .set_exclusive_start_key(start_key)
            .limit(limit)
            .send()
            .await
            .map_err(|e| sdk_error("Query (list slots)", e))?;
        for item in page.items.unwrap_or_default() {
            let slot: SlotItem = parse_item(item)?;
            // A retired room's slots are frozen (`archived_at`) and listed no more.
            if slot.archived_at.is_none() {
                slots.push(slot_state(slot)?);
            }
        }
        start_key = page.last_evaluated_key.filter(|k| !k.is_empty());
        if start_key.is_none() || slots.len() >= wanted {
            break;
        }
    }
    if slots.is_empty() && !room_exists(store, room).await? {
        return Err(Error::RoomNotFound);
    }
    Ok(slots)
}

/// A slot item as a listing shows it.
fn slot_state(slot: SlotItem) -> Result<SlotState, Error> {
    // Only a slot's open hold is reported; a booked slot's latest hold is the booking itself.
    // Expired holds are reported too: the caller compares with `now`.
    let hold = match (slot.hold_id, slot.hold_status) {
        (Some(id), Some(HoldStatus::Hold)) if !slot.booked => slot.hold_if(id)?,
        _ => None,
    };
    let time_zone = match slot.time_zone.as_deref() {
        Some(zone) => zone
            .parse()
            .map_err(|_| Error::Internal(format!("slot {} has time zone {zone}", slot.slot_id)))?,
        None => chrono_tz::UTC,
    };
    let book_by = slot.rules()?.book_by;
    Ok(SlotState {
        slot: Slot {
            id: slot.slot_id,
            room_id: slot.room_id,
            start_time: from_millis(slot.start_time)?,
            end_time: from_millis(slot.end_time)?,
        },
        booked: slot.booked,
        hold,
        time_zone,
        book_by,
    })
}

/// Whether the room exists and is not retired (a second request, made only when a listing
/// window is empty).
async fn room_exists(store: &DynamoStore, room: &RoomId) -> Result<bool, Error> {
    let output = store
        .client
        .get_item()
        .table_name(&store.table)
        .set_key(Some(Key::room(room).item()?))
        .projection_expression(format!("{PK}, {ARCHIVED_AT}"))
        .send()
        .await
        .map_err(|e| sdk_error("GetItem (room)", e))?;
    Ok(output
        .item
        .is_some_and(|i| !i.is_empty() && !i.contains_key(ARCHIVED_AT)))
}

/// The `Query` of `gsi1` for `room`'s slot items whose sort key lies in `[low, high]` (the bounds
/// of [`slot_window_bounds`]), in start order; the caller adds the page and sends it.
fn room_window_query(
    store: &DynamoStore,
    room: &RoomId,
    low: &str,
    high: &str,
) -> QueryFluentBuilder {
    store
        .client
        .query()
        .table_name(&store.table)
        .index_name(GSI1)
        .key_condition_expression(format!(
            "{GSI1PK} = :room AND {GSI1SK} BETWEEN :low AND :high"
        ))
        .expression_attribute_values(":room", s(room_pk(room)))
        .expression_attribute_values(":low", s(low.to_owned()))
        .expression_attribute_values(":high", s(high.to_owned()))
}

/// Every slot item of `room` starting in `[from, to)` (to the last one without `to`), in start
/// order: one `Query` of `gsi1` per 1 MB page.
pub(super) async fn room_slot_items(
    store: &DynamoStore,
    room: &RoomId,
    from: DateTime<Utc>,
    to: Option<DateTime<Utc>>,
    operation: &str,
) -> Result<Vec<SlotItem>, Error> {
    let (low, high) = slot_window_bounds(millis(from), to.map(millis));
    let mut start_key = None;
    let mut slots = Vec::new();
    loop {
        let page = room_window_query(store, room, &low, &high)
            .set_exclusive_start_key(start_key)
            .send()
            .await
            .map_err(|e| sdk_error(operation, e))?;
        for item in page.items.unwrap_or_default() {
            slots.push(parse_item::<SlotItem>(item)?);
        }
        start_key = page.last_evaluated_key.filter(|k| !k.is_empty());
        if start_key.is_none() {
            return Ok(slots);
        }
    }
}
