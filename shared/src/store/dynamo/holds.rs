//! The request-path operations: list, create, confirm, release. Each happy path is ONE request.

use std::future::Future;
use std::time::Duration as StdDuration;

use async_trait::async_trait;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Put, ReturnValue, ReturnValuesOnConditionCheckFailure,
    TransactWriteItem, Update,
};
use chrono::{DateTime, Duration, Utc};

use super::DynamoStore;
use super::errors::{create_refusal, is_transaction_conflict, sdk_error};
use super::schema::*;
use crate::domain::{self, Hold, HoldId, HoldStatus, RoomId, Slot, SlotKey, SlotState, UserId};
use crate::error::Error;
use crate::store::{NewHold, Store, from_millis, millis};

/// How long a hold record is kept after its expiry before TTL may delete it. Nothing depends on
/// the deletion; the record only answers late retries (e.g. a release retried after a re-hold).
const HOLD_RECORD_RETENTION: Duration = Duration::days(7);

/// How often a guarded write is sent in all when DynamoDB reports that a transaction is writing
/// the same item at that moment (`TransactionConflict`, which the SDK does not retry).
const CONFLICT_ATTEMPTS: u32 = 4;

/// Sends a guarded write again while DynamoDB answers that another transaction is writing one of
/// its items at that very moment (`TransactionConflict`, which the SDK does not retry). That
/// transaction may yet fail, so a conflict is not a lost race; the write is guarded, so sending it
/// again is safe. After [`CONFLICT_ATTEMPTS`] sends the last error is returned (the caller answers
/// 503).
async fn retry_on_conflict<T, E, Fut>(
    mut send: impl FnMut() -> Fut,
    is_conflict: impl Fn(&E) -> bool,
) -> Result<T, E>
where
    Fut: Future<Output = Result<T, E>>,
{
    let mut attempt = 1;
    loop {
        match send().await {
            Err(err) if attempt < CONFLICT_ATTEMPTS && is_conflict(&err) => {
                tokio::time::sleep(StdDuration::from_millis(10 * u64::from(attempt))).await;
                attempt += 1;
            }
            result => return result,
        }
    }
}

/// What a refused confirm or release is explained with.
#[derive(Clone, Copy)]
enum Action {
    Confirm,
    Release,
}

impl DynamoStore {
    /// Confirm or release: ONE conditional `UpdateItem` on the hold's slot item (its key comes
    /// from the hold id), guarded on the slot's latest hold being `id`, the caller's, `HOLD` and
    /// live. On success the new slot image gives the hold's slot and expiry; on refusal the old
    /// image explains it (see [`Self::explain`]).
    async fn transition(
        &self,
        id: HoldId,
        user: &UserId,
        now: DateTime<Utc>,
        action: Action,
    ) -> Result<Hold, Error> {
        let (to, operation) = match action {
            Action::Confirm => (HoldStatus::Confirmed, "UpdateItem (confirm)"),
            Action::Release => (HoldStatus::Released, "UpdateItem (release)"),
        };
        // The hold counts while now < expires_at, so it can be confirmed or released only then.
        let condition = format!(
            "{HOLD_ID} = :hold_id AND {HOLDER} = :user AND {HOLD_STATUS} = :hold \
             AND {HOLD_EXPIRES_AT} > :now AND {BOOKED} = :false"
        );
        let update = match action {
            Action::Confirm => format!("SET {HOLD_STATUS} = :to, {BOOKED} = :true"),
            Action::Release => format!("SET {HOLD_STATUS} = :to"),
        };
        let key = Key::slot(id.slot_key()).item()?;
        let request = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .condition_expression(condition)
            .update_expression(update)
            .expression_attribute_values(":hold_id", s(id.to_string()))
            .expression_attribute_values(":user", s(user.as_str()))
            .expression_attribute_values(":hold", s(HoldStatus::Hold.as_str()))
            .expression_attribute_values(":now", n(millis(now)))
            .expression_attribute_values(":false", AttributeValue::Bool(false))
            .expression_attribute_values(":to", s(to.as_str()))
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        let request = match action {
            Action::Confirm => {
                request.expression_attribute_values(":true", AttributeValue::Bool(true))
            }
            Action::Release => request,
        };
        // A transaction (someone's create on this slot) may be writing the item right now.
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
        let err = match sent {
            Ok(output) => {
                let slot: SlotItem = parse_item(output.attributes.unwrap_or_default())?;
                return slot.hold_if(id)?.ok_or_else(|| {
                    Error::Internal(format!("slot of hold {id} lost its hold fields"))
                });
            }
            Err(err) => err,
        };
        match err.as_service_error() {
            Some(UpdateItemError::ConditionalCheckFailedException(refused)) => {
                let old: Option<SlotItem> = refused
                    .item()
                    .filter(|i| !i.is_empty())
                    .map(|i| parse_item(i.clone()))
                    .transpose()?;
                self.explain(id, user, now, action, old).await
            }
            Some(UpdateItemError::TransactionConflictException(_)) => {
                Err(Error::Unavailable(format!(
                    "dynamodb {operation}: transaction conflict on hold {id}'s slot {CONFLICT_ATTEMPTS} times"
                )))
            }
            _ => Err(sdk_error(operation, err)),
        }
    }

