//! What only the DynamoDB store has, against DynamoDB Local: the 50-way race decided by one
//! guarded transaction, exactly one request per operation, the explanations that need the hold
//! record, idempotent seeding, and 503 when DynamoDB cannot be reached.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration as StdDuration, Instant};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Duration, DurationRound, Utc};
use lambda_http::http::StatusCode;
use shared::Error;
use shared::domain::{Canceller, HoldId, HoldStatus, RoomId, SlotId, SlotKey, UserId};
use shared::seed::SeedData;
use shared::store::dynamo::DynamoStore;
use shared::store::{IdempotencyKey, NewHold, Page, Provision, SheetWindow, SlotWindow, Store};

use crate::dynamodb_local;
use crate::harness::{Event, TestApp};

const TTL: Duration = Duration::seconds(300);

/// A listing window over the whole room (from `now`, one page).
fn everything(now: DateTime<Utc>) -> SlotWindow {
    SlotWindow {
        from: now,
        to: None,
        after: None,
        limit: 10_000,
    }
}

fn now() -> DateTime<Utc> {
    let now = Utc::now();
    now.duration_trunc(Duration::milliseconds(1)).unwrap_or(now)
}

fn slot(id: &str) -> SlotId {
    SlotId::parse(id).unwrap()
}

fn user(id: &str) -> UserId {
    UserId::parse(id).unwrap()
}

fn new_hold(slot_id: &str, user_id: &str, now: DateTime<Utc>) -> NewHold {
    let slot_id = slot(slot_id);
    NewHold {
        id: HoldId::generate(&slot_id),
        slot_id,
        user_id: user(user_id),
        expires_at: now + TTL,
        verified_user: false,
        players: None,
        max_live_holds: None,
    }
}

/// A store over a fresh table on DynamoDB Local through `client` (which may count requests),
/// loaded with the demo data (as of `now`): `harness::seeded`'s DynamoDB store on another client.
async fn demo_store(client: Client, now: DateTime<Utc>) -> DynamoStore {
    crate::harness::demo_dynamo_store(client, now, &[]).await
}

// ── (a) the race ────────────────────────────────────────────────────────────────────────────

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_users_racing_for_one_slot_get_exactly_one_hold_and_forty_nine_409s() {
    let now = now();
    let store = Arc::new(demo_store(dynamodb_local::client().await, now).await);
    let users: Vec<UserId> = (1..=50).map(|i| user(&format!("u-race-{i}"))).collect();
    store
        .load(&SeedData {
            users: users.clone(),
            ..SeedData::default()
        })
        .await
        .unwrap();

    let mut racers = tokio::task::JoinSet::new();
    for u in &users {
        let store = store.clone();
        let hold = new_hold("s-5", u.as_str(), now);
        racers.spawn(async move { store.create_hold(&hold, None, now).await });
    }
    let (mut won, mut lost, mut other) = (Vec::new(), 0, Vec::new());
    while let Some(result) = racers.join_next().await {
        match result.unwrap() {
            Ok(hold) => won.push(hold),
            Err(Error::SlotUnavailable) => lost += 1,
            Err(e) => other.push(format!("{e:?}")),
        }
    }
    assert_eq!(
        (won.len(), lost, other.len()),
        (1, 49, 0),
        "unexpected outcomes: {other:?}"
    );

    // The listing shows the winner's hold, and only the winner can confirm it.
    let winner = &won[0];
    let states = store
        .list_slots(&RoomId::parse("r-101").unwrap(), &everything(now), now)
        .await
        .unwrap();
    let s5 = states.iter().find(|s| s.slot.id.as_str() == "s-5").unwrap();
    assert_eq!(
        s5.hold.as_ref().map(|h| (h.id, h.user_id.clone())),
        Some((winner.id, winner.user_id.clone()))
    );
    let loser = users.iter().find(|u| **u != winner.user_id).unwrap();
    assert!(matches!(
        store.confirm_hold(winner.id, loser, None, now).await,
        Err(Error::NotHoldOwner)
    ));
    assert_eq!(
        store
            .confirm_hold(winner.id, &winner.user_id, None, now)
            .await
            .unwrap()
            .status,
        HoldStatus::Confirmed
    );
}

// ── (b) one request per operation ───────────────────────────────────────────────────────────

/// Counts the HTTP requests a client sends (every attempt, retries included).
#[derive(Debug)]
struct CountRequests(Arc<AtomicUsize>);

