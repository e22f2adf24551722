//! Provisioning: the client's configuration, the table (created with its index and TTL), and
//! loading seed data. Used by the `seed` command, the local server and the tests; no Lambda
//! function calls it.

use std::collections::HashMap;
use std::time::Duration as StdDuration;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::config::{BehaviorVersion, SharedHttpClient};
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::operation::create_table::CreateTableError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, GlobalSecondaryIndex, IndexStatus,
    KeySchemaElement, KeyType, Projection, ProjectionType, ReturnValuesOnConditionCheckFailure,
    ScalarAttributeType, TableStatus, TimeToLiveSpecification,
};

use super::DynamoStore;
use super::errors::sdk_error;
use super::rooms::{ROOM_COUNT, room_count_key};
use super::schema::*;
use crate::domain::{Room, Slot, SlotId, SlotKey, UserId};
use crate::error::Error;
use crate::seed::SeedData;
use crate::store::{Provision, millis};

/// Requests in flight at once while seeding.
const SEED_CONCURRENCY: usize = 32;

// ── Client configuration ────────────────────────────────────────────────────────────────────

/// Timeouts for every request: a store that does not answer becomes a 503 in bounded time.
/// `attempt` is one request's (`DYNAMODB_TIMEOUT_MS`, default 2 s); the operation, retries
/// included, gets twice that.
pub fn timeout_config(attempt: StdDuration) -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(StdDuration::from_secs(1))
        .operation_attempt_timeout(attempt)
        .operation_timeout(attempt * 2)
        .build()
}

/// Standard retries (3 attempts, throttling and transient errors) with a short first backoff, as
/// suits DynamoDB's single-digit-millisecond latency; all of it within [`timeout_config`].
pub fn retry_config() -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(3)
        .with_initial_backoff(StdDuration::from_millis(50))
        .with_max_backoff(StdDuration::from_secs(1))
}

/// The HTTPS client of every DynamoDB client: the one of every AWS SDK client of the crate,
/// [`crate::config::aws_http_client`] (hyper + rustls with ring rather than aws-lc-rs, which
/// added about 640 KB, 12 %, to each arm64 zip).
pub fn http_client() -> SharedHttpClient {
    crate::config::aws_http_client()
}

/// A client configured from the environment (region, credentials, and the endpoint: aws-config
/// reads `AWS_ENDPOINT_URL_DYNAMODB`, then `AWS_ENDPOINT_URL`, itself — DynamoDB Local is one
/// variable away) with this store's timeouts and retries.
pub async fn client_from_env(attempt_timeout: StdDuration) -> Client {
    let config = aws_config::defaults(BehaviorVersion::latest())
        .http_client(http_client())
        .timeout_config(timeout_config(attempt_timeout))
        .retry_config(retry_config())
        .load()
        .await;
    Client::new(&config)
}

/// Counts the requests a client sends, by action (the last part of `x-amz-target`: `Scan`,
/// `BatchGetItem`, …), every attempt and retry included: `export` and `import` print them.
#[derive(Debug, Clone, Default)]
pub struct RequestCounter(
    std::sync::Arc<std::sync::Mutex<std::collections::BTreeMap<String, usize>>>,
);

impl RequestCounter {
    /// The requests sent so far, by action.
    pub fn counts(&self) -> std::collections::BTreeMap<String, usize> {
        self.0.lock().map(|c| c.clone()).unwrap_or_default()
    }
}

impl aws_sdk_dynamodb::config::Intercept for RequestCounter {
    fn name(&self) -> &'static str {
        "RequestCounter"
    }

    fn read_before_transmit(
        &self,
        context: &aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef<'_>,
        _components: &aws_sdk_dynamodb::config::RuntimeComponents,
        _config: &mut aws_sdk_dynamodb::config::ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        let target = context
            .request()
            .headers()
            .get("x-amz-target")
            .unwrap_or_default();
        let action = target.rsplit('.').next().unwrap_or_default().to_owned();
        if let Ok(mut counts) = self.0.lock() {
            *counts.entry(action).or_default() += 1;
        }
        Ok(())
    }
}

