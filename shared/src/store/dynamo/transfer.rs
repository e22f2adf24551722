//! The DynamoDB side of `export`: the whole table read by a paginated `Scan` (four segments in
//! parallel), each item sorted by its sort key into the venue's records. **Not a snapshot**:
//! DynamoDB has no read transaction over a table; each page is consistent (`ConsistentRead`), but
//! a write made while the scan runs may or may not be in the file. Export from a quiet table (or
//! from a point-in-time restore of it) for a file that is one moment. Retired rooms are in it
//! with their `archived_at`, their schedules, slots and holds, as on SQLite; so are the calendar
//! feeds (their keys' digests) and the webhook endpoints (their secrets); not the idempotency
//! keys, the outbox's events and deliveries, or the counters.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};

use super::DynamoStore;
use super::errors::sdk_error;
use super::feeds::{FEED_SK, FeedItem};
use super::references::RefItem;
use super::schema::*;
use super::webhooks::{WEBHOOK_SK, WebhookItem};
use crate::domain::{HoldId, KeyDigest, Reference, SlotId};
use crate::error::Error;
use crate::store::from_millis;
use crate::store::transfer::{HoldRecord, Record, WebhookRecord};

/// Scan segments read in parallel.
const SEGMENTS: i32 = 4;

impl DynamoStore {
    /// The venue's records (see the module's header), as `now` sees each hold; with the number
    /// of `Scan` requests sent.
    pub async fn export(&self, now: DateTime<Utc>) -> Result<(Vec<Record>, usize), Error> {
        let mut tasks = tokio::task::JoinSet::new();
        for segment in 0..SEGMENTS {
            let (client, table) = (self.client.clone(), self.table.clone());
            tasks.spawn(async move { scan_segment(&client, &table, segment).await });
        }
        let mut items = Vec::new();
        let mut requests = 0;
        while let Some(done) = tasks.join_next().await {
            let (segment_items, sent) =
                done.map_err(|e| Error::Internal(format!("scan task: {e}")))??;
            items.extend(segment_items);
            requests += sent;
        }
        Ok((records_of(items, now)?, requests))
    }
}

async fn scan_segment(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    segment: i32,
) -> Result<(Vec<HashMap<String, AttributeValue>>, usize), Error> {
    let mut items = Vec::new();
    let mut start = None;
    let mut sent = 0;
    let mut timeouts = 0;
    loop {
        let page = client
            .scan()
            .table_name(table)
            .consistent_read(true)
            .segment(segment)
            .total_segments(SEGMENTS)
            .limit(SCAN_PAGE_ITEMS)
            .set_exclusive_start_key(start.clone())
            .send()
            .await;
        sent += 1;
        let page = match page {
            Ok(page) => page,
            // A page that did not come back in the store's time (a busy DynamoDB Local) is
            // asked for again from the same place: reading is harmless to repeat.
            Err(err)
                if timeouts < SCAN_PAGE_TIMEOUTS
                    && matches!(err, aws_sdk_dynamodb::error::SdkError::TimeoutError(_)) =>
            {
                timeouts += 1;
                continue;
            }
            Err(err) => return Err(sdk_error("Scan (export)", err)),
        };
        items.extend(page.items.unwrap_or_default());
        start = page.last_evaluated_key.filter(|k| !k.is_empty());
        if start.is_none() {
            return Ok((items, sent));
        }
    }
}

/// Items per `Scan` page: small enough that a page comes back well within the store's 4 s
/// operation timeout on a busy DynamoDB Local (1 MB pages did not), large enough to cost little.
const SCAN_PAGE_ITEMS: i32 = 1000;

/// Timed-out pages asked for again, per segment, before the export gives up (503).
const SCAN_PAGE_TIMEOUTS: u32 = 5;

/// A room item as its record (with its retirement).
pub(super) fn room_record(room: RoomItem) -> Result<Record, Error> {
    Ok(Record::Room {
        archived_at: room.archived_at.map(from_millis).transpose()?,
        room_id: room.room_id,
        name: room.name,
        capacity: room.capacity,
        policy: room.policy,
    })
}

