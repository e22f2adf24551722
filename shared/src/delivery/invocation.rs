//! One invocation of the `deliver-events` function on AWS (feature `dynamodb`): what it was
//! woken by, and the delivery pass it runs — [`super::pass`], the same fan-out and attempts as
//! the local server's drainer.
//!
//! Two things wake it:
//! - **a batch of the table's stream** (Lambda's DynamoDB stream event, `{"Records": [...]}`),
//!   filtered by the event source mapping to the inserts of booking event items (`EVENT#<id>` /
//!   `EVENT`): each record's event is read (one consistent `GetItem`) and fanned out, then the due
//!   deliveries are attempted. A record whose fan-out fails is reported as the batch's first
//!   failure (`batchItemFailures`, Lambda's `ReportBatchItemFailures`): the stream retries from
//!   it. The fan-out is idempotent, so a retried record adds nothing twice.
//! - **the minute's tick** (an EventBridge schedule, or any other event): the events not fanned
//!   out yet (the `OUTBOX` partition: a wake-up that never came or failed for good) and the
//!   deliveries whose retry time has come (`WEBHOOK_RETRY_SECONDS`).
//!
//! A pass claims at most [`IN_FLIGHT`] deliveries and attempts them all at once, so none waits
//! for a place past its lease; a full pass is followed by another while the invocation has time
//! left ([`ROUND_NEEDS`]). The deliveries a batch just fanned out are found through the `DUE`
//! index, which is eventually consistent: when fewer were attempted than were fanned out, the pass
//! is run again a few times, [`SETTLE_WAIT`] apart, before the tick is left to find them.

use std::time::{Duration as StdDuration, SystemTime};

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::{Deliverer, pass};
use crate::error::Error;
use crate::events::EventId;
use crate::store::dynamo::{PK, SK, event_id_of_keys};

/// Deliveries claimed by one pass, all attempted at once.
pub const IN_FLIGHT: usize = 32;
/// Another pass starts only with this much of the invocation left: a pass takes at most one
/// attempt's bound (10 s for a webhook or an email) and the store's requests.
pub const ROUND_NEEDS: StdDuration = StdDuration::from_secs(20);
/// How many more passes look for a batch's fresh deliveries in the `DUE` index, and how far apart.
const SETTLE_PASSES: u32 = 4;
pub const SETTLE_WAIT: StdDuration = StdDuration::from_millis(250);

/// What woke the function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wake {
    /// A batch of stream records, in order.
    Stream(Vec<Record>),
    /// The schedule (or anything that is not a stream batch).
    Tick,
}

/// One stream record: its sequence number (what a failure report names) and the booking event
/// it inserted (none for another item or another change; the filter lets none through).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub sequence_number: String,
    pub event: Option<EventId>,
}

/// What `payload` is: a stream batch when it carries `Records`, a tick otherwise.
pub fn wake_of(payload: &Value) -> Wake {
    let Some(records) = payload.get("Records").and_then(Value::as_array) else {
        return Wake::Tick;
    };
    Wake::Stream(
        records
            .iter()
            .map(|record| {
                let data = &record["dynamodb"];
                let key = |name: &str| data["Keys"][name]["S"].as_str();
                let inserted = record["eventName"].as_str() == Some("INSERT");
                Record {
                    sequence_number: data["SequenceNumber"].as_str().unwrap_or_default().into(),
                    event: match (key(PK), key(SK)) {
                        (Some(pk), Some(sk)) if inserted => event_id_of_keys(pk, sk),
                        _ => None,
                    },
                }
            })
            .collect(),
    )
}

/// Runs the invocation woken by `payload`, until `deadline` at the latest. A stream batch answers
/// Lambda's partial batch response (`{"batchItemFailures": [...]}`); a tick answers how many
/// deliveries it attempted. An error (the store unreachable after the fan-out) fails the
/// invocation: a stream batch is retried (bisected), a tick is redone by the next.
pub async fn invoke(
    deliverer: &Deliverer,
    payload: &Value,
    deadline: SystemTime,
    now: impl Fn() -> DateTime<Utc> + Clone + Send + Sync + 'static,
) -> Result<Value, Error> {
    let answer = run(deliverer, payload, deadline, now).await;
    if let Err(err) = &answer {
        tracing::error!(error = ?err, "the delivery pass failed; retried by the stream or the next tick");
    }
    answer
}

