//! `escape-room-server backup --to FILE` under write load, and `seed`'s demo venue only when
//! asked for (on DynamoDB Local), each driving the server binary.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::process::Command;
use tokio::sync::Mutex;

use crate::harness::{assert_status, http_reply};
use crate::processes::ServerProcess;

/// Clients confirming bookings while the backup is taken.
const CLIENTS: usize = 8;
/// Confirms answered before the backup begins (at least).
const BEFORE: usize = 20;

/// The server binary as a command, on the SQLite file `db`, with no store variable inherited.
fn command(db: &Path) -> Command {
    let mut command = Command::new(crate::binaries::server());
    command
        .env("SQLITE_PATH", db)
        .env("RUST_LOG", "warn")
        .env_remove("STORE")
        .env_remove("TABLE_NAME");
    command
}

/// Holds and confirms the slots of `queue` one after another as `u-demo` until the queue is
/// empty or `stop` is set; each confirm answered 200 is pushed onto `confirmed` and counted.
async fn confirm_until_stopped(
    base: String,
    queue: Arc<Mutex<Vec<String>>>,
    confirmed: Arc<Mutex<Vec<String>>>,
    stop: Arc<std::sync::atomic::AtomicBool>,
) {
    let client = reqwest::Client::new();
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        let Some(slot) = queue.lock().await.pop() else {
            return;
        };
        let held = http_reply(
            client
                .post(format!("{base}/holds"))
                .json(&json!({ "slot_id": slot, "user_id": "u-demo" }))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_status(&held, 201, None);
        let hold = held.body["hold_id"].as_str().unwrap().to_owned();
        let done = http_reply(
            client
                .post(format!("{base}/holds/{hold}/confirm"))
                .json(&json!({ "user_id": "u-demo" }))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_status(&done, 200, None);
        confirmed.lock().await.push(hold);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_backup_taken_under_write_load_is_whole_has_every_earlier_booking_and_serves_them() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("live.db");
    let server = ServerProcess::start(&db).await;
    let listed: Value = reqwest::get(server.url("/slots?room_id=r-101&limit=200"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let games: Vec<String> = listed["slots"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["status"] == "AVAILABLE")
        .map(|s| s["slot_id"].as_str().unwrap().to_owned())
        .collect();
    assert!(games.len() >= 60, "{} demo games", games.len());
    let queue = Arc::new(Mutex::new(games));
    let confirmed = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut clients = tokio::task::JoinSet::new();
    for _ in 0..CLIENTS {
        clients.spawn(confirm_until_stopped(
            server.base.clone(),
            queue.clone(),
            confirmed.clone(),
            stop.clone(),
        ));
    }
    crate::harness::poll_until(
        "enough confirms answered",
        Duration::from_secs(60),
        Duration::from_millis(5),
        || async { (confirmed.lock().await.len() >= BEFORE).then_some(()) },
    )
    .await;
    // Every booking answered before the backup began; the clients go on confirming during it.
    let before: Vec<String> = confirmed.lock().await.clone();
    let copy = dir.path().join("backup.db");
    let backup = command(&db)
        .args(["backup", "--to"])
        .arg(&copy)
        .output()
        .await
        .unwrap();
    let during = confirmed.lock().await.len() - before.len();
    assert!(
        backup.status.success(),
        "{}",
        String::from_utf8_lossy(&backup.stderr)
    );
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    while let Some(joined) = clients.join_next().await {
        joined.unwrap();
    }
    assert!(!dir.path().join("backup.db.partial").exists());
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&copy).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the backup is the server user's alone");
    }
    eprintln!(
        "{} confirms before the backup, {during} while it ran",
        before.len()
    );

    let conn = rusqlite::Connection::open(&copy).unwrap();
    let integrity: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
    for hold in &before {
        let status: String = conn
            .query_row("SELECT status FROM holds WHERE id = ?1", [hold], |r| {
                r.get(0)
            })
            .unwrap_or_else(|e| panic!("booking {hold} is missing from the backup: {e}"));
        assert_eq!(status, "CONFIRMED", "{hold}");
    }
    drop(conn);

    // A second backup to the same file is refused and leaves the first as it was.
    let again = command(&db)
        .args(["backup", "--to"])
        .arg(&copy)
        .output()
        .await
        .unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("never overwrites"));

    // A server started on the backup serves every one of them.
    let restored = ServerProcess::start(&copy).await;
    let client = reqwest::Client::new();
    for hold in &before {
        let reply = http_reply(
            client
                .get(restored.url(&format!("/holds/{hold}?user_id=u-demo")))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_status(&reply, 200, None);
        assert_eq!(
            reply.body["status"], "CONFIRMED",
            "{hold}: {:?}",
            reply.body
        );
    }
}

/// `seed` on a table of DynamoDB Local: the rooms it then lists.
async fn rooms_after_seed(table: &str, args: &[&str]) -> Vec<String> {
    let endpoint = crate::dynamodb_local::endpoint().await;
    let seeded = Command::new(crate::binaries::server())
        .arg("seed")
        .args(args)
        .env("STORE", "dynamodb")
        .env("TABLE_NAME", table)
        .env("AWS_ENDPOINT_URL_DYNAMODB", endpoint)
        .env("AWS_ACCESS_KEY_ID", "local")
        .env("AWS_SECRET_ACCESS_KEY", "local")
        .env("AWS_REGION", "us-east-1")
        .env("RUST_LOG", "warn")
        .output()
        .await
        .unwrap();
    assert!(
        seeded.status.success(),
        "{}",
        String::from_utf8_lossy(&seeded.stderr)
    );
    let client = crate::dynamodb_local::client().await;
    let store = shared::store::dynamo::DynamoStore::new(client, table);
    use shared::store::Store;
    let mut rooms: Vec<String> = store
        .list_rooms()
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id.to_string())
        .collect();
    rooms.sort();
    rooms
}

#[tokio::test]
async fn seed_on_dynamodb_loads_the_demo_venue_only_with_demo() {
    let table = format!("seed-{}", uuid::Uuid::new_v4().simple());
    assert!(rooms_after_seed(&table, &[]).await.is_empty());
    assert_eq!(
        rooms_after_seed(&table, &["--demo"]).await,
        vec!["r-101", "r-102"]
    );
}

#[tokio::test]
async fn a_new_sqlite_file_gets_the_demo_venue_unless_demo_is_off() {
    let dir = tempfile::tempdir().unwrap();
    let empty = ServerProcess::start_with(&dir.path().join("empty.db"), &[("DEMO", "0")]).await;
    let rooms = http_reply(reqwest::get(empty.url("/rooms")).await.unwrap()).await;
    assert_status(&rooms, 200, None);
    assert_eq!(rooms.body["rooms"], json!([]));
    let demo = ServerProcess::start(&dir.path().join("demo.db")).await;
    let rooms = http_reply(reqwest::get(demo.url("/rooms")).await.unwrap()).await;
    assert_eq!(rooms.body["rooms"].as_array().unwrap().len(), 2);
}