/// The scanned items as records, in the order an import needs (users, rooms, schedules, feeds,
/// webhooks, slots, holds by creation).
fn records_of(
    items: Vec<HashMap<String, AttributeValue>>,
    now: DateTime<Utc>,
) -> Result<Vec<Record>, Error> {
    let (mut users, mut rooms, mut schedules, mut slots, mut holds) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut feeds, mut hooks) = (Vec::new(), Vec::new());
    let mut keys: HashMap<Reference, KeyDigest> = HashMap::new();
    for item in items {
        let sk = match item.get(SK) {
            Some(AttributeValue::S(sk)) => sk.clone(),
            _ => continue,
        };
        match sk.as_str() {
            USER_SK => users.push(parse_item::<UserItem>(item)?),
            ROOM_SK => rooms.push(parse_item::<RoomItem>(item)?),
            SCHEDULE_SK => schedules.push(parse_item::<ScheduleItem>(item)?),
            SLOT_SK => slots.push(parse_item::<SlotItem>(item)?),
            HOLD_SK => holds.push(parse_item::<HoldItem>(item)?),
            FEED_SK => feeds.push(parse_item::<FeedItem>(item)?),
            WEBHOOK_SK => hooks.push(WebhookRecord::from(
                parse_item::<WebhookItem>(item)?.webhook()?,
            )),
            REF_SK => {
                let found = parse_item::<RefItem>(item)?;
                keys.insert(found.reference, found.manage_key);
            }
            _ => {}
        }
    }
    let mut records = Vec::new();
    users.sort_by(|a, b| a.user_id.cmp(&b.user_id));
    records.extend(
        users
            .into_iter()
            .map(|u| Record::User { user_id: u.user_id }),
    );
    rooms.sort_by(|a, b| a.room_id.cmp(&b.room_id));
    for room in rooms {
        records.push(room_record(room)?);
    }
    schedules.sort_by(|a, b| a.room_id.cmp(&b.room_id));
    for item in schedules {
        records.push(Record::Schedule {
            room_id: item.room_id,
            schedule: item.schedule,
        });
    }
    feeds.sort_by(|a, b| a.room_id.cmp(&b.room_id));
    for feed in feeds {
        records.push(Record::CalendarFeed {
            room_id: feed.room_id,
            key_digest: feed.key_digest,
            rotated_at: from_millis(feed.rotated_at)?,
        });
    }
    hooks.sort_by(|a, b| a.webhook_id.cmp(&b.webhook_id));
    records.extend(hooks.into_iter().map(|h| Record::Webhook(Box::new(h))));
    slots.sort_by(|a, b| {
        (&a.room_id, a.start_time, &a.slot_id).cmp(&(&b.room_id, b.start_time, &b.slot_id))
    });
    let by_slot: HashMap<&SlotId, &SlotItem> = slots.iter().map(|s| (&s.slot_id, s)).collect();
    let mut hold_records = Vec::new();
    for record in &holds {
        let Some(slot) = by_slot.get(&record.slot_id) else {
            continue; // the record of a hold whose free slot a schedule removed since
        };
        hold_records.push(hold_record(record, slot, &keys, now)?);
    }
    hold_records.sort_by_key(|h| (h.created_at, h.hold_id.to_string()));
    for slot in &slots {
        records.push(Record::Slot {
            slot_id: slot.slot_id.clone(),
            room_id: slot.room_id.clone(),
            start_time: from_millis(slot.start_time)?,
            end_time: from_millis(slot.end_time)?,
        });
    }
    records.extend(hold_records.into_iter().map(|h| Record::Hold(Box::new(h))));
    Ok(records)
}

/// One hold: from its slot item while it is the slot's latest hold (the authority), else from
/// its record.
pub(super) fn hold_record(
    record: &HoldItem,
    slot: &SlotItem,
    keys: &HashMap<Reference, KeyDigest>,
    now: DateTime<Utc>,
) -> Result<HoldRecord, Error> {
    let id: HoldId = record.hold_id;
    let time = |ms: Option<i64>| ms.map(from_millis).transpose();
    let (hold, confirmed_at, cancelled_at, cancelled_by, reason) = match slot.hold_if(id)? {
        Some(hold) => (
            hold,
            time(slot.hold_confirmed_at)?,
            time(slot.hold_cancelled_at)?,
            slot.hold_cancelled_by.clone(),
            slot.hold_cancel_reason.clone(),
        ),
        None => (
            record.hold(now)?,
            time(record.confirmed_at)?,
            time(record.cancelled_at)?,
            record.cancelled_by.clone(),
            record.reason.clone(),
        ),
    };
    let reference = hold.details.reference.clone();
    Ok(HoldRecord {
        hold_id: id,
        slot_id: record.slot_id.clone(),
        user_id: record.user_id.clone(),
        status: hold.view_status(now),
        created_at: from_millis(record.created_at)?,
        expires_at: hold.expires_at,
        extended: hold.extended,
        players: hold.players,
        confirmed_at,
        manage_key_digest: reference
            .as_ref()
            .and_then(|r| keys.get(r))
            .map(|k| k.as_str().to_owned()),
        reference,
        contact: hold.details.contact.clone(),
        cancelled_at,
        cancelled_by,
        reason,
    })
}
