//! The per-player caps (`MAX_LIVE_HOLDS_PER_PLAYER`, `MAX_UPCOMING_BOOKINGS_PER_PLAYER`), on
//! both stores through every transport (the table at the bottom): exact under races, a
//! `Retry-After` until the player's earliest live hold expires, places freed by a release, a
//! confirmation, an expiry and a cancellation, never taken twice by an extension or an
//! idempotent replay. Every other scenario runs with the caps off (`harness::seeded`).

use std::sync::Arc;

use lambda_http::http::StatusCode;
use shared::config::Caps;

use crate::harness::{Reply, TTL_SECONDS, TestApp, assert_status};

/// Two live holds, eight upcoming bookings: the defaults.
pub(crate) const DEFAULT_CAPS: Caps = Caps {
    live_holds: Some(2),
    upcoming_bookings: Some(8),
};

/// Live holds uncapped, and room for three upcoming bookings.
pub(crate) const THREE_BOOKINGS: Caps = Caps {
    live_holds: None,
    upcoming_bookings: Some(3),
};

/// One upcoming booking, holds uncapped.
pub(crate) const ONE_BOOKING: Caps = Caps {
    live_holds: None,
    upcoming_bookings: Some(1),
};

fn retry_after(reply: &Reply) -> i64 {
    reply
        .header("retry-after")
        .unwrap_or_else(|| panic!("Retry-After on {reply:?}"))
        .parse()
        .unwrap()
}

/// Sends `n` requests at once (each task waits at one barrier), the `i`-th made by `request`.
async fn all_at_once<F, Fut>(t: &Arc<TestApp>, n: usize, request: F) -> Vec<Reply>
where
    F: Fn(usize, Arc<TestApp>) -> Fut,
    Fut: std::future::Future<Output = Reply> + Send + 'static,
{
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
    replies
}

/// (caps: the defaults) 20 holds by one player on 20 free slots, all sent at once: exactly two
/// are made, the 18 others are 429 `HOLD_LIMIT` with a `Retry-After` within the hold's time.
pub async fn twenty_simultaneous_holds_by_one_player_make_exactly_the_cap(t: TestApp) {
    let t = Arc::new(t);
    let replies = all_at_once(&t, 20, |i, t| async move {
        t.create_hold(&format!("s-{}", i + 1), "u-alice").await
    })
    .await;
    let made = replies
        .iter()
        .filter(|r| r.status == StatusCode::CREATED)
        .count();
    assert_eq!(made, 2, "{replies:#?}");
    for refused in replies.iter().filter(|r| r.status != StatusCode::CREATED) {
        assert_status(refused, 429, Some("HOLD_LIMIT"));
        let wait = retry_after(refused);
        assert!((1..=TTL_SECONDS).contains(&wait), "{refused:?}");
    }
    let mine = t.bookings_of("u-alice").await;
    assert_eq!(mine.body["holds"].as_array().unwrap().len(), 2, "{mine:?}");
}

/// (caps: three bookings) A player with two bookings confirms six holds at once: exactly one
/// is confirmed; the five others are 409 `BOOKING_LIMIT` and stay holds, which can be released.
pub async fn simultaneous_confirms_at_the_booking_limit_have_exactly_one_winner(t: TestApp) {
    t.book("s-1", "u-alice", None).await;
    t.book("s-2", "u-alice", None).await;
    let mut holds = Vec::new();
    for n in 3..=8 {
        holds.push(t.hold(&format!("s-{n}"), "u-alice").await);
    }
    let holds = Arc::new(holds);
    let t = Arc::new(t);
    let replies = all_at_once(&t, holds.len(), |i, t| {
        let holds = holds.clone();
        async move { t.confirm(&holds[i], "u-alice").await }
    })
    .await;
    let confirmed = replies
        .iter()
        .filter(|r| r.status == StatusCode::OK)
        .count();
    assert_eq!(confirmed, 1, "{replies:#?}");
    for (hold, reply) in holds.iter().zip(&replies) {
        if reply.status == StatusCode::OK {
            continue;
        }
        assert_status(reply, 409, Some("BOOKING_LIMIT"));
        let still = t.look_up(hold, "u-alice").await;
        assert_eq!(still.body["status"], "HOLD", "{still:?}");
        assert_status(&t.release(hold, "u-alice").await, 200, None);
    }
}

