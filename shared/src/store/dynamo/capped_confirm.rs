//! A confirm under `MAX_UPCOMING_BOOKINGS_PER_PLAYER`: ONE consistent `BatchGetItem` (the
//! player's user item with their places, and the hold's slot), then ONE `TransactWriteItems` of
//! the slot's guarded confirm (the same guard as without the cap), the user item's update that
//! takes a booking place ([`super::leases`]), the booking's `REF#` item, hold record fields and
//! `booking.confirmed` event item (`references.rs`) and, when that place held an old booking, the check that it is over
//! (cancelled or started). At the cap nothing is written: `BookingLimit`, and the
//! hold stays a hold. A confirm that cannot succeed, or the retry of a done one, goes the way
//! of an uncapped confirm (its refusal explains it).

use std::collections::HashMap;

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};
use chrono::{DateTime, Utc};

use super::errors::{is_transaction_conflict, place_lost, sdk_error, transaction_refusal_item};
use super::holds::{Action, explain};
use super::leases::{
    CHOICE_ATTEMPTS, Choice, LeaseKind, Leases, Place, choose, claim, old_hold_over,
};
use super::references::{booking_items, reference_taken, slot_confirm};
use super::schema::*;
use super::{DynamoStore, consistent_batch_get, retry_on_conflict};
use crate::domain::{BookingDetails, Hold, HoldId, HoldStatus, Reference, UserId};
use crate::error::Error;
use crate::store::{Confirmed, NewBooking, millis};

/// The items of the capped confirm, in the transaction's order.
const SLOT: usize = 0;
const USER: usize = 1;
const REF: usize = 2;
const RECORD: usize = 3;
const EVENT: usize = RECORD + 1;
const OLD: usize = EVENT + 1;

