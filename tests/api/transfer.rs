//! Export and import (`shared::store::transfer`): a venue with live, extended, released and
//! expired holds, bookings, cancellations by a player and by an operator, schedules, a calendar
//! feed, webhook endpoints (one disabled), a player made by their first hold and a retired room
//! with its history goes SQLite → DynamoDB Local → SQLite and comes back the same; importing
//! twice changes nothing; a record that differs from the target's is refused unless `replace`
//! overwrites it (rooms, schedules, feeds, webhooks), and a different booking never is.

use chrono::{Duration, Utc};
use shared::domain::{Canceller, Contact, HoldId, KeyDigest, RoomId, SlotId, UserId};
use shared::events::EventKind;
use shared::store::outbox::Outbox;
use shared::store::provision::Provision;
use shared::store::sqlite::SqliteStore;
use shared::store::transfer::{Record, import};
use shared::store::{NewBooking, NewHold, SlotWindow, Store, Webhook, Webhooks};

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
    // A player whose first hold made their user record (a verified token's `sub`).
    let first_hold = NewHold {
        id: HoldId::generate(&slots[7]),
        slot_id: slots[7].clone(),
        user_id: user("u-newcomer"),
        expires_at: earlier + Duration::minutes(5),
        verified_user: true,
        players: None,
        max_live_holds: None,
    };
    source
        .create_hold(&first_hold, None, earlier)
        .await
        .unwrap();
    // The staff's calendar feed (its key's digest only) and two webhook endpoints.
    let feed_key = KeyDigest::stored("ab".repeat(32));
    source
        .rotate_calendar_feed(&room, &feed_key, earlier)
        .await
        .unwrap();
    for (id, disabled) in [
        ("wh_0123456789abcdef0123456789abcdef", false),
        ("wh_fedcba9876543210fedcba9876543210", true),
    ] {
        let hook = Webhook {
            id: id.into(),
            url: "https://hooks.example.org/escape".into(),
            events: vec![EventKind::Confirmed, EventKind::Cancelled],
            secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into(),
            created_at: earlier,
            disabled: false,
        };
        source.create_webhook(&hook, None).await.unwrap();
        if disabled {
            source.disable_webhook(id).await.unwrap();
        }
    }
    // A retired room, with a booking its retirement cancelled.
    let other = source.list_rooms().await.unwrap()[1].id.clone();
    let other_slot = source
        .list_slots(&other, &window, now)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.slot.id)
        .next_back()
        .unwrap();
    book(&source, &other_slot, "u-alice", earlier).await;
    source
        .retire_room(&other, Some(&operator), earlier + Duration::minutes(20))
        .await
        .unwrap();

    let first = source.export(now).unwrap();
    let kinds: std::collections::BTreeSet<&str> = first.iter().map(Record::kind).collect();
    assert_eq!(
        kinds,
        [
            "calendar_feed",
            "hold",
            "room",
            "schedule",
            "slot",
            "user",
            "webhook"
        ]
        .into_iter()
        .collect()
    );
    assert!(
        first
            .iter()
            .any(|r| matches!(r, Record::User { user_id } if user_id.as_str() == "u-newcomer"))
    );
    assert!(first.iter().any(
        |r| matches!(r, Record::Room { room_id, archived_at: Some(_), .. } if *room_id == other)
    ));

    let client = crate::dynamodb_local::client().await;
    let table = crate::dynamodb_local::fresh_table(&client).await;
    let dynamo = shared::store::dynamo::DynamoStore::new(client, table);
    let counts = import(&dynamo, first.clone(), false, now).await.unwrap();
    assert_eq!(counts.written["hold"], 10, "{counts:?}");
    assert_eq!(counts.written["webhook"], 2, "{counts:?}");
    let (on_dynamo, scans) = dynamo.export(now).await.unwrap();
    assert!(scans >= 4);
    assert_eq!(lines(&on_dynamo), lines(&first), "SQLite → DynamoDB");
    assert!(
        dynamo.undispatched_events(10).await.unwrap().is_empty(),
        "the replayed bookings' events are history: none left to send"
    );

    // On the new home: the feed's key, the endpoints with their secrets, the retired room.
    assert_eq!(
        dynamo.calendar_feed(&room).await.unwrap().unwrap().key,
        feed_key
    );
    let hooks = shared::store::webhooks::all_webhooks(&dynamo)
        .await
        .unwrap();
    assert_eq!(hooks.len(), 2);
    assert!(hooks.iter().all(|h| h.secret.starts_with("whsec_")));
    assert_eq!(
        dynamo.get_room(&other).await.unwrap(),
        None,
        "still retired"
    );

    // A second import finds everything in place and writes nothing.
    let again = import(&dynamo, first.clone(), false, now).await.unwrap();
    assert!(again.written.is_empty(), "{again:?}");
    assert_eq!(again.unchanged["hold"], 10);
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

