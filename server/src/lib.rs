//! The single-machine server: hyper on a TCP listener, routing by the route table
//! (`shared::route`) to the same [`App::handle`] the Lambda functions run, plus the booking page
//! at `/` and the operator's view at `/operator` (`shared::pages`), the API's contract at
//! `/openapi.yaml` and its interactive docs at `/docs` ([`docs`]). Used for local
//! development and for one-venue deployments on the SQLite store. The `seed` command is in
//! [`seed_command`], `backup` in [`backup_command`], `/healthz`, `/readyz` and `/metrics` in
//! [`ops`]; a connection's bounds (timeouts, the connection cap, the lingering close)
//! are in [`connection`], a request body's in [`body`].

pub mod backup_command;
pub mod body;
pub mod connection;
pub mod events;
pub mod ops;
pub mod ratelimit;
pub mod seed_command;
pub mod transfer_command;

/// The API's contract and its interactive docs page, embedded in the binary (`server/assets/`).
pub mod docs {
    /// `GET /openapi.yaml`: the repository's OpenAPI document.
    pub const OPENAPI_YAML: &str = include_str!("../../openapi.yaml");
    /// `GET /docs`: RapiDoc rendering `/openapi.yaml`.
    pub const DOCS_HTML: &str = include_str!("../assets/docs.html");
    /// `GET /docs/rapidoc-min.js`: the renderer, vendored (see `server/assets/README.md`).
    pub const RAPIDOC_JS: &str = include_str!("../assets/rapidoc-min.js");

    /// The file and its content type for a static path, if it is one.
    pub fn asset(path: &str) -> Option<(&'static str, &'static str)> {
        match path {
            "/openapi.yaml" => Some(("application/yaml", OPENAPI_YAML)),
            "/docs" | "/docs/" => Some(("text/html; charset=utf-8", DOCS_HTML)),
            "/docs/rapidoc-min.js" => Some(("text/javascript; charset=utf-8", RAPIDOC_JS)),
            _ => None,
        }
    }
}

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use lambda_http::RequestExt;
use tokio::net::TcpListener;

pub use ratelimit::Limits;
use shared::Error;
use shared::config::ServerLimits;
use shared::horizon;
use shared::http::{App, error_response, router_miss};
use shared::route::{self, Matched, Route};

/// How long in-flight requests get to finish after Ctrl-C.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

static NEXT_REQUEST: AtomicU64 = AtomicU64::new(1);

/// Serves `app` on `listener` under the rate limits `rates` and the default connection bounds
/// ([`ServerLimits`]) until `shutdown` resolves, then lets in-flight requests finish.
pub async fn serve(
    app: App,
    rates: Limits,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    serve_with(app, rates, listener, ServerLimits::default(), shutdown).await
}

/// Serves `app` on `listener` under the rate limits `rates` and within the connection bounds
/// `limits` until `shutdown` resolves, then lets in-flight requests finish.
pub async fn serve_with(
    app: App,
    rates: Limits,
    listener: TcpListener,
    limits: ServerLimits,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let graceful = GracefulShutdown::new();
    let open = connection::ConnectionLimit::new(limits.max_connections);
    let http1 = connection::http1_builder(&limits);
    let sweeper = rates.any().then(|| tokio::spawn(rates.clone().sweep()));
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = open.acquire() => permit,
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(err) => {
                    // Out of file descriptors and the like: log, back off briefly, go on.
                    tracing::warn!(%err, "accept failed");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let (app, rates, bounds) = (app.clone(), rates.clone(), limits);
        let service = service_fn(move |request| {
            let (app, rates, bounds) = (app.clone(), rates.clone(), bounds);
            async move {
                Ok::<_, std::convert::Infallible>(
                    handle(&app, &rates, &bounds, peer, request).await,
                )
            }
        });
        let stream = connection::SendDeadline::new(stream, limits.send_timeout);
        let io = TokioIo::new(connection::Lingering::new(stream, limits.linger));
        let connection = graceful.watch(http1.serve_connection(io, service));
        tokio::spawn(async move {
            if let Err(err) = connection.await {
                tracing::debug!(%err, "connection closed with an error");
            }
            drop(permit);
        });
    }
    if let Some(sweeper) = sweeper {
        sweeper.abort();
    }
    tracing::info!("shutting down: finishing in-flight requests");
    tokio::select! {
        () = graceful.shutdown() => tracing::info!("all connections closed"),
        () = tokio::time::sleep(DRAIN_TIMEOUT) => tracing::warn!("drain timed out; closing"),
    }
    Ok(())
}

/// The route table as text, one row a line: `METHOD PATH FUNCTION` (`escape-room-server routes`;
/// the benchmark reads its routes from it).
pub fn route_lines() -> String {
    route::ROUTES
        .iter()
        .map(|r| format!("{} {} {}\n", r.method, r.path, r.function))
        .collect()
}

/// How often the local server moves the scheduled rooms' horizons (and once at start).
const HORIZON_EVERY: Duration = Duration::from_secs(24 * 60 * 60);

