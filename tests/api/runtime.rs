//! End to end through the real Lambda runtime: each function's own binary (`functions/<name>`,
//! built once before the tests, see `binaries`) runs as a child process against a minimal Lambda
//! Runtime API served here, exactly as on AWS: the process long-polls
//! `GET /2018-06-01/runtime/invocation/next` for API Gateway HTTP API (payload 2.0) events and
//! posts the API Gateway response (`statusCode`, `headers`, `body`) back. The test plays API
//! Gateway: it picks the function from `template.yaml`'s route table by the event's route key,
//! and sends a request no route matches to the `$default` route's function (route key `$default`).
//!
//! The route processes share one store, as the deployed functions do: a SQLite file (WAL,
//! several processes on one file), or a table on DynamoDB Local (`dynamodb_local`). The
//! `$default` function opens none. As on Lambda, a function's process (its execution
//! environment) is started by its first invocation, a cold start, and then serves every later
//! one: a scenario starts only the functions it calls, not all thirty.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{HeaderMap, Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use shared::route::{DEFAULT_ROUTE_FUNCTION, ROUTES};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::TcpListener;
use tokio::process::{Child, Command};
use tokio::sync::{mpsc, oneshot};

use crate::harness::{Event, Reply, STAGE, StoreKind, Transport, assert_status, header_map, reply};

/// How long one invocation may take, cold start included.
const INVOKE_TIMEOUT: Duration = Duration::from_secs(30);
const RUNTIME: &str = "/2018-06-01/runtime";
pub(crate) const REGION: &str = "eu-west-1";

// ---------------------------------------------------------------------------------------------
// A minimal Lambda Runtime API

/// What the function sent back for one invocation.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// `POST …/invocation/{id}/response`
    Response(Value),
    /// `POST …/invocation/{id}/error`
    Error {
        error_type: Option<String>,
        body: Value,
    },
}

struct Invocation {
    event: Value,
    reply: oneshot::Sender<Outcome>,
}

struct ApiState {
    function_name: String,
    queue: tokio::sync::Mutex<mpsc::UnboundedReceiver<Invocation>>,
    pending: Mutex<HashMap<String, oneshot::Sender<Outcome>>>,
    init_errors: Mutex<Vec<Value>>,
}

