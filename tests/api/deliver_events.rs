//! Booking events delivered on AWS: the `deliver-events` function, with real parts.
//!
//! - The template: the function is fed by the table's stream through a mapping of its own
//!   (settings, on-failure queue, least-privilege role) and by a one-minute schedule; only it
//!   may read the SMTP URL's SSM parameter.
//! - The mapping's filter, evaluated by a real implementation of Lambda's filter language (moto's
//!   `EventPattern`, `tests/events/stream_filter.py`): the insert of a booking event passes, no
//!   slot, hold, reference, webhook or delivery change does.
//! - The function's binary through the Lambda Runtime API (`runtime`), on DynamoDB Local with the
//!   table's stream on: a booking made in the store, the stream's real records read back with
//!   DynamoDB Streams (`DescribeTable` → `LatestStreamArn`, `DescribeStream`, `GetShardIterator`,
//!   `GetRecords`), filtered as Lambda would, handed to the function in Lambda's DynamoDB event
//!   shape; a receiver verifies each delivery with the Standard Webhooks library (`webhooks`),
//!   and the minute's tick (EventBridge's scheduled event) retries a failed one.
//! - Email: the SMTP URL read from an SSM SecureString (moto's server) at cold start, the
//!   confirmation received by a real SMTP server (aiosmtpd); a plain String parameter stops the
//!   cold start without showing the password.

use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::Duration;

use aws_sdk_dynamodb::types::{StreamSpecification, StreamViewType};
use aws_sdk_dynamodbstreams as streams;
use aws_sdk_ssm::types::ParameterType;
use chrono::Utc;
use serde_json::{Value, json};
use serde_norway::Value as Yaml;
use shared::domain::{Contact, HoldId, SlotId, UserId};
use shared::events::{EventId, EventKind};
use shared::store::{NewBooking, NewHold, Store, Webhook};
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

use crate::harness::{StoreKind, seeded};
use crate::mail::{SmtpSink, python, read_mail};
use crate::operator_tokens_ssm::LocalSsm;
use crate::processes::free_port;
use crate::runtime::{Function, Outcome};
use crate::template::{
    functions, get, intrinsic_str, mail_parameter_statements, repo, resources, str_at,
    stream_mapping, stream_statements, template,
};
use crate::template_edge::reads_only_the_parameter;
use crate::webhooks::Receiver;

const FUNCTION: &str = "deliver-events";
const LOGICAL_ID: &str = "DeliverEventsFunction";

// ---------------------------------------------------------------------------------------------
// The template

fn mapping(t: &Yaml) -> &Yaml {
    stream_mapping(t, LOGICAL_ID).expect("an event source mapping feeds deliver-events")
}

/// The mapping's one filter, as template.yaml has it.
fn stream_filter() -> String {
    let t = template();
    let filters = get(mapping(&t), "Properties.FilterCriteria.Filters")
        .as_sequence()
        .expect("a list of filters");
    assert_eq!(filters.len(), 1, "one filter: {filters:?}");
    str_at(&filters[0], "Pattern").to_owned()
}

#[test]
fn the_events_function_is_woken_by_new_booking_events_on_the_tables_stream_and_every_minute() {
    let t = template();
    let table = get(&t, "Resources.Table.Properties");
    assert_eq!(
        str_at(table, "StreamSpecification.StreamViewType"),
        "KEYS_ONLY",
        "keys only: the function reads the event itself, no contact travels in the stream"
    );
    let p = get(mapping(&t), "Properties");
    assert_eq!(
        intrinsic_str(get(p, "EventSourceArn")),
        Some(("GetAtt".into(), "Table.StreamArn".into()))
    );
    assert_eq!(str_at(p, "StartingPosition"), "LATEST");
    for (setting, value) in [
        ("BatchSize", 10),
        ("MaximumBatchingWindowInSeconds", 0),
        ("ParallelizationFactor", 1),
        ("MaximumRetryAttempts", 3),
        ("MaximumRecordAgeInSeconds", 3600),
    ] {
        assert_eq!(get(p, setting).as_u64(), Some(value), "{setting}");
    }
    assert_eq!(get(p, "BisectBatchOnFunctionError"), &Yaml::Bool(true));
    assert_eq!(
        get(p, "FunctionResponseTypes"),
        &serde_norway::from_str::<Yaml>("[ReportBatchItemFailures]").unwrap()
    );
    let (_, queue) = intrinsic_str(get(p, "DestinationConfig.OnFailure.Destination"))
        .expect("!GetAtt <queue>.Arn");
    let queue = get(&t, &format!("Resources.{}", queue.trim_end_matches(".Arn")));
    assert_eq!(str_at(queue, "Type"), "AWS::SQS::Queue");
    assert_eq!(
        get(queue, "Properties.SqsManagedSseEnabled"),
        &Yaml::Bool(true)
    );
    assert_eq!(
        get(queue, "Properties.MessageRetentionPeriod").as_u64(),
        Some(14 * 86_400)
    );
    // A pass takes at most 32 attempts of 10 s at once, and another starts with 20 s left.
    let f = functions(&t)
        .into_iter()
        .find(|f| f.crate_name == FUNCTION)
        .unwrap();
    assert_eq!(get(&f.resource, "Properties.Timeout").as_u64(), Some(60));
    assert_eq!(
        shared::delivery::invocation::ROUND_NEEDS,
        Duration::from_secs(20)
    );
}

