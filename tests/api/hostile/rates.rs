//! The rate limits per client address, on the server's binary over real TCP. The clients bind
//! their sockets to different loopback addresses (127.0.0.2, 127.0.0.3, …) so that the server
//! sees different peers.

use std::net::IpAddr;
use std::path::PathBuf;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::OPERATOR_TOKEN;
use crate::processes::ServerProcess;

/// A client whose connections come from `address`.
fn client_from(address: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(address.parse::<IpAddr>().unwrap())
        .build()
        .unwrap()
}

/// The server's binary on a fresh SQLite file (the demo venue) with the settings `env`.
async fn server(env: &[(&str, &str)]) -> (ServerProcess, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let db: PathBuf = dir.path().join("rates.db");
    // The rate limits on (the test servers' default is off), unless `env` says otherwise.
    let env = [&[("RATE_LIMIT", "on")][..], env].concat();
    (ServerProcess::start_with(&db, &env).await, dir)
}

/// One answer: its status, headers and JSON body.
struct Answer {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

impl Answer {
    fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    }
}

async fn send(request: reqwest::RequestBuilder) -> Answer {
    let response = request.send().await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.json::<Value>().await.unwrap_or(Value::Null);
    Answer {
        status,
        headers,
        body,
    }
}

/// A write that costs the server nothing but its limit: a hold without a body (422).
async fn write(server: &ServerProcess, client: &reqwest::Client) -> Answer {
    send(client.post(server.url("/holds")).json(&json!({}))).await
}