/// The Runtime API of one execution environment (one function process), on 127.0.0.1:0.
struct RuntimeApi {
    addr: SocketAddr,
    state: Arc<ApiState>,
    invocations: mpsc::UnboundedSender<Invocation>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl RuntimeApi {
    async fn start(function_name: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (invocations, queue) = mpsc::unbounded_channel();
        let state = Arc::new(ApiState {
            function_name: function_name.to_owned(),
            queue: tokio::sync::Mutex::new(queue),
            pending: Mutex::new(HashMap::new()),
            init_errors: Mutex::new(Vec::new()),
        });
        let server_state = state.clone();
        let server = tokio::spawn(async move {
            let mut connections = tokio::task::JoinSet::new();
            while let Ok((stream, _)) = listener.accept().await {
                let state = server_state.clone();
                let service = hyper::service::service_fn(move |request| {
                    let state = state.clone();
                    async move { Ok::<_, Infallible>(serve(&state, request).await) }
                });
                connections.spawn(async move {
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self {
            addr,
            state,
            invocations,
            server,
        }
    }

    /// Queues `event` for the function and waits for what it posts back.
    async fn invoke(&self, event: Value) -> Result<Outcome, String> {
        let (reply, outcome) = oneshot::channel();
        self.invocations
            .send(Invocation { event, reply })
            .map_err(|_| "the runtime API is gone".to_owned())?;
        match tokio::time::timeout(INVOKE_TIMEOUT, outcome).await {
            Ok(Ok(outcome)) => Ok(outcome),
            Ok(Err(_)) => Err("the invocation was dropped".into()),
            Err(_) => Err(format!("no answer within {INVOKE_TIMEOUT:?}")),
        }
    }
}

fn text(status: StatusCode, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    response
}

async fn serve(state: &ApiState, request: Request<Incoming>) -> Response<Full<Bytes>> {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let Some(rest) = path.strip_prefix(RUNTIME) else {
        return text(StatusCode::NOT_FOUND, "unknown path");
    };
    let segments: Vec<&str> = rest.trim_matches('/').split('/').collect();
    match (&method, segments.as_slice()) {
        (&Method::GET, ["invocation", "next"]) => next_invocation(state).await,
        (&Method::POST, ["invocation", id, kind @ ("response" | "error")]) => {
            let error_type = request
                .headers()
                .get("lambda-runtime-function-error-type")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let id = (*id).to_owned();
            let kind = *kind;
            let body = request
                .into_body()
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            let body = serde_json::from_slice(&body)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()));
            let Some(reply) = state.pending.lock().unwrap().remove(&id) else {
                return text(StatusCode::BAD_REQUEST, "unknown request id");
            };
            let outcome = match kind {
                "response" => Outcome::Response(body),
                _ => Outcome::Error { error_type, body },
            };
            let _ = reply.send(outcome);
            text(StatusCode::ACCEPTED, r#"{"status":"OK"}"#)
        }
        (&Method::POST, ["init", "error"]) => {
            let body = request
                .into_body()
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            state
                .init_errors
                .lock()
                .unwrap()
                .push(serde_json::from_slice(&body).unwrap_or(Value::Null));
            text(StatusCode::ACCEPTED, r#"{"status":"OK"}"#)
        }
        _ => text(StatusCode::NOT_FOUND, "unknown path"),
    }
}

/// Hands out the next queued event (long poll, as Lambda does), with the invocation headers.
async fn next_invocation(state: &ApiState) -> Response<Full<Bytes>> {
    let Some(Invocation { event, reply }) = state.queue.lock().await.recv().await else {
        return text(StatusCode::GONE, "shutting down");
    };
    let id = uuid::Uuid::new_v4().to_string();
    state.pending.lock().unwrap().insert(id.clone(), reply);
    let deadline = SystemTime::now().duration_since(UNIX_EPOCH).unwrap() + INVOKE_TIMEOUT;
    let arn = format!(
        "arn:aws:lambda:{REGION}:123456789012:function:{}",
        state.function_name
    );
    let mut response = text(StatusCode::OK, event.to_string());
    let headers = response.headers_mut();
    headers.insert("content-type", "application/json".parse().unwrap());
    headers.insert("lambda-runtime-aws-request-id", id.parse().unwrap());
    headers.insert(
        "lambda-runtime-deadline-ms",
        deadline.as_millis().to_string().parse().unwrap(),
    );
    headers.insert("lambda-runtime-invoked-function-arn", arn.parse().unwrap());
    headers.insert(
        "lambda-runtime-trace-id",
        "Root=1-67891233-abcdef012345678912345678;Parent=53995c3f42cd8ad8;Sampled=0"
            .parse()
            .unwrap(),
    );
    response
}

// ---------------------------------------------------------------------------------------------
// Function processes

/// One function: its binary as a child process (killed on drop) on its own Runtime API.
pub(crate) struct Function {
    name: String,
    api: RuntimeApi,
    pub(crate) child: Child,
    output: Arc<Mutex<String>>,
    /// The tasks copying the process's stdout and stderr into `output`; each ends at its pipe's
    /// end of file.
    pub(crate) readers: Vec<tokio::task::JoinHandle<()>>,
}

impl Function {
    pub(crate) async fn start(name: &str, env: &[(String, String)]) -> Self {
        let binary = crate::binaries::function(name);
        let api = RuntimeApi::start(name).await;
        let mut command = Command::new(&binary);
        command
            .env_clear()
            .env("AWS_LAMBDA_RUNTIME_API", api.addr.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", name)
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env(
                "AWS_LAMBDA_LOG_STREAM_NAME",
                "2026/11/24/[$LATEST]0123456789abcdef",
            )
            .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}"))
            .env("AWS_REGION", REGION)
            .env("RUST_LOG", "warn")
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .current_dir(std::env::temp_dir())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", binary.display()));
        let output = Arc::new(Mutex::new(String::new()));
        let stdout = child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn tokio::io::AsyncRead + Send + Unpin>);
        let stderr = child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn tokio::io::AsyncRead + Send + Unpin>);
        let mut readers = Vec::new();
        for stream in [stdout, stderr].into_iter().flatten() {
            let output = output.clone();
            readers.push(tokio::spawn(async move {
                let mut lines = BufReader::new(stream).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    let mut output = output.lock().unwrap();
                    output.push_str(&line);
                    output.push('\n');
                }
            }));
        }
        Self {
            name: name.to_owned(),
            api,
            child,
            output,
            readers,
        }
    }

    pub(crate) fn output(&self) -> String {
        self.output.lock().unwrap().clone()
    }

    pub(crate) async fn invoke(&mut self, event: Value) -> Outcome {
        match self.api.invoke(event).await {
            Ok(outcome) => outcome,
            Err(why) => {
                let status = self.child.try_wait().ok().flatten();
                let init_errors = self.api.state.init_errors.lock().unwrap().clone();
                panic!(
                    "{}: {why} (process: {}; init errors posted: {init_errors:?}). Its output:\n{}",
                    self.name,
                    status.map_or("running".into(), |s| s.to_string()),
                    self.output()
                )
            }
        }
    }
}

/// The route functions on one store, and the `$default` function, each its own process once
/// first invoked.
pub struct Stack {
    /// Every function of the route table and the `$default` one; `None` until its first
    /// invocation starts its process.
    functions: HashMap<String, tokio::sync::Mutex<Option<Function>>>,
    /// `(METHOD, /path/{param})` → function, from the route table.
    routes: HashMap<(String, String), String>,
    /// What every function is started with (it points them at a store; see `harness::seeded`).
    env: Vec<(String, String)>,
}

impl Stack {
    /// The functions with `env`, each started by its first invocation (as Lambda starts an
    /// execution environment for a function's first request).
    pub async fn start(env: Vec<(String, String)>) -> Self {
        let routes: HashMap<(String, String), String> = ROUTES
            .iter()
            .map(|r| {
                (
                    (r.method.to_owned(), r.path.to_owned()),
                    r.function.to_owned(),
                )
            })
            .collect();
        let functions = routes
            .values()
            .map(String::as_str)
            .chain([DEFAULT_ROUTE_FUNCTION])
            .map(|name| (name.to_owned(), tokio::sync::Mutex::new(None)))
            .collect();
        Self {
            functions,
            routes,
            env,
        }
    }

    /// What the function `name` has written so far (its logs; nothing if never invoked).
    pub(crate) async fn output_of(&self, name: &str) -> String {
        self.functions[name]
            .lock()
            .await
            .as_ref()
            .map(Function::output)
            .unwrap_or_default()
    }

    /// As API Gateway does: the function of the event's route key, or, when no route matches,
    /// the `$default` route's (route key `$default`, no path parameters).
    async fn send_json(&self, event: Value) -> Reply {
        let (status, headers, bytes, name) = self.send_raw(event).await;
        reply(status, headers, &bytes, &name)
    }

    /// [`Self::send_json`]'s answer as it came: status, headers, body bytes, and the function.
    async fn send_raw(&self, mut event: Value) -> (StatusCode, HeaderMap, Vec<u8>, String) {
        let route_key = event["routeKey"].as_str().unwrap_or_default().to_owned();
        let (method, path) = route_key.split_once(' ').expect("route key `METHOD /path`");
        let name = match self.routes.get(&(method.to_owned(), path.to_owned())) {
            Some(name) => name.clone(),
            None => {
                event["routeKey"] = json!("$default");
                event["requestContext"]["routeKey"] = json!("$default");
                if let Some(event) = event.as_object_mut() {
                    event.remove("pathParameters");
                }
                DEFAULT_ROUTE_FUNCTION.to_owned()
            }
        };
        let mut slot = self
            .functions
            .get(&name)
            .expect("a function of the route table")
            .lock()
            .await;
        if slot.is_none() {
            *slot = Some(Function::start(&name, &self.env).await);
        }
        let function = slot.as_mut().expect("started above");
        let body = match function.invoke(event).await {
            Outcome::Response(body) => body,
            Outcome::Error { error_type, body } => panic!(
                "{name} posted an invocation error ({error_type:?}): {body}\n{}",
                function.output()
            ),
        };
        let status = body["statusCode"]
            .as_u64()
            .unwrap_or_else(|| panic!("no statusCode: {body}"));
        let headers = body["headers"].as_object().cloned().unwrap_or_default();
        let raw = body["body"].as_str().unwrap_or_default();
        let bytes = if body["isBase64Encoded"] == true {
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD
                .decode(raw)
                .unwrap()
        } else {
            raw.as_bytes().to_vec()
        };
        let status = StatusCode::from_u16(u16::try_from(status).unwrap()).unwrap();
        (status, header_map(&headers), bytes, name)
    }
}

#[async_trait::async_trait]
impl Transport for Stack {
    /// Sends `event` to the function its route key names, through the runtime.
    async fn send(&self, event: &Event) -> Reply {
        self.send_json(event.to_json()).await
    }
}

/// The stack on a fresh SQLite store with the demo data (the tests below that need a stack
/// itself rather than the contract client).
async fn sqlite_stack() -> (Stack, crate::harness::Seeded) {
    let seeded = crate::harness::seeded(StoreKind::Sqlite, chrono::Utc::now(), &[]).await;
    (Stack::start(seeded.env.clone()).await, seeded)
}

/// Requests no route matches reach the `$default` function, which answers the contract's JSON
/// 404/405 (instead of API Gateway's own `{"message":"Not Found"}`), behind a named stage and on
/// the `$default` stage.
async fn the_unmatched_requests(stack: &Stack) {
    let unknown = Event::get("/nope");
    assert_eq!(
        unknown.to_json()["rawPath"],
        format!("/{STAGE}/nope"),
        "the event carries a named stage"
    );
    let answer = stack.send(&unknown).await;
    assert_status(&answer, 404, Some("ROUTE_NOT_FOUND"));
    assert_eq!(
        answer.body["message"].as_str().map(str::is_empty),
        Some(false)
    );

    let mut delete = Event::get("/slots?room_id=r-101");
    delete.method = Method::DELETE;
    assert_status(&stack.send(&delete).await, 405, Some("METHOD_NOT_ALLOWED"));
    let hold = uuid::Uuid::new_v4();
    let get_confirm = Event::get(&format!("/holds/{hold}/confirm"));
    assert_status(
        &stack.send(&get_confirm).await,
        405,
        Some("METHOD_NOT_ALLOWED"),
    );
    assert_status(
        &stack.send(&Event::post("/holds/a/b/c", json!({}))).await,
        404,
        Some("ROUTE_NOT_FOUND"),
    );
    // A path that only starts like a route once the stage is stripped wrongly: 404.
    assert_status(
        &stack.send(&Event::get(&format!("/{STAGE}/slots"))).await,
        404,
        Some("ROUTE_NOT_FOUND"),
    );

    // On the `$default` stage `rawPath` has no stage prefix.
    let mut event = Event::get("/slots").to_json();
    event["routeKey"] = json!("DELETE /slots");
    event["rawPath"] = json!("/slots");
    event["requestContext"]["stage"] = json!("$default");
    event["requestContext"]["http"]["method"] = json!("DELETE");
    event["requestContext"]["http"]["path"] = json!("/slots");
    assert_status(
        &stack.send_json(event).await,
        405,
        Some("METHOD_NOT_ALLOWED"),
    );
}

/// On AWS the booking page and the operator view come from the HTTP API itself: the `$default`
/// route's function serves them, embedded, with their content types and headers.
#[tokio::test]
async fn the_default_route_function_serves_the_booking_page_and_the_operator_view() {
    let (stack, _store) = sqlite_stack().await;
    for (path, content_type, marker) in [
        ("/", "text/html; charset=utf-8", "<html"),
        ("/operator", "text/html; charset=utf-8", "<html"),
        ("/common.js", "text/javascript; charset=utf-8", "fetch"),
        ("/app.js", "text/javascript; charset=utf-8", "/holds"),
        ("/app.css", "text/css; charset=utf-8", "{"),
    ] {
        let (status, headers, bytes, name) = stack.send_raw(Event::get(path).to_json()).await;
        assert_eq!(name, DEFAULT_ROUTE_FUNCTION);
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(headers["content-type"], content_type, "{path}");
        assert_eq!(headers["cache-control"], "no-cache");
        assert!(
            headers["content-security-policy"]
                .to_str()
                .unwrap()
                .contains("default-src 'self'")
        );
        let body = String::from_utf8(bytes).unwrap();
        assert_eq!(
            Some(body.as_str()),
            shared::pages::find(path).map(|p| p.body),
            "{path}"
        );
        assert!(body.contains(marker), "{path}");
    }
    // Only GET and HEAD: a POST to a page's path is the contract's 404.
    assert_status(
        &stack.send(&Event::post("/operator", json!({}))).await,
        404,
        Some("ROUTE_NOT_FOUND"),
    );
}

#[tokio::test]
async fn unmatched_requests_get_contract_json_404_and_405_from_the_default_route_function() {
    let (stack, _store) = sqlite_stack().await;
    the_unmatched_requests(&stack).await;
}

#[tokio::test]
async fn a_function_with_an_invalid_configuration_stops_at_cold_start_naming_the_variable() {
    let env = [("HOLD_TTL_SECONDS".to_owned(), "0".to_owned())];
    let mut function = Function::start("list-slots", &env).await;
    let status = tokio::time::timeout(INVOKE_TIMEOUT, function.child.wait())
        .await
        .expect("the process exits")
        .unwrap();
    assert!(!status.success(), "{status}");
    // The pipes close with the process: its whole output is in once both readers reach the end.
    for reader in std::mem::take(&mut function.readers) {
        reader.await.unwrap();
    }
    let output = function.output();
    assert!(output.contains("HOLD_TTL_SECONDS"), "{output}");
    assert!(
        function.api.state.pending.lock().unwrap().is_empty(),
        "it never took an invocation"
    );
}

/// The daily `extend-horizon` function, invoked as EventBridge does, re-applies a published
/// schedule: its binary answers with what it did per room.
#[tokio::test]
async fn the_extend_horizon_function_moves_the_scheduled_rooms_horizons_when_eventbridge_calls() {
    let (_stack, seeded) = sqlite_stack().await;
    let store = seeded.store.clone();
    let room = shared::domain::RoomSpec {
        name: "The Vault".into(),
        time_zone: "Europe/Berlin".into(),
        min_players: 2,
        max_players: 6,
        duration_minutes: 60,
        buffer_minutes: 0,
        min_notice_minutes: 0,
        max_advance_days: 3,
        cancel_cutoff_minutes: 0,
    }
    .room(shared::domain::RoomId::parse("r-vault").unwrap())
    .unwrap();
    store
        .put_room(&room, None, chrono::Utc::now())
        .await
        .unwrap();
    let schedule: shared::schedule::Schedule = serde_json::from_value(json!({
        "weekly": [{ "days": ["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"], "starts": ["12:00"] }]
    }))
    .unwrap();
    // Stored, but no slot made yet: the function's run makes them.
    store
        .apply_schedule(
            &room,
            &schedule,
            &[],
            chrono::Utc::now(),
            chrono::Utc::now(),
        )
        .await
        .unwrap();
    let mut function = Function::start("extend-horizon", &seeded.env).await;
    let event = json!({
        "version": "0", "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
        "detail-type": "Scheduled Event", "source": "aws.events", "account": "123456789012",
        "time": "2026-12-01T00:00:00Z", "region": REGION,
        "resources": ["arn:aws:events:eu-west-1:123456789012:rule/daily"], "detail": {}
    });
    let Outcome::Response(answer) = function.invoke(event.clone()).await else {
        panic!("extend-horizon failed: {}", function.output());
    };
    let runs = answer["rooms"].as_array().unwrap();
    assert_eq!(runs.len(), 1, "{answer}");
    assert_eq!(runs[0]["room_id"], "r-vault");
    let created = runs[0]["created"].as_u64().unwrap();
    assert!(
        (3..=4).contains(&created),
        "a game a day for 3 days: {answer}"
    );
    let Outcome::Response(again) = function.invoke(event).await else {
        panic!("extend-horizon failed: {}", function.output());
    };
    assert_eq!(again["rooms"][0]["created"], 0, "idempotent: {again}");
}
