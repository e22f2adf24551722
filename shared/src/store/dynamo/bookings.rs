//! Reading holds: one hold (a `BatchGetItem` of its slot and its record), a player's holds, paged
//! (a `Query` of `gsi2`: their slots for the current ones, their hold records for every one).
//! The day sheet is in [`super::sheet`].

use std::collections::HashMap;

use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};

use super::DynamoStore;
use super::errors::sdk_error;
use super::schema::*;
use crate::domain::{Hold, HoldId, HoldStatus, RoomId, UserId};
use crate::error::Error;
use crate::store::{HoldsAfter, HoldsPage, Page, UserHold, from_millis, millis};

/// See [`crate::store::Store::get_hold`]: the slot (the authority while it carries the hold) and
/// the record, in one request.
pub(super) async fn get_hold(
    store: &DynamoStore,
    id: HoldId,
    now: DateTime<Utc>,
) -> Result<Option<Hold>, Error> {
    Ok(hold_and_room(store, id, now).await?.map(|(hold, _)| hold))
}

/// [`get_hold`], with the room of the hold's slot when the slot item still exists.
pub(super) async fn hold_and_room(
    store: &DynamoStore,
    id: HoldId,
    now: DateTime<Utc>,
) -> Result<Option<(Hold, Option<RoomId>)>, Error> {
    let keys = vec![Key::slot(id.slot_key()).item()?, Key::hold(id).item()?];
    let mut items = super::consistent_batch_get(store, keys, "hold").await?;
    let sort_key =
        |item: &HashMap<String, AttributeValue>| item.get(SK).and_then(|v| v.as_s().ok()).cloned();
    let slot = items
        .iter()
        .position(|i| sort_key(i).as_deref() == Some(SLOT_SK))
        .map(|at| items.swap_remove(at));
    let slot: Option<SlotItem> = slot.map(parse_item).transpose()?;
    let room = slot.as_ref().map(|s| s.room_id.clone());
    if let Some(hold) = slot.as_ref().map(|s| s.hold_if(id)).transpose()?.flatten() {
        return Ok(Some((hold, room)));
    }
    match items
        .into_iter()
        .find(|i| sort_key(i).as_deref() == Some(HOLD_SK))
    {
        Some(record) => {
            let mut hold = parse_item::<HoldItem>(record)?.hold(now)?;
            // A hold made without a party size was for the room's minimum, which the slot item
            // knows (its record does not).
            if hold.players.is_none() {
                hold.players = slot.and_then(|s| s.min_players);
            }
            Ok(Some((hold, room)))
        }
        None => Ok(None),
    }
}

/// How many `Query` requests one page of a player's current holds reads at most before it
/// answers what it found with a `next` (their slots' partition keeps past holds too).
const CURRENT_HOLDS_QUERIES: usize = 4;

/// See [`crate::store::Store::user_holds`]: current holds from the slot items under the player
/// (`gsi2`, `USER#<user>`, filtered on the slot's hold being live or an upcoming booking), every
/// hold from the player's hold records (`gsi2`, `HOLDS#<user>`) and their slots.
pub(super) async fn user_holds(
    store: &DynamoStore,
    user: &UserId,
    page: &Page<HoldsAfter>,
    include_past: bool,
    now: DateTime<Utc>,
) -> Result<HoldsPage, Error> {
    if include_past {
        every_hold(store, user, page, now).await
    } else {
        current_holds(store, user, page, now).await
    }
}

/// The `Query` of `gsi2` partition `pk`, newest first, from `after` (whose item's table key is
/// `after_key`).
fn player_query(
    store: &DynamoStore,
    pk: String,
    after: Option<(&HoldsAfter, Key)>,
) -> Result<QueryFluentBuilder, Error> {
    let start_key = match after {
        Some((after, key)) => {
            let mut key = key.item()?;
            key.insert(GSI2PK.into(), s(pk.clone()));
            key.insert(
                GSI2SK.into(),
                s(user_hold_gsi2sk(millis(after.created), after.hold)),
            );
            Some(key)
        }
        None => None,
    };
    Ok(store
        .client
        .query()
        .table_name(&store.table)
        .index_name(GSI2)
        .key_condition_expression(format!("{GSI2PK} = :pk"))
        .expression_attribute_values(":pk", s(pk))
        .scan_index_forward(false)
        .set_exclusive_start_key(start_key)
        .set_limit(store.page_size))
}

/// The position of a `gsi2` key (`<created ms>#<hold id>`).
fn position_of(key: &HashMap<String, AttributeValue>) -> Result<HoldsAfter, Error> {
    let sort = key
        .get(GSI2SK)
        .and_then(|v| v.as_s().ok())
        .ok_or_else(|| Error::Internal("a gsi2 key without its sort key".into()))?;
    let malformed = || Error::Internal(format!("gsi2 sort key {sort}"));
    let (created, hold) = sort.split_once('#').ok_or_else(malformed)?;
    Ok(HoldsAfter {
        created: from_millis(created.parse().map_err(|_| malformed())?)?,
        hold: HoldId::parse(hold).map_err(|_| malformed())?,
    })
}

