//! The DynamoDB side of `import` ([`Transfer`]): what the table has under many keys, read with
//! consistent `BatchGetItem`s of 100 keys (a few in flight), and the records that need no guard
//! written with `BatchWriteItem`s of 25 (a few in flight; the items DynamoDB leaves unprocessed
//! sent again with exponential backoff). A batch write cannot be conditional, so these puts
//! overwrite: the import sends them only for records the comparison found missing (or, with
//! `--replace`, different), into a table that does not serve meanwhile (docs/operations.md). The
//! holds are not written here: they are replayed through the store's guarded operations.

use std::collections::{HashMap, HashSet};
use std::time::Duration as StdDuration;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use chrono::{DateTime, Utc};

use super::errors::sdk_error;
use super::feeds::{FEED_SK, FeedItem, feed_key};
use super::provision::{free_slot_item, recount_rooms};
use super::schema::*;
use super::transfer::{hold_record, room_record};
use super::webhooks::{WEBHOOK_SK, WebhookItem};
use super::{BATCH_GET_KEYS, DynamoStore, Item, consistent_batch_get};
use crate::domain::{Room, RoomId, Slot, SlotId, SlotKey};
use crate::error::Error;
use crate::store::transfer::{Record, RecordKey, Transfer};
use crate::store::webhooks::Webhook;
use crate::store::{from_millis, millis};

/// The most items one `BatchWriteItem` may carry.
const BATCH_WRITE_ITEMS: usize = 25;
/// Batch requests in flight at once.
const BATCHES_IN_FLIGHT: usize = 8;
/// How often one batch write is sent in all while DynamoDB leaves items unprocessed.
const BATCH_WRITE_SENDS: u32 = 8;

/// The table key of a record key.
fn table_key(key: &RecordKey) -> Result<Item, Error> {
    match key {
        RecordKey::User(id) => Key::user(id).item(),
        RecordKey::Room(id) => Key::room(id).item(),
        RecordKey::Schedule(id) => Key::schedule(id).item(),
        RecordKey::Slot(id) => Key::slot(SlotKey::of(id)).item(),
        RecordKey::Hold(id) => Key::hold(*id).item(),
        RecordKey::CalendarFeed(id) => feed_key(id).item(),
        RecordKey::Webhook(id) => super::webhooks::key(id),
    }
}

/// The items of `keys`, read with [`consistent_batch_get`] in chunks of 100, a few at once.
async fn batch_get_all(
    store: &DynamoStore,
    keys: Vec<Item>,
    what: &str,
) -> Result<Vec<Item>, Error> {
    let mut tasks = tokio::task::JoinSet::new();
    let mut items = Vec::new();
    for chunk in keys.chunks(BATCH_GET_KEYS) {
        if tasks.len() >= BATCHES_IN_FLIGHT
            && let Some(done) = tasks.join_next().await
        {
            items.extend(done.map_err(|e| Error::Internal(format!("batch get task: {e}")))??);
        }
        let (client, table, chunk, what) = (
            store.client.clone(),
            store.table.clone(),
            chunk.to_vec(),
            what.to_owned(),
        );
        tasks.spawn(async move {
            consistent_batch_get(&DynamoStore::new(client, table), chunk, &what).await
        });
    }
    while let Some(done) = tasks.join_next().await {
        items.extend(done.map_err(|e| Error::Internal(format!("batch get task: {e}")))??);
    }
    Ok(items)
}

fn sort_key(item: &Item) -> Option<&str> {
    match item.get(SK) {
        Some(AttributeValue::S(sk)) => Some(sk.as_str()),
        _ => None,
    }
}

/// Writes `items` with `BatchWriteItem`s of 25, a few in flight.
async fn batch_put_all(store: &DynamoStore, items: Vec<Item>) -> Result<(), Error> {
    let mut tasks = tokio::task::JoinSet::new();
    let joined = |done: Result<Result<(), Error>, tokio::task::JoinError>| {
        done.map_err(|e| Error::Internal(format!("batch write task: {e}")))?
    };
    for chunk in items.chunks(BATCH_WRITE_ITEMS) {
        if tasks.len() >= BATCHES_IN_FLIGHT
            && let Some(done) = tasks.join_next().await
        {
            joined(done)?;
        }
        let requests = chunk
            .iter()
            .map(|item| {
                let put = built(
                    "put request",
                    PutRequest::builder().set_item(Some(item.clone())).build(),
                )?;
                Ok(WriteRequest::builder().put_request(put).build())
            })
            .collect::<Result<Vec<_>, Error>>()?;
        let (client, table) = (store.client.clone(), store.table.clone());
        tasks.spawn(async move { batch_write(&client, &table, requests).await });
    }
    while let Some(done) = tasks.join_next().await {
        joined(done)?;
    }
    Ok(())
}