/// [`client_from_env`] with `counter` counting its requests.
pub async fn client_from_env_counting(
    counter: &RequestCounter,
    attempt_timeout: StdDuration,
) -> Client {
    let config = aws_config::defaults(BehaviorVersion::latest())
        .http_client(http_client())
        .timeout_config(timeout_config(attempt_timeout))
        .retry_config(retry_config())
        .load()
        .await;
    let config = aws_sdk_dynamodb::config::Builder::from(&config)
        .interceptor(counter.clone())
        .build();
    Client::from_conf(config)
}

// ── Table ───────────────────────────────────────────────────────────────────────────────────

/// Creates the table (on-demand, `pk`/`sk`, indexes `gsi1` and `gsi2` projecting everything)
/// unless it exists,
/// waits until it is `ACTIVE`, and enables TTL on [`TTL`] (a refusal, e.g. from an emulator, is
/// logged and ignored: nothing depends on TTL). Idempotent; used by the seed command and tests.
pub async fn create_table(client: &Client, table: &str) -> Result<(), Error> {
    let created = client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .set_attribute_definitions(Some(
            [PK, SK, GSI1PK, GSI1SK, GSI2PK, GSI2SK]
                .into_iter()
                .map(string_key)
                .collect::<Result<_, _>>()?,
        ))
        .key_schema(key(PK, KeyType::Hash)?)
        .key_schema(key(SK, KeyType::Range)?)
        .global_secondary_indexes(index(GSI1, GSI1PK, GSI1SK)?)
        .global_secondary_indexes(index(GSI2, GSI2PK, GSI2SK)?)
        .send()
        .await;
    match created {
        Ok(_) => tracing::info!(table, "created the DynamoDB table"),
        Err(err)
            if matches!(
                err.as_service_error(),
                Some(CreateTableError::ResourceInUseException(_))
            ) =>
        {
            tracing::debug!(table, "the DynamoDB table exists");
        }
        Err(err) => return Err(sdk_error("CreateTable", err)),
    }
    wait_until_active(client, table).await?;
    enable_ttl(client, table).await;
    Ok(())
}

/// A string attribute of a key (the table's or an index's).
fn string_key(name: &str) -> Result<AttributeDefinition, Error> {
    built(
        "attribute definition",
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build(),
    )
}

fn key(name: &str, key_type: KeyType) -> Result<KeySchemaElement, Error> {
    built(
        "key schema",
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(key_type)
            .build(),
    )
}

/// An index: a hash and a range key, projecting everything (both indexes are so).
fn index(name: &str, hash: &str, range: &str) -> Result<GlobalSecondaryIndex, Error> {
    built(
        "global secondary index",
        GlobalSecondaryIndex::builder()
            .index_name(name)
            .key_schema(key(hash, KeyType::Hash)?)
            .key_schema(key(range, KeyType::Range)?)
            .projection(
                Projection::builder()
                    .projection_type(ProjectionType::All)
                    .build(),
            )
            .build(),
    )
}

/// Waits (up to 120 s) until the table and its indexes are `ACTIVE`.
async fn wait_until_active(client: &Client, table: &str) -> Result<(), Error> {
    let deadline = tokio::time::Instant::now() + StdDuration::from_secs(120);
    loop {
        let described = client
            .describe_table()
            .table_name(table)
            .send()
            .await
            .map_err(|e| sdk_error("DescribeTable", e))?;
        let table_desc = described.table();
        let active = table_desc.and_then(|t| t.table_status()) == Some(&TableStatus::Active)
            && table_desc
                .map(|t| t.global_secondary_indexes())
                .unwrap_or_default()
                .iter()
                .all(|i| i.index_status().is_none_or(|s| *s == IndexStatus::Active));
        if active {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(Error::Unavailable(format!(
                "table {table} did not become ACTIVE in 120 s"
            )));
        }
        tokio::time::sleep(StdDuration::from_millis(500)).await;
    }
}

