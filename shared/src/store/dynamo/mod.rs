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
//!
//! The code is split by concern: [`schema`] (attribute names, keys, item structs), [`holds`] (the
//! request-path operations), [`errors`] (what an SDK error means, as pure functions) and
//! [`provision`] (client configuration, table creation, loading data).

use aws_sdk_dynamodb::Client;

pub mod errors;
pub mod holds;
pub mod provision;
pub mod schema;

pub use provision::{client_from_env, create_table, http_client, retry_config, timeout_config};
pub use schema::{GSI1, GSI1PK, GSI1SK, GSI2, GSI2PK, GSI2SK, PK, SK, TTL};

/// The DynamoDB store: a client and a table. Request-path operations in [`holds`], set-up in
/// [`provision`].
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
}
