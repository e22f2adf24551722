//! The deliveries of the outbox on DynamoDB (the items are in `outbox.rs`'s table): one item
//! per (event, target) in the event's partition, in the `DUE` partition of `gsi1` while pending
//! (by next attempt) and in the target's `DELIVERIES#` partition of `gsi2` (newest first).

use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::ReturnValue;
use chrono::{DateTime, Utc};
use futures_util::{StreamExt, TryStreamExt, stream};
use serde::{Deserialize, Serialize};

use super::errors::sdk_error;
use super::outbox::{IN_FLIGHT, MAIL_KEY, event, event_key, event_mail_key, event_pk, time_key};
use super::schema::*;
use super::{DynamoStore, Item};
use crate::domain::ManageKey;
use crate::error::Error;
use crate::events::{BookingEvent, EventId, EventKind};
use crate::store::outbox::{
    Attempted, DeliveriesAfter, DeliveriesPage, Delivery, DeliveryRecord, DeliveryState,
    MAIL_CHANNEL, Outcome, Target,
};
use crate::store::{from_millis, millis};

const DELIVERY_PREFIX: &str = "DELIVERY#";
/// The `gsi1` partition of the pending deliveries, by their next attempt.
const DUE_PK: &str = "DUE";

fn delivery_sk(target: &Target) -> String {
    format!("{DELIVERY_PREFIX}{}#{}", target.channel, target.address)
}

fn deliveries_pk(target: &Target) -> String {
    format!("DELIVERIES#{}#{}", target.channel, target.address)
}

fn due_key(next_ms: i64, id: &EventId, target: &Target) -> String {
    format!("{next_ms:015}#{id}#{}#{}", target.channel, target.address)
}

/// A delivery item.
#[derive(Debug, Serialize, Deserialize)]
struct DeliveryItem {
    pk: String,
    sk: String,
    event_id: EventId,
    kind: EventKind,
    channel: String,
    address: String,
    state: String,
    attempts: u32,
    occurred_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    next_attempt_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    delivered_at: Option<i64>,
    /// An email delivery's manage key (from its event), until delivered or given up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    mail_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    gsi1pk: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    gsi1sk: Option<String>,
    gsi2pk: String,
    gsi2sk: String,
}

impl DeliveryItem {
    fn target(&self) -> Target {
        Target::new(&self.channel, &self.address)
    }

    fn record(self) -> Result<DeliveryRecord, Error> {
        Ok(DeliveryRecord {
            event_id: self.event_id,
            kind: self.kind,
            occurred_at: from_millis(self.occurred_at)?,
            state: DeliveryState::parse(&self.state)
                .ok_or_else(|| Error::Internal(format!("stored delivery state {}", self.state)))?,
            attempts: self.attempts,
            last_status: self.last_status,
            next_attempt_at: self.next_attempt_at.map(from_millis).transpose()?,
            delivered_at: self.delivered_at.map(from_millis).transpose()?,
        })
    }
}

