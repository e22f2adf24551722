//! Test helpers: an isolated app per test (its own SQLite file or DynamoDB table, demo data, a
//! manual clock), and API Gateway HTTP API (payload v2) events built from a real fixture shape.

use std::sync::Arc;

use chrono::{DateTime, Duration, DurationRound, Utc};
use lambda_http::http::{HeaderMap, Method, StatusCode};
use lambda_http::{Body, Response};
use serde_json::{Value, json};
use shared::clock::{Clock, ManualClock};
use shared::store::Store;
use shared::{App, Route};

/// The hold length the tests run with (seconds); expiry is driven by the manual clock.
pub const TTL_SECONDS: i64 = 300;

pub struct TestApp {
    pub app: App,
    pub clock: ManualClock,
    /// Keeps the test's database directory alive for the test's length.
    _dir: Option<tempfile::TempDir>,
}

/// What a handler answered, with the body parsed as JSON.
#[derive(Debug)]
pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl TestResponse {
    pub fn error_code(&self) -> &str {
        self.body["error"].as_str().unwrap_or_default()
    }
}

fn start_time() -> DateTime<Utc> {
    let now = Utc::now();
    now.duration_trunc(Duration::seconds(1)).unwrap_or(now)
}

impl TestApp {
    /// A fresh SQLite database in its own temporary directory, loaded with the demo data.
    pub async fn sqlite() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = shared::store::sqlite::SqliteStore::open(dir.path().join("test.db")).unwrap();
        Self::with_store(Arc::new(store), Some(dir)).await
    }

    /// A fresh table on this process's DynamoDB Local (see `dynamodb_local`), created with the
    /// store's own `create_table`, loaded with the demo data.
    pub async fn dynamodb() -> Self {
        let client = crate::dynamodb_local::client().await;
        let table = crate::dynamodb_local::fresh_table(&client).await;
        let store = shared::store::dynamo::DynamoStore::new(client, table);
        Self::with_store(Arc::new(store), None).await
    }

    pub async fn with_store(store: Arc<dyn Store>, dir: Option<tempfile::TempDir>) -> Self {
        let clock = ManualClock::starting_at(start_time());
        store
            .seed(&shared::seed::demo(clock.now()).unwrap())
            .await
            .unwrap();
        let app = App::new(
            store,
            Clock::Manual(clock.clone()),
            Duration::seconds(TTL_SECONDS),
        );
        Self {
            app,
            clock,
            _dir: dir,
        }
    }

    pub fn advance(&self, seconds: i64) {
        self.clock.advance(Duration::seconds(seconds));
    }

    /// Sends an event to the handler of the route its method and path name.
    pub async fn send(&self, event: Event) -> TestResponse {
        let route = shared::server::route(&event.method, &event.path)
            .map(|(route, _)| route)
            .unwrap_or_else(|e| panic!("no route for {} {}: {e}", event.method, event.path));
        self.send_to(route, event).await
    }

    pub async fn send_to(&self, route: Route, event: Event) -> TestResponse {
        let request = lambda_http::request::from_str(&event.to_json().to_string()).unwrap();
        let response = self.app.handle(route, request).await.unwrap();
        parse(response)
    }

    pub async fn get(&self, path_and_query: &str) -> TestResponse {
        self.send(Event::get(path_and_query)).await
    }

    pub async fn post(&self, path: &str, body: Value) -> TestResponse {
        self.send(Event::post(path, body)).await
    }

    pub async fn list(&self, room: &str, user: Option<&str>) -> TestResponse {
        match user {
            Some(user) => {
                self.get(&format!("/slots?room_id={room}&user_id={user}"))
                    .await
            }
            None => self.get(&format!("/slots?room_id={room}")).await,
        }
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

    pub async fn create_hold(&self, slot: &str, user: &str) -> TestResponse {
        self.post("/holds", json!({ "slot_id": slot, "user_id": user }))
            .await
    }

    /// Holds `slot` for `user`, asserting success; returns the hold id.
    pub async fn hold(&self, slot: &str, user: &str) -> String {
        let response = self.create_hold(slot, user).await;
        assert_eq!(response.status, StatusCode::CREATED, "{response:?}");
        response.body["hold_id"].as_str().unwrap().to_owned()
    }

    pub async fn confirm(&self, hold_id: &str, user: &str) -> TestResponse {
        self.post(
            &format!("/holds/{hold_id}/confirm"),
            json!({ "user_id": user }),
        )
        .await
    }

    pub async fn release(&self, hold_id: &str, user: &str) -> TestResponse {
        self.post(
            &format!("/holds/{hold_id}/release"),
            json!({ "user_id": user }),
        )
        .await
    }
}

pub fn parse(response: Response<Body>) -> TestResponse {
    let status = response.status();
    let headers = response.headers().clone();
    let bytes: &[u8] = response.body().as_ref();
    assert_eq!(
        headers.get("content-type").and_then(|v| v.to_str().ok()),
        Some("application/json"),
        "every response is JSON"
    );
    let body =
        serde_json::from_slice(bytes).unwrap_or_else(|e| panic!("not JSON ({e}): {bytes:?}"));
    TestResponse {
        status,
        headers,
        body,
    }
}

/// An API Gateway HTTP API (payload format 2.0) event, as API Gateway sends it to a function:
/// stage prefix in `rawPath`, path parameters, query string parameters, optional base64 body and
/// optional JWT authorizer claims.
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
}

pub const STAGE: &str = "test";

impl Event {
    pub fn get(path_and_query: &str) -> Self {
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
            method: Method::GET,
            path: path.to_owned(),
            query,
            body: None,
            base64: false,
            content_type: None,
            sub: None,
        }
    }

    pub fn post(path: &str, body: Value) -> Self {
        Self::post_raw(path, body.to_string().into_bytes())
    }

    pub fn post_raw(path: &str, body: Vec<u8>) -> Self {
        Self {
            method: Method::POST,
            path: path.to_owned(),
            query: vec![],
            body: Some(body),
            base64: false,
            content_type: Some("application/json".into()),
            sub: None,
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

    fn route_key_and_params(&self) -> (String, Value) {
        let segments: Vec<&str> = self.path.trim_matches('/').split('/').collect();
        match segments.as_slice() {
            ["holds", id, action] => (
                format!("{} /holds/{{hold_id}}/{action}", self.method),
                json!({ "hold_id": id }),
            ),
            _ => (format!("{} {}", self.method, self.path), Value::Null),
        }
    }

    pub fn to_json(&self) -> Value {
        use base64::Engine as _;
        let (route_key, path_parameters) = self.route_key_and_params();
        let raw_query = self
            .query
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&");
        let query: serde_json::Map<String, Value> = self
            .query
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        let mut headers = json!({ "host": "api-id.execute-api.eu-west-1.amazonaws.com", "user-agent": "contract-tests" });
        if let Some(ct) = &self.content_type {
            headers["content-type"] = Value::String(ct.clone());
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
                json!({ "jwt": { "claims": { "sub": sub, "iss": "https://issuer.example" }, "scopes": null } })
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
