//! The drainer: the local server's delivery of the outbox. A loop fans out the events not yet
//! fanned out (several at once: `Deliverer::fan_out_pending`), claims the deliveries that are due
//! (as many as there are free places) and gives each its own task, at most [`IN_FLIGHT`] at once: a failing or hanging endpoint (each attempt
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
/// How often the outbox is looked at when the last look found less than a full batch: the delay
/// between a commit and its first attempt.
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

/// Runs until aborted. A look that came back full — a whole batch of events fanned out, or a
/// delivery claimed for every free place — is followed by the next at once (for deliveries: as
/// soon as a place is free), so a burst is drained at the store's pace, not one batch per
/// [`POLL`]; a look that found less waits [`POLL`], or less when a confirm or a cancellation of
/// this server rings `App::outbox_bell` after its commit (an event written by another process
/// sharing the store waits for the next look).
pub async fn drain(app: App, deliverer: Deliverer) {
    let places = Arc::new(Semaphore::new(IN_FLIGHT));
    loop {
        let fanned = match deliverer
            .fan_out_pending(FAN_OUT_BATCH, app.clock.now())
            .await
        {
            Ok(fanned) => fanned,
            Err(err) => {
                tracing::warn!(%err, "fanning out booking events failed; trying again");
                0
            }
        };
        let free = places.available_permits();
        let mut every_place_taken = free == 0;
        if free > 0 {
            let now = app.clock.now();
            match deliverer
                .store
                .claim_deliveries(now, now + LEASE, free)
                .await
            {
                Ok(claimed) => {
                    every_place_taken = claimed.len() == free;
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
        if fanned == FAN_OUT_BATCH {
            // More events are waiting to be fanned out.
            tokio::task::yield_now().await;
        } else if every_place_taken {
            // More deliveries may be due: look again once a place is free (at most after POLL).
            let _ = tokio::time::timeout(POLL, places.acquire()).await;
        } else {
            // Until POLL has passed or a booking's change rings (its event has committed).
            tokio::select! {
                () = tokio::time::sleep(POLL) => {}
                () = app.outbox_bell.notified() => {}
            }
        }
    }
}
