//! The DynamoDB store: one table, every happy path ONE request (but a cancellation, a day sheet
//! page and every hold of a player: two). The design (keys, item types,
//! access patterns and each operation's condition) is written down in `docs/dynamodb-table.md`;
//! this header is the short version.
//!
//! | item | `pk` | `sk` | `gsi1pk` / `gsi1sk` |
//! |---|---|---|---|
//! | room | `ROOM#<room_id>` | `#ROOM` | `ROOM#<room_id>` / `#ROOM` |
//! | slot | `SLOT#<slot_key>` | `SLOT` | `ROOM#<room_id>` / `SLOT#<start ms, 15 digits>#<slot_id>` |
//! | hold | `HOLD#<hold_id>` | `HOLD` | once cancelled: `ROOM#<room_id>` / `BOOKING#<start>#<slot_id>#<created>#<hold_id>` |
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
//!   order). A player's holds are a `Query` of `gsi2`: their slots (`USER#…`, the current ones)
//!   or their hold records (`HOLDS#…`, every one); the day sheet adds the cancelled bookings'
//!   records in the room's `gsi1` partition (`BOOKING#…`), which a cancellation writes after
//!   one read of the slot (the one write that reads first). A GSI is eventually consistent on real DynamoDB: a hold made a moment ago may take a
//!   moment to show in a listing. Every write is guarded on the base table, strongly.
//! - Refused guards come back with the item as it was (`ReturnValuesOnConditionCheckFailure =
//!   ALL_OLD`) and are explained by [`domain::explain_confirm`] / [`domain::explain_release`], as
//!   the SQLite store does: no conditional failure is ever a 500.
//!
//! The code is split by resource, as the SQLite store is: this file holds the store (a client and
//! a table), says which module answers each [`Store`] operation, and retries a write that met a
//! transaction ([`retry_on_conflict`]); [`slots`] (listing), [`create`] (the create transaction,
//! its items named by [`create::CreateItem`]), [`holds`] (confirm, release, extend, cancel and
//! their explanations), [`bookings`] (reading holds: one, a player's pages), `sheet` (the day
//! sheet, paged), [`rooms`], [`schedules`],
//! [`provision`] (client configuration, table creation, loading data); [`schema`] (attribute
//! names, keys, item structs) and [`errors`] (what an SDK error means, as pure functions).

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration as StdDuration;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::KeysAndAttributes;
use chrono::{DateTime, Utc};

use super::outbox::{Attempted, DeliveriesAfter, DeliveriesPage, Delivery, Outbox, Target};
use super::webhooks::{Webhook, Webhooks, WebhooksPage};
use super::{
    Applied, CalendarFeed, Confirmed, Created, DaySheet, HoldsAfter, HoldsPage, IdempotencyKey,
    ManagedBooking, NewBooking, NewHold, Page, Retired, SheetAfter, SheetWindow, SlotWindow, Store,
};
use crate::domain::{
    Canceller, Hold, HoldId, KeyDigest, Reference, Room, RoomId, SlotKey, SlotState, UserId,
};
use crate::error::Error;
use crate::events::{BookingEvent, EventId};
use crate::schedule::{PlannedSlot, Schedule};
use errors::sdk_error;
use schema::{Key, SlotItem, built, parse_item};

pub mod bookings;
mod capped_confirm;
pub mod create;
mod deliveries;
pub mod errors;
mod feeds;
pub mod holds;
mod import;
pub mod leases;
mod outbox;
pub mod provision;
mod references;
mod retire;
pub mod rooms;
pub mod schedules;
pub mod schema;
mod sheet;
pub mod slots;
mod transfer;
mod webhooks;

pub use outbox::event_id_of_keys;
pub use provision::{
    RequestCounter, client_from_env, client_from_env_counting, create_table, http_client,
    retry_config, timeout_config,
};
pub use schema::{GSI1, GSI1PK, GSI1SK, GSI2, GSI2PK, GSI2SK, PK, SK, TTL};

/// The DynamoDB store: a client and a table. Request-path operations in the modules of their
/// resources, set-up in [`provision`].
pub struct DynamoStore {
    client: Client,
    table: String,
    /// Items per listing `Query` page; `None`: DynamoDB's own limit (1 MB of items per page).
    page_size: Option<i32>,
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

