//! The drainer: the local server's delivery of the outbox. A loop fans out the events not yet
//! fanned out, claims the deliveries that are due (as many as there are free places) and gives
//! each its own task, at most [`IN_FLIGHT`] at once: a failing or hanging endpoint (each attempt
//! is bounded, 10 s for a webhook) holds one place, never the others, and never a booking
//! request, which only wrote its event. The deliveries are rows: a restart (or a `kill -9`)
//! finds the pending ones, and one claimed by the dead process comes back when its lease runs
//! out, with the same event id.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use shared::App;
use shared::delivery::{Backoff, Channel, Deliverer, LEASE};
use tokio::sync::Semaphore;

/// Deliveries attempted at once.
pub const IN_FLIGHT: usize = 32;
/// How often the outbox is looked at: the delay between a commit and its first attempt.
const POLL: StdDuration = StdDuration::from_millis(200);
/// Events fanned out per look.
const FAN_OUT_BATCH: usize = 100;

/// The deliverer of `app`'s store with `channels` and the retries of `retry_seconds`.
pub fn deliverer(app: &App, channels: Vec<Arc<dyn Channel>>, retry_seconds: Vec<u64>) -> Deliverer {
    Deliverer {
        store: app.store.clone(),
        channels,
        backoff: Backoff(retry_seconds),
    }
}

/// Runs until aborted.
pub async fn drain(app: App, deliverer: Deliverer) {
    let places = Arc::new(Semaphore::new(IN_FLIGHT));
    loop {
        if let Err(err) = deliverer
            .fan_out_pending(FAN_OUT_BATCH, app.clock.now())
            .await
        {
            tracing::warn!(%err, "fanning out booking events failed; trying again");
        }
        let free = places.available_permits();
        if free > 0 {
            let now = app.clock.now();
            match deliverer
                .store
                .claim_deliveries(now, now + LEASE, free)
                .await
            {
                Ok(claimed) => {
                    for delivery in claimed {
                        let Ok(place) = places.clone().acquire_owned().await else {
                            return;
                        };
                        let (deliverer, clock) = (deliverer.clone(), app.clock.clone());
                        tokio::spawn(async move {
                            if let Err(err) = deliverer.attempt(&delivery, || clock.now()).await {
                                tracing::warn!(%err, event = %delivery.event.id, "recording a delivery failed");
                            }
                            drop(place);
                        });
                    }
                }
                Err(err) => tracing::warn!(%err, "claiming deliveries failed; trying again"),
            }
        }
        tokio::time::sleep(POLL).await;
    }
}