impl Intercept for CountRequests {
    fn name(&self) -> &'static str {
        "CountRequests"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _config: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

#[tokio::test]
async fn every_operation_sends_one_request_and_a_confirm_a_cancel_a_day_sheet_or_every_hold_two() {
    let counter = Arc::new(AtomicUsize::new(0));
    let config = dynamodb_local::client_config(dynamodb_local::endpoint().await)
        .interceptor(CountRequests(counter.clone()))
        .build();
    let now = now();
    let store = demo_store(Client::from_conf(config), now).await;
    let room = RoomId::parse("r-101").unwrap();
    let (demo, bob) = (user("u-demo"), user("u-bob"));

    // Runs one store call and answers how many requests it sent.
    macro_rules! requests {
        ($call:expr) => {{
            counter.store(0, Ordering::SeqCst);
            let result = $call.await;
            (result, counter.load(Ordering::SeqCst))
        }};
    }

    let (listed, list_requests) = requests!(store.list_slots(&room, &everything(now), now));
    assert_eq!(listed.unwrap().len(), 16);
    let (held, create_requests) =
        requests!(store.create_hold(&new_hold("s-1", "u-demo", now), None, now));
    let hold = held.unwrap();
    let (refused, refused_confirm_requests) =
        requests!(store.confirm_hold(hold.id, &bob, None, now));
    assert!(matches!(refused, Err(Error::NotHoldOwner)), "{refused:?}");
    let (confirmed, confirm_requests) = requests!(store.confirm_hold(hold.id, &demo, None, now));
    assert_eq!(confirmed.unwrap().slot_id.as_str(), "s-1");
    let (again, retried_confirm_requests) =
        requests!(store.confirm_hold(hold.id, &demo, None, now));
    assert_eq!(again.unwrap().status, HoldStatus::Confirmed);
    let (taken, conflict_requests) =
        requests!(store.create_hold(&new_hold("s-1", "u-bob", now), None, now));
    assert!(matches!(taken, Err(Error::SlotUnavailable)), "{taken:?}");

    let second = store
        .create_hold(&new_hold("s-2", "u-demo", now), None, now)
        .await
        .unwrap();
    let (released, release_requests) = requests!(store.release_hold(second.id, &demo, now));
    assert_eq!(released.unwrap().slot_id.as_str(), "s-2");
    let (released_again, retried_release_requests) =
        requests!(store.release_hold(second.id, &demo, now));
    assert_eq!(released_again.unwrap().status, HoldStatus::Released);

    let third = store
        .create_hold(&new_hold("s-3", "u-demo", now), None, now)
        .await
        .unwrap();
    let later = now + Duration::seconds(TTL.num_seconds() * 2 / 3);
    let (extended, extend_requests) =
        requests!(store.extend_hold(third.id, &demo, later + TTL, later));
    assert_eq!(extended.unwrap(), later + TTL);
    let (used, refused_extend_requests) =
        requests!(store.extend_hold(third.id, &demo, later + TTL, later));
    assert!(matches!(used, Err(Error::ExtensionUsed)), "{used:?}");
    let (cancelled, cancel_requests) = requests!(store.cancel_hold(
        hold.id,
        &Canceller::Player {
            user: demo.clone(),
            cutoff: Duration::zero()
        },
        now
    ));
    cancelled.unwrap();
    let (looked_up, get_requests) = requests!(store.get_hold(hold.id, now));
    assert_eq!(
        looked_up.unwrap().map(|h| h.status),
        Some(HoldStatus::Cancelled)
    );
    let first = Page {
        after: None,
        limit: 50,
    };
    let (mine, user_holds_requests) = requests!(store.user_holds(&demo, &first, false, later));
    assert_eq!(mine.unwrap().holds.len(), 1, "the extended hold");
    let (every, every_hold_requests) = requests!(store.user_holds(&demo, &first, true, later));
    assert_eq!(
        every.unwrap().holds.len(),
        3,
        "the cancelled booking, the released hold and the extended one"
    );
    let (rooms, rooms_requests) = requests!(store.list_rooms());
    assert_eq!(rooms.unwrap().len(), 2);
    let (one_room, get_room_requests) = requests!(store.get_room(&room));
    assert_eq!(
        one_room.unwrap().map(|r| r.name),
        Some("The Cursed Library".to_owned())
    );
    let (schedule, get_schedule_requests) = requests!(store.get_schedule(&room));
    assert!(
        schedule.unwrap().is_none(),
        "the fixture's rooms have no schedule"
    );
    let page = SlotWindow {
        limit: 5,
        ..everything(now)
    };
    let (first_page, page_requests) = requests!(store.list_slots(&room, &page, now));
    assert_eq!(first_page.unwrap().len(), 6, "a page and one more");
    let key = IdempotencyKey {
        key: "k-count".into(),
        request: "s-4\nu-demo".into(),
    };
    let (keyed, keyed_create_requests) =
        requests!(store.create_hold(&new_hold("s-4", "u-demo", now), Some(&key), now));
    let keyed = keyed.unwrap();
    let (replayed, replay_requests) =
        requests!(store.create_hold(&new_hold("s-4", "u-demo", now), Some(&key), now));
    let replayed = replayed.unwrap();
    assert!(replayed.replayed && replayed.id == keyed.id);

    // The operator's calls: the day sheet of a window with bookings, a room saved again with
    // the same rules (its slots need no copy), an operator's cancellation.
    let window = SheetWindow::Between(now, now + Duration::days(5));
    let first_sheet = Page {
        after: None,
        limit: 50,
    };
    let (sheet, sheet_requests) = requests!(store.room_bookings(&room, window, &first_sheet, now));
    assert!(!sheet.unwrap().bookings.is_empty());
    let same = store.get_room(&room).await.unwrap().unwrap();
    let (saved, put_room_requests) = requests!(store.put_room(&same, None, now));
    assert!(!saved.unwrap(), "replaced, not created");
    let booked = store
        .create_hold(&new_hold("s-5", "u-demo", now), None, now)
        .await
        .unwrap();
    store
        .confirm_hold(booked.id, &demo, None, now)
        .await
        .unwrap();
    let operator = Canceller::Operator {
        name: "operator".into(),
        reason: "flooded".into(),
    };
    let (cancelled, operator_cancel_requests) =
        requests!(store.cancel_hold(booked.id, &operator, now));
    cancelled.unwrap();

    // One request each, but two (issue 16's paging) where the answer needs a second item or a
    // second index range: a cancellation reads the booking's slot first (what its record keeps
    // for the day sheet); the day sheet reads the slots and the cancelled bookings' records;
    // every hold of a player, the records and their slots. A confirm (issue 18's references) is
    // one transaction (the slot, the reference's REF# item, the hold record) and one read of the
    // booking it made: a transaction answers no attributes.
    let figures = [
        ("room_bookings", sheet_requests, 2),
        ("put_room, same rules", put_room_requests, 1),
        ("cancel_hold by an operator", operator_cancel_requests, 2),
        ("list_slots", list_requests, 1),
        ("list_slots, a page of 5", page_requests, 1),
        (
            "create_hold with an Idempotency-Key",
            keyed_create_requests,
            1,
        ),
        ("create_hold replayed", replay_requests, 1),
        ("extend_hold", extend_requests, 1),
        ("extend_hold refused (409)", refused_extend_requests, 1),
        ("cancel_hold", cancel_requests, 2),
        ("get_hold", get_requests, 1),
        ("user_holds", user_holds_requests, 1),
        ("user_holds with include_past", every_hold_requests, 2),
        ("list_rooms", rooms_requests, 1),
        ("get_room", get_room_requests, 1),
        (
            "get_schedule (a room without one)",
            get_schedule_requests,
            1,
        ),
        ("create_hold", create_requests, 1),
        ("create_hold refused (409)", conflict_requests, 1),
        ("confirm_hold", confirm_requests, 2),
        ("confirm_hold refused (403)", refused_confirm_requests, 1),
        ("confirm_hold retried (200)", retried_confirm_requests, 1),
        ("release_hold", release_requests, 1),
        ("release_hold retried (200)", retried_release_requests, 1),
    ];
    let counted: Vec<(&str, usize)> = figures.iter().map(|(c, n, _)| (*c, *n)).collect();
    eprintln!("DynamoDB requests per call: {counted:?}");
    for (call, requests, expected) in figures {
        assert_eq!(requests, expected, "{call} sent {requests} requests");
    }
}

// ── Explanations that need the hold record ──────────────────────────────────────────────────

#[tokio::test]
async fn a_hold_its_slot_no_longer_carries_is_explained_from_its_record() {
    let now = now();
    let store = demo_store(dynamodb_local::client().await, now).await;
    let (alice, bob) = (user("u-alice"), user("u-bob"));

    // Alice holds and releases; Bob then holds the same slot, so the slot forgets Alice's hold.
    let first = store
        .create_hold(&new_hold("s-3", "u-alice", now), None, now)
        .await
        .unwrap();
    store.release_hold(first.id, &alice, now).await.unwrap();
    let second = store
        .create_hold(&new_hold("s-3", "u-bob", now), None, now)
        .await
        .unwrap();

    // Her release retried is still a 200; a confirm is a 410; nobody else may touch it (403).
    assert_eq!(
        store
            .release_hold(first.id, &alice, now)
            .await
            .unwrap()
            .status,
        HoldStatus::Released
    );
    assert!(matches!(
        store.confirm_hold(first.id, &alice, None, now).await,
        Err(Error::HoldGone)
    ));
    assert!(matches!(
        store.confirm_hold(first.id, &bob, None, now).await,
        Err(Error::NotHoldOwner)
    ));
    assert!(matches!(
        store.release_hold(first.id, &bob, now).await,
        Err(Error::NotHoldOwner)
    ));
    // After its time ran out it is simply gone.
    let later = now + TTL;
    assert!(matches!(
        store.release_hold(first.id, &alice, later).await,
        Err(Error::HoldGone)
    ));

    // An expired hold taken over: its owner gets 410, the new holder confirms.
    let third = store
        .create_hold(&new_hold("s-4", "u-alice", now), None, now)
        .await
        .unwrap();
    let fourth = store
        .create_hold(&new_hold("s-4", "u-bob", later), None, later)
        .await
        .unwrap();
    assert!(matches!(
        store.confirm_hold(third.id, &alice, None, later).await,
        Err(Error::HoldGone)
    ));
    assert!(matches!(
        store.release_hold(third.id, &alice, later).await,
        Err(Error::HoldGone)
    ));
    assert_eq!(
        store
            .confirm_hold(fourth.id, &bob, None, later)
            .await
            .unwrap()
            .status,
        HoldStatus::Confirmed
    );
    assert!(matches!(
        store.release_hold(fourth.id, &bob, later).await,
        Err(Error::HoldConfirmed)
    ));

    // A hold id nobody made, even one carrying a real slot's key.
    let forged = HoldId::generate(&slot("s-3"));
    assert!(matches!(
        store.confirm_hold(forged, &bob, None, now).await,
        Err(Error::HoldGone)
    ));
    assert_eq!(
        store
            .confirm_hold(second.id, &bob, None, now)
            .await
            .unwrap()
            .slot_id
            .as_str(),
        "s-3"
    );
}

// ── Seeding ─────────────────────────────────────────────────────────────────────────────────

#[tokio::test]
async fn seeding_again_keeps_holds_and_bookings_and_a_slot_key_taken_by_another_slot_is_an_error() {
    let now = now();
    let client = dynamodb_local::client().await;
    let store = demo_store(client.clone(), now).await;
    assert!(!store.is_empty().await.unwrap());
    let hold = store
        .create_hold(&new_hold("s-1", "u-demo", now), None, now)
        .await
        .unwrap();
    store
        .load(&shared::seed::fixture(now).unwrap())
        .await
        .unwrap();
    let states = store
        .list_slots(&RoomId::parse("r-101").unwrap(), &everything(now), now)
        .await
        .unwrap();
    assert_eq!(states[0].hold.as_ref().map(|h| h.id), Some(hold.id));
    assert_eq!(states.len(), 16);

    // Pretend another slot id already owns s-2's key: seeding s-2 must refuse, not overwrite.
    client
        .update_item()
        .table_name(store.table())
        .key(
            "pk",
            AttributeValue::S(format!("SLOT#{}", SlotKey::of(&slot("s-2")))),
        )
        .key("sk", AttributeValue::S("SLOT".into()))
        .update_expression("SET slot_id = :other")
        .expression_attribute_values(":other", AttributeValue::S("s-other".into()))
        .send()
        .await
        .unwrap();
    let refused = store.load(&shared::seed::fixture(now).unwrap()).await;
    assert!(
        matches!(&refused, Err(Error::Validation(m)) if m.contains("s-2") && m.contains("s-other")),
        "{refused:?}"
    );

    let empty = DynamoStore::new(client.clone(), dynamodb_local::fresh_table(&client).await);
    assert!(empty.is_empty().await.unwrap());
}

#[tokio::test]
async fn seeding_a_table_of_an_earlier_version_gives_its_rooms_their_listing_keys() {
    let now = now();
    let client = dynamodb_local::client().await;
    let store = demo_store(client.clone(), now).await;
    // A room item as the first version wrote it: no `gsi2` keys, so `GET /rooms` misses it.
    client
        .update_item()
        .table_name(store.table())
        .key("pk", AttributeValue::S("ROOM#r-102".into()))
        .key("sk", AttributeValue::S("#ROOM".into()))
        .update_expression("REMOVE gsi2pk, gsi2sk")
        .send()
        .await
        .unwrap();
    let listed = |rooms: Vec<shared::domain::Room>| -> Vec<String> {
        rooms.into_iter().map(|r| r.id.to_string()).collect()
    };
    assert_eq!(listed(store.list_rooms().await.unwrap()), ["r-101"]);
    store
        .load(&shared::seed::fixture(now).unwrap())
        .await
        .unwrap();
    assert_eq!(
        listed(store.list_rooms().await.unwrap()),
        ["r-101", "r-102"]
    );
}

#[tokio::test]
async fn a_page_of_current_holds_reads_at_most_four_query_pages_and_says_where_to_go_on() {
    let now = now();
    let config = dynamodb_local::client_config(dynamodb_local::endpoint().await).build();
    let whole = demo_store(Client::from_conf(config), now).await;
    let alice = user("u-alice");
    let at = |ms: i64| now + Duration::milliseconds(ms);
    // Her live hold, then six newer ones released: newest first, the live one comes last.
    let current = whole
        .create_hold(&new_hold("s-1", "u-alice", at(0)), None, at(0))
        .await
        .unwrap();
    for (n, slot) in ["s-2", "s-3", "s-4", "s-5", "s-6", "s-7"]
        .into_iter()
        .enumerate()
    {
        let t = at(1 + n as i64);
        let held = whole
            .create_hold(&new_hold(slot, "u-alice", t), None, t)
            .await
            .unwrap();
        whole.release_hold(held.id, &alice, t).await.unwrap();
    }
    let later = at(10);
    let first_page = Page {
        after: None,
        limit: 50,
    };
    // One item a query page: the first page reads four released slots and stops there.
    let paged = DynamoStore::new(whole.client().clone(), whole.table()).with_page_size(1);
    let first = paged
        .user_holds(&alice, &first_page, false, later)
        .await
        .unwrap();
    assert!(first.holds.is_empty(), "{first:?}");
    let next = first.next.expect("a short page says where to go on");
    let second = paged
        .user_holds(
            &alice,
            &Page {
                after: Some(next),
                limit: 50,
            },
            false,
            later,
        )
        .await
        .unwrap();
    let ids = |page: &shared::store::HoldsPage| -> Vec<HoldId> {
        page.holds.iter().map(|h| h.hold.id).collect()
    };
    assert_eq!(ids(&second), [current.id]);
    assert_eq!(second.next, None);
    // In 1 MB query pages, the one page holds it.
    let one = whole
        .user_holds(&alice, &first_page, false, later)
        .await
        .unwrap();
    assert_eq!((ids(&one), one.next), (vec![current.id], None));
}

#[tokio::test]
async fn a_listing_that_spans_several_query_pages_is_complete_and_in_order() {
    let counter = Arc::new(AtomicUsize::new(0));
    let config = dynamodb_local::client_config(dynamodb_local::endpoint().await)
        .interceptor(CountRequests(counter.clone()))
        .build();
    let now = now();
    let whole = demo_store(Client::from_conf(config), now).await;
    let room = RoomId::parse("r-102").unwrap();
    whole
        .create_hold(&new_hold("s-20", "u-bob", now), None, now)
        .await
        .unwrap();
    let expected = whole
        .list_slots(&room, &everything(now), now)
        .await
        .unwrap();

    // The room item and 16 slots, 5 items a page: 4 pages, each one request.
    let paged = DynamoStore::new(whole.client().clone(), whole.table()).with_page_size(5);
    counter.store(0, Ordering::SeqCst);
    let listed = paged
        .list_slots(&room, &everything(now), now)
        .await
        .unwrap();
    assert_eq!(counter.load(Ordering::SeqCst), 4);
    assert_eq!(listed, expected);
    assert_eq!(listed.len(), 16);
    assert!(
        listed
            .windows(2)
            .all(|w| w[0].slot.start_time < w[1].slot.start_time)
    );
    assert!(
        listed
            .iter()
            .any(|s| s.slot.id.as_str() == "s-20" && s.hold.is_some())
    );
}

// ── (c) 503 when DynamoDB is out of reach ───────────────────────────────────────────────────

#[tokio::test]
async fn an_unreachable_dynamodb_is_a_503_with_retry_after_in_bounded_time() {
    // A loopback port nobody listens on: every connection is refused at once.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = Client::from_conf(
        dynamodb_local::client_config(&format!("http://127.0.0.1:{port}")).build(),
    );
    let store = Arc::new(DynamoStore::new(client, "unreachable"));
    let now = now();

