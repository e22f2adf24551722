//! The DynamoDB store: one table, every happy path ONE request. The design (keys, item types,
//! access patterns and each operation's condition) is written down in `docs/dynamodb-table.md`;
//! this header is the short version.
//!
//! | item | `pk` | `sk` | `gsi1pk` / `gsi1sk` |
//! |---|---|---|---|
//! | room | `ROOM#<room_id>` | `#ROOM` | `ROOM#<room_id>` / `#ROOM` |
//! | slot | `SLOT#<slot_key>` | `SLOT` | `ROOM#<room_id>` / `SLOT#<start ms, 15 digits>#<slot_id>` |
//! | hold | `HOLD#<hold_id>` | `HOLD` | – |
//! | user | `USER#<user_id>` | `USER` | – |
//!
//! - A create request names only the slot, so the slot item's key is a function of the slot id
//!   alone ([`SlotKey`]); a hold id carries the same key ([`HoldId::slot_key`]), so confirm and
//!   release reach the slot item from the hold id with no read.
//! - The slot item is the authority on the slot: `booked`, and its **latest hold** (`hold_id`,
//!   `holder`, `hold_expires_at`, `hold_status` = `HOLD` | `CONFIRMED` | `RELEASED`). Creating a
//!   hold takes that lock in a transaction (user check + guarded slot update + hold record);
//!   confirming and releasing are each ONE conditional `UpdateItem` on the slot item, which returns
//!   the slot (so the answer carries `slot_id` with no second request — a `TransactWriteItems`
//!   returns no attributes, which is why confirm and release are not transactions).
//! - The hold item is the immutable record of a hold (owner, slot, expiry), written by the create
//!   transaction. It answers for a hold its slot no longer carries (released then held again, or
//!   expired and taken over): another user's → 403; else 410, or the idempotent 200 for a
//!   release retry while the hold's time has not run out (a live hold leaves its slot only by
//!   release). That read (one consistent `GetItem`) is the only second request, on refusals only.
//! - Listing a room is one `Query` on the `gsi1` index (room item first, then its slots in start
//!   order). A GSI is eventually consistent on real DynamoDB: a hold made a moment ago may take a
//!   moment to show in a listing. Every write is guarded on the base table, strongly.
//! - Refused guards come back with the item as it was (`ReturnValuesOnConditionCheckFailure =
//!   ALL_OLD`) and are explained by [`domain::explain_confirm`] / [`domain::explain_release`], as
//!   the SQLite store does: no conditional failure is ever a 500.

use std::collections::HashMap;
use std::time::Duration as StdDuration;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::BehaviorVersion;
use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::create_table::CreateTableError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, CancellationReason, ConditionCheck,
    GlobalSecondaryIndex, IndexStatus, KeySchemaElement, KeyType, Projection, ProjectionType, Put,
    ReturnValue, ReturnValuesOnConditionCheckFailure, ScalarAttributeType, TableStatus,
    TimeToLiveSpecification, TransactWriteItem, Update,
};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_dynamo::aws_sdk_dynamodb_1::{from_item, to_item};

use super::{NewHold, SeedData, Store, from_millis, millis};
use crate::domain::{
    self, Hold, HoldId, HoldStatus, Room, RoomId, Slot, SlotId, SlotKey, SlotState, UserId,
};
use crate::error::Error;

// ── Attribute names ─────────────────────────────────────────────────────────────────────────
// The item structs below use the same names as field names; a unit test checks they agree.

/// Partition key (string) of the table.
pub const PK: &str = "pk";
/// Sort key (string) of the table.
pub const SK: &str = "sk";
/// The listing index: its partition key, sort key and name.
pub const GSI1PK: &str = "gsi1pk";
pub const GSI1SK: &str = "gsi1sk";
pub const GSI1: &str = "gsi1";
/// Epoch seconds after which DynamoDB TTL may delete a hold record (clean-up only).
pub const TTL: &str = "ttl";

const SLOT_ID: &str = "slot_id";
const BOOKED: &str = "booked";
const HOLD_ID: &str = "hold_id";
const HOLDER: &str = "holder";
const HOLD_EXPIRES_AT: &str = "hold_expires_at";
const HOLD_STATUS: &str = "hold_status";

