//! The request-path operations. Each happy path is ONE request: a `Query` (list slots, a user's
//! holds, rooms), a conditional `UpdateItem` (confirm, release), a `BatchGetItem` (look-up), or a
//! `TransactWriteItems` where two items must change in one atomic step (create: user check, slot,
//! hold record and idempotency key; extend and cancel: the slot and the hold record, so the
//! record stays true once the slot moves on).

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration as StdDuration;

use async_trait::async_trait;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, KeysAndAttributes, Put, ReturnValue,
    ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};
use chrono::{DateTime, Duration, Utc};

use super::DynamoStore;
use super::errors::{
    create_refusal, idempotent_replay, is_transaction_conflict, sdk_error, transaction_refusal_item,
};
use super::schema::*;
use crate::domain::{
    self, Booking, Canceller, Hold, HoldId, HoldStatus, Refusal, Room, RoomId, Slot, SlotKey,
    SlotRules, SlotState, UserId,
};
use crate::error::Error;
use crate::schedule::{PlannedSlot, Schedule};
use crate::store::{
    Applied, Created, DaySheet, IDEMPOTENCY_WINDOW, IdempotencyKey, NewHold, SheetWindow,
    SlotWindow, Store, UserHold, from_millis, millis,
};

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

/// What a refused hold operation is explained with.
#[derive(Clone, Copy)]
enum Action<'a> {
    Confirm(&'a UserId),
    Release(&'a UserId),
    Extend(&'a UserId),
    Cancel(&'a Canceller),
}

impl Action<'_> {
    fn explain(self, hold: Option<&Hold>, now: DateTime<Utc>) -> Result<Hold, Refusal> {
        match self {
            Self::Confirm(user) => domain::explain_confirm(hold, user, now),
            Self::Release(user) => domain::explain_release(hold, user, now),
            Self::Extend(user) => domain::explain_extend(hold, user, now),
            Self::Cancel(by) => domain::explain_cancel(hold, by, now),
        }
    }
}

fn update(
    what: &str,
    builder: aws_sdk_dynamodb::types::builders::UpdateBuilder,
) -> Result<Update, Error> {
    built(what, builder.build())
}

impl DynamoStore {
    /// Confirm or release: ONE conditional `UpdateItem` on the hold's slot item (its key comes
    /// from the hold id), guarded on the slot's latest hold being `id`, the caller's, `HOLD` and
    /// live (and, to confirm, the slot not started). On success the new slot image gives the
    /// hold's slot and expiry; on refusal the old image explains it (see [`Self::explain`]).
    async fn transition(
        &self,
        id: HoldId,
        user: &UserId,
        now: DateTime<Utc>,
        action: Action<'_>,
    ) -> Result<Hold, Error> {
        let (to, operation, condition, update) = match action {
            Action::Confirm(_) => (
                HoldStatus::Confirmed,
                "UpdateItem (confirm)",
                format!(
                    "{HOLD_ID} = :hold_id AND {HOLDER} = :user AND {HOLD_STATUS} = :hold \
                     AND {HOLD_EXPIRES_AT} > :now AND {BOOKED} = :false AND {START_TIME} > :now"
                ),
                format!("SET {HOLD_STATUS} = :to, {BOOKED} = :true, {HOLD_CONFIRMED_AT} = :now"),
            ),
            _ => (
                HoldStatus::Released,
                "UpdateItem (release)",
                format!(
                    "{HOLD_ID} = :hold_id AND {HOLDER} = :user AND {HOLD_STATUS} = :hold \
                     AND {HOLD_EXPIRES_AT} > :now AND {BOOKED} = :false"
                ),
                format!("SET {HOLD_STATUS} = :to"),
            ),
        };
        let request = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Key::slot(id.slot_key()).item()?))
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
            Action::Confirm(_) => {
                request.expression_attribute_values(":true", AttributeValue::Bool(true))
            }
            _ => request,
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
                self.explain(id, now, action, old).await
            }
            Some(UpdateItemError::TransactionConflictException(_)) => {
                Err(Error::Unavailable(format!(
                    "dynamodb {operation}: transaction conflict on hold {id}'s slot {CONFLICT_ATTEMPTS} times"
                )))
            }
            _ => Err(sdk_error(operation, err)),
        }
    }

    /// Extend or cancel: ONE `TransactWriteItems` of the guarded slot update and the hold
    /// record's update (two items must change together: the record has to carry the new expiry
    /// or the cancellation once the slot moves on, or later look-ups and retries would be told
    /// wrong). A transaction returns no attributes; the caller knows what it wrote.
    async fn transact_on_hold(
        &self,
        id: HoldId,
        now: DateTime<Utc>,
        action: Action<'_>,
        slot: Update,
        record: Update,
    ) -> Result<Option<Hold>, Error> {
        let operation = match action {
            Action::Extend(_) => "TransactWriteItems (extend)",
            _ => "TransactWriteItems (cancel)",
        };
        let request = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().update(slot).build())
            .transact_items(TransactWriteItem::builder().update(record).build());
        let err = match retry_on_conflict(|| request.clone().send(), is_transaction_conflict).await
        {
            Ok(_) => return Ok(None),
            Err(err) => err,
        };
        let Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) =
            err.as_service_error()
        else {
            return Err(sdk_error(operation, err));
        };
        // The slot as it was when its guard refused (or none: only the record's guard refused,
        // i.e. the hold is unknown), explained as any refusal.
        let old =
            transaction_refusal_item::<SlotItem>(cancelled.cancellation_reasons(), 0, operation)?;
        Ok(Some(self.explain(id, now, action, old).await?))
    }

    /// Why an operation on `id` was refused, from the slot item as it was (`slot`).
    ///
    /// - The slot's latest hold is `id`: the slot's record of it (owner, status, expiry, start,
    ///   extension) goes to the domain's explanation. No further request.
    /// - Otherwise the slot has moved on or `id` is unknown: the hold record (one consistent
    ///   read, refusals only) tells the owner and what became of it ([`HoldItem::hold`]).
    async fn explain(
        &self,
        id: HoldId,
        now: DateTime<Utc>,
        action: Action<'_>,
        slot: Option<SlotItem>,
    ) -> Result<Hold, Error> {
        let hold = match slot.as_ref().map(|s| s.hold_if(id)).transpose()?.flatten() {
            Some(hold) => Some(hold),
            None => self.hold_record(id, now).await?,
        };
        Ok(action.explain(hold.as_ref(), now)?)
    }

    /// The hold record of `id`, read consistently, as [`HoldItem::hold`] tells it; `None` if there
    /// is none (unknown, or deleted by TTL long after its expiry).
    async fn hold_record(&self, id: HoldId, now: DateTime<Utc>) -> Result<Option<Hold>, Error> {
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
        Ok(Some(record.hold(now)?))
    }

    /// Whether the room exists (a second request, made only when a listing window is empty).
    async fn room_exists(&self, room: &RoomId) -> Result<bool, Error> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(Key::room(room).item()?))
            .projection_expression(PK)
            .send()
            .await
            .map_err(|e| sdk_error("GetItem (room)", e))?;
        Ok(output.item.is_some_and(|i| !i.is_empty()))
    }
}