#[test]
fn only_the_events_function_reads_the_stream_and_sends_to_its_queue_and_only_those() {
    let t = template();
    for f in functions(&t) {
        let granted = stream_statements(&f);
        if f.crate_name != FUNCTION {
            assert!(granted.is_empty(), "{}: {granted:?}", f.logical_id);
            continue;
        }
        let granted: Vec<(Vec<&str>, Vec<&str>, bool)> = granted
            .iter()
            .map(|(actions, resources, condition)| {
                (
                    actions.iter().map(String::as_str).collect(),
                    resources.iter().map(String::as_str).collect(),
                    condition.is_some(),
                )
            })
            .collect();
        assert_eq!(
            granted,
            [
                (
                    vec![
                        "dynamodb:DescribeStream",
                        "dynamodb:GetRecords",
                        "dynamodb:GetShardIterator"
                    ],
                    vec!["!GetAtt Table.StreamArn"],
                    false
                ),
                (
                    vec!["dynamodb:ListStreams"],
                    vec!["!Sub ${Table.Arn}/stream/*"],
                    false
                ),
                (
                    vec!["sqs:SendMessage"],
                    vec!["!GetAtt DeliverEventsDeadLetters.Arn"],
                    false
                ),
            ]
        );
    }
}

#[test]
fn only_the_events_function_may_read_the_smtp_url_and_only_when_it_is_named() {
    let t = template();
    for f in functions(&t) {
        let granted = mail_parameter_statements(&f);
        if f.crate_name == FUNCTION {
            reads_only_the_parameter(&f, &granted, "SmtpUrlParameter");
        } else {
            assert!(granted.is_empty(), "{}: {granted:?}", f.logical_id);
        }
    }
    assert_eq!(str_at(&t, "Parameters.SmtpUrlParameter.Default"), "");
    assert_eq!(str_at(&t, "Parameters.MailFrom.Default"), "");
    for rule in ["SmtpUrlNeedsMailFrom", "MailFromNeedsSmtpUrl"] {
        assert!(get(&t, "Rules").get(rule).is_some(), "{rule}");
    }
    assert!(
        resources(&t).contains_key("DeliverEventsDeadLettersAlarm"),
        "an alarm on the on-failure queue"
    );
}

// ---------------------------------------------------------------------------------------------
// The filter, by a real evaluator

/// Which of `records` pass `pattern`, as Lambda's filter language decides it.
async fn passing(pattern: &str, records: &[Value]) -> Vec<bool> {
    let mut child = Command::new(python())
        .arg(repo().join("tests/events/stream_filter.py"))
        .arg(pattern)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("the filter evaluator");
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(&serde_json::to_vec(records).unwrap())
        .await
        .unwrap();
    drop(stdin);
    let output = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("the evaluator answers")
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    serde_json::from_slice(&output.stdout).unwrap()
}

/// A stream record in Lambda's event shape (keys only).
fn record(name: &str, pk: &str, sk: &str) -> Value {
    json!({
        "eventID": "c4ca4238a0b923820dcc509a6f75849b", "eventName": name, "eventVersion": "1.1",
        "eventSource": "aws:dynamodb", "awsRegion": "eu-west-1",
        "dynamodb": {
            "ApproximateCreationDateTime": 1_764_843_000,
            "Keys": { "pk": { "S": pk }, "sk": { "S": sk } },
            "SequenceNumber": "4421584500000000017450439091", "SizeBytes": 59,
            "StreamViewType": "KEYS_ONLY"
        },
        "eventSourceARN": "arn:aws:dynamodb:eu-west-1:123456789012:table/bookings/stream/2026-12-04T00:00:00.000"
    })
}

