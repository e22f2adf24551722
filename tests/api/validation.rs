//! The contract's error table, row by row, through the handlers with API Gateway v2 events.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use lambda_http::http::StatusCode;
use serde_json::json;
use shared::Error;
use shared::domain::{Canceller, Hold, HoldId, Reference, Room, RoomId, SlotState, UserId};
use shared::events::{BookingEvent, EventId};
use shared::schedule::{PlannedSlot, Schedule};
use shared::store::{
    Applied, Confirmed, Created, DaySheet, HoldsAfter, HoldsPage, IdempotencyKey, ManagedBooking,
    NewBooking, NewHold, Page, Retired, SheetAfter, SheetWindow, SlotWindow, Store,
};
use shared::store::{
    Attempted, DeliveriesAfter, DeliveriesPage, Delivery, Outbox, Target, Webhook, Webhooks,
    WebhooksPage,
};

use crate::harness::{Event, TestApp};

async fn assert_422(t: &TestApp, event: Event) -> String {
    let response = t.send(event).await;
    assert_eq!(
        response.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{response:?}"
    );
    assert_eq!(response.error_code(), "VALIDATION_ERROR");
    response.body["message"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn create_without_a_body_returns_422() {
    let t = TestApp::sqlite().await;
    let message = assert_422(&t, Event::post("/holds", json!({})).without_body()).await;
    assert!(message.contains("body is required"), "{message}");
}

#[tokio::test]
async fn create_with_a_body_that_is_not_json_returns_422() {
    let t = TestApp::sqlite().await;
    assert_422(
        &t,
        Event::post_raw("/holds", b"slot_id=s-1&user_id=u-demo".to_vec()),
    )
    .await;
}

#[tokio::test]
async fn create_with_a_missing_field_returns_422_naming_it() {
    let t = TestApp::sqlite().await;
    let message = assert_422(&t, Event::post("/holds", json!({ "slot_id": "s-1" }))).await;
    assert!(message.contains("user_id"), "{message}");
}

#[tokio::test]
async fn create_with_a_mistyped_field_returns_422() {
    let t = TestApp::sqlite().await;
    assert_422(
        &t,
        Event::post("/holds", json!({ "slot_id": 1, "user_id": "u-demo" })),
    )
    .await;
    assert_422(&t, Event::post("/holds", json!(["s-1", "u-demo"]))).await;
}

#[tokio::test]
async fn create_with_a_malformed_id_returns_422_before_any_store_call() {
    let t = TestApp::sqlite().await;
    let message = assert_422(
        &t,
        Event::post("/holds", json!({ "slot_id": "s 1", "user_id": "u-demo" })),
    )
    .await;
    assert!(message.contains("slot_id"), "{message}");
    let long = "u".repeat(65);
    assert_422(
        &t,
        Event::post("/holds", json!({ "slot_id": "s-1", "user_id": long })),
    )
    .await;
}

#[tokio::test]
async fn unknown_fields_in_the_body_are_ignored() {
    let t = TestApp::sqlite().await;
    let event = Event::post(
        "/holds",
        json!({ "slot_id": "s-1", "user_id": "u-demo", "party_size": 4 }),
    );
    assert_eq!(t.send(event).await.status, StatusCode::CREATED);
}

#[tokio::test]
async fn a_base64_body_without_content_type_is_read_as_json() {
    let t = TestApp::sqlite().await;
    let event =
        Event::post("/holds", json!({ "slot_id": "s-1", "user_id": "u-demo" })).base64(None);
    let created = t.send(event).await;
    assert_eq!(created.status, StatusCode::CREATED, "{created:?}");
    let confirm = Event::post(
        &format!(
            "/holds/{}/confirm",
            created.body["hold_id"].as_str().unwrap()
        ),
        json!({ "user_id": "u-demo" }),
    )
    .base64(Some("application/octet-stream"));
    assert_eq!(t.send(confirm).await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_body_over_64_kib_returns_413() {
    let t = TestApp::sqlite().await;
    let padding = "x".repeat(64 * 1024);
    let event = Event::post(
        "/holds",
        json!({ "slot_id": "s-1", "user_id": "u-demo", "pad": padding }),
    );
    let response = t.send(event).await;
    assert_eq!(
        (response.status, response.error_code()),
        (StatusCode::PAYLOAD_TOO_LARGE, "PAYLOAD_TOO_LARGE")
    );
}

#[tokio::test]
async fn listing_without_room_id_returns_422() {
    let t = TestApp::sqlite().await;
    let message = assert_422(&t, Event::get("/slots?user_id=u-demo")).await;
    assert!(message.contains("room_id"), "{message}");
}

#[tokio::test]
async fn listing_with_a_malformed_room_or_user_id_returns_422() {
    let t = TestApp::sqlite().await;
    assert_422(&t, Event::get("/slots?room_id=r%2F101")).await;
    assert_422(&t, Event::get("/slots?room_id=r-101&user_id=")).await;
}

#[tokio::test]
async fn confirm_with_a_hold_id_that_is_not_a_uuid_returns_422() {
    let t = TestApp::sqlite().await;
    let message = assert_422(
        &t,
        Event::post("/holds/h-1/confirm", json!({ "user_id": "u-demo" })),
    )
    .await;
    assert!(message.contains("hold_id"), "{message}");
}

#[tokio::test]
async fn confirm_and_release_without_user_id_return_422() {
    let t = TestApp::sqlite().await;
    let hold_id = t.hold("s-1", "u-demo").await;
    for action in ["confirm", "release"] {
        let message = assert_422(
            &t,
            Event::post(&format!("/holds/{hold_id}/{action}"), json!({})),
        )
        .await;
        assert!(message.contains("user_id"), "{action}: {message}");
    }
    assert_eq!(
        t.status_of("r-101", "s-1", Some("u-demo")).await,
        "HELD_BY_ME"
    );
}

/// A store that fails every call the way a broken backend would.
struct FailingStore(fn() -> Error);

#[async_trait]
impl Webhooks for FailingStore {
    async fn create_webhook(&self, _: &Webhook, _: Option<usize>) -> Result<(), Error> {
        Err((self.0)())
    }
    async fn list_webhooks(&self, _: Option<&str>, _: usize) -> Result<WebhooksPage, Error> {
        Err((self.0)())
    }
    async fn get_webhook(&self, _: &str) -> Result<Option<Webhook>, Error> {
        Err((self.0)())
    }
    async fn delete_webhook(&self, _: &str) -> Result<bool, Error> {
        Err((self.0)())
    }
    async fn disable_webhook(&self, _: &str) -> Result<(), Error> {
        Err((self.0)())
    }
    async fn enable_webhook(&self, _: &str) -> Result<Option<Webhook>, Error> {
        Err((self.0)())
    }
}

#[async_trait]
impl Outbox for FailingStore {
    async fn undispatched_events(&self, _: usize) -> Result<Vec<BookingEvent>, Error> {
        Err((self.0)())
    }
    async fn dispatch_event(
        &self,
        _: &BookingEvent,
        _: &[Target],
        _: DateTime<Utc>,
    ) -> Result<(), Error> {
        Err((self.0)())
    }
    async fn claim_deliveries(
        &self,
        _: DateTime<Utc>,
        _: DateTime<Utc>,
        _: usize,
    ) -> Result<Vec<Delivery>, Error> {
        Err((self.0)())
    }
    async fn record_attempt(
        &self,
        _: &EventId,
        _: &Target,
        _: &Attempted,
        _: DateTime<Utc>,
    ) -> Result<(), Error> {
        Err((self.0)())
    }
    async fn abandon_deliveries(&self, _: &Target) -> Result<usize, Error> {
        Err((self.0)())
    }
    async fn deliveries_to(
        &self,
        _: &Target,
        _: Option<&DeliveriesAfter>,
        _: usize,
    ) -> Result<DeliveriesPage, Error> {
        Err((self.0)())
    }
    async fn event(&self, _: &EventId) -> Result<Option<BookingEvent>, Error> {
        Err((self.0)())
    }
    async fn forget_events(&self, _: DateTime<Utc>) -> Result<usize, Error> {
        Err((self.0)())
    }
}

#[async_trait]
impl Store for FailingStore {
    async fn list_slots(
        &self,
        _: &RoomId,
        _: &SlotWindow,
        _: DateTime<Utc>,
    ) -> Result<Vec<SlotState>, Error> {
        Err((self.0)())
    }
    async fn create_hold(
        &self,
        _: &NewHold,
        _: Option<&IdempotencyKey>,
        _: DateTime<Utc>,
    ) -> Result<Created, Error> {
        Err((self.0)())
    }
    async fn confirm_booking(
        &self,
        _: HoldId,
        _: &UserId,
        _: &NewBooking,
        _: Option<u32>,
        _: DateTime<Utc>,
    ) -> Result<Confirmed, Error> {
        Err((self.0)())
    }
    async fn booking_by_reference(
        &self,
        _: &Reference,
        _: DateTime<Utc>,
    ) -> Result<Option<ManagedBooking>, Error> {
        Err((self.0)())
    }
    async fn calendar_feed(
        &self,
        _: &RoomId,
    ) -> Result<Option<shared::store::CalendarFeed>, Error> {
        Err((self.0)())
    }
    async fn rotate_calendar_feed(
        &self,
        _: &RoomId,
        _: &shared::domain::KeyDigest,
        _: DateTime<Utc>,
    ) -> Result<(), Error> {
        Err((self.0)())
    }
    async fn erase_contacts(&self, _: DateTime<Utc>) -> Result<usize, Error> {
        Err((self.0)())
    }
    async fn release_hold(&self, _: HoldId, _: &UserId, _: DateTime<Utc>) -> Result<Hold, Error> {
        Err((self.0)())
    }
    async fn extend_hold(
        &self,
        _: HoldId,
        _: &UserId,
        _: DateTime<Utc>,
        _: DateTime<Utc>,
    ) -> Result<DateTime<Utc>, Error> {
        Err((self.0)())
    }
    async fn cancel_hold(&self, _: HoldId, _: &Canceller, _: DateTime<Utc>) -> Result<(), Error> {
        Err((self.0)())
    }
    async fn room_bookings(
        &self,
        _: &RoomId,
        _: SheetWindow,
        _: &Page<SheetAfter>,
        _: DateTime<Utc>,
    ) -> Result<DaySheet, Error> {
        Err((self.0)())
    }
    async fn get_hold(&self, _: HoldId, _: DateTime<Utc>) -> Result<Option<Hold>, Error> {
        Err((self.0)())
    }
    async fn forget_idempotency_keys(&self, _: DateTime<Utc>) -> Result<usize, Error> {
        Err((self.0)())
    }
    async fn user_holds(
        &self,
        _: &UserId,
        _: &Page<HoldsAfter>,
        _: bool,
        _: DateTime<Utc>,
    ) -> Result<HoldsPage, Error> {
        Err((self.0)())
    }
    async fn list_rooms(&self) -> Result<Vec<Room>, Error> {
        Err((self.0)())
    }
    async fn get_room(&self, _: &RoomId) -> Result<Option<Room>, Error> {
        Err((self.0)())
    }
    async fn put_room(&self, _: &Room, _: Option<usize>, _: DateTime<Utc>) -> Result<bool, Error> {
        Err((self.0)())
    }
    async fn retire_room(
        &self,
        _: &RoomId,
        _: Option<&Canceller>,
        _: DateTime<Utc>,
    ) -> Result<Retired, Error> {
        Err((self.0)())
    }
    async fn get_schedule(&self, _: &RoomId) -> Result<Option<Schedule>, Error> {
        Err((self.0)())
    }
    async fn apply_schedule(
        &self,
        _: &Room,
        _: &Schedule,
        _: &[PlannedSlot],
        _: DateTime<Utc>,
        _: DateTime<Utc>,
    ) -> Result<Applied, Error> {
        Err((self.0)())
    }
}

#[tokio::test]
async fn an_unreachable_store_returns_503_with_retry_after_and_no_internals() {
    let t = TestApp::with_store(Arc::new(FailingStore(|| {
        Error::Unavailable("dial tcp 10.0.0.7:443: connection refused".into())
    })));
    let response = t.get("/slots?room_id=r-101").await;
    assert_eq!(response.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.headers["retry-after"], "1");
    assert_eq!(response.error_code(), "SERVICE_UNAVAILABLE");
    assert!(!response.body.to_string().contains("10.0.0.7"));
}

#[tokio::test]
async fn an_unexpected_failure_returns_500_without_internals_in_the_body() {
    let t = TestApp::with_store(Arc::new(FailingStore(|| {
        Error::Internal("SQLITE_CORRUPT at page 7 of /var/lib/secret.db".into())
    })));
    let response = t.create_hold("s-1", "u-demo").await;
    assert_eq!(response.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        response.body,
        json!({ "error": "INTERNAL_ERROR", "message": "Internal error." })
    );
}

/// `shared::http::unmatched`, the `$default` route's handler, on an API Gateway v2 event.
fn unmatched(event: serde_json::Value) -> crate::harness::Reply {
    let request = lambda_http::request::from_str(&event.to_string()).unwrap();
    let (parts, body) = shared::http::unmatched(&request).into_parts();
    crate::harness::reply(parts.status, parts.headers, body.as_ref(), "$default")
}

#[test]
fn the_default_route_answers_404_for_an_unknown_path_and_405_for_another_method() {
    use lambda_http::http::Method;
    let answer = unmatched(Event::get("/nope").to_json());
    assert_eq!(answer.status, StatusCode::NOT_FOUND, "{answer:?}");
    assert_eq!(answer.error_code(), "ROUTE_NOT_FOUND");

    for (method, path) in [
        (Method::DELETE, "/slots"),
        (Method::GET, "/holds"),
        (
            Method::PUT,
            "/holds/3f0c2a9e-6b1d-4c8e-9a57-0d2b6f4e1c33/release",
        ),
    ] {
        let mut event = Event::get(path);
        event.method = method;
        let answer = unmatched(event.to_json());
        assert_eq!(answer.status, StatusCode::METHOD_NOT_ALLOWED, "{answer:?}");
        assert_eq!(answer.error_code(), "METHOD_NOT_ALLOWED");
    }

    // A route's own method never reaches `$default` on AWS; if it did, it is not served here.
    let answer = unmatched(Event::get("/slots?room_id=r-101").to_json());
    assert_eq!(answer.status, StatusCode::NOT_FOUND, "{answer:?}");
    assert_eq!(answer.error_code(), "ROUTE_NOT_FOUND");
}

#[test]
fn the_default_route_strips_a_named_stage_but_not_a_look_alike() {
    // The events carry the named stage `test` in `rawPath` (`/test/slots`).
    let mut event = Event::get("/slots").to_json();
    event["requestContext"]["http"]["method"] = json!("PATCH");
    assert_eq!(
        unmatched(event.clone()).error_code(),
        "METHOD_NOT_ALLOWED",
        "{event}"
    );
    // `$default` stage: no prefix to strip.
    event["rawPath"] = json!("/slots");
    event["requestContext"]["stage"] = json!("$default");
    assert_eq!(unmatched(event.clone()).error_code(), "METHOD_NOT_ALLOWED");
    // A first segment that merely starts with the stage's name is part of the path.
    let mut event = Event::get("/slots").to_json();
    event["rawPath"] = json!("/testing/slots");
    event["requestContext"]["http"]["method"] = json!("PATCH");
    assert_eq!(unmatched(event).error_code(), "ROUTE_NOT_FOUND");
    // The stage's root.
    let mut event = Event::get("/").to_json();
    event["rawPath"] = json!("/test");
    assert_eq!(unmatched(event).error_code(), "ROUTE_NOT_FOUND");
}

#[tokio::test]
async fn with_no_operator_configured_operator_routes_answer_403_whatever_is_sent() {
    let seeded =
        crate::harness::seeded(crate::harness::StoreKind::Sqlite, chrono::Utc::now(), &[]).await;
    // The app as a deployment without OPERATOR_TOKEN or OPERATOR_SCOPE builds it.
    let t = TestApp::with_store(seeded.store.clone());
    let body = json!({ "name": "X", "time_zone": "UTC", "min_players": 1, "max_players": 2, "duration_minutes": 30 });
    for event in [
        Event::with_json(lambda_http::http::Method::PUT, "/rooms/r-x", body.clone()),
        Event::with_json(lambda_http::http::Method::PUT, "/rooms/r-x", body.clone())
            .bearer(crate::harness::OPERATOR_TOKEN),
        Event::with_json(lambda_http::http::Method::PUT, "/rooms/r-x", body.clone())
            .authenticated_as("u-staff")
            .claim("scope", crate::harness::OPERATOR_SCOPE),
    ] {
        let answer = t.send(event).await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{answer:?}");
        assert_eq!(answer.error_code(), "OPERATOR_ONLY");
    }
}

/// The longest run of `c` in `text`.
fn longest_run(text: &str, c: char) -> usize {
    text.split(|x| x != c)
        .map(|run| run.chars().count())
        .max()
        .unwrap_or(0)
}

#[tokio::test]
async fn a_ten_kilobyte_bad_value_is_echoed_as_at_most_64_characters() {
    use lambda_http::http::Method;
    let t = TestApp::sqlite().await;
    let long = |c: char| c.to_string().repeat(10_000);
    let room = |time_zone: String| json!({ "name": "X", "time_zone": time_zone, "min_players": 1, "max_players": 2, "duration_minutes": 30 });
    let week = |days: serde_json::Value, starts: serde_json::Value| json!({ "weekly": [{ "days": days, "starts": starts }] });
    let mut unknown_field = week(json!(["MON"]), json!(["10:00"]));
    unknown_field[long('f')] = json!(1);
    let mut bad_date = week(json!(["MON"]), json!(["10:00"]));
    bad_date["closed"] = json!([{ "from": long('1'), "to": "2026-12-24" }]);
    let sent = [
        ('z', Method::PUT, "/rooms/r-x", room(long('z'))),
        (
            'p',
            Method::POST,
            "/holds",
            json!({ "slot_id": "s-1", "user_id": "u-demo", "players": long('p') }),
        ),
        ('f', Method::PUT, "/rooms/r-101/schedule", unknown_field),
        (
            'D',
            Method::PUT,
            "/rooms/r-101/schedule",
            week(json!([long('D')]), json!(["10:00"])),
        ),
        (
            '9',
            Method::POST,
            "/rooms/r-101/schedule/preview",
            week(json!(["MON"]), json!([long('9')])),
        ),
        ('1', Method::PUT, "/rooms/r-101/schedule", bad_date),
        ('"', Method::PUT, "/rooms/r-x", room(long('"'))),
    ];
    for (filler, method, path, body) in sent {
        let event = Event::with_json(method, path, body);
        // The operator's token only where it is taken: a player's route refuses it (401).
        let event = if path == "/holds" {
            event
        } else {
            event.bearer(crate::harness::OPERATOR_TOKEN)
        };
        let message = assert_422(&t, event).await;
        assert_eq!(longest_run(&message, filler), 64, "{path}: {message}");
        assert!(
            message.contains('…') && message.chars().count() < 250,
            "{message}"
        );
    }
}

#[tokio::test]
async fn a_short_bad_value_is_echoed_whole() {
    let t = TestApp::sqlite().await;
    let body = json!({ "name": "X", "time_zone": "Mars/Olympus_Mons", "min_players": 1, "max_players": 2, "duration_minutes": 30 });
    let event = Event::with_json(lambda_http::http::Method::PUT, "/rooms/r-x", body)
        .bearer(crate::harness::OPERATOR_TOKEN);
    let message = assert_422(&t, event).await;
    assert!(message.ends_with("got `Mars/Olympus_Mons`."), "{message}");
}

/// Asserts the two headers of every JSON answer on `reply`.
fn assert_json_headers(what: &str, reply: &crate::harness::Reply) {
    assert_eq!(
        (
            reply.header("x-content-type-options"),
            reply.header("cache-control")
        ),
        (Some("nosniff"), Some("no-store")),
        "{what}: {reply:?}"
    );
}

#[tokio::test]
async fn the_default_routes_answers_and_a_failing_stores_carry_nosniff_and_no_store() {
    assert_json_headers("404", &unmatched(Event::get("/nope").to_json()));
    let mut wrong_method = Event::get("/slots");
    wrong_method.method = lambda_http::http::Method::DELETE;
    assert_json_headers("405", &unmatched(wrong_method.to_json()));
    let down = TestApp::with_store(Arc::new(FailingStore(|| Error::Unavailable("down".into()))));
    let unavailable = down.get("/slots?room_id=r-101").await;
    assert_eq!(unavailable.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_json_headers("503", &unavailable);
    let broken = TestApp::with_store(Arc::new(FailingStore(|| Error::Internal("bug".into()))));
    let internal = broken.create_hold("s-1", "u-demo").await;
    assert_eq!(internal.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_json_headers("500", &internal);
}