    /// A store over `table` with a client configured from the environment ([`client_from_env`]),
    /// each request given `attempt_timeout` (`DYNAMODB_TIMEOUT_MS`).
    pub async fn from_env(table: impl Into<String>, attempt_timeout: StdDuration) -> Self {
        Self::new(client_from_env(attempt_timeout).await, table)
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn table(&self) -> &str {
        &self.table
    }
}

/// Slot writes in flight at once while applying a schedule or copying a room's rules.
const SLOT_WRITES_IN_FLIGHT: usize = 32;

/// How often a guarded write is sent in all when DynamoDB reports that a transaction is writing
/// the same item at that moment (`TransactionConflict`, which the SDK does not retry).
const CONFLICT_ATTEMPTS: u32 = 4;

/// Sends a guarded write again while DynamoDB answers that another transaction is writing one of
/// its items at that very moment (`TransactionConflict`, which the SDK does not retry). That
/// transaction may yet fail, so a conflict is not a lost race; the write is guarded, so sending it
/// again is safe. After [`CONFLICT_ATTEMPTS`] sends the last error is returned (the caller answers
/// 503).
async fn retry_on_conflict<T, E, Fut>(
    mut send: impl FnMut() -> Fut,
    is_conflict: impl Fn(&E) -> bool,
) -> Result<T, E>
where
    Fut: Future<Output = Result<T, E>>,
{
    let mut attempt = 1;
    loop {
        match send().await {
            Err(err) if attempt < CONFLICT_ATTEMPTS && is_conflict(&err) => {
                tokio::time::sleep(StdDuration::from_millis(10 * u64::from(attempt))).await;
                attempt += 1;
            }
            result => return result,
        }
    }
}

/// The slot items of `keys`, read consistently ([`consistent_batch_get`]), by partition key.
/// Keys of no item are left out.
async fn slot_items(
    store: &DynamoStore,
    keys: impl Iterator<Item = SlotKey>,
) -> Result<HashMap<String, SlotItem>, Error> {
    let keys = keys
        .map(|key| Key::slot(key).item())
        .collect::<Result<Vec<_>, _>>()?;
    let mut slots = HashMap::new();
    for item in consistent_batch_get(store, keys, "slots").await? {
        let slot: SlotItem = parse_item(item)?;
        slots.insert(slot.pk.clone(), slot);
    }
    Ok(slots)
}

/// The items of `keys` (duplicates asked once), read consistently with `BatchGetItem`: up to 100
/// keys a request, each sent again for the keys DynamoDB left unprocessed (5 sends at most, then
/// 503). `what` names the read in errors. Keys of no item are left out; the order is DynamoDB's.
async fn consistent_batch_get(
    store: &DynamoStore,
    keys: Vec<Item>,
    what: &str,
) -> Result<Vec<Item>, Error> {
    let mut unique = Vec::new();
    for key in keys {
        if !unique.contains(&key) {
            unique.push(key);
        }
    }
    let mut items = Vec::new();
    for chunk in unique.chunks(BATCH_GET_KEYS) {
        let mut wanted = chunk.to_vec();
        let mut sends = 0;
        while !wanted.is_empty() {
            sends += 1;
            if sends > 5 {
                return Err(Error::Unavailable(format!(
                    "dynamodb BatchGetItem ({what}): keys left unprocessed"
                )));
            }
            let request = built(
                what,
                KeysAndAttributes::builder()
                    .set_keys(Some(std::mem::take(&mut wanted)))
                    .consistent_read(true)
                    .build(),
            )?;
            let output = store
                .client
                .batch_get_item()
                .request_items(&store.table, request)
                .send()
                .await
                .map_err(|e| sdk_error(&format!("BatchGetItem ({what})"), e))?;
            items.extend(
                output
                    .responses
                    .and_then(|mut r| r.remove(&store.table))
                    .unwrap_or_default(),
            );
            if let Some(left) = output
                .unprocessed_keys
                .and_then(|mut u| u.remove(&store.table))
            {
                wanted = left.keys;
            }
        }
    }
    Ok(items)
}

/// An item as the SDK carries it.
type Item = HashMap<String, aws_sdk_dynamodb::types::AttributeValue>;

/// The most keys one `BatchGetItem` may ask for.
const BATCH_GET_KEYS: usize = 100;

/// Each operation answered by the module of its resource.
#[async_trait]
impl Store for DynamoStore {
    async fn list_slots(
        &self,
        room: &RoomId,
        window: &SlotWindow,
        _now: DateTime<Utc>,
    ) -> Result<Vec<SlotState>, Error> {
        slots::list(self, room, window).await
    }

    async fn create_hold(
        &self,
        hold: &NewHold,
        key: Option<&IdempotencyKey>,
        now: DateTime<Utc>,
    ) -> Result<Created, Error> {
        create::create(self, hold, key, now).await
    }

    async fn confirm_booking(
        &self,
        id: HoldId,
        user: &UserId,
        booking: &NewBooking,
        max_bookings: Option<u32>,
        now: DateTime<Utc>,
    ) -> Result<Confirmed, Error> {
        holds::confirm(self, id, user, booking, max_bookings, now).await
    }

    async fn booking_by_reference(
        &self,
        reference: &Reference,
        now: DateTime<Utc>,
    ) -> Result<Option<ManagedBooking>, Error> {
        references::by_reference(self, reference, now).await
    }

    async fn calendar_feed(&self, room: &RoomId) -> Result<Option<CalendarFeed>, Error> {
        feeds::get(self, room).await
    }

    async fn rotate_calendar_feed(
        &self,
        room: &RoomId,
        key: &KeyDigest,
        now: DateTime<Utc>,
    ) -> Result<(), Error> {
        feeds::rotate(self, room, key, now).await
    }

    async fn erase_contacts(&self, ended_before: DateTime<Utc>) -> Result<usize, Error> {
        references::erase_contacts(self, ended_before).await
    }

