//! Creating a hold: ONE `TransactWriteItems` of up to four items, each named by its role
//! ([`CreateItem`]): the user check, the guarded slot update that takes the slot's lock, the hold
//! record, and the idempotency key. A refusal is read from the transaction's cancellation
//! reasons, one per item in this order (`errors::create_refusal`, `errors::idempotent_replay`).

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem,
    Update,
};
use chrono::{DateTime, Utc};

use std::collections::HashMap;

use super::errors::{
    create_refusal, idempotent_replay, is_transaction_conflict, place_lost, sdk_error,
};
use super::leases::{
    CHOICE_ATTEMPTS, Choice, LeaseKind, Leases, Place, choose, claim, old_hold_over,
};
use super::schema::*;
use super::{DynamoStore, retry_on_conflict};
use crate::domain::{HoldStatus, SlotKey, UserId, whole_seconds_until};
use crate::error::Error;
use crate::store::{Created, IDEMPOTENCY_WINDOW, IdempotencyKey, NewHold, from_millis, millis};

/// The items of the create transaction by role. Their order is defined here once: the
/// transaction carries them in [`CreateItem::ALL`]'s order, and DynamoDB answers a cancelled
/// transaction with one reason per item in that order, read at the role's [`CreateItem::index`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum CreateItem {
    /// The user must exist: a `ConditionCheck`, or for a player proven by a verified JWT an
    /// `Update` that creates their record.
    User = 0,
    /// The guarded `Update` of the slot item that takes its lock (the service's one guard).
    Slot = 1,
    /// The `Put` of the hold record.
    Record = 2,
    /// The `Put` of the idempotency key, only with a key (last, so the others keep their places
    /// without it).
    Key = 3,
}

impl CreateItem {
    /// Every role, in the transaction's order.
    pub(super) const ALL: [Self; 4] = [Self::User, Self::Slot, Self::Record, Self::Key];

    /// Where the item is in the transaction, and so where its cancellation reason is.
    pub(super) const fn index(self) -> usize {
        self as usize
    }
}

/// See [`crate::store::Store::create_hold`]. Without a cap: ONE `TransactWriteItems`. With
/// `max_live_holds`: a consistent read of the user item chooses a place ([`leases`]), which the
/// transaction takes (the user item's update, and the old hold's check as a fifth item); a place
/// lost to a simultaneous request is chosen again.
pub(super) async fn create(
    store: &DynamoStore,
    hold: &NewHold,
    key: Option<&IdempotencyKey>,
    now: DateTime<Utc>,
) -> Result<Created, Error> {
    let Some(cap) = hold.max_live_holds else {
        return match send(store, hold, key, None, now).await? {
            Sent::Created(created) => Ok(created),
            Sent::PlaceLost(detail) => Err(Error::Internal(detail)),
        };
    };
    let mut lost = String::new();
    for attempt in 1..=CHOICE_ATTEMPTS {
        let user = read_user(store, &hold.user_id).await?;
        let leases = Leases::of(user.as_ref(), LeaseKind::Hold, cap);
        let place = match choose(store, &leases, attempt == 1, now).await? {
            Choice::Take(place) => place,
            Choice::Full { earliest_end } => {
                return at_the_limit(store, key, earliest_end, now).await;
            }
        };
        match send(store, hold, key, Some(place), now).await? {
            Sent::Created(created) => return Ok(created),
            Sent::PlaceLost(detail) => lost = detail,
        }
        tokio::time::sleep(std::time::Duration::from_millis(5 * u64::from(attempt))).await;
    }
    Err(Error::Unavailable(format!(
        "a place among {cap} lost {CHOICE_ATTEMPTS} times: {lost}"
    )))
}

/// What one create transaction did.
enum Sent {
    Created(Created),
    /// The chosen place was taken by another request meanwhile (or still conflicting): choose
    /// again. The detail is for the log.
    PlaceLost(String),
}

