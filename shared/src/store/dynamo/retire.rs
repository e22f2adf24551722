//! Retiring a room (`DELETE /rooms/{room_id}`). DynamoDB has no transaction over a room and all
//! its slots (a `TransactWriteItems` takes 100 items), so retirement is a sequence of guarded
//! writes ordered so that nothing slips in:
//!
//! 1. one consistent `GetItem` of the room (unknown: 404);
//! 2. the room's upcoming slots, one `Query` of `gsi1` per 1 MB page; an upcoming booking without
//!    `cancel` answers 409 `ROOM_HAS_BOOKINGS` before anything is written;
//! 3. one `TransactWriteItems`: the room item gets `archived_at` and leaves the room list (its
//!    `gsi2pk` is removed), and the room counter goes down by one (`MAX_ROOMS` counts rooms in
//!    use). From here on the room is gone from `GET /rooms`, `GET /rooms/{id}`, `PUT` of its id
//!    is 409 and the daily horizon run skips it;
//! 4. each upcoming slot is frozen: one `UpdateItem` sets `archived_at`, guarded on the slot
//!    carrying no live hold; the create's guard refuses a frozen slot, so no hold is taken on it
//!    from then on. A slot that carries a live hold gets a second `UpdateItem` that releases that
//!    very hold (guarded on it still being the slot's live hold) in the same write as the freeze,
//!    so the hold can no longer be confirmed or extended. A booking confirmed before its slot
//!    froze is in the frozen image;
//! 5. each booking found is cancelled by [`super::holds::cancel`] as the operator (the same two
//!    requests as `POST /holds/{id}/cancel`). A booking confirmed between step 2 and its slot's
//!    freeze, when no `cancel` was asked for, is kept and named in `kept`.
//!
//! Every step is idempotent: retiring a retired room runs steps 2, 4 and 5 again (step 3 finds it
//! done), so an interrupted retirement is completed by sending it again.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::types::{
    AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};
use chrono::{DateTime, Utc};

use super::errors::{is_transaction_conflict, sdk_error};
use super::rooms::{ROOM_COUNT, room_count_key};
use super::schema::*;
use super::{DynamoStore, SLOT_WRITES_IN_FLIGHT, holds, retry_on_conflict, slots};
use crate::domain::{Canceller, HoldId, HoldStatus, RoomId, SlotKey};
use crate::error::Error;
use crate::store::{Retired, millis};

/// How often one slot's freeze is tried while its hold changes under it (each try is refused
/// only because the slot's state moved: a hold taken, confirmed or released meanwhile).
const FREEZE_ATTEMPTS: usize = 8;

/// See [`crate::store::Store::retire_room`] and the steps above.
pub(super) async fn retire(
    store: &DynamoStore,
    room: &RoomId,
    cancel: Option<&Canceller>,
    now: DateTime<Utc>,
) -> Result<Retired, Error> {
    let output = store
        .client
        .get_item()
        .table_name(&store.table)
        .set_key(Some(Key::room(room).item()?))
        .consistent_read(true)
        .send()
        .await
        .map_err(|e| sdk_error("GetItem (room)", e))?;
    let Some(item) = output.item.filter(|i| !i.is_empty()) else {
        return Err(Error::RoomNotFound);
    };
    let already = item.contains_key(ARCHIVED_AT);
    let upcoming: Vec<SlotItem> =
        slots::room_slot_items(store, room, now, None, "Query (retired room's slots)")
            .await?
            .into_iter()
            .filter(|slot| slot.start_time > millis(now))
            .collect();
    let booked = upcoming.iter().filter(|slot| is_booking(slot)).count();
    if booked > 0 && cancel.is_none() {
        return Err(Error::RoomHasBookings { count: booked });
    }
    if !already {
        archive_room(store, room, now).await?;
    }
    let mut retired = Retired::default();
    let mut bookings = Vec::new();
    let mut tasks = tokio::task::JoinSet::new();
    for slot in upcoming {
        if tasks.len() >= SLOT_WRITES_IN_FLIGHT
            && let Some(done) = tasks.join_next().await
        {
            frozen(done, &mut retired, &mut bookings)?;
        }
        let (client, table) = (store.client.clone(), store.table.clone());
        tasks.spawn(async move { freeze(&client, &table, slot, now).await });
    }
    while let Some(done) = tasks.join_next().await {
        frozen(done, &mut retired, &mut bookings)?;
    }
    bookings.sort_unstable_by_key(|(start, id)| (*start, id.to_string()));
    for (_, id) in bookings {
        match cancel {
            Some(by) => {
                holds::cancel(store, id, by, now).await?;
                retired.cancelled.push(id);
            }
            None => retired.kept.push(id),
        }
    }
    Ok(retired)
}

/// The slot carries a confirmed booking.
fn is_booking(slot: &SlotItem) -> bool {
    slot.booked && slot.hold_status == Some(HoldStatus::Confirmed)
}

