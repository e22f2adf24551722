//! The writes on an existing hold. Release is ONE conditional `UpdateItem` on the slot item
//! ([`transition`]); confirm is ONE `TransactWriteItems` with the booking's reference
//! (`references.rs`); extend and cancel are each ONE `TransactWriteItems` of the
//! slot and the hold record ([`HoldChangeItem`]), so the record stays true once the slot moves
//! on. A refusal is explained from the slot item as it was, or, when the slot has moved on, from
//! the hold record ([`explain`]).

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::types::{
    AttributeValue, Put, ReturnValue, ReturnValuesOnConditionCheckFailure, TransactWriteItem,
    Update,
};
use chrono::{DateTime, Utc};

use super::errors::{is_transaction_conflict, sdk_error, transaction_refusal_item};
use super::outbox::{SlotFacts, event_put};
use super::schema::*;
use super::{CONFLICT_ATTEMPTS, DynamoStore, retry_on_conflict};
use crate::domain::{self, Canceller, Hold, HoldId, HoldStatus, Refusal, UserId};
use crate::error::Error;
use crate::events::EventKind;
use crate::store::{Confirmed, NewBooking, millis};

/// What a refused hold operation is explained with, and what it is called in errors.
#[derive(Clone, Copy)]
pub(super) enum Action<'a> {
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

    /// The request it is, for errors and logs.
    fn operation(self) -> &'static str {
        match self {
            Self::Confirm(_) => "TransactWriteItems (confirm)",
            Self::Release(_) => "UpdateItem (release)",
            Self::Extend(_) => "TransactWriteItems (extend)",
            Self::Cancel(_) => "TransactWriteItems (cancel)",
        }
    }
}

/// The move of a live hold out of `HOLD` that is ONE `UpdateItem` on its slot item (a confirm,
/// which writes a reference too, is a transaction: `references.rs`).
#[derive(Clone, Copy)]
enum Transition {
    Release,
}

impl Transition {
    /// The hold status it writes.
    fn to(self) -> HoldStatus {
        match self {
            Self::Release => HoldStatus::Released,
        }
    }

    /// The guard: the slot's latest hold is this one, the caller's, `HOLD` and live, the slot
    /// not booked.
    fn condition(self) -> String {
        format!(
            "{HOLD_ID} = :hold_id AND {HOLDER} = :user AND {HOLD_STATUS} = :hold \
             AND {HOLD_EXPIRES_AT} > :now AND {BOOKED} = :false"
        )
    }

    /// The write: the new status.
    fn update(self, request: UpdateItemFluentBuilder) -> UpdateItemFluentBuilder {
        match self {
            Self::Release => request.update_expression(format!("SET {HOLD_STATUS} = :to")),
        }
    }

    fn action(self, user: &UserId) -> Action<'_> {
        match self {
            Self::Release => Action::Release(user),
        }
    }
}

/// The items of the extend and cancel transactions by role, in the order the transaction
/// carries them (and so the order of its cancellation reasons).
#[derive(Clone, Copy)]
enum HoldChangeItem {
    /// The guarded update of the slot item (returning the slot as it was when refused).
    Slot = 0,
    /// The update of the hold record (guarded on its existence).
    Record = 1,
}

impl HoldChangeItem {
    const fn index(self) -> usize {
        self as usize
    }
}

/// See [`crate::store::Store::confirm_booking`].
pub(super) async fn confirm(
    store: &DynamoStore,
    id: HoldId,
    user: &UserId,
    booking: &NewBooking,
    max_bookings: Option<u32>,
    now: DateTime<Utc>,
) -> Result<Confirmed, Error> {
    let uncapped = || super::references::confirm(store, id, user, booking, now);
    match max_bookings {
        None => uncapped().await,
        Some(cap) => {
            super::capped_confirm::confirm(store, id, user, booking, cap, now, uncapped).await
        }
    }
}

/// See [`crate::store::Store::release_hold`].
pub(super) async fn release(
    store: &DynamoStore,
    id: HoldId,
    user: &UserId,
    now: DateTime<Utc>,
) -> Result<Hold, Error> {
    transition(store, id, user, now, Transition::Release).await
}

/// Release: ONE conditional `UpdateItem` on the hold's slot item (its key comes from
/// the hold id), guarded as [`Transition::condition`] says. On success the new slot image gives
/// the hold's slot and expiry; on refusal the old image explains it (see [`explain`]).
async fn transition(
    store: &DynamoStore,
    id: HoldId,
    user: &UserId,
    now: DateTime<Utc>,
    transition: Transition,
) -> Result<Hold, Error> {
    let action = transition.action(user);
    let request = store
        .client
        .update_item()
        .table_name(&store.table)
        .set_key(Some(Key::slot(id.slot_key()).item()?))
        .condition_expression(transition.condition())
        .expression_attribute_values(":hold_id", s(id.to_string()))
        .expression_attribute_values(":user", s(user.as_str()))
        .expression_attribute_values(":hold", s(HoldStatus::Hold.as_str()))
        .expression_attribute_values(":now", n(millis(now)))
        .expression_attribute_values(":false", AttributeValue::Bool(false))
        .expression_attribute_values(":to", s(transition.to().as_str()))
        .return_values(ReturnValue::AllNew)
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
    let request = transition.update(request);
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
            return slot
                .hold_if(id)?
                .ok_or_else(|| Error::Internal(format!("slot of hold {id} lost its hold fields")));
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
            explain(store, id, now, action, old).await
        }
        Some(UpdateItemError::TransactionConflictException(_)) => Err(Error::Unavailable(format!(
            "dynamodb {}: transaction conflict on hold {id}'s slot {CONFLICT_ATTEMPTS} times",
            action.operation()
        ))),
        _ => Err(sdk_error(action.operation(), err)),
    }
}