/// Moves the horizons (and erases contacts past their retention) now and then daily, for as
/// long as the server runs (the local twin of the `extend-horizon` function's daily rule).
async fn extend_horizons_daily(app: App) {
    let mut every = tokio::time::interval(HORIZON_EVERY);
    loop {
        every.tick().await;
        match horizon::daily(app.store.as_ref(), &app.bookings, app.clock.now()).await {
            Ok(runs) => {
                for run in runs {
                    tracing::info!(room = %run.room_id, created = run.created, removed = run.removed, kept = run.kept, "horizon moved");
                }
            }
            Err(err) => tracing::warn!(%err, "moving the horizons failed; next try in a day"),
        }
    }
}

/// Binds `addr` and serves under the rate limits `rates` and within the connection bounds
/// `limits` until Ctrl-C, moving the scheduled rooms' horizons daily.
pub async fn run(
    app: App,
    rates: Limits,
    addr: SocketAddr,
    limits: ServerLimits,
) -> std::io::Result<()> {
    let horizons = tokio::spawn(extend_horizons_daily(app.clone()));
    let webhook = shared::delivery::webhook::WebhookChannel::new(app.webhooks.allow_insecure)
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    let mut channels: Vec<Arc<dyn shared::delivery::Channel>> = vec![Arc::new(webhook)];
    // Booking emails (SMTP_URL, MAIL_FROM): a second channel of the same outbox.
    if let Some(mail) = &app.mail {
        let mailer = shared::mail::smtp::Mailer::new(mail, shared::mail::smtp::SEND_TIMEOUT)
            .map_err(std::io::Error::other)?;
        channels.push(Arc::new(shared::delivery::email::EmailChannel::new(
            mailer,
            app.bookings.public_base_url.clone(),
        )));
    }
    let deliverer = events::deliverer(&app, channels, app.webhooks.retry_seconds.clone());
    let drainer = tokio::spawn(events::drain(app.clone(), deliverer));
    let listener = TcpListener::bind(addr).await?;
    tracing::info!("listening on http://{}", listener.local_addr()?);
    let served = serve_with(app, rates, listener, limits, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await;
    horizons.abort();
    drainer.abort();
    served
}

/// Whether the benchmark's ceiling route is on ([`enable_ceiling`]).
static CEILING: std::sync::OnceLock<()> = std::sync::OnceLock::new();

/// The largest body the ceiling route sends.
const MAX_CEILING_BYTES: usize = 64 * 1024;

/// Turns on `GET /__ceiling?bytes=N` (config `BENCH_CEILING=1`): a JSON body of exactly N bytes
/// (2 to 65,536), built per request and sent through the same connection handling as every
/// route, without routing, a handler or the store. `scripts/benchmark` measures it beside each
/// route with a body of that route's size: the most this server could answer on this machine at
/// that moment, so a figure from a shared machine reads as a fraction of it.
pub fn enable_ceiling() {
    let _ = CEILING.set(());
}

fn ceiling(query: Option<&str>) -> Response<Full<Bytes>> {
    let bytes = query
        .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("bytes=")))
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or(2)
        .clamp(2, MAX_CEILING_BYTES);
    // `{"c":"…"}` is 8 bytes around the padding; below that, `{}` padded with spaces.
    let body = if bytes >= 8 {
        format!("{{\"c\":\"{}\"}}", "x".repeat(bytes - 8))
    } else {
        format!("{{}}{}", " ".repeat(bytes - 2))
    };
    let mut response = Response::new(Full::new(Bytes::from(body)));
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    response
}

async fn handle(
    app: &App,
    rates: &Limits,
    limits: &ServerLimits,
    peer: SocketAddr,
    request: Request<Incoming>,
) -> Response<Full<Bytes>> {
    if CEILING.get().is_some() && request.uri().path() == "/__ceiling" {
        return ceiling(request.uri().query());
    }
    if matches!(*request.method(), hyper::Method::GET | hyper::Method::HEAD)
        && let Some(page) = shared::pages::find(request.uri().path())
    {
        let body = if request.method() == hyper::Method::HEAD {
            Bytes::new()
        } else {
            Bytes::from_static(page.body.as_bytes())
        };
        let mut response = Response::new(Full::new(body));
        let headers = response.headers_mut();
        headers.insert(
            hyper::header::CONTENT_TYPE,
            hyper::header::HeaderValue::from_static(page.content_type),
        );
        for (name, value) in shared::pages::HEADERS {
            headers.insert(*name, hyper::header::HeaderValue::from_static(value));
        }
        return response;
    }
    if request.method() == hyper::Method::GET
        && let Some((content_type, body)) = docs::asset(request.uri().path())
    {
        let mut response = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
        response.headers_mut().insert(
            hyper::header::CONTENT_TYPE,
            hyper::header::HeaderValue::from_static(content_type),
        );
        return response;
    }
    let started = Instant::now();
    let request_id = format!("local-{}", NEXT_REQUEST.fetch_add(1, Ordering::Relaxed));
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    if method == hyper::Method::GET
        && let Some(metrics) = ops::scrape(&path, request.headers(), app)
    {
        return to_hyper(metrics);
    }
    let admission = rates.admit_as(
        peer,
        &method,
        request.headers(),
        (&app.operators, &app.players),
        app.clock.now(),
    );
    let mut response = match admission.refusal() {
        Some(limited) => error_response(limited, &request_id),
        None => match ops::answer(&path, &method, app, limits.request_timeout, &request_id).await {
            Some(response) => response,
            None => answer(app, request, &request_id, limits).await,
        },
    };
    admission.stamp(&mut response);
    tracing::info!(
        request_id,
        %method,
        path,
        status = response.status().as_u16(),
        micros = started.elapsed().as_micros() as u64,
    );
    to_hyper(response)
}