/// (caps: the defaults) At the cap, `Retry-After` is the whole seconds until the earliest live
/// hold expires; when it has, a hold is made again.
pub async fn the_hold_limit_says_when_the_earliest_live_hold_expires(t: TestApp) {
    t.hold("s-1", "u-alice").await;
    t.advance(100);
    t.hold("s-2", "u-alice").await;
    t.advance(20);
    let refused = t.create_hold("s-3", "u-alice").await;
    assert_status(&refused, 429, Some("HOLD_LIMIT"));
    assert_eq!(retry_after(&refused), TTL_SECONDS - 120, "{refused:?}");
    // Another player is not affected.
    t.hold("s-3", "u-bob").await;
    t.advance(TTL_SECONDS - 120);
    t.hold("s-4", "u-alice").await;
    let refused = t.create_hold("s-5", "u-alice").await;
    assert_status(&refused, 429, Some("HOLD_LIMIT"));
    assert_eq!(retry_after(&refused), 100, "{refused:?}");
}

/// (caps: the defaults) A released hold and a confirmed one take no place.
pub async fn released_and_confirmed_holds_free_their_place(t: TestApp) {
    let first = t.hold("s-1", "u-alice").await;
    let second = t.hold("s-2", "u-alice").await;
    assert_status(
        &t.create_hold("s-3", "u-alice").await,
        429,
        Some("HOLD_LIMIT"),
    );
    assert_status(&t.release(&first, "u-alice").await, 200, None);
    let third = t.hold("s-3", "u-alice").await;
    assert_status(
        &t.create_hold("s-4", "u-alice").await,
        429,
        Some("HOLD_LIMIT"),
    );
    assert_status(&t.confirm(&second, "u-alice").await, 200, None);
    t.hold("s-4", "u-alice").await;
    assert_status(
        &t.create_hold("s-5", "u-alice").await,
        429,
        Some("HOLD_LIMIT"),
    );
    // The released slot again, by the same player, once a place is free.
    assert_status(&t.release(&third, "u-alice").await, 200, None);
    t.hold("s-1", "u-alice").await;
}

/// (caps: the defaults) Expired holds take no place.
pub async fn expired_holds_free_their_place(t: TestApp) {
    t.hold("s-1", "u-alice").await;
    t.hold("s-2", "u-alice").await;
    t.advance(TTL_SECONDS);
    t.hold("s-3", "u-alice").await;
    t.hold("s-4", "u-alice").await;
    assert_status(
        &t.create_hold("s-5", "u-alice").await,
        429,
        Some("HOLD_LIMIT"),
    );
}

/// (caps: the defaults) An extended hold keeps its one place, also after the time it had
/// before its extension; `Retry-After` counts from its new expiry.
pub async fn an_extension_does_not_take_a_second_place(t: TestApp) {
    let first = t.hold("s-1", "u-alice").await;
    t.advance(TTL_SECONDS - 10);
    assert_status(&t.extend(&first, "u-alice").await, 200, None);
    t.hold("s-2", "u-alice").await;
    assert_status(
        &t.create_hold("s-3", "u-alice").await,
        429,
        Some("HOLD_LIMIT"),
    );
    // Past the first hold's original expiry: still live, still its place.
    t.advance(20);
    let refused = t.create_hold("s-3", "u-alice").await;
    assert_status(&refused, 429, Some("HOLD_LIMIT"));
    assert_eq!(retry_after(&refused), TTL_SECONDS - 20, "{refused:?}");
}

/// (caps: the defaults) A replayed `Idempotency-Key` at the cap answers its first hold again:
/// a replay is not a new hold.
pub async fn an_idempotent_replay_at_the_cap_answers_the_first_hold(t: TestApp) {
    let first = t.create_hold_with_key("s-1", "u-alice", "k-1").await;
    assert_status(&first, 201, None);
    t.hold("s-2", "u-alice").await;
    let again = t.create_hold_with_key("s-1", "u-alice", "k-1").await;
    assert_status(&again, 201, None);
    assert_eq!(again.body["hold_id"], first.body["hold_id"], "{again:?}");
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    let new_key = t.create_hold_with_key("s-3", "u-alice", "k-2").await;
    assert_status(&new_key, 429, Some("HOLD_LIMIT"));
}