/// Sends the create transaction, taking `place` when the player is capped.
async fn send(
    store: &DynamoStore,
    hold: &NewHold,
    key: Option<&IdempotencyKey>,
    place: Option<Place>,
    now: DateTime<Utc>,
) -> Result<Sent, Error> {
    let mut items = Vec::with_capacity(CreateItem::ALL.len() + 1);
    for role in CreateItem::ALL {
        let item = match role {
            CreateItem::User => Some(match place {
                None => user_item(store, hold)?,
                Some(place) => user_taking(store, hold, place)?,
            }),
            CreateItem::Slot => Some(
                TransactWriteItem::builder()
                    .update(slot_lock(store, hold, now)?)
                    .build(),
            ),
            CreateItem::Record => Some(
                TransactWriteItem::builder()
                    .put(hold_record(store, hold, now)?)
                    .build(),
            ),
            CreateItem::Key => key
                .map(|key| idempotency_key(store, hold, key, now))
                .transpose()?
                .map(|put| TransactWriteItem::builder().put(put).build()),
        };
        items.extend(item);
    }
    // The old hold's check, last: the other items keep their places.
    let old_index = items.len();
    let old_check = match place {
        Some(place) => old_hold_over(
            store,
            LeaseKind::Hold,
            place,
            SlotKey::of(&hold.slot_id),
            now,
        )?,
        None => None,
    };
    let has_old_check = old_check.is_some();
    items
        .extend(old_check.map(|check| TransactWriteItem::builder().condition_check(check).build()));
    let request = store
        .client
        .transact_write_items()
        .set_transact_items(Some(items));
    // A competing create, or the holder's confirm or release, may be writing these items.
    let err = match retry_on_conflict(|| request.clone().send(), is_transaction_conflict).await {
        Ok(_) => return Ok(Sent::Created(hold.created())),
        Err(err) => err,
    };
    let Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) =
        err.as_service_error()
    else {
        return Err(sdk_error("TransactWriteItems (create hold)", err));
    };
    let reasons = cancelled.cancellation_reasons();
    if let Some(key) = key
        && let Some(answer) = idempotent_replay(reasons, key)
    {
        return answer.map(Sent::Created);
    }
    if place.is_some()
        && let Some(detail) = place_lost(
            reasons,
            CreateItem::User.index(),
            has_old_check.then_some(old_index),
        )
    {
        return Ok(Sent::PlaceLost(detail));
    }
    Err(create_refusal(reasons, &hold.slot_id, hold.players, now))
}

/// The user item, read consistently (`None`: no such user yet).
pub(super) async fn read_user(
    store: &DynamoStore,
    user: &UserId,
) -> Result<Option<HashMap<String, AttributeValue>>, Error> {
    let output = store
        .client
        .get_item()
        .table_name(&store.table)
        .set_key(Some(Key::user(user).item()?))
        .consistent_read(true)
        .send()
        .await
        .map_err(|e| sdk_error("GetItem (user's places)", e))?;
    Ok(output.item.filter(|i| !i.is_empty()))
}

/// The answer of a capped player with every place live: an `Idempotency-Key` already used
/// answers as without the cap (a replay is not a new hold: one consistent read of the key);
/// else `HoldLimit`, until the earliest live hold expires.
async fn at_the_limit(
    store: &DynamoStore,
    key: Option<&IdempotencyKey>,
    earliest_end: i64,
    now: DateTime<Utc>,
) -> Result<Created, Error> {
    if let Some(key) = key {
        let output = store
            .client
            .get_item()
            .table_name(&store.table)
            .set_key(Some(item_of(&super::schema::Key {
                pk: idem_pk(&key.key),
                sk: IDEM_SK.into(),
            })?))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk_error("GetItem (idempotency key)", e))?;
        if let Some(item) = output.item.filter(|i| !i.is_empty()) {
            let first: IdemItem = parse_item(item)?;
            if first.created_at > millis(now - IDEMPOTENCY_WINDOW) {
                if first.request != key.request {
                    return Err(Error::IdempotencyKeyReused);
                }
                return Ok(Created {
                    id: first.hold_id,
                    slot_id: first.slot_id,
                    user_id: first.user_id,
                    expires_at: from_millis(first.expires_at)?,
                    replayed: true,
                });
            }
        }
    }
    Err(Error::HoldLimit {
        retry_after_seconds: whole_seconds_until(from_millis(earliest_end)?, now),
    })
}

/// [`CreateItem::User`] for a capped player: the user item's update that takes `place` for the
/// hold (guarded on the place being as it was read; for a player not proven by a JWT, also on
/// the user existing). A refusal returns the item as it was (empty: no such user).
fn user_taking(
    store: &DynamoStore,
    hold: &NewHold,
    place: Place,
) -> Result<TransactWriteItem, Error> {
    let (condition, set, values) = claim(LeaseKind::Hold, place, hold.id, millis(hold.expires_at));
    let exists = if hold.verified_user {
        String::new()
    } else {
        format!("attribute_exists({PK}) AND ")
    };
    let mut taking = Update::builder()
        .table_name(&store.table)
        .set_key(Some(Key::user(&hold.user_id).item()?))
        .condition_expression(format!("{exists}{condition}"))
        .update_expression(format!("SET user_id = :user, {set}"))
        .expression_attribute_values(":user", s(hold.user_id.as_str()))
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
    for (name, value) in values {
        taking = taking.expression_attribute_values(name, value);
    }
    Ok(TransactWriteItem::builder()
        .update(update("user's place", taking)?)
        .build())
}

