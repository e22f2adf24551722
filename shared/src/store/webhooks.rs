//! The venue's webhook endpoints: where booking events are sent, signed with each endpoint's
//! secret. Created, listed, enabled again and deleted by operators, disabled by a `410 Gone`; read by the webhook channel
//! (`delivery`) to fan an event out and to sign a delivery.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::error::Error;
use crate::events::EventKind;

/// A webhook endpoint. `secret` is the signing secret (`whsec_…`): the store keeps it because
/// each delivery is signed with it; it is answered once, by the creation, and never listed.
#[derive(Clone, PartialEq, Eq)]
pub struct Webhook {
    /// `wh_` and 32 hex digits.
    pub id: String,
    pub url: String,
    pub events: Vec<EventKind>,
    pub secret: String,
    pub created_at: DateTime<Utc>,
    /// Disabled by a `410 Gone` answer: no more deliveries.
    pub disabled: bool,
}

/// Never printed with its secret.
impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhook")
            .field("id", &self.id)
            .field("url", &self.url)
            .field("events", &self.events)
            .field("created_at", &self.created_at)
            .field("disabled", &self.disabled)
            .finish_non_exhaustive()
    }
}

/// A page of webhooks (by id) and where the next begins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhooksPage {
    pub webhooks: Vec<Webhook>,
    /// The last id of this page when more may follow.
    pub next: Option<String>,
}

#[async_trait]
pub trait Webhooks: Send + Sync {
    /// Stores a new endpoint, unless `max` endpoints exist already (`Validation` naming the
    /// limit): the count and the insert are one atomic step (SQLite: one guarded `INSERT` on
    /// the writer; DynamoDB: the item's put and a conditional update of a counter item in one
    /// `TransactWriteItems`), so of N simultaneous creations at `max - 1` exactly one succeeds.
    async fn create_webhook(&self, hook: &Webhook, max: Option<usize>) -> Result<(), Error>;

    /// A page of endpoints by id, after `after`, at most `limit`.
    async fn list_webhooks(&self, after: Option<&str>, limit: usize)
    -> Result<WebhooksPage, Error>;

    /// One endpoint, with its secret.
    async fn get_webhook(&self, id: &str) -> Result<Option<Webhook>, Error>;

    /// Deletes an endpoint (and gives its count back); `false` if there was none.
    async fn delete_webhook(&self, id: &str) -> Result<bool, Error>;

    /// Marks an endpoint disabled (its receiver answered `410 Gone`).
    async fn disable_webhook(&self, id: &str) -> Result<(), Error>;

    /// Marks an endpoint enabled again (an operator's decision, after a `410 Gone` disabled
    /// it), in one write guarded by its existence (SQLite: one `UPDATE … RETURNING` on the
    /// writer; DynamoDB: one conditional `UpdateItem` answering the new item): the endpoint as
    /// it is now, or `None` if there is none. Enabling an enabled endpoint changes nothing.
    /// Against a simultaneous `410` the later write wins; either way the endpoint is whole.
    async fn enable_webhook(&self, id: &str) -> Result<Option<Webhook>, Error>;
}

/// Every endpoint, all pages (bounded by `MAX_WEBHOOKS`).
pub async fn all_webhooks(store: &dyn Webhooks) -> Result<Vec<Webhook>, Error> {
    let mut all = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = store.list_webhooks(after.as_deref(), 100).await?;
        all.extend(page.webhooks);
        match page.next {
            Some(next) => after = Some(next),
            None => return Ok(all),
        }
    }
}

/// The 422 of a creation over the cap.
pub fn too_many_webhooks(max: usize) -> Error {
    Error::Validation(format!(
        "there are {max} webhooks already; at most {max} may exist (MAX_WEBHOOKS): delete one first"
    ))
}
