//! The webhook endpoints on DynamoDB: `WEBHOOK#<id>` / `WEBHOOK` items, listed by id in `gsi2`'s
//! `WEBHOOKS` partition; the cap (`MAX_WEBHOOKS`) is a counter item `WEBHOOKS` / `#COUNT`
//! updated in the same `TransactWriteItems` as the put (or the delete).

use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    AttributeValue, Delete, Put, ReturnValue, TransactWriteItem, Update,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::errors::{refused_at, sdk_error};
use super::schema::*;
use super::{DynamoStore, Item};
use crate::error::Error;
use crate::events::EventKind;
use crate::store::webhooks::{Webhook, WebhooksPage, too_many_webhooks};
use crate::store::{from_millis, millis};

pub(super) const WEBHOOK_SK: &str = "WEBHOOK";
const WEBHOOKS_PK: &str = "WEBHOOKS";
const COUNT_SK: &str = "#COUNT";

#[derive(Serialize, Deserialize)]
pub(super) struct WebhookItem {
    pk: String,
    sk: String,
    gsi2pk: String,
    gsi2sk: String,
    webhook_id: String,
    url: String,
    events: Vec<EventKind>,
    secret: String,
    created_at: i64,
    #[serde(default)]
    disabled: bool,
}

impl WebhookItem {
    /// The item of `hook` as it is (disabled or not).
    pub(super) fn of(hook: &Webhook) -> Self {
        Self {
            pk: format!("WEBHOOK#{}", hook.id),
            sk: WEBHOOK_SK.into(),
            gsi2pk: WEBHOOKS_PK.into(),
            gsi2sk: hook.id.clone(),
            webhook_id: hook.id.clone(),
            url: hook.url.clone(),
            events: hook.events.clone(),
            secret: hook.secret.clone(),
            created_at: millis(hook.created_at),
            disabled: hook.disabled,
        }
    }

    pub(super) fn webhook(self) -> Result<Webhook, Error> {
        Ok(Webhook {
            id: self.webhook_id,
            url: self.url,
            events: self.events,
            secret: self.secret,
            created_at: from_millis(self.created_at)?,
            disabled: self.disabled,
        })
    }
}

pub(super) fn key(id: &str) -> Result<Item, Error> {
    item_of(&Key {
        pk: format!("WEBHOOK#{id}"),
        sk: WEBHOOK_SK.into(),
    })
}

fn count_key() -> Result<Item, Error> {
    item_of(&Key {
        pk: WEBHOOKS_PK.into(),
        sk: COUNT_SK.into(),
    })
}

/// See [`crate::store::Webhooks::create_webhook`]: ONE `TransactWriteItems` of the item's put
/// (only if new) and, with a cap, the counter's conditional increment.
pub(super) async fn create(
    store: &DynamoStore,
    hook: &Webhook,
    max: Option<usize>,
) -> Result<(), Error> {
    let item = WebhookItem {
        pk: format!("WEBHOOK#{}", hook.id),
        sk: WEBHOOK_SK.into(),
        gsi2pk: WEBHOOKS_PK.into(),
        gsi2sk: hook.id.clone(),
        webhook_id: hook.id.clone(),
        url: hook.url.clone(),
        events: hook.events.clone(),
        secret: hook.secret.clone(),
        created_at: millis(hook.created_at),
        disabled: false,
    };
    let put = built(
        "webhook item",
        Put::builder()
            .table_name(&store.table)
            .set_item(Some(item_of(&item)?))
            .condition_expression(format!("attribute_not_exists({PK})"))
            .build(),
    )?;
    let cap = i64::try_from(max.unwrap_or(usize::MAX)).unwrap_or(i64::MAX);
    let count = update(
        "webhook counter",
        Update::builder()
            .table_name(&store.table)
            .set_key(Some(count_key()?))
            .condition_expression("attribute_not_exists(webhook_count) OR webhook_count < :max")
            .update_expression("SET webhook_count = if_not_exists(webhook_count, :zero) + :one")
            .expression_attribute_values(":max", n(cap))
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":one", n(1)),
    )?;
    let sent = store
        .client
        .transact_write_items()
        .transact_items(TransactWriteItem::builder().put(put).build())
        .transact_items(TransactWriteItem::builder().update(count).build())
        .send()
        .await;
    match sent {
        Ok(_) => Ok(()),
        Err(err) if refused_at(&err, 1) => Err(too_many_webhooks(max.unwrap_or(usize::MAX))),
        Err(err) => Err(sdk_error("TransactWriteItems (create webhook)", err)),
    }
}