#[tokio::test]
async fn the_stream_filter_passes_the_insert_of_a_booking_event_and_nothing_else() {
    let event = "EVENT#evt_0c9e4e4ad1e35f1c9bd2b1e5a0f1c2d3";
    let cases = [
        (record("INSERT", event, "EVENT"), true),
        // The event fanned out (its payload fixed), then erased by the retention job.
        (record("MODIFY", event, "EVENT"), false),
        (record("REMOVE", event, "EVENT"), false),
        // Its deliveries share its partition.
        (record("INSERT", event, "DELIVERY#webhook#wh_1"), false),
        (record("MODIFY", event, "DELIVERY#email#h-1"), false),
        // The booking itself and everything else in the table.
        (record("MODIFY", "SLOT#s-1", "SLOT"), false),
        (record("INSERT", "HOLD#h-1", "HOLD"), false),
        (record("INSERT", "REF#7M3K9Q2XPA", "REF"), false),
        (record("INSERT", "WEBHOOK#wh_1", "WEBHOOK"), false),
        (record("INSERT", "EVENTS", "EVENT"), false),
    ];
    let records: Vec<Value> = cases.iter().map(|(r, _)| r.clone()).collect();
    let expected: Vec<bool> = cases.iter().map(|(_, pass)| *pass).collect();
    assert_eq!(passing(&stream_filter(), &records).await, expected);
}

// ---------------------------------------------------------------------------------------------
// The table's stream on DynamoDB Local

/// Turns the stream on as the template's `StreamSpecification` does; its ARN.
async fn enable_stream(client: &aws_sdk_dynamodb::Client, table: &str) -> String {
    client
        .update_table()
        .table_name(table)
        .stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::KeysOnly)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let described = client
        .describe_table()
        .table_name(table)
        .send()
        .await
        .unwrap();
    described
        .table()
        .and_then(|t| t.latest_stream_arn())
        .expect("DescribeTable names the LatestStreamArn")
        .to_owned()
}

/// Reads a stream shard by shard, from its start, as Lambda's poller does.
struct StreamReader {
    client: streams::Client,
    arn: String,
    /// Each shard's next iterator.
    shards: BTreeMap<String, Option<String>>,
}

impl StreamReader {
    async fn new(arn: String) -> Self {
        let endpoint = crate::dynamodb_local::endpoint().await;
        // The store's account and region on DynamoDB Local (it keeps one database per pair).
        let config = streams::Config::builder()
            .behavior_version(streams::config::BehaviorVersion::latest())
            .http_client(shared::store::dynamo::http_client())
            .region(streams::config::Region::new("us-east-1"))
            .credentials_provider(streams::config::Credentials::new(
                "local", "local", None, None, "test",
            ))
            .endpoint_url(endpoint)
            .build();
        Self {
            client: streams::Client::from_conf(config),
            arn,
            shards: BTreeMap::new(),
        }
    }

    /// The records not read yet, in Lambda's DynamoDB event shape.
    async fn read_new(&mut self) -> Vec<Value> {
        let described = self
            .client
            .describe_stream()
            .stream_arn(&self.arn)
            .send()
            .await
            .unwrap();
        for shard in described.stream_description().unwrap().shards() {
            let id = shard.shard_id().unwrap().to_owned();
            if !self.shards.contains_key(&id) {
                let iterator = self
                    .client
                    .get_shard_iterator()
                    .stream_arn(&self.arn)
                    .shard_id(&id)
                    .shard_iterator_type(streams::types::ShardIteratorType::TrimHorizon)
                    .send()
                    .await
                    .unwrap()
                    .shard_iterator;
                self.shards.insert(id, iterator);
            }
        }
        let mut records = Vec::new();
        for iterator in self.shards.values_mut() {
            while let Some(at) = iterator.clone() {
                let got = self
                    .client
                    .get_records()
                    .shard_iterator(at)
                    .send()
                    .await
                    .unwrap();
                *iterator = got.next_shard_iterator.clone();
                if got.records().is_empty() {
                    break;
                }
                records.extend(got.records().iter().map(|r| lambda_record(r, &self.arn)));
            }
        }
        records
    }
}