    let started = Instant::now();
    let listed = store
        .list_slots(&RoomId::parse("r-101").unwrap(), &everything(now), now)
        .await;
    let elapsed = started.elapsed();
    assert!(matches!(listed, Err(Error::Unavailable(_))), "{listed:?}");
    assert!(elapsed < StdDuration::from_secs(10), "took {elapsed:?}");
    let created = store
        .create_hold(&new_hold("s-1", "u-demo", now), None, now)
        .await;
    assert!(matches!(created, Err(Error::Unavailable(_))), "{created:?}");
    let confirmed = store
        .confirm_hold(HoldId::generate(&slot("s-1")), &user("u-demo"), None, now)
        .await;
    assert!(
        matches!(confirmed, Err(Error::Unavailable(_))),
        "{confirmed:?}"
    );

    let t = TestApp::with_store(store);
    for event in [
        Event::get("/slots?room_id=r-101"),
        Event::post(
            "/holds",
            serde_json::json!({ "slot_id": "s-1", "user_id": "u-demo" }),
        ),
    ] {
        let response = t.send(event).await;
        assert_eq!(
            response.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{response:?}"
        );
        assert_eq!(response.error_code(), "SERVICE_UNAVAILABLE");
        assert_eq!(response.header("retry-after"), Some("1"));
        assert!(
            !response.body.to_string().contains("dynamodb"),
            "no internals in the body: {:?}",
            response.body
        );
    }
}

