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

const TOKEN: &str = "criterion-operator-token-0123456789abcdef";
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
            .with_caps(shared::config::Caps::OFF)
            .with_operators(
                Operators::default()
                    .with_token("bench", TOKEN)
                    .unwrap_or_else(|e| panic!("{e:?}")),
            )
        });
        let bench = Self {
            rt,
            app,
            next_slot: std::array::from_fn(|_| AtomicU32::new(1)),
        };
        // The routes that read a schedule and a day sheet find one.
        bench.call(
            Route::PutSchedule,
            request("PUT", "/rooms/r-102/schedule", DAILY, true),
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
        self.rt.block_on(async {
            expect(
                self.app.handle(shared::Endpoint::of(route), request).await,
                status,
                &what,
            )
        })
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

    /// A new booking on a fresh slot of room `room`, made untimed: its reference and manage key.
    fn booking(&self, room: usize) -> (String, String) {
        let id = self.hold(room, "u-demo");
        let body = self.call(
            Route::ConfirmHold,
            request(
                "POST",
                &format!("/holds/{id}/confirm"),
                r#"{"user_id":"u-demo"}"#,
                false,
            ),
            200,
        );
        let value: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        let field = |name: &str| value[name].as_str().unwrap_or_default().to_owned();
        (field("reference"), field("manage_key"))
    }

    /// Times `iters` requests made by `make` (called untimed, before the clock starts).
    fn timed(&self, iters: u64, make: impl Fn(u64) -> (Route, Request, u16)) -> Duration {
        let requests: Vec<_> = (0..iters).map(make).collect();
        self.rt.block_on(async {
            let started = Instant::now();
            for (route, request, status) in requests {
                let response = self.app.handle(shared::Endpoint::of(route), request).await;
                std::hint::black_box(expect(response, status, "timed request"));
            }
            started.elapsed()
        })
    }
}

const DAILY: &str = r#"{"weekly":[{"days":["MON","TUE","WED","THU","FRI","SAT","SUN"],"starts":["10:00","13:00","16:00","19:00"]}],"closed":[]}"#;
const ROOM: &str = r#"{"name":"Bench Room","time_zone":"Europe/Berlin","min_players":2,"max_players":6,"duration_minutes":60}"#;

/// Every route of the table, each benchmarked with a request that succeeds (the `match` is
/// exhaustive: a new row of the route table does not compile until it has its benchmark here).
#[allow(clippy::too_many_lines)] // one arm per route of the table
fn routes(c: &mut Criterion) {
    let b = Bench::new();
    let mut group = c.benchmark_group("handler");
    group
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30);
    let looked_up = b.hold(1, "u-alice");
    b.call(
        Route::PutRoom,
        request("PUT", "/rooms/r-put", ROOM, true),
        201,
    );
    for &route in shared::route::ALL {
        let name = route.spec().function;
        let read = |uri: String, operator: bool| {
            move |_: u64| (route, request("GET", &uri, "", operator), 200)
        };
        match route {
            Route::ListSlots => timed(
                &b,
                &mut group,
                "list-slots (16 slots)",
                read("/slots?room_id=r-101&user_id=u-demo".into(), false),
            ),
            Route::ListRooms => timed(&b, &mut group, name, read("/rooms".into(), false)),
            Route::GetRoom => timed(&b, &mut group, name, read("/rooms/r-101".into(), false)),
            Route::GetSchedule => timed(
                &b,
                &mut group,
                name,
                read("/rooms/r-102/schedule".into(), false),
            ),
            Route::ListUserHolds => timed(
                &b,
                &mut group,
                name,
                read("/users/u-demo/holds".into(), false),
            ),
            Route::GetHold => timed(
                &b,
                &mut group,
                name,
                read(format!("/holds/{looked_up}?user_id=u-alice"), false),
            ),
            Route::ListRoomBookings => {
                // The fixture's four days of r-101, with the booking made in `Bench::new`.
                let now = chrono::Utc::now();
                let at = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%dT%H:%M:%SZ");
                let uri = format!(
                    "/rooms/r-101/bookings?from={}&to={}",
                    at(now),
                    at(now + chrono::Duration::days(5))
                );
                timed(
                    &b,
                    &mut group,
                    "list-room-bookings (5 days)",
                    read(uri, true),
                )
            }
            Route::CreateHold => timed(&b, &mut group, name, |i| {
                let body = format!(
                    r#"{{"slot_id":"{}","user_id":"u-bench-{}"}}"#,
                    b.slot(2),
                    i % 100 + 1
                );
                (route, request("POST", "/holds", &body, false), 201)
            }),
            Route::ConfirmHold => on_holds(&b, &mut group, route, 3, "confirm"),
            Route::ReleaseHold => on_holds(&b, &mut group, route, 4, "release"),
            Route::ExtendHold => on_holds(&b, &mut group, route, 5, "extend"),
            Route::CancelHold => cancel_bookings(&b, &mut group),
            Route::PutRoom => timed(&b, &mut group, "put-room (same rules)", |_| {
                (route, request("PUT", "/rooms/r-put", ROOM, true), 200)
            }),
            Route::RetireRoom => timed(&b, &mut group, "retire-room (retired again)", |_| {
                (route, request("DELETE", "/rooms/r-put", "", true), 200)
            }),
            Route::PutSchedule => {
                timed(&b, &mut group, "put-schedule (unchanged, 60 days)", |_| {
                    (
                        route,
                        request("PUT", "/rooms/r-102/schedule", DAILY, true),
                        200,
                    )
                })
            }
            Route::GetService => timed(&b, &mut group, name, read("/service".into(), false)),
            Route::GetBooking => {
                let (reference, key) = b.booking(1);
                timed(&b, &mut group, name, |_| {
                    let uri = format!("/bookings/{reference}");
                    (route, with_key(request("GET", &uri, "", false), &key), 200)
                })
            }
            Route::CancelBooking => cancel_by_link(&b, &mut group),
            Route::GetCalendarFeed => timed(&b, &mut group, name, |_| {
                (
                    route,
                    request("GET", "/rooms/r-101/calendar-feed", "", true),
                    200,
                )
            }),
            Route::ListWebhooks => timed(&b, &mut group, name, |_| {
                (route, request("GET", "/webhooks", "", true), 200)
            }),
            // A loopback URL: the validation's refusal (registering would hit MAX_WEBHOOKS).
            Route::CreateWebhook => timed(&b, &mut group, "create-webhook (loopback: 422)", |_| {
                let body = r#"{"url":"https://127.0.0.1/hook","events":["booking.confirmed"]}"#;
                (route, request("POST", "/webhooks", body, true), 422)
            }),
            Route::DeleteWebhook => timed(&b, &mut group, "delete-webhook (unknown: 404)", |_| {
                let uri = "/webhooks/wh_00000000000000000000000000000000";
                (route, request("DELETE", uri, "", true), 404)
            }),
            Route::ListWebhookDeliveries => timed(
                &b,
                &mut group,
                "list-webhook-deliveries (unknown: 404)",
                |_| {
                    let uri = "/webhooks/wh_00000000000000000000000000000000/deliveries";
                    (route, request("GET", uri, "", true), 404)
                },
            ),
            Route::EnableWebhook => timed(&b, &mut group, "enable-webhook (unknown: 404)", |_| {
                let uri = "/webhooks/wh_00000000000000000000000000000000/enable";
                (route, request("POST", uri, "", true), 404)
            }),
            Route::RotateCalendarFeed => timed(&b, &mut group, name, |_| {
                let uri = "/rooms/r-102/calendar-feed/rotate";
                (route, request("POST", uri, "", true), 200)
            }),
            Route::GetRoomCalendar => {
                // r-101's feed (the booking made in `Bench::new` in it), its key from a rotation.
                let body = b.call(
                    Route::RotateCalendarFeed,
                    request("POST", "/rooms/r-101/calendar-feed/rotate", "", true),
                    200,
                );
                let value: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
                let url = value["url"].as_str().unwrap_or_default().to_owned();
                timed(&b, &mut group, name, |_| {
                    (route, request("GET", &url, "", false), 200)
                })
            }
            Route::GetBookingCalendar => {
                let (reference, key) = b.booking(1);
                timed(&b, &mut group, name, |_| {
                    let uri = format!("/bookings/{reference}/booking.ics");
                    (route, with_key(request("GET", &uri, "", false), &key), 200)
                })
            }
            // The bench's app is in trusted mode, where there are no players to make (404): the
            // route's dispatch and refusal; minting is measured by the guest-mode benchmark.
            Route::CreatePlayer => timed(&b, &mut group, "create-player (trusted: 404)", |_| {
                (route, request("POST", "/players", "{}", false), 404)
            }),
            Route::PreviewSchedule => timed(
                &b,
                &mut group,
                "preview-schedule (unchanged, 7 days)",
                |_| {
                    (
                        route,
                        request("POST", "/rooms/r-102/schedule/preview", DAILY, true),
                        200,
                    )
                },
            ),
        }
    }
    group.finish();
}

