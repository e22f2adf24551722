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
use lambda_http::http::header::{AUTHORIZATION, LOCATION};
use lambda_http::http::{HeaderValue, StatusCode};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use subtle::ConstantTimeEq;

use crate::clock::Clock;
use crate::config::Operators;
use crate::domain::{
    self, Booking, Canceller, Hold, HoldId, HoldStatus, Room, RoomId, RoomSpec, SlotId, SlotStatus,
    UserId, ViewStatus,
};
use crate::error::Error;
pub use crate::route::Route;
use crate::route::{self, Matched};
use crate::schedule::{self, Schedule};
use crate::store::{IdempotencyKey, NewHold, SheetWindow, SlotWindow, Store};
pub use response::{error_response, json_response};

/// The largest request body accepted (413 above it).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// A listing page's size when the request names none, and the largest it may name.
pub const DEFAULT_PAGE_SIZE: usize = 50;
pub const MAX_PAGE_SIZE: usize = 200;

/// The longest window a day sheet may ask for.
pub const MAX_SHEET_DAYS: i64 = 31;

/// The longest reason an operator may give for a cancellation, in characters.
pub const MAX_REASON_LEN: usize = 500;

/// The longest `Idempotency-Key` accepted.
pub const MAX_IDEMPOTENCY_KEY_LEN: usize = 255;

/// What every handler needs: the store, the clock, the hold length and the cancellation
/// cut-off. Built once at cold start.
#[derive(Clone)]
pub struct App {
    pub store: Arc<dyn Store>,
    pub clock: Clock,
    pub hold_ttl: Duration,
    /// How long before a slot's start a booking can no longer be cancelled.
    pub cancel_cutoff: Duration,
    /// Who may use the operator routes.
    pub operators: Operators,
}

impl App {
    pub fn new(store: Arc<dyn Store>, clock: Clock, hold_ttl: Duration) -> Self {
        Self {
            store,
            clock,
            hold_ttl,
            cancel_cutoff: Duration::zero(),
            operators: Operators::default(),
        }
    }

    /// The same app with its operators (see [`Operators`]).
    pub fn with_operators(mut self, operators: Operators) -> Self {
        self.operators = operators;
        self
    }

    /// The same app with a cancellation cut-off.
    pub fn with_cancel_cutoff(mut self, cutoff: Duration) -> Self {
        self.cancel_cutoff = cutoff;
        self
    }