fn assert_rate_limited(answer: &Answer, policy: &str, name: &str) {
    assert_eq!(answer.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(answer.body["error"], "RATE_LIMITED");
    let retry_after: u64 = answer.header("retry-after").unwrap().parse().unwrap();
    assert!(retry_after >= 1, "Retry-After {retry_after}");
    assert_eq!(answer.header("ratelimit-policy").as_deref(), Some(policy));
    assert_eq!(
        answer.header("ratelimit"),
        Some(format!("\"{name}\";r=0;t={retry_after}"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_writes_from_one_address_gets_429s_while_another_address_is_served() {
    // The defaults: 120 writes a minute.
    let (server, _dir) = server(&[]).await;
    let flooder = client_from("127.0.0.2");
    for left in (0..120).rev() {
        let answer = write(&server, &flooder).await;
        assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            answer.header("ratelimit-policy").as_deref(),
            Some("\"writes\";q=120;w=60")
        );
        // GCRA refills one unit every half second: a slow machine may get one back.
        let remaining: String = answer.header("ratelimit").unwrap();
        let remaining: u32 = remaining
            .trim_start_matches("\"writes\";r=")
            .parse()
            .unwrap();
        assert!(remaining >= left, "{remaining} < {left}");
    }
    let mut limited = 0;
    for _ in 0..20 {
        let answer = write(&server, &flooder).await;
        if answer.status == StatusCode::TOO_MANY_REQUESTS {
            assert_rate_limited(&answer, "\"writes\";q=120;w=60", "writes");
            limited += 1;
        }
    }
    assert!(
        limited >= 10,
        "only {limited} of 20 writes over the limit got 429"
    );
    let other = write(&server, &client_from("127.0.0.3")).await;
    assert_eq!(other.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        other.header("ratelimit").as_deref(),
        Some("\"writes\";r=119")
    );
    // Reads are not limited.
    let read = send(flooder.get(server.url("/rooms"))).await;
    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(read.header("ratelimit"), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_operator_credentials_are_refused_then_429_even_the_right_token_from_that_address() {
    let tokens = format!("desk:{OPERATOR_TOKEN}");
    let (server, _dir) = server(&[("OPERATOR_TOKENS", &tokens)]).await;
    let sheet = server.url("/rooms/r-101/bookings");
    let guesser = client_from("127.0.0.2");
    // The default: 10 refused credentials a minute. An operator's own spend nothing.
    for _ in 0..3 {
        let right = send(guesser.get(&sheet).bearer_auth(OPERATOR_TOKEN)).await;
        assert_eq!(right.status, StatusCode::OK);
    }
    for guess in 0..10 {
        let wrong = if guess % 2 == 0 {
            // Not a bearer token at all: 401.
            send(guesser.get(&sheet).basic_auth("desk", Some("guess"))).await
        } else {
            // A wrong bearer token: 401 too, RFC 6750's `invalid_token`.
            send(guesser.get(&sheet).bearer_auth(format!("guess-{guess}"))).await
        };
        assert_eq!(
            wrong.status,
            StatusCode::UNAUTHORIZED,
            "guess {guess}: {}",
            wrong.body
        );
        let challenge = if guess % 2 == 0 {
            "Bearer"
        } else {
            r#"Bearer error="invalid_token""#
        };
        assert_eq!(wrong.header("www-authenticate").as_deref(), Some(challenge));
        assert_eq!(
            wrong.header("ratelimit"),
            Some(format!("\"auth\";r={}", 9 - guess))
        );
    }
    let over = send(guesser.get(&sheet).bearer_auth("guess-11")).await;
    assert_rate_limited(&over, "\"auth\";q=10;w=60", "auth");
    // Answering the right token now would tell a guesser it is right.
    let right = send(guesser.get(&sheet).bearer_auth(OPERATOR_TOKEN)).await;
    assert_rate_limited(&right, "\"auth\";q=10;w=60", "auth");
    // Without credentials the guesser is a player like any other.
    let rooms = send(guesser.get(server.url("/rooms"))).await;
    assert_eq!(rooms.status, StatusCode::OK);
    let desk = send(
        client_from("127.0.0.3")
            .get(&sheet)
            .bearer_auth(OPERATOR_TOKEN),
    )
    .await;
    assert_eq!(desk.status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_trust_proxy_the_first_x_forwarded_for_entry_is_the_client_and_without_it_the_peer() {
    let limit = [("RATE_LIMIT_WRITES", "3/min")];
    let (direct, _a) = server(&limit).await;
    let (proxied, _b) = server(&[limit[0], ("TRUST_PROXY", "1")]).await;
    // Every request from one socket address, as from a proxy.
    let proxy = client_from("127.0.0.2");
    let from = |server: &ServerProcess, client: &str| {
        proxy
            .post(server.url("/holds"))
            .header("x-forwarded-for", format!("{client}, 10.0.0.1"))
            .json(&json!({}))
    };
    for _ in 0..3 {
        assert_eq!(
            send(from(&proxied, "198.51.100.1")).await.status,
            StatusCode::UNPROCESSABLE_ENTITY
        );
    }
    assert_eq!(
        send(from(&proxied, "198.51.100.1")).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        send(from(&proxied, "198.51.100.2")).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    // Without TRUST_PROXY a forged header changes nothing: the peer is the client.
    for client in ["198.51.100.1", "198.51.100.2", "198.51.100.3"] {
        assert_eq!(
            send(from(&direct, client)).await.status,
            StatusCode::UNPROCESSABLE_ENTITY
        );
    }
    assert_eq!(
        send(from(&direct, "198.51.100.4")).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_rate_limit_off_nothing_is_ever_429() {
    let (server, _dir) = server(&[
        ("RATE_LIMIT", "off"),
        ("RATE_LIMIT_WRITES", "1/hour"),
        ("RATE_LIMIT_AUTH", "1/hour"),
    ])
    .await;
    let client = client_from("127.0.0.2");
    for _ in 0..200 {
        let answer = write(&server, &client).await;
        assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(answer.header("ratelimit"), None);
    }
    for _ in 0..20 {
        let sheet = server.url("/rooms/r-101/bookings");
        let wrong = send(client.get(sheet).bearer_auth("guess")).await;
        assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    }
}

#[tokio::test]
async fn a_bad_rate_limit_setting_stops_start_up_naming_it() {
    for (variable, bad) in [
        ("RATE_LIMIT_WRITES", "lots"),
        ("RATE_LIMIT_AUTH", "10/fortnight"),
        ("RATE_LIMIT", "sometimes"),
        ("TRUST_PROXY", "yes"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let run = tokio::process::Command::new(crate::binaries::server())
            .env("SQLITE_PATH", dir.path().join("bad.db"))
            .env("PORT", "0")
            .env(variable, bad)
            .env_remove("STORE")
            .env_remove("TABLE_NAME")
            .kill_on_drop(true)
            .output();
        // A server that starts would serve forever: give up on it well before that.
        let output = tokio::time::timeout(std::time::Duration::from_secs(60), run)
            .await
            .expect("a bad setting stops start-up")
            .unwrap();
        assert!(!output.status.success(), "{variable}={bad} started");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(variable), "{variable}={bad}: {stderr}");
    }
}