/// See [`crate::store::Outbox::dispatch_event`]: a conditional `PutItem` per new delivery, then
/// one `UpdateItem` of the event (its payload fixed, its manage key removed, out of the `OUTBOX`
/// partition). A confirmation with an email first reads the key the event keeps for it (one
/// consistent `GetItem`), which the email's delivery item then carries.
pub(super) async fn dispatch(
    store: &DynamoStore,
    event: &BookingEvent,
    targets: &[Target],
    now: DateTime<Utc>,
) -> Result<(), Error> {
    let occurred = millis(event.occurred_at);
    let emailed = targets.iter().any(|t| t.channel == MAIL_CHANNEL);
    let mail_key = if emailed && event.kind == EventKind::Confirmed {
        event_mail_key(store, &event.id).await?
    } else {
        None
    };
    for target in targets {
        let item = DeliveryItem {
            pk: event_pk(&event.id),
            sk: delivery_sk(target),
            event_id: event.id.clone(),
            kind: event.kind,
            channel: target.channel.clone(),
            address: target.address.clone(),
            state: DeliveryState::Pending.as_str().into(),
            attempts: 0,
            occurred_at: occurred,
            last_status: None,
            next_attempt_at: Some(millis(now)),
            delivered_at: None,
            mail_key: mail_key.clone().filter(|_| target.channel == MAIL_CHANNEL),
            gsi1pk: Some(DUE_PK.into()),
            gsi1sk: Some(due_key(millis(now), &event.id, target)),
            gsi2pk: deliveries_pk(target),
            gsi2sk: time_key(occurred, &event.id),
        };
        let put = store
            .client
            .put_item()
            .table_name(&store.table)
            .set_item(Some(item_of(&item)?))
            .condition_expression(format!("attribute_not_exists({PK})"))
            .send()
            .await;
        match put {
            Ok(_) => {}
            Err(err)
                if matches!(
                    err.as_service_error(),
                    Some(PutItemError::ConditionalCheckFailedException(_))
                ) => {}
            Err(err) => return Err(sdk_error("PutItem (delivery)", err)),
        }
    }
    let data = serde_dynamo::aws_sdk_dynamodb_1::to_attribute_value(&event.data)
        .map_err(|e| Error::Internal(format!("event data as an attribute: {e}")))?;
    store
        .client
        .update_item()
        .table_name(&store.table)
        .set_key(Some(event_key(&event.id)?))
        .condition_expression(format!("attribute_exists({PK})"))
        .update_expression(format!(
            "SET #data = :data REMOVE {GSI1PK}, {GSI1SK}, {MAIL_KEY}"
        ))
        .expression_attribute_names("#data", "data")
        .expression_attribute_values(":data", data)
        .send()
        .await
        .map_err(|e| sdk_error("UpdateItem (event dispatched)", e))?;
    Ok(())
}

fn delivery_key(id: &EventId, target: &Target) -> Result<Item, Error> {
    item_of(&Key {
        pk: event_pk(id),
        sk: delivery_sk(target),
    })
}

/// See [`crate::store::Outbox::claim_deliveries`]: one `Query` of the `DUE` partition, then a
/// conditional `UpdateItem` per delivery (still pending and due: a simultaneous claim loses)
/// and the event of each claimed one, [`IN_FLIGHT`] deliveries at once.
pub(super) async fn claim(
    store: &DynamoStore,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    limit: usize,
) -> Result<Vec<Delivery>, Error> {
    let output = store
        .client
        .query()
        .table_name(&store.table)
        .index_name(GSI1)
        .key_condition_expression(format!("{GSI1PK} = :pk AND {GSI1SK} < :upto"))
        .expression_attribute_values(":pk", s(DUE_PK))
        .expression_attribute_values(":upto", s(format!("{:015}$", millis(now))))
        .limit(i32::try_from(limit.max(1)).unwrap_or(i32::MAX))
        .send()
        .await
        .map_err(|e| sdk_error("Query (due deliveries)", e))?;
    let claims = output
        .items
        .unwrap_or_default()
        .into_iter()
        .map(|item| async move {
            let found: DeliveryItem = parse_item(item)?;
            claim_one(store, found, now, lease_until).await
        });
    let claimed: Vec<Option<Delivery>> = stream::iter(claims)
        .buffered(IN_FLIGHT)
        .try_collect()
        .await?;
    Ok(claimed.into_iter().flatten().collect())
}