const ROOM_SK: &str = "#ROOM";
const SLOT_SK: &str = "SLOT";
const HOLD_SK: &str = "HOLD";
const USER_SK: &str = "USER";

/// How long a hold record is kept after its expiry before TTL may delete it. Nothing depends on
/// the deletion; the record only answers late retries (e.g. a release retried after a re-hold).
const HOLD_RECORD_RETENTION: Duration = Duration::days(7);

/// Requests in flight at once while seeding.
const SEED_CONCURRENCY: usize = 32;

/// How often a guarded write is sent in all when DynamoDB reports that a transaction is writing
/// the same item at that moment (`TransactionConflict`, which the SDK does not retry).
const CONFLICT_ATTEMPTS: u32 = 4;

// ── Keys ────────────────────────────────────────────────────────────────────────────────────

fn room_pk(room: &RoomId) -> String {
    format!("ROOM#{room}")
}

fn slot_pk(key: SlotKey) -> String {
    format!("SLOT#{key}")
}

fn hold_pk(id: HoldId) -> String {
    format!("HOLD#{id}")
}

fn user_pk(user: &UserId) -> String {
    format!("USER#{user}")
}

/// The slot's sort key in the listing index: start time (epoch ms, zero-padded so strings sort
/// as numbers), then the slot id, as SQLite orders them.
fn slot_gsi1sk(start_ms: i64, slot: &SlotId) -> String {
    format!("SLOT#{start_ms:015}#{slot}")
}

#[derive(Debug, Serialize)]
struct Key {
    pk: String,
    sk: String,
}

impl Key {
    fn slot(key: SlotKey) -> Self {
        Self {
            pk: slot_pk(key),
            sk: SLOT_SK.into(),
        }
    }

    fn hold(id: HoldId) -> Self {
        Self {
            pk: hold_pk(id),
            sk: HOLD_SK.into(),
        }
    }

    fn user(user: &UserId) -> Self {
        Self {
            pk: user_pk(user),
            sk: USER_SK.into(),
        }
    }

    fn item(&self) -> Result<HashMap<String, AttributeValue>, Error> {
        item_of(self)
    }
}

// ── Items ───────────────────────────────────────────────────────────────────────────────────

#[derive(Debug, Serialize, Deserialize)]
struct UserItem {
    pk: String,
    sk: String,
    user_id: UserId,
}

#[derive(Debug, Serialize, Deserialize)]
struct RoomItem {
    pk: String,
    sk: String,
    gsi1pk: String,
    gsi1sk: String,
    room_id: RoomId,
    name: String,
    capacity: u32,
}

/// A slot and its latest hold. The hold fields are absent until the first hold.
#[derive(Debug, Serialize, Deserialize)]
struct SlotItem {
    pk: String,
    sk: String,
    gsi1pk: String,
    gsi1sk: String,
    slot_id: SlotId,
    room_id: RoomId,
    /// Epoch milliseconds.
    start_time: i64,
    end_time: i64,
    booked: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    hold_id: Option<HoldId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    holder: Option<UserId>,
    /// Epoch milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    hold_expires_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    hold_status: Option<HoldStatus>,
}

impl SlotItem {
    /// The slot's latest hold, if it is `id` (as the slot records it: owner, status, expiry).
    fn hold_if(&self, id: HoldId) -> Result<Option<Hold>, Error> {
        match (
            self.hold_id,
            &self.holder,
            self.hold_expires_at,
            self.hold_status,
        ) {
            (Some(current), Some(holder), Some(expires), Some(status)) if current == id => {
                Ok(Some(Hold {
                    id,
                    slot_id: self.slot_id.clone(),
                    user_id: holder.clone(),
                    status,
                    expires_at: from_millis(expires)?,
                }))
            }
            _ => Ok(None),
        }
    }
}

/// The immutable record of a hold, written with it. Its state after creation is the slot's.
#[derive(Debug, Serialize, Deserialize)]
struct HoldItem {
    pk: String,
    sk: String,
    hold_id: HoldId,
    slot_id: SlotId,
    /// The slot item's key (hex), for people reading the table.
    slot_key: String,
    user_id: UserId,
    /// Epoch milliseconds.
    expires_at: i64,
    created_at: i64,
    /// Epoch seconds: DynamoDB TTL may delete the record after this (clean-up only).
    ttl: i64,
}

