//! A property test of the whole hold lifecycle against a small model: random interleavings of
//! create (with and without an `Idempotency-Key`), confirm, release, extend and cancel by three
//! users on two slots, with a controlled clock that passes holds' expiries and a slot's start.
//! Every step runs on both stores, through the handlers, and both must give the model's answer
//! (status and error code); after each case, the listing of each slot must be the model's. The
//! model is written from the rules of `docs/api.md`, not from the code it checks.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, TestRunner};
use serde_json::json;
use shared::App;
use shared::clock::{Clock, ManualClock};

use crate::harness::{Event, Reply, StoreKind, TestApp, seeded};

const TTL_SECONDS: i64 = 60;
const SLOTS: [&str; 2] = ["s-1", "s-2"];
const USERS: [&str; 3] = ["u-demo", "u-alice", "u-bob"];

#[derive(Debug, Clone)]
enum Op {
    Create {
        slot: usize,
        user: usize,
        key: Option<usize>,
    },
    Confirm {
        hold: usize,
        user: usize,
    },
    Release {
        hold: usize,
        user: usize,
    },
    Extend {
        hold: usize,
        user: usize,
    },
    Cancel {
        hold: usize,
        user: usize,
    },
    Advance {
        seconds: i64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let user = 0..USERS.len();
    prop_oneof![
        4 => (0..SLOTS.len(), user.clone(), proptest::option::weighted(0.4, 0..2usize))
            .prop_map(|(slot, user, key)| Op::Create { slot, user, key }),
        3 => (0..8usize, user.clone()).prop_map(|(hold, user)| Op::Confirm { hold, user }),
        2 => (0..8usize, user.clone()).prop_map(|(hold, user)| Op::Release { hold, user }),
        2 => (0..8usize, user.clone()).prop_map(|(hold, user)| Op::Extend { hold, user }),
        2 => (0..8usize, user).prop_map(|(hold, user)| Op::Cancel { hold, user }),
        2 => (1..120i64).prop_map(|seconds| Op::Advance { seconds }),
    ]
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Hold,
    Confirmed,
    Released,
    Cancelled,
}

#[derive(Debug, Clone)]
struct ModelHold {
    slot: usize,
    user: usize,
    state: State,
    expires_at: DateTime<Utc>,
    extended: bool,
}

/// What the contract says the service holds.
struct Model {
    now: DateTime<Utc>,
    starts: [DateTime<Utc>; 2],
    holds: Vec<ModelHold>,
    /// Idempotency keys, each its player's own: (user, key) → the first request's slot and the
    /// hold it made.
    keys: HashMap<(usize, usize), (usize, usize)>,
}

/// The expected answer: a status and, for an error, its code.
type Answer = (u16, Option<&'static str>);

impl Model {
    fn live(&self, h: &ModelHold) -> bool {
        h.state == State::Hold && self.now < h.expires_at
    }

    fn started(&self, slot: usize) -> bool {
        self.starts[slot] <= self.now
    }

    fn booked(&self, slot: usize) -> bool {
        self.holds
            .iter()
            .any(|h| h.slot == slot && h.state == State::Confirmed)
    }

    /// Create: `Some(hold index)` of the hold answered 201.
    fn create(&mut self, slot: usize, user: usize, key: Option<usize>) -> (Answer, Option<usize>) {
        if let Some(key) = key
            && let Some(&(first_slot, hold)) = self.keys.get(&(user, key))
        {
            return if first_slot == slot {
                ((201, None), Some(hold))
            } else {
                ((422, Some("IDEMPOTENCY_KEY_REUSED")), None)
            };
        }
        if self.started(slot) {
            return ((409, Some("SLOT_STARTED")), None);
        }
        if self.booked(slot) || self.holds.iter().any(|h| h.slot == slot && self.live(h)) {
            return ((409, Some("SLOT_UNAVAILABLE")), None);
        }
        self.holds.push(ModelHold {
            slot,
            user,
            state: State::Hold,
            expires_at: self.now + Duration::seconds(TTL_SECONDS),
            extended: false,
        });
        let index = self.holds.len() - 1;
        if let Some(key) = key {
            self.keys.insert((user, key), (slot, index));
        }
        ((201, None), Some(index))
    }

    fn confirm(&mut self, i: usize, user: usize) -> Answer {
        let (now, h) = (self.now, &self.holds[i]);
        if h.user != user {
            return (403, Some("NOT_HOLD_OWNER"));
        }
        match h.state {
            State::Confirmed => (200, None),
            State::Released | State::Cancelled => (410, Some("HOLD_GONE")),
            State::Hold if now >= h.expires_at => (410, Some("HOLD_GONE")),
            State::Hold if self.started(h.slot) => (409, Some("SLOT_STARTED")),
            State::Hold => {
                self.holds[i].state = State::Confirmed;
                (200, None)
            }
        }
    }

    fn release(&mut self, i: usize, user: usize) -> Answer {
        let (now, h) = (self.now, &self.holds[i]);
        if h.user != user {
            return (403, Some("NOT_HOLD_OWNER"));
        }
        match h.state {
            State::Released if now < h.expires_at => (200, None),
            State::Released | State::Cancelled => (410, Some("HOLD_GONE")),
            State::Confirmed => (409, Some("HOLD_CONFIRMED")),
            State::Hold if now >= h.expires_at => (410, Some("HOLD_GONE")),
            State::Hold => {
                self.holds[i].state = State::Released;
                (200, None)
            }
        }
    }

    fn extend(&mut self, i: usize, user: usize) -> Answer {
        let (now, h) = (self.now, &self.holds[i]);
        if h.user != user {
            return (403, Some("NOT_HOLD_OWNER"));
        }
        match h.state {
            State::Confirmed => (409, Some("HOLD_CONFIRMED")),
            State::Released if now < h.expires_at => (409, Some("HOLD_RELEASED")),
            State::Released | State::Cancelled => (410, Some("HOLD_GONE")),
            State::Hold if now >= h.expires_at => (410, Some("HOLD_GONE")),
            State::Hold if h.extended => (409, Some("EXTENSION_USED")),
            State::Hold if self.started(h.slot) => (409, Some("SLOT_STARTED")),
            State::Hold => {
                let h = &mut self.holds[i];
                h.extended = true;
                h.expires_at = now + Duration::seconds(TTL_SECONDS);
                (200, None)
            }
        }
    }

    fn cancel(&mut self, i: usize, user: usize) -> Answer {
        let h = &self.holds[i];
        if h.user != user {
            return (403, Some("NOT_HOLD_OWNER"));
        }
        match h.state {
            State::Cancelled => (200, None),
            State::Hold | State::Released => (409, Some("HOLD_NOT_CONFIRMED")),
            State::Confirmed if self.started(h.slot) => (409, Some("SLOT_STARTED")),
            State::Confirmed => {
                self.holds[i].state = State::Cancelled;
                (200, None)
            }
        }
    }

    /// The slot's status in an anonymous listing.
    fn listed(&self, slot: usize) -> &'static str {
        if self.started(slot) {
            "PAST"
        } else if self.booked(slot) {
            "BOOKED"
        } else if self.holds.iter().any(|h| h.slot == slot && self.live(h)) {
            "HELD_BY_OTHER"
        } else {
            "AVAILABLE"
        }
    }
}

fn answer(reply: &Reply) -> (u16, Option<String>) {
    let status = reply.status.as_u16();
    let code = (status >= 400).then(|| reply.error_code().to_owned());
    (status, code)
}

/// One case: a fresh store of each kind, the same operations on both, each answer compared with
/// the model's.
async fn run_case(ops: &[Op]) -> Result<(), TestCaseError> {
    // The clock starts 4 minutes before s-1 starts (s-2 starts three hours later): a run of
    // operations passes holds' expiries and, often, s-1's start.
    let seeded_at = Utc::now();
    let data = shared::seed::fixture(seeded_at).unwrap();
    let starts = [data.slots[0].start_time, data.slots[1].start_time];
    let clock = ManualClock::starting_at(starts[0] - Duration::minutes(4));
    let mut apps = Vec::new();
    let mut keep = Vec::new();
    for kind in [StoreKind::Sqlite, StoreKind::Dynamodb] {
        let store = seeded(kind, seeded_at, &[]).await;
        let app = App::new(
            store.store.clone(),
            Clock::Manual(clock.clone()),
            Duration::seconds(TTL_SECONDS),
        )
        .with_caps(shared::config::Caps::OFF);
        apps.push((kind, TestApp::in_process(app, clock.clone())));
        keep.push(store);
    }
    let mut model = Model {
        now: clock.now(),
        starts,
        holds: Vec::new(),
        keys: HashMap::new(),
    };
    // The hold ids each store gave to the model's holds, by model index.
    let mut ids: Vec<Vec<String>> = vec![Vec::new(); apps.len()];
    for (step, op) in ops.iter().enumerate() {
        if let Op::Advance { seconds } = op {
            clock.advance(Duration::seconds(*seconds));
            model.now = clock.now();
            continue;
        }
        let pick = |hold: usize| (!model.holds.is_empty()).then(|| hold % model.holds.len());
        let (expected, created) = match *op {
            Op::Create { slot, user, key } => model.create(slot, user, key),
            Op::Confirm { hold, user } => match pick(hold) {
                Some(i) => (model.confirm(i, user), None),
                None => continue,
            },
            Op::Release { hold, user } => match pick(hold) {
                Some(i) => (model.release(i, user), None),
                None => continue,
            },
            Op::Extend { hold, user } => match pick(hold) {
                Some(i) => (model.extend(i, user), None),
                None => continue,
            },
            Op::Cancel { hold, user } => match pick(hold) {
                Some(i) => (model.cancel(i, user), None),
                None => continue,
            },
            Op::Advance { .. } => unreachable!(),
        };
        for (n, (kind, t)) in apps.iter().enumerate() {
            let reply = match *op {
                Op::Create { slot, user, key } => {
                    let event = Event::post(
                        "/holds",
                        json!({ "slot_id": SLOTS[slot], "user_id": USERS[user] }),
                    );
                    let event = match key {
                        Some(key) => event.header("idempotency-key", &format!("key-{key}")),
                        None => event,
                    };
                    t.send(event).await
                }
                Op::Confirm { hold, user }
                | Op::Release { hold, user }
                | Op::Extend { hold, user }
                | Op::Cancel { hold, user } => {
                    let action = match op {
                        Op::Confirm { .. } => "confirm",
                        Op::Release { .. } => "release",
                        Op::Extend { .. } => "extend",
                        _ => "cancel",
                    };
                    let id = &ids[n][hold % ids[n].len()];
                    t.post(
                        &format!("/holds/{id}/{action}"),
                        json!({ "user_id": USERS[user] }),
                    )
                    .await
                }
                Op::Advance { .. } => unreachable!(),
            };
            let got = answer(&reply);
            prop_assert_eq!(
                (got.0, got.1.as_deref()),
                (expected.0, expected.1),
                "step {} {:?} on {:?}: {:?}\nops: {:?}",
                step,
                op,
                kind,
                reply,
                ops
            );
            if let Some(index) = created {
                let id = reply.body["hold_id"].as_str().unwrap().to_owned();
                if index == ids[n].len() {
                    ids[n].push(id);
                } else {
                    // A replayed key answers its first hold.
                    prop_assert_eq!(&ids[n][index], &id, "a replay answers the first hold");
                }
            }
        }
    }
    let from = (starts[0] - Duration::hours(1))
        .to_rfc3339()
        .replace('+', "%2B");
    for (kind, t) in &apps {
        let listed = t
            .get(&format!("/slots?room_id=r-101&from={from}&limit=2"))
            .await;
        for (slot, id) in SLOTS.iter().enumerate() {
            let status = listed.body["slots"]
                .as_array()
                .unwrap()
                .iter()
                .find(|s| s["slot_id"] == *id)
                .map(|s| s["status"].as_str().unwrap().to_owned());
            prop_assert_eq!(
                status.as_deref(),
                Some(model.listed(slot)),
                "{} listed on {:?}\nops: {:?}",
                id,
                kind,
                ops
            );
        }
    }
    Ok(())
}

/// Random interleavings by several users with a controlled clock, on both stores, against the
/// model: never two live holds on a slot, a booking never changes owner, confirm is idempotent,
/// expiry and the time rules hold, and both stores give the model's answer at every step.
#[test]
fn both_stores_give_the_models_answer_to_every_interleaving_of_hold_operations() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut runner = TestRunner::new(ProptestConfig {
        cases: 48,
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    let steps = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    runner
        .run(&proptest::collection::vec(op(), 5..40), |ops| {
            steps.fetch_add(ops.len(), std::sync::atomic::Ordering::Relaxed);
            runtime.block_on(run_case(&ops))
        })
        .unwrap();
    eprintln!(
        "model test: 48 cases, {} operations, each on SQLite and DynamoDB Local",
        steps.load(std::sync::atomic::Ordering::Relaxed)
    );
}