/// The records with `edit` applied to each.
fn edited(records: &[Record], edit: impl Fn(Record) -> Record) -> Vec<Record> {
    records.iter().cloned().map(edit).collect()
}

#[tokio::test]
async fn a_record_that_differs_is_refused_unless_replace_overwrites_it_and_a_different_booking_never_is()
 {
    let now = Utc::now();
    let dir = tempfile::tempdir().unwrap();
    let source = SqliteStore::open(dir.path().join("source.db")).unwrap();
    source.load(&shared::seed::demo().unwrap()).await.unwrap();
    shared::horizon::extend_horizons(&source, now - Duration::hours(1))
        .await
        .unwrap();
    let room = RoomId::parse("r-101").unwrap();
    source
        .rotate_calendar_feed(&room, &KeyDigest::stored("ab".repeat(32)), now)
        .await
        .unwrap();
    let hook = Webhook {
        id: "wh_0123456789abcdef0123456789abcdef".into(),
        url: "https://hooks.example.org/escape".into(),
        events: vec![EventKind::Confirmed],
        secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into(),
        created_at: now,
        disabled: false,
    };
    source.create_webhook(&hook, None).await.unwrap();
    let records = source.export(now).unwrap();
    let target = SqliteStore::open(dir.path().join("target.db")).unwrap();
    import(&target, records.clone(), false, now).await.unwrap();

    // The venue changed at its source: the room renamed, the schedule closed a day, the feed's
    // key rotated, the endpoint moved.
    let changed = edited(&records, |r| match r {
        Record::Room {
            room_id,
            capacity,
            policy,
            archived_at,
            ..
        } if room_id == room => Record::Room {
            room_id,
            name: "Renamed".into(),
            capacity,
            policy,
            archived_at,
        },
        Record::Schedule {
            room_id,
            mut schedule,
        } if room_id == room => {
            let day = (now + Duration::days(3)).date_naive();
            schedule.closed.push(shared::schedule::Closure {
                from: day,
                to: day,
                reason: "Renovation".into(),
            });
            Record::Schedule { room_id, schedule }
        }
        Record::CalendarFeed {
            room_id,
            rotated_at,
            ..
        } => Record::CalendarFeed {
            room_id,
            key_digest: "cd".repeat(32),
            rotated_at,
        },
        Record::Webhook(mut hook) => {
            hook.url = "https://hooks.example.org/moved".into();
            hook.secret = "whsec_Y2hhbmdlZC1zZWNyZXQtZm9yLXRlc3Rz".into();
            Record::Webhook(hook)
        }
        other => other,
    });
    let refused = import(&target, changed.clone(), false, now).await;
    assert!(
        matches!(&refused, Err(shared::Error::Validation(m))
            if m.contains("different data") && m.contains("--replace")),
        "{refused:?}"
    );
    // Refused before anything was written: the target is as it was.
    assert_eq!(
        shared::store::Store::get_room(&target, &room)
            .await
            .unwrap()
            .unwrap()
            .name,
        "The Cursed Library"
    );
    assert_eq!(lines(&target.export(now).unwrap()), lines(&records));

    let counts = import(&target, changed.clone(), true, now).await.unwrap();
    for kind in ["room", "schedule", "calendar_feed", "webhook"] {
        assert_eq!(counts.written.get(kind), Some(&1), "{kind}: {counts:?}");
    }
    assert_eq!(lines(&target.export(now).unwrap()), lines(&changed));
    let moved = target.get_webhook(&hook.id).await.unwrap().unwrap();
    assert_eq!(moved.url, "https://hooks.example.org/moved");
    assert_eq!(
        target.calendar_feed(&room).await.unwrap().unwrap().key,
        KeyDigest::stored("cd".repeat(32))
    );

    // A different booking on a slot the target has booked: refused, naming it, even with
    // --replace; the target's booking stays.
    let slot = target
        .list_slots(
            &room,
            &SlotWindow {
                from: now,
                to: None,
                after: None,
                limit: 1,
            },
            now,
        )
        .await
        .unwrap()[0]
        .slot
        .id
        .clone();
    let theirs = book(&target, &slot, "u-bob", now).await;
    let mine = book(&source, &slot, "u-alice", now).await;
    let refused = import(&target, source.export(now).unwrap(), true, now).await;
    assert!(
        matches!(&refused, Err(shared::Error::Validation(m))
            if m.contains(&mine.to_string()) && m.contains(slot.as_str())),
        "{refused:?}"
    );
    assert_eq!(
        target.get_hold(theirs, now).await.unwrap().unwrap().status,
        shared::domain::HoldStatus::Confirmed
    );
    assert_eq!(target.get_hold(mine, now).await.unwrap(), None);
}
