//! Retiring a room on the stores themselves, both kinds: the daily horizon run makes no more
//! slots for it, and holds and confirms racing the retirement leave nothing live on it.

use std::sync::Arc;

use chrono::{Duration, Utc};
use shared::domain::{Canceller, HoldId, RoomId, SlotId, UserId};
use shared::store::provision::Provision;
use shared::store::sqlite::SqliteStore;
use shared::store::{NewHold, SlotWindow, Store};

use crate::harness::StoreKind;

/// A fresh store of `kind` with the demo venue (two rooms and their weekly schedules).
async fn demo_venue(kind: StoreKind) -> (Arc<dyn Store>, Option<tempfile::TempDir>) {
    let data = shared::seed::demo().unwrap();
    match kind {
        StoreKind::Sqlite => {
            let dir = tempfile::tempdir().unwrap();
            let store = SqliteStore::open(dir.path().join("demo.db")).unwrap();
            store.load(&data).await.unwrap();
            (Arc::new(store), Some(dir))
        }
        StoreKind::Dynamodb => {
            let client = crate::dynamodb_local::client().await;
            let table = crate::dynamodb_local::fresh_table(&client).await;
            let store = shared::store::dynamo::DynamoStore::new(client, table);
            store.load(&data).await.unwrap();
            (Arc::new(store), None)
        }
    }
}

fn operator() -> Canceller {
    Canceller::Operator {
        name: "operator:desk".into(),
        reason: "Closed for good".into(),
    }
}

async fn the_daily_run_makes_no_slots_for_a_retired_room(kind: StoreKind) {
    let (store, _dir) = demo_venue(kind).await;
    let now = Utc::now();
    let runs = shared::horizon::extend_horizons(store.as_ref(), now)
        .await
        .unwrap();
    let retired = runs[0].room_id.clone();
    assert_eq!(runs.len(), 2);
    store.retire_room(&retired, None, now).await.unwrap();

    let later = now + Duration::days(3);
    let runs = shared::horizon::extend_horizons(store.as_ref(), later)
        .await
        .unwrap();
    let rooms: Vec<&RoomId> = runs.iter().map(|r| &r.room_id).collect();
    assert_eq!(rooms.len(), 1);
    assert_ne!(rooms[0], &retired, "the retired room is skipped");
    let window = SlotWindow {
        from: later,
        to: None,
        after: None,
        limit: 10,
    };
    assert!(matches!(
        store.list_slots(&retired, &window, later).await,
        Err(shared::Error::RoomNotFound)
    ));
}

/// Forty players hold (and at once confirm) the room's first forty slots while the operator
/// retires it with its bookings cancelled: once the retirement has answered, the room carries
/// no live hold and no booking, whatever won each race.
async fn holds_racing_a_retirement_leave_nothing_live(kind: StoreKind) {
    let (store, _dir) = demo_venue(kind).await;
    let now = Utc::now();
    let runs = shared::horizon::extend_horizons(store.as_ref(), now)
        .await
        .unwrap();
    let room = runs[0].room_id.clone();
    let window = SlotWindow {
        from: now,
        to: None,
        after: None,
        limit: 40,
    };
    let slots: Vec<SlotId> = store
        .list_slots(&room, &window, now)
        .await
        .unwrap()
        .into_iter()
        .take(40)
        .map(|s| s.slot.id)
        .collect();
    let user = UserId::try_from("u-racer".to_owned()).unwrap();
    let mut racers = tokio::task::JoinSet::new();
    for slot in slots.clone() {
        let (store, user) = (store.clone(), user.clone());
        racers.spawn(async move {
            let hold = NewHold {
                id: HoldId::generate(&slot),
                slot_id: slot,
                user_id: user.clone(),
                expires_at: now + Duration::minutes(5),
                verified_user: true,
                players: None,
                max_live_holds: None,
            };
            if store.create_hold(&hold, None, now).await.is_ok() {
                let _ = store.confirm_hold(hold.id, &user, None, now).await;
            }
            hold.id
        });
    }
    let retired = store
        .retire_room(&room, Some(&operator()), now)
        .await
        .unwrap();
    let mut tried = Vec::new();
    while let Some(id) = racers.join_next().await {
        tried.push(id.unwrap());
    }
    // Whatever came in after the retirement answered is refused too; sweep again (idempotent)
    // to be sure the first answer already left nothing.
    let again = store
        .retire_room(&room, Some(&operator()), now)
        .await
        .unwrap();
    assert!(
        again.cancelled.is_empty() && again.released.is_empty(),
        "the first retirement left {again:?} (it said {retired:?})"
    );
    for id in tried {
        if let Some(hold) = store.get_hold(id, now).await.unwrap() {
            let status = hold.view_status(now);
            assert!(
                !matches!(
                    status,
                    shared::domain::ViewStatus::Hold | shared::domain::ViewStatus::Confirmed
                ),
                "{id} is {status:?} on a retired room"
            );
        }
    }
}