    /// Answers one request for `route`. Never fails: every error becomes its response here, in
    /// one place. The `Result` is the shape `lambda_http::service_fn` wants.
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
            Route::ExtendHold => self.extend_hold(&request).await,
            Route::CancelHold => self.cancel_hold(&request).await,
            Route::GetHold => self.get_hold(&request).await,
            Route::ListUserHolds => self.list_user_holds(&request).await,
            Route::ListRooms => self.list_rooms().await,
            Route::GetRoom => self.get_room(&request).await,
            Route::PutRoom => self.put_room(&request).await,
            Route::GetSchedule => self.get_schedule(&request).await,
            Route::PutSchedule => self.put_schedule(&request).await,
            Route::ListRoomBookings => self.list_room_bookings(&request).await,
        };
        Ok(result.unwrap_or_else(|err| error_response(err, &request_id(&request))))
    }

    async fn list_slots(&self, request: &Request) -> Result<Response<Body>, Error> {
        let query = request.query_string_parameters_ref();
        let param = |name: &str| query.and_then(|q| q.first(name));
        let room = RoomId::parse(param("room_id").ok_or_else(|| missing("room_id"))?)?;
        let claimed = param("user_id").map(UserId::parse).transpose()?;
        let caller = caller(request, claimed)?;
        let limit = match param("limit") {
            None => DEFAULT_PAGE_SIZE,
            Some(limit) => limit
                .parse::<usize>()
                .ok()
                .filter(|l| (1..=MAX_PAGE_SIZE).contains(l))
                .ok_or_else(|| {
                    Error::Validation(format!(
                        "`limit` must be a whole number from 1 to {MAX_PAGE_SIZE}."
                    ))
                })?,
        };
        let now = self.clock.now();
        let from = param("from").map(|t| time_param("from", t)).transpose()?;
        let to = param("to").map(|t| time_param("to", t)).transpose()?;
        // By default the slots that have not started: a slot starting exactly now has.
        let from = from.unwrap_or(now + Duration::milliseconds(1));
        if to.is_some_and(|to| to <= from) {
            return Err(Error::Validation("`to` must be after `from`.".into()));
        }
        let after = param("cursor")
            .map(|c| cursor::decode(c, &room))
            .transpose()?;
        let window = SlotWindow {
            from,
            to,
            after,
            limit,
        };
        let mut states = self.store.list_slots(&room, &window, now).await?;
        let next_cursor = if states.len() > limit {
            states.truncate(limit);
            states
                .last()
                .map(|last| cursor::encode(&room, last.slot.start_time, &last.slot.id))
        } else {
            None
        };
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
                    local_start: state
                        .local_start()
                        .to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
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
                next_cursor,
            },
        ))
    }

    async fn create_hold(&self, request: &Request) -> Result<Response<Body>, Error> {
        let body: CreateHoldBody = json_body(request)?;
        let verified_user = authenticated_caller(request)?.is_some();
        caller(request, Some(body.user_id.clone()))?;
        let key = idempotency_key(request)?.map(|key| IdempotencyKey {
            key,
            request: match body.players {
                None => format!("{}\n{}", body.slot_id, body.user_id),
                Some(players) => format!("{}\n{}\n{players}", body.slot_id, body.user_id),
            },
        });
        let now = self.clock.now();
        let new = NewHold {
            id: HoldId::generate(&body.slot_id),
            slot_id: body.slot_id,
            user_id: body.user_id,
            expires_at: now + self.hold_ttl,
            verified_user,
            players: body.players,
        };
        let created = self.store.create_hold(&new, key.as_ref(), now).await?;
        let hold_id = created.id.to_string();
        let mut response = json_response(
            StatusCode::CREATED,
            &HoldCreated {
                hold_id: &hold_id,
                slot_id: created.slot_id.as_str(),
                user_id: created.user_id.as_str(),
                status: HoldStatus::Hold,
                expires_at: created.expires_at,
            },
        );
        if let Ok(location) = HeaderValue::from_str(&format!("/holds/{hold_id}")) {
            response.headers_mut().insert(LOCATION, location);
        }
        if created.replayed {
            response
                .headers_mut()
                .insert("idempotent-replayed", HeaderValue::from_static("true"));
        }
        Ok(response)
    }

    async fn confirm_hold(&self, request: &Request) -> Result<Response<Body>, Error> {
        let (hold_id, user) = self.hold_action(request, Route::ConfirmHold)?;
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
        let (hold_id, user) = self.hold_action(request, Route::ReleaseHold)?;
        let hold = self
            .store
            .release_hold(hold_id, &user, self.clock.now())
            .await?;
        Ok(json_response(
            StatusCode::OK,
            &HoldChanged {
                hold_id: hold.id.to_string(),
                status: HoldStatus::Released,
            },
        ))
    }

    async fn extend_hold(&self, request: &Request) -> Result<Response<Body>, Error> {
        let (hold_id, user) = self.hold_action(request, Route::ExtendHold)?;
        let now = self.clock.now();
        let expires_at = self
            .store
            .extend_hold(hold_id, &user, now + self.hold_ttl, now)
            .await?;
        Ok(json_response(
            StatusCode::OK,
            &HoldExtended {
                hold_id: hold_id.to_string(),
                status: HoldStatus::Hold,
                expires_at,
            },
        ))
    }

    /// A player cancels their booking (`{"user_id"}`); an operator any booking, with a reason
    /// (`{"reason"}` and the operator's credentials).
    async fn cancel_hold(&self, request: &Request) -> Result<Response<Body>, Error> {
        let hold_id = HoldId::parse(
            &path_param(request, Route::CancelHold, "hold_id").ok_or_else(|| missing("hold_id"))?,
        )?;
        let body: CancelBody = json_body(request)?;
        let by = match body.user_id {
            Some(user) => {
                caller(request, Some(user.clone()))?;
                Canceller::Player {
                    user,
                    cutoff: self.cancel_cutoff,
                }
            }
            // No user named: an operator's cancellation, or a player's request missing its
            // `user_id` (no credentials at all).
            None if request.headers().contains_key(AUTHORIZATION)
                || jwt_claims(request).is_some() =>
            {
                let name = self.operator(request)?;
                let reason = body.reason.as_deref().map(str::trim).unwrap_or_default();
                if reason.is_empty() || reason.chars().count() > MAX_REASON_LEN {
                    return Err(Error::Validation(format!(
                        "`reason` must be 1-{MAX_REASON_LEN} characters: an operator says why a booking is cancelled."
                    )));
                }
                Canceller::Operator {
                    name,
                    reason: reason.to_owned(),
                }
            }
            None => return Err(missing("user_id")),
        };
        self.store
            .cancel_hold(hold_id, &by, self.clock.now())
            .await?;
        Ok(json_response(
            StatusCode::OK,
            &HoldChanged {
                hold_id: hold_id.to_string(),
                status: HoldStatus::Cancelled,
            },
        ))
    }

    /// `GET /rooms/{room_id}/bookings` (operator): the day sheet.
    async fn list_room_bookings(&self, request: &Request) -> Result<Response<Body>, Error> {
        self.operator(request)?;
        let room = RoomId::parse(
            &path_param(request, Route::ListRoomBookings, "room_id")
                .ok_or_else(|| missing("room_id"))?,
        )?;
        let query = request.query_string_parameters_ref();
        let param = |name: &str| query.and_then(|q| q.first(name));
        let from = param("from").map(|t| time_param("from", t)).transpose()?;
        let to = param("to").map(|t| time_param("to", t)).transpose()?;
        let window = match (from, to) {
            (None, None) => SheetWindow::Today,
            (Some(from), None) => SheetWindow::Between(from, from + Duration::days(1)),
            (None, Some(_)) => return Err(missing("from")),
            (Some(from), Some(to)) if to <= from => {
                return Err(Error::Validation("`to` must be after `from`.".into()));
            }
            (Some(from), Some(to)) if to - from > Duration::days(MAX_SHEET_DAYS) => {
                return Err(Error::Validation(format!(
                    "A day sheet spans at most {MAX_SHEET_DAYS} days."
                )));
            }
            (Some(from), Some(to)) => SheetWindow::Between(from, to),
        };
        let sheet = self
            .store
            .room_bookings(&room, window, self.clock.now())
            .await?;
        let bookings = sheet
            .bookings
            .iter()
            .map(|b| BookingView::of(b, sheet.time_zone))
            .collect();
        Ok(json_response(
            StatusCode::OK,
            &DaySheetView {
                room_id: room.as_str(),
                time_zone: sheet.time_zone.name(),
                from: sheet.from,
                to: sheet.to,
                bookings,
            },
        ))
    }

    async fn get_hold(&self, request: &Request) -> Result<Response<Body>, Error> {
        let hold_id = HoldId::parse(
            &path_param(request, Route::GetHold, "hold_id").ok_or_else(|| missing("hold_id"))?,
        )?;
        let claimed = request
            .query_string_parameters_ref()
            .and_then(|q| q.first("user_id"))
            .ok_or_else(|| missing("user_id"))
            .and_then(|u| Ok(UserId::parse(u)?))?;
        caller(request, Some(claimed.clone()))?;
        let now = self.clock.now();
        let hold = self
            .store
            .get_hold(hold_id, now)
            .await?
            .ok_or(Error::HoldNotFound)?;
        if hold.user_id != claimed {
            return Err(Error::NotHoldOwner);
        }
        Ok(json_response(StatusCode::OK, &HoldView::of(&hold, now)))
    }

    async fn list_user_holds(&self, request: &Request) -> Result<Response<Body>, Error> {
        let user = UserId::parse(
            &path_param(request, Route::ListUserHolds, "user_id")
                .ok_or_else(|| missing("user_id"))?,
        )?;
        caller(request, Some(user.clone()))?;
        let now = self.clock.now();
        let holds = self.store.user_holds(&user, now).await?;
        let holds = holds
            .iter()
            .map(|h| UserHoldView {
                hold_id: h.hold.id.to_string(),
                slot_id: h.hold.slot_id.as_str(),
                room_id: h.room_id.as_str(),
                start_time: h.hold.starts_at,
                status: h.hold.view_status(now),
                expires_at: h.hold.expires_at,
                seconds_left: h.hold.seconds_left(now),
                players: h.hold.players,
            })
            .collect();
        Ok(json_response(
            StatusCode::OK,
            &UserHolds {
                user_id: user.as_str(),
                holds,
            },
        ))
    }

    async fn list_rooms(&self) -> Result<Response<Body>, Error> {
        let rooms = self.store.list_rooms().await?;
        let rooms = rooms.iter().map(RoomView::of).collect();
        Ok(json_response(StatusCode::OK, &RoomList { rooms }))
    }

    async fn get_room(&self, request: &Request) -> Result<Response<Body>, Error> {
        let room = RoomId::parse(
            &path_param(request, Route::GetRoom, "room_id").ok_or_else(|| missing("room_id"))?,
        )?;
        let room = self
            .store
            .get_room(&room)
            .await?
            .ok_or(Error::RoomNotFound)?;
        Ok(json_response(StatusCode::OK, &RoomView::of(&room)))
    }

    /// `PUT /rooms/{room_id}` (operator): creates (201) or replaces (200) a room's name and rules.
    async fn put_room(&self, request: &Request) -> Result<Response<Body>, Error> {
        self.operator(request)?;
        let id = RoomId::parse(
            &path_param(request, Route::PutRoom, "room_id").ok_or_else(|| missing("room_id"))?,
        )?;
        let spec: RoomSpec = json_body(request)?;
        let room = spec.room(id)?;
        let created = self.store.put_room(&room, self.clock.now()).await?;
        let status = if created {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        };
        Ok(json_response(status, &RoomView::of(&room)))
    }

    async fn get_schedule(&self, request: &Request) -> Result<Response<Body>, Error> {
        let room = RoomId::parse(
            &path_param(request, Route::GetSchedule, "room_id")
                .ok_or_else(|| missing("room_id"))?,
        )?;
        let schedule = self
            .store
            .get_schedule(&room)
            .await?
            .ok_or(Error::ScheduleNotFound)?;
        Ok(json_response(StatusCode::OK, &schedule))
    }

    /// `PUT /rooms/{room_id}/schedule` (operator): stores the room's weekly schedule and makes
    /// its slots from now to `max_advance_days` ahead the schedule's, in the room's time zone.
    async fn put_schedule(&self, request: &Request) -> Result<Response<Body>, Error> {
        self.operator(request)?;
        let id = RoomId::parse(
            &path_param(request, Route::PutSchedule, "room_id")
                .ok_or_else(|| missing("room_id"))?,
        )?;
        let schedule: Schedule = json_body(request)?;
        schedule::validate_room_id_for_schedule(&id)?;
        let room = self.store.get_room(&id).await?.ok_or(Error::RoomNotFound)?;
        let rules = schedule_rules(&room)?;
        schedule::validate(&schedule, &rules)?;
        let now = self.clock.now();
        let planned = plan_horizon(&room, &schedule, &rules, now);
        let applied = self
            .store
            .apply_schedule(&room, &schedule, &planned, now, now)
            .await?;
        let kept = applied
            .kept
            .iter()
            .map(|state| KeptSlot {
                slot_id: state.slot.id.as_str(),
                start_time: state.slot.start_time,
                status: if state.booked { "BOOKED" } else { "HELD" },
            })
            .collect();
        Ok(json_response(
            StatusCode::OK,
            &ScheduleApplied {
                room_id: id.as_str(),
                planned: planned.len(),
                created: applied.created,
                updated: applied.updated,
                skipped: applied.skipped,
                removed: applied.removed,
                kept,
            },
        ))
    }

    /// Moves every scheduled room's horizon to now + its `max_advance_days`: re-applies each
    /// stored schedule (the new day's slots created; as any application, free slots the
    /// schedule does not have are removed). Run daily by the
    /// `extend-horizon` function on AWS and by the local server; idempotent, so two runs at once
    /// change nothing twice.
    pub async fn extend_horizons(&self) -> Result<Vec<HorizonRun>, Error> {
        let now = self.clock.now();
        let mut runs = Vec::new();
        for room in self.store.list_rooms().await? {
            let Some(schedule) = self.store.get_schedule(&room.id).await? else {
                continue;
            };
            let rules = schedule_rules(&room)?;
            let planned = plan_horizon(&room, &schedule, &rules, now);
            let applied = self
                .store
                .apply_schedule(&room, &schedule, &planned, now, now)
                .await?;
            runs.push(HorizonRun {
                room_id: room.id,
                created: applied.created,
                removed: applied.removed,
                kept: applied.kept.len(),
            });
        }
        Ok(runs)
    }

    /// The caller is an operator: with a JWT authorizer, its claims carry the operator scope or
    /// group; without one, `Authorization: Bearer` is the operator token (compared in constant
    /// time). Nobody configured: 403 whatever the request says (secure by default).
    /// Returns who the operator is, as a cancellation records it: `operator` (the token), or
    /// `operator:<sub>` (a JWT's subject).
    fn operator(&self, request: &Request) -> Result<String, Error> {
        let Operators { token, scope } = &self.operators;
        if let Some(claims) = jwt_claims(request) {
            let granted = scope.as_deref().is_some_and(|scope| {
                ["scope", "scp", "cognito:groups"].iter().any(|claim| {
                    claims.get(*claim).is_some_and(|value| {
                        value
                            .split(|c: char| c.is_whitespace() || "[],\"".contains(c))
                            .any(|v| v == scope)
                    })
                })
            });
            return if granted {
                Ok(match claims.get("sub") {
                    Some(sub) => format!("operator:{sub}"),
                    None => "operator".to_owned(),
                })
            } else {
                Err(Error::OperatorOnly)
            };
        }
        let Some(token) = token else {
            return Err(Error::OperatorOnly);
        };
        let bearer = request
            .headers()
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.split_once(' ')
                    .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
                    .map(|(_, t)| t.trim())
            });
        match bearer {
            None => Err(Error::Unauthenticated),
            Some(given) if bool::from(given.as_bytes().ct_eq(token.as_bytes())) => {
                Ok("operator".to_owned())
            }
            Some(_) => Err(Error::OperatorOnly),
        }
    }

    /// The hold id from the path and the caller from the body, validated, for the actions on a
    /// hold.
    fn hold_action(&self, request: &Request, route: Route) -> Result<(HoldId, UserId), Error> {
        let hold_id = HoldId::parse(
            &path_param(request, route, "hold_id").ok_or_else(|| missing("hold_id"))?,
        )?;
        let body: UserBody = json_body(request)?;
        caller(request, Some(body.user_id.clone()))?;
        Ok((hold_id, body.user_id))
    }
}