/// The player's live holds and upcoming bookings: their slots, filtered by DynamoDB. A page reads
/// at most [`CURRENT_HOLDS_QUERIES`] query pages; when they held fewer than `limit` current holds
/// and more items follow, the page is shorter and says where to go on.
async fn current_holds(
    store: &DynamoStore,
    user: &UserId,
    page: &Page<HoldsAfter>,
    now: DateTime<Utc>,
) -> Result<HoldsPage, Error> {
    let pk = user_pk(user);
    let mut query = player_query(
        store,
        pk.clone(),
        page.after
            .as_ref()
            .map(|a| (a, Key::slot(a.hold.slot_key()))),
    )?
    .filter_expression(format!(
        "{HOLDER} = :user AND (({HOLD_STATUS} = :hold AND {HOLD_EXPIRES_AT} > :now) \
         OR ({HOLD_STATUS} = :confirmed AND {START_TIME} > :now))"
    ))
    .expression_attribute_values(":user", s(user.as_str()))
    .expression_attribute_values(":hold", s(HoldStatus::Hold.as_str()))
    .expression_attribute_values(":confirmed", s(HoldStatus::Confirmed.as_str()))
    .expression_attribute_values(":now", n(millis(now)));
    let mut holds = Vec::new();
    let mut position = page.after.clone();
    for _ in 0..CURRENT_HOLDS_QUERIES {
        let output = query
            .clone()
            .send()
            .await
            .map_err(|e| sdk_error("Query (user holds)", e))?;
        for item in output.items.unwrap_or_default() {
            let slot: SlotItem = parse_item(item)?;
            let Some(hold) = slot
                .hold_id
                .map(|id| slot.hold_if(id))
                .transpose()?
                .flatten()
            else {
                continue;
            };
            holds.push(UserHold {
                hold,
                room_id: slot.room_id,
                created_at: from_millis(slot.hold_created_at.unwrap_or_default())?,
            });
        }
        if holds.len() > page.limit {
            return Ok(cut(holds, page.limit));
        }
        let Some(last) = output.last_evaluated_key.filter(|k| !k.is_empty()) else {
            return Ok(HoldsPage { holds, next: None });
        };
        position = Some(position_of(&last)?);
        query = query.set_exclusive_start_key(Some(last));
    }
    // The page's reads are spent: the next page goes on after the last item read.
    Ok(HoldsPage {
        holds,
        next: position,
    })
}

/// The first `limit` of `holds` (which has more), and the position after the last of them.
fn cut(mut holds: Vec<UserHold>, limit: usize) -> HoldsPage {
    holds.truncate(limit);
    let next = holds.last().map(|h| HoldsAfter {
        created: h.created_at,
        hold: h.hold.id,
    });
    HoldsPage { holds, next }
}

/// Every hold of the player, from their hold records (`limit + 1` of them: exact pages), each
/// told by its slot while the slot carries it (one consistent `BatchGetItem` of the page's
/// slots), else by the record: cancelled, released or expired.
async fn every_hold(
    store: &DynamoStore,
    user: &UserId,
    page: &Page<HoldsAfter>,
    now: DateTime<Utc>,
) -> Result<HoldsPage, Error> {
    let wanted = page.limit.saturating_add(1);
    let mut query = player_query(
        store,
        player_holds_pk(user),
        page.after.as_ref().map(|a| (a, Key::hold(a.hold))),
    )?;
    let mut records = Vec::new();
    loop {
        let remaining = i32::try_from(wanted - records.len()).unwrap_or(i32::MAX);
        let output = query
            .clone()
            .limit(store.page_size.map_or(remaining, |p| p.min(remaining)))
            .send()
            .await
            .map_err(|e| sdk_error("Query (user's every hold)", e))?;
        for item in output.items.unwrap_or_default() {
            records.push(parse_item::<HoldItem>(item)?);
        }
        match output.last_evaluated_key.filter(|k| !k.is_empty()) {
            Some(last) if records.len() < wanted => {
                query = query.set_exclusive_start_key(Some(last));
            }
            _ => break,
        }
    }
    let next = if records.len() > page.limit {
        records.truncate(page.limit);
        records
            .last()
            .map(|r| -> Result<HoldsAfter, Error> {
                Ok(HoldsAfter {
                    created: from_millis(r.created_at)?,
                    hold: r.hold_id,
                })
            })
            .transpose()?
    } else {
        None
    };
    let slots = super::slot_items(store, records.iter().map(|r| r.hold_id.slot_key())).await?;
    let mut holds = Vec::new();
    for record in records {
        // A slot a schedule removed (it was free) leaves nothing to show where the hold was.
        let Some(slot) = slots.get(&slot_pk(record.hold_id.slot_key())) else {
            continue;
        };
        let hold = match slot.hold_if(record.hold_id)? {
            Some(hold) => hold,
            None => {
                let mut hold = record.hold(now)?;
                hold.starts_at = from_millis(slot.start_time)?;
                hold.cancel_by = slot.rules()?.cancel_by;
                hold.players = hold.players.or(slot.min_players);
                hold
            }
        };
        holds.push(UserHold {
            hold,
            room_id: slot.room_id.clone(),
            created_at: from_millis(record.created_at)?,
        });
    }
    Ok(HoldsPage { holds, next })
}