    async fn release_hold(
        &self,
        id: HoldId,
        user: &UserId,
        now: DateTime<Utc>,
    ) -> Result<Hold, Error> {
        holds::release(self, id, user, now).await
    }

    async fn extend_hold(
        &self,
        id: HoldId,
        user: &UserId,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<DateTime<Utc>, Error> {
        holds::extend(self, id, user, expires_at, now).await
    }

    async fn cancel_hold(
        &self,
        id: HoldId,
        by: &Canceller,
        now: DateTime<Utc>,
    ) -> Result<(), Error> {
        holds::cancel(self, id, by, now).await
    }

    async fn room_bookings(
        &self,
        room: &RoomId,
        window: SheetWindow,
        page: &Page<SheetAfter>,
        now: DateTime<Utc>,
    ) -> Result<DaySheet, Error> {
        sheet::room_bookings(self, room, window, page, now).await
    }

    async fn get_hold(&self, id: HoldId, now: DateTime<Utc>) -> Result<Option<Hold>, Error> {
        bookings::get_hold(self, id, now).await
    }

    /// Nothing to do: every key item carries `ttl` (24 h after it was made) and the table's TTL
    /// removes it; until then the create's condition treats an older key as new.
    async fn forget_idempotency_keys(&self, _before: DateTime<Utc>) -> Result<usize, Error> {
        Ok(0)
    }

    async fn user_holds(
        &self,
        user: &UserId,
        page: &Page<HoldsAfter>,
        include_past: bool,
        now: DateTime<Utc>,
    ) -> Result<HoldsPage, Error> {
        bookings::user_holds(self, user, page, include_past, now).await
    }

    async fn list_rooms(&self) -> Result<Vec<Room>, Error> {
        rooms::list(self).await
    }

    async fn get_room(&self, room: &RoomId) -> Result<Option<Room>, Error> {
        rooms::get(self, room).await
    }

    async fn put_room(
        &self,
        room: &Room,
        max_rooms: Option<usize>,
        now: DateTime<Utc>,
    ) -> Result<bool, Error> {
        rooms::put(self, room, max_rooms, now).await
    }

    async fn retire_room(
        &self,
        room: &RoomId,
        cancel: Option<&Canceller>,
        now: DateTime<Utc>,
    ) -> Result<Retired, Error> {
        retire::retire(self, room, cancel, now).await
    }

    async fn get_schedule(&self, room: &RoomId) -> Result<Option<Schedule>, Error> {
        schedules::get(self, room).await
    }

    async fn apply_schedule(
        &self,
        room: &Room,
        schedule: &Schedule,
        planned: &[PlannedSlot],
        from: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Applied, Error> {
        schedules::apply(self, room, schedule, planned, from, now).await
    }
}

/// The outbox (`outbox.rs`).
#[async_trait]
impl Outbox for DynamoStore {
    async fn undispatched_events(&self, limit: usize) -> Result<Vec<BookingEvent>, Error> {
        outbox::undispatched(self, limit).await
    }

    async fn dispatch_event(
        &self,
        event: &BookingEvent,
        targets: &[Target],
        now: DateTime<Utc>,
    ) -> Result<(), Error> {
        deliveries::dispatch(self, event, targets, now).await
    }

    async fn claim_deliveries(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Delivery>, Error> {
        deliveries::claim(self, now, lease_until, limit).await
    }

    async fn record_attempt(
        &self,
        event: &EventId,
        target: &Target,
        attempted: &Attempted,
        now: DateTime<Utc>,
    ) -> Result<(), Error> {
        deliveries::record_attempt(self, event, target, attempted, now).await
    }

    async fn abandon_deliveries(&self, target: &Target) -> Result<usize, Error> {
        deliveries::abandon(self, target).await
    }

    async fn deliveries_to(
        &self,
        target: &Target,
        after: Option<&DeliveriesAfter>,
        limit: usize,
    ) -> Result<DeliveriesPage, Error> {
        deliveries::deliveries_to(self, target, after, limit).await
    }

    async fn event(&self, id: &EventId) -> Result<Option<BookingEvent>, Error> {
        outbox::event(self, id).await
    }

    async fn forget_events(&self, before: DateTime<Utc>) -> Result<usize, Error> {
        outbox::forget(self, before).await
    }
}

/// The webhook endpoints (`webhooks.rs`).
#[async_trait]
impl Webhooks for DynamoStore {
    async fn create_webhook(&self, hook: &Webhook, max: Option<usize>) -> Result<(), Error> {
        webhooks::create(self, hook, max).await
    }

    async fn list_webhooks(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<WebhooksPage, Error> {
        webhooks::list(self, after, limit).await
    }

    async fn get_webhook(&self, id: &str) -> Result<Option<Webhook>, Error> {
        webhooks::get(self, id).await
    }

    async fn delete_webhook(&self, id: &str) -> Result<bool, Error> {
        webhooks::delete(self, id).await
    }

    async fn disable_webhook(&self, id: &str) -> Result<(), Error> {
        webhooks::disable(self, id, Utc::now()).await
    }

    async fn enable_webhook(&self, id: &str) -> Result<Option<Webhook>, Error> {
        webhooks::enable(self, id).await
    }
}
