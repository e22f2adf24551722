//! The outbox: booking events written in the same atomic step as their change (a confirm, a
//! cancellation), and their deliveries — one per (event, target), where a target is a channel
//! (`webhook`, later `email`) and an address in it (a webhook's id). The drainer of the local
//! server and the `deliver-events` function on AWS work only through these methods.
//!
//! What each store writes with the change: SQLite, an `events` row in the confirm's or the
//! cancellation's transaction; DynamoDB, an `EVENT#` item in the same `TransactWriteItems`. An
//! event therefore exists if and only if its change committed, and its id is a function of its
//! booking and kind ([`crate::events::EventId::of`]).

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::domain::ManageKey;
use crate::error::Error;
use crate::events::{BookingEvent, EventId, EventKind};

/// The channel of the booking emails: its deliveries of a `booking.confirmed` event carry the
/// booking's manage key ([`Delivery::manage_key`]) from the fan-out until the attempt that
/// delivers it or gives it up. The one channel the stores know by name.
pub const MAIL_CHANNEL: &str = "email";

/// Where a delivery goes: a channel and an address in it (`webhook` and a webhook's id).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Target {
    pub channel: String,
    pub address: String,
}

impl Target {
    pub fn new(channel: &str, address: &str) -> Self {
        Self {
            channel: channel.to_owned(),
            address: address.to_owned(),
        }
    }
}

/// A delivery claimed for an attempt: its event, its target and the attempts made before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub event: BookingEvent,
    pub target: Target,
    pub attempts: u32,
    /// The booking's manage key, for the link of a confirmation email ([`MAIL_CHANNEL`]) when
    /// the confirm kept it ([`crate::store::NewBooking::mail_key`]); `None` on every other
    /// delivery. Never printed (`ManageKey`'s `Debug` hides it).
    pub manage_key: Option<ManageKey>,
}

/// What an attempt came to, as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempted {
    /// The answer's HTTP status, if one came (none: timeout, refused, unreachable).
    pub status: Option<u16>,
    pub outcome: Outcome,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Delivered: no more attempts.
    Delivered,
    /// Failed: try again at this moment.
    RetryAt(DateTime<Utc>),
    /// Failed for good (the retries are spent, or the endpoint is gone or disabled).
    GaveUp,
}

/// The state of a delivery as listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryState {
    Pending,
    Delivered,
    Failed,
}

impl DeliveryState {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [Self::Pending, Self::Delivered, Self::Failed]
            .into_iter()
            .find(|s| s.as_str() == value)
    }
}

/// A delivery as a target's listing shows it (newest event first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryRecord {
    pub event_id: EventId,
    pub kind: EventKind,
    pub occurred_at: DateTime<Utc>,
    pub state: DeliveryState,
    pub attempts: u32,
    pub last_status: Option<u16>,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
}

/// A position in a target's deliveries: after this event (its time, its id), newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveriesAfter {
    pub occurred_at: DateTime<Utc>,
    pub event: EventId,
}

/// A page of a target's deliveries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveriesPage {
    pub deliveries: Vec<DeliveryRecord>,
    pub next: Option<DeliveriesAfter>,
}

#[async_trait]
pub trait Outbox: Send + Sync {
    /// Up to `limit` events not yet fanned out to their targets, oldest first, each complete
    /// (the booking, its room and times as they were when the change committed; on DynamoDB
    /// completed from the booking's items when first read).
    async fn undispatched_events(&self, limit: usize) -> Result<Vec<BookingEvent>, Error>;

    /// Fans `event` out, in one atomic step: a delivery to each of `targets`, due at `now` (a
    /// delivery that exists already is kept as it is), and the event marked dispatched (and, on
    /// DynamoDB, its payload fixed on it). Idempotent: a second call adds only new targets.
    ///
    /// The manage key a confirm kept for its email moves in the same step from the event onto
    /// the [`MAIL_CHANNEL`] delivery (none: it is erased). On DynamoDB the step is the
    /// deliveries' puts and then the event's update: a crash between them leaves the key on the
    /// event, which the next fan-out moves.
    async fn dispatch_event(
        &self,
        event: &BookingEvent,
        targets: &[Target],
        now: DateTime<Utc>,
    ) -> Result<(), Error>;

    /// Claims up to `limit` pending deliveries due at `now` (oldest due first) for one attempt:
    /// each claimed delivery's next attempt moves to `lease_until` in the same guarded write, so
    /// a simultaneous drainer does not claim it too, and a drainer that dies mid-attempt leaves
    /// it due again at `lease_until` (the same event, the same id: at least once).
    async fn claim_deliveries(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Delivery>, Error>;

    /// Records an attempt of the delivery of `event` to `target`: one more attempt, its status
    /// and outcome. A delivery no longer pending is left as it is. Delivered or given up, the
    /// manage key it carried is erased in the same write.
    async fn record_attempt(
        &self,
        event: &EventId,
        target: &Target,
        attempted: &Attempted,
        now: DateTime<Utc>,
    ) -> Result<(), Error>;

    /// Gives up every pending delivery to `target` (an endpoint deleted or disabled), erasing
    /// the manage key any carried; says how many.
    async fn abandon_deliveries(&self, target: &Target) -> Result<usize, Error>;

    /// A page of the deliveries to `target`, newest event first.
    async fn deliveries_to(
        &self,
        target: &Target,
        after: Option<&DeliveriesAfter>,
        limit: usize,
    ) -> Result<DeliveriesPage, Error>;

    /// The event with `id`, if it is kept.
    async fn event(&self, id: &EventId) -> Result<Option<BookingEvent>, Error>;

    /// Erases the events that happened before `before`, with their deliveries (the daily job
    /// passes now − `EVENT_RETENTION_DAYS`); says how many events.
    async fn forget_events(&self, before: DateTime<Utc>) -> Result<usize, Error>;
}