/// The opaque `next_cursor` of a listing: the position after the page's last slot, bound to its
/// room. It carries nothing but a position in a public listing, so a changed cursor can only move
/// within the room it was issued for; one of another room, or one that does not decode, is 422.
mod cursor {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use chrono::{DateTime, Utc};

    use crate::domain::{RoomId, SlotId};
    use crate::error::Error;

    const VERSION: &str = "v1";

    pub fn encode(room: &RoomId, start: DateTime<Utc>, slot: &SlotId) -> String {
        URL_SAFE_NO_PAD.encode(format!(
            "{VERSION}|{room}|{}|{slot}",
            start.timestamp_millis()
        ))
    }

    pub fn decode(cursor: &str, room: &RoomId) -> Result<(DateTime<Utc>, SlotId), Error> {
        let invalid =
            || Error::Validation("`cursor` is not a cursor of this room's listing.".into());
        let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
        let text = String::from_utf8(bytes).map_err(|_| invalid())?;
        let mut parts = text.split('|');
        let (Some(VERSION), Some(of_room), Some(start), Some(slot), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(invalid());
        };
        if of_room != room.as_str() {
            return Err(invalid());
        }
        let start = start
            .parse::<i64>()
            .ok()
            .and_then(DateTime::from_timestamp_millis)
            .ok_or_else(invalid)?;
        let slot = SlotId::parse(slot).map_err(|_| invalid())?;
        Ok((start, slot))
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn a_cursor_decodes_to_its_position_in_its_own_room_only() {
            let room = RoomId::parse("r-101").unwrap();
            let slot = SlotId::parse("s-7").unwrap();
            let start = DateTime::from_timestamp_millis(1_800_000_000_000).unwrap();
            let cursor = encode(&room, start, &slot);
            assert_eq!(decode(&cursor, &room).unwrap(), (start, slot));
            let other = RoomId::parse("r-102").unwrap();
            assert!(matches!(decode(&cursor, &other), Err(Error::Validation(_))));
            for garbage in ["", "!!", "djE", "djF8ci0xMDF8eHx5", &cursor[1..]] {
                assert!(
                    matches!(decode(garbage, &room), Err(Error::Validation(_))),
                    "{garbage}"
                );
            }
        }
    }
}

