//! Reading a request: its path parameters, query parameters, JSON body and headers, each
//! validated into a domain value or a 422 with a sentence that names the field.

use chrono::{DateTime, Utc};
use lambda_http::{Request, RequestExt};
use serde::de::DeserializeOwned;

use super::unmatched::route_path;
use crate::domain::{HoldId, Reference, RoomId, UserId};
use crate::error::Error;
use crate::route::Route;

/// The largest request body accepted (413 above it).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// A listing page's size when the request names none, and the largest it may name.
pub const DEFAULT_PAGE_SIZE: usize = 50;
pub const MAX_PAGE_SIZE: usize = 200;

/// The longest `Idempotency-Key` accepted.
pub const MAX_IDEMPOTENCY_KEY_LEN: usize = 255;

/// A value a path parameter holds: an id, validated.
pub trait FromParam: Sized {
    fn from_param(value: &str) -> Result<Self, Error>;
}

impl FromParam for RoomId {
    fn from_param(value: &str) -> Result<Self, Error> {
        Ok(RoomId::parse(value)?)
    }
}

impl FromParam for Reference {
    fn from_param(value: &str) -> Result<Self, Error> {
        Ok(Reference::parse(value)?)
    }
}

impl FromParam for HoldId {
    fn from_param(value: &str) -> Result<Self, Error> {
        Ok(HoldId::parse(value)?)
    }
}

impl FromParam for UserId {
    fn from_param(value: &str) -> Result<Self, Error> {
        Ok(UserId::parse(value)?)
    }
}

/// A required parameter or field is absent.
pub fn missing(name: &str) -> Error {
    Error::Validation(format!("`{name}` is required."))
}

/// A path parameter of `route`: as API Gateway or the local router set it, or, when none did,
/// read from the request's path (without a stage prefix) against the route's template.
pub fn path_param(request: &Request, route: Route, name: &str) -> Option<String> {
    if let Some(value) = request.path_parameters_ref().and_then(|p| p.first(name)) {
        return Some(value.to_owned());
    }
    route
        .spec()
        .params(route_path(request))?
        .into_iter()
        .find(|(param, _)| *param == name)
        .map(|(_, value)| value.to_owned())
}

/// A query parameter, if sent.
pub fn query<'r>(request: &'r Request, name: &str) -> Option<&'r str> {
    request
        .query_string_parameters_ref()
        .and_then(|q| q.first(name))
}

/// An RFC 3339 time in a query parameter.
pub fn time_param(name: &str, value: &str) -> Result<DateTime<Utc>, Error> {
    DateTime::parse_from_rfc3339(value)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            Error::Validation(format!(
                "`{name}` must be an RFC 3339 time such as 2026-12-01T18:00:00Z."
            ))
        })
}

/// A whole-number query parameter from `range`, or `default` when absent.
pub fn number_param(
    request: &Request,
    name: &str,
    range: std::ops::RangeInclusive<usize>,
    default: usize,
) -> Result<usize, Error> {
    match query(request, name) {
        None => Ok(default),
        Some(value) => value
            .parse::<usize>()
            .ok()
            .filter(|n| range.contains(n))
            .ok_or_else(|| {
                Error::Validation(format!(
                    "`{name}` must be a whole number from {} to {}.",
                    range.start(),
                    range.end()
                ))
            }),
    }
}

/// A `true`/`false` query parameter, or `false` when absent.
pub fn flag_param(request: &Request, name: &str) -> Result<bool, Error> {
    match query(request, name) {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(_) => Err(Error::Validation(format!(
            "`{name}` must be true or false."
        ))),
    }
}

/// Reads the body as JSON whatever the `Content-Type` says. API Gateway base64-encodes bodies it
/// does not consider text, and `lambda_http` has already decoded those into bytes, so the raw
/// bytes are what we parse. Unknown fields are ignored; ids are validated while deserialising.
/// A body that does not read is a 422 quoting at most 64 characters of it ([`Error::invalid_body`]).
pub fn json_body<T: DeserializeOwned>(request: &Request) -> Result<T, Error> {
    let bytes: &[u8] = request.body().as_ref();
    if bytes.len() > MAX_BODY_BYTES {
        return Err(Error::PayloadTooLarge);
    }
    match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
        None => return Err(Error::Validation("A JSON request body is required.".into())),
        // serde would also read a struct from a JSON array; the contract's bodies are objects.
        Some(b'{') => {}
        Some(_) => {
            return Err(Error::Validation(
                "The request body must be a JSON object.".into(),
            ));
        }
    }
    serde_json::from_slice(bytes).map_err(|e| Error::invalid_body(&e))
}

/// The `Idempotency-Key` header, if sent: 1–255 visible ASCII characters, as a plain token or a
/// structured-field string (`"…"`, as the IETF draft writes it).
pub fn idempotency_key(request: &Request) -> Result<Option<String>, Error> {
    let Some(value) = request.headers().get("idempotency-key") else {
        return Ok(None);
    };
    let invalid = || {
        Error::Validation(format!(
            "`Idempotency-Key` must be 1-{MAX_IDEMPOTENCY_KEY_LEN} visible ASCII characters."
        ))
    };
    let value = value.to_str().map_err(|_| invalid())?.trim();
    let key = value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(value);
    if (1..=MAX_IDEMPOTENCY_KEY_LEN).contains(&key.len())
        && key.bytes().all(|b| b.is_ascii_graphic() && b != b'"')
    {
        Ok(Some(key.to_owned()))
    } else {
        Err(invalid())
    }
}
