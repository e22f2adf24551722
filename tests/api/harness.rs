//! The one test harness.
//!
//! - [`seeded`]: a fresh store of either kind (its own SQLite file or DynamoDB Local table) loaded
//!   with the demo data, built here and nowhere else.
//! - [`Event`]: a request as a test describes it (method, path, query, body, JWT `sub`), which each
//!   transport sends its own way; [`Reply`]: the one answer type, made by [`reply`], the one place
//!   that checks that every answer is JSON and every error is `{error, message}`.
//! - [`Transport`]: how a request reaches the service. Three of them: [`InProcess`] (the handlers,
//!   with API Gateway HTTP API v2 events), [`Loopback`] (the local server over TCP), and the
//!   function binaries through a Lambda Runtime API (`runtime::Stack`).
//! - [`TestApp`]: the client every scenario is written against (hold, confirm, release, list, the
//!   status of a slot, the clock), over any transport and either store.

use std::net::SocketAddr;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Duration, DurationRound, Utc};
use lambda_http::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use serde_json::{Value, json};
use shared::App;
use shared::clock::{Clock, ManualClock};
use shared::config::Caps;
use shared::domain::UserId;
use shared::route::{self, Matched};
use shared::store::sqlite::SqliteStore;
use shared::store::{Provision, Store};
use tokio::sync::oneshot;

/// The hold length the tests run with (seconds); expiry is driven by the manual clock.
pub const TTL_SECONDS: i64 = 300;

/// The operator tokens every test service is configured with (`OPERATOR_TOKENS`): `desk`'s, which
/// the tests act as the operator with, `desk`'s next one (a rotation: both work), `night`'s; and
/// the unnamed `OPERATOR_TOKEN` beside them. And the JWT scope (`OPERATOR_SCOPE`).
pub const OPERATOR_TOKEN: &str = "test-desk-token-0123456789abcdef01234567";
pub const DESK_NEXT_TOKEN: &str = "test-desk-next-token-0123456789abcdef012";
pub const NIGHT_TOKEN: &str = "test-night-token-0123456789abcdef0123456";
pub const UNNAMED_TOKEN: &str = "test-unnamed-token-0123456789abcdef01234";
pub const OPERATOR_SCOPE: &str = "escape-room/operator";

/// The tests' `OPERATOR_TOKENS` value.
pub fn operator_tokens_variable() -> String {
    format!("desk:{OPERATOR_TOKEN},desk:{DESK_NEXT_TOKEN},night:{NIGHT_TOKEN}")
}

pub fn test_operators() -> shared::config::Operators {
    shared::config::Operators::default()
        .with_token("desk", OPERATOR_TOKEN)
        .and_then(|o| o.with_token("desk", DESK_NEXT_TOKEN))
        .and_then(|o| o.with_token("night", NIGHT_TOKEN))
        .and_then(|o| o.with_unnamed_token(UNNAMED_TOKEN))
        .and_then(|o| o.with_scope(OPERATOR_SCOPE))
        .unwrap()
}

// ── Stores ──────────────────────────────────────────────────────────────────────────────────

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreKind {
    Sqlite,
    Dynamodb,
}

/// A fresh store with the demo data, and what a separate process needs to open the same store.
pub struct Seeded {
    pub store: Arc<dyn Store>,
    /// The environment that points a function binary at this store.
    pub env: Vec<(String, String)>,
    /// Keeps the SQLite file's directory alive for the test's length.
    _dir: Option<tempfile::TempDir>,
}

/// The per-player caps off, as a function binary's environment: tests that are not about the
/// caps hold and book as many slots as they like (`TestApp::start_capped` turns them on).
const CAPS_OFF: [(&str, &str); 2] = [
    ("MAX_LIVE_HOLDS_PER_PLAYER", "0"),
    ("MAX_UPCOMING_BOOKINGS_PER_PLAYER", "0"),
];