/// One `BatchWriteItem`, sent again for the items DynamoDB left unprocessed (throttled or over
/// a partition's capacity), after 50 ms, 100 ms, 200 ms … (at most [`BATCH_WRITE_SENDS`] sends,
/// then 503).
async fn batch_write(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    mut requests: Vec<WriteRequest>,
) -> Result<(), Error> {
    let mut sends = 0;
    while !requests.is_empty() {
        if sends > 0 {
            tokio::time::sleep(StdDuration::from_millis(50 << (sends - 1).min(6))).await;
        }
        sends += 1;
        if sends > BATCH_WRITE_SENDS {
            return Err(Error::Unavailable(
                "dynamodb BatchWriteItem (import): items left unprocessed".into(),
            ));
        }
        let output = client
            .batch_write_item()
            .request_items(table, std::mem::take(&mut requests))
            .send()
            .await
            .map_err(|e| sdk_error("BatchWriteItem (import)", e))?;
        requests = output
            .unprocessed_items
            .and_then(|mut u| u.remove(table))
            .unwrap_or_default();
    }
    Ok(())
}

/// The item a record is written as (see [`Transfer::put_records`]).
fn item_of_record(record: &Record, rooms: &HashMap<RoomId, Room>) -> Result<Item, Error> {
    match record {
        Record::User { user_id } => {
            let Key { pk, sk } = Key::user(user_id);
            item_of(&UserItem {
                pk,
                sk,
                user_id: user_id.clone(),
            })
        }
        Record::Room {
            room_id,
            name,
            capacity,
            policy,
            ..
        } => item_of(&RoomItem::of(&Room {
            id: room_id.clone(),
            name: name.clone(),
            capacity: *capacity,
            policy: policy.clone(),
        })),
        Record::Schedule { room_id, schedule } => {
            let Key { pk, sk } = Key::schedule(room_id);
            item_of(&ScheduleItem {
                pk,
                sk,
                room_id: room_id.clone(),
                schedule: schedule.clone(),
                updated_at: 0,
            })
        }
        Record::Slot {
            slot_id,
            room_id,
            start_time,
            end_time,
        } => free_slot_item(
            &Slot {
                id: slot_id.clone(),
                room_id: room_id.clone(),
                start_time: *start_time,
                end_time: *end_time,
            },
            rooms.get(room_id),
        ),
        Record::CalendarFeed {
            room_id,
            key_digest,
            rotated_at,
        } => {
            let Key { pk, sk } = feed_key(room_id);
            item_of(&FeedItem {
                pk,
                sk,
                room_id: room_id.clone(),
                key_digest: key_digest.clone(),
                rotated_at: millis(*rotated_at),
            })
        }
        Record::Webhook(hook) => item_of(&WebhookItem::of(&Webhook {
            id: hook.webhook_id.clone(),
            url: hook.url.clone(),
            events: hook.events.clone(),
            secret: hook.secret.clone(),
            created_at: hook.created_at,
            disabled: hook.disabled,
        })),
        Record::Hold(hold) => Err(Error::Internal(format!(
            "hold {} is replayed, not put",
            hold.hold_id
        ))),
    }
}

/// The items a comparison read, sorted: records, and the slot and hold items a hold's state is
/// told from.
#[derive(Default)]
struct Read {
    found: HashMap<RecordKey, Record>,
    /// By partition key.
    slots: HashMap<String, SlotItem>,
    holds: Vec<HoldItem>,
}

impl Read {
    fn add(&mut self, item: Item) -> Result<(), Error> {
        let record = match sort_key(&item) {
            Some(USER_SK) => Record::User {
                user_id: parse_item::<UserItem>(item)?.user_id,
            },
            Some(ROOM_SK) => room_record(parse_item(item)?)?,
            Some(SCHEDULE_SK) => {
                let item: ScheduleItem = parse_item(item)?;
                Record::Schedule {
                    room_id: item.room_id,
                    schedule: item.schedule,
                }
            }
            Some(SLOT_SK) => {
                let slot: SlotItem = parse_item(item)?;
                self.slots.insert(slot.pk.clone(), slot);
                return Ok(());
            }
            Some(HOLD_SK) => {
                self.holds.push(parse_item(item)?);
                return Ok(());
            }
            Some(FEED_SK) => {
                let feed: FeedItem = parse_item(item)?;
                Record::CalendarFeed {
                    room_id: feed.room_id,
                    key_digest: feed.key_digest,
                    rotated_at: from_millis(feed.rotated_at)?,
                }
            }
            Some(WEBHOOK_SK) => {
                Record::Webhook(Box::new(crate::store::transfer::WebhookRecord::from(
                    parse_item::<WebhookItem>(item)?.webhook()?,
                )))
            }
            _ => return Ok(()),
        };
        self.found.insert(record.key(), record);
        Ok(())
    }
}