/// A DynamoDB Streams record as Lambda hands it to a function (`Records[i]`).
fn lambda_record(r: &streams::types::Record, arn: &str) -> Value {
    let data = r.dynamodb().expect("a stream record's data");
    let keys: serde_json::Map<String, Value> = data
        .keys()
        .expect("keys")
        .iter()
        .map(|(name, value)| match value {
            streams::types::AttributeValue::S(s) => (name.clone(), json!({ "S": s })),
            other => panic!("a key that is not a string: {other:?}"),
        })
        .collect();
    json!({
        "eventID": r.event_id(),
        "eventName": r.event_name().map(|n| n.as_str()),
        "eventVersion": r.event_version(),
        "eventSource": r.event_source(),
        "awsRegion": r.aws_region(),
        "dynamodb": {
            "ApproximateCreationDateTime": data.approximate_creation_date_time().map(|t| t.secs()),
            "Keys": keys,
            "SequenceNumber": data.sequence_number(),
            "SizeBytes": data.size_bytes(),
            "StreamViewType": data.stream_view_type().map(|v| v.as_str()),
        },
        "eventSourceARN": arn,
    })
}

// ---------------------------------------------------------------------------------------------
// The function

/// A webhook for both kinds at the receiver's `path`, made in the store; its secret goes to the
/// receiver.
async fn webhook(store: &dyn Store, receiver: &Receiver, path: &str) -> String {
    let secret = shared::delivery::signing::new_secret().unwrap();
    let id = format!("wh_{}", uuid::Uuid::new_v4().simple());
    let hook = Webhook {
        id: id.clone(),
        url: format!("{}{path}", receiver.base),
        events: vec![EventKind::Confirmed, EventKind::Cancelled],
        secret: secret.clone(),
        created_at: Utc::now(),
        disabled: false,
    };
    store.create_webhook(&hook, None).await.unwrap();
    receiver.secret(path, &secret).await;
    id
}

/// A booking of `slot` by u-demo with a contact, made in the store as confirm-hold makes it.
async fn book(store: &dyn Store, slot: &str) -> HoldId {
    let now = Utc::now();
    let slot_id = SlotId::parse(slot).unwrap();
    let user = UserId::parse("u-demo").unwrap();
    let hold = NewHold {
        id: HoldId::generate(&slot_id),
        slot_id,
        user_id: user.clone(),
        expires_at: now + chrono::Duration::minutes(5),
        verified_user: false,
        players: Some(4),
        max_live_holds: None,
    };
    let id = store.create_hold(&hold, None, now).await.unwrap().id;
    let contact = Contact::checked("Ada Lovelace", "ada@example.org", None).unwrap();
    let (booking, _) = NewBooking::generate(Some(contact)).unwrap();
    store
        .confirm_booking(id, &user, &booking, None, now)
        .await
        .unwrap();
    id
}

/// EventBridge's scheduled event, as the one-minute rule sends it.
fn tick() -> Value {
    json!({
        "version": "0", "id": "7bf73129-1428-4cd3-a780-95db273d1602",
        "detail-type": "Scheduled Event", "source": "aws.events", "account": "123456789012",
        "time": "2026-12-04T15:00:00Z", "region": "eu-west-1",
        "resources": ["arn:aws:events:eu-west-1:123456789012:rule/deliver-events-every-minute"],
        "detail": {}
    })
}