#[tokio::test]
async fn sqlite_the_daily_run_makes_no_slots_for_a_retired_room() {
    the_daily_run_makes_no_slots_for_a_retired_room(StoreKind::Sqlite).await;
}

#[tokio::test]
async fn dynamodb_the_daily_run_makes_no_slots_for_a_retired_room() {
    the_daily_run_makes_no_slots_for_a_retired_room(StoreKind::Dynamodb).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_holds_racing_a_retirement_leave_nothing_live() {
    holds_racing_a_retirement_leave_nothing_live(StoreKind::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dynamodb_holds_racing_a_retirement_leave_nothing_live() {
    holds_racing_a_retirement_leave_nothing_live(StoreKind::Dynamodb).await;
}

/// A retirement's cancellations are operator cancellations in the outbox too: one
/// `booking.cancelled` event per booking, with the operator, the reason and the room's name
/// (read after the room is retired).
async fn a_retirements_cancellations_write_their_booking_cancelled_events(kind: StoreKind) {
    use shared::events::{EventId, EventKind};
    let now = Utc::now();
    let seeded = crate::harness::seeded(kind, now, &[]).await;
    let store = seeded.store.as_ref();
    let user = UserId::parse("u-demo").unwrap();
    let mut booked = Vec::new();
    for slot in ["s-1", "s-2"] {
        let slot_id = SlotId::parse(slot).unwrap();
        let hold = NewHold {
            id: HoldId::generate(&slot_id),
            slot_id,
            user_id: user.clone(),
            expires_at: now + Duration::minutes(5),
            verified_user: false,
            players: None,
            max_live_holds: None,
        };
        store.create_hold(&hold, None, now).await.unwrap();
        store.confirm_hold(hold.id, &user, None, now).await.unwrap();
        booked.push(hold.id);
    }
    let room = RoomId::try_from("r-101".to_owned()).unwrap();
    let retired = store
        .retire_room(&room, Some(&operator()), now)
        .await
        .unwrap();
    let mut cancelled = retired.cancelled.clone();
    cancelled.sort_unstable_by_key(ToString::to_string);
    booked.sort_unstable_by_key(ToString::to_string);
    assert_eq!(cancelled, booked);
    let events = store.undispatched_events(10).await.unwrap();
    for id in booked {
        let event = events
            .iter()
            .find(|e| e.id == EventId::of(id, EventKind::Cancelled))
            .unwrap_or_else(|| panic!("no booking.cancelled for {id} in {events:?}"));
        assert_eq!(event.data.cancelled_by.as_deref(), Some("operator:desk"));
        assert_eq!(event.data.reason.as_deref(), Some("Closed for good"));
        assert_eq!(event.data.room_name, "The Cursed Library");
    }
}

#[tokio::test]
async fn sqlite_a_retirements_cancellations_write_their_booking_cancelled_events() {
    a_retirements_cancellations_write_their_booking_cancelled_events(StoreKind::Sqlite).await;
}

#[tokio::test]
async fn dynamodb_a_retirements_cancellations_write_their_booking_cancelled_events() {
    a_retirements_cancellations_write_their_booking_cancelled_events(StoreKind::Dynamodb).await;
}
