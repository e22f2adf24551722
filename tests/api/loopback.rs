//! The local server over real TCP on 127.0.0.1: routing, limits, and the 50-way race on a
//! file-backed database.

use std::net::SocketAddr;
use std::sync::Arc;

use chrono::Duration;
use serde_json::{Value, json};
use shared::App;
use shared::clock::Clock;
use shared::domain::UserId;
use shared::store::Store;
use shared::store::sqlite::SqliteStore;
use tokio::sync::oneshot;

/// A running local server on a fresh file-backed database with the demo data (and `extra_users`).
struct Server {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    _dir: tempfile::TempDir,
}

impl Server {
    async fn start(extra_users: usize) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path().join("server.db")).unwrap();
        let mut data = shared::seed::demo(chrono::Utc::now()).unwrap();
        data.users
            .extend((1..=extra_users).map(|i| UserId::parse(&format!("u-racer-{i}")).unwrap()));
        store.seed(&data).await.unwrap();
        let app = App::new(Arc::new(store), Clock::System, Duration::seconds(300));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(shared::server::serve(app, listener, async {
            let _ = stopped.await;
        }));
        Self {
            addr,
            stop: Some(stop),
            task,
            _dir: dir,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.task.await.unwrap().unwrap();
    }
}

async fn json_of(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    assert_eq!(
        response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/json")
    );
    (status, response.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_holds_on_one_slot_over_loopback_have_exactly_one_winner() {
    let server = Server::start(50).await;
    let client = reqwest::Client::new();
    let url = server.url("/holds");
    let barrier = Arc::new(tokio::sync::Barrier::new(50));
    let racers: Vec<_> = (1..=50)
        .map(|i| {
            let (client, url, barrier) = (client.clone(), url.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                let body = json!({ "slot_id": "s-5", "user_id": format!("u-racer-{i}") });
                client
                    .post(&url)
                    .json(&body)
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for racer in racers {
        statuses.push(racer.await.unwrap());
    }
    let created = statuses.iter().filter(|s| **s == 201).count();
    let conflicts = statuses.iter().filter(|s| **s == 409).count();
    assert_eq!((created, conflicts), (1, 49), "statuses: {statuses:?}");
    server.stop().await;
}

#[tokio::test]
async fn the_readme_flow_works_over_http() {
    let server = Server::start(0).await;
    let client = reqwest::Client::new();
    let (status, list) = json_of(
        client
            .get(server.url("/slots?room_id=r-101&user_id=u-demo"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(list["slots"][0]["status"], "AVAILABLE");

    // Posted as curl does by default: form content type, JSON body.
    let response = client
        .post(server.url("/holds"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(r#"{"slot_id":"s-1","user_id":"u-demo"}"#)
        .send()
        .await
        .unwrap();
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let (status, hold) = json_of(response).await;
    assert_eq!(status, 201);
    let hold_id = hold["hold_id"].as_str().unwrap();
    assert_eq!(location, format!("/holds/{hold_id}"));

    let confirm = client
        .post(server.url(&format!("/holds/{hold_id}/confirm")))
        .json(&json!({ "user_id": "u-demo" }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        json_of(confirm).await,
        (
            200,
            json!({ "hold_id": hold_id, "slot_id": "s-1", "status": "CONFIRMED" })
        )
    );
    server.stop().await;
}

#[tokio::test]
async fn unknown_paths_return_404_and_wrong_methods_405_as_json() {
    let server = Server::start(0).await;
    let client = reqwest::Client::new();
    let (status, body) = json_of(client.get(server.url("/rooms")).send().await.unwrap()).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (404, Some("ROUTE_NOT_FOUND"))
    );
    let (status, body) = json_of(
        client
            .delete(server.url("/slots?room_id=r-101"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (405, Some("METHOD_NOT_ALLOWED"))
    );
    let (status, _) = json_of(client.get(server.url("/holds")).send().await.unwrap()).await;
    assert_eq!(status, 405);
    server.stop().await;
}

#[tokio::test]
async fn a_body_over_64_kib_is_refused_with_413_over_http() {
    let server = Server::start(0).await;
    let body = format!(
        r#"{{"slot_id":"s-1","user_id":"u-demo","pad":"{}"}}"#,
        "x".repeat(70_000)
    );
    let response = reqwest::Client::new()
        .post(server.url("/holds"))
        .body(body)
        .send()
        .await
        .unwrap();
    let (status, body) = json_of(response).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (413, Some("PAYLOAD_TOO_LARGE"))
    );
    server.stop().await;
}

#[tokio::test]
async fn the_server_stops_when_asked_and_the_port_closes() {
    let server = Server::start(0).await;
    let addr = server.addr;
    server.stop().await;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}
