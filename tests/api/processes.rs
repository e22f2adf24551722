//! Processes the reliability tests start and stop: the local server's binary on a SQLite file,
//! and a DynamoDB Local of one test alone on a directory. Each is ready when it says so (the
//! server's "listening on" line) or answers (DynamoDB Local), never after a fixed pause.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// How long a process may take to be ready (a JVM start on a busy machine included).
const START_TIMEOUT: Duration = Duration::from_secs(90);

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// `escape-room-server` serving the SQLite file `db` on a port of its choosing (`PORT=0`).
pub struct ServerProcess {
    child: Child,
    /// `http://127.0.0.1:PORT`, as the server's "listening on" line gave it.
    pub base: String,
}

impl ServerProcess {
    /// Starts the server on `db` (a new file is loaded with the demo venue first) and waits for
    /// its "listening on http://…" line; its later output is read and dropped, so that a full
    /// pipe never stalls its logging.
    pub async fn start(db: &Path) -> Self {
        Self::start_with(db, &[]).await
    }

    /// [`start`](Self::start) with more variables set (`envs`, e.g. a short timeout). The rate
    /// limits and the per-player caps are off unless `envs` turns them on (`RATE_LIMIT=on`,
    /// `MAX_LIVE_HOLDS_PER_PLAYER=2`).
    pub async fn start_with(db: &Path, envs: &[(&str, &str)]) -> Self {
        Self::start_keeping(db, envs, None).await
    }

    /// [`start_with`](Self::start_with), keeping every line the server writes after its
    /// "listening on" line in `log` (a test reads what the server logs).
    pub async fn start_logging(
        db: &Path,
        envs: &[(&str, &str)],
        log: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    ) -> Self {
        Self::start_keeping(db, envs, Some(log)).await
    }

    async fn start_keeping(
        db: &Path,
        envs: &[(&str, &str)],
        log: Option<std::sync::Arc<std::sync::Mutex<Vec<String>>>>,
    ) -> Self {
        let mut child = Command::new(crate::binaries::server())
            .env("SQLITE_PATH", db)
            .env("PORT", "0")
            .env("RUST_LOG", "info")
            .env_remove("STORE")
            .env_remove("TABLE_NAME")
            .env_remove("BIND_ADDR")
            .env_remove("RATE_LIMIT_WRITES")
            .env_remove("RATE_LIMIT_AUTH")
            .env_remove("TRUST_PROXY")
            .env("RATE_LIMIT", "off")
            .env("MAX_LIVE_HOLDS_PER_PLAYER", "0")
            .env("MAX_UPCOMING_BOOKINGS_PER_PLAYER", "0")
            .envs(envs.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("the server binary starts");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let listening = async {
            while let Some(line) = lines.next_line().await.unwrap() {
                if let Some((_, address)) = line.split_once("listening on ") {
                    return address.trim().to_owned();
                }
            }
            panic!("the server exited before listening");
        };
        let base = tokio::time::timeout(START_TIMEOUT, listening)
            .await
            .expect("the server says where it listens");
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(log) = &log {
                    log.lock().unwrap().push(line);
                }
            }
        });
        Self { child, base }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// SIGKILL: no shutdown, no flush, nothing; returns once the process is gone.
    pub async fn kill_9(mut self) {
        self.child.kill().await.unwrap();
    }
}

/// A DynamoDB Local of one test alone, on a directory, so that it can be stopped and started
/// again with its data.
pub struct PrivateDynamo {
    child: Child,
}

impl PrivateDynamo {
    /// Starts one on a free port, and returns it with the port. Between [`free_port`] and the
    /// JVM's bind another test may take the port; the JVM then exits, and this tries again on
    /// another port (up to 5 times) instead of waiting out the whole start timeout.
    pub async fn start_on_free_port(dir: &Path) -> (Self, u16) {
        let mut failures = Vec::new();
        for _ in 0..5 {
            let port = free_port();
            match Self::try_start(dir, port).await {
                Ok(dynamo) => return (dynamo, port),
                Err(exited) => failures.push(format!("port {port}: {exited}")),
            }
        }
        panic!("DynamoDB Local did not start: {}", failures.join("; "));
    }

    /// Starts it again on `port` (a restart on its directory, where the clients already point);
    /// panics with its standard error if the JVM exits instead of answering.
    pub async fn start(dir: &Path, port: u16) -> Self {
        match Self::try_start(dir, port).await {
            Ok(dynamo) => dynamo,
            Err(exited) => panic!("DynamoDB Local on port {port} did not start: {exited}"),
        }
    }

    /// Spawns the JVM and waits until it answers; `Err` (its exit status and standard error) if
    /// it exits first, e.g. because the port was taken.
    async fn try_start(dir: &Path, port: u16) -> Result<Self, String> {
        let install = crate::dynamodb_local::install_dir();
        let stderr_path = dir.join(format!("dynamodb-local-{port}.stderr"));
        let stderr = std::fs::File::create(&stderr_path).expect("a file for the JVM's stderr");
        let mut child = Command::new("java")
            .args(crate::dynamodb_local::JVM_OPTIONS)
            .arg(format!(
                "-Djava.library.path={}",
                install.join("DynamoDBLocal_lib").display()
            ))
            .arg("-jar")
            .arg(install.join("DynamoDBLocal.jar"))
            .args(["-sharedDb", "-disableTelemetry", "-dbPath"])
            .arg(dir)
            .args(["-port", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .kill_on_drop(true)
            .spawn()
            .expect("java (DynamoDB Local)");
        let client = aws_sdk_dynamodb::Client::from_conf(
            crate::dynamodb_local::client_config(&format!("http://127.0.0.1:{port}")).build(),
        );
        // Polled by hand rather than with `poll_until`: each look also asks whether the JVM
        // has exited, which needs the child mutably between looks.
        let started = std::time::Instant::now();
        let exited = loop {
            if let Ok(Some(status)) = child.try_wait() {
                break Some(status);
            }
            if client.list_tables().send().await.is_ok() {
                break None;
            }
            assert!(
                started.elapsed() < START_TIMEOUT,
                "DynamoDB Local on port {port}: no answer within {START_TIMEOUT:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        match exited {
            None => Ok(Self { child }),
            Some(status) => {
                let stderr = std::fs::read_to_string(&stderr_path).unwrap_or_default();
                let tail: String = stderr.lines().rev().take(5).collect::<Vec<_>>().join(" | ");
                Err(format!("the JVM exited ({status}): {tail}"))
            }
        }
    }

    /// Stops it as a service goes away (SIGTERM, then waits for it to exit). Not SIGKILL:
    /// DynamoDB Local answers a write before its file has it, so a SIGKILL loses the writes of
    /// the last moment (seen in 3 runs of 12: the hold made just before the kill was gone after
    /// the restart), which DynamoDB itself never does to a write it has acknowledged.
    pub async fn stop(mut self) {
        let pid = self.child.id().expect("DynamoDB Local is running");
        let term = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .await
            .expect("kill (procps) sends DynamoDB Local its SIGTERM");
        assert!(term.success(), "kill -TERM DynamoDB Local: {term}");
        self.child.wait().await.unwrap();
    }
}
