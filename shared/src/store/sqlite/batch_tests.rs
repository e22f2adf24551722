//! Group commit (`batch.rs`) against running the same writes one by one: the property that a
//! batch's outcome is the queue order's, and the batch's failure paths.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;
use rusqlite::{Connection, Transaction, TransactionBehavior};
use tokio::sync::oneshot;

use super::batch::{self, Job};
use super::{PRAGMAS, SqliteStore, holds};
use crate::domain::{Canceller, HoldId, KeyDigest, Reference, SlotId, UserId};
use crate::error::Error;
use crate::store::{IdempotencyKey, NewBooking, NewHold, Provision};

const SLOTS: usize = 3;
const HOLDS_PER_SLOT: usize = 2;
/// Each user's live holds and upcoming bookings at most (the per-player caps).
const LIVE_HOLDS_CAP: u32 = 2;
const BOOKINGS_CAP: u32 = 1;
const USERS: [&str; 3] = ["u-demo", "u-alice", "u-bob"];

/// The fixture (`seed::fixture`) in a closed database file, made once, and the `now` it was
/// made for.
fn template() -> &'static (PathBuf, DateTime<Utc>) {
    static TEMPLATE: OnceLock<(PathBuf, DateTime<Utc>)> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        let now = Utc::now();
        let path = scratch("template");
        let store = SqliteStore::open(&path).unwrap();
        let data = crate::seed::fixture(now).unwrap();
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(store.load(&data))
            .unwrap();
        drop(store);
        (path, now)
    })
}

/// A fresh path in the temporary directory (no `tempfile` in `shared`'s dependencies).
fn scratch(name: &str) -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    std::env::temp_dir().join(format!("batch-{}-{n}-{name}.db", std::process::id()))
}

/// A copy of the template, opened as the store opens its writer.
fn fresh(name: &str) -> (Connection, PathBuf) {
    let path = scratch(name);
    std::fs::copy(&template().0, &path).unwrap();
    let conn = Connection::open(&path).unwrap();
    conn.execute_batch(PRAGMAS).unwrap();
    (conn, path)
}

fn remove(path: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}

/// Every row of every table, sorted: the database's state, to compare two databases by.
fn state(conn: &Connection) -> Vec<String> {
    let mut tables = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .unwrap();
    let tables: Vec<String> = tables
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut rows = Vec::new();
    for table in tables {
        let mut select = conn.prepare(&format!("SELECT * FROM \"{table}\"")).unwrap();
        let columns = select.column_count();
        let mut found = select.query([]).unwrap();
        while let Some(row) = found.next().unwrap() {
            let values: Vec<String> = (0..columns)
                .map(|i| format!("{:?}", row.get_ref(i).unwrap()))
                .collect();
            rows.push(format!("{table}: {}", values.join(", ")));
        }
    }
    rows.sort();
    rows
}

/// One write of a player's flow on one of a few slots, hold ids and users, so that writes meet:
/// holds race for a slot, confirms and releases find holds made (or refused) earlier.
#[derive(Debug, Clone)]
enum Op {
    Hold {
        at: At,
        keyed: bool,
    },
    Confirm(At),
    Release(At),
    Extend(At),
    Cancel(At),
    /// Makes a hold, then fails: its own write must not stay, nobody else's may go.
    HoldThenFail(At),
}

/// Which slot, which of its hold ids, which user.
#[derive(Debug, Clone, Copy)]
struct At {
    slot: usize,
    hold: usize,
    user: usize,
}

fn at() -> impl Strategy<Value = At> {
    (0..SLOTS, 0..HOLDS_PER_SLOT, 0..USERS.len()).prop_map(|(slot, hold, user)| At {
        slot,
        hold,
        user,
    })
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (at(), any::<bool>()).prop_map(|(at, keyed)| Op::Hold { at, keyed }),
        2 => at().prop_map(Op::Confirm),
        1 => at().prop_map(Op::Release),
        1 => at().prop_map(Op::Extend),
        1 => at().prop_map(Op::Cancel),
        1 => at().prop_map(Op::HoldThenFail),
    ]
}

/// The hold ids the writes use, fixed per case so both runs use the same.
struct Ids {
    slots: Vec<SlotId>,
    holds: Vec<HoldId>,
    users: Vec<UserId>,
}

impl Ids {
    fn new() -> Self {
        let slots: Vec<SlotId> = (1..=SLOTS)
            .map(|n| SlotId::parse(&format!("s-{n}")).unwrap())
            .collect();
        let holds = slots
            .iter()
            .flat_map(|slot| (0..HOLDS_PER_SLOT).map(move |_| HoldId::generate(slot)))
            .collect();
        let users = USERS.iter().map(|u| UserId::parse(u).unwrap()).collect();
        Self {
            slots,
            holds,
            users,
        }
    }

    fn hold(&self, at: At) -> HoldId {
        self.holds[at.slot * HOLDS_PER_SLOT + at.hold]
    }

