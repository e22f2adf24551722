//! End to end through the real Lambda runtime: each function's own binary (`functions/<name>`,
//! built once per test run with `cargo build`) runs as a child process against a minimal Lambda
//! Runtime API served here, exactly as on AWS: the process long-polls
//! `GET /2018-06-01/runtime/invocation/next` for API Gateway HTTP API (payload 2.0) events and
//! posts the API Gateway response (`statusCode`, `headers`, `body`) back. The test plays API
//! Gateway: it picks the function from `template.yaml`'s route table by the event's route key,
//! and sends a request no route matches to the `$default` route's function (route key `$default`).
//!
//! The four route processes share one store, as the deployed functions do: a SQLite file (WAL,
//! several processes on one file), or a table on DynamoDB Local (`dynamodb_local`). The
//! `$default` function opens none.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::TcpListener;
use tokio::process::{Child, Command};
use tokio::sync::{OnceCell, mpsc, oneshot};

use crate::helpers::{Event, STAGE};

/// How long one invocation may take, cold start included.
const INVOKE_TIMEOUT: Duration = Duration::from_secs(30);
const RUNTIME: &str = "/2018-06-01/runtime";
const REGION: &str = "eu-west-1";

// ---------------------------------------------------------------------------------------------
// The function binaries

/// The functions' binaries (four routes and `$default`), built once per test process with the same cargo that runs the
/// tests (`cargo build --locked -p <each crate under functions/>`), located from cargo's own
/// report of the executables it produced.
async fn binaries() -> &'static HashMap<String, PathBuf> {
    static BINARIES: OnceCell<HashMap<String, PathBuf>> = OnceCell::const_new();
    BINARIES
        .get_or_init(|| async { tokio::task::spawn_blocking(build).await.unwrap() })
        .await
}

fn build() -> HashMap<String, PathBuf> {
    let mut crates: Vec<String> = crate::template::routes().into_values().collect();
    crates.push(crate::template::default_route_crate());
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = std::process::Command::new(cargo);
    command.current_dir(crate::template::repo()).args([
        "build",
        "--locked",
        "--message-format=json-render-diagnostics",
    ]);
    for name in &crates {
        command.args(["-p", name]);
    }
    let output = command
        .stderr(Stdio::inherit())
        .output()
        .expect("running cargo build for the functions");
    assert!(
        output.status.success(),
        "cargo build of the functions failed"
    );
    let mut binaries = HashMap::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let Ok(message) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        if message["reason"] == "compiler-artifact"
            && let (Some(name), Some(exe)) = (
                message["target"]["name"].as_str(),
                message["executable"].as_str(),
            )
        {
            binaries.insert(name.to_owned(), PathBuf::from(exe));
        }
    }
    for name in &crates {
        assert!(
            binaries.contains_key(name),
            "cargo built no executable for {name}: {binaries:?}"
        );
    }
    binaries
}

// ---------------------------------------------------------------------------------------------
// A minimal Lambda Runtime API

/// What the function sent back for one invocation.
#[derive(Debug)]
enum Outcome {
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
struct Function {
    name: String,
    api: RuntimeApi,
    child: Child,
    output: Arc<Mutex<String>>,
}

impl Function {
    async fn start(name: &str, env: &[(String, String)]) -> Self {
        let binary = binaries()
            .await
            .get(name)
            .unwrap_or_else(|| panic!("no binary {name}"))
            .clone();
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
        for stream in [stdout, stderr].into_iter().flatten() {
            let output = output.clone();
            tokio::spawn(async move {
                let mut lines = BufReader::new(stream).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    let mut output = output.lock().unwrap();
                    output.push_str(&line);
                    output.push('\n');
                }
            });
        }
        Self {
            name: name.to_owned(),
            api,
            child,
            output,
        }
    }

    fn output(&self) -> String {
        self.output.lock().unwrap().clone()
    }

    async fn invoke(&mut self, event: Value) -> Outcome {
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

/// An API Gateway v2 response as the function returned it, body parsed as JSON.
#[derive(Debug)]
struct ApiResponse {
    status: u16,
    headers: serde_json::Map<String, Value>,
    body: Value,
}

impl ApiResponse {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .and_then(|(_, v)| v.as_str())
    }

    fn error_code(&self) -> &str {
        self.body["error"].as_str().unwrap_or_default()
    }
}

/// The four route functions on one store, and the `$default` function.
struct Stack {
    functions: HashMap<String, Function>,
    /// `(METHOD, /path/{param})` → function, from template.yaml.
    routes: HashMap<(String, String), String>,
    /// The function of the `$default` route, from template.yaml.
    default_route: String,
    _dir: Option<tempfile::TempDir>,
}

impl Stack {
    async fn start(env: Vec<(String, String)>, dir: Option<tempfile::TempDir>) -> Self {
        let routes: HashMap<(String, String), String> =
            crate::template::routes().into_iter().collect();
        let default_route = crate::template::default_route_crate();
        let mut functions = HashMap::new();
        for name in routes.values().chain([&default_route]) {
            functions.insert(name.clone(), Function::start(name, &env).await);
        }
        Self {
            functions,
            routes,
            default_route,
            _dir: dir,
        }
    }

