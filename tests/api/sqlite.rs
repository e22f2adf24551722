//! What only the SQLite store does: its writer runs on a thread of its own
//! (`shared/src/store/sqlite/writer.rs`), so a write that waits, here for the database's write
//! lock that another connection holds, stalls neither the async worker it was sent from nor the
//! reads beside it; and the daily job removes the `Idempotency-Key`s past their window (DynamoDB's
//! TTL does that by itself).

use std::sync::Arc;
use std::time::{Duration, Instant};

use shared::App;
use shared::clock::{Clock, ManualClock};

use crate::harness::{StoreKind, TestApp, assert_status, seeded, start_time};

/// On a runtime with a single worker thread, a hold is sent while another connection holds the
/// database's write lock (so the writer waits on SQLite's busy timeout); listings and look-ups on
/// that same worker are answered at once meanwhile, and the hold is made once the lock is let go.
/// Under the old writer (a mutex and the write on the async worker) the listing waited for the
/// write.
#[tokio::test(flavor = "current_thread")]
async fn a_write_waiting_for_the_database_lock_stalls_no_read_on_the_same_worker() {
    let seeded = seeded(StoreKind::Sqlite, chrono::Utc::now(), &[]).await;
    let path = seeded.env[0].1.clone();
    let t = Arc::new(TestApp::with_store(seeded.store.clone()));
    let slot = t.slots("r-101", None).await[0]["slot_id"]
        .as_str()
        .unwrap()
        .to_owned();

    let blocker = rusqlite::Connection::open(&path).unwrap();
    blocker.execute_batch("BEGIN IMMEDIATE").unwrap();
    let hold = tokio::spawn({
        let (t, slot) = (t.clone(), slot.clone());
        async move { t.create_hold(&slot, "u-demo").await }
    });
    // The hold's task runs now and hands its write to the writer, which waits for the lock.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!hold.is_finished(), "the hold waits for the write lock");

    let reading = Instant::now();
    let listing = t.list("r-101", None).await;
    let bookings = t.bookings_of("u-demo").await;
    let read_in = reading.elapsed();
    assert_status(&listing, 200, None);
    assert_status(&bookings, 200, None);
    assert!(
        read_in < Duration::from_secs(1),
        "the reads were answered while the write waited: {read_in:?}"
    );
    assert!(
        !hold.is_finished(),
        "the hold still waits for the write lock"
    );

    blocker.execute_batch("ROLLBACK").unwrap();
    let held = hold.await.unwrap();
    assert_status(&held, 201, None);
}

/// Keys live 24 hours: the daily run removes those made before then and keeps the younger ones
/// (which still replay their hold).
#[tokio::test]
async fn the_daily_run_removes_the_idempotency_keys_older_than_a_day_and_keeps_the_rest() {
    let seeded = seeded(StoreKind::Sqlite, start_time(), &[]).await;
    let path = seeded.env[0].1.clone();
    let clock = ManualClock::starting_at(start_time());
    let app = App::new(
        seeded.store.clone(),
        Clock::Manual(clock.clone()),
        chrono::Duration::seconds(300),
    )
    .with_caps(shared::config::Caps::OFF);
    let t = TestApp::in_process(app.clone(), clock.clone());
    let keys = || -> i64 {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.query_row("SELECT COUNT(*) FROM idempotency_keys", [], |r| r.get(0))
            .unwrap()
    };
    assert_status(
        &t.create_hold_with_key("s-1", "u-alice", "old").await,
        201,
        None,
    );
    t.advance(12 * 3600);
    let young = t.create_hold_with_key("s-2", "u-alice", "young").await;
    assert_status(&young, 201, None);
    t.advance(13 * 3600);
    shared::horizon::extend_horizons(app.store.as_ref(), app.clock.now())
        .await
        .unwrap();
    assert_eq!(
        keys(),
        1,
        "the 25-hour-old key is gone, the 13-hour-old one kept"
    );
    let replayed = t.create_hold_with_key("s-2", "u-alice", "young").await;
    assert_eq!(replayed.header("idempotent-replayed"), Some("true"));
    assert_eq!(replayed.body, young.body);
}
