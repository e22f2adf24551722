//! The one place an [`Error`] becomes an HTTP status and a JSON body, and the JSON response
//! builder every handler uses, with the headers every JSON answer carries ([`JSON_HEADERS`]).

use lambda_http::http::header::CONTENT_TYPE;
use lambda_http::http::{HeaderValue, StatusCode};
use lambda_http::{Body, Response};
use serde::Serialize;

use crate::error::Error;

/// Seconds a client is asked to wait after a 503.
pub const RETRY_AFTER_SECONDS: u32 = 1;

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    message: String,
}

/// The HTTP status and the stable machine code of `error`.
pub fn status_and_code(error: &Error) -> (StatusCode, &'static str) {
    match error {
        Error::Validation(_) => (StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR"),
        Error::PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "PAYLOAD_TOO_LARGE"),
        Error::BodyTimeout => (StatusCode::REQUEST_TIMEOUT, "REQUEST_TIMEOUT"),
        Error::RoomNotFound => (StatusCode::NOT_FOUND, "ROOM_NOT_FOUND"),
        Error::RoomArchived => (StatusCode::CONFLICT, "ROOM_ARCHIVED"),
        Error::RoomHasBookings { .. } => (StatusCode::CONFLICT, "ROOM_HAS_BOOKINGS"),
        Error::WebhookNotFound => (StatusCode::NOT_FOUND, "WEBHOOK_NOT_FOUND"),
        Error::SlotNotFound => (StatusCode::NOT_FOUND, "SLOT_NOT_FOUND"),
        Error::UserNotFound => (StatusCode::NOT_FOUND, "USER_NOT_FOUND"),
        Error::RouteNotFound => (StatusCode::NOT_FOUND, "ROUTE_NOT_FOUND"),
        Error::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "METHOD_NOT_ALLOWED"),
        Error::SlotUnavailable => (StatusCode::CONFLICT, "SLOT_UNAVAILABLE"),
        Error::NotHoldOwner => (StatusCode::FORBIDDEN, "NOT_HOLD_OWNER"),
        Error::IdentityMismatch => (StatusCode::FORBIDDEN, "IDENTITY_MISMATCH"),
        Error::HoldGone => (StatusCode::GONE, "HOLD_GONE"),
        Error::HoldConfirmed => (StatusCode::CONFLICT, "HOLD_CONFIRMED"),
        Error::HoldReleased => (StatusCode::CONFLICT, "HOLD_RELEASED"),
        Error::HoldNotConfirmed => (StatusCode::CONFLICT, "HOLD_NOT_CONFIRMED"),
        Error::ExtensionUsed => (StatusCode::CONFLICT, "EXTENSION_USED"),
        Error::SlotStarted => (StatusCode::CONFLICT, "SLOT_STARTED"),
        Error::CancelCutoff => (StatusCode::CONFLICT, "CANCEL_CUTOFF"),
        Error::TooLateToBook => (StatusCode::CONFLICT, "TOO_LATE_TO_BOOK"),
        Error::HoldNotFound => (StatusCode::NOT_FOUND, "HOLD_NOT_FOUND"),
        Error::IdempotencyKeyReused => (StatusCode::UNPROCESSABLE_ENTITY, "IDEMPOTENCY_KEY_REUSED"),
        Error::IdempotencyKeyInUse => (StatusCode::CONFLICT, "IDEMPOTENCY_KEY_IN_USE"),
        Error::Unauthenticated | Error::InvalidToken => {
            (StatusCode::UNAUTHORIZED, "UNAUTHENTICATED")
        }
        Error::OperatorOnly => (StatusCode::FORBIDDEN, "OPERATOR_ONLY"),
        Error::ScheduleNotFound => (StatusCode::NOT_FOUND, "SCHEDULE_NOT_FOUND"),
        Error::RateLimited { .. } => (StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED"),
        Error::HoldLimit { .. } => (StatusCode::TOO_MANY_REQUESTS, "HOLD_LIMIT"),
        Error::BookingLimit => (StatusCode::CONFLICT, "BOOKING_LIMIT"),
        Error::BookingNotFound => (StatusCode::NOT_FOUND, "BOOKING_NOT_FOUND"),
        Error::CalendarFeedNotFound => (StatusCode::NOT_FOUND, "CALENDAR_FEED_NOT_FOUND"),
        Error::ContactRequired => (StatusCode::UNPROCESSABLE_ENTITY, "CONTACT_REQUIRED"),
        Error::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "SERVICE_UNAVAILABLE"),
        Error::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL_ERROR"),
        Error::ScheduleIncomplete(_) => (StatusCode::SERVICE_UNAVAILABLE, "SCHEDULE_INCOMPLETE"),
    }
}

