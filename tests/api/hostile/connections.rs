//! Connections that hold the server's slots: a client dripping its headers a byte a second, a
//! kept-alive connection left idle, every connection taken, 1,100 idle connections (more than
//! the default `MAX_CONNECTIONS`, 1,024), and a client that never reads its answers. The header timeout is set to 2–3 s here (the
//! default is 10 s) to keep the tests short.

use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use super::{
    GET_ROOMS_AND_CLOSE, Server, exchange, raise_open_file_limit, read_one_answer,
    read_until_closed, status_of, within,
};

/// The first bytes of a request whose headers never end: the request line, then one header
/// whose value goes on for ever.
fn never_ending_headers() -> impl Iterator<Item = u8> {
    b"GET /rooms HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "
        .iter()
        .copied()
        .chain(std::iter::repeat(b'a'))
}

#[tokio::test]
async fn a_connection_sending_one_header_byte_a_second_is_closed_within_the_header_timeout_while_others_are_served()
 {
    let server = Server::start(&[("HEADER_TIMEOUT_SECONDS", "2")]).await;
    let (mut reader, mut writer) = TcpStream::connect(server.addr).await.unwrap().into_split();
    let started = Instant::now();
    let dripping = tokio::spawn(async move {
        for byte in never_ending_headers() {
            if writer.write_all(&[byte]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });

    // Meanwhile other clients are answered at once, each on a connection of its own.
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let mut served = 0;
    while started.elapsed() < Duration::from_millis(1500) {
        let asked = Instant::now();
        let rooms = client.get(server.url("/rooms")).send().await.unwrap();
        assert_eq!(rooms.status(), 200);
        assert!(
            asked.elapsed() < Duration::from_secs(1),
            "{:?}",
            asked.elapsed()
        );
        served += 1;
    }
    assert!(served > 0);

    // The dripping connection is closed by the server, unanswered, once its 2 s are up.
    let answer = within(
        Duration::from_secs(10),
        "the dripping connection",
        read_until_closed(&mut reader),
    )
    .await
    .unwrap_or_default();
    let closed_after = started.elapsed();
    assert_eq!(status_of(&answer), 0, "{answer}");
    assert!(
        closed_after >= Duration::from_millis(1900) && closed_after < Duration::from_secs(5),
        "closed after {closed_after:?}"
    );
    dripping.abort();
}

#[tokio::test]
async fn a_kept_alive_connection_left_idle_is_closed_after_the_header_timeout() {
    let server = Server::start(&[("HEADER_TIMEOUT_SECONDS", "2")]).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(b"GET /rooms HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .unwrap();
    let answer = read_one_answer(&mut stream).await;
    assert_eq!(status_of(&answer), 200, "{answer}");
    let answered = Instant::now();

    let rest = within(
        Duration::from_secs(10),
        "the idle connection",
        read_until_closed(&mut stream),
    )
    .await
    .unwrap_or_default();
    let idle_for = answered.elapsed();
    assert!(rest.is_empty(), "{rest}");
    assert!(
        idle_for >= Duration::from_millis(1900) && idle_for < Duration::from_secs(5),
        "closed after {idle_for:?} idle"
    );
}

#[tokio::test]
async fn with_every_connection_taken_a_new_client_waits_until_one_closes_and_is_then_served() {
    let server = Server::start(&[("MAX_CONNECTIONS", "8"), ("HEADER_TIMEOUT_SECONDS", "3")]).await;
    let mut idle = Vec::new();
    for _ in 0..8 {
        idle.push(TcpStream::connect(server.addr).await.unwrap());
    }
    let asked = Instant::now();
    let answer = within(
        Duration::from_secs(15),
        "the ninth client",
        exchange(server.addr, GET_ROOMS_AND_CLOSE),
    )
    .await
    .unwrap();
    let waited = asked.elapsed();
    assert_eq!(status_of(&answer), 200, "{answer}");
    // The eight idle connections hold every slot until the header timeout closes them, 3 s after
    // they were accepted (just before the ninth connected); with no limit it would be at once.
    assert!(
        waited >= Duration::from_secs(2) && waited < Duration::from_secs(10),
        "answered after {waited:?}"
    );
}

/// 1,100 connections that send nothing, more than the default limit of 1,024: the first 1,024 are
/// accepted, the rest wait in the listen backlog, and a new client behind them is served as soon
/// as the header timeout (2 s here) has closed idle ones — not hung, and not before.
#[tokio::test]
async fn eleven_hundred_idle_connections_do_not_stop_a_new_client_once_idle_ones_are_closed() {
    const IDLE: usize = 1_100;
    const { assert!(IDLE > shared::config::DEFAULT_MAX_CONNECTIONS) };
    raise_open_file_limit(4_096);
    let server = Server::start(&[("HEADER_TIMEOUT_SECONDS", "2")]).await;
    let first = Instant::now();
    let mut idle = Vec::with_capacity(IDLE);
    for _ in 0..IDLE {
        idle.push(TcpStream::connect(server.addr).await.unwrap());
    }
    let answer = within(
        Duration::from_secs(20),
        "the new client",
        exchange(server.addr, GET_ROOMS_AND_CLOSE),
    )
    .await
    .unwrap();
    let since_first = first.elapsed();
    assert_eq!(status_of(&answer), 200, "{answer}");
    assert!(
        since_first >= Duration::from_millis(1900),
        "answered {since_first:?} after the first idle connection: the limit did not hold"
    );
    assert!(
        since_first < Duration::from_secs(15),
        "answered only {since_first:?} after the first idle connection"
    );

    // And every idle connection is closed by the server in bounded time, those that waited in
    // the backlog included (2 s after they were accepted).
    let mut closing = tokio::task::JoinSet::new();
    for mut stream in idle {
        closing.spawn(async move { read_until_closed(&mut stream).await.unwrap_or_default() });
    }
    within(
        Duration::from_secs(15),
        "closing the idle connections",
        async {
            while let Some(rest) = closing.join_next().await {
                assert!(rest.unwrap().is_empty());
            }
        },
    )
    .await;
}

/// A client that asks for answers and never reads them (20 pipelined requests for the 860 KB
/// docs script, a 4 KiB receive buffer) stalls the server's writes once the kernel's buffers are
/// full; at the send deadline (1 s here) its connection is closed, so with the one connection
/// allowed (`MAX_CONNECTIONS=1`) the next client is then served instead of waiting for ever.
#[tokio::test]
async fn a_client_that_stops_reading_loses_its_connection_at_the_send_deadline() {
    let server = Server::start(&[("MAX_CONNECTIONS", "1"), ("SEND_TIMEOUT_SECONDS", "1")]).await;
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut greedy = socket.connect(server.addr).await.unwrap();
    let ask = b"GET /docs/rapidoc-min.js HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".repeat(20);
    greedy.write_all(&ask).await.unwrap();

    let asked = Instant::now();
    let answer = within(
        Duration::from_secs(15),
        "the next client",
        exchange(server.addr, GET_ROOMS_AND_CLOSE),
    )
    .await
    .unwrap();
    let waited = asked.elapsed();
    assert_eq!(status_of(&answer), 200, "{answer}");
    assert!(waited < Duration::from_secs(8), "answered after {waited:?}");

    // The greedy client got a part of what it asked for, then the close.
    let mut got = Vec::new();
    let _ = within(
        Duration::from_secs(10),
        "the greedy connection's end",
        tokio::io::AsyncReadExt::read_to_end(&mut greedy, &mut got),
    )
    .await;
    assert!(
        got.len() < 20 * server::docs::RAPIDOC_JS.len(),
        "{} bytes",
        got.len()
    );
}