/// Claims `found` (a due delivery the `DUE` query returned) with one conditional `UpdateItem`,
/// then reads its event: `None` when a simultaneous claim won it, or its event is gone.
async fn claim_one(
    store: &DynamoStore,
    found: DeliveryItem,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
) -> Result<Option<Delivery>, Error> {
    let target = found.target();
    let lease = millis(lease_until);
    let updated = store
        .client
        .update_item()
        .table_name(&store.table)
        .set_key(Some(delivery_key(&found.event_id, &target)?))
        .condition_expression("#state = :pending AND next_attempt_at <= :now")
        .update_expression(format!("SET next_attempt_at = :lease, {GSI1SK} = :due"))
        .expression_attribute_names("#state", "state")
        .expression_attribute_values(":pending", s(DeliveryState::Pending.as_str()))
        .expression_attribute_values(":now", n(millis(now)))
        .expression_attribute_values(":lease", n(lease))
        .expression_attribute_values(":due", s(due_key(lease, &found.event_id, &target)))
        .return_values(ReturnValue::AllNew)
        .send()
        .await;
    let (attempts, mail_key) = match updated {
        Ok(out) => out
            .attributes
            .map(parse_item::<DeliveryItem>)
            .transpose()?
            .map_or((found.attempts, found.mail_key), |d| {
                (d.attempts, d.mail_key)
            }),
        Err(err)
            if matches!(
                err.as_service_error(),
                Some(UpdateItemError::ConditionalCheckFailedException(_))
            ) =>
        {
            return Ok(None);
        }
        Err(err) => return Err(sdk_error("UpdateItem (claim delivery)", err)),
    };
    let Some(event) = event(store, &found.event_id).await? else {
        return Ok(None);
    };
    Ok(Some(Delivery {
        event,
        target,
        attempts,
        manage_key: mail_key.and_then(ManageKey::stored),
    }))
}

/// See [`crate::store::Outbox::record_attempt`]: one conditional `UpdateItem`.
pub(super) async fn record_attempt(
    store: &DynamoStore,
    id: &EventId,
    target: &Target,
    attempted: &Attempted,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    let mut request = store
        .client
        .update_item()
        .table_name(&store.table)
        .set_key(Some(delivery_key(id, target)?))
        .condition_expression("#state = :pending")
        .expression_attribute_names("#state", "state")
        .expression_attribute_values(":pending", s(DeliveryState::Pending.as_str()))
        .expression_attribute_values(":one", n(1));
    let mut set = "attempts = attempts + :one".to_owned();
    let mut remove = Vec::new();
    match attempted.status {
        Some(status) => {
            set.push_str(", last_status = :status");
            request = request.expression_attribute_values(":status", n(i64::from(status)));
        }
        None => remove.push("last_status".to_owned()),
    }
    match attempted.outcome {
        Outcome::Delivered => {
            set.push_str(", #state = :to, delivered_at = :now");
            request = request
                .expression_attribute_values(":to", s(DeliveryState::Delivered.as_str()))
                .expression_attribute_values(":now", n(millis(now)));
            remove.extend([
                "next_attempt_at".into(),
                GSI1PK.into(),
                GSI1SK.into(),
                MAIL_KEY.into(),
            ]);
        }
        Outcome::RetryAt(at) => {
            set.push_str(&format!(", next_attempt_at = :next, {GSI1SK} = :due"));
            request = request
                .expression_attribute_values(":next", n(millis(at)))
                .expression_attribute_values(":due", s(due_key(millis(at), id, target)));
        }
        Outcome::GaveUp => {
            set.push_str(", #state = :to");
            request = request.expression_attribute_values(":to", s(DeliveryState::Failed.as_str()));
            remove.extend([
                "next_attempt_at".into(),
                GSI1PK.into(),
                GSI1SK.into(),
                MAIL_KEY.into(),
            ]);
        }
    }
    let mut expression = format!("SET {set}");
    if !remove.is_empty() {
        expression.push_str(&format!(" REMOVE {}", remove.join(", ")));
    }
    match request.update_expression(expression).send().await {
        Ok(_) => Ok(()),
        Err(err)
            if matches!(
                err.as_service_error(),
                Some(UpdateItemError::ConditionalCheckFailedException(_))
            ) =>
        {
            Ok(())
        }
        Err(err) => Err(sdk_error("UpdateItem (delivery attempt)", err)),
    }
}