/// An RFC 3339 time in a query parameter.
fn time_param(name: &str, value: &str) -> Result<DateTime<Utc>, Error> {
    DateTime::parse_from_rfc3339(value)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            Error::Validation(format!(
                "`{name}` must be an RFC 3339 time such as 2026-12-01T18:00:00Z."
            ))
        })
}

/// The `Idempotency-Key` header, if sent: 1–255 visible ASCII characters, as a plain token or a
/// structured-field string (`"…"`, as the IETF draft writes it).
fn idempotency_key(request: &Request) -> Result<Option<String>, Error> {
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

#[derive(Deserialize)]
struct CreateHoldBody {
    slot_id: SlotId,
    user_id: UserId,
    /// The party size (the room's `min_players` when absent).
    #[serde(default)]
    players: Option<u32>,
}

/// A cancellation: a player's (`user_id`) or an operator's (`reason`).
#[derive(Deserialize)]
struct CancelBody {
    #[serde(default)]
    user_id: Option<UserId>,
    #[serde(default)]
    reason: Option<String>,
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
    /// The start in the venue's time zone, with its offset (`2026-12-07T19:30:00+01:00`).
    local_start: String,
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

/// The answer of release and cancel.
#[derive(Serialize)]
struct HoldChanged {
    hold_id: String,
    status: HoldStatus,
}

#[derive(Serialize)]
struct HoldExtended {
    hold_id: String,
    status: HoldStatus,
    #[serde(with = "domain::rfc3339")]
    expires_at: DateTime<Utc>,
}

#[derive(Serialize)]
struct HoldView<'a> {
    hold_id: String,
    slot_id: &'a str,
    user_id: &'a str,
    status: ViewStatus,
    #[serde(with = "domain::rfc3339")]
    expires_at: DateTime<Utc>,
    seconds_left: i64,
    extended: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    players: Option<u32>,
}

impl<'a> HoldView<'a> {
    fn of(hold: &'a Hold, now: DateTime<Utc>) -> Self {
        Self {
            hold_id: hold.id.to_string(),
            slot_id: hold.slot_id.as_str(),
            user_id: hold.user_id.as_str(),
            status: hold.view_status(now),
            expires_at: hold.expires_at,
            seconds_left: hold.seconds_left(now),
            extended: hold.extended,
            players: hold.players,
        }
    }
}

#[derive(Serialize)]
struct UserHolds<'a> {
    user_id: &'a str,
    holds: Vec<UserHoldView<'a>>,
}

