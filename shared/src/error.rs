//! The one error type of a request. It knows nothing of HTTP: `http::response` is the one place
//! where it becomes a status and a JSON body. The domain's own refusals ([`Refusal`], [`Invalid`])
//! convert into it, so `?` carries them up unchanged.

use crate::domain::{Invalid, Refusal, echo_within};

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
    /// The local server's body deadline (`BODY_TIMEOUT_SECONDS`) passed before the body was in.
    #[error("The request body did not arrive in time.")]
    BodyTimeout,
    #[error("Room not found.")]
    RoomNotFound,
    /// `PUT /rooms/{room_id}` of a retired room: its id stays taken (its bookings keep naming it).
    #[error("This room is retired; its id cannot be used again.")]
    RoomArchived,
    /// `DELETE /rooms/{room_id}` of a room with upcoming bookings, without `cancel_bookings=true`.
    #[error(
        "This room has {count} upcoming booking(s); retire it with cancel_bookings=true and a \
         reason to cancel them."
    )]
    RoomHasBookings { count: usize },
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
    /// The authenticated caller (a JWT's `sub`, or a player's token) is not the `user_id` the
    /// request names.
    #[error("user_id does not match the authenticated caller.")]
    IdentityMismatch,
    /// Expired, released (for confirm) or unknown hold.
    #[error("Hold not found or expired.")]
    HoldGone,
    /// Release of a hold that was confirmed: a booking is not released by this call.
    #[error("Hold is confirmed; a booking cannot be released.")]
    HoldConfirmed,
    /// Extension of a released hold.
    #[error("Hold is released; it cannot be extended.")]
    HoldReleased,
    /// Cancellation of a hold that is not a confirmed booking.
    #[error("Only a confirmed booking can be cancelled.")]
    HoldNotConfirmed,
    /// The hold's one extension is used up.
    #[error("This hold has already been extended once.")]
    ExtensionUsed,
    /// The slot has started: no hold, extension, confirmation or cancellation any more.
    #[error("The slot has already started.")]
    SlotStarted,
    /// Cancellation closer to the slot's start than the cut-off allows.
    #[error("Too close to the start to cancel.")]
    CancelCutoff,
    /// A hold on a slot that starts sooner than its room's minimum notice.
    #[error("This game starts too soon to be booked: the room needs more notice.")]
    TooLateToBook,
    /// A look-up of a hold that does not exist (or whose record is gone).
    #[error("Hold not found.")]
    HoldNotFound,
    /// The `Idempotency-Key` was used with another request body.
    #[error("This Idempotency-Key was used with another request body.")]
    IdempotencyKeyReused,
    /// The first request with this `Idempotency-Key` is still being processed.
    #[error("A request with this Idempotency-Key is still in progress; retry shortly.")]
    IdempotencyKeyInUse,
    /// An operator route without credentials, or (`guest` and `jwt` modes) a player route
    /// without a player's token.
    #[error("This route needs credentials (Authorization: Bearer).")]
    Unauthenticated,
    /// A bearer token the route does not accept — none of the operator tokens, a player's token
    /// that is forged, expired or not of this route's kind (RFC 6750 `invalid_token`): 401 like
    /// a missing one, so a guess learns nothing more than "not
    /// accepted", and the local server's `"auth"` limit counts it.
    #[error("This bearer token is not accepted here.")]
    InvalidToken,
    /// An operator route with credentials that are proven but not an operator's (a JWT without
    /// the operator scope), or any request to one when no operator is configured.
    #[error("Only an operator may do this.")]
    OperatorOnly,
    /// A room without a stored schedule.
    #[error("This room has no schedule.")]
    ScheduleNotFound,
    /// The client's address has spent its budget (the local server's rate limits); it may try
    /// again after `retry_after_seconds` (at least 1).
    #[error("Too many requests from this address; retry after the time in Retry-After.")]
    RateLimited { retry_after_seconds: u64 },
    /// The player has `MAX_LIVE_HOLDS_PER_PLAYER` live holds already; their earliest live hold
    /// expires in `retry_after_seconds` (at least 1).
    #[error(
        "You have as many live holds as a player may have; confirm or release one, or wait for \
         one to expire (Retry-After)."
    )]
    HoldLimit { retry_after_seconds: u64 },
    /// The player has `MAX_UPCOMING_BOOKINGS_PER_PLAYER` upcoming bookings already; the hold
    /// stays a hold.
    #[error(
        "You have as many upcoming bookings as a player may have; the hold is still yours until \
         it expires."
    )]
    BookingLimit,
    /// `GET /bookings/{reference}` or its cancel with a missing or wrong manage key, or an
    /// unknown reference: one answer for all three, so nobody learns that a reference exists.
    #[error("Booking not found.")]
    BookingNotFound,
    /// `GET /rooms/{room_id}/calendar.ics` without the feed's current key (missing, wrong,
    /// rotated away), for a room without a feed, or for an unknown room: one answer for all.
    #[error("Calendar feed not found.")]
    CalendarFeedNotFound,
    /// An unknown webhook id.
    #[error("Webhook not found.")]
    WebhookNotFound,
    /// A confirm without `contact` where the service asks for one (`PLAYER_AUTH=guest`).
    #[error("A booking needs contact details here: send `contact` with `name` and `email`.")]
    ContactRequired,
    /// The store is unreachable or throttled after retries. The payload is for the log only.
    #[error("Service temporarily unavailable, retry shortly.")]
    Unavailable(String),
    /// Anything else unexpected. The payload is for the log only.
    #[error("Internal error.")]
    Internal(String),
    /// A publication interrupted after the schedule was saved (DynamoDB, whose publication is
    /// many writes): some slots are made or removed, others not yet. Publishing again, or the
    /// daily horizon run, completes it. The payload is for the log only.
    #[error(
        "The schedule is saved, but publishing it was interrupted before all of its slots were \
         made or removed. Publishing it again completes it (so does the daily horizon run); \
         retry shortly."
    )]
    ScheduleIncomplete(String),
}

impl Error {
    /// The 422 of a request body that did not read as the route's JSON: serde's sentence, with
    /// every piece of the client's text in it cut to [`MAX_ECHO_CHARS`](crate::domain::MAX_ECHO_CHARS)
    /// characters ([`echo_within`]).
    pub fn invalid_body(error: &serde_json::Error) -> Self {
        Self::Validation(format!(
            "Invalid request body: {}.",
            echo_within(&error.to_string())
        ))
    }
}

impl From<Invalid> for Error {
    fn from(invalid: Invalid) -> Self {
        Self::Validation(invalid.0)
    }
}

impl From<Refusal> for Error {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::HoldGone => Self::HoldGone,
            Refusal::NotHoldOwner => Self::NotHoldOwner,
            Refusal::HoldConfirmed => Self::HoldConfirmed,
            Refusal::HoldReleased => Self::HoldReleased,
            Refusal::HoldNotConfirmed => Self::HoldNotConfirmed,
            Refusal::ExtensionUsed => Self::ExtensionUsed,
            Refusal::SlotStarted => Self::SlotStarted,
            Refusal::CancelCutoff => Self::CancelCutoff,
            Refusal::TooLateToBook => Self::TooLateToBook,
            refusal @ Refusal::PartySize { .. } => Self::Validation(refusal.to_string()),
            Refusal::Inconsistent(detail) => Self::Internal(detail),
        }
    }
}
