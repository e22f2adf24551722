//! A room's calendar feed key (its digest): an item in the room's partition (`ROOM#<room>`,
//! sort key `CALENDAR_FEED`), read with one consistent `GetItem` and replaced with one
//! `TransactWriteItems`: a condition check that the room's item exists and the feed item's put.

use aws_sdk_dynamodb::types::{ConditionCheck, Put, TransactWriteItem};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::DynamoStore;
use super::errors::{refused_at, sdk_error};
use super::schema::*;
use crate::domain::{KeyDigest, RoomId};
use crate::error::Error;
use crate::store::{CalendarFeed, from_millis, millis};

/// The feed item's sort key, in the room's partition.
pub(super) const FEED_SK: &str = "CALENDAR_FEED";

#[derive(Debug, Serialize, Deserialize)]
pub(super) struct FeedItem {
    pub(super) pk: String,
    pub(super) sk: String,
    pub(super) room_id: RoomId,
    /// The SHA-256 of the key (hex), never the key.
    pub(super) key_digest: String,
    pub(super) rotated_at: i64,
}

pub(super) fn feed_key(room: &RoomId) -> Key {
    Key {
        pk: room_pk(room),
        sk: FEED_SK.into(),
    }
}

/// See [`crate::store::Store::calendar_feed`].
pub(super) async fn get(store: &DynamoStore, room: &RoomId) -> Result<Option<CalendarFeed>, Error> {
    let output = store
        .client
        .get_item()
        .table_name(&store.table)
        .set_key(Some(feed_key(room).item()?))
        .consistent_read(true)
        .send()
        .await
        .map_err(|e| sdk_error("GetItem (calendar feed)", e))?;
    output
        .item
        .filter(|i| !i.is_empty())
        .map(|item| {
            let item: FeedItem = parse_item(item)?;
            Ok(CalendarFeed {
                key: KeyDigest::stored(item.key_digest),
                rotated_at: from_millis(item.rotated_at)?,
            })
        })
        .transpose()
}

/// See [`crate::store::Store::rotate_calendar_feed`].
pub(super) async fn rotate(
    store: &DynamoStore,
    room: &RoomId,
    key: &KeyDigest,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    let Key { pk, sk } = feed_key(room);
    let check = built(
        "room check",
        ConditionCheck::builder()
            .table_name(&store.table)
            .set_key(Some(Key::room(room).item()?))
            .condition_expression(format!("attribute_exists({PK})"))
            .build(),
    )?;
    let put = built(
        "calendar feed put",
        Put::builder()
            .table_name(&store.table)
            .set_item(Some(item_of(&FeedItem {
                pk,
                sk,
                room_id: room.clone(),
                key_digest: key.as_str().to_owned(),
                rotated_at: millis(now),
            })?))
            .build(),
    )?;
    let sent = store
        .client
        .transact_write_items()
        .transact_items(TransactWriteItem::builder().condition_check(check).build())
        .transact_items(TransactWriteItem::builder().put(put).build())
        .send()
        .await;
    match sent {
        Ok(_) => Ok(()),
        Err(err) if refused_at(&err, 0) => Err(Error::RoomNotFound),
        Err(err) => Err(sdk_error("TransactWriteItems (rotate calendar feed)", err)),
    }
}