#[derive(Serialize)]
struct UserHoldView<'a> {
    hold_id: String,
    slot_id: &'a str,
    room_id: &'a str,
    #[serde(with = "domain::rfc3339")]
    start_time: DateTime<Utc>,
    status: ViewStatus,
    #[serde(with = "domain::rfc3339")]
    expires_at: DateTime<Utc>,
    seconds_left: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    players: Option<u32>,
}

#[derive(Serialize)]
struct DaySheetView<'a> {
    room_id: &'a str,
    time_zone: &'a str,
    #[serde(with = "domain::rfc3339")]
    from: DateTime<Utc>,
    #[serde(with = "domain::rfc3339")]
    to: DateTime<Utc>,
    bookings: Vec<BookingView<'a>>,
}

#[derive(Serialize)]
struct BookingView<'a> {
    hold_id: String,
    slot_id: &'a str,
    #[serde(with = "domain::rfc3339")]
    start_time: DateTime<Utc>,
    local_start: String,
    user_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    players: Option<u32>,
    status: HoldStatus,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "domain::rfc3339::option::serialize"
    )]
    confirmed_at: Option<DateTime<Utc>>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "domain::rfc3339::option::serialize"
    )]
    cancelled_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cancelled_by: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
}

impl<'a> BookingView<'a> {
    fn of(booking: &'a Booking, zone: chrono_tz::Tz) -> Self {
        Self {
            hold_id: booking.hold_id.to_string(),
            slot_id: booking.slot_id.as_str(),
            start_time: booking.start_time,
            local_start: booking
                .start_time
                .with_timezone(&zone)
                .fixed_offset()
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
            user_id: booking.user_id.as_str(),
            players: booking.players,
            status: booking.status,
            confirmed_at: booking.confirmed_at,
            cancelled_at: booking.cancelled_at,
            cancelled_by: booking.cancelled_by.as_deref(),
            reason: booking.reason.as_deref(),
        }
    }
}

