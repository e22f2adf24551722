//! The operators' tokens on AWS come from an SSM SecureString parameter (`OPERATOR_TOKENS_PARAMETER`),
//! read by the function binaries at cold start. A real SSM API on loopback stands in for AWS: moto's
//! server (`moto[server]`, pinned in requirements-dev.txt, from `.venv/`, which `scripts/test`
//! sets up through `scripts/check-template`). The functions reach it exactly as they reach SSM on
//! AWS, through the SDK's `AWS_ENDPOINT_URL_SSM`; nothing in them knows it is a stand-in.

use std::process::Stdio;
use std::time::Duration;

use aws_sdk_ssm::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_ssm::types::ParameterType;
use chrono::Utc;
use serde_json::json;
use shared::domain::{HoldId, SlotId, UserId};
use shared::store::NewHold;
use tokio::process::{Child, Command};

use crate::harness::{Event, StoreKind, poll_until, seeded};
use crate::processes::free_port;
use crate::runtime::{Function, Outcome, REGION};
use crate::template::repo;

/// The desk's token as the parameter holds it (not one of the harness's tokens: the functions
/// here get no `OPERATOR_TOKENS` variable, so only SSM can make it valid).
const SSM_DESK_TOKEN: &str = "ssm-desk-token-0123456789abcdef0123456789";
const PARAMETER: &str = "/escape-room/operator-tokens";

/// moto's server on a loopback port, killed on drop.
pub(crate) struct LocalSsm {
    _child: Child,
    pub(crate) endpoint: String,
    client: aws_sdk_ssm::Client,
}

impl LocalSsm {
    pub(crate) async fn start() -> Self {
        let server = repo().join(".venv/bin/moto_server");
        assert!(
            server.is_file(),
            "{} is missing: run scripts/check-template (or `source scripts/dev-venv`) first",
            server.display()
        );
        let port = free_port();
        let child = Command::new(&server)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("moto_server");
        let endpoint = format!("http://127.0.0.1:{port}");
        let config = aws_sdk_ssm::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .endpoint_url(&endpoint)
            .region(Region::new(REGION))
            .credentials_provider(Credentials::new("local", "local", None, None, "test"))
            .http_client(shared::config::aws_http_client())
            .build();
        let client = aws_sdk_ssm::Client::from_conf(config);
        poll_until(
            "moto's SSM answers",
            Duration::from_secs(60),
            Duration::from_millis(100),
            || async { client.describe_parameters().send().await.ok().map(|_| ()) },
        )
        .await;
        Self {
            _child: child,
            endpoint,
            client,
        }
    }

    pub(crate) async fn put(&self, name: &str, kind: ParameterType, value: &str) {
        self.client
            .put_parameter()
            .name(name)
            .r#type(kind)
            .value(value)
            .overwrite(true)
            .send()
            .await
            .unwrap();
    }