/// A handler's answer as hyper sends it (the connection closed after a refused body).
fn to_hyper(response: lambda_http::Response<lambda_http::Body>) -> Response<Full<Bytes>> {
    let (mut parts, body) = response.into_parts();
    connection::close_after_refused_body(&mut parts);
    let bytes = match body {
        lambda_http::Body::Empty => Bytes::new(),
        lambda_http::Body::Text(text) => Bytes::from(text),
        lambda_http::Body::Binary(bin) => Bytes::from(bin),
        _ => Bytes::new(),
    };
    Response::from_parts(parts, Full::new(bytes))
}

/// A request let in by the rate limits: its body read within the body deadline, then its route's
/// handler within the request deadline (503 past it).
async fn answer(
    app: &App,
    request: Request<Incoming>,
    request_id: &str,
    limits: &ServerLimits,
) -> lambda_http::Response<lambda_http::Body> {
    match to_lambda_request(request, request_id, limits.body_timeout).await {
        Ok((route, request)) => {
            match tokio::time::timeout(
                limits.request_timeout,
                app.handle(shared::Endpoint::of(route), request),
            )
            .await
            {
                Ok(Ok(response)) => response,
                Ok(Err(never)) => match never {},
                Err(_) => error_response(
                    Error::Unavailable(format!(
                        "the request deadline ({} s, REQUEST_TIMEOUT_SECONDS) passed",
                        limits.request_timeout.as_secs()
                    )),
                    request_id,
                ),
            }
        }
        Err(err) => error_response(err, request_id),
    }
}

/// Turns a hyper request into the `lambda_http::Request` the handlers take, as API Gateway would:
/// query string and path parameters set, body read (at most [`shared::http::MAX_BODY_BYTES`], within
/// `body_timeout`: [`body::read`]).
async fn to_lambda_request(
    request: Request<Incoming>,
    request_id: &str,
    body_timeout: Duration,
) -> Result<(Route, lambda_http::Request), Error> {
    let matched = route::find(request.method().as_str(), request.uri().path());
    if let Some(miss) = router_miss(&matched) {
        return Err(miss);
    }
    let Matched::Route(route, params) = matched else {
        return Err(Error::RouteNotFound);
    };
    // Percent-decoded, as API Gateway hands path parameters to a function (`/rooms/r-10%31` is
    // room `r-101`); a segment that does not decode to UTF-8 is refused like a malformed id.
    let params = params
        .into_iter()
        .map(|(name, value)| {
            let value = percent_encoding::percent_decode_str(value)
                .decode_utf8()
                .map_err(|_| Error::Validation(format!("`{name}` is not valid UTF-8.")))?;
            Ok((name.to_owned(), value.into_owned()))
        })
        .collect::<Result<std::collections::HashMap<String, String>, Error>>()?;
    let (mut parts, body) = request.into_parts();
    let body = body::read(&parts.headers, body, body_timeout).await?;
    let query = parts.uri.query().map(|q| {
        let mut params: std::collections::HashMap<String, Vec<String>> = Default::default();
        for (k, v) in form_urlencoded::parse(q.as_bytes()) {
            params
                .entry(k.into_owned())
                .or_default()
                .push(v.into_owned());
        }
        params
    });
    if let Ok(id) = hyper::header::HeaderValue::from_str(request_id) {
        parts.headers.insert("x-request-id", id);
    }
    let mut request =
        lambda_http::Request::from_parts(parts, lambda_http::Body::from(body.to_vec()));
    if let Some(query) = query {
        request = request.with_query_string_parameters(query);
    }
    if !params.is_empty() {
        request = request.with_path_parameters(params);
    }
    Ok((route, request))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_routes_command_prints_every_row_of_the_route_table_once() {
        let lines = super::route_lines();
        let rows: Vec<Vec<&str>> = lines.lines().map(|l| l.split(' ').collect()).collect();
        assert_eq!(rows.len(), shared::route::ALL.len());
        for (row, spec) in rows.iter().zip(shared::route::ROUTES) {
            assert_eq!(row, &[spec.method, spec.path, spec.function]);
        }
    }
}