#[derive(Serialize)]
struct RoomList<'a> {
    rooms: Vec<RoomView<'a>>,
}

/// What a daily horizon run did for one room.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HorizonRun {
    pub room_id: RoomId,
    pub created: usize,
    pub removed: usize,
    pub kept: usize,
}

/// A room's rules as the schedule planner takes them.
fn schedule_rules(room: &Room) -> Result<schedule::RoomRules, Error> {
    Ok(schedule::RoomRules {
        time_zone: room.policy.time_zone.parse().map_err(|_| {
            Error::Internal(format!(
                "room {} has time zone {}",
                room.id, room.policy.time_zone
            ))
        })?,
        duration_minutes: room.policy.duration_minutes,
        buffer_minutes: room.policy.buffer_minutes,
    })
}

/// The room's slots from `now` to its horizon (`max_advance_days` ahead).
fn plan_horizon(
    room: &Room,
    schedule: &Schedule,
    rules: &schedule::RoomRules,
    now: DateTime<Utc>,
) -> Vec<schedule::PlannedSlot> {
    let until = now + Duration::days(i64::from(room.policy.max_advance_days));
    schedule::plan(schedule, rules, &room.id, now, until)
}

/// What applying a schedule did: `planned` slots in the horizon, of which `created` were new;
/// `removed` free slots the schedule no longer has; `kept` held or booked ones it no longer has.
#[derive(Serialize)]
struct ScheduleApplied<'a> {
    room_id: &'a str,
    planned: usize,
    created: usize,
    /// Existing free slots moved to the plan's times (a new time zone or game length).
    updated: usize,
    /// Planned games not offered because a kept (held or booked) slot overlaps them.
    skipped: usize,
    removed: usize,
    kept: Vec<KeptSlot<'a>>,
}