/// [`CreateItem::User`]: the user must exist; a player proven by a verified JWT needs no
/// provisioning: the same item creates their record instead (an `Update` is an upsert).
fn user_item(store: &DynamoStore, hold: &NewHold) -> Result<TransactWriteItem, Error> {
    let key = Some(Key::user(&hold.user_id).item()?);
    Ok(if hold.verified_user {
        TransactWriteItem::builder()
            .update(update(
                "user record",
                Update::builder()
                    .table_name(&store.table)
                    .set_key(key)
                    .update_expression("SET user_id = :user")
                    .expression_attribute_values(":user", s(hold.user_id.as_str())),
            )?)
            .build()
    } else {
        TransactWriteItem::builder()
            .condition_check(built(
                "user check",
                ConditionCheck::builder()
                    .table_name(&store.table)
                    .set_key(key)
                    .condition_expression(format!("attribute_exists({PK})"))
                    .build(),
            )?)
            .build()
    })
}

/// [`CreateItem::Slot`], the guard of the whole service: the slot exists (and is this slot, not
/// another with the same key), has not started, is bookable under the room's rules copied onto
/// it (outside the notice period, the party in the room's range), is not booked, and its latest
/// hold is not a live one. The contract's expiry rule is "a hold counts while now < expires_at",
/// so an expired lock is free when hold_expires_at <= now (`<=`). A party not given is the
/// room's minimum, read from the item by the update itself. A refusal returns the slot as it
/// was (ALL_OLD), which explains it.
fn slot_lock(store: &DynamoStore, hold: &NewHold, now: DateTime<Utc>) -> Result<Update, Error> {
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
    let lock = Update::builder()
        .table_name(&store.table)
        .set_key(Some(Key::slot(SlotKey::of(&hold.slot_id)).item()?))
        .condition_expression(format!(
            "attribute_exists({PK}) AND {SLOT_ID} = :slot AND {BOOKED} = :false \
             AND attribute_not_exists({ARCHIVED_AT}) \
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
             {HOLD_CANCEL_REASON}, {HOLD_REFERENCE}, {HOLD_CONTACT}"
        ));
    let lock = match hold.players {
        Some(players) => lock.expression_attribute_values(":players", n(i64::from(players))),
        None => lock.expression_attribute_values(":one", n(1)),
    };
    update(
        "slot update",
        lock.expression_attribute_values(":slot", s(hold.slot_id.as_str()))
            .expression_attribute_values(":false", AttributeValue::Bool(false))
            .expression_attribute_values(":hold", s(HoldStatus::Hold.as_str()))
            .expression_attribute_values(":now", n(millis(now)))
            .expression_attribute_values(":hold_id", s(hold.id.to_string()))
            .expression_attribute_values(":user", s(hold.user_id.as_str()))
            .expression_attribute_values(":expires", n(millis(hold.expires_at)))
            .expression_attribute_values(":user_pk", s(user_pk(&hold.user_id)))
            .expression_attribute_values(":user_sk", s(user_hold_gsi2sk(millis(now), hold.id)))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld),
    )
}

/// [`CreateItem::Record`]: the hold's immutable record (a new hold id; 74 random bits make a
/// collision a broken invariant).
fn hold_record(store: &DynamoStore, hold: &NewHold, now: DateTime<Utc>) -> Result<Put, Error> {
    built(
        "hold record",
        Put::builder()
            .table_name(&store.table)
            .set_item(Some(item_of(&HoldItem {
                pk: hold_pk(hold.id),
                sk: HOLD_SK.into(),
                hold_id: hold.id,
                slot_id: hold.slot_id.clone(),
                slot_key: SlotKey::of(&hold.slot_id).to_string(),
                user_id: hold.user_id.clone(),
                expires_at: millis(hold.expires_at),
                created_at: millis(now),
                ttl: None,
                gsi2pk: Some(player_holds_pk(&hold.user_id)),
                gsi2sk: Some(user_hold_gsi2sk(millis(now), hold.id)),
                gsi1pk: None,
                gsi1sk: None,
                room_id: None,
                start_time: None,
                confirmed_at: None,
                extended: false,
                cancelled_at: None,
                players: hold.players,
                cancelled_by: None,
                reason: None,
                reference: None,
                contact: None,
            })?))
            .condition_expression(format!("attribute_not_exists({PK})"))
            .build(),
    )
}

/// [`CreateItem::Key`]: the key, new or older than its window; a live one comes back (ALL_OLD)
/// and is answered from (see `errors::idempotent_replay`).
fn idempotency_key(
    store: &DynamoStore,
    hold: &NewHold,
    key: &IdempotencyKey,
    now: DateTime<Utc>,
) -> Result<Put, Error> {
    built(
        "idempotency key",
        Put::builder()
            .table_name(&store.table)
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
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build(),
    )
}

#[cfg(test)]
mod tests {
    use super::CreateItem;

    #[test]
    fn the_create_items_are_sent_in_the_order_of_their_indexes() {
        for (position, role) in CreateItem::ALL.into_iter().enumerate() {
            assert_eq!(role.index(), position, "{role:?}");
        }
    }
}