/// A fresh store of `kind` loaded with the demo data of `now` and `extra_users`; its `env` has
/// the per-player caps off.
pub async fn seeded(kind: StoreKind, now: DateTime<Utc>, extra_users: &[UserId]) -> Seeded {
    let mut seeded = seeded_store(kind, now, extra_users).await;
    seeded.env.extend(
        CAPS_OFF
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    seeded
}

async fn seeded_store(kind: StoreKind, now: DateTime<Utc>, extra_users: &[UserId]) -> Seeded {
    match kind {
        StoreKind::Sqlite => {
            let mut data = shared::seed::fixture(now).unwrap();
            data.users.extend_from_slice(extra_users);
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("test.db");
            let store = SqliteStore::open(&path).unwrap();
            store.load(&data).await.unwrap();
            Seeded {
                store: Arc::new(store),
                env: vec![("SQLITE_PATH".into(), path.display().to_string())],
                _dir: Some(dir),
            }
        }
        StoreKind::Dynamodb => {
            let endpoint = crate::dynamodb_local::endpoint().await.to_owned();
            let client = crate::dynamodb_local::client().await;
            let store = demo_dynamo_store(client, now, extra_users).await;
            let table = store.table().to_owned();
            // DynamoDB Local keeps one database per access key and region: a function binary
            // uses the harness's (`local`, us-east-1).
            let env = [
                ("TABLE_NAME", table.as_str()),
                ("AWS_ENDPOINT_URL_DYNAMODB", endpoint.as_str()),
                ("AWS_ACCESS_KEY_ID", "local"),
                ("AWS_SECRET_ACCESS_KEY", "local"),
                ("AWS_REGION", "us-east-1"),
                ("AWS_EC2_METADATA_DISABLED", "true"),
            ];
            Seeded {
                store: Arc::new(store),
                env: env
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect(),
                _dir: None,
            }
        }
    }
}

/// A DynamoDB store over a fresh table through `client`, loaded with the demo data of `now` and
/// `extra_users` (tests that count requests pass a client with an interceptor).
pub async fn demo_dynamo_store(
    client: aws_sdk_dynamodb::Client,
    now: DateTime<Utc>,
    extra_users: &[UserId],
) -> shared::store::dynamo::DynamoStore {
    let mut data = shared::seed::fixture(now).unwrap();
    data.users.extend_from_slice(extra_users);
    let table = crate::dynamodb_local::fresh_table(&client).await;
    let store = shared::store::dynamo::DynamoStore::new(client, table);
    // Loading is idempotent: on a machine busy enough for one of its writes to miss the store's
    // 2-second attempt timeout, it is loaded again (a setup step, not what a test checks).
    let mut last = None;
    for _ in 0..5 {
        match store.load(&data).await {
            Ok(()) => return store,
            Err(e) => last = Some(e),
        }
    }
    panic!("loading the demo data into DynamoDB Local: {last:?}")
}

// ── Answers ─────────────────────────────────────────────────────────────────────────────────

/// What the service answered, over any transport, with the body parsed as JSON.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn error_code(&self) -> &str {
        self.body["error"].as_str().unwrap_or_default()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// The one JSON assertion: every answer is `application/json`, its body parses, and an error
/// (4xx/5xx) is `{"error", "message"}`. `from` names the transport or function in failures.
pub fn reply(status: StatusCode, headers: HeaderMap, bytes: &[u8], from: &str) -> Reply {
    // A calendar file (`booking.ics`, the staff feed) is the one answer that is not JSON: its
    // text is the body, as a JSON string; only a success may be one.
    if headers.get("content-type").and_then(|v| v.to_str().ok())
        == Some("text/calendar; charset=utf-8")
    {
        assert!(
            status.is_success(),
            "{from}: a calendar file is a success ({status})"
        );
        let text = String::from_utf8(bytes.to_vec())
            .unwrap_or_else(|e| panic!("{from}: a calendar file is UTF-8 ({e})"));
        return Reply {
            status,
            headers,
            body: Value::String(text),
        };
    }
    assert_eq!(
        headers.get("content-type").and_then(|v| v.to_str().ok()),
        Some("application/json"),
        "{from}: every answer is JSON ({status}, {headers:?})"
    );
    let body: Value = serde_json::from_slice(bytes)
        .unwrap_or_else(|e| panic!("{from}: body is not JSON ({e}): {bytes:?}"));
    if status.is_client_error() || status.is_server_error() {
        assert!(
            body["error"].is_string() && body["message"].is_string(),
            "{from}: an error is {{error, message}}: {body}"
        );
    }
    Reply {
        status,
        headers,
        body,
    }
}

/// Asserts an answer's status and, for errors, its machine code.
/// A confirm's answer without what each booking has of its own (`reference`, `manage_key`, and
/// the `contact` guest mode adds), after checking the reference's shape: the rest compares as
/// before bookings had references.
pub fn booking_fields_aside(body: &Value) -> Value {
    let mut body = body.clone();
    if let Some(fields) = body.as_object_mut() {
        let reference = fields.remove("reference");
        let reference = reference
            .as_ref()
            .and_then(Value::as_str)
            .unwrap_or_default();
        assert!(
            reference.len() == 10 && reference.bytes().all(|b| b.is_ascii_alphanumeric()),
            "a reference: {reference:?}"
        );
        fields.remove("manage_key");
        fields.remove("contact");
    }
    body
}

pub fn assert_status(reply: &Reply, status: u16, code: Option<&str>) {
    assert_eq!(reply.status, status, "{reply:?}");
    if let Some(code) = code {
        assert_eq!(reply.error_code(), code, "{reply:?}");
    }
}

// ── Requests ────────────────────────────────────────────────────────────────────────────────

/// A request as a test describes it. [`Event::to_json`] is how API Gateway's HTTP API (payload
/// format 2.0) would deliver it to a function: stage prefix in `rawPath`, the route key and path
/// parameters from the route table, query string parameters, optional base64 body and optional
/// JWT authorizer claims.
#[derive(Debug, Clone)]
pub struct Event {
    pub method: Method,
    /// The route path without the stage (e.g. `/holds/…/confirm`).
    pub path: String,
    pub query: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
    pub base64: bool,
    pub content_type: Option<String>,
    pub sub: Option<String>,
    /// More JWT claims besides `sub` (e.g. `scope`), with `sub` set.
    pub claims: Vec<(String, String)>,
    /// More request headers (lower-case names), e.g. `idempotency-key`.
    pub headers: Vec<(String, String)>,
}

pub const STAGE: &str = "test";

impl Event {
    pub fn get(path_and_query: &str) -> Self {
        Self::new(Method::GET, path_and_query)
    }

    /// A request of any method, without a body.
    pub fn new(method: Method, path_and_query: &str) -> Self {
        let (path, query) = path_and_query
            .split_once('?')
            .unwrap_or((path_and_query, ""));
        let query = query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (k.to_owned(), v.to_owned())
            })
            .collect();
        Self {
            method,
            path: path.to_owned(),
            query,
            body: None,
            base64: false,
            content_type: None,
            sub: None,
            claims: Vec::new(),
            headers: Vec::new(),
        }
    }

    /// A request with a JSON body and any method.
    pub fn with_json(method: Method, path: &str, body: Value) -> Self {
        Self {
            method,
            ..Self::post(path, body)
        }
    }

    /// As an operator sends it without a JWT authorizer: `Authorization: Bearer <token>`.
    pub fn bearer(self, token: &str) -> Self {
        self.header("authorization", &format!("Bearer {token}"))
    }

    /// With one more JWT claim (the caller must be `authenticated_as` someone).
    pub fn claim(mut self, name: &str, value: &str) -> Self {
        self.claims.push((name.to_owned(), value.to_owned()));
        self
    }

    /// The same request with one more header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers
            .push((name.to_ascii_lowercase(), value.to_owned()));
        self
    }

    pub fn post(path: &str, body: Value) -> Self {
        Self::post_raw(path, body.to_string().into_bytes())
    }

    pub fn post_raw(path: &str, body: Vec<u8>) -> Self {
        Self {
            body: Some(body),
            content_type: Some("application/json".into()),
            ..Self::new(Method::POST, path)
        }
    }

    pub fn without_body(mut self) -> Self {
        self.body = None;
        self
    }

    /// As API Gateway sends a body whose content type it does not consider text: base64.
    pub fn base64(mut self, content_type: Option<&str>) -> Self {
        self.base64 = true;
        self.content_type = content_type.map(str::to_owned);
        self
    }

    /// As if API Gateway's JWT authorizer had verified a token with this `sub`.
    pub fn authenticated_as(mut self, sub: &str) -> Self {
        self.sub = Some(sub.to_owned());
        self
    }

    /// The route key (`METHOD /template`) and path parameters API Gateway would give this
    /// request, from the route table; a request no route matches keeps its own path as key.
    fn route_key_and_params(&self) -> (String, Value) {
        match route::find(self.method.as_str(), &self.path) {
            Matched::Route(route, params) => {
                let params: serde_json::Map<String, Value> = params
                    .into_iter()
                    .map(|(k, v)| (k.to_owned(), Value::String(v.to_owned())))
                    .collect();
                let params = if params.is_empty() {
                    Value::Null
                } else {
                    Value::Object(params)
                };
                (format!("{} {}", self.method, route.spec().path), params)
            }
            _ => (format!("{} {}", self.method, self.path), Value::Null),
        }
    }

    pub fn raw_query(&self) -> String {
        self.query
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&")
    }

    pub fn to_json(&self) -> Value {
        use base64::Engine as _;
        let (route_key, path_parameters) = self.route_key_and_params();
        let raw_query = self.raw_query();
        let query: serde_json::Map<String, Value> = self
            .query
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        let mut headers = json!({ "host": "api-id.execute-api.eu-west-1.amazonaws.com", "user-agent": "contract-tests" });
        if let Some(ct) = &self.content_type {
            headers["content-type"] = Value::String(ct.clone());
        }
        for (name, value) in &self.headers {
            headers[name.as_str()] = Value::String(value.clone());
        }
        let body = self.body.as_ref().map(|b| {
            if self.base64 {
                base64::engine::general_purpose::STANDARD.encode(b)
            } else {
                String::from_utf8_lossy(b).into_owned()
            }
        });
        let authorizer = match &self.sub {
            Some(sub) => {
                let mut claims = json!({ "sub": sub, "iss": "https://issuer.example" });
                for (name, value) in &self.claims {
                    claims[name.as_str()] = Value::String(value.clone());
                }
                json!({ "jwt": { "claims": claims, "scopes": null } })
            }
            None => Value::Null,
        };
        let raw_path = format!("/{STAGE}{}", self.path);
        let mut event = json!({
            "version": "2.0",
            "routeKey": route_key,
            "rawPath": raw_path,
            "rawQueryString": raw_query,
            "headers": headers,
            "requestContext": {
                "accountId": "123456789012",
                "apiId": "api-id",
                "domainName": "api-id.execute-api.eu-west-1.amazonaws.com",
                "domainPrefix": "api-id",
                "http": {
                    "method": self.method.as_str(),
                    "path": raw_path,
                    "protocol": "HTTP/1.1",
                    "sourceIp": "192.0.2.1",
                    "userAgent": "contract-tests"
                },
                "requestId": "req-contract-test",
                "routeKey": route_key,
                "stage": STAGE,
                "time": "24/Nov/2026:15:00:00 +0000",
                "timeEpoch": 1795100400000u64
            },
            "isBase64Encoded": self.base64,
        });
        if !self.query.is_empty() {
            event["queryStringParameters"] = Value::Object(query);
        }
        if !path_parameters.is_null() {
            event["pathParameters"] = path_parameters;
        }
        if let Some(body) = body {
            event["body"] = Value::String(body);
        }
        if !authorizer.is_null() {
            event["requestContext"]["authorizer"] = authorizer;
        }
        event
    }
}