#[async_trait]
impl Transfer for DynamoStore {
    async fn stored(
        &self,
        keys: &[RecordKey],
        now: DateTime<Utc>,
    ) -> Result<HashMap<RecordKey, Record>, Error> {
        let table_keys = keys.iter().map(table_key).collect::<Result<Vec<_>, _>>()?;
        let items = batch_get_all(self, table_keys, "import").await?;
        let mut read = Read::default();
        for item in items {
            read.add(item)?;
        }
        let Read {
            mut found,
            mut slots,
            holds,
        } = read;
        // A slot key taken by another slot id is not a slot the import can write.
        for key in keys {
            if let RecordKey::Slot(id) = key
                && let Some(slot) = slots.get(&slot_pk(SlotKey::of(id)))
                && &slot.slot_id != id
            {
                return Err(Error::Validation(format!(
                    "slot ids `{id}` and `{}` share the storage key {}; nothing was imported",
                    slot.slot_id,
                    SlotKey::of(id)
                )));
            }
        }
        // The held slots the file's slots did not bring (a hold's state is its slot's while it
        // is the slot's latest hold).
        let missing: HashSet<SlotId> = holds
            .iter()
            .filter(|h| !slots.contains_key(&slot_pk(SlotKey::of(&h.slot_id))))
            .map(|h| h.slot_id.clone())
            .collect();
        if !missing.is_empty() {
            let keys = missing
                .iter()
                .map(|id| Key::slot(SlotKey::of(id)).item())
                .collect::<Result<Vec<_>, _>>()?;
            for item in batch_get_all(self, keys, "held slots").await? {
                let slot: SlotItem = parse_item(item)?;
                slots.insert(slot.pk.clone(), slot);
            }
        }
        let no_keys = HashMap::new();
        for hold in &holds {
            if let Some(slot) = slots.get(&slot_pk(SlotKey::of(&hold.slot_id))) {
                let record = hold_record(hold, slot, &no_keys, now)?;
                found.insert(
                    RecordKey::Hold(record.hold_id),
                    Record::Hold(Box::new(record)),
                );
            }
        }
        for slot in slots.into_values() {
            found.insert(
                RecordKey::Slot(slot.slot_id.clone()),
                Record::Slot {
                    slot_id: slot.slot_id,
                    room_id: slot.room_id,
                    start_time: from_millis(slot.start_time)?,
                    end_time: from_millis(slot.end_time)?,
                },
            );
        }
        Ok(found)
    }

    async fn put_records(
        &self,
        records: &[Record],
        rooms: &HashMap<RoomId, Room>,
    ) -> Result<(), Error> {
        // The rooms of slots the file does not describe: their rules, from the table.
        let unknown: HashSet<&RoomId> = records
            .iter()
            .filter_map(|r| match r {
                Record::Slot { room_id, .. } if !rooms.contains_key(room_id) => Some(room_id),
                _ => None,
            })
            .collect();
        let mut rooms = rooms.clone();
        if !unknown.is_empty() {
            let keys = unknown
                .iter()
                .map(|id| Key::room(id).item())
                .collect::<Result<Vec<_>, _>>()?;
            for item in batch_get_all(self, keys, "slots' rooms").await? {
                let room = parse_item::<RoomItem>(item)?.room();
                rooms.insert(room.id.clone(), room);
            }
        }
        let items = records
            .iter()
            .map(|r| item_of_record(r, &rooms))
            .collect::<Result<Vec<_>, _>>()?;
        batch_put_all(self, items).await?;
        if records.iter().any(|r| matches!(r, Record::Room { .. })) {
            recount_rooms(self).await?;
        }
        if records.iter().any(|r| matches!(r, Record::Webhook(_))) {
            super::webhooks::recount(self).await?;
        }
        Ok(())
    }
}
