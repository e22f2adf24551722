//! The outbox on DynamoDB.
//!
//! | item | `pk` | `sk` | `gsi1pk` / `gsi1sk` | `gsi2pk` / `gsi2sk` |
//! |---|---|---|---|---|
//! | event | `EVENT#<event_id>` | `EVENT` | until fanned out: `OUTBOX` / `<occurred ms>#<event_id>` | `EVENTS` / `<occurred ms>#<event_id>` |
//! | delivery | `EVENT#<event_id>` | `DELIVERY#<channel>#<address>` | while pending: `DUE` / `<next attempt ms>#<event_id>#<channel>#<address>` | `DELIVERIES#<channel>#<address>` / `<occurred ms>#<event_id>` |
//!
//! - The event item is put (only if new) in the SAME `TransactWriteItems` as its change: the
//!   confirm's ([`event_put`], from `references.rs`) and the cancellation's (`holds.rs`). It
//!   carries what the change knows without a read (the booking's id, kind, time, who cancelled
//!   and why; a cancellation, which reads the slot first, also the slot's facts); the rest of
//!   the payload (the room's name, the slot's times) is read once, when the event is first read
//!   ([`complete`]), and fixed on the item when it is fanned out, so every delivery sends the
//!   same body.
//! - Fanning out puts each delivery only if new, then updates the event (its payload, and out
//!   of the `OUTBOX` partition): a crash between them leaves the event in `OUTBOX`, and the next
//!   fan-out adds only what is missing.
//! - A claim is a conditional `UpdateItem` per delivery (still pending and due), after one
//!   `Query` of the `DUE` partition.
//! - On AWS the table's stream (keys only) wakes the `deliver-events` function with each new
//!   event item ([`event_id_of_keys`]); its one-minute tick and the local server's drainer read
//!   the `OUTBOX` partition. All fan out the same way.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, DeleteRequest, Put, WriteRequest};
use chrono::{DateTime, Utc};
use futures_util::{StreamExt, TryStreamExt, stream};
use serde::{Deserialize, Serialize};

use super::errors::sdk_error;
use super::schema::*;
use super::{DynamoStore, Item, consistent_batch_get};
use crate::domain::{Canceller, Contact, HoldId, ManageKey, Reference, RoomId, SlotId, UserId};
use crate::error::Error;
use crate::events::{self, BookingEvent, EventData, EventId, EventKind};
use crate::store::{from_millis, millis};

const EVENT_SK: &str = "EVENT";
/// Requests of the outbox's per-event and per-delivery steps sent at once (reading the events,
/// claiming the deliveries): one drainer's look takes about as long as its slowest few, not the
/// sum of them.
pub(super) const IN_FLIGHT: usize = 16;
/// The attribute of a manage key kept for an email's link, on an event item until it is fanned
/// out and then on the email's delivery item until it is delivered or given up.
pub(super) const MAIL_KEY: &str = "mail_key";
/// The `gsi1` partition of the events not yet fanned out.
const OUTBOX_PK: &str = "OUTBOX";
/// The `gsi2` partition of every event, by time (the retention job).
const EVENTS_PK: &str = "EVENTS";

pub(super) fn event_pk(id: &EventId) -> String {
    format!("EVENT#{id}")
}

/// The booking event whose item has the key `pk` / `sk` (`EVENT#<id>` / `EVENT`); none for any
/// other item (a delivery shares the event's partition under another sort key). The
/// `deliver-events` function reads its stream records' keys with it.
pub fn event_id_of_keys(pk: &str, sk: &str) -> Option<EventId> {
    let id = pk.strip_prefix("EVENT#")?;
    (sk == EVENT_SK && id.starts_with("evt_")).then(|| EventId::stored(id.to_owned()))
}

pub(super) fn time_key(ms: i64, id: &EventId) -> String {
    format!("{ms:015}#{id}")
}

/// What a cancellation read of the slot before its write: the payload but the room's name.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct SlotFacts {
    pub(super) room_id: RoomId,
    pub(super) slot_id: SlotId,
    pub(super) start_time: i64,
    pub(super) end_time: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) time_zone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) players: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) reference: Option<Reference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) contact: Option<Contact>,
}

impl SlotFacts {
    pub(super) fn of(slot: &SlotItem) -> Self {
        Self {
            room_id: slot.room_id.clone(),
            slot_id: slot.slot_id.clone(),
            start_time: slot.start_time,
            end_time: slot.end_time,
            time_zone: slot.time_zone.clone(),
            players: slot.hold_players.or(slot.min_players),
            reference: slot.hold_reference.clone(),
            contact: slot.hold_contact.clone(),
        }
    }
}

