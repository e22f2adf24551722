//! The route handlers: `lambda_http::Request` in, `Response` out. Each Lambda function serves one
//! [`Route`]; the local server finds the route in the route table and calls the same
//! [`App::handle`]. The `unmatched-route` function (API Gateway's `$default` route) answers the
//! rest with [`unmatched`]. Parsing, validation, identity and the error → response map
//! ([`response`]) live here once.

pub mod response;

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use lambda_http::http::header::LOCATION;
use lambda_http::http::{HeaderValue, StatusCode};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::clock::Clock;
use crate::domain::{self, HoldId, HoldStatus, RoomId, SlotId, SlotStatus, UserId};
use crate::error::Error;
pub use crate::route::Route;
use crate::route::{self, Matched};
use crate::store::{NewHold, Store};
pub use response::{error_response, json_response};

/// The largest request body accepted (413 above it).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// What every handler needs: the store, the clock and the hold length. Built once at cold start.
#[derive(Clone)]
pub struct App {
    pub store: Arc<dyn Store>,
    pub clock: Clock,
    pub hold_ttl: Duration,
}

impl App {
    pub fn new(store: Arc<dyn Store>, clock: Clock, hold_ttl: Duration) -> Self {
        Self {
            store,
            clock,
            hold_ttl,
        }
    }

    /// Answers one request for `route`. Never fails: every error becomes its contract response
    /// here, in one place. The `Result` is the shape `lambda_http::service_fn` wants.
    pub async fn handle(
        &self,
        route: Route,
        request: Request,
    ) -> Result<Response<Body>, Infallible> {
        let result = match route {
            Route::ListSlots => self.list_slots(&request).await,
            Route::CreateHold => self.create_hold(&request).await,
            Route::ConfirmHold => self.confirm_hold(&request).await,
            Route::ReleaseHold => self.release_hold(&request).await,
        };
        Ok(result.unwrap_or_else(|err| error_response(err, &request_id(&request))))
    }

    async fn list_slots(&self, request: &Request) -> Result<Response<Body>, Error> {
        let query = request.query_string_parameters_ref();
        let param = |name: &str| query.and_then(|q| q.first(name));
        let room = RoomId::parse(param("room_id").ok_or_else(|| missing("room_id"))?)?;
        let claimed = param("user_id").map(UserId::parse).transpose()?;
        let caller = caller(request, claimed)?;

        let now = self.clock.now();
        let states = self.store.list_slots(&room, now).await?;
        let slots = states
            .iter()
            .map(|state| {
                let status = domain::slot_status(state, caller.as_ref(), now);
                let mine = state
                    .hold
                    .as_ref()
                    .filter(|_| status == SlotStatus::HeldByMe);
                SlotView {
                    slot_id: state.slot.id.as_str(),
                    room_id: state.slot.room_id.as_str(),
                    start_time: state.slot.start_time,
                    end_time: state.slot.end_time,
                    status,
                    expires_at: mine.map(|h| h.expires_at),
                    hold_id: mine.map(|h| h.id.to_string()),
                }
            })
            .collect();
        Ok(json_response(
            StatusCode::OK,
            &SlotList {
                room_id: room.as_str(),
                slots,
                next_cursor: None,
            },
        ))
    }

    async fn create_hold(&self, request: &Request) -> Result<Response<Body>, Error> {
        let body: CreateHoldBody = json_body(request)?;
        caller(request, Some(body.user_id.clone()))?;
        let now = self.clock.now();
        let new = NewHold {
            id: HoldId::generate(&body.slot_id),
            slot_id: body.slot_id,
            user_id: body.user_id,
            expires_at: now + self.hold_ttl,
        };
        let hold = self.store.create_hold(&new, now).await?;
        let hold_id = hold.id.to_string();
        let mut response = json_response(
            StatusCode::CREATED,
            &HoldCreated {
                hold_id: &hold_id,
                slot_id: hold.slot_id.as_str(),
                user_id: hold.user_id.as_str(),
                status: HoldStatus::Hold,
                expires_at: hold.expires_at,
            },
        );
        if let Ok(location) = HeaderValue::from_str(&format!("/holds/{hold_id}")) {
            response.headers_mut().insert(LOCATION, location);
        }
        Ok(response)
    }

    async fn confirm_hold(&self, request: &Request) -> Result<Response<Body>, Error> {
        let (hold_id, user) = self.hold_action(request)?;
        let hold = self
            .store
            .confirm_hold(hold_id, &user, self.clock.now())
            .await?;
        Ok(json_response(
            StatusCode::OK,
            &HoldConfirmed {
                hold_id: hold.id.to_string(),
                slot_id: hold.slot_id.as_str(),
                status: HoldStatus::Confirmed,
            },
        ))
    }

    async fn release_hold(&self, request: &Request) -> Result<Response<Body>, Error> {
        let (hold_id, user) = self.hold_action(request)?;
        let hold = self
            .store
            .release_hold(hold_id, &user, self.clock.now())
            .await?;
        Ok(json_response(
            StatusCode::OK,
            &HoldReleased {
                hold_id: hold.id.to_string(),
                status: HoldStatus::Released,
            },
        ))
    }

    /// The hold id from the path and the caller from the body, validated, for confirm/release.
    fn hold_action(&self, request: &Request) -> Result<(HoldId, UserId), Error> {
        let hold_id = HoldId::parse(&hold_id_param(request).ok_or_else(|| missing("hold_id"))?)?;
        let body: UserBody = json_body(request)?;
        caller(request, Some(body.user_id.clone()))?;
        Ok((hold_id, body.user_id))
    }
}

#[derive(Deserialize)]
struct CreateHoldBody {
    slot_id: SlotId,
    user_id: UserId,
}

#[derive(Deserialize)]
struct UserBody {
    user_id: UserId,
}