/// Enables TTL on [`TTL`]; a refusal is logged and ignored (nothing depends on TTL).
async fn enable_ttl(client: &Client, table: &str) {
    let ttl = TimeToLiveSpecification::builder()
        .enabled(true)
        .attribute_name(TTL)
        .build();
    match built("TTL specification", ttl) {
        Ok(spec) => {
            if let Err(err) = client
                .update_time_to_live()
                .table_name(table)
                .time_to_live_specification(spec)
                .send()
                .await
            {
                // Already enabled, or an emulator that does not do TTL: clean-up only, go on.
                tracing::info!(
                    table,
                    code = err.code(),
                    message = err.message(),
                    "TTL left as it is"
                );
            }
        }
        Err(err) => tracing::warn!(table, ?err, "TTL not enabled"),
    }
}

/// Puts `item` unless an item with its key exists. `Ok(None)`: written; `Ok(Some(old))`: the
/// existing item, left as it was.
async fn put_new(
    client: &Client,
    table: &str,
    item: HashMap<String, AttributeValue>,
) -> Result<Option<HashMap<String, AttributeValue>>, Error> {
    let put = client
        .put_item()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression(format!("attribute_not_exists({PK})"))
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
        .send()
        .await;
    match put {
        Ok(_) => Ok(None),
        Err(err) => match err.as_service_error() {
            Some(PutItemError::ConditionalCheckFailedException(existing)) => {
                Ok(Some(existing.item().cloned().unwrap_or_default()))
            }
            _ => Err(sdk_error("PutItem (seed)", err)),
        },
    }
}

/// One seed item: what it is (for messages) and, for slots, the slot id its key must belong to.
struct SeedItem {
    item: HashMap<String, AttributeValue>,
    slot: Option<SlotId>,
}

fn room_item(room: &Room) -> Result<SeedItem, Error> {
    Ok(SeedItem {
        item: item_of(&RoomItem::of(room))?,
        slot: None,
    })
}

/// A free slot's item (no hold fields), with the rules and time zone of `room` if given.
pub(super) fn free_slot_item(
    slot: &Slot,
    room: Option<&Room>,
) -> Result<HashMap<String, AttributeValue>, Error> {
    Ok(slot_item(slot, room)?.item)
}

/// A new slot's item of `room` (its rules and time zone copied on), free (no hold fields).
pub(super) fn slot_seed_item(
    slot: &Slot,
    room: &Room,
) -> Result<HashMap<String, AttributeValue>, Error> {
    Ok(slot_item(slot, Some(room))?.item)
}

fn slot_item(slot: &Slot, room: Option<&Room>) -> Result<SeedItem, Error> {
    let (start, end) = (millis(slot.start_time), millis(slot.end_time));
    if start < 0 || start >= end {
        return Err(Error::Validation(format!(
            "slot {} must start after 1970 and before it ends",
            slot.id
        )));
    }
    let mut item = SlotItem {
        archived_at: None,
        pk: slot_pk(SlotKey::of(&slot.id)),
        sk: SLOT_SK.into(),
        gsi1pk: room_pk(&slot.room_id),
        gsi1sk: slot_gsi1sk(start, &slot.id),
        slot_id: slot.id.clone(),
        room_id: slot.room_id.clone(),
        start_time: start,
        end_time: end,
        booked: false,
        hold_id: None,
        holder: None,
        hold_expires_at: None,
        hold_status: None,
        hold_extended: None,
        hold_created_at: None,
        time_zone: None,
        gsi2pk: None,
        gsi2sk: None,
        min_players: None,
        max_players: None,
        book_by: None,
        cancel_by: None,
        hold_players: None,
        hold_confirmed_at: None,
        hold_cancelled_at: None,
        hold_cancelled_by: None,
        hold_cancel_reason: None,
        hold_reference: None,
        hold_contact: None,
    };
    if let Some(room) = room {
        item.set_rules(&room.rules_for(slot.start_time), &room.policy.time_zone);
    }
    let item = item_of(&item)?;
    Ok(SeedItem {
        item,
        slot: Some(slot.id.clone()),
    })
}