/// Extend or cancel: ONE `TransactWriteItems` of the guarded slot update and the hold record's
/// update (two items must change together: the record has to carry the new expiry or the
/// cancellation once the slot moves on, or later look-ups and retries would be told wrong). A
/// transaction returns no attributes; the caller knows what it wrote. `None`: written; else the
/// refusal's explanation when it explains the refusal as allowed.
async fn transact_on_hold(
    store: &DynamoStore,
    id: HoldId,
    now: DateTime<Utc>,
    action: Action<'_>,
    (slot, record): (Update, Update),
    event: Option<Put>,
) -> Result<Option<Hold>, Error> {
    let operation = action.operation();
    let mut items = [None, None];
    items[HoldChangeItem::Slot.index()] = Some(slot);
    items[HoldChangeItem::Record.index()] = Some(record);
    let items = items
        .into_iter()
        .flatten()
        .map(|update| TransactWriteItem::builder().update(update).build())
        .chain(event.map(|put| TransactWriteItem::builder().put(put).build()))
        .collect();
    let request = store
        .client
        .transact_write_items()
        .set_transact_items(Some(items));
    let err = match retry_on_conflict(|| request.clone().send(), is_transaction_conflict).await {
        Ok(_) => return Ok(None),
        Err(err) => err,
    };
    let Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) =
        err.as_service_error()
    else {
        return Err(sdk_error(operation, err));
    };
    // The slot as it was when its guard refused (or none: only the record's guard refused, i.e.
    // the hold is unknown), explained as any refusal.
    let old = transaction_refusal_item::<SlotItem>(
        cancelled.cancellation_reasons(),
        HoldChangeItem::Slot.index(),
        operation,
    )?;
    Ok(Some(explain(store, id, now, action, old).await?))
}

/// Why an operation on `id` was refused, from the slot item as it was (`slot`).
///
/// - The slot's latest hold is `id`: the slot's record of it (owner, status, expiry, start,
///   extension) goes to the domain's explanation. No further request.
/// - Otherwise the slot has moved on or `id` is unknown: the hold record (one consistent read,
///   refusals only) tells the owner and what became of it ([`HoldItem::hold`]).
pub(super) async fn explain(
    store: &DynamoStore,
    id: HoldId,
    now: DateTime<Utc>,
    action: Action<'_>,
    slot: Option<SlotItem>,
) -> Result<Hold, Error> {
    let hold = match slot.as_ref().map(|s| s.hold_if(id)).transpose()?.flatten() {
        Some(hold) => Some(hold),
        None => hold_record(store, id, now).await?,
    };
    Ok(action.explain(hold.as_ref(), now)?)
}