    fn new_hold(&self, at: At, now: DateTime<Utc>) -> NewHold {
        NewHold {
            id: self.hold(at),
            slot_id: self.slots[at.slot].clone(),
            user_id: self.users[at.user].clone(),
            expires_at: now + Duration::minutes(5),
            verified_user: false,
            players: None,
            // The caps in play: a hold's and a confirm's guard reads what the writes before it
            // in the batch left, so the property covers them too.
            max_live_holds: Some(LIVE_HOLDS_CAP),
        }
    }
}

type Write = Box<dyn FnOnce(&Transaction<'_>) -> Result<String, Error> + Send>;

/// The store's write for `op`, its value shown as text so that all answers compare alike.
fn write_of(op: &Op, ids: &Ids, now: DateTime<Utc>) -> Write {
    let shown = |v: &dyn std::fmt::Debug| format!("{v:?}");
    match op.clone() {
        Op::Hold { at, keyed } => {
            let hold = ids.new_hold(at, now);
            let key = keyed.then(|| IdempotencyKey {
                key: format!("key-{}-{}", at.slot, at.user),
                request: format!("{}", at.slot),
            });
            Box::new(move |tx| Ok(shown(&holds::create(tx, &hold, key.as_ref(), now)?)))
        }
        Op::Confirm(at) => {
            let (id, user) = (ids.hold(at), ids.users[at.user].clone());
            // One reference per hold id, the same in both runs (the states are compared).
            let reference = format!("{:0>10}", at.slot * 100 + at.hold);
            let booking = NewBooking {
                reference: Reference::parse(&reference).unwrap(),
                key: KeyDigest::of(&reference),
                contact: None,
                mail_key: None,
            };
            Box::new(move |tx| {
                Ok(shown(
                    &holds::confirm(tx, id, &user, &booking, Some(BOOKINGS_CAP), now)?.hold,
                ))
            })
        }
        Op::Release(at) => {
            let (id, user) = (ids.hold(at), ids.users[at.user].clone());
            Box::new(move |tx| Ok(shown(&holds::release(tx, id, &user, now)?)))
        }
        Op::Extend(at) => {
            let (id, user) = (ids.hold(at), ids.users[at.user].clone());
            let until = now + Duration::minutes(10);
            Box::new(move |tx| Ok(shown(&holds::extend(tx, id, &user, until, now)?)))
        }
        Op::Cancel(at) => {
            let id = ids.hold(at);
            let by = Canceller::Player {
                user: ids.users[at.user].clone(),
                cutoff: Duration::zero(),
            };
            Box::new(move |tx| Ok(shown(&holds::cancel(tx, id, &by, now)?)))
        }
        Op::HoldThenFail(at) => {
            let hold = ids.new_hold(at, now);
            Box::new(move |tx| {
                holds::create(tx, &hold, None, now)?;
                Err(Error::Internal("a write that fails after writing".into()))
            })
        }
    }
}

/// What each caller was answered, as text.
fn answers(receivers: Vec<oneshot::Receiver<Result<String, Error>>>) -> Vec<String> {
    receivers
        .into_iter()
        .map(|mut r| format!("{:?}", r.try_recv()))
        .collect()
}

fn jobs_of(writes: Vec<Write>) -> (Vec<Job>, Vec<oneshot::Receiver<Result<String, Error>>>) {
    writes.into_iter().map(batch::job).unzip()
}

/// The reference: `write` alone in its own transaction, committed on `Ok`, rolled back on `Err`
/// (the writer before group commit).
fn alone_in_a_transaction(conn: &mut Connection, write: Write) -> Result<String, Error> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let value = write(&tx)?;
    tx.commit()?;
    Ok(value)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// The writes of one batch get the answers they get when each runs alone in queue order,
    /// and leave the same database.
    #[test]
    fn a_batch_answers_and_writes_as_its_writes_one_by_one_in_queue_order(
        ops in proptest::collection::vec(op(), 1..24)
    ) {
        let now = template().1;
        let ids = Ids::new();
        let writes = |ops: &[Op]| ops.iter().map(|op| write_of(op, &ids, now)).collect::<Vec<_>>();

        let (mut batched, batched_path) = fresh("batched");
        let (jobs, receivers) = jobs_of(writes(&ops));
        batch::run(&mut batched, jobs);
        let batch_answers = answers(receivers);

        let (mut alone, alone_path) = fresh("alone");
        let alone_answers: Vec<String> = writes(&ops)
            .into_iter()
            .map(|write| format!("{:?}", Ok::<_, ()>(alone_in_a_transaction(&mut alone, write))))
            .collect();

        prop_assert_eq!(&batch_answers, &alone_answers);
        prop_assert_eq!(state(&batched), state(&alone));
        drop((batched, alone));
        remove(&batched_path);
        remove(&alone_path);
    }
}