/// (caps: one booking) Past the booking cap the confirm is 409 and the hold stays a hold; an
/// operator's cancellation (operators are not capped) and a player's own free a place, and a
/// retried confirm of a booking is never refused.
pub async fn a_cancellation_frees_a_booking_place_and_a_retried_confirm_is_not_refused(t: TestApp) {
    let booked = t.book("s-1", "u-alice", None).await;
    assert_status(&t.confirm(&booked, "u-alice").await, 200, None);
    let second = t.hold("s-2", "u-alice").await;
    assert_status(
        &t.confirm(&second, "u-alice").await,
        409,
        Some("BOOKING_LIMIT"),
    );
    assert_eq!(t.look_up(&second, "u-alice").await.body["status"], "HOLD");
    assert_status(&t.operator_cancel(&booked, "Flood").await, 200, None);
    assert_status(&t.confirm(&second, "u-alice").await, 200, None);
    let third = t.hold("s-3", "u-alice").await;
    assert_status(
        &t.confirm(&third, "u-alice").await,
        409,
        Some("BOOKING_LIMIT"),
    );
    assert_status(&t.cancel(&second, "u-alice").await, 200, None);
    assert_status(&t.confirm(&third, "u-alice").await, 200, None);
}

/// Generates, for one transport, one test per scenario and store with the scenario's caps.
macro_rules! capped {
    ($via:ident as $transport:ident: $($scenario:ident with $caps:ident),* ; $($together:ident with $tcaps:ident),* $(,)?) => {
        mod $transport {
            capped!(@store $via, sqlite, Sqlite: $($scenario with $caps),* ; $($together with $tcaps),*);
            capped!(@store $via, dynamodb, Dynamodb: $($scenario with $caps),* ; $($together with $tcaps),*);
        }
    };
    (@store $via:ident, $store:ident, $kind:ident: $($scenario:ident with $caps:ident),* ; $($together:ident with $tcaps:ident),*) => {
        mod $store {
            use crate::harness::{StoreKind, TestApp, Via};
            $(
                #[tokio::test]
                async fn $scenario() {
                    let t = TestApp::start_capped(Via::$via, StoreKind::$kind, crate::contract::caps::$caps).await;
                    crate::contract::caps::$scenario(t).await
                }
            )*
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $together() {
                    let t = TestApp::start_capped(Via::$via, StoreKind::$kind, crate::contract::caps::$tcaps).await;
                    crate::contract::caps::$together(t).await
                }
            )*
        }
    };
}

capped!(Handlers as handlers:
    released_and_confirmed_holds_free_their_place with DEFAULT_CAPS,
    an_idempotent_replay_at_the_cap_answers_the_first_hold with DEFAULT_CAPS,
    a_cancellation_frees_a_booking_place_and_a_retried_confirm_is_not_refused with ONE_BOOKING,
    the_hold_limit_says_when_the_earliest_live_hold_expires with DEFAULT_CAPS,
    expired_holds_free_their_place with DEFAULT_CAPS,
    an_extension_does_not_take_a_second_place with DEFAULT_CAPS;
    twenty_simultaneous_holds_by_one_player_make_exactly_the_cap with DEFAULT_CAPS,
    simultaneous_confirms_at_the_booking_limit_have_exactly_one_winner with THREE_BOOKINGS,
);

capped!(Loopback as loopback:
    released_and_confirmed_holds_free_their_place with DEFAULT_CAPS,
    the_hold_limit_says_when_the_earliest_live_hold_expires with DEFAULT_CAPS,
    an_extension_does_not_take_a_second_place with DEFAULT_CAPS;
    twenty_simultaneous_holds_by_one_player_make_exactly_the_cap with DEFAULT_CAPS,
    simultaneous_confirms_at_the_booking_limit_have_exactly_one_winner with THREE_BOOKINGS,
);

// The function binaries run on the system clock (no scenario that moves it) and each answers
// one request at a time; the simultaneous requests still meet in the store from two binaries'
// worth of processes only in the handlers' and loopback runs.
capped!(Runtime as runtime:
    released_and_confirmed_holds_free_their_place with DEFAULT_CAPS,
    an_idempotent_replay_at_the_cap_answers_the_first_hold with DEFAULT_CAPS,
    a_cancellation_frees_a_booking_place_and_a_retried_confirm_is_not_refused with ONE_BOOKING,
    twenty_simultaneous_holds_by_one_player_make_exactly_the_cap with DEFAULT_CAPS,
    simultaneous_confirms_at_the_booking_limit_have_exactly_one_winner with THREE_BOOKINGS;
);
