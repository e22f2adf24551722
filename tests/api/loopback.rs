//! The local server over real TCP on 127.0.0.1: the 50-way race on both stores, routing, the body
//! limit, curl's form content type, and stopping. (Every contract scenario also runs over
//! loopback: `contract::loopback::*`.)

use std::sync::Arc;

use chrono::Duration;
use serde_json::json;
use shared::App;
use shared::clock::Clock;
use shared::domain::UserId;

use crate::harness::{Loopback, StoreKind, TestApp, Via, assert_status, http_reply, seeded};

/// The local server on a fresh SQLite store with the demo data, on the system clock.
async fn sqlite_server() -> (Loopback, crate::harness::Seeded) {
    let seeded = seeded(StoreKind::Sqlite, chrono::Utc::now(), &[]).await;
    let app = App::new(seeded.store.clone(), Clock::System, Duration::seconds(300))
        .with_caps(shared::config::Caps::OFF);
    (Loopback::start(app).await, seeded)
}

/// Fifty users post a hold on one slot at the same instant over HTTP: exactly one 201, 49 × 409.
async fn fifty_concurrent_holds_on_one_slot_have_exactly_one_winner(kind: StoreKind) {
    let racers: Vec<UserId> = (1..=50)
        .map(|i| UserId::parse(&format!("u-racer-{i}")).unwrap())
        .collect();
    let t = Arc::new(TestApp::start(Via::Loopback, kind, &racers).await);
    let barrier = Arc::new(tokio::sync::Barrier::new(racers.len()));
    let tasks: Vec<_> = racers
        .iter()
        .map(|user| {
            let (t, barrier, user) = (t.clone(), barrier.clone(), user.to_string());
            tokio::spawn(async move {
                barrier.wait().await;
                t.create_hold("s-5", &user).await.status.as_u16()
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.unwrap());
    }
    let created = statuses.iter().filter(|s| **s == 201).count();
    let conflicts = statuses.iter().filter(|s| **s == 409).count();
    assert_eq!((created, conflicts), (1, 49), "statuses: {statuses:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_holds_on_one_slot_over_loopback_have_exactly_one_winner_on_sqlite() {
    fifty_concurrent_holds_on_one_slot_have_exactly_one_winner(StoreKind::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_holds_on_one_slot_over_loopback_have_exactly_one_winner_on_dynamodb() {
    fifty_concurrent_holds_on_one_slot_have_exactly_one_winner(StoreKind::Dynamodb).await;
}

#[tokio::test]
async fn the_readme_flow_works_over_http_with_curls_form_content_type() {
    let (server, _store) = sqlite_server().await;
    let client = server.client();
    let list = http_reply(
        client
            .get(server.url("/slots?room_id=r-101&user_id=u-demo"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_status(&list, 200, None);
    assert_eq!(list.body["slots"][0]["status"], "AVAILABLE");

    // Posted as curl does by default: form content type, JSON body.
    let created = http_reply(
        client
            .post(server.url("/holds"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(r#"{"slot_id":"s-1","user_id":"u-demo"}"#)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_status(&created, 201, None);
    let hold_id = created.body["hold_id"].as_str().unwrap();
    assert_eq!(
        created.header("location"),
        Some(format!("/holds/{hold_id}").as_str())
    );

    let confirm = http_reply(
        client
            .post(server.url(&format!("/holds/{hold_id}/confirm")))
            .json(&json!({ "user_id": "u-demo" }))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_status(&confirm, 200, None);
    assert_eq!(
        crate::harness::booking_fields_aside(&confirm.body),
        json!({ "hold_id": hold_id, "slot_id": "s-1", "status": "CONFIRMED" })
    );
    server.stop().await;
}

#[tokio::test]
async fn unknown_paths_return_404_and_wrong_methods_405_as_json() {
    let (server, _store) = sqlite_server().await;
    let client = server.client();
    let unknown = http_reply(client.get(server.url("/nope")).send().await.unwrap()).await;
    assert_status(&unknown, 404, Some("ROUTE_NOT_FOUND"));
    let delete = http_reply(
        client
            .delete(server.url("/slots?room_id=r-101"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_status(&delete, 405, Some("METHOD_NOT_ALLOWED"));
    let get_holds = http_reply(client.get(server.url("/holds")).send().await.unwrap()).await;
    assert_status(&get_holds, 405, Some("METHOD_NOT_ALLOWED"));
    server.stop().await;
}

#[tokio::test]
async fn a_body_over_64_kib_is_refused_with_413_over_http() {
    let (server, _store) = sqlite_server().await;
    let body = format!(
        r#"{{"slot_id":"s-1","user_id":"u-demo","pad":"{}"}}"#,
        "x".repeat(70_000)
    );
    let response = server
        .client()
        .post(server.url("/holds"))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_status(&http_reply(response).await, 413, Some("PAYLOAD_TOO_LARGE"));
    server.stop().await;
}

#[tokio::test]
async fn the_server_stops_when_asked_and_the_port_closes() {
    let (server, _store) = sqlite_server().await;
    let addr = server.addr;
    server.stop().await;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

#[tokio::test]
async fn the_local_server_serves_the_openapi_document_and_its_docs_page() {
    let (server, _store) = sqlite_server().await;
    let client = server.client();
    let get = |path: &str| client.get(server.url(path)).send();
    let spec = get("/openapi.yaml").await.unwrap();
    assert_eq!(spec.status(), 200);
    assert_eq!(spec.headers()["content-type"], "application/yaml");
    let text = spec.text().await.unwrap();
    assert!(
        text.starts_with("openapi: 3.1") || text.contains("\nopenapi: 3.1"),
        "{}",
        &text[..80]
    );
    assert_eq!(text, server::docs::OPENAPI_YAML);
    let page = get("/docs").await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = page.text().await.unwrap();
    assert!(html.contains("/openapi.yaml") && html.contains("/docs/rapidoc-min.js"));
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "nothing from elsewhere"
    );
    let script = get("/docs/rapidoc-min.js").await.unwrap();
    assert_eq!(script.status(), 200);
    assert!(script.text().await.unwrap().len() > 100_000);
    server.stop().await;
}

#[tokio::test]
async fn a_cancellation_cut_off_refuses_cancelling_too_close_to_the_start() {
    for kind in [StoreKind::Sqlite, StoreKind::Dynamodb] {
        let t = TestApp::start_with_cutoff(Via::Loopback, kind, &[], Duration::hours(2)).await;
        t.advance_to_before_start("r-101", "s-1", 3 * 3600).await;
        let early = t.hold("s-1", "u-alice").await;
        assert_status(&t.confirm(&early, "u-alice").await, 200, None);
        assert_status(&t.cancel(&early, "u-alice").await, 200, None);
        let late = t.hold("s-1", "u-alice").await;
        assert_status(&t.confirm(&late, "u-alice").await, 200, None);
        t.advance(3600 + 1);
        assert_status(
            &t.cancel(&late, "u-alice").await,
            409,
            Some("CANCEL_CUTOFF"),
        );
        assert_eq!(t.status_of("r-101", "s-1", None).await, "BOOKED");
    }
}

/// The horizon moves by itself: a day later, a daily run adds that day's slots, and two runs at
/// once add them once (the local server runs `extend_horizons` at start and daily; on AWS the
/// `extend-horizon` function does, from an EventBridge rule).
async fn the_horizon_moves_a_day_at_a_time(kind: StoreKind) {
    let clock = shared::clock::ManualClock::starting_at(chrono::Utc::now());
    let seeded = seeded(kind, clock.now(), &[]).await;
    let app = App::new(
        seeded.store.clone(),
        Clock::Manual(clock.clone()),
        Duration::seconds(300),
    )
    .with_caps(shared::config::Caps::OFF)
    .with_operators(
        shared::config::Operators::default()
            .with_token("desk", crate::harness::OPERATOR_TOKEN)
            .unwrap(),
    );
    assert!(
        shared::horizon::extend_horizons(app.store.as_ref(), app.clock.now())
            .await
            .unwrap()
            .is_empty(),
        "no schedule yet"
    );
    let server = Loopback::start(app.clone()).await;
    let put = |path: &str, body: serde_json::Value| {
        server
            .client()
            .put(server.url(path))
            .bearer_auth(crate::harness::OPERATOR_TOKEN)
            .json(&body)
            .send()
    };
    let room = json!({ "name": "The Vault", "time_zone": "America/New_York", "min_players": 2,
                       "max_players": 6, "duration_minutes": 60, "max_advance_days": 7 });
    assert_status(
        &http_reply(put("/rooms/r-vault", room).await.unwrap()).await,
        201,
        None,
    );
    let daily = json!({ "weekly": [{ "days": ["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"],
                                      "starts": ["11:00", "19:00"] }] });
    let published = http_reply(put("/rooms/r-vault/schedule", daily).await.unwrap()).await;
    assert_status(&published, 200, None);
    assert!(
        shared::horizon::extend_horizons(app.store.as_ref(), app.clock.now())
            .await
            .unwrap()[0]
            .created
            == 0,
        "nothing new the same day"
    );

    clock.advance(Duration::days(1));
    let (first, second) = tokio::join!(
        shared::horizon::extend_horizons(app.store.as_ref(), app.clock.now()),
        shared::horizon::extend_horizons(app.store.as_ref(), app.clock.now())
    );
    let created: usize = first.unwrap()[0].created + second.unwrap()[0].created;
    assert_eq!(created, 2, "the new day's two games, once");
    assert_eq!(
        shared::horizon::extend_horizons(app.store.as_ref(), app.clock.now())
            .await
            .unwrap()[0]
            .created,
        0
    );
    server.stop().await;
}

#[tokio::test]
async fn the_horizon_moves_a_day_at_a_time_on_sqlite() {
    the_horizon_moves_a_day_at_a_time(StoreKind::Sqlite).await;
}

#[tokio::test]
async fn the_horizon_moves_a_day_at_a_time_on_dynamodb() {
    the_horizon_moves_a_day_at_a_time(StoreKind::Dynamodb).await;
}

/// A newcomer's first start: a new database becomes the demo venue, whose rooms are defined by
/// weekly schedules in Berlin, so the coming weeks have slots whenever the server starts.
#[tokio::test]
async fn a_new_database_opens_as_the_demo_venue_with_the_coming_weeks_of_slots() {
    let dir = tempfile::tempdir().unwrap();
    let config = shared::config::StoreConfig::Sqlite {
        durability: shared::config::Durability::Normal,
        path: dir.path().join("venue.db"),
    };
    let store = shared::app::open_store(&config).await.unwrap();
    let app = App::new(store.clone(), Clock::System, Duration::seconds(300))
        .with_caps(shared::config::Caps::OFF);
    let t = TestApp::with_store(store);
    let rooms = t.get("/rooms").await;
    let zones: Vec<(&str, &str)> = rooms.body["rooms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["room_id"].as_str().unwrap(),
                r["time_zone"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        zones,
        [("r-101", "Europe/Berlin"), ("r-102", "Europe/Berlin")]
    );
    for room in ["r-101", "r-102"] {
        assert_status(&t.get(&format!("/rooms/{room}/schedule")).await, 200, None);
        let in_four_weeks = (chrono::Utc::now() + Duration::days(27)).to_rfc3339();
        let later = t
            .get(&format!(
                "/slots?room_id={room}&from={}",
                in_four_weeks.replace('+', "%2B")
            ))
            .await;
        assert_status(&later, 200, None);
        assert!(
            !later.body["slots"].as_array().unwrap().is_empty(),
            "{room} has games four weeks ahead"
        );
        let first = &t.slots(room, None).await[0];
        assert!(
            first["slot_id"]
                .as_str()
                .unwrap()
                .starts_with(&format!("{room}.")),
            "{first}"
        );
    }
    // Opening it again changes nothing; the horizon run finds nothing to add.
    let runs = shared::horizon::extend_horizons(app.store.as_ref(), app.clock.now())
        .await
        .unwrap();
    assert_eq!(runs.iter().map(|r| r.created).sum::<usize>(), 0, "{runs:?}");
}

/// Path segments are percent-decoded as API Gateway decodes path parameters: `r-10%31` is
/// `r-101`; a segment that is not UTF-8 once decoded is a 422, never a 5xx.
#[tokio::test]
async fn percent_encoded_path_segments_name_the_same_resource() {
    let (server, _store) = sqlite_server().await;
    let server = &server;
    let get = |path: &'static str| async move {
        http_reply(server.client().get(server.url(path)).send().await.unwrap()).await
    };
    let room = get("/rooms/r-10%31").await;
    assert_status(&room, 200, None);
    assert_eq!(room.body["room_id"], "r-101");
    assert_status(&get("/rooms/r-%FF").await, 422, Some("VALIDATION_ERROR"));
}