// ── Transports ──────────────────────────────────────────────────────────────────────────────

/// How a request reaches the service.
#[async_trait]
pub trait Transport: Send + Sync {
    async fn send(&self, event: &Event) -> Reply;
}

/// Which transport a scenario runs through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// The handlers in this process, with API Gateway v2 events.
    Handlers,
    /// The local server over TCP on 127.0.0.1.
    Loopback,
    /// The function binaries through a Lambda Runtime API (`runtime::Stack`).
    Runtime,
}

/// The handlers in this process: as API Gateway does, the event goes to the function of its
/// route, or to the `$default` route's handler when no route matches.
pub struct InProcess(pub App);

#[async_trait]
impl Transport for InProcess {
    async fn send(&self, event: &Event) -> Reply {
        let request = lambda_http::request::from_str(&event.to_json().to_string()).unwrap();
        let response = match route::find(event.method.as_str(), &event.path) {
            Matched::Route(route, _) => self
                .0
                .handle(shared::Endpoint::of(route), request)
                .await
                .unwrap(),
            _ => shared::http::unmatched(&request),
        };
        let (parts, body) = response.into_parts();
        reply(parts.status, parts.headers, body.as_ref(), "handler")
    }
}

/// The local server (`server::serve`) on 127.0.0.1 and a port of its own, serving `app` with the
/// rate limits off (`tests/api/hostile/rates.rs` is about them, on the server's binary).
pub struct Loopback {
    pub addr: SocketAddr,
    client: reqwest::Client,
    stop: std::sync::Mutex<Option<oneshot::Sender<()>>>,
    task: std::sync::Mutex<Option<tokio::task::JoinHandle<std::io::Result<()>>>>,
}

