//! In-process cost of each handler, without HTTP or the kernel: how many microseconds the shared
//! core spends per request on the SQLite store. Prints figures; asserts nothing.
//!
//! `cargo run --release -p server --example handler_bench`

use std::sync::Arc;
use std::time::Instant;

use shared::clock::Clock;
use shared::http::{App, Route};
use shared::store::Provision;
use shared::store::sqlite::SqliteStore;

fn request(method: &str, uri: &str, body: &str) -> lambda_http::Request {
    use lambda_http::RequestExt;
    let mut req = lambda_http::Request::new(lambda_http::Body::from(body.as_bytes().to_vec()));
    *req.method_mut() = method.parse().unwrap_or_default();
    *req.uri_mut() = uri.parse().unwrap_or_default();
    let query: std::collections::HashMap<String, String> = uri
        .split_once('?')
        .map(|(_, q)| {
            form_urlencoded::parse(q.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        })
        .unwrap_or_default();
    req.with_query_string_parameters(query)
}

/// Stops the benchmark when a handler answers anything else: its figures would time an error path.
fn expect_status(
    response: Result<lambda_http::Response<lambda_http::Body>, std::convert::Infallible>,
    expected: u16,
) -> Result<(), String> {
    match response {
        Ok(r) if r.status().as_u16() == expected => Ok(()),
        Ok(r) => Err(format!("answered {}, not {expected}", r.status())),
        Err(never) => match never {},
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join(format!("handler-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let store = SqliteStore::open(dir.join("bench.db"))?;
    store
        .load(&shared::seed::fixture(chrono::Utc::now())?)
        .await?;
    store
        .load(&shared::seed::bench(1, 50_000, 100, chrono::Utc::now())?)
        .await?;
    let app = App::new(
        Arc::new(store),
        Clock::System,
        chrono::Duration::seconds(300),
    );

    let n = 50_000;
    let started = Instant::now();
    for _ in 0..n {
        let req = request("GET", "/slots?room_id=r-101&user_id=u-demo", "");
        expect_status(app.handle(Route::ListSlots, req).await, 200)?;
    }
    let list = started.elapsed();
    println!(
        "list-slots (16 slots): {:.2} µs/request",
        list.as_secs_f64() * 1e6 / n as f64
    );

    let started = Instant::now();
    for i in 1..=n {
        let body = format!(
            r#"{{"slot_id":"s-bench-1-{i}","user_id":"u-bench-{}"}}"#,
            i % 100 + 1
        );
        expect_status(
            app.handle(Route::CreateHold, request("POST", "/holds", &body))
                .await,
            201,
        )?;
    }
    let create = started.elapsed();
    println!(
        "create-hold:           {:.2} µs/request",
        create.as_secs_f64() * 1e6 / n as f64
    );
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