/// See [`crate::store::Store::confirm_hold`] with a cap; `uncapped` is the confirm without it.
pub(super) async fn confirm<F, Fut>(
    store: &DynamoStore,
    id: HoldId,
    user: &UserId,
    booking: &NewBooking,
    cap: u32,
    now: DateTime<Utc>,
    uncapped: F,
) -> Result<Confirmed, Error>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<Confirmed, Error>>,
{
    let mut lost = String::new();
    let mut reference = booking.reference.clone();
    for attempt in 1..=CHOICE_ATTEMPTS {
        let (user_item, slot) = read(store, user, id).await?;
        let Some(hold) = confirmable(slot.as_ref(), id, user, now)? else {
            return uncapped().await;
        };
        let leases = Leases::of(user_item.as_ref(), LeaseKind::Booking, cap);
        let place = match choose(store, &leases, attempt == 1, now).await? {
            Choice::Take(place) => place,
            Choice::Full { .. } => return Err(Error::BookingLimit),
        };
        match send(store, &hold, user, (&reference, booking), place, now).await? {
            Sent::Answer(answer) => return *answer,
            Sent::PlaceLost => lost = format!("attempt {attempt}"),
            Sent::ReferenceTaken => {
                reference = Reference::generate().map_err(|e| Error::Internal(e.0))?;
                lost = format!("attempt {attempt}: reference taken");
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(5 * u64::from(attempt))).await;
    }
    Err(Error::Unavailable(format!(
        "a booking place among {cap} lost {CHOICE_ATTEMPTS} times ({lost})"
    )))
}

/// The hold as its slot carries it, when a confirm by `user` would pass the slot's guard now
/// (theirs, `HOLD`, live, the slot unbooked and not started); `None` otherwise.
fn confirmable(
    slot: Option<&SlotItem>,
    id: HoldId,
    user: &UserId,
    now: DateTime<Utc>,
) -> Result<Option<Hold>, Error> {
    let Some(slot) = slot.filter(|s| !s.booked) else {
        return Ok(None);
    };
    Ok(slot.hold_if(id)?.filter(|hold| {
        &hold.user_id == user
            && hold.status == HoldStatus::Hold
            && hold.expires_at > now
            && hold.starts_at > now
    }))
}

/// The user item and the hold's slot item, read consistently in one `BatchGetItem`.
async fn read(
    store: &DynamoStore,
    user: &UserId,
    id: HoldId,
) -> Result<(Option<HashMap<String, AttributeValue>>, Option<SlotItem>), Error> {
    let keys = vec![Key::user(user).item()?, Key::slot(id.slot_key()).item()?];
    let (mut user_item, mut slot) = (None, None);
    for item in consistent_batch_get(store, keys, "confirm's places").await? {
        let is_user = item
            .get(SK)
            .and_then(|sk| sk.as_s().ok())
            .is_some_and(|sk| sk == USER_SK);
        if is_user {
            user_item = Some(item);
        } else {
            slot = Some(parse_item(item)?);
        }
    }
    Ok((user_item, slot))
}

/// What one capped confirm's transaction came to.
enum Sent {
    /// The answer (confirmed, or the refusal explained).
    Answer(Box<Result<Confirmed, Error>>),
    /// The place was lost to a simultaneous request: choose again.
    PlaceLost,
    /// The reference was taken: draw another.
    ReferenceTaken,
}

/// Sends the capped confirm's transaction: the slot's guarded confirm, the user's booking
/// place, the reference's item and the hold record's booking fields, and, when the place held
/// an old booking, the check that it is over.
async fn send(
    store: &DynamoStore,
    hold: &Hold,
    user: &UserId,
    (reference, booking): (&Reference, &NewBooking),
    place: Place,
    now: DateTime<Utc>,
) -> Result<Sent, Error> {
    let id = hold.id;
    let slot = slot_confirm(store, id, user, reference, booking.contact.as_ref(), now)?;
    let (condition, set, values) = claim(LeaseKind::Booking, place, id, millis(hold.starts_at));
    let mut taking = Update::builder()
        .table_name(&store.table)
        .set_key(Some(Key::user(user).item()?))
        .condition_expression(condition)
        .update_expression(format!("SET {set}"))
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
    for (name, value) in values {
        taking = taking.expression_attribute_values(name, value);
    }
    let mut items = vec![
        TransactWriteItem::builder().update(slot).build(),
        TransactWriteItem::builder()
            .update(update("user's booking place", taking)?)
            .build(),
    ];
    items.extend(booking_items(store, (id, user), reference, booking, now)?);
    let old = old_hold_over(store, LeaseKind::Booking, place, id.slot_key(), now)?;
    let has_old = old.is_some();
    items.extend(old.map(|check| TransactWriteItem::builder().condition_check(check).build()));
    debug_assert_eq!(items.len(), if has_old { OLD + 1 } else { EVENT + 1 });
    let request = store
        .client
        .transact_write_items()
        .set_transact_items(Some(items));
    let err = match retry_on_conflict(|| request.clone().send(), is_transaction_conflict).await {
        Ok(_) => {
            return Ok(Sent::Answer(Box::new(Ok(Confirmed {
                hold: Hold {
                    status: HoldStatus::Confirmed,
                    details: BookingDetails {
                        reference: Some(reference.clone()),
                        contact: booking.contact.clone(),
                    },
                    ..hold.clone()
                },
                replayed: false,
            }))));
        }
        Err(err) => err,
    };
    let Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) =
        err.as_service_error()
    else {
        return Err(sdk_error("TransactWriteItems (confirm)", err));
    };
    let reasons = cancelled.cancellation_reasons();
    if place_lost(reasons, USER, has_old.then_some(OLD)).is_some() {
        return Ok(Sent::PlaceLost);
    }
    let old_slot =
        transaction_refusal_item::<SlotItem>(reasons, SLOT, "TransactWriteItems (confirm)")?;
    if old_slot.is_none() && reference_taken(reasons, REF) {
        return Ok(Sent::ReferenceTaken);
    }
    let explained = explain(store, id, now, Action::Confirm(user), old_slot).await;
    Ok(Sent::Answer(Box::new(explained.map(|hold| Confirmed {
        hold,
        replayed: true,
    }))))
}
