//! Export and import (`shared::store::transfer`): a venue with live, extended, released and
//! expired holds, bookings, cancellations by a player and by an operator, and schedules goes
//! SQLite → DynamoDB Local → SQLite and comes back the same; importing twice changes nothing;
//! a record that differs from the target's is refused unless `replace`.

use chrono::{Duration, Utc};
use shared::domain::{Canceller, Contact, HoldId, RoomId, SlotId, UserId};
use shared::store::outbox::Outbox;
use shared::store::provision::Provision;
use shared::store::sqlite::SqliteStore;
use shared::store::transfer::{Record, import};
use shared::store::{NewBooking, NewHold, SlotWindow, Store};

fn user(name: &str) -> UserId {
    UserId::parse(name).unwrap()
}

/// The records as sorted JSON lines, to compare two exports.
fn lines(records: &[Record]) -> Vec<String> {
    let mut lines: Vec<String> = records
        .iter()
        .map(|r| serde_json::to_string(r).unwrap())
        .collect();
    lines.sort();
    lines
}

async fn hold(store: &dyn Store, slot: &SlotId, who: &str, at: chrono::DateTime<Utc>) -> HoldId {
    let new = NewHold {
        id: HoldId::generate(slot),
        slot_id: slot.clone(),
        user_id: user(who),
        expires_at: at + Duration::minutes(5),
        verified_user: true,
        players: Some(3),
        max_live_holds: None,
    };
    store.create_hold(&new, None, at).await.unwrap().id
}

async fn book(store: &dyn Store, slot: &SlotId, who: &str, at: chrono::DateTime<Utc>) -> HoldId {
    let id = hold(store, slot, who, at).await;
    let contact = Contact::checked("Ada Lovelace", "ada@example.org", None).unwrap();
    let (booking, _key) = NewBooking::generate(Some(contact)).unwrap();
    store
        .confirm_booking(id, &user(who), &booking, None, at + Duration::seconds(30))
        .await
        .unwrap();
    id
}

#[tokio::test]
async fn a_venue_goes_from_sqlite_to_dynamodb_and_back_unchanged_and_a_second_import_writes_nothing()
 {
    let now = Utc::now();
    let dir = tempfile::tempdir().unwrap();
    let source = SqliteStore::open(dir.path().join("source.db")).unwrap();
    source.load(&shared::seed::demo().unwrap()).await.unwrap();
    shared::horizon::extend_horizons(&source, now - Duration::hours(1))
        .await
        .unwrap();
    let room = source.list_rooms().await.unwrap()[0].id.clone();
    let window = SlotWindow {
        from: now,
        to: None,
        after: None,
        limit: 20,
    };
    let slots: Vec<SlotId> = source
        .list_slots(&room, &window, now)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.slot.id)
        .collect();
    let earlier = now - Duration::minutes(30);
    // A live hold, an extended one, a released one, an expired one.
    hold(&source, &slots[0], "u-alice", now).await;
    let extended = hold(&source, &slots[1], "u-bob", now).await;
    source
        .extend_hold(extended, &user("u-bob"), now + Duration::minutes(10), now)
        .await
        .unwrap();
    let released = hold(&source, &slots[2], "u-demo", earlier).await;
    source
        .release_hold(released, &user("u-demo"), earlier)
        .await
        .unwrap();
    hold(&source, &slots[3], "u-alice", earlier).await;
    // Bookings: one kept, one cancelled by its player, one by the operator, and a slot booked
    // again after an operator's cancellation.
    book(&source, &slots[4], "u-bob", earlier).await;
    let by_player = book(&source, &slots[5], "u-demo", earlier).await;
    let player = Canceller::Player {
        user: user("u-demo"),
        cutoff: Duration::zero(),
    };
    source.cancel_hold(by_player, &player, now).await.unwrap();
    let by_operator = book(&source, &slots[6], "u-alice", earlier).await;
    let operator = Canceller::Operator {
        name: "operator:desk".into(),
        reason: "Flooded basement".into(),
    };
    source
        .cancel_hold(by_operator, &operator, earlier + Duration::minutes(5))
        .await
        .unwrap();
    book(&source, &slots[6], "u-bob", earlier + Duration::minutes(10)).await;

    let first = source.export(now).unwrap();
    let kinds: std::collections::BTreeSet<&str> = first.iter().map(Record::kind).collect();
    assert_eq!(
        kinds,
        ["hold", "room", "schedule", "slot", "user"]
            .into_iter()
            .collect()
    );

    let client = crate::dynamodb_local::client().await;
    let table = crate::dynamodb_local::fresh_table(&client).await;
    let dynamo = shared::store::dynamo::DynamoStore::new(client, table);
    let counts = import(&dynamo, first.clone(), false, now).await.unwrap();
    assert_eq!(counts.written["hold"], 8, "{counts:?}");
    let (on_dynamo, scans) = dynamo.export(now).await.unwrap();
    assert!(scans >= 4);
    assert_eq!(lines(&on_dynamo), lines(&first), "SQLite → DynamoDB");
    assert!(
        dynamo.undispatched_events(10).await.unwrap().is_empty(),
        "the replayed bookings' events are history: none left to send"
    );

    // A second import finds everything in place and writes nothing.
    let again = import(&dynamo, first.clone(), false, now).await.unwrap();
    for kind in ["room", "schedule", "hold"] {
        assert_eq!(again.written.get(kind), None, "{kind}: {again:?}");
    }
    assert_eq!(again.unchanged["hold"], 8);
    let (unchanged, _) = dynamo.export(now).await.unwrap();
    assert_eq!(lines(&unchanged), lines(&first));

    let back = SqliteStore::open(dir.path().join("back.db")).unwrap();
    import(&back, on_dynamo, false, now).await.unwrap();
    assert_eq!(
        lines(&back.export(now).unwrap()),
        lines(&first),
        "DynamoDB → SQLite"
    );
}

#[tokio::test]
async fn a_record_that_differs_from_the_targets_is_refused_unless_replace() {
    let now = Utc::now();
    let dir = tempfile::tempdir().unwrap();
    let source = SqliteStore::open(dir.path().join("source.db")).unwrap();
    source.load(&shared::seed::demo().unwrap()).await.unwrap();
    let records = source.export(now).unwrap();
    let target = SqliteStore::open(dir.path().join("target.db")).unwrap();
    import(&target, records.clone(), false, now).await.unwrap();

    let renamed: Vec<Record> = records
        .into_iter()
        .map(|r| match r {
            Record::Room {
                room_id,
                capacity,
                policy,
                ..
            } => Record::Room {
                room_id,
                name: "Renamed".into(),
                capacity,
                policy,
            },
            other => other,
        })
        .collect();
    let refused = import(&target, renamed.clone(), false, now).await;
    assert!(
        matches!(&refused, Err(shared::Error::Validation(m)) if m.contains("different data")),
        "{refused:?}"
    );
    let first: RoomId = target.list_rooms().await.unwrap()[0].id.clone();
    assert_ne!(
        target.get_room(&first).await.unwrap().unwrap().name,
        "Renamed"
    );
    import(&target, renamed, true, now).await.unwrap();
    assert_eq!(
        target.get_room(&first).await.unwrap().unwrap().name,
        "Renamed"
    );
}