fn user_item(user: &UserId) -> Result<SeedItem, Error> {
    let Key { pk, sk } = Key::user(user);
    Ok(SeedItem {
        item: item_of(&UserItem {
            pk,
            sk,
            user_id: user.clone(),
        })?,
        slot: None,
    })
}

/// Writes one seed item if new. An existing item is kept as it is (a re-seed must not reset a
/// slot's holds), except that a slot key taken by a *different* slot id is an error: two slot ids
/// with the same 48-bit key cannot both live in this table.
async fn seed_one(client: Client, table: String, seed: SeedItem) -> Result<(), Error> {
    let Some(old) = put_new(&client, &table, seed.item).await? else {
        return Ok(());
    };
    if let Some(slot) = seed.slot {
        let existing: SlotItem = parse_item(old)?;
        if existing.slot_id != slot {
            return Err(Error::Validation(format!(
                "slot ids `{slot}` and `{}` share the storage key {}; rename one of them",
                existing.slot_id,
                SlotKey::of(&slot)
            )));
        }
    } else if old.get(SK).and_then(|v| v.as_s().ok()).map(String::as_str) == Some(ROOM_SK)
        && !old.contains_key(GSI2PK)
    {
        // A room stored before rooms were listed through `gsi2`: give it its index keys, and
        // nothing else (a re-seed keeps what exists).
        let room: RoomItem = parse_item(old)?;
        client
            .update_item()
            .table_name(&table)
            .set_key(Some(Key::room(&room.room_id).item()?))
            .condition_expression(format!("attribute_exists({PK})"))
            .update_expression(format!("SET {GSI2PK} = :rooms, {GSI2SK} = :room"))
            .expression_attribute_values(":rooms", s(ROOMS_PK))
            .expression_attribute_values(":room", s(room.room_id.as_str()))
            .send()
            .await
            .map_err(|e| sdk_error("UpdateItem (room index keys)", e))?;
    }
    Ok(())
}

#[async_trait]
impl Provision for DynamoStore {
    async fn prepare(&self) -> Result<(), Error> {
        create_table(&self.client, &self.table).await
    }

    async fn load(&self, data: &SeedData) -> Result<(), Error> {
        let items = data
            .users
            .iter()
            .map(user_item)
            .chain(data.rooms.iter().map(room_item))
            .chain(
                data.slots
                    .iter()
                    .map(|slot| slot_item(slot, data.rooms.iter().find(|r| r.id == slot.room_id))),
            )
            .chain(data.schedules.iter().map(|(room, schedule)| {
                let Key { pk, sk } = Key::schedule(room);
                Ok(SeedItem {
                    item: item_of(&ScheduleItem {
                        pk,
                        sk,
                        room_id: room.clone(),
                        schedule: schedule.clone(),
                        updated_at: 0,
                    })?,
                    slot: None,
                })
            }))
            .collect::<Result<Vec<_>, Error>>()?;
        let mut tasks = tokio::task::JoinSet::new();
        let mut first_error = None;
        for item in items {
            if tasks.len() >= SEED_CONCURRENCY
                && let Some(done) = tasks.join_next().await
            {
                record_seed_result(done, &mut first_error);
            }
            if first_error.is_some() {
                break;
            }
            tasks.spawn(seed_one(self.client.clone(), self.table.clone(), item));
        }
        while let Some(done) = tasks.join_next().await {
            record_seed_result(done, &mut first_error);
        }
        first_error.map_or(Ok(()), Err)?;
        recount_rooms(self).await
    }

