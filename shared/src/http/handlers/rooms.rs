//! Rooms: the list, one room, an operator's create-or-replace with its rules, and retiring one.

use lambda_http::http::StatusCode;

use super::Answer;
use super::holds::operator_reason;
use crate::domain::{Canceller, HoldId, RoomId, RoomSpec};
use crate::error::Error;
use crate::http::call::Call;
use crate::http::response::json_response;
use crate::http::views::{RoomList, RoomRetired, RoomView};

/// `GET /rooms`.
pub async fn list(call: &Call<'_>) -> Answer {
    let rooms = call.app.store.list_rooms().await?;
    let rooms = rooms.iter().map(RoomView::of).collect();
    Ok(json_response(StatusCode::OK, &RoomList { rooms }))
}

/// `GET /rooms/{room_id}`.
pub async fn get(call: &Call<'_>) -> Answer {
    let id: RoomId = call.path("room_id")?;
    let room = call
        .app
        .store
        .get_room(&id)
        .await?
        .ok_or(Error::RoomNotFound)?;
    Ok(json_response(StatusCode::OK, &RoomView::of(&room)))
}

/// `PUT /rooms/{room_id}` (operator): creates (201) or replaces (200) a room's name and rules;
/// a new room past `MAX_ROOMS` is 422 (decided by the store, atomically with the insert).
pub async fn put(call: &Call<'_>) -> Answer {
    call.operator()?;
    let id: RoomId = call.path("room_id")?;
    let spec: RoomSpec = call.body()?;
    let room = spec.room(id)?;
    let created = call
        .app
        .store
        .put_room(&room, call.app.bounds.rooms, call.now)
        .await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(json_response(status, &RoomView::of(&room)))
}

/// `DELETE /rooms/{room_id}[?cancel_bookings=true&reason=…]` (operator): retires the room (see
/// `Store::retire_room`). Upcoming bookings refuse it (409 `ROOM_HAS_BOOKINGS`) unless
/// `cancel_bookings=true` with a `reason` (1–`MAX_REASON_LEN` characters): then each is cancelled
/// as this operator's cancellation. Retiring a retired room again answers 200 (idempotent).
pub async fn retire(call: &Call<'_>) -> Answer {
    let name = call.operator()?;
    let id: RoomId = call.path("room_id")?;
    let cancel = match call.query("cancel_bookings") {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => {
            return Err(Error::Validation(
                "`cancel_bookings` must be true or false.".into(),
            ));
        }
    };
    let reason = call.query("reason");
    let by = match (cancel, reason) {
        (true, reason) => Some(Canceller::Operator {
            name,
            reason: operator_reason(reason)?,
        }),
        (false, None) => None,
        (false, Some(_)) => {
            return Err(Error::Validation(
                "`reason` goes with cancel_bookings=true: it says why the bookings are cancelled."
                    .into(),
            ));
        }
    };
    let retired = call
        .app
        .store
        .retire_room(&id, by.as_ref(), call.now)
        .await?;
    let ids = |ids: &[HoldId]| ids.iter().map(ToString::to_string).collect();
    Ok(json_response(
        StatusCode::OK,
        &RoomRetired {
            room_id: id.to_string(),
            status: "RETIRED",
            cancelled_bookings: ids(&retired.cancelled),
            released_holds: ids(&retired.released),
            kept_bookings: ids(&retired.kept),
        },
    ))
}
