//! The SQLite writer runs on a thread of its own (`shared/src/store/sqlite/writer.rs`): a write
//! that waits, here for the database's write lock that another connection holds, stalls neither
//! the async worker it was sent from nor the reads beside it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::harness::{StoreKind, TestApp, assert_status, seeded};

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