impl Loopback {
    pub async fn start(app: App) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel();
        let limits = server::Limits::new(&shared::config::RateLimits::off());
        let task = tokio::spawn(server::serve(app, limits, listener, async {
            let _ = stopped.await;
        }));
        Self {
            addr,
            client: reqwest::Client::new(),
            stop: std::sync::Mutex::new(Some(stop)),
            task: std::sync::Mutex::new(Some(task)),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// Asks the server to stop and waits until it has.
    pub async fn stop(&self) {
        if let Some(stop) = self.stop.lock().unwrap().take() {
            let _ = stop.send(());
        }
        let task = self.task.lock().unwrap().take();
        if let Some(task) = task {
            task.await.unwrap().unwrap();
        }
    }
}

/// The answer of the local server to a `reqwest` request, through the one JSON assertion.
pub async fn http_reply(response: reqwest::Response) -> Reply {
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.unwrap();
    reply(status, headers, &bytes, "local server")
}

#[async_trait]
impl Transport for Loopback {
    async fn send(&self, event: &Event) -> Reply {
        assert!(
            event.sub.is_none(),
            "JWT claims come from API Gateway; the local server has no authorizer"
        );
        let mut url = self.url(&event.path);
        if !event.query.is_empty() {
            url = format!("{url}?{}", event.raw_query());
        }
        let mut request = self.client.request(event.method.clone(), url);
        if let Some(ct) = &event.content_type {
            request = request.header("content-type", ct);
        }
        for (name, value) in &event.headers {
            request = request.header(name.as_str(), value.as_str());
        }
        if let Some(body) = &event.body {
            request = request.body(body.clone());
        }
        http_reply(request.send().await.unwrap()).await
    }
}

/// A transport that keeps the seeded store it serves alive ([`TestApp::into_parts`]).
struct Keeping {
    via: Box<dyn Transport>,
    _seeded: Option<Seeded>,
}

#[async_trait]
impl Transport for Keeping {
    async fn send(&self, event: &Event) -> Reply {
        self.via.send(event).await
    }
}

// ── The client scenarios are written against ───────────────────────────────────────────────

/// A service on a fresh, seeded store, reached through one transport, with a manual clock.
pub struct TestApp {
    via: Box<dyn Transport>,
    /// The service's clock (in-process and loopback); through the runtime the functions run on
    /// the system clock and scenarios that move time do not run there.
    pub clock: ManualClock,
    _seeded: Option<Seeded>,
}

pub fn start_time() -> DateTime<Utc> {
    let now = Utc::now();
    now.duration_trunc(Duration::seconds(1)).unwrap_or(now)
}

impl TestApp {
    /// A fresh store of `kind` with the demo data (and `extra_users`), served through `via`.
    pub async fn start(via: Via, kind: StoreKind, extra_users: &[UserId]) -> Self {
        Self::start_with_cutoff(via, kind, extra_users, Duration::zero()).await
    }

