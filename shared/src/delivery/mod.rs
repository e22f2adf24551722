//! Delivering the outbox: channels (the webhook channel here; email can be a second), the
//! fan-out of an event to its targets, one attempt of a delivery, and when to try again. The
//! local server's drainer (`server`) and the `deliver-events` function on AWS both drive it; it
//! holds no loop of its own.
//!
//! At least once: a delivery is a row (an item) claimed under a lease, attempted, and recorded;
//! a process that dies between the claim and the record leaves it due again when the lease runs
//! out, with the same event id (`webhook-id`).

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};

use crate::error::Error;
use crate::events::BookingEvent;
use crate::store::{Attempted, Delivery, Outcome, Store, Target};

#[cfg(feature = "mail")]
pub mod email;
#[cfg(feature = "dynamodb")]
pub mod invocation;
pub mod signing;
pub mod urls;
#[cfg(feature = "webhooks")]
pub mod webhook;

/// What one attempt came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    /// Delivered (a 2xx in time).
    Delivered { status: u16 },
    /// Failed; worth another try (a 5xx, 4xx but 410, a timeout, a refused connection).
    Failed { status: Option<u16> },
    /// Never again: the target is gone (a `410 Gone`, an endpoint deleted or disabled).
    Gone { status: Option<u16> },
}

/// A way to deliver events: the webhook channel, an email channel.
#[async_trait]
pub trait Channel: Send + Sync {
    /// The `channel` of this channel's targets (`webhook`).
    fn name(&self) -> &'static str;

    /// The targets `event` goes to on this channel (every webhook subscribed to its type).
    /// Called once per event, when it is fanned out.
    async fn targets(&self, store: &dyn Store, event: &BookingEvent) -> Result<Vec<Target>, Error>;

    /// One attempt of `delivery`, bounded in time by the channel itself; never panics.
    async fn deliver(&self, store: &dyn Store, delivery: &Delivery) -> Attempt;
}

/// When a failed delivery is tried again: the waits of `WEBHOOK_RETRY_SECONDS`, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backoff(pub Vec<u64>);

impl Backoff {
    /// The record of an attempt that was the `attempts_before + 1`-th, at `now`.
    pub fn record(&self, attempts_before: u32, attempt: Attempt, now: DateTime<Utc>) -> Attempted {
        match attempt {
            Attempt::Delivered { status } => Attempted {
                status: Some(status),
                outcome: Outcome::Delivered,
            },
            Attempt::Gone { status } => Attempted {
                status,
                outcome: Outcome::GaveUp,
            },
            Attempt::Failed { status } => {
                let wait = usize::try_from(attempts_before)
                    .ok()
                    .and_then(|n| self.0.get(n));
                Attempted {
                    status,
                    outcome: match wait {
                        Some(seconds) => Outcome::RetryAt(
                            now + Duration::seconds(
                                i64::try_from(*seconds).unwrap_or(i64::MAX / 2_000),
                            ),
                        ),
                        None => Outcome::GaveUp,
                    },
                }
            }
        }
    }
}

/// How long a claimed delivery stays claimed: longer than any attempt (a webhook's 10 s).
pub const LEASE: Duration = Duration::seconds(30);

/// Events fanned out at once by [`Deliverer::fan_out_pending`].
pub const FAN_OUT_IN_FLIGHT: usize = 16;