/// A hold on `s-1` for `u-demo` with `id`, as a write.
fn hold_on_s1(ids: &Ids, now: DateTime<Utc>) -> Write {
    write_of(
        &Op::Hold {
            at: At {
                slot: 0,
                hold: 0,
                user: 0,
            },
            keyed: false,
        },
        ids,
        now,
    )
}

fn holds_count(conn: &Connection) -> i64 {
    conn.query_row("SELECT count(*) FROM holds", [], |r| r.get(0))
        .unwrap()
}

#[test]
fn a_write_is_guarded_against_the_writes_before_it_in_its_batch() {
    let now = template().1;
    let ids = Ids::new();
    let (mut conn, path) = fresh("guard");
    let second = At {
        slot: 0,
        hold: 1,
        user: 1,
    };
    let writes = vec![
        hold_on_s1(&ids, now),
        write_of(
            &Op::Hold {
                at: second,
                keyed: false,
            },
            &ids,
            now,
        ),
    ];
    let (jobs, receivers) = jobs_of(writes);
    batch::run(&mut conn, jobs);
    let answers = answers(receivers);
    assert!(answers[0].starts_with("Ok(Ok("), "{}", answers[0]);
    assert_eq!(answers[1], "Ok(Err(SlotUnavailable))");
    assert_eq!(holds_count(&conn), 1);
    drop(conn);
    remove(&path);
}

#[test]
fn a_failed_commit_answers_every_write_of_the_batch_503_and_writes_none() {
    let now = template().1;
    let ids = Ids::new();
    let (mut conn, path) = fresh("commit");
    conn.execute_batch(
        "CREATE TABLE parent (id INTEGER PRIMARY KEY);
         CREATE TABLE child (parent INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED);",
    )
    .unwrap();
    // The second write breaks a foreign key checked only at commit: the COMMIT fails.
    let dangling: Write = Box::new(|tx| {
        tx.execute("INSERT INTO child (parent) VALUES (42)", [])?;
        Ok("inserted".into())
    });
    let (jobs, receivers) = jobs_of(vec![hold_on_s1(&ids, now), dangling]);
    batch::run(&mut conn, jobs);
    for answer in answers(receivers) {
        assert!(answer.starts_with("Ok(Err(Unavailable("), "{answer}");
    }
    assert_eq!(holds_count(&conn), 0, "the first write was not committed");
    // The connection is usable again: the next batch commits.
    let (jobs, receivers) = jobs_of(vec![hold_on_s1(&ids, now)]);
    batch::run(&mut conn, jobs);
    assert!(answers(receivers)[0].starts_with("Ok(Ok("));
    assert_eq!(holds_count(&conn), 1);
    drop(conn);
    remove(&path);
}

#[test]
fn a_panicking_write_is_rolled_back_alone_and_its_caller_is_answered() {
    let now = template().1;
    let ids = Ids::new();
    let (mut conn, path) = fresh("panic");
    let panics: Write = Box::new(|tx| {
        tx.execute("UPDATE time_slots SET is_booked = 1", [])?;
        panic!("a write that panics after writing (this panic is the test's)");
    });
    let (jobs, receivers) = jobs_of(vec![panics, hold_on_s1(&ids, now)]);
    batch::run(&mut conn, jobs);
    let answers = answers(receivers);
    // Its channel was dropped with it: the writer answers that as a 503.
    assert_eq!(answers[0], "Err(Closed)");
    assert!(answers[1].starts_with("Ok(Ok("), "{}", answers[1]);
    let booked: i64 = conn
        .query_row(
            "SELECT count(*) FROM time_slots WHERE is_booked = 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(booked, 0, "the panicking write's update was rolled back");
    assert_eq!(holds_count(&conn), 1, "the write after it was committed");
    drop(conn);
    remove(&path);
}

#[test]
fn a_write_whose_caller_has_gone_is_skipped() {
    let now = template().1;
    let ids = Ids::new();
    let (mut conn, path) = fresh("gone");
    let (jobs, receivers) = jobs_of(vec![hold_on_s1(&ids, now)]);
    drop(receivers);
    batch::run(&mut conn, jobs);
    assert_eq!(holds_count(&conn), 0);
    drop(conn);
    remove(&path);
}

/// The writer's `PRAGMA synchronous` as a write sees it: 1 is NORMAL, 2 is FULL.
fn writer_synchronous(store: &SqliteStore) -> i64 {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(store.write(|tx| Ok(tx.pragma_query_value(None, "synchronous", |r| r.get(0))?)))
        .unwrap()
}

#[test]
fn a_store_opened_with_the_defaults_syncs_the_log_at_every_commit_and_normal_is_chosen_explicitly()
{
    let path = scratch("durable");
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(writer_synchronous(&store), 2, "FULL by default");
    drop(store);
    let store = SqliteStore::open_with(&path, crate::config::Durability::Normal).unwrap();
    assert_eq!(writer_synchronous(&store), 1, "NORMAL when chosen");
    drop(store);
    remove(&path);
}
