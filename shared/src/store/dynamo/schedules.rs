//! A room's weekly schedule: reading it (one `GetItem`), and applying one, which is not one
//! request: a schedule changes up to `SCHEDULE_MAX_PLANNED_SLOTS` slot items. One `PutItem` of
//! the schedule, the room's slots from `from` (one `Query` per 1,000 slots of `gsi1`), then, 32 in
//! flight, one conditional write per slot to create, move or remove ([`SlotChange`]), each
//! guarded so that a hold racing the schedule is never lost.
//!
//! An application can be interrupted (DynamoDB unreachable or failing, the function's time up).
//! The schedule is saved first, and every slot write is idempotent (a slot's id is its room and
//! local start, created only if absent; moved or removed only while free), so whatever was left
//! undone is done by the next application of a schedule to the room: the next publication, or
//! the daily horizon run, which re-applies every stored schedule. An error after the schedule
//! was saved is [`Error::ScheduleIncomplete`] (503 `SCHEDULE_INCOMPLETE`: saved, to be
//! completed), not a plain 503.

use std::collections::{HashMap, HashSet};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};

use super::errors::sdk_error;
use super::provision::slot_seed_item;
use super::schema::*;
use super::{DynamoStore, SLOT_WRITES_IN_FLIGHT, slots};
use crate::domain::{HoldStatus, Room, RoomId, Slot, SlotId, SlotKey, SlotRules, SlotState};
use crate::error::Error;
use crate::schedule::{PlannedSlot, Schedule};
use crate::store::{Applied, SlotWindow, millis, overlaps};

/// Slots read per `Query` while applying a schedule.
const FUTURE_SLOTS_PAGE: usize = 1_000;

