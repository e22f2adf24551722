//! A publication on DynamoDB is many writes (the schedule, then one conditional write per slot):
//! stopped in the middle, it answers 503 `SCHEDULE_INCOMPLETE` (the schedule is saved, the slots
//! not all made), and the daily horizon run completes it: every planned slot there once, the held
//! and booked slots kept with their holds.

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{Duration, DurationRound, Utc};
use serde_json::{Value, json};
use shared::App;
use shared::clock::{Clock, ManualClock};
use shared::config::Operators;
use shared::domain::RoomId;
use shared::horizon;
use shared::store::{Provision, SlotWindow, Store};

use crate::harness::{OPERATOR_TOKEN, TestApp, assert_status, poll_until};
use crate::processes::PrivateDynamo;

/// Every half hour but 10:00 (47 games a day of 20 minutes), the Berlin room bookable 10 days
/// ahead: about 480 slots, more than DynamoDB Local writes before it is stopped (kept small: the
/// JVM restarted afterwards is slow, and the daily run must write the rest).
fn every_half_hour_but_ten() -> Value {
    let starts: Vec<String> = (0..48)
        .map(|i| format!("{:02}:{:02}", i / 2, (i % 2) * 30))
        .filter(|start| start != "10:00")
        .collect();
    json!({ "weekly": [{ "days": ["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"], "starts": starts }] })
}

