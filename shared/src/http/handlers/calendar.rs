//! Calendar files over HTTP: `GET /bookings/{reference}/booking.ics`, the booking's calendar
//! file behind its manage key (the booking page's "Add to calendar"), and a room's calendar feed
//! for its staff: `GET /rooms/{room_id}/calendar-feed` and `POST …/calendar-feed/rotate`
//! (operator) say whether it is on and make its key; `GET /rooms/{room_id}/calendar.ics?key=…`
//! is the feed (its key its only credential: calendar apps send no header). The key is 256
//! random bits, shown once by the rotation, kept only as its SHA-256 digest and compared in
//! constant time. The files themselves are written by [`crate::ics`], from plain values gathered
//! here.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use lambda_http::http::StatusCode;

use super::Answer;
use super::manage::managed;
use crate::domain::{Booking, HoldStatus, ManageKey, Room, RoomId, SlotId};
use crate::error::Error;
use crate::http::call::Call;
use crate::http::response::{calendar_response, json_response};
use crate::http::views::CalendarFeedView;
use crate::ics;
use crate::store::{Page, SheetWindow, SlotWindow, Store};

/// How far back a feed reaches: the day's earlier games stay in the staff's calendars while
/// they work through it (a subscribed calendar drops what the feed no longer has).
pub const FEED_LOOKBACK: Duration = Duration::days(1);

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
    Ok(calendar_response(text, Some("booking.ics")))
}

/// `GET /rooms/{room_id}/calendar-feed` (operator): whether the room's feed is on and when its
/// key was made. The key itself is never shown again (only its digest is kept): a lost URL is
/// replaced by rotating.
pub async fn feed_status(call: &Call<'_>) -> Answer {
    call.operator()?;
    let room: RoomId = call.path("room_id")?;
    let feed = call.app.store.calendar_feed(&room).await?;
    if feed.is_none() && call.app.store.get_room(&room).await?.is_none() {
        return Err(Error::RoomNotFound);
    }
    Ok(json_response(
        StatusCode::OK,
        &CalendarFeedView {
            room_id: room.as_str(),
            active: feed.is_some(),
            rotated_at: feed.map(|f| f.rotated_at),
            url: None,
        },
    ))
}

/// `POST /rooms/{room_id}/calendar-feed/rotate` (operator): a new key for the room's feed (the
/// old one stops working at once), in the store's one guarded write; the answer carries the
/// feed's URL with the key, the only time it is shown: `{PUBLIC_BASE_URL}/rooms/{room_id}/
/// calendar.ics?key=…` (without `PUBLIC_BASE_URL`, the path alone).
pub async fn rotate_feed(call: &Call<'_>) -> Answer {
    call.operator()?;
    let room: RoomId = call.path("room_id")?;
    let key = ManageKey::generate().map_err(|e| Error::Internal(e.0))?;
    // Stored in milliseconds: the answer says what a later look-up will.
    let now = DateTime::from_timestamp_millis(call.now.timestamp_millis()).unwrap_or(call.now);
    call.app
        .store
        .rotate_calendar_feed(&room, &key.digest(), now)
        .await?;
    let path = format!("/rooms/{room}/calendar.ics?key={}", key.as_str());
    let base = call.app.bookings.public_base_url.as_deref().unwrap_or("");
    Ok(json_response(
        StatusCode::OK,
        &CalendarFeedView {
            room_id: room.as_str(),
            active: true,
            rotated_at: Some(now),
            url: Some(format!("{base}{path}")),
        },
    ))
}

/// The feed of `room` if `key` is its current key; otherwise the one 404 (an unknown room, a
/// room without a feed, a missing, wrong or rotated-away key).
async fn feed_room(call: &Call<'_>) -> Result<Room, Error> {
    let not_found = Error::CalendarFeedNotFound;
    let Ok(room) = call.path::<RoomId>("room_id") else {
        return Err(not_found);
    };
    // A key is 43 characters; anything else can be no feed's (and is not hashed).
    let Some(key) = call.query("key").filter(|k| ManageKey::well_formed(k)) else {
        return Err(not_found);
    };
    match call.app.store.calendar_feed(&room).await? {
        Some(feed) if feed.key.matches(key) => {}
        _ => return Err(not_found),
    }
    call.app.store.get_room(&room).await?.ok_or(not_found)
}

