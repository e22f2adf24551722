//! Rooms: listing (a `Query` of `gsi2`), reading (one `GetItem`), creating or replacing one (one
//! `PutItem`, and, only when rules the slot items carry changed, a copy of them onto the room's
//! future slots).

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::update_item::{UpdateItemError, UpdateItemOutput};
use aws_sdk_dynamodb::types::ReturnValue;
use chrono::{DateTime, Utc};

use super::errors::sdk_error;
use super::schema::*;
use super::{DynamoStore, SLOT_WRITES_IN_FLIGHT, slots};
use crate::domain::{Room, RoomId, SlotKey};
use crate::error::Error;
use crate::store::{from_millis, millis};

/// See [`crate::store::Store::list_rooms`].
pub(super) async fn list(store: &DynamoStore) -> Result<Vec<Room>, Error> {
    let page = store
        .client
        .query()
        .table_name(&store.table)
        .index_name(GSI2)
        .key_condition_expression(format!("{GSI2PK} = :rooms"))
        .expression_attribute_values(":rooms", s(ROOMS_PK))
        .send()
        .await
        .map_err(|e| sdk_error("Query (rooms)", e))?;
    page.items
        .unwrap_or_default()
        .into_iter()
        .map(|item| Ok(parse_item::<RoomItem>(item)?.room()))
        .collect()
}

/// See [`crate::store::Store::get_room`].
pub(super) async fn get(store: &DynamoStore, room: &RoomId) -> Result<Option<Room>, Error> {
    let output = store
        .client
        .get_item()
        .table_name(&store.table)
        .set_key(Some(Key::room(room).item()?))
        .consistent_read(true)
        .send()
        .await
        .map_err(|e| sdk_error("GetItem (room)", e))?;
    output
        .item
        .filter(|i| !i.is_empty())
        .map(|item| Ok(parse_item::<RoomItem>(item)?.room()))
        .transpose()
}

/// See [`crate::store::Store::put_room`].
pub(super) async fn put(
    store: &DynamoStore,
    room: &Room,
    now: DateTime<Utc>,
) -> Result<bool, Error> {
    // One PutItem: the room's name and rules replace the old ones; the old item, returned, tells
    // a replacement (200) from a creation (201).
    let output = store
        .client
        .put_item()
        .table_name(&store.table)
        .set_item(Some(item_of(&RoomItem::of(room))?))
        .return_values(ReturnValue::AllOld)
        .send()
        .await
        .map_err(|e| sdk_error("PutItem (room)", e))?;
    let old = output.attributes.filter(|old| !old.is_empty());
    let Some(old) = old else {
        return Ok(true);
    };
    // Rules that the room's slot items carry changed: copy them onto its future slots, so that
    // holds and cancellations follow the new rules at once (as on SQLite, where they are read
    // from the room). Only then more requests: a Query and one UpdateItem per slot.
    let old = parse_item::<RoomItem>(old)?.room();
    let start = DateTime::<Utc>::UNIX_EPOCH;
    if old.rules_for(start) != room.rules_for(start)
        || old.policy.time_zone != room.policy.time_zone
    {
        copy_rules_to_slots(store, room, now).await?;
    }
    Ok(false)
}

/// Copies `room`'s rules and time zone onto each of its slot items starting after `now`, 32
/// updates in flight, each guarded on the slot's start being the one the rules were computed for
/// (a slot moved meanwhile got its rules from the move).
async fn copy_rules_to_slots(
    store: &DynamoStore,
    room: &Room,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    let slots = slots::room_slot_items(store, &room.id, now, None, "Query (room's slots)").await?;
    let mut tasks = tokio::task::JoinSet::new();
    for slot in slots {
        let rules = room.rules_for(from_millis(slot.start_time)?);
        let request = store
            .client
            .update_item()
            .table_name(&store.table)
            .set_key(Some(Key::slot(SlotKey::of(&slot.slot_id)).item()?))
            .condition_expression(format!("{SLOT_ID} = :slot AND {START_TIME} = :start"))
            .update_expression(format!(
                "SET {TIME_ZONE} = :zone, {MIN_PLAYERS} = :min, {MAX_PLAYERS} = :max, \
                 {BOOK_BY} = :book_by, {CANCEL_BY} = :cancel_by"
            ))
            .expression_attribute_values(":slot", s(slot.slot_id.as_str()))
            .expression_attribute_values(":start", n(slot.start_time))
            .expression_attribute_values(":zone", s(room.policy.time_zone.as_str()))
            .expression_attribute_values(":min", n(i64::from(rules.min_players)))
            .expression_attribute_values(":max", n(i64::from(rules.max_players)))
            .expression_attribute_values(":book_by", n(millis(rules.book_by)))
            .expression_attribute_values(":cancel_by", n(millis(rules.cancel_by)));
        if tasks.len() >= SLOT_WRITES_IN_FLIGHT
            && let Some(done) = tasks.join_next().await
        {
            copied(done)?;
        }
        tasks.spawn(async move { request.send().await });
    }
    while let Some(done) = tasks.join_next().await {
        copied(done)?;
    }
    Ok(())
}

/// One rules copy's outcome: written, or refused because the slot moved or went meanwhile (either
/// way it needs nothing more).
fn copied(
    done: Result<Result<UpdateItemOutput, SdkError<UpdateItemError>>, tokio::task::JoinError>,
) -> Result<(), Error> {
    match done.map_err(|e| Error::Internal(format!("rules copy task: {e}")))? {
        Ok(_) => Ok(()),
        Err(err)
            if matches!(
                err.as_service_error(),
                Some(UpdateItemError::ConditionalCheckFailedException(_))
            ) =>
        {
            Ok(())
        }
        Err(err) => Err(sdk_error("UpdateItem (slot rules)", err)),
    }
}