async fn run(
    deliverer: &Deliverer,
    payload: &Value,
    deadline: SystemTime,
    now: impl Fn() -> DateTime<Utc> + Clone + Send + Sync + 'static,
) -> Result<Value, Error> {
    match wake_of(payload) {
        Wake::Tick => {
            let attempted = passes(deliverer, 0, deadline, now).await?;
            tracing::info!(attempted, "tick: deliveries attempted");
            Ok(json!({ "attempted": attempted }))
        }
        Wake::Stream(records) => {
            let mut fanned_out = 0;
            for record in &records {
                let Some(id) = &record.event else { continue };
                match fan_out(deliverer, id, now()).await {
                    Ok(targets) => fanned_out += targets,
                    Err(err) => {
                        tracing::error!(%err, event = %id, "fanning out a booking event failed; the stream retries from its record");
                        return Ok(json!({ "batchItemFailures": [
                            { "itemIdentifier": record.sequence_number }
                        ] }));
                    }
                }
            }
            let attempted = passes(deliverer, fanned_out, deadline, now).await?;
            tracing::info!(
                records = records.len(),
                fanned_out,
                attempted,
                "stream batch: events fanned out, deliveries attempted"
            );
            Ok(json!({ "batchItemFailures": [] }))
        }
    }
}

/// Fans out the event `id` (read consistently); an event erased since (retention) has none.
async fn fan_out(deliverer: &Deliverer, id: &EventId, now: DateTime<Utc>) -> Result<usize, Error> {
    match deliverer.store.event(id).await? {
        Some(event) => deliverer.fan_out(&event, now).await,
        None => Ok(0),
    }
}

/// Passes while each is full and time is left, and while fewer than `expected` deliveries (a
/// batch's fresh ones) were attempted, a few times; how many were attempted in all.
async fn passes(
    deliverer: &Deliverer,
    expected: usize,
    deadline: SystemTime,
    now: impl Fn() -> DateTime<Utc> + Clone + Send + Sync + 'static,
) -> Result<usize, Error> {
    let mut attempted = 0;
    let mut settle = 0;
    loop {
        let this = pass(deliverer, IN_FLIGHT, IN_FLIGHT, now.clone()).await?;
        attempted += this;
        let full = this == IN_FLIGHT;
        let unsettled = attempted < expected && settle < SETTLE_PASSES;
        let left = deadline
            .duration_since(SystemTime::now())
            .unwrap_or_default();
        if !(full || unsettled) || left < ROUND_NEEDS {
            return Ok(attempted);
        }
        if !full {
            settle += 1;
            tokio::time::sleep(SETTLE_WAIT).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_batch_names_the_events_it_inserted_and_anything_else_is_a_tick() {
        let record = |name: &str, pk: &str, sk: &str, seq: &str| {
            json!({
                "eventID": "1", "eventName": name, "eventSource": "aws:dynamodb",
                "dynamodb": { "Keys": { "pk": { "S": pk }, "sk": { "S": sk } },
                              "SequenceNumber": seq, "StreamViewType": "NEW_AND_OLD_IMAGES" }
            })
        };
        let batch = json!({ "Records": [
            record("INSERT", "EVENT#evt_abc", "EVENT", "100"),
            record("INSERT", "EVENT#evt_abc", "DELIVERY#webhook#wh_1", "101"),
            record("MODIFY", "EVENT#evt_abc", "EVENT", "102"),
            record("INSERT", "SLOT#r-1#2026", "SLOT", "103"),
        ] });
        let Wake::Stream(records) = wake_of(&batch) else {
            panic!("a stream batch")
        };
        let events: Vec<_> = records
            .iter()
            .map(|r| {
                (
                    r.sequence_number.as_str(),
                    r.event.as_ref().map(EventId::as_str),
                )
            })
            .collect();
        assert_eq!(
            events,
            [
                ("100", Some("evt_abc")),
                ("101", None),
                ("102", None),
                ("103", None)
            ]
        );
        let tick =
            json!({ "source": "aws.events", "detail-type": "Scheduled Event", "detail": {} });
        assert_eq!(wake_of(&tick), Wake::Tick);
    }
}
