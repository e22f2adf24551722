//! Simultaneous requests on one hold or one key. Each scenario sends its requests from tasks that
//! wait at one barrier and go together, and runs on a multi-threaded runtime (the `simultaneous`
//! group of the table in `mod.rs`), so the store sees them at the same time from several threads:
//! on SQLite they queue on its write lock, on DynamoDB they meet at its conditional writes. On a
//! single-threaded runtime the in-process SQLite store would answer them one after another.

use std::future::Future;
use std::sync::Arc;

use lambda_http::http::StatusCode;

use crate::harness::{Reply, TestApp, assert_status};

/// Sends `n` requests at once, the `i`-th made by `request(i, t)`: each task waits at a barrier of
/// `n`, so none is sent before every task is ready. Returns the answers in task order.
async fn simultaneously<F, Fut>(t: TestApp, n: usize, request: F) -> (Arc<TestApp>, Vec<Reply>)
where
    F: Fn(usize, Arc<TestApp>) -> Fut,
    Fut: Future<Output = Reply> + Send + 'static,
{
    let t = Arc::new(t);
    let barrier = Arc::new(tokio::sync::Barrier::new(n));
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let (barrier, sent) = (barrier.clone(), request(i, t.clone()));
            tokio::spawn(async move {
                barrier.wait().await;
                sent.await
            })
        })
        .collect();
    let mut replies = Vec::with_capacity(n);
    for task in tasks {
        replies.push(task.await.unwrap());
    }
    (t, replies)
}

fn count(replies: &[Reply], status: StatusCode) -> usize {
    replies.iter().filter(|r| r.status == status).count()
}

pub async fn six_simultaneous_extensions_have_exactly_one_winner(t: TestApp) {
    let hold_id = t.hold("s-1", "u-alice").await;
    let (t, replies) = simultaneously(t, 6, |_, t| {
        let hold_id = hold_id.clone();
        async move { t.extend(&hold_id, "u-alice").await }
    })
    .await;
    for reply in replies.iter().filter(|r| r.status != StatusCode::OK) {
        assert_status(reply, 409, Some("EXTENSION_USED"));
    }
    assert_eq!(count(&replies, StatusCode::OK), 1, "{replies:?}");
    let looked_up = t.look_up(&hold_id, "u-alice").await;
    assert_eq!(looked_up.body["extended"], true, "{looked_up:?}");
}

pub async fn ten_simultaneous_duplicates_make_one_hold(t: TestApp) {
    let (t, replies) = simultaneously(t, 10, |_, t| async move {
        t.create_hold_with_key("s-1", "u-alice", "key-10").await
    })
    .await;
    let mut holds = std::collections::BTreeSet::new();
    for reply in &replies {
        match reply.status.as_u16() {
            201 => {
                holds.insert(reply.body["hold_id"].as_str().unwrap().to_owned());
            }
            // The first request was still being written: the client retries later.
            _ => assert_status(reply, 409, Some("IDEMPOTENCY_KEY_IN_USE")),
        }
    }
    assert_eq!(holds.len(), 1, "{replies:?}");
    let mine = t.bookings_of("u-alice").await;
    assert_eq!(mine.body["holds"].as_array().unwrap().len(), 1, "{mine:?}");
}

pub async fn a_confirm_and_a_release_sent_together_have_one_winner_and_the_slot_shows_it(
    t: TestApp,
) {
    let hold_id = t.hold("s-1", "u-alice").await;
    let (t, replies) = simultaneously(t, 2, |i, t| {
        let hold_id = hold_id.clone();
        async move {
            if i == 0 {
                t.confirm(&hold_id, "u-alice").await
            } else {
                t.release(&hold_id, "u-alice").await
            }
        }
    })
    .await;
    assert_eq!(count(&replies, StatusCode::OK), 1, "{replies:?}");
    let confirmed = replies.iter().any(|r| r.body["status"] == "CONFIRMED");
    let released = replies.iter().any(|r| r.body["status"] == "RELEASED");
    assert!(confirmed != released, "{replies:?}");
    // The loser was told why: a release after the confirm is 409, a confirm after the release 410.
    let loser = replies.iter().find(|r| r.status != StatusCode::OK).unwrap();
    if confirmed {
        assert_status(loser, 409, Some("HOLD_CONFIRMED"));
        assert_eq!(t.status_of("r-101", "s-1", None).await, "BOOKED");
    } else {
        assert_status(loser, 410, Some("HOLD_GONE"));
        assert_eq!(t.status_of("r-101", "s-1", None).await, "AVAILABLE");
    }
}
