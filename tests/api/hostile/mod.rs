//! Hostile clients against the real server binary (`escape-room-server`, started per test with
//! the limit under test set short): slow headers, idle and surplus connections
//! ([`connections`]); bodies over the limit, slow bodies and slow handlers ([`bodies`]); floods
//! of writes and guessed operator tokens from one address, the rate limits ([`rates`]); a
//! schedule over each limit and the room limit ([`bounds`], on the in-process local server and
//! the stores). Each
//! speaks raw HTTP/1.1 over its own TCP connection where a client library would hide what the
//! server did (a reset, a close, a `100 Continue`).

mod bodies;
mod bounds;
mod connections;
mod rates;

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::processes::ServerProcess;

/// The server binary on a new SQLite file (the demo venue), with `envs` set.
pub struct Server {
    process: ServerProcess,
    pub addr: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Server {
    pub async fn start(envs: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let process = ServerProcess::start_with(&dir.path().join("venue.db"), envs).await;
        let addr = process
            .base
            .strip_prefix("http://")
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("an address in {}", process.base));
        Self {
            process,
            addr,
            _dir: dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        self.process.url(path)
    }
}

/// A request for the room list that asks the server to close the connection after answering.
pub const GET_ROOMS_AND_CLOSE: &[u8] =
    b"GET /rooms HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";

/// Sends `request` on a new connection and reads until the server closes it: the answer as text.
pub async fn exchange(addr: SocketAddr, request: &[u8]) -> std::io::Result<String> {
    let mut stream = TcpStream::connect(addr).await?;
    stream.write_all(request).await?;
    read_until_closed(&mut stream).await
}

/// Everything the server sends until it closes the connection, as text.
pub async fn read_until_closed(
    stream: &mut (impl AsyncReadExt + Unpin),
) -> std::io::Result<String> {
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await?;
    Ok(String::from_utf8_lossy(&answer).into_owned())
}

/// One answer on a kept-alive connection: its head, then as many body bytes as its
/// `Content-Length` says. Returns the answer as text.
pub async fn read_one_answer(stream: &mut TcpStream) -> String {
    let mut bytes = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = stream.read(&mut chunk).await.unwrap();
        assert!(n > 0, "the connection closed before a whole answer");
        bytes.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&bytes).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head
                .lines()
                .find_map(|l| {
                    let (name, value) = l.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse::<usize>().ok())?
                })
                .expect("a Content-Length");
            if body.len() >= length {
                return text;
            }
        }
    }
}

/// The status code of an answer's text (`HTTP/1.1 413 Payload Too Large…` → 413); 0 when it is
/// not an HTTP answer (nothing was answered).
pub fn status_of(answer: &str) -> u16 {
    answer
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
        .unwrap_or(0)
}

/// Runs `future`, failing the test if it takes longer than `limit` (a hung server).
pub async fn within<T>(limit: Duration, what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(limit, future)
        .await
        .unwrap_or_else(|_| panic!("{what}: no end after {limit:?}"))
}

/// Raises this process's soft limit on open files to `wanted` (or its hard limit, if lower), so
/// that a test can hold many connections whatever the shell's `ulimit -n` (often 1024); the
/// server it starts afterwards inherits it. Fails the test when the hard limit is too low.
pub fn raise_open_file_limit(wanted: u64) {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    // `None` is unlimited.
    if limit.current.is_none_or(|soft| soft >= wanted) {
        return;
    }
    let hard = limit.maximum;
    assert!(
        hard.is_none_or(|hard| hard >= wanted),
        "this test needs {wanted} open files; the hard limit is {hard:?} (raise `ulimit -Hn`)"
    );
    setrlimit(
        Resource::Nofile,
        Rlimit {
            current: Some(wanted),
            maximum: hard,
        },
    )
    .unwrap_or_else(|err| panic!("setrlimit(RLIMIT_NOFILE, {wanted}): {err}"));
}
