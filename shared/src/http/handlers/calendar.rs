//! Calendar files over HTTP: `GET /bookings/{reference}/booking.ics`, the booking's calendar
//! file behind its manage key (the booking page's "Add to calendar"). The files themselves are
//! written by [`crate::ics`], from plain values gathered here.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};

use super::Answer;
use super::manage::managed;
use crate::domain::{HoldStatus, Room, RoomId, SlotId};
use crate::error::Error;
use crate::http::call::Call;
use crate::http::response::calendar_response;
use crate::ics;
use crate::store::{SlotWindow, Store};

/// The venue's zone of `room` (UTC without a room).
pub(crate) fn zone_of(room: Option<&Room>) -> Result<chrono_tz::Tz, Error> {
    match room {
        Some(room) => room.policy.time_zone.parse().map_err(|_| {
            Error::Internal(format!(
                "room {} has time zone {}",
                room.id, room.policy.time_zone
            ))
        }),
        None => Ok(chrono_tz::UTC),
    }
}

/// The end times of `room`'s slots starting in `[from, to)`, by slot id: the listing's pages
/// (a booked slot keeps its times, so these are the booked games' ends). At most `max` slots
/// are read; a game whose slot is not among them ends by its room's game length (see
/// [`end_of`]).
pub(crate) async fn slot_ends(
    store: &dyn Store,
    room: &RoomId,
    (from, to): (DateTime<Utc>, DateTime<Utc>),
    max: usize,
    now: DateTime<Utc>,
) -> Result<HashMap<SlotId, DateTime<Utc>>, Error> {
    let mut ends = HashMap::new();
    let mut after = None;
    while ends.len() < max {
        let window = SlotWindow {
            from,
            to: Some(to),
            after: after.take(),
            limit: (max - ends.len()).min(crate::http::MAX_PAGE_SIZE),
        };
        let page = store.list_slots(room, &window, now).await?;
        let more = page.len() > window.limit;
        for state in page.into_iter().take(window.limit) {
            after = Some((state.slot.start_time, state.slot.id.clone()));
            ends.insert(state.slot.id, state.slot.end_time);
        }
        if !more {
            break;
        }
    }
    Ok(ends)
}

/// A game's end: its slot's, or, when the slot is gone (a cancelled booking's slot may be
/// removed or moved by a new schedule), its start plus the room's game length.
pub(crate) fn end_of(
    ends: &HashMap<SlotId, DateTime<Utc>>,
    slot: &SlotId,
    start: DateTime<Utc>,
    room: Option<&Room>,
) -> DateTime<Utc> {
    ends.get(slot).copied().unwrap_or_else(|| {
        let minutes = room.map_or(90, |r| r.policy.duration_minutes);
        start + Duration::minutes(i64::from(minutes))
    })
}

/// `GET /bookings/{reference}/booking.ics`: the booking as an RFC 5545 file, behind the same
/// manage key as `GET /bookings/{reference}` (a missing or wrong key: 404). A confirmed booking
/// is a `METHOD:REQUEST` (`SEQUENCE:0`); a cancelled one its `METHOD:CANCEL` (`SEQUENCE:1`,
/// `STATUS:CANCELLED`), the same file its cancellation email attaches.
pub async fn booking_ics(call: &Call<'_>) -> Answer {
    let booking = managed(call).await?;
    let room = match &booking.room_id {
        Some(room) => call.app.store.get_room(room).await?,
        None => None,
    };
    let zone = zone_of(room.as_ref())?;
    let hold = &booking.hold;
    let reference = hold.details.reference.as_ref().ok_or_else(|| {
        Error::Internal(format!("booking of hold {} without a reference", hold.id))
    })?;
    let ends = match &booking.room_id {
        // The one slot that starts at the game's start: one listing request.
        Some(room_id) => {
            let window = (hold.starts_at, hold.starts_at + Duration::milliseconds(1));
            slot_ends(call.app.store.as_ref(), room_id, window, 1, call.now).await?
        }
        None => HashMap::new(),
    };
    let base = call.app.bookings.public_base_url.as_deref();
    let host = ics::uid_host(base);
    let facts = ics::BookingFacts {
        reference: reference.as_str(),
        room_name: room.as_ref().map_or("Escape room", |r| r.name.as_str()),
        start: hold.starts_at,
        end: end_of(&ends, &hold.slot_id, hold.starts_at, room.as_ref()),
        zone,
        players: hold.players,
        page: base.map(|base| format!("{base}/booking/{reference}")),
        uid_host: &host,
    };
    let method = if hold.status == HoldStatus::Cancelled {
        ics::Method::Cancel
    } else {
        ics::Method::Request
    };
    let text = ics::booking(&ics::player_game(&facts), method, call.now);
    Ok(calendar_response(text, "booking.ics"))
}