/// Every delivery item to `target`, newest first, from `after` on, at most `limit` (`None`:
/// all), with whether more follow.
async fn target_deliveries(
    store: &DynamoStore,
    target: &Target,
    after: Option<&DeliveriesAfter>,
    limit: Option<usize>,
) -> Result<(Vec<DeliveryItem>, bool), Error> {
    let mut start = match after {
        Some(after) => {
            let mut key = delivery_key(&after.event, target)?;
            key.insert(GSI2PK.into(), s(deliveries_pk(target)));
            key.insert(
                GSI2SK.into(),
                s(time_key(millis(after.occurred_at), &after.event)),
            );
            Some(key)
        }
        None => None,
    };
    let mut found = Vec::new();
    loop {
        let wanted = limit.map(|l| l + 1 - found.len().min(l + 1));
        let output = store
            .client
            .query()
            .table_name(&store.table)
            .index_name(GSI2)
            .key_condition_expression(format!("{GSI2PK} = :pk"))
            .expression_attribute_values(":pk", s(deliveries_pk(target)))
            .scan_index_forward(false)
            .set_exclusive_start_key(start.take())
            .set_limit(wanted.map(|w| i32::try_from(w).unwrap_or(i32::MAX)))
            .send()
            .await
            .map_err(|e| sdk_error("Query (deliveries)", e))?;
        for item in output.items.unwrap_or_default() {
            found.push(parse_item::<DeliveryItem>(item)?);
        }
        if let Some(limit) = limit
            && found.len() > limit
        {
            found.truncate(limit);
            return Ok((found, true));
        }
        match output.last_evaluated_key.filter(|k| !k.is_empty()) {
            Some(last) => start = Some(last),
            None => return Ok((found, false)),
        }
    }
}

/// See [`crate::store::Outbox::deliveries_to`]: `Query` of the target's `gsi2` partition.
pub(super) async fn deliveries_to(
    store: &DynamoStore,
    target: &Target,
    after: Option<&DeliveriesAfter>,
    limit: usize,
) -> Result<DeliveriesPage, Error> {
    let (items, more) = target_deliveries(store, target, after, Some(limit)).await?;
    let deliveries = items
        .into_iter()
        .map(DeliveryItem::record)
        .collect::<Result<Vec<_>, _>>()?;
    let next = if more {
        deliveries.last().map(|d| DeliveriesAfter {
            occurred_at: d.occurred_at,
            event: d.event_id.clone(),
        })
    } else {
        None
    };
    Ok(DeliveriesPage { deliveries, next })
}

/// See [`crate::store::Outbox::abandon_deliveries`]: the target's deliveries, and a conditional
/// `UpdateItem` of each pending one.
pub(super) async fn abandon(store: &DynamoStore, target: &Target) -> Result<usize, Error> {
    let (items, _) = target_deliveries(store, target, None, None).await?;
    let mut abandoned = 0;
    for item in items
        .iter()
        .filter(|d| d.state == DeliveryState::Pending.as_str())
    {
        let given_up = store
            .client
            .update_item()
            .table_name(&store.table)
            .set_key(Some(delivery_key(&item.event_id, target)?))
            .condition_expression("#state = :pending")
            .update_expression(format!(
                "SET #state = :failed REMOVE next_attempt_at, {GSI1PK}, {GSI1SK}, {MAIL_KEY}"
            ))
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":pending", s(DeliveryState::Pending.as_str()))
            .expression_attribute_values(":failed", s(DeliveryState::Failed.as_str()))
            .send()
            .await;
        match given_up {
            Ok(_) => abandoned += 1,
            Err(err)
                if matches!(
                    err.as_service_error(),
                    Some(UpdateItemError::ConditionalCheckFailedException(_))
                ) => {}
            Err(err) => return Err(sdk_error("UpdateItem (abandon delivery)", err)),
        }
    }
    Ok(abandoned)
}