/// The room's confirmed bookings whose games start in `window`, the earliest first, at most
/// `max`: the day sheet's pages, cancelled bookings left out.
async fn confirmed_bookings(
    call: &Call<'_>,
    room: &RoomId,
    (from, to): (DateTime<Utc>, DateTime<Utc>),
    max: usize,
) -> Result<Vec<Booking>, Error> {
    let mut bookings = Vec::new();
    let mut after = None;
    loop {
        let page = Page {
            after: after.take(),
            limit: crate::http::MAX_PAGE_SIZE,
        };
        let sheet = call
            .app
            .store
            .room_bookings(room, SheetWindow::Between(from, to), &page, call.now)
            .await?;
        bookings.extend(
            sheet
                .bookings
                .into_iter()
                .filter(|b| b.status == HoldStatus::Confirmed),
        );
        if bookings.len() >= max {
            bookings.truncate(max);
            return Ok(bookings);
        }
        match sheet.next {
            Some(next) => after = Some(next),
            None => return Ok(bookings),
        }
    }
}

/// `GET /rooms/{room_id}/calendar.ics?key=…`: the room's bookings from a day ago to
/// `CALENDAR_FEED_DAYS` ahead, at most `CALENDAR_FEED_MAX_EVENTS` (the earliest), one `VEVENT`
/// each: the party size and the contact's name in the summary, the contact, the reference and
/// the local time with the venue's zone in the description; `METHOD:PUBLISH`.
pub async fn room_feed(call: &Call<'_>) -> Answer {
    let room = feed_room(call).await?;
    let settings = &call.app.bookings;
    let zone = zone_of(Some(&room))?;
    let window = (
        call.now - FEED_LOOKBACK,
        call.now + Duration::days(i64::from(settings.feed_days)),
    );
    let max = settings.feed_max_events.unwrap_or(usize::MAX);
    let bookings = confirmed_bookings(call, &room.id, window, max).await?;
    let ends = match (bookings.first(), bookings.last()) {
        // The slots of the bookings' span (bounded by the window and the room's schedule).
        (Some(first), Some(last)) => {
            let span = (
                first.start_time,
                last.start_time + Duration::milliseconds(1),
            );
            slot_ends(
                call.app.store.as_ref(),
                &room.id,
                span,
                usize::MAX,
                call.now,
            )
            .await?
        }
        _ => HashMap::new(),
    };
    let host = ics::uid_host(settings.public_base_url.as_deref());
    let games: Vec<ics::Game> = bookings
        .iter()
        .map(|b| staff_game(b, &room, zone, &ends, &host))
        .collect();
    let name = format!("{} bookings", room.name);
    let text = ics::feed(&name, zone.name(), &games, call.now);
    Ok(calendar_response(text, None))
}

/// One booking as the staff see it in their calendar.
fn staff_game(
    booking: &Booking,
    room: &Room,
    zone: chrono_tz::Tz,
    ends: &HashMap<SlotId, DateTime<Utc>>,
    host: &str,
) -> ics::Game {
    let contact = booking.details.contact.as_ref();
    let reference = booking.details.reference.as_ref().map(|r| r.as_str());
    let players = booking.players.map(|n| format!("Players: {n}"));
    ics::Game {
        // A booking without a reference (made before references) is named by its hold.
        uid: ics::uid(reference.unwrap_or(&booking.hold_id.to_string()), host),
        start: booking.start_time,
        end: end_of(ends, &booking.slot_id, booking.start_time, Some(room)),
        summary: ics::staff_summary(
            &room.name,
            booking.players,
            contact.map(|c| c.name.as_str()),
        ),
        location: room.name.clone(),
        description: ics::lines(
            [
                Some(ics::local_when(booking.start_time, zone)),
                players,
                contact.map(|c| format!("Contact: {}", c.name)),
                contact.map(|c| format!("Email: {}", c.email)),
                contact
                    .and_then(|c| c.phone.as_ref())
                    .map(|p| format!("Phone: {p}")),
                reference.map(|r| format!("Reference: {r}")),
            ]
            .into_iter()
            .flatten(),
        ),
        url: None,
    }
}
