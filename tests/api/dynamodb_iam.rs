//! Each function's IAM statements (`template.yaml`) against what its store calls really send:
//! contract scenarios run through the handlers on DynamoDB Local, with an interceptor on the
//! client that records every request — its action, index, whether it is an item of a
//! `TransactWriteItems`, and the partition keys it names, which is what IAM evaluates as
//! `dynamodb:LeadingKeys` — under the function whose route was being served. Every recorded
//! request must be allowed by one statement of that function's policy, as IAM would decide it:
//! the action, the resource (the table, or the index's ARN for a `Query` on an index), the
//! `dynamodb:EnclosingOperation` condition, and every partition key matching one of the
//! statement's `ForAllValues:StringLike` patterns. (`template.rs` checks the same policies
//! against a table derived from the code; this test observes them.)

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use chrono::Duration;
use serde_json::Value as Json;
use serde_norway::Value;
use shared::App;
use shared::clock::{Clock, ManualClock};
use shared::route::{self, DEFAULT_ROUTE_FUNCTION, Matched};
use shared::store::Store;

use crate::harness::{
    Event, InProcess, Reply, TTL_SECONDS, TestApp, Transport, demo_dynamo_store, test_operators,
};
use crate::template::{Statement, functions, get, statements, template};

/// One request as IAM sees it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Request {
    /// `GetItem`, `Query`, … (an item of a transaction: `PutItem`, `UpdateItem`,
    /// `ConditionCheckItem`, `DeleteItem`).
    action: String,
    index: Option<String>,
    in_transaction: bool,
    /// The partition-key values the request names (`dynamodb:LeadingKeys`).
    keys: Vec<String>,
}

type Recorded = Arc<Mutex<Vec<(String, Request)>>>;

/// Records each request under the function being served (`current`); requests outside a route
/// (loading the fixture) are not recorded.
#[derive(Debug)]
struct RecordRequests {
    current: Arc<Mutex<Option<String>>>,
    recorded: Recorded,
}

impl Intercept for RecordRequests {
    fn name(&self) -> &'static str {
        "RecordRequests"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _config: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(function) = self.current.lock().unwrap().clone() else {
            return Ok(());
        };
        let request = context.request();
        let target = request.headers().get("x-amz-target").unwrap_or_default();
        let action = target.rsplit('.').next().unwrap_or_default().to_owned();
        let body: Json = serde_json::from_slice(request.body().bytes().unwrap_or_default())?;
        let mut recorded = self.recorded.lock().unwrap();
        for request in as_iam_sees(&action, &body) {
            recorded.push((function.clone(), request));
        }
        Ok(())
    }
}

/// The partition key of an item's `Key` or `Item`.
fn pk(item: &Json) -> String {
    item["pk"]["S"].as_str().expect("a string pk").to_owned()
}

/// A request as the IAM authorisations it needs: one, or one per item of a transaction.
fn as_iam_sees(action: &str, body: &Json) -> Vec<Request> {
    let one = |keys: Vec<String>, index: Option<String>| Request {
        action: action.to_owned(),
        index,
        in_transaction: false,
        keys,
    };
    match action {
        "GetItem" | "UpdateItem" | "DeleteItem" => vec![one(vec![pk(&body["Key"])], None)],
        "PutItem" => vec![one(vec![pk(&body["Item"])], None)],
        "BatchGetItem" => {
            let tables = body["RequestItems"].as_object().expect("RequestItems");
            let keys = tables
                .values()
                .flat_map(|t| t["Keys"].as_array().expect("Keys").iter().map(pk))
                .collect();
            vec![one(keys, None)]
        }
        "Query" => {
            let index = body["IndexName"].as_str().map(str::to_owned);
            vec![one(vec![query_partition_key(body)], index)]
        }
        "TransactWriteItems" => body["TransactItems"]
            .as_array()
            .expect("TransactItems")
            .iter()
            .map(|item| {
                let (kind, part) = item.as_object().unwrap().iter().next().unwrap();
                let (action, key) = match kind.as_str() {
                    "Put" => ("PutItem", pk(&part["Item"])),
                    "Update" => ("UpdateItem", pk(&part["Key"])),
                    "Delete" => ("DeleteItem", pk(&part["Key"])),
                    "ConditionCheck" => ("ConditionCheckItem", pk(&part["Key"])),
                    other => panic!("a transaction item {other}"),
                };
                Request {
                    action: action.to_owned(),
                    index: None,
                    in_transaction: true,
                    keys: vec![key],
                }
            })
            .collect(),
        // Anything else (a Scan) names no key: no function is allowed one, so it fails below.
        _ => vec![one(
            Vec::new(),
            body["IndexName"].as_str().map(str::to_owned),
        )],
    }
}