    /// Why a confirm or release of `id` was refused, from the slot item as it was (`slot`).
    ///
    /// - The slot's latest hold is `id`: the slot's record of it (owner, status, expiry) goes to
    ///   the domain's explanation — 403, 410, 409 (release of a booking) or the idempotent 200.
    ///   No further request.
    /// - Otherwise the slot has moved on (the hold was released and the slot held again, or it
    ///   expired and was taken over) or `id` is unknown: the hold record (one consistent read,
    ///   refusals only) tells the owner. A hold that left its slot while its time had not run
    ///   out can only have been released, so a release retry then gets its 200; after its
    ///   expiry it is simply gone (410).
    async fn explain(
        &self,
        id: HoldId,
        user: &UserId,
        now: DateTime<Utc>,
        action: Action,
        slot: Option<SlotItem>,
    ) -> Result<Hold, Error> {
        let hold = match slot.as_ref().map(|s| s.hold_if(id)).transpose()?.flatten() {
            Some(hold) => Some(hold),
            None => self.hold_record(id).await?.map(|record| {
                let status = if now < record.expires_at {
                    HoldStatus::Released
                } else {
                    HoldStatus::Hold
                };
                Hold { status, ..record }
            }),
        };
        let explained = match action {
            Action::Confirm => domain::explain_confirm(hold.as_ref(), user, now),
            Action::Release => domain::explain_release(hold.as_ref(), user, now),
        };
        Ok(explained?)
    }

    /// The hold record of `id`, read consistently; `None` if there is none (unknown, or deleted
    /// by TTL long after its expiry).
    async fn hold_record(&self, id: HoldId) -> Result<Option<Hold>, Error> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(Key::hold(id).item()?))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk_error("GetItem (hold)", e))?;
        let Some(item) = output.item.filter(|i| !i.is_empty()) else {
            return Ok(None);
        };
        let record: HoldItem = parse_item(item)?;
        Ok(Some(Hold {
            id: record.hold_id,
            slot_id: record.slot_id,
            user_id: record.user_id,
            status: HoldStatus::Hold,
            expires_at: from_millis(record.expires_at)?,
        }))
    }
}

