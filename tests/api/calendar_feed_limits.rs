//! The staff calendar feed's bounds are settings: `CALENDAR_FEED_MAX_EVENTS` keeps the earliest
//! bookings, `CALENDAR_FEED_DAYS` how far ahead the feed reaches; both stores, the handlers in
//! process (the bounds are the handler's; every transport serves the same handler).

use chrono::Duration;
use shared::App;
use shared::clock::{Clock, ManualClock};
use shared::config::{BookingSettings, Caps};

use crate::contract::calendar_feed::{feed_url, lines};
use crate::harness::{
    StoreKind, TTL_SECONDS, TestApp, assert_status, seeded, start_time, test_operators,
};

async fn app_with(kind: StoreKind, settings: BookingSettings) -> TestApp {
    let clock = ManualClock::starting_at(start_time());
    let seeded = seeded(kind, clock.now(), &[]).await;
    let app = App::new(
        seeded.store.clone(),
        Clock::Manual(clock.clone()),
        Duration::seconds(TTL_SECONDS),
    )
    .with_caps(Caps::OFF)
    .with_operators(test_operators())
    .with_bookings(settings);
    TestApp::in_process(app, clock).keeping(seeded)
}

/// Books each of `slots` for u-alice.
async fn book_all(t: &TestApp, slots: &[&str]) -> Vec<String> {
    let mut references = Vec::new();
    for slot in slots {
        let hold = t.hold(slot, "u-alice").await;
        let confirmed = t.confirm(&hold, "u-alice").await;
        assert_status(&confirmed, 200, None);
        references.push(confirmed.body["reference"].as_str().unwrap().to_owned());
    }
    references
}

fn events(t: &crate::harness::Reply) -> usize {
    lines(t).iter().filter(|l| *l == "BEGIN:VEVENT").count()
}

async fn the_feed_keeps_the_earliest_bookings_up_to_its_event_limit(kind: StoreKind) {
    let settings = BookingSettings {
        feed_max_events: Some(2),
        ..BookingSettings::default()
    };
    let t = app_with(kind, settings).await;
    // s-1 … s-4 are r-101's first four games, in start order.
    let references = book_all(&t, &["s-3", "s-1", "s-4", "s-2"]).await;
    let feed = t.get(&feed_url(&t, "r-101").await).await;
    assert_status(&feed, 200, None);
    assert_eq!(events(&feed), 2);
    let text = feed.body.as_str().unwrap();
    // The earliest two: s-1 and s-2 (booked second and fourth).
    assert!(text.contains(&format!("UID:{}@", references[1])), "{text}");
    assert!(text.contains(&format!("UID:{}@", references[3])), "{text}");
}

async fn the_feed_reaches_as_many_days_ahead_as_its_setting(kind: StoreKind) {
    let unbounded = BookingSettings {
        feed_max_events: None,
        ..BookingSettings::default()
    };
    let t = app_with(kind, unbounded).await;
    // The fixture's games run over the four days from the midnight after now: one on the first
    // day (s-1) and one on the fourth (s-16).
    book_all(&t, &["s-1", "s-16"]).await;
    let feed = t.get(&feed_url(&t, "r-101").await).await;
    assert_eq!(events(&feed), 2, "{:?}", feed.body);

    let short = BookingSettings {
        feed_days: 2,
        feed_max_events: None,
        ..BookingSettings::default()
    };
    let t = app_with(kind, short).await;
    book_all(&t, &["s-1", "s-16"]).await;
    let feed = t.get(&feed_url(&t, "r-101").await).await;
    assert_eq!(
        events(&feed),
        1,
        "only the game within two days: {:?}",
        feed.body
    );
}

macro_rules! on_both_stores {
    ($($scenario:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test]
            async fn $scenario() {
                super::$scenario(crate::harness::StoreKind::Sqlite).await;
            })*
        }
        mod dynamodb {
            $(#[tokio::test]
            async fn $scenario() {
                super::$scenario(crate::harness::StoreKind::Dynamodb).await;
            })*
        }
    };
}

on_both_stores!(
    the_feed_keeps_the_earliest_bookings_up_to_its_event_limit,
    the_feed_reaches_as_many_days_ahead_as_its_setting,
);