// ── Conversions ─────────────────────────────────────────────────────────────────────────────

fn item_of<T: Serialize>(value: &T) -> Result<HashMap<String, AttributeValue>, Error> {
    to_item(value).map_err(|e| Error::Internal(format!("dynamodb item encoding: {e}")))
}

fn parse_item<T: for<'de> Deserialize<'de>>(
    item: HashMap<String, AttributeValue>,
) -> Result<T, Error> {
    from_item(item).map_err(|e| Error::Internal(format!("malformed dynamodb item: {e}")))
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn n(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn built<T>(
    what: &str,
    result: Result<T, aws_sdk_dynamodb::error::BuildError>,
) -> Result<T, Error> {
    result.map_err(|e| Error::Internal(format!("building {what}: {e}")))
}

// ── Errors ──────────────────────────────────────────────────────────────────────────────────

/// Error codes that mean "too much traffic right now": 503 after the SDK's own retries.
const THROTTLING_CODES: &[&str] = &[
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "Throttling",
    "ThrottledException",
    "LimitExceededException",
];

/// Cancellation reason codes (per transaction item) that mean the same.
const THROTTLING_REASONS: &[&str] = &[
    "ThrottlingError",
    "ProvisionedThroughputExceeded",
    "RequestLimitExceeded",
];

const CONDITION_FAILED: &str = "ConditionalCheckFailed";
const TRANSACTION_CONFLICT: &str = "TransactionConflict";

/// Classifies an SDK error that no operation-specific rule took: unreachable, timed out or
/// throttled (after the SDK's retries) → `Unavailable` (503, `Retry-After`); anything else →
/// `Internal`. The error is turned into text only for the log, after it has been classified.
fn sdk_error<E>(operation: &str, err: SdkError<E, HttpResponse>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let unavailable = match &err {
        SdkError::TimeoutError(_) => true,
        SdkError::DispatchFailure(failure) => !failure.is_user(),
        // A response that could not be read (e.g. the connection dropped mid-body).
        SdkError::ResponseError(_) => true,
        SdkError::ServiceError(service) => {
            err.code()
                .is_some_and(|code| THROTTLING_CODES.contains(&code))
                || service.raw().status().is_server_error()
        }
        _ => false,
    };
    let detail = format!("dynamodb {operation}: {}", DisplayErrorContext(&err));
    if unavailable {
        Error::Unavailable(detail)
    } else {
        Error::Internal(detail)
    }
}

fn reason_code(reasons: &[CancellationReason], index: usize) -> &str {
    reasons
        .get(index)
        .and_then(CancellationReason::code)
        .unwrap_or("None")
}

fn reason_item<T: for<'de> Deserialize<'de>>(
    reasons: &[CancellationReason],
    index: usize,
) -> Result<Option<T>, Error> {
    reasons
        .get(index)
        .and_then(CancellationReason::item)
        .filter(|item| !item.is_empty())
        .map(|item| parse_item(item.clone()))
        .transpose()
}

/// A transaction cancelled because another transaction was writing one of its items.
fn is_transaction_conflict(err: &SdkError<TransactWriteItemsError, HttpResponse>) -> bool {
    matches!(
        err.as_service_error(),
        Some(TransactWriteItemsError::TransactionCanceledException(c))
            if c.cancellation_reasons().iter().any(|r| r.code() == Some(TRANSACTION_CONFLICT))
    )
}

fn describe_reasons(reasons: &[CancellationReason]) -> String {
    reasons
        .iter()
        .map(|r| r.code().unwrap_or("None"))
        .collect::<Vec<_>>()
        .join(", ")
}

// ── Client configuration ────────────────────────────────────────────────────────────────────

/// Timeouts for every request: a store that does not answer becomes a 503 in bounded time.
pub fn timeout_config() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(StdDuration::from_secs(1))
        .operation_attempt_timeout(StdDuration::from_secs(2))
        .operation_timeout(StdDuration::from_secs(4))
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

/// A client configured from the environment (region, credentials, and the endpoint: aws-config
/// reads `AWS_ENDPOINT_URL_DYNAMODB`, then `AWS_ENDPOINT_URL`, itself — DynamoDB Local is one
/// variable away) with this store's timeouts and retries.
pub async fn client_from_env() -> Client {
    let config = aws_config::defaults(BehaviorVersion::latest())
        .timeout_config(timeout_config())
        .retry_config(retry_config())
        .load()
        .await;
    Client::new(&config)
}

// ── Table ───────────────────────────────────────────────────────────────────────────────────

/// Creates the table (on-demand, `pk`/`sk`, index `gsi1` projecting everything) unless it exists,
/// waits until it is `ACTIVE`, and enables TTL on [`TTL`] (a refusal, e.g. from an emulator, is
/// logged and ignored: nothing depends on TTL). Idempotent; used by the seed command and tests.
pub async fn create_table(client: &Client, table: &str) -> Result<(), Error> {
    let string_key = |name: &str| {
        built(
            "attribute definition",
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build(),
        )
    };
    let key = |name: &str, key_type: KeyType| {
        built(
            "key schema",
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(key_type)
                .build(),
        )
    };
    let gsi1 = built(
        "index gsi1",
        GlobalSecondaryIndex::builder()
            .index_name(GSI1)
            .key_schema(key(GSI1PK, KeyType::Hash)?)
            .key_schema(key(GSI1SK, KeyType::Range)?)
            .projection(
                Projection::builder()
                    .projection_type(ProjectionType::All)
                    .build(),
            )
            .build(),
    )?;
    let created = client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(string_key(PK)?)
        .attribute_definitions(string_key(SK)?)
        .attribute_definitions(string_key(GSI1PK)?)
        .attribute_definitions(string_key(GSI1SK)?)
        .key_schema(key(PK, KeyType::Hash)?)
        .key_schema(key(SK, KeyType::Range)?)
        .global_secondary_indexes(gsi1)
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
            break;
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(Error::Unavailable(format!(
                "table {table} did not become ACTIVE in 120 s"
            )));
        }
        tokio::time::sleep(StdDuration::from_millis(500)).await;
    }

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
    Ok(())
}