/// The value a `Query`'s key condition gives its partition key (`pk`, `gsi1pk` or `gsi2pk`):
/// the `name = :value` clause on an attribute whose name ends in `pk`.
fn query_partition_key(body: &Json) -> String {
    let condition = body["KeyConditionExpression"]
        .as_str()
        .expect("a key condition");
    let names = &body["ExpressionAttributeNames"];
    condition
        .split(" AND ")
        .filter_map(|clause| clause.split_once(" = "))
        .find_map(|(name, value)| {
            let name = name.trim().trim_start_matches('(');
            let attribute = names[name].as_str().unwrap_or(name);
            attribute.ends_with("pk").then(|| {
                let value = value.trim().trim_end_matches(')');
                body["ExpressionAttributeValues"][value]["S"]
                    .as_str()
                    .expect("a string partition key")
                    .to_owned()
            })
        })
        .unwrap_or_else(|| panic!("no partition key in {condition}"))
}

/// The handlers in process, noting which function serves each request.
struct Recording {
    app: InProcess,
    current: Arc<Mutex<Option<String>>>,
}

#[async_trait]
impl Transport for Recording {
    async fn send(&self, event: &Event) -> Reply {
        let function = match route::find(event.method.as_str(), &event.path) {
            Matched::Route(route, _) => route.spec().function,
            _ => DEFAULT_ROUTE_FUNCTION,
        };
        *self.current.lock().unwrap() = Some(function.to_owned());
        let reply = self.app.send(event).await;
        *self.current.lock().unwrap() = None;
        reply
    }
}

/// `*` as any run of characters, the rest literal: IAM's `StringLike`.
fn string_like(pattern: &str, value: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == value,
        Some((head, tail)) => value.strip_prefix(head).is_some_and(|rest| {
            (0..=rest.len()).any(|at| rest.is_char_boundary(at) && string_like(tail, &rest[at..]))
        }),
    }
}