/// The response for `error`: the JSON body `{"error", "message"}`, `Retry-After` on 503 and on
/// 429 (the whole seconds the limiter, or the player's earliest live hold, gave, at least 1),
/// `WWW-Authenticate: Bearer` on 401 (with `error="invalid_token"` when a token came and was not
/// accepted).
/// Server-side failures are logged here, with the request id, and their details never reach the
/// body.
pub fn error_response(error: Error, request_id: &str) -> Response<Body> {
    let (status, code) = status_and_code(&error);
    match &error {
        Error::Unavailable(cause) => tracing::warn!(request_id, cause, "store unavailable"),
        Error::Internal(cause) => tracing::error!(request_id, cause, "internal error"),
        Error::ScheduleIncomplete(cause) => {
            tracing::warn!(request_id, cause, "schedule saved, publication interrupted");
        }
        _ => {}
    }
    let body = ErrorBody {
        error: code,
        message: error.to_string(),
    };
    let mut response = json_response(status, &body);
    if status == StatusCode::SERVICE_UNAVAILABLE {
        response
            .headers_mut()
            .insert("retry-after", RETRY_AFTER_SECONDS.into());
    }
    if let Error::RateLimited {
        retry_after_seconds,
    }
    | Error::HoldLimit {
        retry_after_seconds,
    } = error
    {
        response
            .headers_mut()
            .insert("retry-after", retry_after_seconds.max(1).into());
    }
    if status == StatusCode::UNAUTHORIZED {
        // RFC 6750 §3: no error attribute when no credentials came; `invalid_token` when they did.
        let challenge = match error {
            Error::InvalidToken => r#"Bearer error="invalid_token""#,
            _ => "Bearer",
        };
        response
            .headers_mut()
            .insert("www-authenticate", HeaderValue::from_static(challenge));
    }
    response
}

/// The headers of every JSON answer, success or error: browsers must not sniff it as another
/// type, and no cache (browser or proxy) may keep it: an answer is one caller's view at one
/// instant (holds, expiry, a schedule with or without its closures' reasons).
pub const JSON_HEADERS: &[(&str, &str)] = &[
    ("x-content-type-options", "nosniff"),
    ("cache-control", "no-store"),
];

/// A calendar file (RFC 5545): `Content-Type: text/calendar; charset=utf-8`, offered as the
/// download `filename` if given (a subscribed feed is not a download), with [`JSON_HEADERS`]
/// (it carries one booking or a room's bookings: no cache may keep it).
pub fn calendar_response(text: String, filename: Option<&str>) -> Response<Body> {
    let mut response = Response::new(Body::Text(text));
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/calendar; charset=utf-8"),
    );
    // The name is ours (a constant), never the caller's: no quoting to get wrong.
    if let Some(filename) = filename
        && let Ok(disposition) =
            HeaderValue::from_str(&format!("attachment; filename=\"{filename}\""))
    {
        headers.insert("content-disposition", disposition);
    }
    for (name, value) in JSON_HEADERS {
        headers.insert(*name, HeaderValue::from_static(value));
    }
    response
}

/// A JSON response with `Content-Type: application/json` and [`JSON_HEADERS`].
pub fn json_response<T: Serialize>(status: StatusCode, value: &T) -> Response<Body> {
    let (status, body) = match serde_json::to_string(value) {
        Ok(body) => (status, body),
        Err(err) => {
            tracing::error!(%err, "response serialisation failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                r#"{"error":"INTERNAL_ERROR","message":"Internal error."}"#.to_owned(),
            )
        }
    };
    let mut response = Response::new(Body::Text(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    for (name, value) in JSON_HEADERS {
        headers.insert(*name, HeaderValue::from_static(value));
    }
    response
}