/// How many of the room's slots from `now` exist, counted up to 1,000.
async fn slots_now(store: &dyn Store, room: &RoomId, now: chrono::DateTime<Utc>) -> usize {
    let window = SlotWindow {
        from: now,
        to: None,
        after: None,
        limit: 1_000,
    };
    store
        .list_slots(room, &window, now)
        .await
        .map_or(0, |page| page.len())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_publication_interrupted_by_dynamodb_stopping_says_so_and_the_daily_run_completes_it() {
    let started = std::time::Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let (dynamo, port) = PrivateDynamo::start_on_free_port(dir.path()).await;
    let endpoint = format!("http://127.0.0.1:{port}");
    let client = aws_sdk_dynamodb::Client::from_conf(
        crate::dynamodb_local::client_config(&endpoint).build(),
    );
    let table = crate::dynamodb_local::fresh_table(&client).await;
    let store = Arc::new(shared::store::dynamo::DynamoStore::new(client, table));
    let now = Utc::now().duration_trunc(Duration::seconds(1)).unwrap();
    let fixture = shared::seed::fixture(now).unwrap();
    poll_until(
        "the fixture loaded",
        StdDuration::from_secs(60),
        StdDuration::from_millis(100),
        || async { store.load(&fixture).await.ok() },
    )
    .await;
    let clock = ManualClock::starting_at(now);
    let operators = Operators::default()
        .with_token("desk", OPERATOR_TOKEN)
        .unwrap();
    let app = App::new(
        store.clone(),
        Clock::Manual(clock.clone()),
        Duration::seconds(300),
    )
    .with_caps(shared::config::Caps::OFF)
    .with_operators(operators);
    let t = Arc::new(TestApp::in_process(app, clock));

    // The room plays daily at 10:00; one game is held, another booked.
    let room = json!({
        "name": "The Long Year", "time_zone": "Europe/Berlin", "min_players": 1,
        "max_players": 4, "duration_minutes": 20, "max_advance_days": 10
    });
    // A JVM just started can be slow to answer at first: each sent again until it is done, as
    // an operator does after a 503 (both are idempotent).
    poll_until(
        "the room and its first schedule saved",
        StdDuration::from_secs(60),
        StdDuration::from_millis(100),
        || async {
            let room = t.put_room("r-year", room.clone()).await;
            let first = t.put_schedule("r-year", crate::contract::daily(&["10:00"]));
            (room.status.is_success() && first.await.status == 200).then_some(())
        },
    )
    .await;
    let tens = crate::contract::slot_ids(&t, "r-year").await;
    let held = t.hold(&tens[1], "u-demo").await;
    let booked = t.hold(&tens[2], "u-alice").await;
    assert_status(&t.confirm(&booked, "u-alice").await, 200, None);

    // The new schedule is published; DynamoDB Local stops while its slots are being written.
    let id = RoomId::parse("r-year").unwrap();
    let publishing = tokio::spawn({
        let t = t.clone();
        async move { t.put_schedule("r-year", every_half_hour_but_ten()).await }
    });
    // (On a busy machine DynamoDB Local can time a write out before: the publication is then
    // interrupted by that, and answers the same.)
    poll_until(
        "some of the new slots written",
        StdDuration::from_secs(60),
        StdDuration::from_millis(10),
        || async {
            let written = slots_now(store.as_ref(), &id, now).await;
            (publishing.is_finished() || written > 120).then_some(())
        },
    )
    .await;
    eprintln!("{:?}: stopping DynamoDB Local", started.elapsed());
    dynamo.stop().await;
    let answer = publishing.await.unwrap();
    eprintln!("{:?}: the publication answered", started.elapsed());
    assert_status(&answer, 503, Some("SCHEDULE_INCOMPLETE"));
    let message = answer.body["message"].as_str().unwrap();
    assert!(
        message.contains("schedule is saved") && message.contains("Publishing it again"),
        "{message}"
    );
    assert!(answer.headers.contains_key("retry-after"));

    // DynamoDB Local is back with its data: the schedule is there, its slots are not all there.
    let _back = PrivateDynamo::start(dir.path(), port).await;
    eprintln!("{:?}: DynamoDB Local back", started.elapsed());
    let saved = poll_until(
        "the schedule read back",
        StdDuration::from_secs(60),
        StdDuration::from_millis(100),
        || async { store.get_schedule(&id).await.ok() },
    )
    .await
    .expect("the interrupted publication saved the schedule");
    let stored_room = store.get_room(&id).await.unwrap().unwrap();
    let rules = horizon::rules(&stored_room).unwrap();
    let planned = horizon::plan(&stored_room, &saved, &rules, now);
    let end = horizon::horizon_end(&stored_room, now) + Duration::days(1);
    let before = horizon::slots_between(store.as_ref(), &id, now, end, now)
        .await
        .unwrap();
    let before: HashSet<&str> = before.iter().map(|s| s.slot.id.as_str()).collect();
    assert!(
        planned.iter().any(|p| !before.contains(p.slot_id.as_str())),
        "the interruption left planned slots unmade"
    );

    // The daily run completes it (run again while the new JVM is still slow to answer: a run
    // that fails is itself an interrupted publication, completed by the next).
    let runs = poll_until(
        "a daily run that completes",
        StdDuration::from_secs(240),
        StdDuration::from_millis(100),
        || async { horizon::extend_horizons(store.as_ref(), now).await.ok() },
    )
    .await;
    assert!(runs.iter().any(|r| r.room_id == id), "{runs:?}");
    eprintln!("{:?}: the daily run completed: {runs:?}", started.elapsed());
    let after = horizon::slots_between(store.as_ref(), &id, now, end, now)
        .await
        .unwrap();
    let ids: Vec<&str> = after.iter().map(|s| s.slot.id.as_str()).collect();
    let unique: BTreeSet<&str> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "no slot twice");
    let mut expected: BTreeSet<&str> = planned.iter().map(|p| p.slot_id.as_str()).collect();
    expected.insert(tens[1].as_str());
    expected.insert(tens[2].as_str());
    assert_eq!(unique, expected, "every planned slot, and the kept two");
    for pair in after.windows(2) {
        assert!(
            pair[0].slot.end_time <= pair[1].slot.start_time,
            "no two games at once: {} and {}",
            pair[0].slot.id,
            pair[1].slot.id
        );
    }
    let held_now = t.look_up(&held, "u-demo").await;
    assert_eq!(held_now.body["status"], "HOLD", "{held_now:?}");
    let booked_now = t.look_up(&booked, "u-alice").await;
    assert_eq!(booked_now.body["status"], "CONFIRMED", "{booked_now:?}");

    // Publishing the same schedule again finds nothing left to do.
    let again = t.put_schedule("r-year", every_half_hour_but_ten()).await;
    assert_status(&again, 200, None);
    assert_eq!(again.body["created"], 0, "{again:?}");
    assert_eq!(again.body["removed"], 0, "{again:?}");
}