    /// As [`Self::start`], with a cancellation cut-off.
    pub async fn start_with_cutoff(
        via: Via,
        kind: StoreKind,
        extra_users: &[UserId],
        cancel_cutoff: Duration,
    ) -> Self {
        Self::start_with(via, kind, extra_users, cancel_cutoff, Caps::OFF).await
    }

    /// As [`Self::start`], with the per-player `caps` on.
    pub async fn start_capped(via: Via, kind: StoreKind, caps: Caps) -> Self {
        Self::start_with(via, kind, &[], Duration::zero(), caps).await
    }

    /// As [`Self::start`], with a cancellation cut-off and per-player caps.
    pub async fn start_with(
        via: Via,
        kind: StoreKind,
        extra_users: &[UserId],
        cancel_cutoff: Duration,
        caps: Caps,
    ) -> Self {
        let clock = ManualClock::starting_at(start_time());
        let seeded = seeded(kind, clock.now(), extra_users).await;
        let app = || {
            App::new(
                seeded.store.clone(),
                Clock::Manual(clock.clone()),
                Duration::seconds(TTL_SECONDS),
            )
            .with_caps(caps)
            .with_cancel_cutoff(cancel_cutoff)
            .with_operators(test_operators())
        };
        let via: Box<dyn Transport> = match via {
            Via::Handlers => Box::new(InProcess(app())),
            Via::Loopback => Box::new(Loopback::start(app()).await),
            Via::Runtime => {
                let mut env = seeded.env.clone();
                env.push(("HOLD_TTL_SECONDS".into(), TTL_SECONDS.to_string()));
                env.push((
                    "CANCEL_CUTOFF_SECONDS".into(),
                    cancel_cutoff.num_seconds().to_string(),
                ));
                env.push(("OPERATOR_TOKENS".into(), operator_tokens_variable()));
                env.push(("OPERATOR_TOKEN".into(), UNNAMED_TOKEN.into()));
                env.push(("OPERATOR_SCOPE".into(), OPERATOR_SCOPE.into()));
                let cap = |cap: Option<u32>| cap.unwrap_or(0).to_string();
                env.push(("MAX_LIVE_HOLDS_PER_PLAYER".into(), cap(caps.live_holds)));
                env.push((
                    "MAX_UPCOMING_BOOKINGS_PER_PLAYER".into(),
                    cap(caps.upcoming_bookings),
                ));
                Box::new(crate::runtime::Stack::start(env).await)
            }
        };
        Self {
            via,
            clock,
            _seeded: Some(seeded),
        }
    }

