//! Reliability, each test bounded in time: two server processes writing to one SQLite file, bad
//! input on every route, a crash of the local server in the middle of a stream of confirms, and
//! DynamoDB Local stopped while requests are in flight.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use chrono::Duration;
use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, TestRunner};
use serde_json::{Value, json};
use shared::App;
use shared::clock::Clock;
use shared::config::Operators;
use shared::route::ROUTES;
use tokio::sync::Mutex;

use crate::harness::{
    Loopback, OPERATOR_TOKEN, StoreKind, TestApp, assert_status, http_reply, seeded,
};
use crate::processes::{PrivateDynamo, ServerProcess, free_port};

fn operators() -> Operators {
    Operators {
        token: Some(OPERATOR_TOKEN.into()),
        scope: None,
    }
}

// ── SQLite: two server processes on one file ────────────────────────────────────────────────

/// What one answer means for the checks after a run: which holds exist, which are booked.
#[derive(Default)]
struct Ledger {
    /// Holds answered 201: hold id → (slot, user).
    held: HashMap<String, (String, String)>,
    /// Confirms answered 200: hold id → slot.
    confirmed: HashMap<String, String>,
    /// Confirms answered 503: (hold id, user).
    refused_confirms: Vec<(String, String)>,
    /// 503s of any request.
    unavailable: usize,
    /// Answers 2xx from each of the two servers.
    succeeded_on: [usize; 2],
    requests: usize,
}

/// A 503 is SQLite's busy/locked after `busy_timeout` (5 s): the store refused to wait longer for
/// the other process's write lock. It is allowed under pressure, as the service's transient
/// answer (`SERVICE_UNAVAILABLE`, `Retry-After: 1`); a 500 never is.
fn assert_a_503_is_a_transient_refusal(reply: &crate::harness::Reply) {
    assert_status(reply, 503, Some("SERVICE_UNAVAILABLE"));
    assert_eq!(reply.header("retry-after"), Some("1"), "{reply:?}");
}