#[derive(Serialize)]
struct SlotList<'a> {
    room_id: &'a str,
    slots: Vec<SlotView<'a>>,
    next_cursor: Option<String>,
}

#[derive(Serialize)]
struct SlotView<'a> {
    slot_id: &'a str,
    room_id: &'a str,
    #[serde(with = "domain::rfc3339")]
    start_time: DateTime<Utc>,
    #[serde(with = "domain::rfc3339")]
    end_time: DateTime<Utc>,
    status: SlotStatus,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "domain::rfc3339::option::serialize"
    )]
    expires_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    hold_id: Option<String>,
}

#[derive(Serialize)]
struct HoldCreated<'a> {
    hold_id: &'a str,
    slot_id: &'a str,
    user_id: &'a str,
    status: HoldStatus,
    #[serde(with = "domain::rfc3339")]
    expires_at: DateTime<Utc>,
}

#[derive(Serialize)]
struct HoldConfirmed<'a> {
    hold_id: String,
    slot_id: &'a str,
    status: HoldStatus,
}

#[derive(Serialize)]
struct HoldReleased {
    hold_id: String,
    status: HoldStatus,
}

fn missing(name: &str) -> Error {
    Error::Validation(format!("`{name}` is required."))
}

/// Reads the body as JSON whatever the `Content-Type` says. API Gateway base64-encodes bodies it
/// does not consider text, and `lambda_http` has already decoded those into bytes, so the raw
/// bytes are what we parse. Unknown fields are ignored; ids are validated while deserialising.
fn json_body<T: DeserializeOwned>(request: &Request) -> Result<T, Error> {
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
    serde_json::from_slice(bytes)
        .map_err(|e| Error::Validation(format!("Invalid request body: {e}.")))
}

/// The `{hold_id}` path parameter; when a router did not set it, the segment before the action.
fn hold_id_param(request: &Request) -> Option<String> {
    if let Some(id) = request
        .path_parameters_ref()
        .and_then(|p| p.first("hold_id"))
    {
        return Some(id.to_owned());
    }
    let mut segments = request.uri().path().rsplit('/').filter(|s| !s.is_empty());
    segments.next()?;
    segments.next().map(str::to_owned)
}

/// The caller proven by API Gateway's JWT authorizer (`sub` claim), if the request carries one.
fn authenticated_caller(request: &Request) -> Result<Option<UserId>, Error> {
    let claims: Option<&HashMap<String, String>> = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx
            .authorizer
            .as_ref()
            .and_then(|a| a.jwt.as_ref())
            .map(|jwt| &jwt.claims),
        _ => None,
    };
    match claims.and_then(|c| c.get("sub")) {
        // A `sub` that is not a valid user id can never match one.
        Some(sub) => UserId::parse(sub)
            .map(Some)
            .map_err(|_| Error::IdentityMismatch),
        None => Ok(None),
    }
}

/// Who is calling: with a JWT authorizer the token's `sub`, and a `claimed` user id (body or
/// query) must be that same user (403 otherwise); without one, the claimed user id as in the seed.
fn caller(request: &Request, claimed: Option<UserId>) -> Result<Option<UserId>, Error> {
    match (authenticated_caller(request)?, claimed) {
        (Some(sub), Some(claimed)) if sub != claimed => Err(Error::IdentityMismatch),
        (Some(sub), _) => Ok(Some(sub)),
        (None, claimed) => Ok(claimed),
    }
}

/// The handler of the `unmatched-route` function, bound to the HTTP API's `$default` route:
/// API Gateway sends it every request that no route matches. It answers as the local server's
/// router does (both read [`route::find`]): 405 `METHOD_NOT_ALLOWED` when the path is a route's
/// with another method, 404 `ROUTE_NOT_FOUND` otherwise, each through [`error_response`]. A
/// request whose method and path do match a route never reaches `$default` on AWS (API Gateway
/// sends it to that route's function); should one arrive anyway, it is answered 404 too: this
/// function serves no route. Needs no store.
pub fn unmatched(request: &Request) -> Response<Body> {
    let error = match route::find(request.method().as_str(), route_path(request)) {
        Matched::MethodNotAllowed => Error::MethodNotAllowed,
        Matched::NotFound | Matched::Route(..) => Error::RouteNotFound,
    };
    error_response(error, &request_id(request))
}

/// The error of a router miss: 404 for an unknown path, 405 for a known path with another method.
pub fn router_miss(matched: &Matched<'_>) -> Option<Error> {
    match matched {
        Matched::Route(..) => None,
        Matched::NotFound => Some(Error::RouteNotFound),
        Matched::MethodNotAllowed => Some(Error::MethodNotAllowed),
    }
}

/// The request's path as the routes see it: without the API Gateway stage prefix. `lambda_http`
/// keeps `/<stage>` at the front of the URI's path for a named stage (not for `$default`).
fn route_path(request: &Request) -> &str {
    let path = request.uri().path();
    let stage = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.stage.as_deref(),
        _ => None,
    };
    match stage {
        Some(stage) if stage != "$default" && !stage.is_empty() => {
            match path.strip_prefix('/').and_then(|p| p.strip_prefix(stage)) {
                Some("") => "/",
                Some(rest) if rest.starts_with('/') => rest,
                _ => path,
            }
        }
        _ => path,
    }
}

/// The id to log a request under: Lambda's, API Gateway's, or the local server's header.
pub fn request_id(request: &Request) -> String {
    if let Some(ctx) = request.lambda_context_ref() {
        return ctx.request_id.clone();
    }
    if let Some(RequestContext::ApiGatewayV2(ctx)) = request.request_context_ref()
        && let Some(id) = &ctx.request_id
    {
        return id.clone();
    }
    request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-")
        .to_owned()
}