    /// What a function needs to read `parameter` from here, as it would from SSM on AWS.
    fn env(&self, parameter: &str) -> Vec<(String, String)> {
        [
            ("OPERATOR_TOKENS_PARAMETER", parameter),
            ("AWS_ENDPOINT_URL_SSM", self.endpoint.as_str()),
            ("AWS_ACCESS_KEY_ID", "local"),
            ("AWS_SECRET_ACCESS_KEY", "local"),
            ("AWS_EC2_METADATA_DISABLED", "true"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
    }
}

/// A confirmed booking of the fixture's `s-1` by `u-demo`, made in the store itself.
async fn a_booking(store: &dyn shared::store::Store) -> HoldId {
    let now = Utc::now();
    let slot_id = SlotId::parse("s-1").unwrap();
    let user = UserId::parse("u-demo").unwrap();
    let hold = NewHold {
        id: HoldId::generate(&slot_id),
        slot_id,
        user_id: user.clone(),
        expires_at: now + chrono::Duration::minutes(5),
        verified_user: false,
        players: None,
        max_live_holds: None,
    };
    let held = store.create_hold(&hold, None, now).await.unwrap();
    store.confirm_hold(held.id, &user, None, now).await.unwrap();
    held.id
}

/// An operator's cancellation of `hold` with `token`, through `function`: its status.
async fn operator_cancels(function: &mut Function, hold: HoldId, token: &str) -> u64 {
    let event = Event::post(
        &format!("/holds/{hold}/cancel"),
        json!({ "reason": "Flooded basement" }),
    )
    .bearer(token)
    .to_json();
    match function.invoke(event).await {
        Outcome::Response(answer) => answer["statusCode"].as_u64().unwrap(),
        Outcome::Error { body, .. } => panic!("cancel-hold failed: {body}\n{}", function.output()),
    }
}

#[tokio::test]
async fn a_function_reads_the_operators_tokens_from_the_ssm_secure_string_at_cold_start() {
    let ssm = LocalSsm::start().await;
    ssm.put(
        PARAMETER,
        ParameterType::SecureString,
        &format!("desk:{SSM_DESK_TOKEN}"),
    )
    .await;
    let store = seeded(StoreKind::Sqlite, Utc::now(), &[]).await;
    let env = [store.env.clone(), ssm.env(PARAMETER)].concat();
    let mut function = Function::start("cancel-hold", &env).await;
    let hold = a_booking(store.store.as_ref()).await;

    let wrong = "ssm-someone-else-0123456789abcdef0123456789";
    // A token that is not in the parameter: 401 (not accepted), the booking stays.
    assert_eq!(operator_cancels(&mut function, hold, wrong).await, 401);
    assert_eq!(
        operator_cancels(&mut function, hold, SSM_DESK_TOKEN).await,
        200
    );
    let output = function.output();
    assert!(
        !output.contains(SSM_DESK_TOKEN),
        "no token in the logs: {output}"
    );
}

/// cancel-hold serves players too: without its tokens it still starts (logging why, naming the
/// parameter), and only its operator branch is closed; a function that serves only operators
/// stops at cold start instead, saying why.
#[tokio::test]
async fn without_readable_tokens_cancel_hold_starts_and_refuses_operators_and_put_room_stops() {
    let ssm = LocalSsm::start().await;
    // A plain String parameter: refused, the tokens are secrets.
    let plain = "/escape-room/plain-tokens";
    ssm.put(
        plain,
        ParameterType::String,
        &format!("desk:{SSM_DESK_TOKEN}"),
    )
    .await;
    let missing = "/escape-room/no-such-parameter";
    let store = seeded(StoreKind::Sqlite, Utc::now(), &[]).await;

    for (parameter, says) in [
        (missing, "reading it from SSM failed"),
        (plain, "SecureString"),
    ] {
        let env = [store.env.clone(), ssm.env(parameter)].concat();
        let mut cancel = Function::start("cancel-hold", &env).await;
        let hold = a_booking(store.store.as_ref()).await;
        assert_eq!(
            operator_cancels(&mut cancel, hold, SSM_DESK_TOKEN).await,
            403,
            "{parameter}: no operator is configured"
        );
        // A player still cancels their own booking.
        let player = Event::post(
            &format!("/holds/{hold}/cancel"),
            json!({ "user_id": "u-demo" }),
        );
        let Outcome::Response(answer) = cancel.invoke(player.to_json()).await else {
            panic!("{}", cancel.output());
        };
        assert_eq!(answer["statusCode"], 200, "{answer}");
        let output = cancel.output();
        assert!(
            output.contains("starting without the operators' tokens")
                && output.contains(parameter)
                && output.contains(says),
            "{output}"
        );

        let mut put_room = Function::start("put-room", &env).await;
        let status = tokio::time::timeout(Duration::from_secs(30), put_room.child.wait())
            .await
            .expect("put-room stops")
            .unwrap();
        assert!(!status.success(), "{status}");
        for reader in std::mem::take(&mut put_room.readers) {
            reader.await.unwrap();
        }
        let output = put_room.output();
        assert!(
            output.contains("OPERATOR_TOKENS_PARAMETER") && output.contains(says),
            "{output}"
        );
        assert!(!output.contains(SSM_DESK_TOKEN), "{output}");
    }
}