// ── The store ───────────────────────────────────────────────────────────────────────────────

pub struct DynamoStore {
    client: Client,
    table: String,
    /// Items per listing `Query` page; `None`: DynamoDB's own limit (1 MB of items per page).
    page_size: Option<i32>,
}

/// What a refused confirm or release is explained with.
#[derive(Clone, Copy)]
enum Action {
    Confirm,
    Release,
}

impl DynamoStore {
    /// A store over `table` through `client` (tests pass a client with their own interceptors).
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            page_size: None,
        }
    }

    /// Lists rooms `items` items per `Query` page instead of 1 MB pages (tests use it to see
    /// paging at work without loading thousands of slots).
    pub fn with_page_size(mut self, items: i32) -> Self {
        self.page_size = Some(items);
        self
    }

    /// A store over `table` with a client configured from the environment ([`client_from_env`]).
    pub async fn from_env(table: impl Into<String>) -> Self {
        Self::new(client_from_env().await, table)
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// Confirm or release: ONE conditional `UpdateItem` on the hold's slot item (its key comes
    /// from the hold id), guarded on the slot's latest hold being `id`, the caller's, `HOLD` and
    /// live. On success the new slot image gives the hold's slot and expiry; on refusal the old
    /// image explains it (see [`Self::explain`]).
    async fn transition(
        &self,
        id: HoldId,
        user: &UserId,
        now: DateTime<Utc>,
        action: Action,
    ) -> Result<Hold, Error> {
        let (to, operation) = match action {
            Action::Confirm => (HoldStatus::Confirmed, "UpdateItem (confirm)"),
            Action::Release => (HoldStatus::Released, "UpdateItem (release)"),
        };
        // The hold counts while now < expires_at, so it can be confirmed or released only then.
        let condition = format!(
            "{HOLD_ID} = :hold_id AND {HOLDER} = :user AND {HOLD_STATUS} = :hold \
             AND {HOLD_EXPIRES_AT} > :now AND {BOOKED} = :false"
        );
        let update = match action {
            Action::Confirm => format!("SET {HOLD_STATUS} = :to, {BOOKED} = :true"),
            Action::Release => format!("SET {HOLD_STATUS} = :to"),
        };
        let key = Key::slot(id.slot_key()).item()?;
        let mut attempt = 1;
        loop {
            let mut request = self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(key.clone()))
                .condition_expression(&condition)
                .update_expression(&update)
                .expression_attribute_values(":hold_id", s(id.to_string()))
                .expression_attribute_values(":user", s(user.as_str()))
                .expression_attribute_values(":hold", s(HoldStatus::Hold.as_str()))
                .expression_attribute_values(":now", n(millis(now)))
                .expression_attribute_values(":false", AttributeValue::Bool(false))
                .expression_attribute_values(":to", s(to.as_str()))
                .return_values(ReturnValue::AllNew)
                .return_values_on_condition_check_failure(
                    ReturnValuesOnConditionCheckFailure::AllOld,
                );
            if let Action::Confirm = action {
                request = request.expression_attribute_values(":true", AttributeValue::Bool(true));
            }
            let err = match request.send().await {
                Ok(output) => {
                    let slot: SlotItem = parse_item(output.attributes.unwrap_or_default())?;
                    return slot.hold_if(id)?.ok_or_else(|| {
                        Error::Internal(format!("slot of hold {id} lost its hold fields"))
                    });
                }
                Err(err) => err,
            };
            match err.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(refused)) => {
                    let old: Option<SlotItem> = refused
                        .item()
                        .filter(|i| !i.is_empty())
                        .map(|i| parse_item(i.clone()))
                        .transpose()?;
                    return self.explain(id, user, now, action, old).await;
                }
                // A transaction (someone's create on this slot) is writing the item right now.
                // Ours is a guarded write, so sending it again is safe; the SDK does not retry
                // this error, so we do, a few times, before calling the store busy.
                Some(UpdateItemError::TransactionConflictException(_))
                    if attempt < CONFLICT_ATTEMPTS =>
                {
                    tokio::time::sleep(StdDuration::from_millis(10 * u64::from(attempt))).await;
                    attempt += 1;
                }
                Some(UpdateItemError::TransactionConflictException(_)) => {
                    return Err(Error::Unavailable(format!(
                        "dynamodb {operation}: transaction conflict on hold {id}'s slot {attempt} times"
                    )));
                }
                _ => return Err(sdk_error(operation, err)),
            }
        }
    }

    /// Why a confirm or release of `id` was refused, from the slot item as it was (`slot`).
    ///
    /// - The slot's latest hold is `id`: the slot's record of it (owner, status, expiry) goes to
    ///   the domain's explanation — 403, 410, 409 (release of a booking) or the idempotent 200.
    ///   No further request.
    /// - Otherwise the slot has moved on (the hold was released and the slot held again, or it
    ///   expired and was taken over) or `id` is unknown: the hold record (one consistent read,
    ///   refusals only) tells the owner. A hold that left its slot while its time had not run
    ///   out can only have been released, so a release retry then gets its 200; after its
    ///   expiry it is simply gone (410).
    async fn explain(
        &self,
        id: HoldId,
        user: &UserId,
        now: DateTime<Utc>,
        action: Action,
        slot: Option<SlotItem>,
    ) -> Result<Hold, Error> {
        let hold = match slot.as_ref().map(|s| s.hold_if(id)).transpose()?.flatten() {
            Some(hold) => Some(hold),
            None => self.hold_record(id).await?.map(|record| {
                let status = if now < record.expires_at {
                    HoldStatus::Released
                } else {
                    HoldStatus::Hold
                };
                Hold { status, ..record }
            }),
        };
        match action {
            Action::Confirm => domain::explain_confirm(hold.as_ref(), user, now),
            Action::Release => domain::explain_release(hold.as_ref(), user, now),
        }
    }

    /// The hold record of `id`, read consistently; `None` if there is none (unknown, or deleted
    /// by TTL long after its expiry).
    async fn hold_record(&self, id: HoldId) -> Result<Option<Hold>, Error> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(Key::hold(id).item()?))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk_error("GetItem (hold)", e))?;
        let Some(item) = output.item.filter(|i| !i.is_empty()) else {
            return Ok(None);
        };
        let record: HoldItem = parse_item(item)?;
        Ok(Some(Hold {
            id: record.hold_id,
            slot_id: record.slot_id,
            user_id: record.user_id,
            status: HoldStatus::Hold,
            expires_at: from_millis(record.expires_at)?,
        }))
    }

    /// Puts `item` unless an item with its key exists. `Ok(None)`: written; `Ok(Some(old))`:
    /// the existing item, left as it was.
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
}