    /// The handlers in process on `store` as it is (no data loaded), e.g. a failing test double.
    pub fn with_store(store: Arc<dyn Store>) -> Self {
        let clock = ManualClock::starting_at(start_time());
        let app = App::new(
            store,
            Clock::Manual(clock.clone()),
            Duration::seconds(TTL_SECONDS),
        )
        .with_caps(shared::config::Caps::OFF);
        Self {
            via: Box::new(InProcess(app)),
            clock,
            _seeded: None,
        }
    }

    /// The handlers in process over `app`, whose clock is `clock` (a test that drives several
    /// apps with one clock).
    pub fn in_process(app: App, clock: ManualClock) -> Self {
        Self {
            via: Box::new(InProcess(app)),
            clock,
            _seeded: None,
        }
    }

    /// Scenarios through `via`, a transport of the test's own (e.g. one that records what each
    /// route sends to the store), whose service's clock is `clock`.
    pub fn through(via: Box<dyn Transport>, clock: ManualClock) -> Self {
        Self {
            via,
            clock,
            _seeded: None,
        }
    }

    /// The transport and the clock, to wrap the transport in another (the seeded store goes
    /// with the transport when it owns it; see [`Self::keeping`]).
    pub fn into_parts(self) -> (Box<dyn Transport>, ManualClock) {
        let Self {
            via,
            clock,
            _seeded,
        } = self;
        let keep: Box<dyn Transport> = Box::new(Keeping { via, _seeded });
        (keep, clock)
    }