/// Runs `work` on each of `items` in its own task, at most `in_flight` at once, until all have
/// ended; the first error (or a task's panic, as an internal error), if any.
async fn bounded<T, F, Fut>(in_flight: usize, items: Vec<T>, work: F) -> Result<(), Error>
where
    T: Send + 'static,
    F: Fn(T) -> Fut,
    Fut: std::future::Future<Output = Result<(), Error>> + Send + 'static,
{
    let places = Arc::new(tokio::sync::Semaphore::new(in_flight.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    for item in items {
        let (places, job) = (places.clone(), work(item));
        tasks.spawn(async move {
            let _place = places.acquire_owned().await;
            job.await
        });
    }
    let mut first = Ok(());
    while let Some(done) = tasks.join_next().await {
        let result = match done {
            Ok(result) => result,
            Err(err) => Err(Error::Internal(format!("a delivery task: {err}"))),
        };
        if first.is_ok() {
            first = result;
        }
    }
    first
}

/// The channels, the store and the backoff: what the drainer and the events function share.
#[derive(Clone)]
pub struct Deliverer {
    pub store: Arc<dyn Store>,
    pub channels: Vec<Arc<dyn Channel>>,
    pub backoff: Backoff,
}

impl Deliverer {
    /// Fans `event` out: each channel's targets, one delivery each (idempotent).
    pub async fn fan_out(&self, event: &BookingEvent, now: DateTime<Utc>) -> Result<usize, Error> {
        let mut targets = Vec::new();
        for channel in &self.channels {
            targets.extend(channel.targets(self.store.as_ref(), event).await?);
        }
        self.store.dispatch_event(event, &targets, now).await?;
        Ok(targets.len())
    }

    /// Fans out up to `limit` events not fanned out yet, [`FAN_OUT_IN_FLIGHT`] at once (each
    /// event's fan-out is its own atomic step, so their order does not matter; on SQLite the
    /// writer commits simultaneous ones together); says how many. The first error is returned
    /// once every fan-out has ended (an event not fanned out stays in the outbox for the next
    /// call).
    pub async fn fan_out_pending(&self, limit: usize, now: DateTime<Utc>) -> Result<usize, Error> {
        let events = self.store.undispatched_events(limit).await?;
        let count = events.len();
        bounded(FAN_OUT_IN_FLIGHT, events, |event| {
            let deliverer = self.clone();
            async move { deliverer.fan_out(&event, now).await.map(|_| ()) }
        })
        .await?;
        Ok(count)
    }

    /// One attempt of a claimed delivery through its channel, recorded. A delivery whose channel
    /// this process does not have is given up.
    pub async fn attempt(
        &self,
        delivery: &Delivery,
        now: impl Fn() -> DateTime<Utc>,
    ) -> Result<Attempted, Error> {
        let channel = self
            .channels
            .iter()
            .find(|c| c.name() == delivery.target.channel);
        let attempt = match channel {
            Some(channel) => channel.deliver(self.store.as_ref(), delivery).await,
            None => Attempt::Gone { status: None },
        };
        let recorded = self.backoff.record(delivery.attempts, attempt, now());
        self.store
            .record_attempt(&delivery.event.id, &delivery.target, &recorded, now())
            .await?;
        Ok(recorded)
    }
}

/// One pass over the outbox, as the `deliver-events` function runs it on each stream batch and
/// each scheduled tick: fans out the events not fanned out yet, then attempts the deliveries that
/// are due, up to `max` of them, `in_flight` at once; says how many it attempted. An error (the
/// store unreachable) is returned, so the stream retries the batch.
pub async fn pass(
    deliverer: &Deliverer,
    max: usize,
    in_flight: usize,
    now: impl Fn() -> DateTime<Utc> + Clone + Send + Sync + 'static,
) -> Result<usize, Error> {
    deliverer.fan_out_pending(100, now()).await?;
    let at = now();
    let claimed = deliverer
        .store
        .claim_deliveries(at, at + LEASE, max)
        .await?;
    let attempted = claimed.len();
    bounded(in_flight, claimed, |delivery| {
        let (deliverer, now) = (deliverer.clone(), now.clone());
        async move { deliverer.attempt(&delivery, now).await.map(|_| ()) }
    })
    .await?;
    Ok(attempted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_waits_the_next_retry_and_after_the_last_gives_up() {
        let backoff = Backoff(vec![5, 30]);
        let now = Utc::now();
        let failed = Attempt::Failed { status: Some(500) };
        assert_eq!(
            backoff.record(0, failed, now).outcome,
            Outcome::RetryAt(now + Duration::seconds(5))
        );
        assert_eq!(
            backoff.record(1, failed, now).outcome,
            Outcome::RetryAt(now + Duration::seconds(30))
        );
        assert_eq!(backoff.record(2, failed, now).outcome, Outcome::GaveUp);
        let gone = Attempt::Gone { status: Some(410) };
        assert_eq!(backoff.record(0, gone, now).outcome, Outcome::GaveUp);
        let done = Attempt::Delivered { status: 204 };
        assert_eq!(backoff.record(3, done, now).outcome, Outcome::Delivered);
    }
}