/// `EVENT#<id>`: one booking event.
#[derive(Debug, Serialize, Deserialize)]
struct EventItem {
    pk: String,
    sk: String,
    event_id: EventId,
    kind: EventKind,
    hold_id: HoldId,
    user_id: UserId,
    /// Epoch milliseconds.
    occurred_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cancelled_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    slot: Option<SlotFacts>,
    /// The complete payload, fixed when the event is fanned out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    data: Option<EventData>,
    /// A confirm's manage key in the clear, for its email's link (never in `data`): removed
    /// when the event is fanned out (moved onto the email's delivery item, `deliveries.rs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    mail_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    gsi1pk: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    gsi1sk: Option<String>,
    gsi2pk: String,
    gsi2sk: String,
}

/// The event item's `Put` for a transaction: only if new (its id is a function of the booking
/// and the kind, so it is new unless this very change was written before). `mail_key`: the
/// manage key a confirm keeps for its email's link ([`crate::store::NewBooking::mail_key`]).
pub(super) fn event_put(
    store: &DynamoStore,
    kind: EventKind,
    (hold, user): (HoldId, &UserId),
    by: Option<&Canceller>,
    slot: Option<SlotFacts>,
    mail_key: Option<&ManageKey>,
    now: DateTime<Utc>,
) -> Result<Put, Error> {
    let id = EventId::of(hold, kind);
    let at = millis(now);
    let item = EventItem {
        pk: event_pk(&id),
        sk: EVENT_SK.into(),
        event_id: id.clone(),
        kind,
        hold_id: hold,
        user_id: user.clone(),
        occurred_at: at,
        cancelled_by: by.map(|b| b.name().to_owned()),
        reason: by.and_then(|b| b.reason()).map(str::to_owned),
        slot,
        data: None,
        mail_key: mail_key.map(|k| k.as_str().to_owned()),
        gsi1pk: Some(OUTBOX_PK.into()),
        gsi1sk: Some(time_key(at, &id)),
        gsi2pk: EVENTS_PK.into(),
        gsi2sk: time_key(at, &id),
    };
    built(
        "event item",
        Put::builder()
            .table_name(&store.table)
            .set_item(Some(item_of(&item)?))
            .condition_expression(format!("attribute_not_exists({PK})"))
            .build(),
    )
}

/// The event of `item`, completed from the booking's items when its payload is not fixed yet:
/// one consistent `BatchGetItem` of the slot and the hold record, and one of the room.
async fn complete(store: &DynamoStore, item: EventItem) -> Result<BookingEvent, Error> {
    let occurred_at = from_millis(item.occurred_at)?;
    if let Some(data) = item.data {
        return Ok(BookingEvent {
            id: item.event_id,
            kind: item.kind,
            occurred_at,
            data,
        });
    }
    let id = item.hold_id;
    let keys = vec![Key::slot(id.slot_key()).item()?, Key::hold(id).item()?];
    let (mut slot, mut record) = (None::<SlotItem>, None::<HoldItem>);
    for found in consistent_batch_get(store, keys, "event's booking").await? {
        if found
            .get(SK)
            .and_then(|v| v.as_s().ok())
            .map(String::as_str)
            == Some(SLOT_SK)
        {
            slot = Some(parse_item(found)?);
        } else {
            record = Some(parse_item(found)?);
        }
    }
    let record = record.ok_or_else(|| Error::Internal(format!("event of {id}: no hold record")))?;
    let facts = match (item.slot, slot) {
        (Some(facts), _) => facts,
        (None, Some(slot)) if slot.slot_id == record.slot_id => SlotFacts::of(&slot),
        _ => return Err(Error::Internal(format!("event of {id}: its slot is gone"))),
    };
    let room = store
        .client
        .get_item()
        .table_name(&store.table)
        .set_key(Some(Key::room(&facts.room_id).item()?))
        .send()
        .await
        .map_err(|e| sdk_error("GetItem (event's room)", e))?
        .item
        .map(parse_item::<RoomItem>)
        .transpose()?;
    let time_zone = facts
        .time_zone
        .clone()
        .or_else(|| room.as_ref().map(|r| r.policy.time_zone.clone()))
        .unwrap_or_else(|| "UTC".into());
    let start_time = from_millis(facts.start_time)?;
    let data = EventData {
        reference: record.reference.or(facts.reference),
        hold_id: id,
        room_name: room.map(|r| r.name).unwrap_or_default(),
        room_id: facts.room_id,
        slot_id: facts.slot_id,
        start_time,
        end_time: from_millis(facts.end_time)?,
        local_start: events::local_start(start_time, &time_zone),
        time_zone,
        players: record.players.or(facts.players),
        user_id: item.user_id,
        contact: record.contact.or(facts.contact),
        cancelled_by: item.cancelled_by,
        reason: item.reason,
    };
    Ok(BookingEvent {
        id: item.event_id,
        kind: item.kind,
        occurred_at,
        data,
    })
}