/// Slot writes in flight at once while applying a schedule.
const APPLY_CONCURRENCY: usize = 32;

/// One slot write of a schedule's application.
enum SlotChange {
    Create(std::collections::HashMap<String, AttributeValue>),
    /// A free slot to new times (its index key follows), with its room's rules for them and
    /// time zone.
    Move(Slot, SlotRules, String),
    Remove(crate::domain::SlotId),
}

enum ChangeDone {
    Created,
    AlreadyThere,
    Moved,
    Removed,
    Kept(crate::domain::SlotId),
}

/// The guard of a schedule's change to an existing slot: it is this slot, and free (not booked,
/// its latest hold not live).
fn free_slot_condition() -> String {
    format!(
        "{SLOT_ID} = :slot AND {BOOKED} = :false AND \
         (attribute_not_exists({HOLD_STATUS}) OR {HOLD_STATUS} <> :hold OR {HOLD_EXPIRES_AT} <= :now)"
    )
}

impl SlotChange {
    async fn send(
        self,
        client: aws_sdk_dynamodb::Client,
        table: String,
        now: DateTime<Utc>,
    ) -> Result<ChangeDone, Error> {
        match self {
            Self::Create(item) => {
                let put = client
                    .put_item()
                    .table_name(table)
                    .set_item(Some(item))
                    .condition_expression(format!("attribute_not_exists({PK})"))
                    .send()
                    .await;
                match put {
                    Ok(_) => Ok(ChangeDone::Created),
                    Err(err)
                        if matches!(
                            err.as_service_error(),
                            Some(aws_sdk_dynamodb::operation::put_item::PutItemError::ConditionalCheckFailedException(_))
                        ) =>
                    {
                        Ok(ChangeDone::AlreadyThere)
                    }
                    Err(err) => Err(sdk_error("PutItem (scheduled slot)", err)),
                }
            }
            Self::Move(slot, rules, time_zone) => {
                let moved = client
                    .update_item()
                    .table_name(table)
                    .set_key(Some(Key::slot(SlotKey::of(&slot.id)).item()?))
                    .condition_expression(free_slot_condition())
                    .update_expression(format!(
                        "SET {START_TIME} = :start, end_time = :end, {GSI1SK} = :sort, \
                         {TIME_ZONE} = :zone, {MIN_PLAYERS} = :min, {MAX_PLAYERS} = :max, \
                         {BOOK_BY} = :book_by, {CANCEL_BY} = :cancel_by"
                    ))
                    .expression_attribute_values(":zone", s(time_zone))
                    .expression_attribute_values(":min", n(i64::from(rules.min_players)))
                    .expression_attribute_values(":max", n(i64::from(rules.max_players)))
                    .expression_attribute_values(":book_by", n(millis(rules.book_by)))
                    .expression_attribute_values(":cancel_by", n(millis(rules.cancel_by)))
                    .expression_attribute_values(":slot", s(slot.id.as_str()))
                    .expression_attribute_values(":false", AttributeValue::Bool(false))
                    .expression_attribute_values(":hold", s(HoldStatus::Hold.as_str()))
                    .expression_attribute_values(":now", n(millis(now)))
                    .expression_attribute_values(":start", n(millis(slot.start_time)))
                    .expression_attribute_values(":end", n(millis(slot.end_time)))
                    .expression_attribute_values(
                        ":sort",
                        s(slot_gsi1sk(millis(slot.start_time), &slot.id)),
                    )
                    .send()
                    .await;
                match moved {
                    Ok(_) => Ok(ChangeDone::Moved),
                    Err(err)
                        if matches!(
                            err.as_service_error(),
                            Some(UpdateItemError::ConditionalCheckFailedException(_))
                        ) =>
                    {
                        Ok(ChangeDone::AlreadyThere)
                    }
                    Err(err) => Err(sdk_error("UpdateItem (rescheduled slot)", err)),
                }
            }
            Self::Remove(id) => {
                // Only a free slot goes: not booked, and its latest hold (if any) not live.
                let delete = client
                    .delete_item()
                    .table_name(table)
                    .set_key(Some(Key::slot(SlotKey::of(&id)).item()?))
                    .condition_expression(free_slot_condition())
                    .expression_attribute_values(":slot", s(id.as_str()))
                    .expression_attribute_values(":false", AttributeValue::Bool(false))
                    .expression_attribute_values(":hold", s(HoldStatus::Hold.as_str()))
                    .expression_attribute_values(":now", n(millis(now)))
                    .send()
                    .await;
                match delete {
                    Ok(_) => Ok(ChangeDone::Removed),
                    Err(err)
                        if matches!(
                            err.as_service_error(),
                            Some(aws_sdk_dynamodb::operation::delete_item::DeleteItemError::ConditionalCheckFailedException(_))
                        ) =>
                    {
                        Ok(ChangeDone::Kept(id))
                    }
                    Err(err) => Err(sdk_error("DeleteItem (unscheduled slot)", err)),
                }
            }
        }
    }
}

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

