//! A room's weekly schedule: read it, publish it (its slots made to the horizon), and preview
//! what publishing would change without writing.

use chrono::Duration;
use lambda_http::http::StatusCode;

use super::Answer;
use crate::domain::{Room, RoomId};
use crate::error::Error;
use crate::horizon::{self, PreviewSlot};
use crate::http::call::Call;
use crate::http::extract::number_param;
use crate::http::response::json_response;
use crate::http::views::{
    KeptSlot, PreviewSlotView, ScheduleApplied, SchedulePreview, ScheduleView, local,
};
use crate::schedule::{self, PlannedSlot, Schedule};

/// How many days a preview shows when the request names none, and the most it may name.
pub const DEFAULT_PREVIEW_DAYS: usize = 7;
pub const MAX_PREVIEW_DAYS: usize = 31;

/// `GET /rooms/{room_id}/schedule`: anyone reads it; the closures' reasons only a request that
/// proves an operator (a player's token, in `guest` mode, reads it as a player; credentials the
/// route does not accept were answered 401 before).
pub async fn get(call: &Call<'_>) -> Answer {
    let room: RoomId = call.path("room_id")?;
    let staff = call.operator().is_ok();
    let schedule = call
        .app
        .store
        .get_schedule(&room)
        .await?
        .ok_or(Error::ScheduleNotFound)?;
    Ok(json_response(
        StatusCode::OK,
        &ScheduleView::of(&schedule, staff),
    ))
}

/// The operator's schedule for the room in the path, held to the limits and validated against
/// the room's rules, and the room's slots it plans from now to the horizon (at most
/// `SCHEDULE_MAX_PLANNED_SLOTS` of them, counted before anything is written).
async fn planned(call: &Call<'_>) -> Result<(Room, Schedule, Vec<PlannedSlot>), Error> {
    call.operator()?;
    let id: RoomId = call.path("room_id")?;
    let schedule: Schedule = call.body()?;
    let limits = call.app.schedule_limits();
    schedule::validate_limits(&schedule, &limits)?;
    schedule::validate_room_id_for_schedule(&id)?;
    let room = call
        .app
        .store
        .get_room(&id)
        .await?
        .ok_or(Error::RoomNotFound)?;
    let rules = horizon::rules(&room)?;
    schedule::validate(&schedule, &rules)?;
    let planned = schedule::plan_within(
        &schedule,
        &rules,
        &room.id,
        call.now,
        horizon::horizon_end(&room, call.now),
        limits.planned_slots,
    )?;
    Ok((room, schedule, planned))
}

/// `PUT /rooms/{room_id}/schedule` (operator): stores the room's weekly schedule and makes its
/// slots from now to `max_advance_days` ahead the schedule's, in the room's time zone.
pub async fn put(call: &Call<'_>) -> Answer {
    let (room, schedule, planned) = planned(call).await?;
    let now = call.now;
    let applied = call
        .app
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
            room_id: room.id.as_str(),
            planned: planned.len(),
            created: applied.created,
            updated: applied.updated,
            skipped: applied.skipped,
            removed: applied.removed,
            kept,
        },
    ))
}

/// `POST /rooms/{room_id}/schedule/preview[?days=N]` (operator): what `PUT` of the same body
/// would do to the room's slots in the next `days` (1–31, default 7), decided as `PUT` decides
/// it (`horizon::preview`), without writing. Reads the room and its slots of the window (and of
/// a day beyond, for a kept slot that overlaps a planned one at the window's end).
pub async fn preview(call: &Call<'_>) -> Answer {
    let days = number_param(
        call.request,
        "days",
        1..=MAX_PREVIEW_DAYS,
        DEFAULT_PREVIEW_DAYS,
    )?;
    let (room, _, planned) = planned(call).await?;
    let now = call.now;
    let to = (now + Duration::days(days as i64)).min(horizon::horizon_end(&room, now));
    let existing = horizon::slots_between(
        call.app.store.as_ref(),
        &room.id,
        now,
        to + Duration::days(1),
        now,
    )
    .await?;
    let changes: Vec<PreviewSlot> = horizon::preview(&planned, &existing, now)
        .into_iter()
        .filter(|slot| slot.start_time < to)
        .collect();
    let zone = horizon::rules(&room)?.time_zone;
    let slots = changes
        .iter()
        .map(|slot| PreviewSlotView {
            slot_id: &slot.slot_id,
            start_time: slot.start_time,
            end_time: slot.end_time,
            local_start: local(slot.start_time, zone),
            change: slot.change,
            status: slot.status,
        })
        .collect();
    Ok(json_response(
        StatusCode::OK,
        &SchedulePreview {
            room_id: room.id.as_str(),
            time_zone: zone.name(),
            from: now,
            to,
            planned: planned.len(),
            slots,
        },
    ))
}
