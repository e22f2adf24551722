//! A booking's reference, manage key and contact on DynamoDB.
//!
//! - **Confirm** ([`confirm`]): ONE `TransactWriteItems` of three items — the slot's guarded
//!   confirm (the guard of every confirm, now also setting the reference and contact), the
//!   `REF#<reference>` item put only if new (`attribute_not_exists`: the reference is unique;
//!   a collision draws another and sends again), and the hold record's update (reference and
//!   contact, so a look-up after the slot moved on still tells them), and the
//!   `booking.confirmed` event's `EVENT#` item (the outbox, put only if new). One request, as
//!   the `UpdateItem` it replaced.
//! - **By reference** ([`by_reference`]): ONE consistent `GetItem` of the `REF#` item (the hold id
//!   and the key's digest), then the hold's `BatchGetItem` as `GET /holds/{id}` (slot and record).
//! - **Retention** ([`erase_contacts`]): per room, a `Query` of its past slots, then an
//!   `UpdateItem` removing the contact from each slot item still carrying one and from its hold
//!   record.

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::errors::{is_transaction_conflict, sdk_error, transaction_refusal_item};
use super::holds::{Action, explain};
use super::outbox::event_put;
use super::schema::*;
use super::{DynamoStore, bookings, retry_on_conflict, rooms, slots};
use crate::domain::{Contact, HoldId, HoldStatus, KeyDigest, Reference, UserId};
use crate::error::Error;
use crate::events::EventKind;
use crate::store::{Confirmed, ManagedBooking, NewBooking, REFERENCE_ATTEMPTS, millis};

/// The items of the uncapped confirm's transaction, in order.
const SLOT: usize = 0;
const REF: usize = 1;

/// `REF#<reference>`: the reference taken, the hold it names and the SHA-256 of its manage key.
/// Kept for good: a reference is never handed out twice.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct RefItem {
    pub(super) pk: String,
    pub(super) sk: String,
    pub(super) reference: Reference,
    pub(super) hold_id: HoldId,
    pub(super) manage_key: KeyDigest,
}

fn ref_key(
    reference: &Reference,
) -> Result<std::collections::HashMap<String, AttributeValue>, Error> {
    item_of(&Key {
        pk: format!("REF#{reference}"),
        sk: REF_SK.into(),
    })
}

fn contact_value(contact: &Contact) -> Result<AttributeValue, Error> {
    serde_dynamo::aws_sdk_dynamodb_1::to_attribute_value(contact)
        .map_err(|e| Error::Internal(format!("contact as an attribute: {e}")))
}

/// The confirm's items beside the slot's guarded update: the `REF#` item (put only if new), the
/// hold record's update (it must exist) and the `booking.confirmed` event's item (put only if
/// new: the outbox, `outbox.rs`).
pub(super) fn booking_items(
    store: &DynamoStore,
    (id, user): (HoldId, &UserId),
    reference: &Reference,
    booking: &NewBooking,
    now: DateTime<Utc>,
) -> Result<[TransactWriteItem; 3], Error> {
    let put = built(
        "reference item",
        Put::builder()
            .table_name(&store.table)
            .set_item(Some(item_of(&RefItem {
                pk: format!("REF#{reference}"),
                sk: REF_SK.into(),
                reference: reference.clone(),
                hold_id: id,
                manage_key: booking.key.clone(),
            })?))
            .condition_expression(format!("attribute_not_exists({PK})"))
            .build(),
    )?;
    let mut set = "SET #reference = :reference".to_owned();
    let mut record = Update::builder()
        .table_name(&store.table)
        .set_key(Some(Key::hold(id).item()?))
        .condition_expression(format!("attribute_exists({PK})"))
        .expression_attribute_names("#reference", REFERENCE)
        .expression_attribute_values(":reference", s(reference.as_str()));
    if let Some(contact) = &booking.contact {
        set.push_str(", #contact = :contact");
        record = record
            .expression_attribute_names("#contact", CONTACT)
            .expression_attribute_values(":contact", contact_value(contact)?);
    }
    let record = update("hold record's booking", record.update_expression(set))?;
    let event = event_put(
        store,
        EventKind::Confirmed,
        (id, user),
        None,
        None,
        booking.mail_key.as_ref(),
        now,
    )?;
    Ok([
        TransactWriteItem::builder().put(put).build(),
        TransactWriteItem::builder().update(record).build(),
        TransactWriteItem::builder().put(event).build(),
    ])
}

/// The slot's guarded confirm (the same guard with or without a cap), writing the reference
/// and contact beside the status.
pub(super) fn slot_confirm(
    store: &DynamoStore,
    id: HoldId,
    user: &UserId,
    reference: &Reference,
    contact: Option<&Contact>,
    now: DateTime<Utc>,
) -> Result<Update, Error> {
    let mut set = format!(
        "SET {HOLD_STATUS} = :to, {BOOKED} = :true, {HOLD_CONFIRMED_AT} = :now, \
         {HOLD_REFERENCE} = :reference"
    );
    let mut slot = Update::builder()
        .table_name(&store.table)
        .set_key(Some(Key::slot(id.slot_key()).item()?))
        .condition_expression(format!(
            "{HOLD_ID} = :hold_id AND {HOLDER} = :user AND {HOLD_STATUS} = :hold \
             AND {HOLD_EXPIRES_AT} > :now AND {BOOKED} = :false AND {START_TIME} > :now"
        ))
        .expression_attribute_values(":hold_id", s(id.to_string()))
        .expression_attribute_values(":user", s(user.as_str()))
        .expression_attribute_values(":hold", s(HoldStatus::Hold.as_str()))
        .expression_attribute_values(":to", s(HoldStatus::Confirmed.as_str()))
        .expression_attribute_values(":now", n(millis(now)))
        .expression_attribute_values(":false", AttributeValue::Bool(false))
        .expression_attribute_values(":true", AttributeValue::Bool(true))
        .expression_attribute_values(":reference", s(reference.as_str()))
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
    if let Some(contact) = contact {
        set.push_str(&format!(", {HOLD_CONTACT} = :contact"));
        slot = slot.expression_attribute_values(":contact", contact_value(contact)?);
    }
    update("slot confirm", slot.update_expression(set))
}

