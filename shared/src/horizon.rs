//! A room's schedule applied to its slots: the daily horizon run (every scheduled room's slots
//! made up to `max_advance_days` ahead), and the preview of what publishing a schedule would
//! change. Above `store` (it calls the store) and below `http`, so the local
//! server, the `extend-horizon` function and the `seed` command call it without an `App`.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use crate::config::BookingSettings;
use crate::domain::{Room, RoomId, SlotState};
use crate::error::Error;
use crate::schedule::{self, PlannedSlot, RoomRules, Schedule};
use crate::store::{SlotWindow, Store};

/// What a daily horizon run did for one room.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HorizonRun {
    pub room_id: RoomId,
    pub created: usize,
    pub removed: usize,
    pub kept: usize,
}

/// A room's rules as the schedule planner takes them.
pub fn rules(room: &Room) -> Result<RoomRules, Error> {
    Ok(RoomRules {
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

/// The end of the room's bookable window seen at `now`: `max_advance_days` ahead.
pub fn horizon_end(room: &Room, now: DateTime<Utc>) -> DateTime<Utc> {
    now + Duration::days(i64::from(room.policy.max_advance_days))
}

/// The room's slots from `now` to its horizon (`max_advance_days` ahead).
pub fn plan(
    room: &Room,
    schedule: &Schedule,
    rules: &RoomRules,
    now: DateTime<Utc>,
) -> Vec<PlannedSlot> {
    schedule::plan(schedule, rules, &room.id, now, horizon_end(room, now))
}

/// Moves every scheduled room's horizon to `now` + its `max_advance_days`: re-applies each
/// stored schedule (the new day's slots created; as any application, free slots the schedule
/// does not have are removed). Run daily by the `extend-horizon` function on AWS and by the
/// local server; idempotent, so two runs at once change nothing twice. The same daily run
/// forgets the `Idempotency-Key`s older than their 24-hour window.
pub async fn extend_horizons(
    store: &dyn Store,
    now: DateTime<Utc>,
) -> Result<Vec<HorizonRun>, Error> {
    let forgotten = store
        .forget_idempotency_keys(now - crate::store::IDEMPOTENCY_WINDOW)
        .await?;
    if forgotten > 0 {
        tracing::info!(
            forgotten,
            "idempotency keys older than their window removed"
        );
    }
    let mut runs = Vec::new();
    for room in store.list_rooms().await? {
        let Some(schedule) = store.get_schedule(&room.id).await? else {
            continue;
        };
        let planned = plan(&room, &schedule, &rules(&room)?, now);
        let applied = store
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

/// The daily job: the contacts of bookings whose game ended more than `contact_retention` ago
/// are erased ([`Store::erase_contacts`]), the booking events older than `event_retention`
/// forgotten with their deliveries ([`crate::store::Outbox::forget_events`]), then every
/// scheduled room's horizon is moved ([`extend_horizons`]). Run by the local server and the
/// `extend-horizon` function.
pub async fn daily(
    store: &dyn Store,
    retention: &BookingSettings,
    now: DateTime<Utc>,
) -> Result<Vec<HorizonRun>, Error> {
    let erased = store
        .erase_contacts(now - retention.contact_retention)
        .await?;
    if erased > 0 {
        tracing::info!(
            erased,
            "contact details erased from bookings past CONTACT_RETENTION_DAYS"
        );
    }
    let forgotten = store.forget_events(now - retention.event_retention).await?;
    if forgotten > 0 {
        tracing::info!(forgotten, "booking events past EVENT_RETENTION_DAYS erased");
    }
    extend_horizons(store, now).await
}

/// What publishing a schedule would do to one slot (see [`preview`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Change {
    /// Planned and not there yet: publishing makes it.
    Create,
    /// There and staying: planned with the same times, or held or booked and no longer planned.
    Keep,
    /// There, free, planned with other times: publishing moves it.
    Move,
    /// There, free, no longer planned: publishing removes it.
    Remove,
    /// Planned, but a kept held or booked slot overlaps it: not made.
    Skip,
}

/// An existing slot's state at the preview's `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Occupancy {
    Free,
    Held,
    Booked,
}

/// One slot of a preview: its times after publishing (a removed slot's current ones).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviewSlot {
    pub slot_id: String,
    pub start_time: DateTime<Utc>,
    pub end_time: DateTime<Utc>,
    pub change: Change,
    pub status: Occupancy,
}

fn occupancy(state: &SlotState, now: DateTime<Utc>) -> Occupancy {
    if state.booked {
        Occupancy::Booked
    } else if state.hold.as_ref().is_some_and(|h| h.expires_at > now) {
        Occupancy::Held
    } else {
        Occupancy::Free
    }
}

/// What applying `planned` would do to the `existing` slots (those starting at or after the
/// plan's start), decided exactly as `Store::apply_schedule` decides it: a planned slot that
/// exists stays (moved when free with other times); an existing slot not planned is removed when
/// free and kept when held or booked; a planned slot that does not exist is made unless a kept
/// slot overlaps it. Pure: `now` tells a live hold from an expired one. In start order.
pub fn preview(
    planned: &[PlannedSlot],
    existing: &[SlotState],
    now: DateTime<Utc>,
) -> Vec<PreviewSlot> {
    use std::collections::HashMap;
    let wanted: HashMap<&str, &PlannedSlot> =
        planned.iter().map(|p| (p.slot_id.as_str(), p)).collect();
    let mut out = Vec::with_capacity(planned.len() + existing.len());
    let mut kept = Vec::new();
    let mut there = std::collections::HashSet::new();
    for state in existing {
        let status = occupancy(state, now);
        let slot = &state.slot;
        there.insert(slot.id.as_str());
        let (change, start_time, end_time) = match wanted.get(slot.id.as_str()) {
            Some(plan)
                if status == Occupancy::Free
                    && (plan.start_time, plan.end_time) != (slot.start_time, slot.end_time) =>
            {
                (Change::Move, plan.start_time, plan.end_time)
            }
            Some(_) => (Change::Keep, slot.start_time, slot.end_time),
            None if status == Occupancy::Free => (Change::Remove, slot.start_time, slot.end_time),
            None => {
                kept.push((slot.start_time, slot.end_time));
                (Change::Keep, slot.start_time, slot.end_time)
            }
        };
        out.push(PreviewSlot {
            slot_id: slot.id.as_str().to_owned(),
            start_time,
            end_time,
            change,
            status,
        });
    }
    for plan in planned
        .iter()
        .filter(|p| !there.contains(p.slot_id.as_str()))
    {
        let overlapped = kept
            .iter()
            .any(|&(start, end)| start < plan.end_time && plan.start_time < end);
        out.push(PreviewSlot {
            slot_id: plan.slot_id.as_str().to_owned(),
            start_time: plan.start_time,
            end_time: plan.end_time,
            change: if overlapped {
                Change::Skip
            } else {
                Change::Create
            },
            status: Occupancy::Free,
        });
    }
    out.sort_by(|a, b| (a.start_time, &a.slot_id).cmp(&(b.start_time, &b.slot_id)));
    out
}

/// The room's slots starting in `[from, to)`, every page of them (a preview's window is bounded
/// by its caller, so this is a few pages at most).
pub async fn slots_between(
    store: &dyn Store,
    room: &RoomId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Vec<SlotState>, Error> {
    const PAGE: usize = 200;
    let mut all: Vec<SlotState> = Vec::new();
    loop {
        let after = all.last().map(|s| (s.slot.start_time, s.slot.id.clone()));
        let window = SlotWindow {
            from,
            to: Some(to),
            after,
            limit: PAGE,
        };
        let mut page = store.list_slots(room, &window, now).await?;
        let more = page.len() > PAGE;
        page.truncate(PAGE);
        all.extend(page);
        if !more {
            return Ok(all);
        }
    }
}