    /// The store behind the service, when this client made it (not through a transport of a
    /// test's own): for a scenario to do what no route does (a receiver's `410`).
    pub fn store(&self) -> Option<Arc<dyn Store>> {
        self._seeded.as_ref().map(|s| s.store.clone())
    }

    /// The same client, keeping `seeded` (its store, its files) alive as long as it lives.
    pub fn keeping(mut self, seeded: Seeded) -> Self {
        self._seeded = Some(seeded);
        self
    }

    /// The handlers in process on a fresh SQLite store (the error-table tests).
    pub async fn sqlite() -> Self {
        Self::start(Via::Handlers, StoreKind::Sqlite, &[]).await
    }

    pub fn advance(&self, seconds: i64) {
        self.clock.advance(Duration::seconds(seconds));
    }

    pub async fn send(&self, event: Event) -> Reply {
        self.via.send(&event).await
    }

    pub async fn get(&self, path_and_query: &str) -> Reply {
        self.send(Event::get(path_and_query)).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.send(Event::post(path, body)).await
    }

    pub async fn list(&self, room: &str, user: Option<&str>) -> Reply {
        match user {
            Some(user) => {
                self.get(&format!("/slots?room_id={room}&user_id={user}"))
                    .await
            }
            None => self.get(&format!("/slots?room_id={room}")).await,
        }
    }

    /// The room's slots as `user` sees them (200 asserted).
    pub async fn slots(&self, room: &str, user: Option<&str>) -> Vec<Value> {
        let list = self.list(room, user).await;
        assert_eq!(list.status, StatusCode::OK, "{list:?}");
        list.body["slots"].as_array().unwrap().clone()
    }

    /// One slot of the room as `user` sees it.
    pub async fn slot(&self, room: &str, slot_id: &str, user: Option<&str>) -> Value {
        self.slots(room, user)
            .await
            .into_iter()
            .find(|s| s["slot_id"] == slot_id)
            .unwrap_or_else(|| panic!("{slot_id} listed"))
    }

    /// The caller-aware status of one slot, as listed.
    pub async fn status_of(&self, room: &str, slot: &str, user: Option<&str>) -> String {
        let list = self.list(room, user).await;
        assert_eq!(list.status, StatusCode::OK, "{list:?}");
        list.body["slots"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["slot_id"] == slot)
            .map(|s| s["status"].as_str().unwrap().to_owned())
            .unwrap_or_else(|| panic!("{slot} not listed"))
    }

    pub async fn create_hold(&self, slot: &str, user: &str) -> Reply {
        self.post("/holds", json!({ "slot_id": slot, "user_id": user }))
            .await
    }

    /// Holds `slot` for `user`, asserting success; returns the hold id.
    pub async fn hold(&self, slot: &str, user: &str) -> String {
        let response = self.create_hold(slot, user).await;
        assert_eq!(response.status, StatusCode::CREATED, "{response:?}");
        response.body["hold_id"].as_str().unwrap().to_owned()
    }

    pub async fn confirm(&self, hold_id: &str, user: &str) -> Reply {
        self.post(
            &format!("/holds/{hold_id}/confirm"),
            json!({ "user_id": user }),
        )
        .await
    }

    pub async fn release(&self, hold_id: &str, user: &str) -> Reply {
        self.post(
            &format!("/holds/{hold_id}/release"),
            json!({ "user_id": user }),
        )
        .await
    }

    pub async fn extend(&self, hold_id: &str, user: &str) -> Reply {
        self.post(
            &format!("/holds/{hold_id}/extend"),
            json!({ "user_id": user }),
        )
        .await
    }

    pub async fn cancel(&self, hold_id: &str, user: &str) -> Reply {
        self.post(
            &format!("/holds/{hold_id}/cancel"),
            json!({ "user_id": user }),
        )
        .await
    }

    /// `GET /holds/{hold_id}?user_id=…`
    pub async fn look_up(&self, hold_id: &str, user: &str) -> Reply {
        self.get(&format!("/holds/{hold_id}?user_id={user}")).await
    }

