//! The per-player caps on DynamoDB at the store: how many requests each capped operation sends
//! (the figures of docs/dynamodb-table.md, "Per-player caps"), counted on the client.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use chrono::{DateTime, Duration, DurationRound, Utc};
use shared::Error;
use shared::domain::{HoldId, HoldStatus, SlotId, UserId};
use shared::store::{IdempotencyKey, NewHold, Store};

use crate::dynamodb_local;

/// Counts the HTTP requests a client sends (every attempt, retries included).
#[derive(Debug)]
struct CountRequests(Arc<AtomicUsize>);

impl Intercept for CountRequests {
    fn name(&self) -> &'static str {
        "CountRequests"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _config: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

fn now() -> DateTime<Utc> {
    let now = Utc::now();
    now.duration_trunc(Duration::milliseconds(1)).unwrap_or(now)
}

/// A hold of `slot` by `u-demo` under a cap of two live holds.
fn capped_hold(slot: &str, now: DateTime<Utc>) -> NewHold {
    let slot_id = SlotId::parse(slot).unwrap();
    NewHold {
        id: HoldId::generate(&slot_id),
        slot_id,
        user_id: UserId::parse("u-demo").unwrap(),
        expires_at: now + Duration::seconds(300),
        verified_user: false,
        players: None,
        max_live_holds: Some(2),
    }
}

#[tokio::test]
async fn capped_holds_and_confirms_send_the_documented_number_of_requests() {
    let counter = Arc::new(AtomicUsize::new(0));
    let config = dynamodb_local::client_config(dynamodb_local::endpoint().await)
        .interceptor(CountRequests(counter.clone()))
        .build();
    let now = now();
    let store = crate::harness::demo_dynamo_store(Client::from_conf(config), now, &[]).await;
    let demo = UserId::parse("u-demo").unwrap();
    macro_rules! requests {
        ($call:expr) => {{
            counter.store(0, Ordering::SeqCst);
            let result = $call.await;
            (result, counter.load(Ordering::SeqCst))
        }};
    }

    let (first, first_hold) = requests!(store.create_hold(&capped_hold("s-1", now), None, now));
    let first = first.unwrap();
    let (_, second_hold) = requests!(store.create_hold(&capped_hold("s-2", now), None, now));
    let (full, at_the_cap) = requests!(store.create_hold(&capped_hold("s-3", now), None, now));
    assert!(
        matches!(
            full,
            Err(Error::HoldLimit {
                retry_after_seconds: 300
            })
        ),
        "{full:?}"
    );
    let key = IdempotencyKey::of(&demo, "k-1", "s-3\nu-demo".into());
    let (full, at_the_cap_with_a_key) =
        requests!(store.create_hold(&capped_hold("s-3", now), Some(&key), now));
    assert!(matches!(full, Err(Error::HoldLimit { .. })), "{full:?}");
    let (confirmed, confirm) = requests!(store.confirm_hold(first.id, &demo, Some(8), now));
    assert_eq!(confirmed.unwrap().status, HoldStatus::Confirmed);
    let (again, confirm_retried) = requests!(store.confirm_hold(first.id, &demo, Some(8), now));
    assert_eq!(again.unwrap().status, HoldStatus::Confirmed);
    // The confirmed hold's place is over, but its hint has not run out: its slot is read.
    let (third, place_of_a_confirmed_hold) =
        requests!(store.create_hold(&capped_hold("s-3", now), None, now));
    third.unwrap();

    let figures = [
        ("create_hold, an empty place", first_hold, 2),
        ("create_hold, the second empty place", second_hold, 2),
        ("create_hold at the cap (429)", at_the_cap, 2),
        (
            "create_hold at the cap with a key (429)",
            at_the_cap_with_a_key,
            3,
        ),
        ("confirm_hold, an empty booking place", confirm, 2),
        ("confirm_hold retried (200)", confirm_retried, 2),
        (
            "create_hold, the place of a confirmed hold",
            place_of_a_confirmed_hold,
            3,
        ),
    ];
    eprintln!("DynamoDB requests per capped call: {figures:?}");
    for (call, requests, expected) in figures {
        assert_eq!(requests, expected, "{call} sent {requests} requests");
    }
}