/// See [`crate::store::Webhooks::list_webhooks`]: one `Query` of `gsi2`'s `WEBHOOKS`
/// partition, `Limit = limit + 1`.
pub(super) async fn list(
    store: &DynamoStore,
    after: Option<&str>,
    limit: usize,
) -> Result<WebhooksPage, Error> {
    let mut query = store
        .client
        .query()
        .table_name(&store.table)
        .index_name(GSI2)
        .key_condition_expression(format!("{GSI2PK} = :pk"))
        .expression_attribute_values(":pk", s(WEBHOOKS_PK))
        .limit(i32::try_from(limit.saturating_add(1)).unwrap_or(i32::MAX));
    if let Some(after) = after {
        query = query
            .key_condition_expression(format!("{GSI2PK} = :pk AND {GSI2SK} > :after"))
            .expression_attribute_values(":after", s(after));
    }
    let output = query
        .send()
        .await
        .map_err(|e| sdk_error("Query (webhooks)", e))?;
    let mut webhooks = output
        .items
        .unwrap_or_default()
        .into_iter()
        .map(|item| parse_item::<WebhookItem>(item)?.webhook())
        .collect::<Result<Vec<_>, _>>()?;
    let next = if webhooks.len() > limit {
        webhooks.truncate(limit);
        webhooks.last().map(|w| w.id.clone())
    } else {
        None
    };
    Ok(WebhooksPage { webhooks, next })
}

/// See [`crate::store::Webhooks::get_webhook`]: one consistent `GetItem`.
pub(super) async fn get(store: &DynamoStore, id: &str) -> Result<Option<Webhook>, Error> {
    let output = store
        .client
        .get_item()
        .table_name(&store.table)
        .set_key(Some(key(id)?))
        .consistent_read(true)
        .send()
        .await
        .map_err(|e| sdk_error("GetItem (webhook)", e))?;
    output
        .item
        .filter(|i| !i.is_empty())
        .map(|item| parse_item::<WebhookItem>(item)?.webhook())
        .transpose()
}

/// See [`crate::store::Webhooks::delete_webhook`]: ONE `TransactWriteItems` of the item's
/// delete (only if it exists) and the counter's decrement.
pub(super) async fn delete(store: &DynamoStore, id: &str) -> Result<bool, Error> {
    let delete = built(
        "webhook delete",
        Delete::builder()
            .table_name(&store.table)
            .set_key(Some(key(id)?))
            .condition_expression(format!("attribute_exists({PK})"))
            .build(),
    )?;
    let count = update(
        "webhook counter",
        Update::builder()
            .table_name(&store.table)
            .set_key(Some(count_key()?))
            .condition_expression("webhook_count > :zero")
            .update_expression("SET webhook_count = webhook_count - :one")
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":one", n(1)),
    )?;
    let sent = store
        .client
        .transact_write_items()
        .transact_items(TransactWriteItem::builder().delete(delete).build())
        .transact_items(TransactWriteItem::builder().update(count).build())
        .send()
        .await;
    match sent {
        Ok(_) => Ok(true),
        Err(err) if refused_at(&err, 0) => Ok(false),
        Err(err) => Err(sdk_error("TransactWriteItems (delete webhook)", err)),
    }
}

/// See [`crate::store::Webhooks::enable_webhook`]: one conditional `UpdateItem` (if it exists)
/// answering the item as updated.
pub(super) async fn enable(store: &DynamoStore, id: &str) -> Result<Option<Webhook>, Error> {
    let sent = store
        .client
        .update_item()
        .table_name(&store.table)
        .set_key(Some(key(id)?))
        .condition_expression(format!("attribute_exists({PK})"))
        .update_expression("SET disabled = :false")
        .expression_attribute_values(":false", AttributeValue::Bool(false))
        .return_values(ReturnValue::AllNew)
        .send()
        .await;
    match sent {
        Ok(output) => output
            .attributes
            .map(|item| parse_item::<WebhookItem>(item)?.webhook())
            .transpose(),
        Err(err)
            if matches!(
                err.as_service_error(),
                Some(UpdateItemError::ConditionalCheckFailedException(_))
            ) =>
        {
            Ok(None)
        }
        Err(err) => Err(sdk_error("UpdateItem (enable webhook)", err)),
    }
}

/// See [`crate::store::Webhooks::disable_webhook`]: one `UpdateItem` (if it still exists).
pub(super) async fn disable(
    store: &DynamoStore,
    id: &str,
    _now: DateTime<Utc>,
) -> Result<(), Error> {
    let sent = store
        .client
        .update_item()
        .table_name(&store.table)
        .set_key(Some(key(id)?))
        .condition_expression(format!("attribute_exists({PK})"))
        .update_expression("SET disabled = :true")
        .expression_attribute_values(":true", aws_sdk_dynamodb::types::AttributeValue::Bool(true))
        .send()
        .await;
    match sent {
        Ok(_) => Ok(()),
        Err(err)
            if matches!(
                err.as_service_error(),
                Some(aws_sdk_dynamodb::operation::update_item::UpdateItemError::ConditionalCheckFailedException(_))
            ) =>
        {
            Ok(())
        }
        Err(err) => Err(sdk_error("UpdateItem (disable webhook)", err)),
    }
}

/// Sets the webhook counter to the number of endpoints in the table (a `Query` of `gsi2`'s
/// `WEBHOOKS` partition, counting, page by page, then one `PutItem`): after an import wrote
/// endpoints as they are. Set-up, not request path (as `provision::recount_rooms`).
pub(super) async fn recount(store: &DynamoStore) -> Result<(), Error> {
    use super::provision::{count_gsi2_partition, set_counter};
    let hooks = count_gsi2_partition(store, WEBHOOKS_PK, "webhooks").await?;
    set_counter(store, count_key()?, "webhook_count", hooks, "webhook count").await
}
