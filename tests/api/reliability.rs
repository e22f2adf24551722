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
    Loopback, OPERATOR_TOKEN, Reply, StoreKind, TestApp, assert_status, http_reply, seeded,
};
use crate::processes::{PrivateDynamo, ServerProcess};

fn operators() -> Operators {
    Operators::default()
        .with_token("desk", OPERATOR_TOKEN)
        .unwrap()
}

// ── SQLite: two server processes on one file ────────────────────────────────────────────────

/// What the answers of a run say the file must hold.
#[derive(Default)]
struct Ledger {
    /// Every hold answered 201: hold id → (game, user, the status its later answers leave it in:
    /// `HOLD`, `CONFIRMED` after a 200 confirm, `CANCELLED` after a 200 cancel).
    holds: HashMap<String, (String, String, &'static str)>,
    /// 503s of any request.
    unavailable: usize,
    /// Answers 2xx from each of the two servers.
    succeeded_on: [usize; 2],
    requests: usize,
}

/// A 503 is SQLite's busy/locked after `busy_timeout` (5 s): the store refused to wait longer for
/// the other process's write lock. It is allowed under pressure, as the service's transient
/// answer (`SERVICE_UNAVAILABLE`, `Retry-After: 1`) of a request that changed nothing; a 500
/// never is.
fn assert_a_503_is_a_transient_refusal(reply: &Reply) {
    assert_status(reply, 503, Some("SERVICE_UNAVAILABLE"));
    assert_eq!(reply.header("retry-after"), Some("1"), "{reply:?}");
}

/// Two `escape-room-server` processes on one SQLite file; 32 clients for 3 seconds hold games
/// through one, confirm through the other and cancel most bookings again (about one in 25 is kept),
/// so eight games are free and fought over all along: real cross-process contention on SQLite's write
/// lock. No answer is a 500 (a 503 is allowed, see [`assert_a_503_is_a_transient_refusal`]).
/// Then the file holds exactly what the answers said: every hold answered 201 and no other (a
/// refused write left no trace), each in the state its answers left it (every 200 confirm still
/// booked unless a cancel was answered 200), read back through both servers; no game is booked
/// twice, the booked flags agree with the bookings, and `PRAGMA integrity_check` is `ok`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_server_processes_on_one_sqlite_file_book_each_game_once_and_keep_every_confirm() {
    const CLIENTS: usize = 32;
    const GAMES: usize = 8;
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
            let mut round = 0;
            while started.elapsed() < RUN {
                round += 1;
                // Clients c, c + 8, c + 16 and c + 24 go for the same game in each round, two
                // of them through each server.
                let game = &games[(client + 7 * round) % GAMES];
                let here = (client + client / GAMES + round) % 2;
                let there = 1 - here;
                let post = |server: usize, path: String| {
                    let body = json!({ "slot_id": game, "user_id": user });
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
                let fate = |hold: &str, status: &'static str| {
                    let (ledger, hold) = (ledger.clone(), hold.to_owned());
                    let value = (game.clone(), user.to_owned(), status);
                    async move { ledger.lock().await.holds.insert(hold, value) }
                };
                let held = post(here, "/holds".into()).await;
                let hold = match held.status.as_u16() {
                    201 => held.body["hold_id"].as_str().unwrap().to_owned(),
                    409 => {
                        assert_status(&held, 409, Some("SLOT_UNAVAILABLE"));
                        continue;
                    }
                    _ => continue, // a 503, checked above
                };
                fate(&hold, "HOLD").await;
                let confirmed = post(there, format!("/holds/{hold}/confirm")).await;
                match confirmed.status.as_u16() {
                    200 => fate(&hold, "CONFIRMED").await,
                    503 => continue,
                    _ => panic!("confirm of a live hold by its owner: {confirmed:?}"),
                };
                if (client + round) % 25 == 0 {
                    continue; // kept
                }
                let cancelled = post(here, format!("/holds/{hold}/cancel")).await;
                match cancelled.status.as_u16() {
                    200 => {
                        fate(&hold, "CANCELLED").await;
                    }
                    503 => {}
                    _ => panic!("cancel of a booking by its owner: {cancelled:?}"),
                }
            }
        });
    }
    while let Some(done) = clients.join_next().await {
        done.unwrap();
    }
    let ledger = Arc::try_unwrap(ledger).ok().unwrap().into_inner();
    let booked = |status: &str| ledger.holds.values().filter(|h| h.2 == status).count();
    eprintln!(
        "two SQLite servers: {} requests in {:.1} s, {} holds, {} kept bookings, {} cancelled, \
         {} answered 503, 2xx per server {:?}",
        ledger.requests,
        started.elapsed().as_secs_f64(),
        ledger.holds.len(),
        booked("CONFIRMED"),
        booked("CANCELLED"),
        ledger.unavailable,
        ledger.succeeded_on
    );
    assert!(
        ledger.succeeded_on.iter().all(|n| *n > 10),
        "both processes wrote: {:?}",
        ledger.succeeded_on
    );
    // Read back through both processes.
    for (n, (hold, (game, user, status))) in ledger.holds.iter().enumerate() {
        let looked_up = http_reply(
            http.get(servers[n % 2].url(&format!("/holds/{hold}?user_id={user}")))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(looked_up.body["status"], *status, "{looked_up:?}");
        assert_eq!(looked_up.body["slot_id"], game.as_str());
    }
    let [first, second] = Arc::try_unwrap(servers).ok().unwrap();
    first.kill_9().await;
    second.kill_9().await;

    let file = rusqlite::Connection::open(&db).unwrap();
    let integrity: String = file
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
    let rows = |sql: &str| -> Vec<(String, String)> {
        let mut statement = file.prepare(sql).unwrap();
        statement
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let stored: HashMap<String, String> =
        rows("SELECT id, status FROM holds").into_iter().collect();
    let answered: HashMap<String, String> = ledger
        .holds
        .iter()
        .map(|(hold, (_, _, status))| (hold.clone(), (*status).to_owned()))
        .collect();
    assert_eq!(
        stored, answered,
        "the file holds exactly the holds answered 201, each as its answers left it"
    );
    let twice = rows(
        "SELECT slot_id, COUNT(*) || '' FROM holds WHERE status = 'CONFIRMED'
         GROUP BY slot_id HAVING COUNT(*) > 1",
    );
    assert!(twice.is_empty(), "games booked twice: {twice:?}");
    let disagreeing = rows(
        "SELECT id, is_booked || '' FROM time_slots s WHERE s.is_booked != EXISTS (
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
            .with_caps(shared::config::Caps::OFF)
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

/// Sixteen clients hold and confirm games as fast as they can, so that the writer commits them in
/// batches (group commit); the server is killed with SIGKILL in the middle; started again on the
/// same file, it still has every hold answered 201 and every booking whose confirm was answered
/// 200, and no half write: the file is intact and every booked slot has exactly its one
/// confirmed hold (a confirm writes both in one savepoint of one batch).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_write_answered_survives_a_kill_9_of_the_sqlite_server_and_no_batch_is_half_written()
{
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
    let held = Arc::new(Mutex::new(Vec::<String>::new()));
    // How many confirms were answered 200 so far, for the kill to wait on.
    let (count, mut counted) = tokio::sync::watch::channel(0usize);
    let count = Arc::new(count);
    let mut clients = tokio::task::JoinSet::new();
    for _ in 0..16 {
        let (queue, confirmed, held_ids, count, client, base) = (
            queue.clone(),
            confirmed.clone(),
            held.clone(),
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
                if held.status() != 201 {
                    return;
                }
                let Ok(answer) = held.json::<Value>().await else {
                    return;
                };
                let hold = answer["hold_id"].as_str().unwrap().to_owned();
                held_ids.lock().await.push(hold.clone());
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

    let held = held.lock().await.clone();
    no_half_write_in(&db);

    let again = ServerProcess::start(&db).await;
    for hold in &held {
        let looked_up: Value = client
            .get(again.url(&format!("/holds/{hold}?user_id=u-demo")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let status = looked_up["status"].as_str().unwrap_or_default();
        assert!(
            ["HOLD", "CONFIRMED"].contains(&status),
            "{hold}: {looked_up:?}"
        );
    }
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
        "crash test: {} holds answered 201 and {} confirms answered 200 before the kill, all there after the restart",
        held.len(),
        confirmed.len()
    );
    again.kill_9().await;
}

/// The file a killed server left: intact, and each booked slot has exactly one confirmed hold
/// and each confirmed hold its booked slot (a confirm half written would break one of these).
fn no_half_write_in(db: &std::path::Path) {
    let conn = rusqlite::Connection::open(db).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    let unmatched: i64 = conn
        .query_row(
            "SELECT
               (SELECT count(*) FROM time_slots s WHERE s.is_booked = 1 AND 1 <> (SELECT count(*)
                  FROM holds h WHERE h.slot_id = s.id AND h.status = 'CONFIRMED'))
             + (SELECT count(*) FROM holds h WHERE h.status = 'CONFIRMED' AND NOT EXISTS (
                  SELECT 1 FROM time_slots s WHERE s.id = h.slot_id AND s.is_booked = 1))",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(unmatched, 0, "booked slots and confirmed holds disagree");
}

// ── DynamoDB Local goes away ────────────────────────────────────────────────────────────────

/// The longest any request may take to be answered while DynamoDB goes away: the store's
/// operation timeout (4 s, all retries included; `shared::store::dynamo::timeout_config`) for the
/// one DynamoDB request of each operation, plus 1 s.
const ANSWER_BOUND: StdDuration = StdDuration::from_secs(5);

/// A request answered 503: what it was, to check (or retry) once DynamoDB is back.
struct Refused {
    operation: &'static str,
    /// The create's `Idempotency-Key`, or the hold confirmed or cancelled.
    target: String,
    slot: String,
    user: &'static str,
    sent: Instant,
}

/// What the answers of a run say DynamoDB must hold once it is back.
#[derive(Default)]
struct Fates {
    /// Hold id → (user, slot, the status its answers leave it in).
    holds: HashMap<String, (String, String, &'static str)>,
    /// Every request: (sent, answered).
    timings: Vec<(Instant, Instant)>,
    refused: Vec<Refused>,
}

/// Twelve clients hold (each create with its own `Idempotency-Key`), confirm and cancel games on
/// DynamoDB as fast as they can; DynamoDB stops while their requests are in flight (SIGTERM, then
/// it exits); once every client has been answered 503 twice, it starts again on the same data.
///
/// Every request was answered within [`ANSWER_BOUND`], with a 2xx, a 409 for a taken game, or a
/// 503 with `Retry-After` (never a 500). A request sent once DynamoDB was gone and answered 503
/// left no trace (its create's key makes a new hold, not a replay). Any other 503 means "not
/// known": the store gave up waiting on a request DynamoDB may have applied (seen: a confirm
/// answered 503 after the 4 s timeout was booked after the restart, and on a busy machine a
/// create timed out before the stop and had been made), so the client retries it once DynamoDB
/// is back, and the retry answers as if it was done once (the create's key returns its hold or
/// makes it now, a confirm or cancel again answers 200). Then every 2xx survived: each hold is
/// exactly what its answers said, no other hold exists, no game is held or booked twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn with_dynamodb_stopped_while_creates_and_confirms_are_in_flight_every_2xx_survives_and_every_503_left_no_trace()
 {
    use shared::store::Provision;
    const CLIENTS: usize = 12;
    const USERS: [&str; 3] = ["u-demo", "u-alice", "u-bob"];
    let dir = tempfile::tempdir().unwrap();
    let (dynamo, port) = PrivateDynamo::start_on_free_port(dir.path()).await;
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
            let user = USERS[client % 3];
            let (mut turn, mut refused_since_gone) = (client, 0);
            while refused_since_gone < 2 {
                assert!(
                    started.elapsed() < StdDuration::from_secs(60),
                    "clients ran 60 s"
                );
                turn += 5;
                let slot = games[turn % games.len()].1.clone();
                // One request, timed and checked: a 2xx, a 409 (the game is taken) or a 503,
                // which is recorded; `true` when it was answered 503.
                let timed = |operation: &'static str, target: &str, reply: &Reply, sent| {
                    let (fates, target, slot) = (fates.clone(), target.to_owned(), slot.clone());
                    let refused = reply.status == 503;
                    if refused {
                        assert_status(reply, 503, Some("SERVICE_UNAVAILABLE"));
                        assert_eq!(reply.header("retry-after"), Some("1"), "{reply:?}");
                    }
                    async move {
                        let mut fates = fates.lock().await;
                        let answered = Instant::now();
                        fates.timings.push((sent, answered));
                        if refused {
                            let why = Refused {
                                operation,
                                target,
                                slot,
                                user,
                                sent,
                            };
                            fates.refused.push(why);
                        }
                        refused
                    }
                };
                let fate = |hold: &str, status: &'static str| {
                    let (fates, hold, slot) = (fates.clone(), hold.to_owned(), slot.clone());
                    async move {
                        let value = (user.to_owned(), slot, status);
                        fates.lock().await.holds.insert(hold, value);
                    }
                };
                let key = uuid::Uuid::new_v4().to_string();
                let (sent, was_gone) = (Instant::now(), *gone.borrow());
                let held = t.create_hold_with_key(&slot, user, &key).await;
                if timed("create", &key, &held, sent).await {
                    refused_since_gone += usize::from(was_gone);
                    continue;
                }
                let hold = match held.status.as_u16() {
                    201 => held.body["hold_id"].as_str().unwrap().to_owned(),
                    _ => {
                        assert_status(&held, 409, Some("SLOT_UNAVAILABLE"));
                        continue;
                    }
                };
                fate(&hold, "HOLD").await;
                let (sent, was_gone) = (Instant::now(), *gone.borrow());
                let done = t.confirm(&hold, user).await;
                if timed("confirm", &hold, &done, sent).await {
                    refused_since_gone += usize::from(was_gone);
                    continue;
                }
                assert_status(&done, 200, None);
                fate(&hold, "CONFIRMED").await;
                confirms.send_modify(|n| *n += 1);
                let (sent, was_gone) = (Instant::now(), *gone.borrow());
                let cancelled = t.cancel(&hold, user).await;
                if timed("cancel", &hold, &cancelled, sent).await {
                    refused_since_gone += usize::from(was_gone);
                    continue;
                }
                assert_status(&cancelled, 200, None);
                fate(&hold, "CANCELLED").await;
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
    let stopped = Instant::now();
    gone.send_replace(true);
    while let Some(done) = clients.join_next().await {
        done.unwrap();
    }
    // While it is gone, reads are refused alike.
    for reply in [t.list("r-101", None).await, t.bookings_of("u-demo").await] {
        assert_status(&reply, 503, Some("SERVICE_UNAVAILABLE"));
    }
    let mut fates = Arc::try_unwrap(fates).ok().unwrap().into_inner();
    let overlapping = fates
        .timings
        .iter()
        .filter(|(sent, answered)| *sent < stopping && stopping < *answered)
        .count();
    let slowest = fates
        .timings
        .iter()
        .map(|(sent, answered)| *answered - *sent)
        .max()
        .unwrap();
    let (unknown, refused): (Vec<Refused>, Vec<Refused>) = std::mem::take(&mut fates.refused)
        .into_iter()
        .partition(|r| r.sent < stopped);
    let operations = |list: &[Refused]| -> BTreeMap<&str, usize> {
        let mut counts = BTreeMap::new();
        for r in list {
            *counts.entry(r.operation).or_default() += 1;
        }
        counts
    };
    eprintln!(
        "DynamoDB stopped mid-run (SIGTERM to exit {:?}): {} requests, {overlapping} in flight at \
         the SIGTERM, slowest answer {slowest:?}; 503s sent before it was gone {:?}, after {:?}; \
         {} holds",
        stopped - stopping,
        fates.timings.len(),
        operations(&unknown),
        operations(&refused),
        fates.holds.len()
    );
    assert!(overlapping > 0, "requests were in flight at the SIGTERM");
    assert!(
        slowest <= ANSWER_BOUND,
        "every answer within {ANSWER_BOUND:?}: {slowest:?}"
    );
    assert!(
        operations(&refused)
            .get("create")
            .copied()
            .unwrap_or_default()
            >= CLIENTS,
        "creates refused after the stop"
    );

    let back = PrivateDynamo::start(dir.path(), port).await;
    // As a client does after a 503: again, until the service answers (the new JVM is slow).
    let answered = |reply: Reply| (reply.status != 503).then_some(reply);
    crate::harness::poll_until(
        "the service answers again",
        StdDuration::from_secs(60),
        StdDuration::from_millis(100),
        || async { answered(t.list("r-101", None).await) },
    )
    .await;
    // A request whose outcome the 503 left unknown, retried: done once, whether or not it was.
    for r in &unknown {
        match r.operation {
            "create" => {
                let again = t.create_hold_with_key(&r.slot, r.user, &r.target).await;
                if again.status == 201 {
                    let hold = again.body["hold_id"].as_str().unwrap().to_owned();
                    let value = (r.user.to_owned(), r.slot.clone(), "HOLD");
                    fates.holds.insert(hold, value);
                } else {
                    assert_status(&again, 409, Some("SLOT_UNAVAILABLE"));
                }
            }
            operation => {
                let (again, status) = if operation == "confirm" {
                    (t.confirm(&r.target, r.user).await, "CONFIRMED")
                } else {
                    (t.cancel(&r.target, r.user).await, "CANCELLED")
                };
                assert_status(&again, 200, None);
                fates.holds.get_mut(&r.target).unwrap().2 = status;
            }
        }
    }
    // Every other 503 left no trace; every 2xx survived.
    for r in refused.iter().filter(|r| r.operation == "create") {
        let again = t.create_hold_with_key(&r.slot, r.user, &r.target).await;
        assert_ne!(
            again.header("idempotent-replayed"),
            Some("true"),
            "a create answered 503 made a hold: {again:?}"
        );
        if again.status == 201 {
            let hold = again.body["hold_id"].as_str().unwrap();
            assert_status(&t.release(hold, r.user).await, 200, None);
        }
    }
    for (hold, (user, _, status)) in &fates.holds {
        let looked_up = t.look_up(hold, user).await;
        assert_status(&looked_up, 200, None);
        assert_eq!(looked_up.body["status"], *status, "{hold}: {looked_up:?}");
    }
    for user in USERS {
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
    let live = |slot: &str| -> Vec<&str> {
        fates
            .holds
            .values()
            .filter(|(_, held, status)| held == slot && *status != "CANCELLED")
            .map(|(_, _, status)| *status)
            .collect()
    };
    for (room, slot) in games.iter() {
        let live = live(slot);
        assert!(live.len() <= 1, "{slot} held or booked twice: {live:?}");
        let expected = match live.first().copied() {
            Some("CONFIRMED") => "BOOKED",
            Some(_) => "HELD_BY_OTHER",
            None => "AVAILABLE",
        };
        assert_eq!(t.status_of(room, slot, None).await, expected, "{slot}");
    }
    let (_, free) = games
        .iter()
        .find(|(_, slot)| live(slot).is_empty())
        .expect("a game nobody holds");
    let hold = t.hold(free, "u-bob").await;
    assert_status(&t.confirm(&hold, "u-bob").await, 200, None);
    back.stop().await;
}
