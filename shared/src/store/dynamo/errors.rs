//! What an SDK error means for the API, decided by pure functions of the error's codes so that
//! each rule has a unit test without DynamoDB Local: unreachable, timed out or throttled → 503
//! (`Unavailable`); a `ValidationException` about a size or a value the request's own data made
//! (an item over 400 KB, a key too long, a number out of range, a start key outside the query)
//! → 422 ([`client_shaped`]); a create transaction's cancellation reasons → the domain's refusal;
//! anything else → 500.

use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::CancellationReason;
use serde::Deserialize;

use chrono::{DateTime, Utc};

use super::create::CreateItem;
use super::schema::{IdemItem, SlotItem, parse_item};
use crate::domain::SlotId;
use crate::error::Error;
use crate::store::{Created, IdempotencyKey, from_millis};

// ── Errors ──────────────────────────────────────────────────────────────────────────────────

/// Error codes that mean "too much traffic right now": 503 after the SDK's own retries.
const THROTTLING_CODES: &[&str] = &[
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "Throttling",
    "ThrottledException",
    "LimitExceededException",
];

/// Cancellation reason codes (per transaction item) that mean the same.
const THROTTLING_REASONS: &[&str] = &[
    "ThrottlingError",
    "ProvisionedThroughputExceeded",
    "RequestLimitExceeded",
];

const CONDITION_FAILED: &str = "ConditionalCheckFailed";
const TRANSACTION_CONFLICT: &str = "TransactionConflict";

/// Classifies an SDK error that no operation-specific rule took: unreachable, timed out or
/// throttled (after the SDK's retries) → `Unavailable` (503, `Retry-After`); anything else →
/// `Internal`. The error is turned into text only for the log, after it has been classified.
pub(super) fn sdk_error<E>(operation: &str, err: SdkError<E, HttpResponse>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let unavailable = match &err {
        SdkError::TimeoutError(_) => true,
        SdkError::DispatchFailure(failure) => !failure.is_user(),
        // A response that could not be read (e.g. the connection dropped mid-body).
        SdkError::ResponseError(_) => true,
        SdkError::ServiceError(service) => {
            service_error_is_unavailable(err.code(), service.raw().status().as_u16())
        }
        _ => false,
    };
    if let SdkError::ServiceError(_) = &err
        && let Some(sentence) = client_shaped(err.code(), err.message())
    {
        tracing::info!(operation, error = %DisplayErrorContext(&err), "refused as the client's");
        return Error::Validation(sentence.into());
    }
    let detail = format!("dynamodb {operation}: {}", DisplayErrorContext(&err));
    if unavailable {
        Error::Unavailable(detail)
    } else {
        Error::Internal(detail)
    }
}

/// The `ValidationException`s that the data of a request can cause, whatever the code did right
/// (DynamoDB's own limits on what a request carries), by the start of DynamoDB's message, each
/// with the sentence a client is answered (422): never DynamoDB's text, which names attributes.
const CLIENT_SHAPED: &[(&str, &str)] = &[
    (
        "Item size has exceeded the maximum allowed size",
        "The request makes a record larger than the store allows (400 KB); send less.",
    ),
    (
        "Item size to update has exceeded the maximum allowed size",
        "The request makes a record larger than the store allows (400 KB); send less.",
    ),
    (
        "One or more parameter values were invalid: Size of hashkey has exceeded",
        "An id or key in the request is longer than the store allows; use a shorter one.",
    ),
    (
        "One or more parameter values were invalid: Aggregated size of all range keys has exceeded",
        "An id or key in the request is longer than the store allows; use a shorter one.",
    ),
    (
        "Number overflow",
        "A number in the request is out of the range the store allows.",
    ),
    (
        "The provided starting key does not match the range key predicate",
        "The cursor does not belong to this listing's window; start the listing again.",
    ),
];

/// The sentence of a client-shaped `ValidationException` ([`CLIENT_SHAPED`]); `None` for any
/// other error (a `ValidationException` the code caused stays a 500: a bug, not the client's).
pub(super) fn client_shaped(code: Option<&str>, message: Option<&str>) -> Option<&'static str> {
    if code != Some("ValidationException") {
        return None;
    }
    let message = message?;
    CLIENT_SHAPED
        .iter()
        .find(|(start, _)| message.starts_with(start))
        .map(|(_, sentence)| *sentence)
}