/// One seed item: what it is (for messages) and, for slots, the slot id its key must belong to.
struct SeedItem {
    item: HashMap<String, AttributeValue>,
    slot: Option<SlotId>,
}

fn room_item(room: &Room) -> Result<SeedItem, Error> {
    let pk = room_pk(&room.id);
    let item = item_of(&RoomItem {
        pk: pk.clone(),
        sk: ROOM_SK.into(),
        gsi1pk: pk,
        gsi1sk: ROOM_SK.into(),
        room_id: room.id.clone(),
        name: room.name.clone(),
        capacity: room.capacity,
    })?;
    Ok(SeedItem { item, slot: None })
}

fn slot_item(slot: &Slot) -> Result<SeedItem, Error> {
    let (start, end) = (millis(slot.start_time), millis(slot.end_time));
    if start < 0 || start >= end {
        return Err(Error::Validation(format!(
            "slot {} must start after 1970 and before it ends",
            slot.id
        )));
    }
    let item = item_of(&SlotItem {
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
    })?;
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
    let Some(old) = DynamoStore::put_new(&client, &table, seed.item).await? else {
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
    }
    Ok(())
}

#[async_trait]
impl Store for DynamoStore {
    async fn list_slots(
        &self,
        room: &RoomId,
        _now: DateTime<Utc>,
    ) -> Result<Vec<SlotState>, Error> {
        let mut found_room = false;
        let mut slots = Vec::new();
        let mut start_key = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(GSI1)
                .key_condition_expression(format!("{GSI1PK} = :room"))
                .expression_attribute_values(":room", s(room_pk(room)))
                .set_exclusive_start_key(start_key)
                .set_limit(self.page_size)
                .send()
                .await
                .map_err(|e| sdk_error("Query (list slots)", e))?;
            for item in page.items.unwrap_or_default() {
                match item.get(SK).and_then(|v| v.as_s().ok()).map(String::as_str) {
                    Some(ROOM_SK) => found_room = true,
                    Some(SLOT_SK) => {
                        let slot: SlotItem = parse_item(item)?;
                        // Only a slot's open hold is reported; a booked slot's latest hold is the
                        // booking itself. Expired holds are reported too: the caller compares.
                        let hold = match (slot.hold_id, slot.hold_status) {
                            (Some(id), Some(HoldStatus::Hold)) if !slot.booked => {
                                slot.hold_if(id)?
                            }
                            _ => None,
                        };
                        slots.push(SlotState {
                            slot: Slot {
                                id: slot.slot_id,
                                room_id: slot.room_id,
                                start_time: from_millis(slot.start_time)?,
                                end_time: from_millis(slot.end_time)?,
                            },
                            booked: slot.booked,
                            hold,
                        });
                    }
                    _ => {}
                }
            }
            start_key = page.last_evaluated_key.filter(|k| !k.is_empty());
            if start_key.is_none() {
                break;
            }
        }
        if found_room {
            Ok(slots)
        } else {
            Err(Error::RoomNotFound)
        }
    }

    async fn create_hold(&self, hold: &NewHold, now: DateTime<Utc>) -> Result<Hold, Error> {
        let slot_key = SlotKey::of(&hold.slot_id);
        let user_exists = built(
            "user check",
            ConditionCheck::builder()
                .table_name(&self.table)
                .set_key(Some(Key::user(&hold.user_id).item()?))
                .condition_expression(format!("attribute_exists({PK})"))
                .build(),
        )?;
        // The guard of the whole service: the slot exists (and is this slot, not another with
        // the same key), is not booked, and its latest hold is not a live one. The contract's
        // expiry rule is "a hold counts while now < expires_at", so an expired lock is free
        // when hold_expires_at <= now (`<=`, not `<`).
        let take_lock = built(
            "slot update",
            Update::builder()
                .table_name(&self.table)
                .set_key(Some(Key::slot(slot_key).item()?))
                .condition_expression(format!(
                    "attribute_exists({PK}) AND {SLOT_ID} = :slot AND {BOOKED} = :false AND \
                     (attribute_not_exists({HOLD_STATUS}) OR {HOLD_STATUS} <> :hold OR {HOLD_EXPIRES_AT} <= :now)"
                ))
                .update_expression(format!(
                    "SET {HOLD_ID} = :hold_id, {HOLDER} = :user, {HOLD_EXPIRES_AT} = :expires, {HOLD_STATUS} = :hold"
                ))
                .expression_attribute_values(":slot", s(hold.slot_id.as_str()))
                .expression_attribute_values(":false", AttributeValue::Bool(false))
                .expression_attribute_values(":hold", s(HoldStatus::Hold.as_str()))
                .expression_attribute_values(":now", n(millis(now)))
                .expression_attribute_values(":hold_id", s(hold.id.to_string()))
                .expression_attribute_values(":user", s(hold.user_id.as_str()))
                .expression_attribute_values(":expires", n(millis(hold.expires_at)))
                .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
                .build(),
        )?;
        let record = built(
            "hold record",
            Put::builder()
                .table_name(&self.table)
                .set_item(Some(item_of(&HoldItem {
                    pk: hold_pk(hold.id),
                    sk: HOLD_SK.into(),
                    hold_id: hold.id,
                    slot_id: hold.slot_id.clone(),
                    slot_key: slot_key.to_string(),
                    user_id: hold.user_id.clone(),
                    expires_at: millis(hold.expires_at),
                    created_at: millis(now),
                    ttl: (hold.expires_at + HOLD_RECORD_RETENTION).timestamp(),
                })?))
                .condition_expression(format!("attribute_not_exists({PK})"))
                .build(),
        )?;
        let request = self
            .client
            .transact_write_items()
            .transact_items(
                TransactWriteItem::builder()
                    .condition_check(user_exists)
                    .build(),
            )
            .transact_items(TransactWriteItem::builder().update(take_lock).build())
            .transact_items(TransactWriteItem::builder().put(record).build());
        // `TransactionConflict`: another transaction is writing one of these items at this very
        // moment (a competing create, or the holder's confirm or release). That transaction may
        // yet fail, so a conflict is not a lost race: send ours again (it is guarded, so that is
        // safe) until DynamoDB can judge the condition; the SDK does not retry this itself.
        let mut attempt = 1;
        let err = loop {
            match request.clone().send().await {
                Ok(_) => return Ok(hold.created()),
                Err(err) if attempt < CONFLICT_ATTEMPTS && is_transaction_conflict(&err) => {
                    tokio::time::sleep(StdDuration::from_millis(10 * u64::from(attempt))).await;
                    attempt += 1;
                }
                Err(err) => break err,
            }
        };
        let Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) =
            err.as_service_error()
        else {
            return Err(sdk_error("TransactWriteItems (create hold)", err));
        };
        // One reason per item, in order: [user check, slot update, hold record].
        let reasons = cancelled.cancellation_reasons();
        let (user_code, slot_code, record_code) = (
            reason_code(reasons, 0),
            reason_code(reasons, 1),
            reason_code(reasons, 2),
        );
        if slot_code == CONDITION_FAILED {
            let old: Option<SlotItem> = reason_item(reasons, 1)?;
            // No item under the key, or another slot's (a key collision seeding refuses): the
            // asked slot does not exist. Checked first, as the SQLite store does.
            if old.as_ref().is_none_or(|s| s.slot_id != hold.slot_id) {
                return Err(Error::SlotNotFound);
            }
        }
        if user_code == CONDITION_FAILED {
            return Err(Error::UserNotFound);
        }
        if slot_code == CONDITION_FAILED {
            return Err(Error::SlotUnavailable);
        }
        let detail = format!(
            "dynamodb TransactWriteItems (create hold): cancelled: [{}]",
            describe_reasons(reasons)
        );
        if [user_code, slot_code, record_code]
            .iter()
            .any(|c| THROTTLING_REASONS.contains(c) || *c == TRANSACTION_CONFLICT)
        {
            return Err(Error::Unavailable(detail));
        }
        // e.g. a hold id already recorded: 74 random bits make that a broken invariant.
        Err(Error::Internal(detail))
    }

    async fn confirm_hold(
        &self,
        id: HoldId,
        user: &UserId,
        now: DateTime<Utc>,
    ) -> Result<Hold, Error> {
        self.transition(id, user, now, Action::Confirm).await
    }

    async fn release_hold(
        &self,
        id: HoldId,
        user: &UserId,
        now: DateTime<Utc>,
    ) -> Result<Hold, Error> {
        self.transition(id, user, now, Action::Release).await
    }

    async fn seed(&self, data: &SeedData) -> Result<(), Error> {
        let items = data
            .users
            .iter()
            .map(user_item)
            .chain(data.rooms.iter().map(room_item))
            .chain(data.slots.iter().map(slot_item))
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
        first_error.map_or(Ok(()), Err)
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

    fn id<T>(r: Result<T, Error>) -> T {
        match r {
            Ok(v) => v,
            Err(e) => panic!("{e:?}"),
        }
    }

    fn keys(item: &HashMap<String, AttributeValue>) -> Vec<&str> {
        let mut keys: Vec<&str> = item.keys().map(String::as_str).collect();
        keys.sort_unstable();
        keys
    }

    #[test]
    fn item_attribute_names_are_the_constants_used_in_expressions() {
        let slot_id = id(SlotId::parse("s-1"));
        let hold_id = HoldId::generate(&slot_id);
        let slot = SlotItem {
            pk: "p".into(),
            sk: "s".into(),
            gsi1pk: "g".into(),
            gsi1sk: "h".into(),
            slot_id: slot_id.clone(),
            room_id: id(RoomId::parse("r-1")),
            start_time: 1,
            end_time: 2,
            booked: false,
            hold_id: Some(hold_id),
            holder: Some(id(UserId::parse("u-1"))),
            hold_expires_at: Some(3),
            hold_status: Some(HoldStatus::Hold),
        };
        let item = id(item_of(&slot));
        for name in [
            PK,
            SK,
            GSI1PK,
            GSI1SK,
            SLOT_ID,
            BOOKED,
            HOLD_ID,
            HOLDER,
            HOLD_EXPIRES_AT,
            HOLD_STATUS,
        ] {
            assert!(
                item.contains_key(name),
                "{name} missing from {:?}",
                keys(&item)
            );
        }
        assert_eq!(item.get(HOLD_STATUS), Some(&s("HOLD")));
        assert_eq!(item.get(HOLD_ID), Some(&s(hold_id.to_string())));
        assert_eq!(item.get(HOLD_EXPIRES_AT), Some(&n(3)));
        assert_eq!(item.get(BOOKED), Some(&AttributeValue::Bool(false)));
        let back: SlotItem = id(parse_item(item));
        assert_eq!(back.hold_id, Some(hold_id));

        let record = id(item_of(&HoldItem {
            pk: "p".into(),
            sk: "s".into(),
            hold_id,
            slot_id,
            slot_key: "k".into(),
            user_id: id(UserId::parse("u-1")),
            expires_at: 1,
            created_at: 0,
            ttl: 2,
        }));
        assert!(record.contains_key(TTL) && record.contains_key(PK));
        assert_eq!(id(Key::slot(hold_id.slot_key()).item()).len(), 2);
    }

    #[test]
    fn a_fresh_slot_has_no_hold_fields_and_listing_keys_sort_by_start_time() {
        let slot = Slot {
            id: id(SlotId::parse("s-9")),
            room_id: id(RoomId::parse("r-1")),
            start_time: id(from_millis(1_800_000_000_000)),
            end_time: id(from_millis(1_800_000_900_000)),
        };
        let item = id(slot_item(&slot)).item;
        assert!(!item.contains_key(HOLD_ID) && !item.contains_key(HOLD_STATUS));
        assert!(slot_gsi1sk(999, &slot.id) < slot_gsi1sk(1_000, &slot.id));
        assert!(ROOM_SK < slot_gsi1sk(0, &slot.id).as_str());
    }

    #[test]
    fn a_slot_that_ends_before_it_starts_is_refused() {
        let t = id(from_millis(1_800_000_000_000));
        let slot = Slot {
            id: id(SlotId::parse("s-1")),
            room_id: id(RoomId::parse("r-1")),
            start_time: t,
            end_time: t,
        };
        assert!(matches!(slot_item(&slot), Err(Error::Validation(_))));
    }
}