type Group<'a> = criterion::BenchmarkGroup<'a, criterion::measurement::WallTime>;

/// Benchmarks `name`: each iteration one request made by `make` (untimed), answered `status`.
fn timed(
    b: &Bench,
    group: &mut Group<'_>,
    name: &str,
    make: impl Fn(u64) -> (Route, Request, u16),
) {
    group.bench_function(name, |bencher| {
        bencher.iter_custom(|iters| b.timed(iters, &make))
    });
}

/// Benchmarks an action on a hold (`confirm`, `release`, `extend`): fresh holds of `room`, made
/// untimed before each batch.
fn on_holds(b: &Bench, group: &mut Group<'_>, route: Route, room: usize, action: &str) {
    group.bench_function(route.spec().function, |bencher| {
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

/// `request` with a booking's manage key as its bearer.
fn with_key(mut request: Request, key: &str) -> Request {
    if let Ok(value) = format!("Bearer {key}").parse() {
        request.headers_mut().insert("authorization", value);
    }
    request
}

/// Benchmarks a cancellation by the manage link: fresh bookings, made untimed before each batch.
fn cancel_by_link(b: &Bench, group: &mut Group<'_>) {
    group.bench_function("cancel-booking", |bencher| {
        bencher.iter_custom(|iters| {
            let bookings: Vec<(String, String)> = (0..iters).map(|_| b.booking(6)).collect();
            b.timed(iters, |i| {
                let (reference, key) = &bookings[i as usize];
                let uri = format!("/bookings/{reference}/cancel");
                let request = with_key(request("POST", &uri, "", false), key);
                (Route::CancelBooking, request, 200)
            })
        })
    });
}

/// Benchmarks a player's cancellation: fresh bookings, made untimed before each batch.
fn cancel_bookings(b: &Bench, group: &mut Group<'_>) {
    group.bench_function("cancel-hold", |bencher| {
        bencher.iter_custom(|iters| {
            let bookings: Vec<String> = (0..iters)
                .map(|_| {
                    let id = b.hold(6, "u-demo");
                    let uri = format!("/holds/{id}/confirm");
                    b.call(
                        Route::ConfirmHold,
                        request("POST", &uri, r#"{"user_id":"u-demo"}"#, false),
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
}

criterion_group!(benches, routes);
criterion_main!(benches);
