//! Rooms: listing (a `Query` of `gsi2`), reading (one `GetItem`), creating or replacing one.
//! Replacing is one `PutItem` guarded on the room existing (and, only when rules the slot items
//! carry changed, a copy of them onto the room's future slots). Creating is that refused
//! `PutItem`, then one `TransactWriteItems`: the room's put (only if new) and the room counter's
//! increment (only while below `MAX_ROOMS`), so the count and the insert are one atomic step.

use std::collections::HashMap;
use std::time::Duration as StdDuration;

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::update_item::{UpdateItemError, UpdateItemOutput};
use aws_sdk_dynamodb::types::{
    AttributeValue, Put, ReturnValue, ReturnValuesOnConditionCheckFailure, TransactWriteItem,
    Update,
};

use chrono::{DateTime, Utc};

use super::errors::{is_transaction_conflict, sdk_error};
use super::schema::*;
use super::{DynamoStore, SLOT_WRITES_IN_FLIGHT, slots};
use crate::domain::{Room, RoomId, SlotKey, too_many_rooms};
use crate::error::Error;
use crate::store::{from_millis, millis};

/// The room counter's sort key (under `ROOMS_PK`): how many rooms exist, kept by each
/// creation's transaction and set by seeding, so `MAX_ROOMS` is checked atomically.
pub(super) const ROOM_COUNT_SK: &str = "#COUNT";
/// The room counter's count attribute.
pub(super) const ROOM_COUNT: &str = "room_count";

/// The room counter's key.
pub(super) fn room_count_key() -> Result<HashMap<String, AttributeValue>, Error> {
    Key {
        pk: ROOMS_PK.into(),
        sk: ROOM_COUNT_SK.into(),
    }
    .item()
}

/// How often a room's creation is sent in all while other creations are writing the counter at
/// that moment (`TransactionConflict`): simultaneous creations all write it, so conflicts are
/// the rule there, not the exception.
const CREATE_ATTEMPTS: u32 = 12;

/// See [`crate::store::Store::list_rooms`].
/// A retired room has left the `gsi2` partition (its `gsi2pk` is removed), so it is not listed.
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
        .map(parse_item::<RoomItem>)
        .transpose()
        .map(|room| room.filter(|r| r.archived_at.is_none()).map(RoomItem::room))
}

/// See [`crate::store::Store::put_room`]: replaced (one request) if the room exists, otherwise
/// created within the room limit (two). A creation that finds the room made meanwhile by
/// another request replaces it instead.
pub(super) async fn put(
    store: &DynamoStore,
    room: &Room,
    max_rooms: Option<usize>,
    now: DateTime<Utc>,
) -> Result<bool, Error> {
    for _ in 0..2 {
        if let Some(old) = replace(store, room).await? {
            follow_rules(store, room, old, now).await?;
            return Ok(false);
        }
        if create(store, room, max_rooms).await? {
            return Ok(true);
        }
    }
    Err(Error::Unavailable(format!(
        "dynamodb room {}: created and removed again while being saved",
        room.id
    )))
}

/// One `PutItem` guarded on the room existing and not retired: its name and rules replace the
/// old ones, which come back. `None`: there is no such room; a retired one is `RoomArchived`.
async fn replace(
    store: &DynamoStore,
    room: &Room,
) -> Result<Option<HashMap<String, AttributeValue>>, Error> {
    let output = store
        .client
        .put_item()
        .table_name(&store.table)
        .set_item(Some(item_of(&RoomItem::of(room))?))
        .condition_expression(format!(
            "attribute_exists({PK}) AND attribute_not_exists({ARCHIVED_AT})"
        ))
        .return_values(ReturnValue::AllOld)
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
        .send()
        .await;
    match output {
        Ok(output) => Ok(output.attributes.filter(|old| !old.is_empty())),
        Err(err) => match err.as_service_error() {
            Some(PutItemError::ConditionalCheckFailedException(failed)) => {
                if failed.item().is_some_and(|old| !old.is_empty()) {
                    Err(Error::RoomArchived)
                } else {
                    Ok(None)
                }
            }
            _ => Err(sdk_error("PutItem (room)", err)),
        },
    }
}

/// One `TransactWriteItems`: the room put only if it does not exist, and the room counter
/// ([`ROOM_COUNT_SK`] under [`ROOMS_PK`]) increased only while below `max_rooms`. `false`: the
/// room exists (made meanwhile). Refused by the counter: 422 naming the limit.
async fn create(store: &DynamoStore, room: &Room, max_rooms: Option<usize>) -> Result<bool, Error> {
    let put = built(
        "room put",
        Put::builder()
            .table_name(&store.table)
            .set_item(Some(item_of(&RoomItem::of(room))?))
            .condition_expression(format!("attribute_not_exists({PK})"))
            .build(),
    )?;
    let mut count = Update::builder()
        .table_name(&store.table)
        .set_key(Some(room_count_key()?))
        .update_expression(format!(
            "SET {ROOM_COUNT} = if_not_exists({ROOM_COUNT}, :zero) + :one"
        ))
        .expression_attribute_values(":zero", n(0))
        .expression_attribute_values(":one", n(1));
    if let Some(max) = max_rooms {
        count = count
            .condition_expression(format!(
                "attribute_not_exists({ROOM_COUNT}) OR {ROOM_COUNT} < :max"
            ))
            .expression_attribute_values(":max", n(i64::try_from(max).unwrap_or(i64::MAX)));
    }
    let request = store
        .client
        .transact_write_items()
        .set_transact_items(Some(vec![
            TransactWriteItem::builder().put(put).build(),
            TransactWriteItem::builder()
                .update(update("room count", count)?)
                .build(),
        ]));
    let mut attempt = 1;
    let err = loop {
        match request.clone().send().await {
            Ok(_) => return Ok(true),
            Err(err) if attempt < CREATE_ATTEMPTS && is_transaction_conflict(&err) => {
                tokio::time::sleep(StdDuration::from_millis(5 * u64::from(attempt))).await;
                attempt += 1;
            }
            Err(err) => break err,
        }
    };
    if let Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) =
        err.as_service_error()
    {
        let codes: Vec<&str> = cancelled
            .cancellation_reasons()
            .iter()
            .map(|r| r.code().unwrap_or("None"))
            .collect();
        match (codes.first(), codes.get(1), max_rooms) {
            (Some(&"ConditionalCheckFailed"), _, _) => return Ok(false),
            (_, Some(&"ConditionalCheckFailed"), Some(max)) => {
                return Err(too_many_rooms(max).into());
            }
            _ => {}
        }
    }
    Err(sdk_error("TransactWriteItems (create room)", err))
}

/// After a replacement: when rules that the room's slot items carry changed, copy them onto
/// its future slots.
async fn follow_rules(
    store: &DynamoStore,
    room: &Room,
    old: HashMap<String, AttributeValue>,
    now: DateTime<Utc>,
) -> Result<(), Error> {
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
    Ok(())
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