#[tokio::test]
async fn publishing_sixty_days_of_a_schedule_costs_one_write_per_new_slot_and_nothing_the_second_time()
 {
    use shared::schedule::{self, RoomRules};
    let counter = Arc::new(AtomicUsize::new(0));
    let config = dynamodb_local::client_config(dynamodb_local::endpoint().await)
        .interceptor(CountRequests(counter.clone()))
        .build();
    let now = now();
    let store = demo_store(Client::from_conf(config), now).await;
    let room = RoomId::parse("r-101").unwrap();
    let mut room_101 = store.get_room(&room).await.unwrap().unwrap();
    room_101.policy.time_zone = "Europe/Berlin".into();
    let sched: schedule::Schedule = serde_json::from_value(serde_json::json!({
        "weekly": [
            { "days": ["MON", "TUE", "WED", "THU", "FRI"], "starts": ["17:00", "19:30"] },
            { "days": ["SAT", "SUN"], "starts": ["10:00", "12:30", "15:00", "17:30", "20:00"] }
        ]
    }))
    .unwrap();
    let rules = RoomRules {
        time_zone: "Europe/Berlin".parse().unwrap(),
        duration_minutes: 90,
        buffer_minutes: 30,
    };
    let planned = schedule::plan(&sched, &rules, &room, now, now + Duration::days(60));
    counter.store(0, Ordering::SeqCst);
    let started = Instant::now();
    let applied = store
        .apply_schedule(&room_101, &sched, &planned, now, now)
        .await
        .unwrap();
    let (first_requests, first_time) = (counter.load(Ordering::SeqCst), started.elapsed());
    counter.store(0, Ordering::SeqCst);
    let started = Instant::now();
    let again = store
        .apply_schedule(&room_101, &sched, &planned, now, now)
        .await
        .unwrap();
    let (second_requests, second_time) = (counter.load(Ordering::SeqCst), started.elapsed());
    eprintln!(
        "60 days, one room: {} slots planned; first publication: {} created, {} removed, \
         {first_requests} requests in {first_time:?}; again: {second_requests} requests in \
         {second_time:?}",
        planned.len(),
        applied.created,
        applied.removed
    );
    assert_eq!(applied.created, planned.len());
    assert_eq!(
        applied.removed, 16,
        "the demo slots the schedule does not have"
    );
    assert_eq!((again.created, again.removed), (0, 0));
    // The schedule, one listing page, a write per new slot and per removed slot.
    assert_eq!(first_requests, 1 + 1 + planned.len() + 16);
    assert_eq!(second_requests, 1 + 1);
}