    /// A SQLite file, created and loaded with the demo data here, shared by the four processes.
    async fn sqlite() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lambda.db");
        let store = shared::store::sqlite::SqliteStore::open(&path).unwrap();
        use shared::store::Store as _;
        store
            .seed(&shared::seed::demo(chrono::Utc::now()).unwrap())
            .await
            .unwrap();
        drop(store);
        let env = vec![
            ("HOLD_TTL_SECONDS".into(), "300".into()),
            ("SQLITE_PATH".into(), path.display().to_string()),
        ];
        Self::start(env, Some(dir)).await
    }

    /// A fresh table on DynamoDB Local, loaded with the demo data, shared by the four processes.
    /// DynamoDB Local keeps one database per access key and region: the functions use the
    /// harness's (`local`, us-east-1).
    async fn dynamodb() -> Self {
        use shared::store::Store as _;
        let endpoint = crate::dynamodb_local::endpoint().await.to_owned();
        let client = crate::dynamodb_local::client().await;
        let table = crate::dynamodb_local::fresh_table(&client).await;
        let store = shared::store::dynamo::DynamoStore::new(client, table.clone());
        store
            .seed(&shared::seed::demo(chrono::Utc::now()).unwrap())
            .await
            .unwrap();
        let env = vec![
            ("HOLD_TTL_SECONDS".into(), "300".into()),
            ("TABLE_NAME".into(), table),
            ("AWS_ENDPOINT_URL_DYNAMODB".into(), endpoint),
            ("AWS_ACCESS_KEY_ID".into(), "local".into()),
            ("AWS_SECRET_ACCESS_KEY".into(), "local".into()),
            ("AWS_REGION".into(), "us-east-1".into()),
            ("AWS_EC2_METADATA_DISABLED".into(), "true".into()),
        ];
        Self::start(env, None).await
    }

    /// Sends `event` to the function template.yaml binds its route key to, through the runtime.
    async fn send(&mut self, event: Event) -> ApiResponse {
        self.send_json(event.to_json()).await
    }

    /// As API Gateway does: the function of the event's route key, or, when no route matches,
    /// the `$default` route's (route key `$default`, no path parameters).
    async fn send_json(&mut self, mut event: Value) -> ApiResponse {
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
                self.default_route.clone()
            }
        };
        let function = self.functions.get_mut(&name).expect("a started function");
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
        let response = ApiResponse {
            status: u16::try_from(status).unwrap(),
            body: serde_json::from_slice(&bytes)
                .unwrap_or_else(|e| panic!("{name}: body is not JSON ({e}): {raw:?}")),
            headers,
        };
        assert_eq!(
            response.header("content-type"),
            Some("application/json"),
            "{name}: every answer is JSON: {response:?}"
        );
        if response.status >= 400 {
            assert!(
                response.body["error"].is_string() && response.body["message"].is_string(),
                "{name}: an error is {{error, message}}: {response:?}"
            );
        }
        response
    }

    async fn get(&mut self, path_and_query: &str) -> ApiResponse {
        self.send(Event::get(path_and_query)).await
    }

    async fn post(&mut self, path: &str, body: Value) -> ApiResponse {
        self.send(Event::post(path, body)).await
    }

    /// Room r-101's slots as `user` sees them (200 asserted).
    async fn slots(&mut self, user: Option<&str>) -> Vec<Value> {
        let query = user.map(|u| format!("&user_id={u}")).unwrap_or_default();
        let list = self.get(&format!("/slots?room_id=r-101{query}")).await;
        assert_eq!(list.status, 200, "{list:?}");
        list.body["slots"].as_array().unwrap().clone()
    }

    async fn slot(&mut self, slot_id: &str, user: Option<&str>) -> Value {
        let slots = self.slots(user).await;
        slots
            .into_iter()
            .find(|s| s["slot_id"] == slot_id)
            .unwrap_or_else(|| panic!("{slot_id} listed"))
    }
}