    async fn is_empty(&self) -> Result<bool, Error> {
        let page = self
            .client
            .scan()
            .table_name(&self.table)
            .limit(1)
            .projection_expression(PK)
            .send()
            .await
            .map_err(|e| sdk_error("Scan (is empty)", e))?;
        Ok(page.items.unwrap_or_default().is_empty())
    }
}

/// Sets the room counter (`rooms::room_count_key`) to the number of rooms in the table (a `Query` of
/// `gsi2`, counting, page by page, then one `PutItem`): after a load, and on a table whose rooms
/// were stored before the counter existed. Set-up, not request path: a room created by a request
/// while it runs may be counted once too few until the next seed.
pub(super) async fn recount_rooms(store: &DynamoStore) -> Result<(), Error> {
    let rooms = count_gsi2_partition(store, ROOMS_PK, "rooms").await?;
    set_counter(store, room_count_key()?, ROOM_COUNT, rooms, "room count").await
}

/// The number of items in `gsi2`'s partition `pk` (a `Query` with `Select::Count`, page by
/// page): what the recounts after a load or an import count. Set-up, not request path.
pub(super) async fn count_gsi2_partition(
    store: &DynamoStore,
    pk: &str,
    what: &str,
) -> Result<i64, Error> {
    let mut count = 0i64;
    let mut start = None;
    loop {
        let page = store
            .client
            .query()
            .table_name(&store.table)
            .index_name(GSI2)
            .key_condition_expression(format!("{GSI2PK} = :pk"))
            .expression_attribute_values(":pk", s(pk))
            .select(aws_sdk_dynamodb::types::Select::Count)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| sdk_error(&format!("Query (count {what})"), e))?;
        count += i64::from(page.count);
        start = page.last_evaluated_key.filter(|k| !k.is_empty());
        if start.is_none() {
            return Ok(count);
        }
    }
}

/// Writes a counter item (`key`, its attribute `attribute` set to `value`) as it is: one
/// `PutItem`, after a recount.
pub(super) async fn set_counter(
    store: &DynamoStore,
    mut key: HashMap<String, AttributeValue>,
    attribute: &str,
    value: i64,
    what: &str,
) -> Result<(), Error> {
    key.insert(attribute.into(), n(value));
    store
        .client
        .put_item()
        .table_name(&store.table)
        .set_item(Some(key))
        .send()
        .await
        .map_err(|e| sdk_error(&format!("PutItem ({what})"), e))?;
    Ok(())
}

fn record_seed_result(
    done: Result<Result<(), Error>, tokio::task::JoinError>,
    first_error: &mut Option<Error>,
) {
    let result = done.unwrap_or_else(|e| Err(Error::Internal(format!("seed task: {e}"))));
    if let Err(err) = result
        && first_error.is_none()
    {
        *first_error = Some(err);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::RoomId;
    use crate::store::from_millis;

    #[test]
    fn a_fresh_slot_has_no_hold_fields_and_listing_keys_sort_by_start_time() {
        let slot = Slot {
            id: SlotId::parse("s-9").unwrap(),
            room_id: RoomId::parse("r-1").unwrap(),
            start_time: from_millis(1_800_000_000_000).unwrap(),
            end_time: from_millis(1_800_000_900_000).unwrap(),
        };
        let item = slot_item(&slot, None).unwrap().item;
        assert!(!item.contains_key(HOLD_ID) && !item.contains_key(HOLD_STATUS));
        assert!(slot_gsi1sk(999, &slot.id) < slot_gsi1sk(1_000, &slot.id));
        assert!(ROOM_SK < slot_gsi1sk(0, &slot.id).as_str());
    }

    #[test]
    fn a_slot_that_ends_before_it_starts_is_refused() {
        let t = from_millis(1_800_000_000_000).unwrap();
        let slot = Slot {
            id: SlotId::parse("s-1").unwrap(),
            room_id: RoomId::parse("r-1").unwrap(),
            start_time: t,
            end_time: t,
        };
        assert!(matches!(slot_item(&slot, None), Err(Error::Validation(_))));
    }
}
