//! `GET /slots`: a room's slots, paged, each with its status as the caller sees it.

use chrono::Duration;
use lambda_http::http::StatusCode;

use super::Answer;
use crate::domain::{self, RoomId, SlotStatus, UserId};
use crate::error::Error;
use crate::http::call::Call;
use crate::http::cursor;
use crate::http::extract::{DEFAULT_PAGE_SIZE, FromParam, MAX_PAGE_SIZE, missing, number_param};
use crate::http::response::json_response;
use crate::http::views::{SlotList, SlotView};
use crate::store::SlotWindow;

/// `GET /slots?room_id=…[&user_id=…][&from=…][&to=…][&limit=…][&cursor=…]`.
pub async fn list(call: &Call<'_>) -> Answer {
    let room = RoomId::from_param(call.query("room_id").ok_or_else(|| missing("room_id"))?)?;
    let claimed = call.query("user_id").map(UserId::parse).transpose()?;
    let caller = call.viewer(claimed)?;
    let limit = number_param(call.request, "limit", 1..=MAX_PAGE_SIZE, DEFAULT_PAGE_SIZE)?;
    let now = call.now;
    // By default the slots that have not started: a slot starting exactly now has.
    let from = call
        .time("from")?
        .unwrap_or(now + Duration::milliseconds(1));
    let to = call.time("to")?;
    if to.is_some_and(|to| to <= from) {
        return Err(Error::Validation("`to` must be after `from`.".into()));
    }
    let after = call
        .query("cursor")
        .map(|c| cursor::decode(c, &room))
        .transpose()?
        // A cursor before the window (a page left open while `from` = now moved past it) says
        // nothing the window does not: the page starts at `from`. DynamoDB refuses a start key
        // outside the query's range, so it is never sent one.
        .filter(|(start, _)| *start >= from);
    if let (Some((start, _)), Some(to)) = (&after, to)
        && *start >= to
    {
        // A cursor at or after the window's end: nothing follows it in the window.
        return Ok(json_response(
            StatusCode::OK,
            &SlotList {
                room_id: room.as_str(),
                slots: Vec::new(),
                next_cursor: None,
            },
        ));
    }
    let window = SlotWindow {
        from,
        to,
        after,
        limit,
    };
    let mut states = call.app.store.list_slots(&room, &window, now).await?;
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