/// Step 3: the room item marked and taken out of the room list, and the room counter down by
/// one, in one `TransactWriteItems` guarded on the room not being retired yet (a retirement
/// racing this one that got there first: nothing to do).
async fn archive_room(store: &DynamoStore, room: &RoomId, now: DateTime<Utc>) -> Result<(), Error> {
    let room_update = Update::builder()
        .table_name(&store.table)
        .set_key(Some(Key::room(room).item()?))
        .condition_expression(format!(
            "attribute_exists({PK}) AND attribute_not_exists({ARCHIVED_AT})"
        ))
        .update_expression(format!(
            "SET {ARCHIVED_AT} = :now REMOVE {GSI2PK}, {GSI2SK}"
        ))
        .expression_attribute_values(":now", n(millis(now)));
    let count = Update::builder()
        .table_name(&store.table)
        .set_key(Some(room_count_key()?))
        .update_expression(format!(
            "SET {ROOM_COUNT} = if_not_exists({ROOM_COUNT}, :one) - :one"
        ))
        .expression_attribute_values(":one", n(1));
    let request = store
        .client
        .transact_write_items()
        .set_transact_items(Some(vec![
            TransactWriteItem::builder()
                .update(update("room archive", room_update)?)
                .build(),
            TransactWriteItem::builder()
                .update(update("room count", count)?)
                .build(),
        ]));
    match retry_on_conflict(|| request.clone().send(), is_transaction_conflict).await {
        Ok(_) => Ok(()),
        Err(err) => match err.as_service_error() {
            Some(TransactWriteItemsError::TransactionCanceledException(cancelled))
                if cancelled
                    .cancellation_reasons()
                    .first()
                    .and_then(|r| r.code())
                    == Some("ConditionalCheckFailed") =>
            {
                Ok(())
            }
            _ => Err(sdk_error("TransactWriteItems (retire room)", err)),
        },
    }
}

/// What one slot's freeze found: the live hold it released, the booking it froze.
#[derive(Default)]
struct Frozen {
    released: Option<HoldId>,
    booking: Option<(i64, HoldId)>,
}

/// Collects a finished freeze.
fn frozen(
    done: Result<Result<Frozen, Error>, tokio::task::JoinError>,
    retired: &mut Retired,
    bookings: &mut Vec<(i64, HoldId)>,
) -> Result<(), Error> {
    let found = done.map_err(|e| Error::Internal(format!("slot freeze task: {e}")))??;
    retired.released.extend(found.released);
    bookings.extend(found.booking);
    Ok(())
}

/// Step 4 for one slot: `archived_at` set while the slot carries no live hold; when it does, that
/// hold is released in the same write. Returns what the frozen slot carries.
async fn freeze(
    client: &Client,
    table: &str,
    slot: SlotItem,
    now: DateTime<Utc>,
) -> Result<Frozen, Error> {
    let key = Key::slot(SlotKey::of(&slot.slot_id)).item()?;
    // The live hold the last refusal showed, if any.
    let mut live: Option<HoldId> = None;
    for _ in 0..FREEZE_ATTEMPTS {
        let request = freeze_request(client, table, &key, &slot, live, now);
        let sent = retry_on_conflict(
            || request.clone().send(),
            |err| {
                matches!(
                    err.as_service_error(),
                    Some(UpdateItemError::TransactionConflictException(_))
                )
            },
        )
        .await;
        match sent {
            Ok(output) => {
                let now_item: SlotItem = parse_item(output.attributes.unwrap_or_default())?;
                return Ok(Frozen {
                    released: live,
                    booking: is_booking(&now_item)
                        .then_some(now_item.hold_id)
                        .flatten()
                        .map(|id| (now_item.start_time, id)),
                });
            }
            Err(err) => match err.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(failed)) => {
                    let old: Option<HashMap<String, AttributeValue>> =
                        failed.item().filter(|i| !i.is_empty()).cloned();
                    let Some(old) = old else {
                        // The slot is gone (a schedule removed it): nothing to freeze.
                        return Ok(Frozen::default());
                    };
                    let old: SlotItem = parse_item(old)?;
                    if old.slot_id != slot.slot_id {
                        return Ok(Frozen::default());
                    }
                    live = match (old.hold_status, old.hold_expires_at, old.hold_id) {
                        (Some(HoldStatus::Hold), Some(expires), Some(id))
                            if expires > millis(now) =>
                        {
                            Some(id)
                        }
                        _ => None,
                    };
                }
                _ => return Err(sdk_error("UpdateItem (freeze slot)", err)),
            },
        }
    }
    Err(Error::Unavailable(format!(
        "slot {} of a retired room changed {FREEZE_ATTEMPTS} times while being frozen",
        slot.slot_id
    )))
}

/// One freeze's `UpdateItem`: without `live`, guarded on the slot carrying no live hold; with
/// `live` (the hold a refusal showed), freezing the slot and releasing exactly that hold.
fn freeze_request(
    client: &Client,
    table: &str,
    key: &HashMap<String, AttributeValue>,
    slot: &SlotItem,
    live: Option<HoldId>,
    now: DateTime<Utc>,
) -> UpdateItemFluentBuilder {
    let request = client
        .update_item()
        .table_name(table)
        .set_key(Some(key.clone()))
        .expression_attribute_values(":slot", s(slot.slot_id.as_str()))
        .expression_attribute_values(":hold", s(HoldStatus::Hold.as_str()))
        .expression_attribute_values(":now", n(millis(now)))
        .return_values(ReturnValue::AllNew)
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
    match live {
        None => request
            .condition_expression(format!(
                "{SLOT_ID} = :slot AND (attribute_not_exists({HOLD_STATUS}) \
                 OR {HOLD_STATUS} <> :hold OR {HOLD_EXPIRES_AT} <= :now)"
            ))
            .update_expression(format!(
                "SET {ARCHIVED_AT} = if_not_exists({ARCHIVED_AT}, :now)"
            )),
        Some(hold) => request
            .condition_expression(format!(
                "{SLOT_ID} = :slot AND {HOLD_ID} = :hold_id AND {HOLD_STATUS} = :hold \
                 AND {HOLD_EXPIRES_AT} > :now"
            ))
            .update_expression(format!(
                "SET {ARCHIVED_AT} = if_not_exists({ARCHIVED_AT}, :now), \
                 {HOLD_STATUS} = :released"
            ))
            .expression_attribute_values(":hold_id", s(hold.to_string()))
            .expression_attribute_values(":released", s(HoldStatus::Released.as_str())),
    }
}