/// A service error is "try again later" when DynamoDB throttled it or failed itself (5xx).
pub(super) fn service_error_is_unavailable(code: Option<&str>, http_status: u16) -> bool {
    code.is_some_and(|code| THROTTLING_CODES.contains(&code)) || (500..600).contains(&http_status)
}

fn reason_code(reasons: &[CancellationReason], index: usize) -> &str {
    reasons
        .get(index)
        .and_then(CancellationReason::code)
        .unwrap_or("None")
}

fn reason_item<T: for<'de> Deserialize<'de>>(
    reasons: &[CancellationReason],
    index: usize,
) -> Result<Option<T>, Error> {
    reasons
        .get(index)
        .and_then(CancellationReason::item)
        .filter(|item| !item.is_empty())
        .map(|item| parse_item(item.clone()))
        .transpose()
}

/// A transaction cancelled because the condition of its item `index` failed (an item's own
/// guard refused, e.g. a counter at its cap or an item that must exist).
pub(super) fn refused_at(
    err: &SdkError<TransactWriteItemsError, HttpResponse>,
    index: usize,
) -> bool {
    matches!(
        err.as_service_error(),
        Some(TransactWriteItemsError::TransactionCanceledException(c))
            if c.cancellation_reasons().get(index).and_then(|r| r.code()) == Some(CONDITION_FAILED)
    )
}

/// A transaction cancelled because another transaction was writing one of its items.
pub(super) fn is_transaction_conflict(
    err: &SdkError<TransactWriteItemsError, HttpResponse>,
) -> bool {
    matches!(
        err.as_service_error(),
        Some(TransactWriteItemsError::TransactionCanceledException(c))
            if c.cancellation_reasons().iter().any(|r| r.code() == Some(TRANSACTION_CONFLICT))
    )
}

