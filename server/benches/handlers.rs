//! In-process latency of every route's handler (criterion): the shared core's parsing,
//! validation, store call and response, on an in-memory SQLite database, without HTTP or the
//! kernel. Figures only; asserts nothing but that each request gets its expected status (a
//! benchmark of an error path would be a wrong figure).
//!
//! `cargo bench -p server --bench handlers` (run by `scripts/benchmark`; add `-- list` to run only
//! the routes whose name contains "list").
//!
//! Each write route works on fresh state that is made before the timed loop: `create-hold` takes
//! a new slot per request, and `confirm`/`release`/`extend`/`cancel` act on holds created (and,
//! for cancel, confirmed) untimed just before.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use lambda_http::{Body, Request, RequestExt, Response};
use shared::clock::Clock;
use shared::config::Operators;
use shared::http::{App, Route};
use shared::store::Provision;
use shared::store::sqlite::SqliteStore;
use tokio::runtime::Runtime;

const TOKEN: &str = "criterion-operator-token";
/// Slots per benchmark room: more than any route's warm-up and measurement take.
const SLOTS: u32 = 200_000;

fn request(method: &str, uri: &str, body: &str, operator: bool) -> Request {
    let mut req = Request::new(Body::from(body.as_bytes().to_vec()));
    *req.method_mut() = method.parse().unwrap_or_default();
    *req.uri_mut() = uri.parse().unwrap_or_default();
    if operator && let Ok(value) = format!("Bearer {TOKEN}").parse() {
        req.headers_mut().insert("authorization", value);
    }
    let query: HashMap<String, String> = uri
        .split_once('?')
        .map(|(_, q)| {
            form_urlencoded::parse(q.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        })
        .unwrap_or_default();
    req.with_query_string_parameters(query)
}

/// The response's status and body; panics (stopping the benchmark) on any other status.
fn expect(response: Result<Response<Body>, Infallible>, status: u16, what: &str) -> String {
    let response = match response {
        Ok(r) => r,
        Err(never) => match never {},
    };
    let body = String::from_utf8_lossy(response.body().as_ref()).into_owned();
    assert_eq!(response.status().as_u16(), status, "{what}: {body}");
    body
}

fn hold_id(body: &str) -> String {
    let value: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
    value["hold_id"].as_str().unwrap_or_default().to_owned()
}

struct Bench {
    rt: Runtime,
    app: App,
    /// The next unused slot of each benchmark room (one room per write route).
    next_slot: [AtomicU32; 6],
}

impl Bench {
    fn new() -> Self {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("tokio runtime: {e}"));
        let app = rt.block_on(async {
            // A private in-memory database shared by the store's connections.
            let name = format!(
                "file:handlers-bench-{}?mode=memory&cache=shared",
                std::process::id()
            );
            let store = SqliteStore::open(&name).unwrap_or_else(|e| panic!("{name}: {e:?}"));
            let now = chrono::Utc::now();
            let fixture = shared::seed::fixture(now).unwrap_or_else(|e| panic!("{e:?}"));
            store
                .load(&fixture)
                .await
                .unwrap_or_else(|e| panic!("{e:?}"));
            let data = shared::seed::bench(6, SLOTS, 100, now).unwrap_or_else(|e| panic!("{e:?}"));
            store.load(&data).await.unwrap_or_else(|e| panic!("{e:?}"));
            App::new(
                Arc::new(store),
                Clock::System,
                chrono::Duration::seconds(300),
            )
            .with_operators(Operators {
                token: Some(TOKEN.into()),
                scope: None,
            })
        });
        let bench = Self {
            rt,
            app,
            next_slot: std::array::from_fn(|_| AtomicU32::new(1)),
        };
        // The routes that read a schedule and a day sheet find one.
        bench.call(
            Route::PutSchedule,
            request(
                "PUT",
                "/rooms/r-102/schedule",
                r#"{"weekly":[{"days":["MON","TUE","WED","THU","FRI","SAT","SUN"],"starts":["10:00","13:00","16:00","19:00"]}],"closed":[]}"#,
                true,
            ),
            200,
        );
        let held = hold_id(&bench.call(
            Route::CreateHold,
            request(
                "POST",
                "/holds",
                r#"{"slot_id":"s-1","user_id":"u-demo"}"#,
                false,
            ),
            201,
        ));
        bench.call(
            Route::ConfirmHold,
            request(
                "POST",
                &format!("/holds/{held}/confirm"),
                r#"{"user_id":"u-demo"}"#,
                false,
            ),
            200,
        );
        bench
    }

    fn call(&self, route: Route, request: Request, status: u16) -> String {
        let what = format!("{route:?}");
        self.rt
            .block_on(async { expect(self.app.handle(route, request).await, status, &what) })
    }

    /// The next fresh slot of benchmark room `room` (1–6).
    fn slot(&self, room: usize) -> String {
        let n = self.next_slot[room - 1].fetch_add(1, Ordering::Relaxed);
        assert!(n <= SLOTS, "benchmark room {room} ran out of slots");
        format!("s-bench-{room}-{n}")
    }

    /// A new hold on a fresh slot of room `room`, made untimed.
    fn hold(&self, room: usize, user: &str) -> String {
        let body = format!(r#"{{"slot_id":"{}","user_id":"{user}"}}"#, self.slot(room));
        hold_id(&self.call(
            Route::CreateHold,
            request("POST", "/holds", &body, false),
            201,
        ))
    }

    /// Times `iters` requests made by `make` (called untimed, before the clock starts).
    fn timed(&self, iters: u64, make: impl Fn(u64) -> (Route, Request, u16)) -> Duration {
        let requests: Vec<_> = (0..iters).map(make).collect();
        self.rt.block_on(async {
            let started = Instant::now();
            for (route, request, status) in requests {
                let response = self.app.handle(route, request).await;
                std::hint::black_box(expect(response, status, "timed request"));
            }
            started.elapsed()
        })
    }
}

fn routes(c: &mut Criterion) {
    let b = Bench::new();
    let mut group = c.benchmark_group("handler");
    group
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30);

    let reads: [(&str, Route, &str, bool); 7] = [
        (
            "list-slots (16 slots)",
            Route::ListSlots,
            "/slots?room_id=r-101&user_id=u-demo",
            false,
        ),
        ("list-rooms", Route::ListRooms, "/rooms", false),
        ("get-room", Route::GetRoom, "/rooms/r-101", false),
        (
            "get-schedule",
            Route::GetSchedule,
            "/rooms/r-102/schedule",
            false,
        ),
        (
            "list-user-holds",
            Route::ListUserHolds,
            "/users/u-demo/holds",
            false,
        ),
        (
            "list-room-bookings (5 days)",
            Route::ListRoomBookings,
            "",
            true,
        ),
        ("get-hold", Route::GetHold, "", false),
    ];
    let looked_up = b.hold(1, "u-alice");
    for (name, route, uri, operator) in reads {
        let uri = match route {
            Route::GetHold => format!("/holds/{looked_up}?user_id=u-alice"),
            Route::ListRoomBookings => {
                // The fixture's four days of r-101, with the booking made in `Bench::new`.
                let now = chrono::Utc::now();
                let at = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%dT%H:%M:%SZ");
                format!(
                    "/rooms/r-101/bookings?from={}&to={}",
                    at(now),
                    at(now + chrono::Duration::days(5))
                )
            }
            _ => uri.to_owned(),
        };
        group.bench_function(name, |bencher| {
            bencher.iter_custom(|iters| {
                b.timed(iters, |_| (route, request("GET", &uri, "", operator), 200))
            })
        });
    }

    group.bench_function("create-hold", |bencher| {
        bencher.iter_custom(|iters| {
            b.timed(iters, |i| {
                let body = format!(
                    r#"{{"slot_id":"{}","user_id":"u-bench-{}"}}"#,
                    b.slot(2),
                    i % 100 + 1
                );
                (
                    Route::CreateHold,
                    request("POST", "/holds", &body, false),
                    201,
                )
            })
        })
    });
    for (name, route, room, action) in [
        ("confirm-hold", Route::ConfirmHold, 3, "confirm"),
        ("release-hold", Route::ReleaseHold, 4, "release"),
        ("extend-hold", Route::ExtendHold, 5, "extend"),
    ] {
        group.bench_function(name, |bencher| {
            bencher.iter_custom(|iters| {
                let holds: Vec<String> = (0..iters).map(|_| b.hold(room, "u-demo")).collect();
                b.timed(iters, |i| {
                    let uri = format!("/holds/{}/{action}", holds[i as usize]);
                    (
                        route,
                        request("POST", &uri, r#"{"user_id":"u-demo"}"#, false),
                        200,
                    )
                })
            })
        });
    }
    group.bench_function("cancel-hold", |bencher| {
        bencher.iter_custom(|iters| {
            let bookings: Vec<String> = (0..iters)
                .map(|_| {
                    let id = b.hold(6, "u-demo");
                    b.call(
                        Route::ConfirmHold,
                        request(
                            "POST",
                            &format!("/holds/{id}/confirm"),
                            r#"{"user_id":"u-demo"}"#,
                            false,
                        ),
                        200,
                    );
                    id
                })
                .collect();
            b.timed(iters, |i| {
                let uri = format!("/holds/{}/cancel", bookings[i as usize]);
                (
                    Route::CancelHold,
                    request("POST", &uri, r#"{"user_id":"u-demo"}"#, false),
                    200,
                )
            })
        })
    });
    let room = r#"{"name":"Bench Room","time_zone":"Europe/Berlin","min_players":2,"max_players":6,"duration_minutes":60}"#;
    b.call(
        Route::PutRoom,
        request("PUT", "/rooms/r-put", room, true),
        201,
    );
    group.bench_function("put-room (same rules)", |bencher| {
        let body = room;
        bencher.iter_custom(|iters| {
            b.timed(iters, |_| {
                (
                    Route::PutRoom,
                    request("PUT", "/rooms/r-put", body, true),
                    200,
                )
            })
        })
    });
    group.bench_function("put-schedule (unchanged, 60 days)", |bencher| {
        let body = r#"{"weekly":[{"days":["MON","TUE","WED","THU","FRI","SAT","SUN"],"starts":["10:00","13:00","16:00","19:00"]}],"closed":[]}"#;
        bencher.iter_custom(|iters| {
            b.timed(iters, |_| {
                (
                    Route::PutSchedule,
                    request("PUT", "/rooms/r-102/schedule", body, true),
                    200,
                )
            })
        })
    });
    group.finish();
}

criterion_group!(benches, routes);
criterion_main!(benches);