/// The hold record of `id`, read consistently, as [`HoldItem::hold`] tells it; `None` if there is
/// none (unknown, or deleted by TTL long after its expiry).
async fn hold_record(
    store: &DynamoStore,
    id: HoldId,
    now: DateTime<Utc>,
) -> Result<Option<Hold>, Error> {
    let output = store
        .client
        .get_item()
        .table_name(&store.table)
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

/// See [`crate::store::Store::extend_hold`].
pub(super) async fn extend(
    store: &DynamoStore,
    id: HoldId,
    user: &UserId,
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, Error> {
    let slot = update(
        "slot extension",
        Update::builder()
            .table_name(&store.table)
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
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld),
    )?;
    let record = update(
        "hold record extension",
        Update::builder()
            .table_name(&store.table)
            .set_key(Some(Key::hold(id).item()?))
            .condition_expression(format!("attribute_exists({PK})"))
            // `extended` is a DynamoDB reserved word: every name goes through a placeholder.
            .update_expression("SET #expires = :expires, #extended = :true")
            .expression_attribute_names("#expires", EXPIRES_AT)
            .expression_attribute_names("#extended", EXTENDED)
            .expression_attribute_values(":expires", n(millis(expires_at)))
            .expression_attribute_values(":true", AttributeValue::Bool(true)),
    )?;
    match transact_on_hold(store, id, now, Action::Extend(user), (slot, record), None).await? {
        None => Ok(expires_at),
        Some(hold) => Err(Error::Internal(format!(
            "extension of {} refused but explained as allowed",
            hold.id
        ))),
    }
}

/// See [`crate::store::Store::cancel_hold`].
pub(super) async fn cancel(
    store: &DynamoStore,
    id: HoldId,
    by: &Canceller,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    // What the record keeps of the booking for the day sheet once the slot has moved on (its
    // room, start, party, confirmation) is the slot's: one consistent read first. While the
    // slot carries this hold as `CONFIRMED` none of it changes, and the transaction's guard
    // says it still does. Anything else is refused (or a retry answered) from this read.
    let read = slot_item(store, id).await?;
    let Some(booking) = read
        .as_ref()
        .filter(|s| s.hold_id == Some(id) && s.hold_status == Some(HoldStatus::Confirmed))
    else {
        explain(store, id, now, Action::Cancel(by), read).await?;
        return Ok(());
    };
    let slot = slot_cancellation(store, id, by, now)?;
    let record = record_cancellation(store, id, by, booking, now)?;
    // The outbox: the `booking.cancelled` event, with the slot's facts as read.
    let owner = booking
        .holder
        .clone()
        .ok_or_else(|| Error::Internal(format!("booking {id} without its player")))?;
    let event = event_put(
        store,
        EventKind::Cancelled,
        (id, &owner),
        Some(by),
        Some(SlotFacts::of(booking)),
        None,
        now,
    )?;
    // Refused but explained as done: a retry of a cancellation.
    transact_on_hold(
        store,
        id,
        now,
        Action::Cancel(by),
        (slot, record),
        Some(event),
    )
    .await
    .map(|_| ())
}

/// The slot item of hold `id`, read consistently.
async fn slot_item(store: &DynamoStore, id: HoldId) -> Result<Option<SlotItem>, Error> {
    let output = store
        .client
        .get_item()
        .table_name(&store.table)
        .set_key(Some(Key::slot(id.slot_key()).item()?))
        .consistent_read(true)
        .send()
        .await
        .map_err(|e| sdk_error("GetItem (cancel's slot)", e))?;
    output
        .item
        .filter(|i| !i.is_empty())
        .map(parse_item)
        .transpose()
}

/// The slot's side of a cancellation: guarded on the hold being this slot's `CONFIRMED` booking
/// and on the canceller. A player: their own booking, before the service's cut-off (`:latest`)
/// and the room's (`cancel_by`, copied onto the slot). An operator: any booking, before its
/// start.
fn slot_cancellation(
    store: &DynamoStore,
    id: HoldId,
    by: &Canceller,
    now: DateTime<Utc>,
) -> Result<Update, Error> {
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
        .table_name(&store.table)
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
    update("slot cancellation", slot)
}

/// The hold record's side of a cancellation: when, by whom and (an operator's) why, and what
/// the day sheet shows of the booking (`booking`: its slot as read, carrying it `CONFIRMED`),
/// under the room's `gsi1` partition; kept (a record of an earlier version loses its `ttl`).
fn record_cancellation(
    store: &DynamoStore,
    id: HoldId,
    by: &Canceller,
    booking: &SlotItem,
    now: DateTime<Utc>,
) -> Result<Update, Error> {
    let mut set = format!(
        "SET #cancelled = :now, #by = :by, {GSI1PK} = :room_pk, {GSI1SK} = :sheet_sk, \
         {ROOM_ID} = :room, {START_TIME} = :start, #players = if_not_exists(#players, :players)"
    );
    if by.reason().is_some() {
        set.push_str(", #reason = :reason");
    }
    if booking.hold_confirmed_at.is_some() {
        set.push_str(&format!(", {CONFIRMED_AT} = :confirmed"));
    }
    set.push_str(" REMOVE #ttl");
    let created = booking.hold_created_at.unwrap_or_default();
    let record = Update::builder()
        .table_name(&store.table)
        .set_key(Some(Key::hold(id).item()?))
        .condition_expression(format!("attribute_exists({PK})"))
        .update_expression(set)
        .expression_attribute_names("#cancelled", CANCELLED_AT)
        .expression_attribute_names("#by", CANCELLED_BY)
        .expression_attribute_names("#players", "players")
        .expression_attribute_names("#ttl", TTL)
        .expression_attribute_values(":now", n(millis(now)))
        .expression_attribute_values(":by", s(by.name()))
        .expression_attribute_values(":room_pk", s(room_pk(&booking.room_id)))
        .expression_attribute_values(
            ":sheet_sk",
            s(cancelled_booking_gsi1sk(
                booking.start_time,
                &booking.slot_id,
                created,
                id,
            )),
        )
        .expression_attribute_values(":room", s(booking.room_id.as_str()))
        .expression_attribute_values(":start", n(booking.start_time))
        .expression_attribute_values(":players", n(i64::from(booking.hold_players.unwrap_or(1))));
    let record = match booking.hold_confirmed_at {
        Some(at) => record.expression_attribute_values(":confirmed", n(at)),
        None => record,
    };
    let record = match by.reason() {
        Some(reason) => record
            .expression_attribute_names("#reason", REASON)
            .expression_attribute_values(":reason", s(reason)),
        None => record,
    };
    update("hold record cancellation", record)
}