fn describe_reasons(reasons: &[CancellationReason]) -> String {
    reasons
        .iter()
        .map(|r| r.code().unwrap_or("None"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Why the create transaction was cancelled, from its cancellation reasons (one per item, read
/// by the item's role, [`CreateItem`]; a refused slot update carries the slot as it was). In order: the slot does not exist (no item under its key, or
/// another slot's) → 404 `SlotNotFound`; the user does not exist → 404 `UserNotFound`; the slot
/// has started → 409 `SlotStarted`; it is booked or held → 409 `SlotUnavailable`; throttled or still conflicting after retries → 503; anything else
/// (e.g. a hold id already recorded, which 74 random bits make a broken invariant) → 500.
pub(super) fn create_refusal(
    reasons: &[CancellationReason],
    asked: &SlotId,
    players: Option<u32>,
    now: DateTime<Utc>,
) -> Error {
    let (user_code, slot_code, record_code) = (
        reason_code(reasons, CreateItem::User.index()),
        reason_code(reasons, CreateItem::Slot.index()),
        reason_code(reasons, CreateItem::Record.index()),
    );
    if slot_code == CONDITION_FAILED {
        let old: Option<SlotItem> = match reason_item(reasons, CreateItem::Slot.index()) {
            Ok(old) => old,
            Err(err) => return err,
        };
        // A retired room's slot is as gone as a slot that never was.
        let Some(old) = old.filter(|s| &s.slot_id == asked && s.archived_at.is_none()) else {
            return Error::SlotNotFound;
        };
        // The slot's own rules first (started, notice, party size), whoever asks, so the answer
        // does not tell a known user from an unknown one; then the user; then its occupancy.
        let checked = old.rules().and_then(|rules| {
            let start = from_millis(old.start_time)?;
            Ok(rules.check_hold(start, players, now)?)
        });
        return match checked {
            Ok(()) if user_code == CONDITION_FAILED => Error::UserNotFound,
            Ok(()) => Error::SlotUnavailable,
            Err(err) => err,
        };
    }
    if user_code == CONDITION_FAILED {
        return Error::UserNotFound;
    }
    let detail = format!(
        "dynamodb TransactWriteItems (create hold): cancelled: [{}]",
        describe_reasons(reasons)
    );
    if [user_code, slot_code, record_code]
        .iter()
        .any(|c| THROTTLING_REASONS.contains(c) || *c == TRANSACTION_CONFLICT)
    {
        Error::Unavailable(detail)
    } else {
        Error::Internal(detail)
    }
}

/// Whether a capped write lost its chosen place ([`super::leases`]) to a simultaneous request:
/// the user item's update refused while the user exists (`user_index`, whose refusal returns the
/// item as it was), the old hold's check refused (`old_index`), or a transaction still
/// conflicting after the retries. `Some(detail)` (for the log) when it did: the caller chooses
/// again.
pub(super) fn place_lost(
    reasons: &[CancellationReason],
    user_index: usize,
    old_index: Option<usize>,
) -> Option<String> {
    let user_refused = reason_code(reasons, user_index) == CONDITION_FAILED
        && reasons
            .get(user_index)
            .and_then(CancellationReason::item)
            .is_some_and(|item| !item.is_empty());
    let old_refused = old_index.is_some_and(|i| reason_code(reasons, i) == CONDITION_FAILED);
    let conflict = reasons
        .iter()
        .any(|r| r.code() == Some(TRANSACTION_CONFLICT));
    (user_refused || old_refused || conflict).then(|| describe_reasons(reasons))
}

/// The answer to a create whose idempotency key ([`CreateItem::Key`]) was refused: the key is
/// live. With the same request: the first request's hold again (`replayed`; whatever else
/// the transaction said, e.g. the slot now held by that very hold). With another request: 422.
/// Still being written by its first request (a conflict left after the retries): 409.
/// `None` when the key was not what refused.
pub(super) fn idempotent_replay(
    reasons: &[CancellationReason],
    key: &IdempotencyKey,
) -> Option<Result<Created, Error>> {
    let index = CreateItem::Key.index();
    match reason_code(reasons, index) {
        CONDITION_FAILED => {}
        TRANSACTION_CONFLICT => return Some(Err(Error::IdempotencyKeyInUse)),
        _ => return None,
    }
    let first: IdemItem = match reason_item(reasons, index) {
        Ok(Some(item)) => item,
        Ok(None) => {
            return Some(Err(Error::Internal(
                "idempotency key refused without its item".into(),
            )));
        }
        Err(err) => return Some(Err(err)),
    };
    if first.request != key.request {
        return Some(Err(Error::IdempotencyKeyReused));
    }
    Some(from_millis(first.expires_at).map(|expires_at| Created {
        id: first.hold_id,
        slot_id: first.slot_id,
        user_id: first.user_id,
        expires_at,
        replayed: true,
    }))
}

/// For a cancelled transaction whose item `index` is a guarded update returning its old item:
/// throttled or still conflicting → 503; otherwise the item as it was when its guard refused
/// (`None` when that guard did not refuse, or there was no item).
pub(super) fn transaction_refusal_item<T: for<'de> Deserialize<'de>>(
    reasons: &[CancellationReason],
    index: usize,
    operation: &str,
) -> Result<Option<T>, Error> {
    if reasons.iter().any(|r| {
        let code = r.code().unwrap_or("None");
        THROTTLING_REASONS.contains(&code) || code == TRANSACTION_CONFLICT
    }) {
        return Err(Error::Unavailable(format!(
            "dynamodb {operation}: cancelled: [{}]",
            describe_reasons(reasons)
        )));
    }
    if reason_code(reasons, index) != CONDITION_FAILED {
        return Ok(None);
    }
    reason_item(reasons, index)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use aws_sdk_dynamodb::types::AttributeValue;

    use super::*;
    use crate::store::dynamo::create::CreateItem::{Key, Record, Slot, User};

    fn reason(code: &str) -> CancellationReason {
        CancellationReason::builder().code(code).build()
    }

    /// A cancelled create transaction's reasons: each given one at its item's index, "None" for
    /// the other items (three of them, four when the key is among the given).
    fn cancelled(given: &[(CreateItem, CancellationReason)]) -> Vec<CancellationReason> {
        let items = if given.iter().any(|(role, _)| *role == Key) {
            4
        } else {
            3
        };
        let mut reasons = vec![reason("None"); items];
        for (role, given) in given {
            reasons[role.index()] = given.clone();
        }
        reasons
    }

    fn refused_slot(slot_id: &str) -> CancellationReason {
        refused_slot_starting(slot_id, 5_000)
    }

    fn refused_slot_starting(slot_id: &str, start_ms: i64) -> CancellationReason {
        let item = HashMap::from([
            ("pk".to_owned(), AttributeValue::S("SLOT#k".into())),
            ("sk".to_owned(), AttributeValue::S("SLOT".into())),
            ("gsi1pk".to_owned(), AttributeValue::S("ROOM#r".into())),
            ("gsi1sk".to_owned(), AttributeValue::S("SLOT#1".into())),
            ("slot_id".to_owned(), AttributeValue::S(slot_id.into())),
            ("room_id".to_owned(), AttributeValue::S("r-101".into())),
            (
                "start_time".to_owned(),
                AttributeValue::N(start_ms.to_string()),
            ),
            (
                "end_time".to_owned(),
                AttributeValue::N((start_ms + 1).to_string()),
            ),
            ("booked".to_owned(), AttributeValue::Bool(true)),
        ]);
        CancellationReason::builder()
            .code(CONDITION_FAILED)
            .set_item(Some(item))
            .build()
    }

    fn refusal(reasons: &[CancellationReason]) -> Error {
        create_refusal(reasons, &SlotId::parse("s-1").unwrap(), None, now())
    }

    fn now() -> DateTime<Utc> {
        from_millis(1_000).unwrap()
    }

    #[test]
    fn a_refused_slot_update_with_the_asked_slot_is_a_409() {
        let reasons = cancelled(&[(Slot, refused_slot("s-1"))]);
        assert!(matches!(refusal(&reasons), Error::SlotUnavailable));
    }

    #[test]
    fn a_refused_slot_update_of_a_started_slot_is_slot_started() {
        let reasons = cancelled(&[(Slot, refused_slot_starting("s-1", 1_000))]);
        assert!(matches!(refusal(&reasons), Error::SlotStarted));
    }

    fn refused_key(request: &str) -> CancellationReason {
        let item = HashMap::from([
            ("pk".to_owned(), AttributeValue::S("IDEM#k".into())),
            ("sk".to_owned(), AttributeValue::S("IDEM".into())),
            ("request".to_owned(), AttributeValue::S(request.into())),
            (
                "hold_id".to_owned(),
                AttributeValue::S("3f0c2a9e-6b1d-4c8e-9a57-0d2b6f4e1c33".into()),
            ),
            ("slot_id".to_owned(), AttributeValue::S("s-1".into())),
            ("user_id".to_owned(), AttributeValue::S("u-demo".into())),
            ("expires_at".to_owned(), AttributeValue::N("300000".into())),
            ("created_at".to_owned(), AttributeValue::N("0".into())),
            ("ttl".to_owned(), AttributeValue::N("86400".into())),
        ]);
        CancellationReason::builder()
            .code(CONDITION_FAILED)
            .set_item(Some(item))
            .build()
    }

    #[test]
    fn a_live_idempotency_key_replays_its_first_hold_or_refuses_another_request() {
        let key = IdempotencyKey {
            key: "k".into(),
            request: "s-1\nu-demo".into(),
        };
        let held_by_itself = cancelled(&[
            (Slot, refused_slot("s-1")),
            (Key, refused_key("s-1\nu-demo")),
        ]);
        let replayed = idempotent_replay(&held_by_itself, &key).unwrap().unwrap();
        assert!(replayed.replayed);
        assert_eq!(replayed.slot_id.as_str(), "s-1");
        let other = cancelled(&[(Key, refused_key("s-2\nu-demo"))]);
        assert!(matches!(
            idempotent_replay(&other, &key),
            Some(Err(Error::IdempotencyKeyReused))
        ));
        let in_flight = cancelled(&[
            (Slot, reason(TRANSACTION_CONFLICT)),
            (Key, reason(TRANSACTION_CONFLICT)),
        ]);
        assert!(matches!(
            idempotent_replay(&in_flight, &key),
            Some(Err(Error::IdempotencyKeyInUse))
        ));
        let not_the_key = cancelled(&[(Slot, refused_slot("s-1")), (Key, reason("None"))]);
        assert!(idempotent_replay(&not_the_key, &key).is_none());
    }

    #[test]
    fn a_refused_slot_update_without_an_item_or_with_another_slots_item_is_a_404() {
        let missing = cancelled(&[(Slot, reason(CONDITION_FAILED))]);
        assert!(matches!(refusal(&missing), Error::SlotNotFound));
        let collision = cancelled(&[(Slot, refused_slot("s-other"))]);
        assert!(matches!(refusal(&collision), Error::SlotNotFound));
    }

    #[test]
    fn an_unknown_slot_is_told_before_an_unknown_user_and_a_user_before_a_held_slot() {
        let both = cancelled(&[
            (User, reason(CONDITION_FAILED)),
            (Slot, reason(CONDITION_FAILED)),
        ]);
        assert!(matches!(refusal(&both), Error::SlotNotFound));
        let user_and_held = cancelled(&[
            (User, reason(CONDITION_FAILED)),
            (Slot, refused_slot("s-1")),
        ]);
        assert!(matches!(refusal(&user_and_held), Error::UserNotFound));
    }

    #[test]
    fn throttling_and_lasting_conflicts_are_503_and_anything_else_is_500() {
        for code in [
            "ThrottlingError",
            "ProvisionedThroughputExceeded",
            TRANSACTION_CONFLICT,
        ] {
            let reasons = cancelled(&[(Slot, reason(code))]);
            assert!(matches!(refusal(&reasons), Error::Unavailable(_)), "{code}");
        }
        let duplicate_record = cancelled(&[(Record, reason(CONDITION_FAILED))]);
        assert!(matches!(refusal(&duplicate_record), Error::Internal(_)));
        assert!(matches!(refusal(&[]), Error::Internal(_)));
    }

    #[test]
    fn validation_exceptions_about_the_requests_own_sizes_are_the_clients_and_others_are_not() {
        let validation = Some("ValidationException");
        for message in [
            "Item size has exceeded the maximum allowed size",
            "Item size to update has exceeded the maximum allowed size",
            "One or more parameter values were invalid: Size of hashkey has exceeded the maximum \
             size limit of 2048 bytes",
            "One or more parameter values were invalid: Aggregated size of all range keys has \
             exceeded the size limit of 1024 bytes",
            "Number overflow. Attempting to store a number with magnitude larger than supported \
             range",
            "The provided starting key does not match the range key predicate",
        ] {
            let sentence = client_shaped(validation, Some(message));
            assert!(
                sentence.is_some_and(|s| !s.contains("hashkey") && !s.contains("predicate")),
                "{message}"
            );
        }
        for (code, message) in [
            (
                validation,
                Some("Invalid UpdateExpression: Syntax error; token: \"SET\""),
            ),
            (
                validation,
                Some("ExpressionAttributeValues contains invalid key: Syntax error"),
            ),
            (validation, None),
            (
                Some("ConditionalCheckFailedException"),
                Some("Item size has exceeded the maximum allowed size"),
            ),
        ] {
            assert_eq!(client_shaped(code, message), None, "{message:?}");
        }
    }

    #[test]
    fn service_errors_are_unavailable_when_throttled_or_failing_on_the_server() {
        assert!(service_error_is_unavailable(
            Some("ProvisionedThroughputExceededException"),
            400
        ));
        assert!(service_error_is_unavailable(
            Some("InternalServerError"),
            500
        ));
        assert!(service_error_is_unavailable(None, 503));
        assert!(!service_error_is_unavailable(
            Some("ValidationException"),
            400
        ));
        assert!(!service_error_is_unavailable(
            Some("ResourceNotFoundException"),
            400
        ));
    }
}