#[async_trait]
impl Store for DynamoStore {
    async fn list_slots(
        &self,
        room: &RoomId,
        window: &SlotWindow,
        _now: DateTime<Utc>,
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
            let limit = self.page_size.map_or(remaining, |p| p.min(remaining));
            let page = self
                .room_window_query(room, &low, &high)
                .set_exclusive_start_key(start_key)
                .limit(limit)
                .send()
                .await
                .map_err(|e| sdk_error("Query (list slots)", e))?;
            for item in page.items.unwrap_or_default() {
                slots.push(slot_state(parse_item(item)?)?);
            }
            start_key = page.last_evaluated_key.filter(|k| !k.is_empty());
            if start_key.is_none() || slots.len() >= wanted {
                break;
            }
        }
        if slots.is_empty() && !self.room_exists(room).await? {
            return Err(Error::RoomNotFound);
        }
        Ok(slots)
    }

    async fn create_hold(
        &self,
        hold: &NewHold,
        key: Option<&IdempotencyKey>,
        now: DateTime<Utc>,
    ) -> Result<Created, Error> {
        let slot_key = SlotKey::of(&hold.slot_id);
        // The user must exist; a player proven by a verified JWT needs no provisioning: the same
        // transaction item creates their record instead (an Update is an upsert).
        let user_item = if hold.verified_user {
            TransactWriteItem::builder()
                .update(update(
                    "user record",
                    Update::builder()
                        .table_name(&self.table)
                        .set_key(Some(Key::user(&hold.user_id).item()?))
                        .update_expression("SET user_id = :user")
                        .expression_attribute_values(":user", s(hold.user_id.as_str())),
                )?)
                .build()
        } else {
            TransactWriteItem::builder()
                .condition_check(built(
                    "user check",
                    ConditionCheck::builder()
                        .table_name(&self.table)
                        .set_key(Some(Key::user(&hold.user_id).item()?))
                        .condition_expression(format!("attribute_exists({PK})"))
                        .build(),
                )?)
                .build()
        };
        // The guard of the whole service: the slot exists (and is this slot, not another with
        // the same key), has not started, is bookable under the room's rules copied onto it
        // (outside the notice period, the party in the room's range), is not booked, and its
        // latest hold is not a live one. The contract's expiry rule is "a hold counts while
        // now < expires_at", so an expired lock is free when hold_expires_at <= now (`<=`).
        // A party not given is the room's minimum, read from the item by the update itself.
        let (party_guard, party) = match hold.players {
            Some(_) => (
                format!(
                    " AND (attribute_not_exists({MAX_PLAYERS}) OR \
                     (:players >= {MIN_PLAYERS} AND :players <= {MAX_PLAYERS}))"
                ),
                ":players".to_owned(),
            ),
            None => (String::new(), format!("if_not_exists({MIN_PLAYERS}, :one)")),
        };
        let take_lock = Update::builder()
            .table_name(&self.table)
            .set_key(Some(Key::slot(slot_key).item()?))
            .condition_expression(format!(
                "attribute_exists({PK}) AND {SLOT_ID} = :slot AND {BOOKED} = :false \
                 AND {START_TIME} > :now \
                 AND (attribute_not_exists({BOOK_BY}) OR {BOOK_BY} > :now){party_guard} AND \
                 (attribute_not_exists({HOLD_STATUS}) OR {HOLD_STATUS} <> :hold OR {HOLD_EXPIRES_AT} <= :now)"
            ))
            // The fields of the slot's previous booking go: they described another hold.
            .update_expression(format!(
                "SET {HOLD_ID} = :hold_id, {HOLDER} = :user, {HOLD_EXPIRES_AT} = :expires, \
                 {HOLD_STATUS} = :hold, {HOLD_EXTENDED} = :false, {HOLD_CREATED_AT} = :now, \
                 {GSI2PK} = :user_pk, {GSI2SK} = :user_sk, {HOLD_PLAYERS} = {party} \
                 REMOVE {HOLD_CONFIRMED_AT}, {HOLD_CANCELLED_AT}, {HOLD_CANCELLED_BY}, \
                 {HOLD_CANCEL_REASON}"
            ));
        let take_lock = match hold.players {
            Some(players) => {
                take_lock.expression_attribute_values(":players", n(i64::from(players)))
            }
            None => take_lock.expression_attribute_values(":one", n(1)),
        };
        let take_lock = update(
            "slot update",
            take_lock
                .expression_attribute_values(":slot", s(hold.slot_id.as_str()))
                .expression_attribute_values(":false", AttributeValue::Bool(false))
                .expression_attribute_values(":hold", s(HoldStatus::Hold.as_str()))
                .expression_attribute_values(":now", n(millis(now)))
                .expression_attribute_values(":hold_id", s(hold.id.to_string()))
                .expression_attribute_values(":user", s(hold.user_id.as_str()))
                .expression_attribute_values(":expires", n(millis(hold.expires_at)))
                .expression_attribute_values(":user_pk", s(user_pk(&hold.user_id)))
                .expression_attribute_values(":user_sk", s(user_hold_gsi2sk(millis(now), hold.id)))
                .return_values_on_condition_check_failure(
                    ReturnValuesOnConditionCheckFailure::AllOld,
                ),
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
                    extended: false,
                    cancelled_at: None,
                    players: hold.players,
                    cancelled_by: None,
                    reason: None,
                })?))
                .condition_expression(format!("attribute_not_exists({PK})"))
                .build(),
        )?;
        let mut request = self
            .client
            .transact_write_items()
            .transact_items(user_item)
            .transact_items(TransactWriteItem::builder().update(take_lock).build())
            .transact_items(TransactWriteItem::builder().put(record).build());
        if let Some(key) = key {
            // The key, new or older than its window; a live one comes back (ALL_OLD) and is
            // answered from (see `idempotent_replay`).
            let idem = built(
                "idempotency key",
                Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(item_of(&IdemItem {
                        pk: idem_pk(&key.key),
                        sk: IDEM_SK.into(),
                        request: key.request.clone(),
                        hold_id: hold.id,
                        slot_id: hold.slot_id.clone(),
                        user_id: hold.user_id.clone(),
                        expires_at: millis(hold.expires_at),
                        created_at: millis(now),
                        ttl: (now + IDEMPOTENCY_WINDOW).timestamp(),
                    })?))
                    .condition_expression(format!(
                        "attribute_not_exists({PK}) OR created_at <= :stale"
                    ))
                    .expression_attribute_values(":stale", n(millis(now - IDEMPOTENCY_WINDOW)))
                    .return_values_on_condition_check_failure(
                        ReturnValuesOnConditionCheckFailure::AllOld,
                    )
                    .build(),
            )?;
            request = request.transact_items(TransactWriteItem::builder().put(idem).build());
        }
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
        let reasons = cancelled.cancellation_reasons();
        if let Some(key) = key
            && let Some(answer) = idempotent_replay(reasons, 3, key)
        {
            return answer;
        }
        Err(create_refusal(reasons, &hold.slot_id, hold.players, now))
    }

    async fn confirm_hold(
        &self,
        id: HoldId,
        user: &UserId,
        now: DateTime<Utc>,
    ) -> Result<Hold, Error> {
        self.transition(id, user, now, Action::Confirm(user)).await
    }

    async fn release_hold(
        &self,
        id: HoldId,
        user: &UserId,
        now: DateTime<Utc>,
    ) -> Result<Hold, Error> {
        self.transition(id, user, now, Action::Release(user)).await
    }

    async fn extend_hold(
        &self,
        id: HoldId,
        user: &UserId,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<DateTime<Utc>, Error> {
        let slot = update(
            "slot extension",
            Update::builder()
                .table_name(&self.table)
                .set_key(Some(Key::slot(id.slot_key()).item()?))
                .condition_expression(format!(
                    "{HOLD_ID} = :hold_id AND {HOLDER} = :user AND {HOLD_STATUS} = :hold \
                     AND {HOLD_EXPIRES_AT} > :now AND {BOOKED} = :false AND {START_TIME} > :now \
                     AND (attribute_not_exists({HOLD_EXTENDED}) OR {HOLD_EXTENDED} = :false)"
                ))
                .update_expression(format!(
                    "SET {HOLD_EXPIRES_AT} = :expires, {HOLD_EXTENDED} = :true"
                ))
                .expression_attribute_values(":hold_id", s(id.to_string()))
                .expression_attribute_values(":user", s(user.as_str()))
                .expression_attribute_values(":hold", s(HoldStatus::Hold.as_str()))
                .expression_attribute_values(":now", n(millis(now)))
                .expression_attribute_values(":false", AttributeValue::Bool(false))
                .expression_attribute_values(":true", AttributeValue::Bool(true))
                .expression_attribute_values(":expires", n(millis(expires_at)))
                .return_values_on_condition_check_failure(
                    ReturnValuesOnConditionCheckFailure::AllOld,
                ),
        )?;
        let record = update(
            "hold record extension",
            Update::builder()
                .table_name(&self.table)
                .set_key(Some(Key::hold(id).item()?))
                .condition_expression(format!("attribute_exists({PK})"))
                // `extended` and `ttl` are DynamoDB reserved words: every name goes through a
                // placeholder.
                .update_expression("SET #expires = :expires, #extended = :true, #ttl = :ttl")
                .expression_attribute_names("#expires", EXPIRES_AT)
                .expression_attribute_names("#extended", EXTENDED)
                .expression_attribute_names("#ttl", TTL)
                .expression_attribute_values(":expires", n(millis(expires_at)))
                .expression_attribute_values(":true", AttributeValue::Bool(true))
                .expression_attribute_values(
                    ":ttl",
                    n((expires_at + HOLD_RECORD_RETENTION).timestamp()),
                ),
        )?;
        match self
            .transact_on_hold(id, now, Action::Extend(user), slot, record)
            .await?
        {
            None => Ok(expires_at),
            Some(hold) => Err(Error::Internal(format!(
                "extension of {} refused but explained as allowed",
                hold.id
            ))),
        }
    }

    async fn cancel_hold(
        &self,
        id: HoldId,
        by: &Canceller,
        now: DateTime<Utc>,
    ) -> Result<(), Error> {
        // A player: their own booking, before the service's cut-off (`:latest`) and the room's
        // (`cancel_by`, copied onto the slot). An operator: any booking, before its start.
        let (guard, latest) = match by {
            Canceller::Player { cutoff, .. } => (
                format!(
                    " AND {HOLDER} = :user \
                     AND (attribute_not_exists({CANCEL_BY}) OR {CANCEL_BY} > :now)"
                ),
                now + *cutoff,
            ),
            Canceller::Operator { .. } => (String::new(), now),
        };
        let mut set = format!(
            "SET {HOLD_STATUS} = :cancelled, {BOOKED} = :false, {HOLD_CANCELLED_AT} = :now, \
             {HOLD_CANCELLED_BY} = :by"
        );
        if by.reason().is_some() {
            set.push_str(&format!(", {HOLD_CANCEL_REASON} = :reason"));
        }
        let slot = Update::builder()
            .table_name(&self.table)
            .set_key(Some(Key::slot(id.slot_key()).item()?))
            .condition_expression(format!(
                "{HOLD_ID} = :hold_id AND {HOLD_STATUS} = :confirmed AND {START_TIME} > :latest{guard}"
            ))
            .update_expression(set)
            .expression_attribute_values(":hold_id", s(id.to_string()))
            .expression_attribute_values(":confirmed", s(HoldStatus::Confirmed.as_str()))
            .expression_attribute_values(":cancelled", s(HoldStatus::Cancelled.as_str()))
            .expression_attribute_values(":latest", n(millis(latest)))
            .expression_attribute_values(":now", n(millis(now)))
            .expression_attribute_values(":by", s(by.name()))
            .expression_attribute_values(":false", AttributeValue::Bool(false))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        let slot = match by {
            Canceller::Player { user, .. } => {
                slot.expression_attribute_values(":user", s(user.as_str()))
            }
            Canceller::Operator { reason, .. } => {
                slot.expression_attribute_values(":reason", s(reason.as_str()))
            }
        };
        let slot = update("slot cancellation", slot)?;
        let mut set = "SET #cancelled = :now, #by = :by".to_owned();
        if by.reason().is_some() {
            set.push_str(", #reason = :reason");
        }
        let record = Update::builder()
            .table_name(&self.table)
            .set_key(Some(Key::hold(id).item()?))
            .condition_expression(format!("attribute_exists({PK})"))
            .update_expression(set)
            .expression_attribute_names("#cancelled", CANCELLED_AT)
            .expression_attribute_names("#by", CANCELLED_BY)
            .expression_attribute_values(":now", n(millis(now)))
            .expression_attribute_values(":by", s(by.name()));
        let record = match by.reason() {
            Some(reason) => record
                .expression_attribute_names("#reason", REASON)
                .expression_attribute_values(":reason", s(reason)),
            None => record,
        };
        let record = update("hold record cancellation", record)?;
        // Refused but explained as done: a retry of a cancellation.
        self.transact_on_hold(id, now, Action::Cancel(by), slot, record)
            .await
            .map(|_| ())
    }

    async fn room_bookings(
        &self,
        room: &RoomId,
        window: SheetWindow,
        now: DateTime<Utc>,
    ) -> Result<DaySheet, Error> {
        // Today's window needs the room's time zone, which every slot item carries: one Query
        // of a span that holds today in any zone (a day is at most 25 hours long, so from 25
        // hours before now to 25 after), narrowed here. A second request, for the room, only
        // when the span has no slots at all (an unknown room, or an empty calendar).
        let (low, high) = match window {
            SheetWindow::Today => (now - Duration::hours(25), now + Duration::hours(25)),
            SheetWindow::Between(from, to) => (from, to),
        };
        let slots = self
            .room_slot_items(room, low, Some(high), "Query (day sheet)")
            .await?;
        let zone = match slots.first() {
            Some(slot) => slot.time_zone.clone(),
            None => Some(
                self.get_room(room)
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
            let status = slot.hold_status;
            if start < from || start >= to {
                continue;
            }
            let (
                Some(hold_id),
                Some(user_id),
                Some(status @ (HoldStatus::Confirmed | HoldStatus::Cancelled)),
            ) = (slot.hold_id, slot.holder, status)
            else {
                continue;
            };
            let time = |ms: Option<i64>| ms.map(from_millis).transpose();
            bookings.push(Booking {
                hold_id,
                slot_id: slot.slot_id,
                start_time: start,
                user_id,
                players: slot.hold_players,
                status,
                confirmed_at: time(slot.hold_confirmed_at)?,
                cancelled_at: time(slot.hold_cancelled_at)?,
                cancelled_by: slot.hold_cancelled_by,
                reason: slot.hold_cancel_reason,
            });
        }
        Ok(DaySheet {
            time_zone,
            from,
            to,
            bookings,
        })
    }

    async fn get_hold(&self, id: HoldId, now: DateTime<Utc>) -> Result<Option<Hold>, Error> {
        // The slot (the authority while it carries the hold) and the record, in one request.
        let keys = built(
            "look-up keys",
            KeysAndAttributes::builder()
                .keys(Key::slot(id.slot_key()).item()?)
                .keys(Key::hold(id).item()?)
                .consistent_read(true)
                .build(),
        )?;
        let output = self
            .client
            .batch_get_item()
            .request_items(&self.table, keys)
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
            .and_then(|mut r| r.remove(&self.table))
            .unwrap_or_default();
        let sort_key = |item: &HashMap<String, AttributeValue>| {
            item.get(SK).and_then(|v| v.as_s().ok()).cloned()
        };
        let slot = items
            .iter()
            .position(|i| sort_key(i).as_deref() == Some(SLOT_SK))
            .map(|at| items.swap_remove(at));
        let slot: Option<SlotItem> = slot.map(parse_item).transpose()?;
        if let Some(hold) = slot.as_ref().map(|s| s.hold_if(id)).transpose()?.flatten() {
            return Ok(Some(hold));
        }
        match items
            .into_iter()
            .find(|i| sort_key(i).as_deref() == Some(HOLD_SK))
        {
            Some(record) => {
                let mut hold = parse_item::<HoldItem>(record)?.hold(now)?;
                // A hold made without a party size was for the room's minimum, which the slot
                // item knows (its record does not).
                if hold.players.is_none() {
                    hold.players = slot.and_then(|s| s.min_players);
                }
                Ok(Some(hold))
            }
            None => Ok(None),
        }
    }

    async fn user_holds(&self, user: &UserId, now: DateTime<Utc>) -> Result<Vec<UserHold>, Error> {
        let page = self
            .client
            .query()
            .table_name(&self.table)
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

    async fn list_rooms(&self) -> Result<Vec<Room>, Error> {
        let page = self
            .client
            .query()
            .table_name(&self.table)
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

    async fn get_room(&self, room: &RoomId) -> Result<Option<Room>, Error> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
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

    async fn get_schedule(&self, room: &RoomId) -> Result<Option<Schedule>, Error> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(Key::schedule(room).item()?))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk_error("GetItem (schedule)", e))?;
        output
            .item
            .filter(|i| !i.is_empty())
            .map(|item| Ok(parse_item::<ScheduleItem>(item)?.schedule))
            .transpose()
    }

    /// Not one request: a schedule changes up to a few hundred slot items. One `PutItem` of the
    /// schedule, the room's slots from `from` (one `Query` per 1 MB page of `gsi1`), then, 32 in
    /// flight, one conditional `PutItem` per new slot (`attribute_not_exists`: an existing slot
    /// is never rewritten) and one conditional `DeleteItem` per slot the plan no longer has
    /// (guarded on the slot being free at that moment; a refusal means it is held or booked, and
    /// it is kept).
    async fn apply_schedule(
        &self,
        room: &Room,
        schedule: &Schedule,
        planned: &[PlannedSlot],
        from: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Applied, Error> {
        let the_room = room;
        let time_zone = room.policy.time_zone.as_str();
        let room = &room.id;
        let Key { pk, sk } = Key::schedule(room);
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item_of(&ScheduleItem {
                pk,
                sk,
                room_id: room.clone(),
                schedule: schedule.clone(),
                updated_at: millis(now),
            })?))
            .send()
            .await
            .map_err(|e| sdk_error("PutItem (schedule)", e))?;

        let mut existing = Vec::new();
        let mut after = None;
        loop {
            let window = SlotWindow {
                from,
                to: None,
                after,
                limit: 10_000,
            };
            let page = self.list_slots(room, &window, now).await?;
            let full = page.len() > window.limit;
            after = page.last().map(|s| (s.slot.start_time, s.slot.id.clone()));
            existing.extend(page);
            if !full {
                break;
            }
        }
        let by_id: std::collections::HashMap<&str, &SlotState> =
            existing.iter().map(|s| (s.slot.id.as_str(), s)).collect();
        let wanted: std::collections::HashSet<&str> =
            planned.iter().map(|s| s.slot_id.as_str()).collect();
        let occupied = |s: &SlotState| s.booked || s.hold.as_ref().is_some_and(|h| h.is_live(now));
        // The slots that will be kept: a new game must not overlap one of them.
        let staying: Vec<&SlotState> = existing
            .iter()
            .filter(|s| !wanted.contains(s.slot.id.as_str()) && occupied(s))
            .collect();
        let mut skipped = 0;
        let mut changes = Vec::new();
        for p in planned {
            let slot = Slot {
                id: p.slot_id.clone(),
                room_id: room.clone(),
                start_time: p.start_time,
                end_time: p.end_time,
            };
            match by_id.get(p.slot_id.as_str()) {
                Some(old)
                    if (old.slot.start_time, old.slot.end_time) == (p.start_time, p.end_time) => {}
                Some(old) if occupied(old) => {}
                Some(_) => changes.push(SlotChange::Move(
                    slot,
                    the_room.rules_for(p.start_time),
                    time_zone.to_owned(),
                )),
                None if staying.iter().any(|k| {
                    crate::store::overlaps(
                        (p.start_time, p.end_time),
                        (k.slot.start_time, k.slot.end_time),
                    )
                }) =>
                {
                    skipped += 1;
                }
                None => changes.push(SlotChange::Create(
                    crate::store::dynamo::provision::slot_seed_item(&slot, the_room)?,
                )),
            }
        }
        changes.extend(
            existing
                .iter()
                .filter(|s| !wanted.contains(s.slot.id.as_str()))
                .map(|s| SlotChange::Remove(s.slot.id.clone())),
        );
        let mut tasks = tokio::task::JoinSet::new();
        let mut outcomes = Vec::new();
        for change in changes {
            if tasks.len() >= APPLY_CONCURRENCY
                && let Some(done) = tasks.join_next().await
            {
                outcomes.push(done);
            }
            tasks.spawn(change.send(self.client.clone(), self.table.clone(), now));
        }
        while let Some(done) = tasks.join_next().await {
            outcomes.push(done);
        }
        let mut applied = Applied {
            skipped,
            ..Applied::default()
        };
        let mut kept_ids = std::collections::HashSet::new();
        for outcome in outcomes {
            match outcome.map_err(|e| Error::Internal(format!("schedule task: {e}")))?? {
                ChangeDone::Created => applied.created += 1,
                ChangeDone::AlreadyThere => {}
                ChangeDone::Removed => applied.removed += 1,
                ChangeDone::Moved => applied.updated += 1,
                ChangeDone::Kept(id) => {
                    kept_ids.insert(id);
                }
            }
        }
        applied.kept = existing
            .into_iter()
            .filter(|s| kept_ids.contains(&s.slot.id))
            .collect();
        Ok(applied)
    }

    async fn put_room(&self, room: &Room, now: DateTime<Utc>) -> Result<bool, Error> {
        // One PutItem: the room's name and rules replace the old ones; the old item, returned,
        // tells a replacement (200) from a creation (201).
        let output = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item_of(&RoomItem::of(room))?))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(|e| sdk_error("PutItem (room)", e))?;
        let old = output.attributes.filter(|old| !old.is_empty());
        let Some(old) = old else {
            return Ok(true);
        };
        // Rules that the room's slot items carry changed: copy them onto its future slots,
        // so that holds and cancellations follow the new rules at once (as on SQLite, where
        // they are read from the room). Only then more requests: a Query and one UpdateItem
        // per slot.
        let old = parse_item::<RoomItem>(old)?.room();
        let start = chrono::DateTime::<Utc>::UNIX_EPOCH;
        if old.rules_for(start) != room.rules_for(start)
            || old.policy.time_zone != room.policy.time_zone
        {
            self.copy_rules_to_slots(room, now).await?;
        }
        Ok(false)
    }
}