fn assert_status(response: &ApiResponse, status: u16, code: Option<&str>) {
    assert_eq!(response.status, status, "{response:?}");
    if let Some(code) = code {
        assert_eq!(response.error_code(), code, "{response:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Scenarios, run on each store

/// Without an authorizer the `user_id` of the request is the caller.
async fn the_booking_flow(stack: &mut Stack) {
    let slots = stack.slots(Some("u-demo")).await;
    assert!(slots.len() >= 12, "{slots:?}");
    assert!(
        slots.iter().all(|s| s["status"] == "AVAILABLE"),
        "{slots:?}"
    );
    let starts: Vec<&str> = slots
        .iter()
        .map(|s| s["start_time"].as_str().unwrap())
        .collect();
    assert!(
        starts.windows(2).all(|w| w[0] < w[1]),
        "start-time order: {starts:?}"
    );
    let first = slots[0]["slot_id"].as_str().unwrap().to_owned();
    let second = slots[1]["slot_id"].as_str().unwrap().to_owned();

    let created = stack
        .post("/holds", json!({ "slot_id": first, "user_id": "u-demo" }))
        .await;
    assert_status(&created, 201, None);
    let hold = created.body["hold_id"].as_str().unwrap().to_owned();
    assert_eq!(
        created.header("location"),
        Some(format!("/holds/{hold}").as_str())
    );
    assert_eq!(created.body["status"], "HOLD");
    assert_eq!(created.body["slot_id"], first.as_str());
    assert_eq!(created.body["user_id"], "u-demo");
    assert!(created.body["expires_at"].as_str().unwrap().ends_with('Z'));

    let mine = stack.slot(&first, Some("u-demo")).await;
    assert_eq!(
        (mine["status"].as_str(), mine["hold_id"].as_str()),
        (Some("HELD_BY_ME"), Some(hold.as_str()))
    );
    assert_eq!(mine["expires_at"], created.body["expires_at"]);
    let theirs = stack.slot(&first, Some("u-bob")).await;
    assert_eq!(theirs["status"], "HELD_BY_OTHER");
    assert!(
        theirs.get("hold_id").is_none() && theirs.get("expires_at").is_none(),
        "{theirs}"
    );
    assert_eq!(stack.slot(&first, None).await["status"], "HELD_BY_OTHER");

    let race = stack
        .post("/holds", json!({ "slot_id": first, "user_id": "u-bob" }))
        .await;
    assert_status(&race, 409, Some("SLOT_UNAVAILABLE"));
    let foreign = stack
        .post(
            &format!("/holds/{hold}/confirm"),
            json!({ "user_id": "u-bob" }),
        )
        .await;
    assert_status(&foreign, 403, Some("NOT_HOLD_OWNER"));

    let confirmed = stack
        .post(
            &format!("/holds/{hold}/confirm"),
            json!({ "user_id": "u-demo" }),
        )
        .await;
    assert_status(&confirmed, 200, None);
    assert_eq!(
        confirmed.body,
        json!({ "hold_id": hold, "slot_id": first, "status": "CONFIRMED" })
    );
    let again = stack
        .post(
            &format!("/holds/{hold}/confirm"),
            json!({ "user_id": "u-demo" }),
        )
        .await;
    assert_eq!(
        (again.status, &again.body),
        (200, &confirmed.body),
        "confirming again is idempotent"
    );
    let release = stack
        .post(
            &format!("/holds/{hold}/release"),
            json!({ "user_id": "u-demo" }),
        )
        .await;
    assert_status(&release, 409, Some("HOLD_CONFIRMED"));
    assert_eq!(stack.slot(&first, Some("u-demo")).await["status"], "BOOKED");
    let booked = stack
        .post("/holds", json!({ "slot_id": first, "user_id": "u-alice" }))
        .await;
    assert_status(&booked, 409, Some("SLOT_UNAVAILABLE"));

    let created = stack
        .post("/holds", json!({ "slot_id": second, "user_id": "u-alice" }))
        .await;
    assert_status(&created, 201, None);
    let hold2 = created.body["hold_id"].as_str().unwrap().to_owned();
    let released = stack
        .post(
            &format!("/holds/{hold2}/release"),
            json!({ "user_id": "u-alice" }),
        )
        .await;
    assert_status(&released, 200, None);
    assert_eq!(
        released.body,
        json!({ "hold_id": hold2, "status": "RELEASED" })
    );
    let again = stack
        .post(
            &format!("/holds/{hold2}/release"),
            json!({ "user_id": "u-alice" }),
        )
        .await;
    assert_eq!(
        (again.status, &again.body),
        (200, &released.body),
        "releasing again is idempotent"
    );
    assert_eq!(
        stack.slot(&second, Some("u-alice")).await["status"],
        "AVAILABLE"
    );
    let gone = stack
        .post(
            &format!("/holds/{hold2}/confirm"),
            json!({ "user_id": "u-alice" }),
        )
        .await;
    assert_status(&gone, 410, Some("HOLD_GONE"));
}

/// The contract's 4xx answers, each a JSON `{error, message}` from the function.
async fn the_error_answers(stack: &mut Stack) {
    assert_status(&stack.get("/slots").await, 422, Some("VALIDATION_ERROR"));
    assert_status(
        &stack.get("/slots?room_id=r-999").await,
        404,
        Some("ROOM_NOT_FOUND"),
    );
    assert_status(
        &stack.get("/slots?room_id=r*1").await,
        422,
        Some("VALIDATION_ERROR"),
    );

    let no_body = Event::post("/holds", json!({})).without_body();
    assert_status(&stack.send(no_body).await, 422, Some("VALIDATION_ERROR"));
    let form = Event::post_raw("/holds", b"slot_id=s-1&user_id=u-demo".to_vec());
    assert_status(&stack.send(form).await, 422, Some("VALIDATION_ERROR"));
    let missing = stack.post("/holds", json!({ "slot_id": "s-1" })).await;
    assert_status(&missing, 422, Some("VALIDATION_ERROR"));
    assert!(
        missing.body["message"]
            .as_str()
            .unwrap()
            .contains("user_id"),
        "{missing:?}"
    );
    let large = Event::post(
        "/holds",
        json!({ "slot_id": "s-1", "user_id": "u-demo", "pad": "x".repeat(70_000) }),
    );
    assert_status(&stack.send(large).await, 413, Some("PAYLOAD_TOO_LARGE"));
    let unknown_slot = stack
        .post(
            "/holds",
            json!({ "slot_id": "s-9999", "user_id": "u-demo" }),
        )
        .await;
    assert_status(&unknown_slot, 404, Some("SLOT_NOT_FOUND"));
    let unknown_user = stack
        .post("/holds", json!({ "slot_id": "s-3", "user_id": "u-nobody" }))
        .await;
    assert_status(&unknown_user, 404, Some("USER_NOT_FOUND"));

    let bad_id = stack
        .post("/holds/not-a-hold/confirm", json!({ "user_id": "u-demo" }))
        .await;
    assert_status(&bad_id, 422, Some("VALIDATION_ERROR"));
    let unknown = uuid::Uuid::new_v4();
    let gone = stack
        .post(
            &format!("/holds/{unknown}/confirm"),
            json!({ "user_id": "u-demo" }),
        )
        .await;
    assert_status(&gone, 410, Some("HOLD_GONE"));
    assert_eq!(gone.body["message"], "Hold not found or expired.");
    let gone = stack
        .post(
            &format!("/holds/{unknown}/release"),
            json!({ "user_id": "u-demo" }),
        )
        .await;
    assert_status(&gone, 410, Some("HOLD_GONE"));
}

/// With API Gateway's JWT authorizer, the token's `sub` is the caller.
async fn the_jwt_identity(stack: &mut Stack) {
    let slot = stack.slots(None).await[2]["slot_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let as_alice = |event: Event| event.authenticated_as("u-alice");

    let posing = as_alice(Event::post(
        "/holds",
        json!({ "slot_id": slot, "user_id": "u-demo" }),
    ));
    assert_status(&stack.send(posing).await, 403, Some("IDENTITY_MISMATCH"));
    let created = stack
        .send(as_alice(Event::post(
            "/holds",
            json!({ "slot_id": slot, "user_id": "u-alice" }),
        )))
        .await;
    assert_status(&created, 201, None);
    let hold = created.body["hold_id"].as_str().unwrap().to_owned();

    // Listing without user_id: the authenticated user is the caller.
    let list = stack
        .send(as_alice(Event::get("/slots?room_id=r-101")))
        .await;
    assert_status(&list, 200, None);
    let listed = list.body["slots"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["slot_id"] == slot.as_str())
        .cloned();
    assert_eq!(
        listed.map(|s| s["status"].clone()),
        Some(json!("HELD_BY_ME"))
    );
    let other = stack
        .send(as_alice(Event::get("/slots?room_id=r-101&user_id=u-bob")))
        .await;
    assert_status(&other, 403, Some("IDENTITY_MISMATCH"));

    let confirm = |sub: &str, user: &str| {
        Event::post(
            &format!("/holds/{hold}/confirm"),
            json!({ "user_id": user }),
        )
        .authenticated_as(sub)
    };
    assert_status(
        &stack.send(confirm("u-alice", "u-demo")).await,
        403,
        Some("IDENTITY_MISMATCH"),
    );
    assert_status(
        &stack.send(confirm("u-bob", "u-bob")).await,
        403,
        Some("NOT_HOLD_OWNER"),
    );
    let confirmed = stack.send(confirm("u-alice", "u-alice")).await;
    assert_status(&confirmed, 200, None);
    assert_eq!(confirmed.body["status"], "CONFIRMED");
}

/// API Gateway sends bodies it does not consider text base64-encoded; the stage is in `rawPath`.
async fn the_base64_bodies(stack: &mut Stack) {
    let event = Event::post("/holds", json!({ "slot_id": "s-4", "user_id": "u-bob" })).base64(None);
    let raw_path = event.to_json()["rawPath"].as_str().unwrap().to_owned();
    assert_eq!(
        raw_path,
        format!("/{STAGE}/holds"),
        "the event carries a named stage"
    );
    let created = stack.send(event).await;
    assert_status(&created, 201, None);
    let hold = created.body["hold_id"].as_str().unwrap();
    let confirm = Event::post(
        &format!("/holds/{hold}/confirm"),
        json!({ "user_id": "u-bob" }),
    )
    .base64(Some("application/octet-stream"));
    assert_status(&stack.send(confirm).await, 200, None);
}

#[tokio::test]
async fn the_booking_flow_runs_through_the_lambda_runtime_on_sqlite() {
    the_booking_flow(&mut Stack::sqlite().await).await;
}

#[tokio::test]
async fn the_booking_flow_runs_through_the_lambda_runtime_on_dynamodb() {
    the_booking_flow(&mut Stack::dynamodb().await).await;
}

#[tokio::test]
async fn client_errors_come_back_as_contract_json_through_the_runtime_on_sqlite() {
    the_error_answers(&mut Stack::sqlite().await).await;
}

#[tokio::test]
async fn client_errors_come_back_as_contract_json_through_the_runtime_on_dynamodb() {
    the_error_answers(&mut Stack::dynamodb().await).await;
}

#[tokio::test]
async fn jwt_claims_make_the_token_subject_the_caller_through_the_runtime_on_sqlite() {
    the_jwt_identity(&mut Stack::sqlite().await).await;
}

#[tokio::test]
async fn jwt_claims_make_the_token_subject_the_caller_through_the_runtime_on_dynamodb() {
    the_jwt_identity(&mut Stack::dynamodb().await).await;
}

#[tokio::test]
async fn base64_bodies_behind_a_named_stage_are_read_as_json_through_the_runtime() {
    the_base64_bodies(&mut Stack::sqlite().await).await;
}

/// Requests no route matches reach the `$default` function, which answers the contract's JSON
/// 404/405 (instead of API Gateway's own `{"message":"Not Found"}`), behind a named stage and on
/// the `$default` stage.
async fn the_unmatched_requests(stack: &mut Stack) {
    let unknown = Event::get("/nope");
    assert_eq!(
        unknown.to_json()["rawPath"],
        format!("/{STAGE}/nope"),
        "the event carries a named stage"
    );
    let answer = stack.send(unknown).await;
    assert_status(&answer, 404, Some("ROUTE_NOT_FOUND"));
    assert_eq!(
        answer.body["message"].as_str().map(str::is_empty),
        Some(false)
    );

    let mut delete = Event::get("/slots?room_id=r-101");
    delete.method = Method::DELETE;
    assert_status(&stack.send(delete).await, 405, Some("METHOD_NOT_ALLOWED"));
    let hold = uuid::Uuid::new_v4();
    let get_confirm = Event::get(&format!("/holds/{hold}/confirm"));
    assert_status(
        &stack.send(get_confirm).await,
        405,
        Some("METHOD_NOT_ALLOWED"),
    );
    assert_status(
        &stack.send(Event::post("/holds/extra", json!({}))).await,
        404,
        Some("ROUTE_NOT_FOUND"),
    );
    // A path that only starts like a route once the stage is stripped wrongly: 404.
    assert_status(
        &stack.get(&format!("/{STAGE}/slots")).await,
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

#[tokio::test]
async fn unmatched_requests_get_contract_json_404_and_405_from_the_default_route_function() {
    the_unmatched_requests(&mut Stack::sqlite().await).await;
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
    // The pipes close with the process; give the readers a moment to drain them.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let output = function.output();
    assert!(output.contains("HOLD_TTL_SECONDS"), "{output}");
    assert!(
        function.api.state.pending.lock().unwrap().is_empty(),
        "it never took an invocation"
    );
}
