//! Request bodies: over the 64 KiB limit (always answered 413, never a reset, whether the client
//! sends it all first, chunked, or waits for `100 Continue`), too slow (408 at the body
//! deadline), and a handler too slow (503 at the request deadline).

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use super::{Server, read_until_closed, status_of, within};

/// `POST /holds` with a body of `length` bytes declared.
fn post_head(length: usize) -> String {
    format!(
        "POST /holds HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
         Content-Length: {length}\r\n\r\n"
    )
}

/// As a plain client does: on a new connection, the whole request (head and `body`) written
/// first, then the answer read until the server closes. An error is a reset met on the way.
async fn post_then_read(server: &Server, body: &[u8]) -> std::io::Result<String> {
    let mut stream = TcpStream::connect(server.addr).await?;
    stream.write_all(post_head(body.len()).as_bytes()).await?;
    stream.write_all(body).await?;
    read_until_closed(&mut stream).await
}

/// The same with the body sent chunked, in 64 KiB chunks, so that no length is declared.
async fn post_chunked_then_read(server: &Server, body: &[u8]) -> std::io::Result<String> {
    let mut stream = TcpStream::connect(server.addr).await?;
    stream
        .write_all(
            b"POST /holds HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
              Transfer-Encoding: chunked\r\n\r\n",
        )
        .await?;
    for chunk in body.chunks(64 * 1024) {
        stream
            .write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
            .await?;
        stream.write_all(chunk).await?;
        stream.write_all(b"\r\n").await?;
    }
    stream.write_all(b"0\r\n\r\n").await?;
    read_until_closed(&mut stream).await
}

/// How long one over-limit post may take, answer and close included.
const POST_TIMEOUT: Duration = Duration::from_secs(15);

/// `times` over-limit posts of `size` bytes, ten at a time, each on a new connection; what went
/// wrong with each that was not answered 413 `PAYLOAD_TOO_LARGE`.
async fn over_limit_posts(
    server: &Arc<Server>,
    size: usize,
    times: usize,
    chunked: bool,
) -> Vec<String> {
    let body: Arc<[u8]> = vec![b'x'; size].into();
    let at_once = Arc::new(tokio::sync::Semaphore::new(10));
    let mut posts = tokio::task::JoinSet::new();
    for _ in 0..times {
        let (server, body, at_once) = (server.clone(), body.clone(), at_once.clone());
        posts.spawn(async move {
            let _turn = at_once.acquire().await.unwrap();
            let answer = if chunked {
                tokio::time::timeout(POST_TIMEOUT, post_chunked_then_read(&server, &body)).await
            } else {
                tokio::time::timeout(POST_TIMEOUT, post_then_read(&server, &body)).await
            };
            match answer {
                Ok(Ok(a)) if status_of(&a) == 413 && a.contains("PAYLOAD_TOO_LARGE") => None,
                Ok(Ok(a)) => Some(format!("{size} bytes: answered {:?}", a.lines().next())),
                Ok(Err(err)) => Some(format!("{size} bytes: {err}")),
                Err(_) => Some(format!(
                    "{size} bytes: not answered and closed in {POST_TIMEOUT:?}"
                )),
            }
        });
    }
    let mut failures = Vec::new();
    while let Some(failure) = posts.join_next().await {
        failures.extend(failure.unwrap());
    }
    failures
}

/// The measurement, made strict: 50 posts each of 100 KB, 1 MB and 10 MB on new
/// connections, the client writing all of it before reading: every one reads its 413 (the server
/// closes lingering: it reads and drops the rest before closing, so no reset destroys the answer).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_over_the_limit_always_gets_its_413_never_a_reset() {
    let server = Arc::new(Server::start(&[]).await);
    let started = Instant::now();
    let mut failures = Vec::new();
    for size in [100_000, 1_000_000, 10_000_000] {
        failures.extend(over_limit_posts(&server, size, 50, false).await);
    }
    failures.extend(over_limit_posts(&server, 1_000_000, 20, true).await);
    assert!(
        failures.is_empty(),
        "{} failed: {failures:#?}",
        failures.len()
    );
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
}