    /// `PUT /rooms/{room}` with `body`, as the operator (bearer token).
    pub async fn put_room(&self, room: &str, body: Value) -> Reply {
        self.send(
            Event::with_json(Method::PUT, &format!("/rooms/{room}"), body).bearer(OPERATOR_TOKEN),
        )
        .await
    }

    /// `PUT /rooms/{room}/schedule` with `body`, as the operator.
    pub async fn put_schedule(&self, room: &str, body: Value) -> Reply {
        self.send(
            Event::with_json(Method::PUT, &format!("/rooms/{room}/schedule"), body)
                .bearer(OPERATOR_TOKEN),
        )
        .await
    }

    /// `POST /holds` for a party of `players`.
    pub async fn create_hold_for(&self, slot: &str, user: &str, players: u32) -> Reply {
        self.post(
            "/holds",
            json!({ "slot_id": slot, "user_id": user, "players": players }),
        )
        .await
    }

    /// Holds and confirms `slot` for `user` (and a party of `players`); returns the hold id.
    pub async fn book(&self, slot: &str, user: &str, players: Option<u32>) -> String {
        let created = match players {
            Some(players) => self.create_hold_for(slot, user, players).await,
            None => self.create_hold(slot, user).await,
        };
        assert_eq!(created.status, StatusCode::CREATED, "{created:?}");
        let hold_id = created.body["hold_id"].as_str().unwrap().to_owned();
        let confirmed = self.confirm(&hold_id, user).await;
        assert_eq!(confirmed.status, StatusCode::OK, "{confirmed:?}");
        hold_id
    }

    /// `POST /holds/{hold_id}/cancel` as the operator, with `reason`.
    pub async fn operator_cancel(&self, hold_id: &str, reason: &str) -> Reply {
        self.send(
            Event::post(
                &format!("/holds/{hold_id}/cancel"),
                json!({ "reason": reason }),
            )
            .bearer(OPERATOR_TOKEN),
        )
        .await
    }

    /// `GET /rooms/{room}/bookings{query}` as the operator (the day sheet).
    pub async fn day_sheet(&self, room: &str, query: &str) -> Reply {
        self.send(Event::get(&format!("/rooms/{room}/bookings{query}")).bearer(OPERATOR_TOKEN))
            .await
    }

    /// `GET /users/{user}/holds`
    pub async fn bookings_of(&self, user: &str) -> Reply {
        self.get(&format!("/users/{user}/holds")).await
    }

    /// `POST /holds` with an `Idempotency-Key`.
    pub async fn create_hold_with_key(&self, slot: &str, user: &str, key: &str) -> Reply {
        self.send(
            Event::post("/holds", json!({ "slot_id": slot, "user_id": user }))
                .header("idempotency-key", key),
        )
        .await
    }

    /// Moves the clock to `seconds` before the slot's start (as listed for `room`).
    pub async fn advance_to_before_start(&self, room: &str, slot: &str, seconds: i64) {
        let start: DateTime<Utc> = self.slot(room, slot, None).await["start_time"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        let by = start - Duration::seconds(seconds) - self.clock.now();
        assert!(by >= Duration::zero(), "{slot} starts too soon");
        self.clock.advance(by);
    }
}

/// Turns a `serde_json` header object (as a function returns it) into a [`HeaderMap`].
pub fn header_map(headers: &serde_json::Map<String, Value>) -> HeaderMap {
    headers
        .iter()
        .filter_map(|(k, v)| {
            Some((
                HeaderName::from_bytes(k.as_bytes()).ok()?,
                HeaderValue::from_str(v.as_str()?).ok()?,
            ))
        })
        .collect()
}

/// Asks `check` until it answers `Some`, at most every `every`, and panics naming `what` after
/// `within`: the tests' one way to wait for a process to be ready (a condition, never a fixed
/// pause).
pub async fn poll_until<T, F, Fut>(
    what: &str,
    within: std::time::Duration,
    every: std::time::Duration,
    mut check: F,
) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let started = std::time::Instant::now();
    let mut ticks = tokio::time::interval(every);
    loop {
        ticks.tick().await;
        if let Some(value) = check().await {
            return value;
        }
        assert!(started.elapsed() < within, "{what}: not within {within:?}");
    }
}
