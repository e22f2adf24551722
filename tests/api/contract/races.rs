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

/// How many holds each race runs on at once: every one must come out of it right, and more
/// requests at one instant make the threads meet more often inside the store.
const HOLDS: usize = 4;

/// `u-alice` holds `s-1` … `s-{HOLDS}`; returns the hold ids.
async fn alices_holds(t: &TestApp) -> Vec<String> {
    let mut holds = Vec::with_capacity(HOLDS);
    for n in 1..=HOLDS {
        holds.push(t.hold(&format!("s-{n}"), "u-alice").await);
    }
    holds
}

/// Six extensions of each hold, all sent at once.
pub async fn six_simultaneous_extensions_have_exactly_one_winner(t: TestApp) {
    let holds = Arc::new(alices_holds(&t).await);
    let (t, replies) = simultaneously(t, 6 * HOLDS, |i, t| {
        let holds = holds.clone();
        async move { t.extend(&holds[i % HOLDS], "u-alice").await }
    })
    .await;
    for (n, hold_id) in holds.iter().enumerate() {
        let its: Vec<&Reply> = replies.iter().skip(n).step_by(HOLDS).collect();
        for reply in its.iter().filter(|r| r.status != StatusCode::OK) {
            assert_status(reply, 409, Some("EXTENSION_USED"));
        }
        let winners = its.iter().filter(|r| r.status == StatusCode::OK).count();
        assert_eq!(winners, 1, "{hold_id}: {its:?}");
        let looked_up = t.look_up(hold_id, "u-alice").await;
        assert_eq!(looked_up.body["extended"], true, "{looked_up:?}");
    }
}

/// Ten requests with one `Idempotency-Key` for each of several games, all sent at once.
pub async fn ten_simultaneous_duplicates_make_one_hold(t: TestApp) {
    let (t, replies) = simultaneously(t, 10 * HOLDS, |i, t| async move {
        let n = i % HOLDS + 1;
        t.create_hold_with_key(&format!("s-{n}"), "u-alice", &format!("key-{n}"))
            .await
    })
    .await;
    for n in 0..HOLDS {
        let mut holds = std::collections::BTreeSet::new();
        let its: Vec<&Reply> = replies.iter().skip(n).step_by(HOLDS).collect();
        for reply in &its {
            match reply.status.as_u16() {
                201 => {
                    holds.insert(reply.body["hold_id"].as_str().unwrap().to_owned());
                }
                // The first request was still being written: the client retries later.
                _ => assert_status(reply, 409, Some("IDEMPOTENCY_KEY_IN_USE")),
            }
        }
        assert_eq!(holds.len(), 1, "key-{}: {its:?}", n + 1);
    }
    let mine = t.bookings_of("u-alice").await;
    assert_eq!(
        mine.body["holds"].as_array().unwrap().len(),
        HOLDS,
        "{mine:?}"
    );
}

/// A confirm and a release of each hold, all sent at once.
pub async fn a_confirm_and_a_release_sent_together_have_one_winner_and_the_slot_shows_it(
    t: TestApp,
) {
    let holds = Arc::new(alices_holds(&t).await);
    let (t, replies) = simultaneously(t, 2 * HOLDS, |i, t| {
        let hold_id = holds[i / 2].clone();
        async move {
            if i % 2 == 0 {
                t.confirm(&hold_id, "u-alice").await
            } else {
                t.release(&hold_id, "u-alice").await
            }
        }
    })
    .await;
    for (n, pair) in replies.chunks(2).enumerate() {
        let slot = format!("s-{}", n + 1);
        assert_eq!(count(pair, StatusCode::OK), 1, "{slot}: {pair:?}");
        let confirmed = pair[0].status == StatusCode::OK;
        // The loser was told why: a release after the confirm is 409, a confirm after the
        // release 410; the slot shows the winner.
        if confirmed {
            assert_status(&pair[1], 409, Some("HOLD_CONFIRMED"));
            assert_eq!(t.status_of("r-101", &slot, None).await, "BOOKED");
        } else {
            assert_status(&pair[0], 410, Some("HOLD_GONE"));
            assert_eq!(t.status_of("r-101", &slot, None).await, "AVAILABLE");
        }
    }
}