/// What the lingering close prevents, shown with it turned off (`LINGER_SECONDS=0`): a client
/// still writing a 10 MB body when the server answers and closes meets a reset.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_lingering_close_a_client_still_sending_meets_a_reset() {
    let server = Arc::new(Server::start(&[("LINGER_SECONDS", "0")]).await);
    let failures = over_limit_posts(&server, 10_000_000, 5, false).await;
    assert!(!failures.is_empty(), "every 10 MB post read its 413");
}

/// A client that asks first (`Expect: 100-continue`) with a length over the limit is answered
/// 413 at once and is never asked for the body.
#[tokio::test]
async fn a_client_expecting_100_continue_for_an_over_limit_body_gets_413_and_no_continue() {
    let server = Server::start(&[]).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    let head = post_head(10_000_000).replace("\r\n\r\n", "\r\nExpect: 100-continue\r\n\r\n");
    stream.write_all(head.as_bytes()).await.unwrap();
    let answer = within(
        Duration::from_secs(5),
        "the answer",
        read_until_closed(&mut stream),
    )
    .await
    .unwrap();
    assert_eq!(status_of(&answer), 413, "{answer}");
    assert!(!answer.contains("100 Continue"), "{answer}");
}

/// A body dripping in a byte every 300 ms is cut at the body deadline (1 s here; 10 s by
/// default): 408 `REQUEST_TIMEOUT`, and the connection closed.
#[tokio::test]
async fn a_slow_body_is_cut_at_the_body_deadline_with_408() {
    let server = Server::start(&[("BODY_TIMEOUT_SECONDS", "1")]).await;
    let (mut reader, mut writer) = TcpStream::connect(server.addr).await.unwrap().into_split();
    writer.write_all(post_head(100).as_bytes()).await.unwrap();
    let started = Instant::now();
    let dripping = tokio::spawn(async move {
        for _ in 0..100 {
            if writer.write_all(b"x").await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    });
    let answer = within(
        Duration::from_secs(10),
        "the answer",
        read_until_closed(&mut reader),
    )
    .await
    .unwrap();
    let cut_after = started.elapsed();
    assert_eq!(status_of(&answer), 408, "{answer}");
    assert!(answer.contains("REQUEST_TIMEOUT"), "{answer}");
    assert!(
        cut_after >= Duration::from_millis(900) && cut_after < Duration::from_secs(4),
        "cut after {cut_after:?}"
    );
    dripping.abort();
}

/// A handler that does not finish within the request deadline (1 s here; 30 s by default) is
/// answered 503 `SERVICE_UNAVAILABLE` with `Retry-After`, and nothing of the cause. The handler
/// is kept waiting by a DynamoDB endpoint that accepts connections and never answers (whose own
/// timeout, 2 s an attempt, would answer later).
#[tokio::test]
async fn a_handler_past_the_request_deadline_is_answered_503_with_retry_after() {
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", silent.local_addr().unwrap());
    let server = Server::start(&[
        ("STORE", "dynamodb"),
        ("TABLE_NAME", "silent"),
        ("AWS_ENDPOINT_URL_DYNAMODB", &endpoint),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("REQUEST_TIMEOUT_SECONDS", "1"),
    ])
    .await;
    let asked = Instant::now();
    let answer = reqwest::get(server.url("/slots?room_id=r-101"))
        .await
        .unwrap();
    let took = asked.elapsed();
    assert_eq!(answer.status(), 503);
    assert_eq!(answer.headers()["retry-after"], "1");
    let body: serde_json::Value = answer.json().await.unwrap();
    assert_eq!(body["error"], "SERVICE_UNAVAILABLE");
    assert!(!body.to_string().contains("REQUEST_TIMEOUT"), "{body}");
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_millis(1900),
        "answered after {took:?}"
    );
}