/// Whether a cancelled transaction's item `index` (a `REF#` put) was refused: the reference is
/// taken.
pub(super) fn reference_taken(
    reasons: &[aws_sdk_dynamodb::types::CancellationReason],
    index: usize,
) -> bool {
    reasons.get(index).and_then(|r| r.code()) == Some("ConditionalCheckFailed")
}

/// See [`crate::store::Store::confirm_booking`] without a cap: ONE `TransactWriteItems` (see
/// the module's doc); a refused slot guard is explained from the slot as it was (a retry of a
/// done confirm answers the booking as it is, `replayed`).
pub(super) async fn confirm(
    store: &DynamoStore,
    id: HoldId,
    user: &UserId,
    booking: &NewBooking,
    now: DateTime<Utc>,
) -> Result<Confirmed, Error> {
    let mut reference = booking.reference.clone();
    for _ in 0..REFERENCE_ATTEMPTS {
        let slot = slot_confirm(store, id, user, &reference, booking.contact.as_ref(), now)?;
        let mut items = vec![TransactWriteItem::builder().update(slot).build()];
        items.extend(booking_items(store, (id, user), &reference, booking, now)?);
        let request = store
            .client
            .transact_write_items()
            .set_transact_items(Some(items));
        let err = match retry_on_conflict(|| request.clone().send(), is_transaction_conflict).await
        {
            Ok(_) => {
                let hold = bookings::get_hold(store, id, now).await?;
                let hold = hold.ok_or_else(|| Error::Internal(format!("confirmed {id} lost")))?;
                return Ok(Confirmed {
                    hold,
                    replayed: false,
                });
            }
            Err(err) => err,
        };
        let Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) =
            err.as_service_error()
        else {
            return Err(sdk_error("TransactWriteItems (confirm)", err));
        };
        let reasons = cancelled.cancellation_reasons();
        let old =
            transaction_refusal_item::<SlotItem>(reasons, SLOT, "TransactWriteItems (confirm)")?;
        if old.is_some() || !reference_taken(reasons, REF) {
            let hold = explain(store, id, now, Action::Confirm(user), old).await?;
            return Ok(Confirmed {
                hold,
                replayed: true,
            });
        }
        reference = Reference::generate().map_err(|e| Error::Internal(e.0))?;
    }
    Err(Error::Unavailable(format!(
        "{REFERENCE_ATTEMPTS} booking references in a row were taken"
    )))
}

/// See [`crate::store::Store::booking_by_reference`].
pub(super) async fn by_reference(
    store: &DynamoStore,
    reference: &Reference,
    now: DateTime<Utc>,
) -> Result<Option<ManagedBooking>, Error> {
    let output = store
        .client
        .get_item()
        .table_name(&store.table)
        .set_key(Some(ref_key(reference)?))
        .consistent_read(true)
        .send()
        .await
        .map_err(|e| sdk_error("GetItem (reference)", e))?;
    let Some(item) = output.item.filter(|i| !i.is_empty()) else {
        return Ok(None);
    };
    let found: RefItem = parse_item(item)?;
    let Some((hold, room_id)) = bookings::hold_and_room(store, found.hold_id, now).await? else {
        return Ok(None);
    };
    Ok(Some(ManagedBooking {
        hold,
        key: found.manage_key,
        room_id,
    }))
}

/// See [`crate::store::Store::erase_contacts`].
pub(super) async fn erase_contacts(
    store: &DynamoStore,
    ended_before: DateTime<Utc>,
) -> Result<usize, Error> {
    let mut erased = 0;
    for room in rooms::list(store).await? {
        let past = slots::room_slot_items(
            store,
            &room.id,
            DateTime::UNIX_EPOCH,
            Some(ended_before),
            "Query (contact retention)",
        )
        .await?;
        for slot in past {
            if slot.hold_contact.is_none() || slot.end_time >= millis(ended_before) {
                continue;
            }
            store
                .client
                .update_item()
                .table_name(&store.table)
                .set_key(Some(
                    Key::slot(crate::domain::SlotKey::of(&slot.slot_id)).item()?,
                ))
                .update_expression(format!("REMOVE {HOLD_CONTACT}"))
                .condition_expression(format!("attribute_exists({PK})"))
                .send()
                .await
                .map_err(|e| sdk_error("UpdateItem (contact retention)", e))?;
            if let Some(id) = slot.hold_id {
                // The record may be gone already (TTL): nothing to erase then.
                let _ = store
                    .client
                    .update_item()
                    .table_name(&store.table)
                    .set_key(Some(Key::hold(id).item()?))
                    .update_expression("REMOVE #contact")
                    .expression_attribute_names("#contact", CONTACT)
                    .condition_expression(format!("attribute_exists({PK})"))
                    .send()
                    .await;
            }
            erased += 1;
        }
    }
    Ok(erased)
}