fn with(env: &[(String, String)], more: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut env = env.to_vec();
    env.extend(more.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    env
}

async fn answer(function: &mut Function, event: Value) -> Value {
    match function.invoke(event).await {
        Outcome::Response(answer) => answer,
        Outcome::Error { error_type, body } => panic!(
            "{FUNCTION} failed ({error_type:?}): {body}\n{}",
            function.output()
        ),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_booking_on_dynamodb_reaches_a_webhook_through_the_tables_stream_and_the_tick_retries_a_failed_delivery()
 {
    let seeded = seeded(StoreKind::Dynamodb, Utc::now(), &[]).await;
    let store = seeded.store.as_ref();
    let table = seeded
        .env
        .iter()
        .find(|(k, _)| k == "TABLE_NAME")
        .map(|(_, v)| v.clone())
        .unwrap();
    let client = crate::dynamodb_local::client().await;
    let mut stream = StreamReader::new(enable_stream(&client, &table).await).await;
    let receiver = Receiver::start(free_port()).await;
    webhook(store, &receiver, "/ok/stream").await;
    webhook(store, &receiver, "/flaky/stream").await;

    let hold = book(store, "s-1").await;
    let confirmed = EventId::of(hold, EventKind::Confirmed);

    // The stream has the booking's every write (slot, hold record, reference, event) and the
    // webhooks'; the mapping's filter lets through the event's insert alone.
    let records = stream.read_new().await;
    let passed = passing(&stream_filter(), &records).await;
    let woken: Vec<Value> = records
        .iter()
        .zip(&passed)
        .filter(|(_, pass)| **pass)
        .map(|(r, _)| r.clone())
        .collect();
    assert!(records.len() >= 5, "{records:#?}");
    assert_eq!(woken.len(), 1, "{records:#?}");
    assert_eq!(woken[0]["eventName"], "INSERT");
    assert_eq!(
        woken[0]["dynamodb"]["Keys"]["pk"]["S"],
        format!("EVENT#{confirmed}")
    );

    let env = with(
        &seeded.env,
        &[
            ("WEBHOOK_ALLOW_INSECURE", "1"),
            ("WEBHOOK_RETRY_SECONDS", "1,1"),
        ],
    );
    let mut function = Function::start(FUNCTION, &env).await;
    let batch = json!({ "Records": woken });
    assert_eq!(
        answer(&mut function, batch.clone()).await,
        json!({ "batchItemFailures": [] })
    );
    // Delivered by the stream's invocation itself, signed, with the event's id.
    let ok = receiver
        .wait_for("/ok/stream", Duration::from_secs(5), |d| !d.is_empty())
        .await;
    assert_eq!(ok.len(), 1, "{ok:?}");
    assert_eq!(ok[0]["webhook_id"], confirmed.as_str());
    assert_eq!(ok[0]["verified"], true);
    assert_eq!(ok[0]["type"], "booking.confirmed");
    let flaky = receiver
        .wait_for("/flaky/stream", Duration::from_secs(5), |d| !d.is_empty())
        .await;
    assert_eq!(flaky.len(), 1, "{flaky:?}");
    assert_eq!(flaky[0]["status"], 500);

    // The minute's ticks: the failed delivery once its retry time (1 s) has come, and nothing
    // else (the delivered one is not sent again).
    for _ in 0..2 {
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        assert_eq!(
            answer(&mut function, tick()).await,
            json!({ "attempted": 1 })
        );
    }
    let flaky = receiver
        .wait_for("/flaky/stream", Duration::from_secs(5), |d| d.len() >= 3)
        .await;
    let statuses: Vec<&Value> = flaky.iter().map(|d| &d["status"]).collect();
    assert_eq!(
        statuses,
        [&json!(500), &json!(500), &json!(200)],
        "{flaky:?}"
    );
    assert!(
        flaky
            .iter()
            .all(|d| d["webhook_id"] == confirmed.as_str() && d["verified"] == true)
    );
    // A stream batch retried by Lambda (the same record again) sends nothing twice.
    assert_eq!(
        answer(&mut function, batch).await,
        json!({ "batchItemFailures": [] })
    );
    assert_eq!(
        answer(&mut function, tick()).await,
        json!({ "attempted": 0 })
    );
    let ok = receiver
        .wait_for("/ok/stream", Duration::from_millis(500), |_| false)
        .await;
    assert_eq!(ok.len(), 1, "{ok:?}");

    // A cancellation wakes it the same way.
    let by = shared::domain::Canceller::Player {
        user: UserId::parse("u-demo").unwrap(),
        cutoff: chrono::Duration::zero(),
    };
    store.cancel_hold(hold, &by, Utc::now()).await.unwrap();
    let records = stream.read_new().await;
    let passed = passing(&stream_filter(), &records).await;
    let woken: Vec<Value> = records
        .iter()
        .zip(&passed)
        .filter(|(_, pass)| **pass)
        .map(|(r, _)| r.clone())
        .collect();
    assert_eq!(woken.len(), 1, "{records:#?}");
    answer(&mut function, json!({ "Records": woken })).await;
    let ok = receiver
        .wait_for("/ok/stream", Duration::from_secs(5), |d| d.len() >= 2)
        .await;
    assert_eq!(ok[1]["type"], "booking.cancelled", "{ok:?}");
    assert_eq!(
        ok[1]["webhook_id"],
        EventId::of(hold, EventKind::Cancelled).as_str()
    );
}

/// A record whose event cannot be read (here: the function's table does not exist) is reported
/// as the batch's failure, so the stream retries from it; a tick that cannot reach the store
/// fails its invocation.
#[tokio::test(flavor = "multi_thread")]
async fn a_record_that_cannot_be_fanned_out_is_reported_so_the_stream_retries_from_it() {
    let seeded = seeded(StoreKind::Dynamodb, Utc::now(), &[]).await;
    let env: Vec<(String, String)> = seeded
        .env
        .iter()
        .map(|(k, v)| match k.as_str() {
            "TABLE_NAME" => (k.clone(), "no-such-table".to_owned()),
            _ => (k.clone(), v.clone()),
        })
        .collect();
    let mut function = Function::start(FUNCTION, &env).await;
    let mut first = record(
        "INSERT",
        "EVENT#evt_00000000000000000000000000000001",
        "EVENT",
    );
    first["dynamodb"]["SequenceNumber"] = json!("100");
    let mut second = record(
        "INSERT",
        "EVENT#evt_00000000000000000000000000000002",
        "EVENT",
    );
    second["dynamodb"]["SequenceNumber"] = json!("200");
    assert_eq!(
        answer(&mut function, json!({ "Records": [first, second] })).await,
        json!({ "batchItemFailures": [{ "itemIdentifier": "100" }] })
    );
    match function.invoke(tick()).await {
        Outcome::Error { .. } => {}
        Outcome::Response(answer) => panic!("a tick without its store answered {answer}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn with_the_smtp_url_in_an_ssm_secure_string_the_function_emails_the_booking_to_its_contact()
{
    // On a SQLite file (the test binaries carry both stores): moto keeps parameters per region,
    // and DynamoDB Local's database is the harness's us-east-1, not the runtime's region.
    let seeded = seeded(StoreKind::Sqlite, Utc::now(), &[]).await;
    let sink = SmtpSink::start(0).await;
    let ssm = LocalSsm::start().await;
    let parameter = "/escape-room/smtp-url";
    ssm.put(parameter, ParameterType::SecureString, &sink.url())
        .await;
    let env = with(
        &seeded.env,
        &[
            ("SMTP_URL_PARAMETER", parameter),
            ("MAIL_FROM", "Escape Room <bookings@example.com>"),
            ("AWS_ENDPOINT_URL_SSM", ssm.endpoint.as_str()),
            // Credentials for the local SSM, and no instance metadata (loopback traffic only).
            ("AWS_ACCESS_KEY_ID", "local"),
            ("AWS_SECRET_ACCESS_KEY", "local"),
            ("AWS_EC2_METADATA_DISABLED", "true"),
        ],
    );
    let mut function = Function::start(FUNCTION, &env).await;
    let hold = book(seeded.store.as_ref(), "s-2").await;
    // The tick finds the event in the outbox (no stream here) and sends the email at once.
    assert_eq!(
        answer(&mut function, tick()).await,
        json!({ "attempted": 1 })
    );
    let received = sink.wait_for(1, Duration::from_secs(10)).await;
    let mail = read_mail(&received[0], "UTC").await;
    let text = mail.to_string();
    assert!(text.contains("ada@example.org"), "{mail}");
    let deliveries = seeded
        .store
        .deliveries_to(
            &shared::store::Target::new("email", &hold.to_string()),
            None,
            10,
        )
        .await
        .unwrap();
    assert_eq!(deliveries.deliveries.len(), 1);
    assert_eq!(
        deliveries.deliveries[0].state,
        shared::store::DeliveryState::Delivered
    );

    // A plain String parameter (anyone who may read parameters would see the password) stops
    // the cold start, naming the variable and never the password.
    let plain = "/escape-room/smtp-url-plain";
    ssm.put(
        plain,
        ParameterType::String,
        "smtp://user:hunter2secret@127.0.0.1:2525",
    )
    .await;
    let env = with(
        &seeded.env,
        &[
            ("SMTP_URL_PARAMETER", plain),
            ("MAIL_FROM", "bookings@example.com"),
            ("AWS_ENDPOINT_URL_SSM", ssm.endpoint.as_str()),
            ("AWS_ACCESS_KEY_ID", "local"),
            ("AWS_SECRET_ACCESS_KEY", "local"),
            ("AWS_EC2_METADATA_DISABLED", "true"),
        ],
    );
    let mut refused = Function::start(FUNCTION, &env).await;
    let status = tokio::time::timeout(Duration::from_secs(30), refused.child.wait())
        .await
        .expect("the process exits")
        .unwrap();
    assert!(!status.success());
    for reader in std::mem::take(&mut refused.readers) {
        reader.await.unwrap();
    }
    let output = refused.output();
    assert!(output.contains("SMTP_URL_PARAMETER"), "{output}");
    assert!(output.contains("SecureString"), "{output}");
    assert!(!output.contains("hunter2secret"), "{output}");
}