#[async_trait]
impl Store for DynamoStore {
    async fn list_slots(
        &self,
        room: &RoomId,
        _now: DateTime<Utc>,
    ) -> Result<Vec<SlotState>, Error> {
        let mut found_room = false;
        let mut slots = Vec::new();
        let mut start_key = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(GSI1)
                .key_condition_expression(format!("{GSI1PK} = :room"))
                .expression_attribute_values(":room", s(room_pk(room)))
                .set_exclusive_start_key(start_key)
                .set_limit(self.page_size)
                .send()
                .await
                .map_err(|e| sdk_error("Query (list slots)", e))?;
            for item in page.items.unwrap_or_default() {
                match item.get(SK).and_then(|v| v.as_s().ok()).map(String::as_str) {
                    Some(ROOM_SK) => found_room = true,
                    Some(SLOT_SK) => {
                        let slot: SlotItem = parse_item(item)?;
                        // Only a slot's open hold is reported; a booked slot's latest hold is the
                        // booking itself. Expired holds are reported too: the caller compares.
                        let hold = match (slot.hold_id, slot.hold_status) {
                            (Some(id), Some(HoldStatus::Hold)) if !slot.booked => {
                                slot.hold_if(id)?
                            }
                            _ => None,
                        };
                        slots.push(SlotState {
                            slot: Slot {
                                id: slot.slot_id,
                                room_id: slot.room_id,
                                start_time: from_millis(slot.start_time)?,
                                end_time: from_millis(slot.end_time)?,
                            },
                            booked: slot.booked,
                            hold,
                        });
                    }
                    _ => {}
                }
            }
            start_key = page.last_evaluated_key.filter(|k| !k.is_empty());
            if start_key.is_none() {
                break;
            }
        }
        if found_room {
            Ok(slots)
        } else {
            Err(Error::RoomNotFound)
        }
    }

    async fn create_hold(&self, hold: &NewHold, now: DateTime<Utc>) -> Result<Hold, Error> {
        let slot_key = SlotKey::of(&hold.slot_id);
        let user_exists = built(
            "user check",
            ConditionCheck::builder()
                .table_name(&self.table)
                .set_key(Some(Key::user(&hold.user_id).item()?))
                .condition_expression(format!("attribute_exists({PK})"))
                .build(),
        )?;
        // The guard of the whole service: the slot exists (and is this slot, not another with
        // the same key), is not booked, and its latest hold is not a live one. The contract's
        // expiry rule is "a hold counts while now < expires_at", so an expired lock is free
        // when hold_expires_at <= now (`<=`, not `<`).
        let take_lock = built(
            "slot update",
            Update::builder()
                .table_name(&self.table)
                .set_key(Some(Key::slot(slot_key).item()?))
                .condition_expression(format!(
                    "attribute_exists({PK}) AND {SLOT_ID} = :slot AND {BOOKED} = :false AND \
                     (attribute_not_exists({HOLD_STATUS}) OR {HOLD_STATUS} <> :hold OR {HOLD_EXPIRES_AT} <= :now)"
                ))
                .update_expression(format!(
                    "SET {HOLD_ID} = :hold_id, {HOLDER} = :user, {HOLD_EXPIRES_AT} = :expires, {HOLD_STATUS} = :hold"
                ))
                .expression_attribute_values(":slot", s(hold.slot_id.as_str()))
                .expression_attribute_values(":false", AttributeValue::Bool(false))
                .expression_attribute_values(":hold", s(HoldStatus::Hold.as_str()))
                .expression_attribute_values(":now", n(millis(now)))
                .expression_attribute_values(":hold_id", s(hold.id.to_string()))
                .expression_attribute_values(":user", s(hold.user_id.as_str()))
                .expression_attribute_values(":expires", n(millis(hold.expires_at)))
                .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
                .build(),
        )?;
        let record = built(
            "hold record",
            Put::builder()
                .table_name(&self.table)
                .set_item(Some(item_of(&HoldItem {
                    pk: hold_pk(hold.id),
                    sk: HOLD_SK.into(),
                    hold_id: hold.id,
                    slot_id: hold.slot_id.clone(),
                    slot_key: slot_key.to_string(),
                    user_id: hold.user_id.clone(),
                    expires_at: millis(hold.expires_at),
                    created_at: millis(now),
                    ttl: (hold.expires_at + HOLD_RECORD_RETENTION).timestamp(),
                })?))
                .condition_expression(format!("attribute_not_exists({PK})"))
                .build(),
        )?;
        let request = self
            .client
            .transact_write_items()
            .transact_items(
                TransactWriteItem::builder()
                    .condition_check(user_exists)
                    .build(),
            )
            .transact_items(TransactWriteItem::builder().update(take_lock).build())
            .transact_items(TransactWriteItem::builder().put(record).build());
        // A competing create, or the holder's confirm or release, may be writing these items.
        let err = match retry_on_conflict(|| request.clone().send(), is_transaction_conflict).await
        {
            Ok(_) => return Ok(hold.created()),
            Err(err) => err,
        };
        let Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) =
            err.as_service_error()
        else {
            return Err(sdk_error("TransactWriteItems (create hold)", err));
        };
        Err(create_refusal(
            cancelled.cancellation_reasons(),
            &hold.slot_id,
        ))
    }

    async fn confirm_hold(
        &self,
        id: HoldId,
        user: &UserId,
        now: DateTime<Utc>,
    ) -> Result<Hold, Error> {
        self.transition(id, user, now, Action::Confirm).await
    }

    async fn release_hold(
        &self,
        id: HoldId,
        user: &UserId,
        now: DateTime<Utc>,
    ) -> Result<Hold, Error> {
        self.transition(id, user, now, Action::Release).await
    }
}