/// See [`crate::store::Outbox::undispatched_events`]: one `Query` of the `OUTBOX` partition
/// (eventually consistent: an event of the last moment is found by the next call), each event
/// completed, [`IN_FLIGHT`] at once (in their order).
pub(super) async fn undispatched(
    store: &DynamoStore,
    limit: usize,
) -> Result<Vec<BookingEvent>, Error> {
    let output = store
        .client
        .query()
        .table_name(&store.table)
        .index_name(GSI1)
        .key_condition_expression(format!("{GSI1PK} = :pk"))
        .expression_attribute_values(":pk", s(OUTBOX_PK))
        .limit(i32::try_from(limit.max(1)).unwrap_or(i32::MAX))
        .send()
        .await
        .map_err(|e| sdk_error("Query (outbox)", e))?;
    stream::iter(output.items.unwrap_or_default())
        .map(|item| async move { complete(store, parse_item(item)?).await })
        .buffered(IN_FLIGHT)
        .try_collect()
        .await
}

/// The manage key still on the event item `id` (a confirm's, not fanned out yet): one
/// consistent `GetItem` of that one attribute.
pub(super) async fn event_mail_key(
    store: &DynamoStore,
    id: &EventId,
) -> Result<Option<String>, Error> {
    let output = store
        .client
        .get_item()
        .table_name(&store.table)
        .set_key(Some(event_key(id)?))
        .projection_expression(MAIL_KEY)
        .consistent_read(true)
        .send()
        .await
        .map_err(|e| sdk_error("GetItem (event's mail key)", e))?;
    Ok(output
        .item
        .and_then(|mut item| item.remove(MAIL_KEY))
        .and_then(|v| v.as_s().ok().cloned()))
}

pub(super) fn event_key(id: &EventId) -> Result<Item, Error> {
    item_of(&Key {
        pk: event_pk(id),
        sk: EVENT_SK.into(),
    })
}

/// See [`crate::store::Outbox::event`]: one consistent `GetItem`, completed if need be.
pub(super) async fn event(
    store: &DynamoStore,
    id: &EventId,
) -> Result<Option<BookingEvent>, Error> {
    let output = store
        .client
        .get_item()
        .table_name(&store.table)
        .set_key(Some(event_key(id)?))
        .consistent_read(true)
        .send()
        .await
        .map_err(|e| sdk_error("GetItem (event)", e))?;
    match output.item.filter(|i| !i.is_empty()) {
        Some(item) => Ok(Some(complete(store, parse_item(item)?).await?)),
        None => Ok(None),
    }
}

/// See [`crate::store::Outbox::forget_events`]: the `EVENTS` partition before `before`, and
/// each event's items (the event and its deliveries: one partition) deleted in batches.
pub(super) async fn forget(store: &DynamoStore, before: DateTime<Utc>) -> Result<usize, Error> {
    let mut forgotten = 0;
    let mut start: Option<Item> = None;
    loop {
        let output = store
            .client
            .query()
            .table_name(&store.table)
            .index_name(GSI2)
            .key_condition_expression(format!("{GSI2PK} = :pk AND {GSI2SK} < :before"))
            .expression_attribute_values(":pk", s(EVENTS_PK))
            .expression_attribute_values(":before", s(format!("{:015}", millis(before))))
            .projection_expression(PK)
            .set_exclusive_start_key(start.take())
            .send()
            .await
            .map_err(|e| sdk_error("Query (old events)", e))?;
        for item in output.items.unwrap_or_default() {
            if let Some(AttributeValue::S(pk)) = item.get(PK) {
                delete_partition(store, pk).await?;
                forgotten += 1;
            }
        }
        match output.last_evaluated_key.filter(|k| !k.is_empty()) {
            Some(last) => start = Some(last),
            None => return Ok(forgotten),
        }
    }
}

/// Deletes every item of the partition `pk` (an event and its deliveries).
async fn delete_partition(store: &DynamoStore, pk: &str) -> Result<(), Error> {
    let output = store
        .client
        .query()
        .table_name(&store.table)
        .key_condition_expression(format!("{PK} = :pk"))
        .expression_attribute_values(":pk", s(pk))
        .projection_expression(format!("{PK}, {SK}"))
        .consistent_read(true)
        .send()
        .await
        .map_err(|e| sdk_error("Query (event's items)", e))?;
    let keys: Vec<HashMap<String, AttributeValue>> = output.items.unwrap_or_default();
    for chunk in keys.chunks(25) {
        let requests = chunk
            .iter()
            .map(|key| {
                let delete = built(
                    "delete request",
                    DeleteRequest::builder().set_key(Some(key.clone())).build(),
                )?;
                Ok(WriteRequest::builder().delete_request(delete).build())
            })
            .collect::<Result<Vec<_>, Error>>()?;
        let mut pending = Some(requests);
        for _ in 0..5 {
            let Some(requests) = pending.take().filter(|r| !r.is_empty()) else {
                break;
            };
            let output = store
                .client
                .batch_write_item()
                .request_items(&store.table, requests)
                .send()
                .await
                .map_err(|e| sdk_error("BatchWriteItem (forget events)", e))?;
            pending = output
                .unprocessed_items
                .and_then(|mut u| u.remove(&store.table));
        }
    }
    Ok(())
}