/// Whether `statement` allows `request`, as IAM decides it.
fn allows(statement: &Statement, request: &Request) -> bool {
    let (actions, resources, condition) = statement;
    let resource = match &request.index {
        None => "!GetAtt Table.Arn".to_owned(),
        Some(index) => format!("!Sub ${{Table.Arn}}/index/{index}"),
    };
    if !actions.contains(&format!("dynamodb:{}", request.action)) || !resources.contains(&resource)
    {
        return false;
    }
    let condition = condition.as_ref();
    let transaction_only = condition
        .and_then(|c| c.get("ForAnyValue:StringEquals"))
        .is_some();
    if transaction_only && !request.in_transaction {
        return false;
    }
    let patterns: Vec<&str> = condition
        .and_then(|c| c.get("ForAllValues:StringLike"))
        .map(|c| get(c, "dynamodb:LeadingKeys"))
        .and_then(Value::as_sequence)
        .map(|p| p.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    request
        .keys
        .iter()
        .all(|key| patterns.iter().any(|p| string_like(p, key)))
}

#[test]
fn iams_string_like_matches_as_iam_does() {
    assert!(string_like("SLOT#*", "SLOT#0a1b"));
    assert!(string_like("ROOMS", "ROOMS"));
    assert!(!string_like("ROOMS", "ROOMS#x"));
    assert!(!string_like("SLOT#*", "HOLD#1"));
    assert!(!string_like("ROOM#*", "ROOMS"));
}

#[tokio::test]
async fn every_request_each_function_sends_is_allowed_by_its_policy_item_kinds_included() {
    let current = Arc::new(Mutex::new(None));
    let recorded: Recorded = Arc::default();
    let config = crate::dynamodb_local::client_config(crate::dynamodb_local::endpoint().await)
        .interceptor(RecordRequests {
            current: current.clone(),
            recorded: recorded.clone(),
        })
        .build();
    let client = Client::from_conf(config);
    // Each scenario on a fresh table with the fixture, as the contract suite runs it; the last
    // one's table (it has published schedules) for the daily job.
    let mut stores = Vec::new();
    macro_rules! run {
        ($($module:ident $(::$rest:ident)+ $(with $caps:expr)?),* $(,)?) => {$(
            let clock = ManualClock::starting_at(chrono::Utc::now());
            let store = Arc::new(demo_dynamo_store(client.clone(), clock.now(), &[]).await);
            #[allow(unused_variables)]
            let caps = shared::config::Caps::OFF;
            $(let caps = $caps;)?
            let app = App::new(store.clone(), Clock::Manual(clock.clone()), Duration::seconds(TTL_SECONDS))
                .with_caps(caps)
                .with_operators(test_operators());
            let recording = Recording { app: InProcess(app), current: current.clone() };
            crate::$module $(::$rest)+(TestApp::through(Box::new(recording), clock.clone())).await;
            stores.push((store, clock));
        )*};
    }
    // Scenarios that between them reach every route and the refusals that read a hold record,
    // a player created by a JWT, a room whose rules change, and schedules that add, move and
    // drop slots (chosen from contract/mod.rs and preview.rs; a new route needs one reaching it here: the last
    // assertion names a function no scenario reached).
    run!(
        contract::the_booking_flow_from_listing_to_booking_and_release,
        contract::a_repeated_idempotency_key_returns_the_first_hold_and_creates_nothing,
        contract::a_release_retried_after_the_slot_was_held_again_still_returns_200,
        contract::another_users_extension_is_403_and_does_not_use_up_the_owners,
        contract::a_look_up_is_for_the_owner_only_and_needs_a_user_id,
        contract::my_bookings_are_my_live_holds_and_bookings_newest_first,
        contract::an_expired_hold_taken_over_by_another_user_cannot_be_confirmed_by_its_first_owner,
        contract::extending_an_expired_hold_is_410,
        contract::cancelling_a_booking_frees_the_slot_for_anyone_at_once,
        contract::an_operators_cancellation_needs_the_operator_and_a_reason,
        contract::rooms_are_listed_with_their_name_and_capacity,
        contract::listing_an_unknown_room_returns_404,
        contract::an_operator_creates_a_room_and_replaces_it_and_anyone_reads_it,
        contract::a_change_of_the_rooms_rules_applies_to_its_slots_at_once,
        contract::the_day_sheet_shows_the_rooms_bookings_in_start_order_to_operators,
        // Paging (issue 16): every hold by its records and slots, cancelled bookings' records.
        contract::past_holds_are_listed_with_include_past_only,
        contract::the_day_sheet_comes_page_by_page_each_booking_exactly_once,
        contract::a_player_reads_a_schedule_without_closure_reasons_and_the_operator_with_them,
        contract::with_a_jwt_a_new_player_needs_no_provisioning,
        contract::a_room_moved_to_another_time_zone_has_its_free_slots_moved,
        contract::a_new_schedule_removes_free_slots_and_keeps_held_and_booked_ones,
        // The per-player caps: places taken and reused, the places' slots read, a key read at
        // the cap, an old booking's slot checked.
        contract::caps::released_and_confirmed_holds_free_their_place
            with crate::contract::caps::DEFAULT_CAPS,
        contract::caps::an_extension_does_not_take_a_second_place
            with crate::contract::caps::DEFAULT_CAPS,
        contract::caps::an_idempotent_replay_at_the_cap_answers_the_first_hold
            with crate::contract::caps::DEFAULT_CAPS,
        contract::caps::a_cancellation_frees_a_booking_place_and_a_retried_confirm_is_not_refused
            with crate::contract::caps::ONE_BOOKING,
        // The manage link: a booking read and cancelled by its reference, contacts written.
        contract::a_confirmed_booking_has_a_reference_and_a_key_that_opens_it,
        contract::a_wrong_key_another_bookings_key_and_an_unknown_reference_are_one_404,
        contract::cancelling_by_the_manage_link_follows_the_players_rules,
        contract::contact_details_are_checked_and_shown_only_to_the_owner_and_operators,
        // Calendar files: a booking's booking.ics, a room's staff feed (its key read and
        // rotated, its bookings and their slots).
        contract::a_booking_is_a_calendar_file_behind_its_key_and_its_cancellation_cancels_it,
        contract::a_rooms_feed_is_off_until_rotated_and_its_url_is_shown_only_by_the_rotation,
        contract::the_feed_is_every_upcoming_booking_with_party_and_contact_behind_its_current_key,
        // Retiring a room: a live hold released, bookings cancelled, an idempotent retry.
        contract::a_retired_room_leaves_the_listings_and_its_slots_take_no_hold,
        contract::a_room_with_upcoming_bookings_is_retired_only_with_them_cancelled_for_a_reason,
        // Webhooks: registered, listed, their deliveries read, deleted.
        contract::an_operator_registers_lists_and_deletes_a_webhook_whose_secret_is_shown_once,
        contract::an_operator_enables_a_webhook_a_410_disabled_and_only_an_operator_may,
        preview::a_preview_says_what_publishing_does_and_writes_nothing,
    );
    deliver_events(&stores[0].0, &current).await;
    // The daily job, as its function runs it: contacts past their retention erased from every
    // scenario's table (those with bookings carry contacts), the horizons moved on the last.
    *current.lock().unwrap() = Some("extend-horizon".to_owned());
    for (store, clock) in &stores {
        store
            .erase_contacts(clock.now() + Duration::days(200))
            .await
            .unwrap();
    }
    let (store, clock) = stores.pop().expect("a scenario ran");
    shared::horizon::daily(
        store.as_ref(),
        &shared::config::BookingSettings::default(),
        clock.now() + Duration::days(1),
    )
    .await
    .unwrap();
    *current.lock().unwrap() = None;

    let t = template();
    let policies: BTreeMap<String, Vec<Statement>> = functions(&t)
        .iter()
        .map(|f| (f.crate_name.clone(), statements(f)))
        .collect();
    let recorded = recorded.lock().unwrap().clone();
    let mut seen: BTreeMap<&str, BTreeSet<Request>> = BTreeMap::new();
    for (function, request) in &recorded {
        let policy = &policies[function];
        assert!(
            policy.iter().any(|s| allows(s, request)),
            "{function} sent {request:?}, which its policy does not allow"
        );
        let mut kind = request.clone();
        kind.keys = kind.keys.iter().map(|k| item_kind(k)).collect();
        seen.entry(function).or_default().insert(kind);
    }
    eprintln!("what each function sent (item kinds): {seen:#?}");
    // The functions that send nothing to the store: `$default`, and those whose operation is
    // none (`create-player` signs a token, `get-service` reads the configuration).
    let storeless = crate::template::expected_grants();
    for function in policies.keys() {
        let sends_nothing = function == DEFAULT_ROUTE_FUNCTION
            || storeless.get(function.as_str()).is_some_and(Vec::is_empty);
        if sends_nothing {
            assert!(!seen.contains_key(function.as_str()), "it opens no store");
        } else {
            assert!(
                seen.contains_key(function.as_str()),
                "{function}: no request observed; a scenario reaching it is missing"
            );
        }
    }
}

/// A partition key's item kind: `SLOT#…` → `SLOT#`, `ROOMS` as it is.
fn item_kind(key: &str) -> String {
    match key.split_once('#') {
        Some((kind, _)) => format!("{kind}#"),
        None => key.to_owned(),
    }
}

/// `deliver-events`, as it runs on a stream batch and on the minute's tick, over a scenario's
/// table with booking events: two webhooks made first (not recorded), on a loopback endpoint that
/// answers `/gone` with 410, so a webhook is disabled and its deliveries given up too.
async fn deliver_events(
    store: &Arc<shared::store::dynamo::DynamoStore>,
    current: &Arc<Mutex<Option<String>>>,
) {
    use shared::delivery::{Backoff, Deliverer, invocation, webhook::WebhookChannel};
    use shared::events::EventKind;
    let endpoint = gone_or_ok().await;
    for path in ["/ok", "/gone"] {
        let hook = shared::store::Webhook {
            id: format!("wh_{}", uuid::Uuid::new_v4().simple()),
            url: format!("{endpoint}{path}"),
            events: vec![EventKind::Confirmed, EventKind::Cancelled],
            secret: shared::delivery::signing::new_secret().unwrap(),
            created_at: chrono::Utc::now(),
            disabled: false,
        };
        shared::store::Webhooks::create_webhook(store.as_ref(), &hook, None)
            .await
            .unwrap();
    }
    let pending = shared::store::Outbox::undispatched_events(store.as_ref(), 10)
        .await
        .unwrap();
    assert!(!pending.is_empty(), "the scenario booked");
    let records: Vec<Json> = pending
        .iter()
        .enumerate()
        .map(|(n, event)| {
            serde_json::json!({
                "eventName": "INSERT",
                "dynamodb": {
                    "Keys": { "pk": { "S": format!("EVENT#{}", event.id) }, "sk": { "S": "EVENT" } },
                    "SequenceNumber": format!("{n:021}")
                }
            })
        })
        .collect();
    let deliverer = Deliverer {
        store: store.clone(),
        channels: vec![Arc::new(WebhookChannel::new(true).unwrap())],
        backoff: Backoff(vec![1]),
    };
    let deadline = std::time::SystemTime::now() + std::time::Duration::from_secs(60);
    *current.lock().unwrap() = Some("deliver-events".to_owned());
    for payload in [
        serde_json::json!({ "Records": records }),
        serde_json::json!({ "source": "aws.events", "detail-type": "Scheduled Event" }),
    ] {
        invocation::invoke(&deliverer, &payload, deadline, chrono::Utc::now)
            .await
            .unwrap();
    }
    *current.lock().unwrap() = None;
}

/// A webhook endpoint on loopback: `410 Gone` on `/gone…`, `204` on anything else.
async fn gone_or_ok() -> String {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut reader = BufReader::new(stream);
                let mut line = String::new();
                let _ = reader.read_line(&mut line).await;
                let gone = line
                    .split(' ')
                    .nth(1)
                    .is_some_and(|p| p.starts_with("/gone"));
                let mut length = 0;
                loop {
                    let mut header = String::new();
                    if reader.read_line(&mut header).await.unwrap_or(0) == 0 || header == "\r\n" {
                        break;
                    }
                    if let Some(value) = header.to_ascii_lowercase().strip_prefix("content-length:")
                    {
                        length = value.trim().parse().unwrap_or(0);
                    }
                }
                let mut body = vec![0; length];
                let _ = reader.read_exact(&mut body).await;
                let status = if gone { "410 Gone" } else { "204 No Content" };
                let answer =
                    format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
                let _ = reader.get_mut().write_all(answer.as_bytes()).await;
            });
        }
    });
    format!("http://{addr}")
}