impl DynamoStore {
    /// The `Query` of `gsi1` for `room`'s slot items whose sort key lies in `[low, high]` (the
    /// bounds of [`slot_window_bounds`]), in start order; the caller adds the page and sends it.
    fn room_window_query(
        &self,
        room: &RoomId,
        low: &str,
        high: &str,
    ) -> aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder {
        self.client
            .query()
            .table_name(&self.table)
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
    async fn room_slot_items(
        &self,
        room: &RoomId,
        from: DateTime<Utc>,
        to: Option<DateTime<Utc>>,
        operation: &str,
    ) -> Result<Vec<SlotItem>, Error> {
        let (low, high) = slot_window_bounds(millis(from), to.map(millis));
        let mut start_key = None;
        let mut slots = Vec::new();
        loop {
            let page = self
                .room_window_query(room, &low, &high)
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

    /// Copies `room`'s rules and time zone onto each of its slot items starting after `now`,
    /// 32 updates in flight, each guarded on the slot's start being the one the rules were
    /// computed for (a slot moved meanwhile got its rules from the move).
    async fn copy_rules_to_slots(&self, room: &Room, now: DateTime<Utc>) -> Result<(), Error> {
        let slots = self
            .room_slot_items(&room.id, now, None, "Query (room's slots)")
            .await?;
        let mut tasks = tokio::task::JoinSet::new();
        for slot in slots {
            let rules = room.rules_for(from_millis(slot.start_time)?);
            let request = self
                .client
                .update_item()
                .table_name(&self.table)
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
            if tasks.len() >= APPLY_CONCURRENCY
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
}

/// One rules copy's outcome: written, or refused because the slot moved or went meanwhile
/// (either way it needs nothing more).
fn copied(
    done: Result<
        Result<
            aws_sdk_dynamodb::operation::update_item::UpdateItemOutput,
            aws_sdk_dynamodb::error::SdkError<UpdateItemError>,
        >,
        tokio::task::JoinError,
    >,
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