#[derive(Serialize)]
struct KeptSlot<'a> {
    slot_id: &'a str,
    #[serde(with = "domain::rfc3339")]
    start_time: DateTime<Utc>,
    status: &'static str,
}

/// A room as the API shows it: its rules, and `capacity` = `max_players`.
#[derive(Serialize)]
struct RoomView<'a> {
    room_id: &'a str,
    name: &'a str,
    capacity: u32,
    time_zone: &'a str,
    min_players: u32,
    max_players: u32,
    duration_minutes: u32,
    buffer_minutes: u32,
    min_notice_minutes: u32,
    max_advance_days: u32,
    cancel_cutoff_minutes: u32,
}

impl<'a> RoomView<'a> {
    fn of(room: &'a Room) -> Self {
        let p = &room.policy;
        Self {
            room_id: room.id.as_str(),
            name: &room.name,
            capacity: room.capacity,
            time_zone: &p.time_zone,
            min_players: p.min_players,
            max_players: room.capacity,
            duration_minutes: p.duration_minutes,
            buffer_minutes: p.buffer_minutes,
            min_notice_minutes: p.min_notice_minutes,
            max_advance_days: p.max_advance_days,
            cancel_cutoff_minutes: p.cancel_cutoff_minutes,
        }
    }
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

/// A path parameter of `route`: as API Gateway or the local router set it, or, when none did,
/// read from the request's path (without a stage prefix) against the route's template.
fn path_param(request: &Request, route: Route, name: &str) -> Option<String> {
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

/// The claims of API Gateway's JWT authorizer, if the request carries them.
fn jwt_claims(request: &Request) -> Option<&HashMap<String, String>> {
    match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx
            .authorizer
            .as_ref()
            .and_then(|a| a.jwt.as_ref())
            .map(|jwt| &jwt.claims),
        _ => None,
    }
}

/// The caller proven by API Gateway's JWT authorizer (`sub` claim), if the request carries one.
fn authenticated_caller(request: &Request) -> Result<Option<UserId>, Error> {
    match jwt_claims(request).and_then(|c| c.get("sub")) {
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
/// API Gateway sends it every request that no route matches. It serves the pages ([`page`]);
/// everything else it answers as the local server's
/// router does (both read [`route::find`]): 405 `METHOD_NOT_ALLOWED` when the path is a route's
/// with another method, 404 `ROUTE_NOT_FOUND` otherwise, each through [`error_response`]. A
/// request whose method and path do match a route never reaches `$default` on AWS (API Gateway
/// sends it to that route's function); should one arrive anyway, it is answered 404 too: this
/// function serves no route. Needs no store.
pub fn unmatched(request: &Request) -> Response<Body> {
    if let Some(page) = page(request) {
        return page;
    }
    let error = match route::find(request.method().as_str(), route_path(request)) {
        Matched::MethodNotAllowed => Error::MethodNotAllowed,
        Matched::NotFound | Matched::Route(..) => Error::RouteNotFound,
    };
    error_response(error, &request_id(request))
}

/// The booking page or the operator's view ([`crate::pages`]) for a `GET` or `HEAD` of its path:
/// on AWS the `$default` route's function serves them, as the local server does.
pub fn page(request: &Request) -> Option<Response<Body>> {
    let method = request.method();
    if method != lambda_http::http::Method::GET && method != lambda_http::http::Method::HEAD {
        return None;
    }
    let page = crate::pages::find(route_path(request))?;
    let body = if method == lambda_http::http::Method::HEAD {
        Body::Empty
    } else {
        Body::Text(page.body.to_owned())
    };
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    headers.insert(
        lambda_http::http::header::CONTENT_TYPE,
        HeaderValue::from_static(page.content_type),
    );
    for (name, value) in crate::pages::HEADERS {
        headers.insert(*name, HeaderValue::from_static(value));
    }
    Some(response)
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
