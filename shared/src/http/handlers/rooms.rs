//! Rooms: the list, one room, and an operator's create-or-replace with its rules.

use lambda_http::http::StatusCode;

use super::Answer;
use crate::domain::{RoomId, RoomSpec};
use crate::error::Error;
use crate::http::call::Call;
use crate::http::response::json_response;
use crate::http::views::{RoomList, RoomView};

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