/// See [`crate::store::Store::get_schedule`].
pub(super) async fn get(store: &DynamoStore, room: &RoomId) -> Result<Option<Schedule>, Error> {
    let output = store
        .client
        .get_item()
        .table_name(&store.table)
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

/// See [`crate::store::Store::apply_schedule`]: a conditional `PutItem` per new slot
/// (`attribute_not_exists`: an existing slot is never rewritten), a conditional `UpdateItem` per
/// free slot the plan moves and a conditional `DeleteItem` per slot the plan no longer has (both
/// guarded on the slot being free at that moment; a refusal means it is held or booked, and it
/// is kept).
pub(super) async fn apply(
    store: &DynamoStore,
    room: &Room,
    schedule: &Schedule,
    planned: &[PlannedSlot],
    from: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Applied, Error> {
    put_schedule(store, &room.id, schedule, now).await?;
    apply_slots(store, room, planned, from, now)
        .await
        .map_err(|err| match err {
            Error::Unavailable(cause) | Error::Internal(cause) => Error::ScheduleIncomplete(cause),
            other => Error::ScheduleIncomplete(format!("{other:?}")),
        })
}

/// The slot writes of an application whose schedule is saved: the room's slots from `from` made
/// the planned ones.
async fn apply_slots(
    store: &DynamoStore,
    room: &Room,
    planned: &[PlannedSlot],
    from: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Applied, Error> {
    let existing = future_slots(store, &room.id, from).await?;
    let (changes, skipped) = changes(room, planned, &existing, now)?;
    let mut applied = Applied {
        skipped,
        ..Applied::default()
    };
    let mut kept_ids = HashSet::new();
    for done in send(store, changes, now).await? {
        match done {
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

async fn put_schedule(
    store: &DynamoStore,
    room: &RoomId,
    schedule: &Schedule,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    let Key { pk, sk } = Key::schedule(room);
    store
        .client
        .put_item()
        .table_name(&store.table)
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
    Ok(())
}

/// The room's slots starting at or after `from`, as a listing reads them, page after page of
/// [`FUTURE_SLOTS_PAGE`] (one `Query` each, short enough for the SDK's attempt timeout even when
/// the room has its 20,000 planned slots: 10,000 at once timed out on DynamoDB Local).
async fn future_slots(
    store: &DynamoStore,
    room: &RoomId,
    from: DateTime<Utc>,
) -> Result<Vec<SlotState>, Error> {
    let mut existing = Vec::new();
    let mut after = None;
    loop {
        let window = SlotWindow {
            from,
            to: None,
            after,
            limit: FUTURE_SLOTS_PAGE,
        };
        let page = slots::list(store, room, &window).await?;
        let full = page.len() > window.limit;
        after = page.last().map(|s| (s.slot.start_time, s.slot.id.clone()));
        existing.extend(page);
        if !full {
            return Ok(existing);
        }
    }
}

/// What the plan changes in the `existing` slots, and how many planned slots it skips because a
/// kept (held or booked) slot overlaps them.
fn changes(
    room: &Room,
    planned: &[PlannedSlot],
    existing: &[SlotState],
    now: DateTime<Utc>,
) -> Result<(Vec<SlotChange>, usize), Error> {
    let by_id: HashMap<&str, &SlotState> =
        existing.iter().map(|s| (s.slot.id.as_str(), s)).collect();
    let wanted: HashSet<&str> = planned.iter().map(|s| s.slot_id.as_str()).collect();
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
            room_id: room.id.clone(),
            start_time: p.start_time,
            end_time: p.end_time,
        };
        match by_id.get(p.slot_id.as_str()) {
            Some(old) if (old.slot.start_time, old.slot.end_time) == (p.start_time, p.end_time) => {
            }
            Some(old) if occupied(old) => {}
            Some(_) => changes.push(SlotChange::Move(
                slot,
                room.rules_for(p.start_time),
                room.policy.time_zone.clone(),
            )),
            None if staying.iter().any(|k| {
                overlaps(
                    (p.start_time, p.end_time),
                    (k.slot.start_time, k.slot.end_time),
                )
            }) =>
            {
                skipped += 1;
            }
            None => changes.push(SlotChange::Create(slot_seed_item(&slot, room)?)),
        }
    }
    changes.extend(
        existing
            .iter()
            .filter(|s| !wanted.contains(s.slot.id.as_str()))
            .map(|s| SlotChange::Remove(s.slot.id.clone())),
    );
    Ok((changes, skipped))
}

/// Sends `changes`, [`SLOT_WRITES_IN_FLIGHT`] at once. After the first error no further change
/// is sent (DynamoDB failing or gone: the rest is left to the next application, not tried one by
/// one against it); the writes in flight are awaited, then that error is returned.
async fn send(
    store: &DynamoStore,
    changes: Vec<SlotChange>,
    now: DateTime<Utc>,
) -> Result<Vec<ChangeDone>, Error> {
    let mut tasks = tokio::task::JoinSet::new();
    let mut outcomes = Vec::new();
    let mut first_error = None;
    let mut record = |done: Result<Result<ChangeDone, Error>, tokio::task::JoinError>| {
        match done.map_err(|e| Error::Internal(format!("schedule task: {e}")))? {
            Ok(outcome) => outcomes.push(outcome),
            Err(err) => return Err(err),
        }
        Ok(())
    };
    for change in changes {
        if tasks.len() >= SLOT_WRITES_IN_FLIGHT
            && let Some(done) = tasks.join_next().await
            && let Err(err) = record(done)
        {
            first_error = Some(err);
            break;
        }
        tasks.spawn(change.send(store.client.clone(), store.table.clone(), now));
    }
    while let Some(done) = tasks.join_next().await {
        if let Err(err) = record(done) {
            first_error.get_or_insert(err);
        }
    }
    match first_error {
        Some(err) => Err(err),
        None => Ok(outcomes),
    }
}

/// One slot write of a schedule's application.
enum SlotChange {
    Create(HashMap<String, AttributeValue>),
    /// A free slot to new times (its index key follows), with its room's rules for them and
    /// time zone.
    Move(Slot, SlotRules, String),
    Remove(SlotId),
}

enum ChangeDone {
    Created,
    AlreadyThere,
    Moved,
    Removed,
    Kept(SlotId),
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
        client: Client,
        table: String,
        now: DateTime<Utc>,
    ) -> Result<ChangeDone, Error> {
        match self {
            Self::Create(item) => create(&client, table, item).await,
            Self::Move(slot, rules, time_zone) => {
                move_slot(&client, table, &slot, &rules, time_zone, now).await
            }
            Self::Remove(id) => remove(&client, table, id, now).await,
        }
    }
}

/// A planned slot that does not exist yet; one that exists is never rewritten.
async fn create(
    client: &Client,
    table: String,
    item: HashMap<String, AttributeValue>,
) -> Result<ChangeDone, Error> {
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
                Some(PutItemError::ConditionalCheckFailedException(_))
            ) =>
        {
            Ok(ChangeDone::AlreadyThere)
        }
        Err(err) => Err(sdk_error("PutItem (scheduled slot)", err)),
    }
}

/// A free slot to its planned times, with its room's rules for them.
async fn move_slot(
    client: &Client,
    table: String,
    slot: &Slot,
    rules: &SlotRules,
    time_zone: String,
    now: DateTime<Utc>,
) -> Result<ChangeDone, Error> {
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
        .expression_attribute_values(":sort", s(slot_gsi1sk(millis(slot.start_time), &slot.id)))
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

/// A slot the plan no longer has: only a free slot goes (not booked, and its latest hold, if any,
/// not live); a refusal keeps it.
async fn remove(
    client: &Client,
    table: String,
    id: SlotId,
    now: DateTime<Utc>,
) -> Result<ChangeDone, Error> {
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
                Some(DeleteItemError::ConditionalCheckFailedException(_))
            ) =>
        {
            Ok(ChangeDone::Kept(id))
        }
        Err(err) => Err(sdk_error("DeleteItem (unscheduled slot)", err)),
    }
}
