//! The one error type, and the one place where it becomes an HTTP status and a JSON body.

use lambda_http::{Body, Response, http::StatusCode};
use serde::Serialize;

/// Everything that can go wrong while answering a request. Stores return the domain variants
/// (`SlotUnavailable`, `HoldGone`, …) for refused conditional writes, so the HTTP layer never sees
/// a storage type.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A body, field, id or query parameter the contract does not accept.
    #[error("{0}")]
    Validation(String),
    #[error("Request body is larger than 64 KiB.")]
    PayloadTooLarge,
    #[error("Room not found.")]
    RoomNotFound,
    #[error("Slot not found.")]
    SlotNotFound,
    #[error("User not found.")]
    UserNotFound,
    #[error("No route for this path.")]
    RouteNotFound,
    #[error("Method not allowed on this path.")]
    MethodNotAllowed,
    /// A live hold or a booking already exists on the slot.
    #[error("Slot is already held or booked.")]
    SlotUnavailable,
    /// The hold belongs to another user.
    #[error("Hold belongs to another user.")]
    NotHoldOwner,
    /// The authenticated caller (JWT `sub`) is not the `user_id` the request names.
    #[error("user_id does not match the authenticated caller.")]
    IdentityMismatch,
    /// Expired, released (for confirm) or unknown hold.
    #[error("Hold not found or expired.")]
    HoldGone,
    /// Release of a hold that was confirmed: a booking is not released by this call.
    #[error("Hold is confirmed; a booking cannot be released.")]
    HoldConfirmed,
    /// The store is unreachable or throttled after retries. The payload is for the log only.
    #[error("Service temporarily unavailable, retry shortly.")]
    Unavailable(String),
    /// Anything else unexpected. The payload is for the log only.
    #[error("Internal error.")]
    Internal(String),
}

/// Seconds a client is asked to wait after a 503.
pub const RETRY_AFTER_SECONDS: u32 = 1;

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    message: String,
}

impl Error {
    /// The HTTP status and the stable machine code of this error.
    pub fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            Self::Validation(_) => (StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR"),
            Self::PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "PAYLOAD_TOO_LARGE"),
            Self::RoomNotFound => (StatusCode::NOT_FOUND, "ROOM_NOT_FOUND"),
            Self::SlotNotFound => (StatusCode::NOT_FOUND, "SLOT_NOT_FOUND"),
            Self::UserNotFound => (StatusCode::NOT_FOUND, "USER_NOT_FOUND"),
            Self::RouteNotFound => (StatusCode::NOT_FOUND, "ROUTE_NOT_FOUND"),
            Self::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "METHOD_NOT_ALLOWED"),
            Self::SlotUnavailable => (StatusCode::CONFLICT, "SLOT_UNAVAILABLE"),
            Self::NotHoldOwner => (StatusCode::FORBIDDEN, "NOT_HOLD_OWNER"),
            Self::IdentityMismatch => (StatusCode::FORBIDDEN, "IDENTITY_MISMATCH"),
            Self::HoldGone => (StatusCode::GONE, "HOLD_GONE"),
            Self::HoldConfirmed => (StatusCode::CONFLICT, "HOLD_CONFIRMED"),
            Self::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "SERVICE_UNAVAILABLE"),
            Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL_ERROR"),
        }
    }

    /// The response for this error: the contract's JSON body, `Retry-After` on 503. Server-side
    /// failures are logged here, with the request id, and their details never reach the body.
    pub fn into_response(self, request_id: &str) -> Response<Body> {
        let (status, code) = self.status_and_code();
        match &self {
            Self::Unavailable(cause) => tracing::warn!(request_id, cause, "store unavailable"),
            Self::Internal(cause) => tracing::error!(request_id, cause, "internal error"),
            _ => {}
        }
        let body = ErrorBody {
            error: code,
            message: self.to_string(),
        };
        let mut response = crate::http::json_response(status, &body);
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert("retry-after", RETRY_AFTER_SECONDS.into());
        }
        response
    }
}