/// Two `escape-room-server` processes on one SQLite file, 32 clients holding 24 games through
/// one and confirming (or releasing) through the other for 3 seconds: real cross-process
/// contention on SQLite's write lock. Then every game was confirmed at most once, every confirm
/// answered 200 is read back as booked through both servers, nothing any answer refused (409, 503)
/// was written (every hold in the file was answered 201; a confirm answered 503 left its hold a
/// hold), the booked flags agree with the bookings, and `PRAGMA integrity_check` is `ok`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_server_processes_on_one_sqlite_file_book_each_game_once_and_keep_every_confirm() {
    const CLIENTS: usize = 32;
    const GAMES: usize = 24;
    const RUN: StdDuration = StdDuration::from_secs(3);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shared.db");
    // The first loads the demo venue into the new file; the second opens it as it is.
    let first = ServerProcess::start(&db).await;
    let second = ServerProcess::start(&db).await;
    let servers = Arc::new([first, second]);
    let http = reqwest::Client::new();
    let listed = http_reply(
        http.get(servers[0].url("/slots?room_id=r-101&limit=200"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let games: Vec<String> = listed.body["slots"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["status"] == "AVAILABLE")
        .map(|s| s["slot_id"].as_str().unwrap().to_owned())
        .take(GAMES)
        .collect();
    assert_eq!(games.len(), GAMES, "{listed:?}");
    let games = Arc::new(games);
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let started = Instant::now();
    let mut clients = tokio::task::JoinSet::new();
    for client in 0..CLIENTS {
        let (servers, games, ledger, http) =
            (servers.clone(), games.clone(), ledger.clone(), http.clone());
        clients.spawn(async move {
            let user = ["u-demo", "u-alice", "u-bob"][client % 3];
            let mut turn = client;
            while started.elapsed() < RUN {
                turn += 7;
                let game = &games[turn % games.len()];
                let (here, there) = (turn % 2, (turn + 1) % 2);
                let post = |server: usize, path: String, body: Value| {
                    let request = http.post(servers[server].url(&path)).json(&body);
                    let ledger = ledger.clone();
                    async move {
                        let reply = http_reply(request.send().await.unwrap()).await;
                        let mut ledger = ledger.lock().await;
                        ledger.requests += 1;
                        if reply.status.is_success() {
                            ledger.succeeded_on[server] += 1;
                        } else if reply.status.is_server_error() {
                            assert_a_503_is_a_transient_refusal(&reply);
                            ledger.unavailable += 1;
                        }
                        reply
                    }
                };
                let held = post(
                    here,
                    "/holds".into(),
                    json!({ "slot_id": game, "user_id": user }),
                )
                .await;
                let hold = match held.status.as_u16() {
                    201 => held.body["hold_id"].as_str().unwrap().to_owned(),
                    409 => {
                        assert_status(&held, 409, Some("SLOT_UNAVAILABLE"));
                        continue;
                    }
                    _ => continue, // a 503, checked above
                };
                ledger
                    .lock()
                    .await
                    .held
                    .insert(hold.clone(), (game.clone(), user.to_owned()));
                let action = if turn % 5 == 0 { "release" } else { "confirm" };
                let done = post(
                    there,
                    format!("/holds/{hold}/{action}"),
                    json!({ "user_id": user }),
                )
                .await;
                match (action, done.status.as_u16()) {
                    ("confirm", 200) => {
                        ledger.lock().await.confirmed.insert(hold, game.clone());
                    }
                    ("confirm", 503) => ledger
                        .lock()
                        .await
                        .refused_confirms
                        .push((hold, user.to_owned())),
                    (_, 200 | 503) => {}
                    _ => panic!("{action} of a live hold of its owner: {done:?}"),
                }
            }
        });
    }
    while let Some(done) = clients.join_next().await {
        done.unwrap();
    }
    let ledger = Arc::try_unwrap(ledger).ok().unwrap().into_inner();
    eprintln!(
        "two SQLite servers: {} requests in {:.1} s, {} holds, {} confirms, {} answered 503, \
         2xx per server {:?}",
        ledger.requests,
        started.elapsed().as_secs_f64(),
        ledger.held.len(),
        ledger.confirmed.len(),
        ledger.unavailable,
        ledger.succeeded_on
    );
    assert!(
        ledger.succeeded_on.iter().all(|n| *n > 10),
        "both processes wrote: {:?}",
        ledger.succeeded_on
    );
    let mut confirms_per_game: HashMap<&str, usize> = HashMap::new();
    for game in ledger.confirmed.values() {
        *confirms_per_game.entry(game).or_default() += 1;
    }
    assert!(
        confirms_per_game.values().all(|n| *n == 1),
        "a game confirmed twice: {confirms_per_game:?}"
    );
    // Read back through both processes.
    for (n, (hold, game)) in ledger.confirmed.iter().enumerate() {
        let server = &servers[n % 2];
        let user = &ledger.held[hold].1;
        let looked_up = http_reply(
            http.get(server.url(&format!("/holds/{hold}?user_id={user}")))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(looked_up.body["status"], "CONFIRMED", "{looked_up:?}");
        assert_eq!(looked_up.body["slot_id"], game.as_str());
    }
    for (hold, user) in &ledger.refused_confirms {
        let looked_up = http_reply(
            http.get(servers[0].url(&format!("/holds/{hold}?user_id={user}")))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(
            looked_up.body["status"], "HOLD",
            "a refused confirm: {looked_up:?}"
        );
    }
    let [first, second] = Arc::try_unwrap(servers).ok().unwrap();
    first.kill_9().await;
    second.kill_9().await;

    let file = rusqlite::Connection::open(&db).unwrap();
    let integrity: String = file
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
    let rows = |sql: &str| -> Vec<String> {
        let mut statement = file.prepare(sql).unwrap();
        statement
            .query_map([], |r| r.get::<_, String>(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let unanswered: Vec<String> = rows("SELECT id FROM holds")
        .into_iter()
        .filter(|id| !ledger.held.contains_key(id))
        .collect();
    assert!(
        unanswered.is_empty(),
        "holds no 201 answered (a refused write left a trace): {unanswered:?}"
    );
    let mut booked = rows("SELECT id FROM holds WHERE status = 'CONFIRMED'");
    let mut answered: Vec<String> = ledger.confirmed.keys().cloned().collect();
    booked.sort();
    answered.sort();
    assert_eq!(
        booked, answered,
        "the bookings are the confirms answered 200"
    );
    let disagreeing = rows(
        "SELECT id FROM time_slots s WHERE s.is_booked != EXISTS (
             SELECT 1 FROM holds h WHERE h.slot_id = s.id AND h.status = 'CONFIRMED')",
    );
    assert!(
        disagreeing.is_empty(),
        "booked flags that disagree with the bookings: {disagreeing:?}"
    );
}

// ── Bad input on every route ────────────────────────────────────────────────────────────────

/// One request of the fuzz: anything a client could send.
#[derive(Debug, Clone)]
struct Attack {
    method: &'static str,
    path: String,
    query: String,
    content_type: Option<String>,
    authorization: Option<String>,
    idempotency_key: Option<String>,
    body: Vec<u8>,
}

fn segment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("s-1".to_owned()),
        Just("r-101".to_owned()),
        Just("u-demo".to_owned()),
        Just("3f0c7a0e-1b2c-4d5e-8f90-1234567890ab".to_owned()),
        Just(String::new()),
        "[A-Za-z0-9._:~-]{1,80}",
        proptest::collection::vec(any::<u8>(), 1..24)
            .prop_map(|bytes| bytes.iter().map(|b| format!("%{b:02X}")).collect()),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        ".{0,40}".prop_map(Value::from),
        Just(json!("s-1")),
        Just(json!("u-demo")),
        Just(json!(4)),
        Just(json!("Europe/Berlin")),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            proptest::collection::btree_map(field(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn field() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "slot_id",
            "user_id",
            "players",
            "reason",
            "name",
            "time_zone",
            "min_players",
            "max_players",
            "duration_minutes",
            "buffer_minutes",
            "weekly",
            "closed",
            "days",
            "starts",
            "from",
            "to",
        ])
        .prop_map(str::to_owned),
        "[a-z_]{1,12}",
    ]
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(Vec::new()),
        proptest::collection::vec(any::<u8>(), 1..300),
        json_value().prop_map(|v| v.to_string().into_bytes()),
        proptest::collection::btree_map(field(), json_value(), 0..8).prop_map(|m| Value::Object(
            m.into_iter().collect()
        )
        .to_string()
        .into_bytes()),
        // Over the 64 KiB limit.
        Just(format!("{{\"slot_id\":\"s-1\",\"pad\":\"{}\"}}", "x".repeat(70_000)).into_bytes()),
    ]
}

fn attack() -> impl Strategy<Value = Attack> {
    // Each route with its own method (most requests reach a handler), and odd paths.
    let templates: Vec<(&'static str, &'static str)> = ROUTES
        .iter()
        .map(|r| (r.path, r.method))
        .chain(
            [
                "/",
                "/nope",
                "/holds/",
                "//slots",
                "/rooms/r-101/bookings/extra",
            ]
            .map(|path| (path, "GET")),
        )
        .collect();
    let query = proptest::collection::vec(
        (
            prop::sample::select(vec![
                "room_id", "user_id", "limit", "cursor", "from", "to", "x",
            ]),
            prop_oneof![
                segment(),
                Just("2026-12-01T00:00:00Z".to_owned()),
                Just("-1".to_owned()),
                Just("99999999999999999999".to_owned()),
            ],
        ),
        0..5,
    )
    .prop_map(|pairs| {
        pairs
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&")
    });
    (
        proptest::option::weighted(
            0.25,
            prop::sample::select(vec!["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]),
        ),
        prop::sample::select(templates),
        proptest::collection::vec(segment(), 3),
        query,
        proptest::option::of(prop::sample::select(vec![
            "application/json".to_owned(),
            "application/x-www-form-urlencoded".to_owned(),
            "text/plain; charset=latin1".to_owned(),
            "multipart/form-data; boundary=x".to_owned(),
        ])),
        proptest::option::of(prop_oneof![
            Just(format!("Bearer {OPERATOR_TOKEN}")),
            "Bearer [ -~]{0,40}",
            "[ -~]{0,40}",
        ]),
        proptest::option::of("[ -~]{0,300}"),
        body(),
    )
        .prop_map(
            |(other, (template, own), values, query, content_type, authorization, key, body)| {
                let method = other.unwrap_or(own);
                let mut values = values.into_iter();
                let path = template
                    .split('/')
                    .map(|part| {
                        if part.starts_with('{') {
                            values.next().unwrap_or_default()
                        } else {
                            part.to_owned()
                        }
                    })
                    .collect::<Vec<_>>()
                    .join("/");
                Attack {
                    method,
                    path,
                    query,
                    content_type,
                    authorization,
                    idempotency_key: key,
                    body,
                }
            },
        )
}

/// Random methods, paths, ids, query strings, headers and bodies (non-UTF-8, not JSON, JSON of
/// any shape, over 64 KiB) on every route of the local server, SQLite behind it: never a panic
/// (the connection would drop) or a 5xx; always a JSON answer, an error with its code and message.
#[test]
fn bad_input_on_every_route_is_always_answered_with_json_and_never_a_5xx() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (server, _seeded) = runtime.block_on(async {
        let seeded = seeded(StoreKind::Sqlite, chrono::Utc::now(), &[]).await;
        let app = App::new(seeded.store.clone(), Clock::System, Duration::seconds(300))
            .with_operators(operators());
        (Loopback::start(app).await, seeded)
    });
    // A new connection for every request: a connection the server closed after an earlier answer
    // (a 413 leaves the rest of its body unread) is never reused for the next case.
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let mut runner = TestRunner::new(ProptestConfig {
        cases: 400,
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    let statuses = std::sync::Mutex::new(std::collections::BTreeMap::<u16, usize>::new());
    runner
        .run(&attack(), |attack| {
            let (status, content_type, bytes) = runtime.block_on(async {
                let url = if attack.query.is_empty() {
                    server.url(&attack.path)
                } else {
                    server.url(&format!("{}?{}", attack.path, attack.query))
                };
                let method = reqwest::Method::from_bytes(attack.method.as_bytes()).unwrap();
                let send = || {
                    let mut request = client
                        .request(method.clone(), &url)
                        .body(attack.body.clone());
                    for (name, value) in [
                        ("content-type", &attack.content_type),
                        ("authorization", &attack.authorization),
                        ("idempotency-key", &attack.idempotency_key),
                    ] {
                        if let Some(value) = value {
                            request = request.header(name, value);
                        }
                    }
                    request.send()
                };
                // Sent twice before it counts as no answer: a request that makes the server drop
                // its connection (a panic) does so every time.
                let response = match send().await {
                    Ok(response) => response,
                    Err(_) => send()
                        .await
                        .unwrap_or_else(|e| panic!("no answer (a panic?) to {attack:?}: {e}")),
                };
                let status = response.status().as_u16();
                let content_type = response
                    .headers()
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                (status, content_type, response.bytes().await.unwrap())
            });
            *statuses.lock().unwrap().entry(status).or_default() += 1;
            prop_assert!(status < 500, "{status} for {attack:?}: {bytes:?}");
            if content_type.starts_with("application/json") {
                let body: Value = serde_json::from_slice(&bytes)
                    .map_err(|e| TestCaseError::fail(format!("not JSON ({e}) for {attack:?}")))?;
                if status >= 400 {
                    prop_assert!(
                        body["error"].is_string() && body["message"].is_string(),
                        "{body}"
                    );
                }
            } else {
                // Only the pages and the docs are not JSON.
                prop_assert!(
                    shared::pages::find(&attack.path).is_some()
                        || server::docs::asset(&attack.path).is_some(),
                    "{status} {content_type} for {attack:?}"
                );
            }
            Ok(())
        })
        .unwrap();
    eprintln!(
        "bad input: answers by status {:?}",
        statuses.lock().unwrap()
    );
    runtime.block_on(server.stop());
}

// ── A crash of the local server ─────────────────────────────────────────────────────────────

/// Four clients hold and confirm games as fast as they can; the server is killed with SIGKILL in
/// the middle; started again on the same file, it still has every booking whose confirm was
/// answered 200.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_confirm_answered_200_survives_a_kill_9_of_the_sqlite_server() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crash.db");
    let server = ServerProcess::start(&db).await;
    let base = server.base.clone();
    let client = reqwest::Client::new();
    let slots: Vec<String> = client
        .get(format!("{base}/slots?room_id=r-101&limit=200"))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap()["slots"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["status"] == "AVAILABLE")
        .map(|s| s["slot_id"].as_str().unwrap().to_owned())
        .collect();
    assert!(slots.len() >= 40, "{} demo games", slots.len());
    let queue = Arc::new(Mutex::new(slots));
    let confirmed = Arc::new(Mutex::new(Vec::<String>::new()));
    // How many confirms were answered 200 so far, for the kill to wait on.
    let (count, mut counted) = tokio::sync::watch::channel(0usize);
    let count = Arc::new(count);
    let mut clients = tokio::task::JoinSet::new();
    for _ in 0..4 {
        let (queue, confirmed, count, client, base) = (
            queue.clone(),
            confirmed.clone(),
            count.clone(),
            client.clone(),
            base.clone(),
        );
        clients.spawn(async move {
            loop {
                let Some(slot) = queue.lock().await.pop() else {
                    return;
                };
                let Ok(held) = client
                    .post(format!("{base}/holds"))
                    .json(&json!({ "slot_id": slot, "user_id": "u-demo" }))
                    .send()
                    .await
                else {
                    return; // the server is gone
                };
                let Ok(held) = held.json::<Value>().await else {
                    return;
                };
                let hold = held["hold_id"].as_str().unwrap().to_owned();
                let Ok(done) = client
                    .post(format!("{base}/holds/{hold}/confirm"))
                    .json(&json!({ "user_id": "u-demo" }))
                    .send()
                    .await
                else {
                    return;
                };
                if done.status() == 200 {
                    confirmed.lock().await.push(hold);
                    count.send_modify(|n| *n += 1);
                }
            }
        });
    }
    // Kill it once a few confirms are in, while the clients are still writing.
    tokio::time::timeout(StdDuration::from_secs(20), counted.wait_for(|n| *n >= 10))
        .await
        .expect("ten confirms within 20 s")
        .unwrap();
    server.kill_9().await;
    while let Some(done) = clients.join_next().await {
        done.unwrap();
    }
    let confirmed = confirmed.lock().await.clone();
    let left = queue.lock().await.len();
    assert!(left > 0, "killed while the clients were still booking");

    let again = ServerProcess::start(&db).await;
    for hold in &confirmed {
        let looked_up: Value = client
            .get(again.url(&format!("/holds/{hold}?user_id=u-demo")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(looked_up["status"], "CONFIRMED", "{hold}: {looked_up:?}");
    }
    eprintln!(
        "crash test: {} confirms answered 200 before the kill, all booked after the restart",
        confirmed.len()
    );
    again.kill_9().await;
}

// ── DynamoDB Local goes away ────────────────────────────────────────────────────────────────

/// The longest any request may take to be answered while DynamoDB goes away: the store's
/// operation timeout (4 s, all retries included; `shared::store::dynamo::timeout_config`) for the
/// one DynamoDB request of each operation, plus 1 s.
const ANSWER_BOUND: StdDuration = StdDuration::from_secs(5);

/// What each hold must be once DynamoDB is back, from the answers its requests got.
#[derive(Default)]
struct Fates {
    /// Hold id → (user, slot, the status its answers leave it in).
    holds: HashMap<String, (String, String, &'static str)>,
    /// Every request: (sent, answered, status).
    timings: Vec<(Instant, Instant, u16)>,
    /// 503s per operation.
    refused: BTreeMap<&'static str, usize>,
}

/// Twelve clients hold, confirm and cancel games on DynamoDB as fast as they can; DynamoDB stops
/// while their requests are in flight (SIGTERM, then it exits); once every client has been
/// answered 503 twice, it starts again on the same data. Every request was answered within
/// [`ANSWER_BOUND`], with a 2xx, a 409 for a taken game, or a 503 with `Retry-After` (never a
/// 500); every 2xx survived (each hold is exactly what its answers said), and every 503 left no
/// trace (a refused create made no hold, a refused confirm left a hold, a refused cancel a
/// booking). The service answers again as soon as DynamoDB is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn with_dynamodb_stopped_while_creates_and_confirms_are_in_flight_every_2xx_survives_and_every_503_left_no_trace()
 {
    use shared::store::Provision;
    const CLIENTS: usize = 12;
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let dynamo = PrivateDynamo::start(dir.path(), port).await;
    let endpoint = format!("http://127.0.0.1:{port}");
    let client = aws_sdk_dynamodb::Client::from_conf(
        crate::dynamodb_local::client_config(&endpoint).build(),
    );
    let table = crate::dynamodb_local::fresh_table(&client).await;
    let store = shared::store::dynamo::DynamoStore::new(client, table);
    // Loading is idempotent: tried again while the new JVM is still slow to answer.
    let fixture = shared::seed::fixture(chrono::Utc::now()).unwrap();
    crate::harness::poll_until(
        "the fixture loaded",
        StdDuration::from_secs(60),
        StdDuration::from_millis(100),
        || async { store.load(&fixture).await.ok() },
    )
    .await;
    let t = Arc::new(TestApp::with_store(Arc::new(store)));
    let mut games: Vec<(String, String)> = Vec::new();
    for room in ["r-101", "r-102"] {
        for slot in t.slots(room, None).await {
            games.push((room.into(), slot["slot_id"].as_str().unwrap().to_owned()));
        }
    }
    let games = Arc::new(games);
    let fates = Arc::new(Mutex::new(Fates::default()));
    let (confirms, mut confirmed) = tokio::sync::watch::channel(0usize);
    let confirms = Arc::new(confirms);
    let (gone, _) = tokio::sync::watch::channel(false);
    let gone = Arc::new(gone);
    let started = Instant::now();
    let mut clients = tokio::task::JoinSet::new();
    for client in 0..CLIENTS {
        let (t, games, fates, confirms, gone) = (
            t.clone(),
            games.clone(),
            fates.clone(),
            confirms.clone(),
            gone.subscribe(),
        );
        clients.spawn(async move {
            let user = ["u-demo", "u-alice", "u-bob"][client % 3];
            let (mut turn, mut refused_since_gone) = (client, 0);
            // One request, timed and checked: a 2xx, a 409 (the game is taken) or a 503.
            let timed = |operation: &'static str, reply: crate::harness::Reply, sent: Instant| {
                let fates = fates.clone();
                async move {
                    let mut fates = fates.lock().await;
                    fates
                        .timings
                        .push((sent, Instant::now(), reply.status.as_u16()));
                    if reply.status == 503 {
                        assert_eq!(reply.header("retry-after"), Some("1"), "{reply:?}");
                        assert_status(&reply, 503, Some("SERVICE_UNAVAILABLE"));
                        *fates.refused.entry(operation).or_default() += 1;
                    }
                    reply
                }
            };
            while refused_since_gone < 2 {
                assert!(
                    started.elapsed() < StdDuration::from_secs(60),
                    "clients ran 60 s"
                );
                turn += 5;
                let slot = &games[turn % games.len()].1;
                let sent = Instant::now();
                let was_gone = *gone.borrow();
                let held = timed("create", t.create_hold(slot, user).await, sent).await;
                let hold = match held.status.as_u16() {
                    201 => held.body["hold_id"].as_str().unwrap().to_owned(),
                    409 => {
                        assert_status(&held, 409, Some("SLOT_UNAVAILABLE"));
                        continue;
                    }
                    503 => {
                        refused_since_gone += usize::from(was_gone);
                        continue;
                    }
                    _ => panic!("create: {held:?}"),
                };
                let fate = |status: &'static str| {
                    let (fates, hold, slot) = (fates.clone(), hold.clone(), slot.clone());
                    async move {
                        fates
                            .lock()
                            .await
                            .holds
                            .insert(hold, (user.to_owned(), slot, status));
                    }
                };
                fate("HOLD").await;
                let sent = Instant::now();
                let was_gone = *gone.borrow();
                let done = timed("confirm", t.confirm(&hold, user).await, sent).await;
                match done.status.as_u16() {
                    200 => {
                        fate("CONFIRMED").await;
                        confirms.send_modify(|n| *n += 1);
                    }
                    503 => {
                        refused_since_gone += usize::from(was_gone);
                        continue;
                    }
                    _ => panic!("confirm: {done:?}"),
                }
                let sent = Instant::now();
                let was_gone = *gone.borrow();
                let cancelled = timed("cancel", t.cancel(&hold, user).await, sent).await;
                match cancelled.status.as_u16() {
                    200 => fate("CANCELLED").await,
                    503 => refused_since_gone += usize::from(was_gone),
                    _ => panic!("cancel: {cancelled:?}"),
                }
            }
        });
    }
    // Stop it mid-stream, once a few bookings are through.
    tokio::time::timeout(StdDuration::from_secs(30), confirmed.wait_for(|n| *n >= 10))
        .await
        .expect("ten confirms within 30 s")
        .unwrap();
    let stopping = Instant::now();
    dynamo.stop().await;
    gone.send_replace(true);
    eprintln!(
        "DynamoDB Local stopped (SIGTERM) in {:?}",
        stopping.elapsed()
    );
    while let Some(done) = clients.join_next().await {
        done.unwrap();
    }
    // While it is gone, reads are refused alike.
    let first = fates.lock().await.holds.keys().next().cloned().unwrap();
    for reply in [
        t.list("r-101", None).await,
        t.look_up(&first, "u-demo").await,
    ] {
        assert_status(&reply, 503, Some("SERVICE_UNAVAILABLE"));
    }
    let fates = Arc::try_unwrap(fates).ok().unwrap().into_inner();
    let in_flight = fates
        .timings
        .iter()
        .filter(|(sent, answered, _)| *sent < stopping && stopping < *answered)
        .count();
    let slowest = fates
        .timings
        .iter()
        .map(|(sent, answered, _)| *answered - *sent)
        .max()
        .unwrap();
    eprintln!(
        "DynamoDB stopped mid-run: {} requests, {in_flight} in flight at the SIGTERM, 503s {:?}, \
         slowest answer {slowest:?}, {} holds",
        fates.timings.len(),
        fates.refused,
        fates.holds.len()
    );
    assert!(
        in_flight > 0,
        "requests were in flight when DynamoDB stopped"
    );
    assert!(
        slowest <= ANSWER_BOUND,
        "every answer within {ANSWER_BOUND:?}: {slowest:?}"
    );
    let refused_creates = fates.refused.get("create").copied().unwrap_or_default();
    assert!(refused_creates >= CLIENTS, "{:?}", fates.refused);

    let back = PrivateDynamo::start(dir.path(), port).await;
    for (hold, (user, _, status)) in &fates.holds {
        let looked_up = t.look_up(hold, user).await;
        assert_status(&looked_up, 200, None);
        assert_eq!(looked_up.body["status"], *status, "{hold}: {looked_up:?}");
    }
    for user in ["u-demo", "u-alice", "u-bob"] {
        let mine = t.bookings_of(user).await;
        for listed in mine.body["holds"].as_array().unwrap() {
            let hold = listed["hold_id"].as_str().unwrap();
            let fate = fates.holds.get(hold).map(|(_, _, status)| *status);
            assert_eq!(
                Some(listed["status"].as_str().unwrap()),
                fate,
                "a hold no 201 answered, or not as answered: {listed}"
            );
        }
    }
    for (room, slot) in games.iter() {
        let live: Vec<&str> = fates
            .holds
            .values()
            .filter(|(_, held, status)| held == slot && *status != "CANCELLED")
            .map(|(_, _, status)| *status)
            .collect();
        assert!(live.len() <= 1, "{slot} held or booked twice: {live:?}");
        let expected = match live.first().copied() {
            Some("CONFIRMED") => "BOOKED",
            Some(_) => "HELD_BY_OTHER",
            None => "AVAILABLE",
        };
        assert_eq!(t.status_of(room, slot, None).await, expected, "{slot}");
    }
    let free = games
        .iter()
        .find(|(_, slot)| {
            !fates
                .holds
                .values()
                .any(|(_, held, s)| held == slot && *s != "CANCELLED")
        })
        .map(|(_, slot)| slot.clone())
        .expect("a game nobody holds");
    let hold = t.hold(&free, "u-bob").await;
    assert_status(&t.confirm(&hold, "u-bob").await, 200, None);
    back.stop().await;
}
