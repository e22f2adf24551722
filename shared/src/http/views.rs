//! The answers' JSON shapes: what the API shows of slots, holds, bookings, rooms and schedules.
//! Times are RFC 3339 UTC (`domain::rfc3339`); `local_start` is the venue's wall-clock time.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::domain::{
    self, Booking, Contact, Hold, HoldStatus, Reference, Room, SlotStatus, ViewStatus,
};
use crate::schedule::{Schedule, Weekly};

/// A time in the venue's zone, with its offset (`2026-12-07T19:30:00+01:00`).
pub fn local(time: DateTime<Utc>, zone: chrono_tz::Tz) -> String {
    time.with_timezone(&zone)
        .fixed_offset()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
}

#[derive(Serialize)]
pub struct SlotList<'a> {
    pub room_id: &'a str,
    pub slots: Vec<SlotView<'a>>,
    pub next_cursor: Option<String>,
}

#[derive(Serialize)]
pub struct SlotView<'a> {
    pub slot_id: &'a str,
    pub room_id: &'a str,
    #[serde(with = "domain::rfc3339")]
    pub start_time: DateTime<Utc>,
    #[serde(with = "domain::rfc3339")]
    pub end_time: DateTime<Utc>,
    /// The start in the venue's time zone, with its offset (`2026-12-07T19:30:00+01:00`).
    pub local_start: String,
    pub status: SlotStatus,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "domain::rfc3339::option::serialize"
    )]
    pub expires_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hold_id: Option<String>,
}

#[derive(Serialize)]
pub struct HoldCreated<'a> {
    pub hold_id: &'a str,
    pub slot_id: &'a str,
    pub user_id: &'a str,
    pub status: HoldStatus,
    #[serde(with = "domain::rfc3339")]
    pub expires_at: DateTime<Utc>,
}

#[derive(Serialize)]
pub struct HoldConfirmed<'a> {
    pub hold_id: String,
    pub slot_id: &'a str,
    pub status: HoldStatus,
    /// The booking's reference (absent only for a booking made before references existed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference: Option<&'a str>,
    /// The manage link's secret: only in the answer of the confirm that made the booking (a
    /// retry's answer cannot carry it: only its digest is stored).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manage_key: Option<&'a str>,
    /// `{PUBLIC_BASE_URL}/booking/{reference}#key={manage_key}`, when `PUBLIC_BASE_URL` is set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manage_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact: Option<&'a Contact>,
}

/// The answer of release and cancel.
#[derive(Serialize)]
pub struct HoldChanged {
    pub hold_id: String,
    pub status: HoldStatus,
}

#[derive(Serialize)]
pub struct HoldExtended {
    pub hold_id: String,
    pub status: HoldStatus,
    #[serde(with = "domain::rfc3339")]
    pub expires_at: DateTime<Utc>,
}

#[derive(Serialize)]
pub struct HoldView<'a> {
    pub hold_id: String,
    pub slot_id: &'a str,
    pub user_id: &'a str,
    pub status: ViewStatus,
    #[serde(with = "domain::rfc3339")]
    pub expires_at: DateTime<Utc>,
    pub seconds_left: i64,
    pub extended: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub players: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact: Option<&'a Contact>,
}

impl<'a> HoldView<'a> {
    pub fn of(hold: &'a Hold, now: DateTime<Utc>) -> Self {
        Self {
            hold_id: hold.id.to_string(),
            slot_id: hold.slot_id.as_str(),
            user_id: hold.user_id.as_str(),
            status: hold.view_status(now),
            expires_at: hold.expires_at,
            seconds_left: hold.seconds_left(now),
            extended: hold.extended,
            players: hold.players,
            reference: hold.details.reference.as_ref().map(Reference::as_str),
            contact: hold.details.contact.as_ref(),
        }
    }
}

#[derive(Serialize)]
pub struct UserHolds<'a> {
    pub user_id: &'a str,
    pub holds: Vec<UserHoldView<'a>>,
    /// Where the next page begins (`null`: this is the last).
    pub next_cursor: Option<String>,
}

#[derive(Serialize)]
pub struct UserHoldView<'a> {
    pub hold_id: String,
    pub slot_id: &'a str,
    pub room_id: &'a str,
    #[serde(with = "domain::rfc3339")]
    pub start_time: DateTime<Utc>,
    pub status: ViewStatus,
    #[serde(with = "domain::rfc3339")]
    pub expires_at: DateTime<Utc>,
    pub seconds_left: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub players: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact: Option<&'a Contact>,
}

/// `GET /bookings/{reference}`: the booking as its manage link shows it, in the venue's zone.
#[derive(Serialize)]
pub struct ManagedBookingView<'a> {
    pub reference: &'a str,
    pub hold_id: String,
    pub slot_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub room_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub room_name: Option<&'a str>,
    #[serde(with = "domain::rfc3339")]
    pub start_time: DateTime<Utc>,
    pub local_start: String,
    pub time_zone: &'a str,
    pub status: ViewStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub players: Option<u32>,
    /// Until when the booking can be cancelled by its link (the room's cut-off; the service's
    /// `CANCEL_CUTOFF_MINUTES` may make it earlier).
    #[serde(with = "domain::rfc3339")]
    pub cancel_by: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact: Option<&'a Contact>,
}

#[derive(Serialize)]
pub struct DaySheetView<'a> {
    pub room_id: &'a str,
    pub time_zone: &'a str,
    #[serde(with = "domain::rfc3339")]
    pub from: DateTime<Utc>,
    #[serde(with = "domain::rfc3339")]
    pub to: DateTime<Utc>,
    pub bookings: Vec<BookingView<'a>>,
    /// Where the next page begins (`null`: this is the last).
    pub next_cursor: Option<String>,
}

#[derive(Serialize)]
pub struct BookingView<'a> {
    pub hold_id: String,
    pub slot_id: &'a str,
    #[serde(with = "domain::rfc3339")]
    pub start_time: DateTime<Utc>,
    pub local_start: String,
    pub user_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub players: Option<u32>,
    pub status: HoldStatus,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "domain::rfc3339::option::serialize"
    )]
    pub confirmed_at: Option<DateTime<Utc>>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "domain::rfc3339::option::serialize"
    )]
    pub cancelled_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cancelled_by: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact: Option<&'a Contact>,
}

impl<'a> BookingView<'a> {
    pub fn of(booking: &'a Booking, zone: chrono_tz::Tz) -> Self {
        Self {
            hold_id: booking.hold_id.to_string(),
            slot_id: booking.slot_id.as_str(),
            start_time: booking.start_time,
            local_start: local(booking.start_time, zone),
            user_id: booking.user_id.as_str(),
            players: booking.players,
            status: booking.status,
            confirmed_at: booking.confirmed_at,
            cancelled_at: booking.cancelled_at,
            cancelled_by: booking.cancelled_by.as_deref(),
            reason: booking.reason.as_deref(),
            reference: booking.details.reference.as_ref().map(Reference::as_str),
            contact: booking.details.contact.as_ref(),
        }
    }
}

#[derive(Serialize)]
pub struct RoomList<'a> {
    pub rooms: Vec<RoomView<'a>>,
}

/// What applying a schedule did: `planned` slots in the horizon, of which `created` were new;
/// `removed` free slots the schedule no longer has; `kept` held or booked ones it no longer has.
#[derive(Serialize)]
pub struct ScheduleApplied<'a> {
    pub room_id: &'a str,
    pub planned: usize,
    pub created: usize,
    /// Existing free slots moved to the plan's times (a new time zone or game length).
    pub updated: usize,
    /// Planned games not offered because a kept (held or booked) slot overlaps them.
    pub skipped: usize,
    pub removed: usize,
    pub kept: Vec<KeptSlot<'a>>,
}

#[derive(Serialize)]
pub struct KeptSlot<'a> {
    pub slot_id: &'a str,
    #[serde(with = "domain::rfc3339")]
    pub start_time: DateTime<Utc>,
    pub status: &'static str,
}

/// The answer of `DELETE /rooms/{room_id}`: what retiring the room did.
#[derive(Serialize)]
pub struct RoomRetired {
    pub room_id: String,
    /// Always `RETIRED`.
    pub status: &'static str,
    /// The bookings cancelled as the operator's cancellations (`cancel_bookings=true`).
    pub cancelled_bookings: Vec<String>,
    /// The live holds released.
    pub released_holds: Vec<String>,
    /// DynamoDB only: bookings confirmed in the moment between the check and their slot's
    /// freeze, without `cancel_bookings=true`; left for the operator to cancel.
    pub kept_bookings: Vec<String>,
}

/// A room as the API shows it: its rules, and `capacity` = `max_players`.
#[derive(Serialize)]
pub struct RoomView<'a> {
    pub room_id: &'a str,
    pub name: &'a str,
    pub capacity: u32,
    pub time_zone: &'a str,
    pub min_players: u32,
    pub max_players: u32,
    pub duration_minutes: u32,
    pub buffer_minutes: u32,
    pub min_notice_minutes: u32,
    pub max_advance_days: u32,
    pub cancel_cutoff_minutes: u32,
}

impl<'a> RoomView<'a> {
    pub fn of(room: &'a Room) -> Self {
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

/// A schedule as `GET /rooms/{room_id}/schedule` shows it: as it was published, except that a
/// closure's `reason` is for staff (an operator's request) and left out for everyone else.
#[derive(Serialize)]
pub struct ScheduleView<'a> {
    pub weekly: &'a [Weekly],
    pub closed: Vec<ClosureView<'a>>,
}

/// A closure's dates (`YYYY-MM-DD`, as the schedule's JSON writes them) and, to staff, its reason.
#[derive(Serialize)]
pub struct ClosureView<'a> {
    pub from: String,
    pub to: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'a str>,
}

impl<'a> ScheduleView<'a> {
    /// `schedule` as `staff` (with the reasons) or anyone else sees it.
    pub fn of(schedule: &'a Schedule, staff: bool) -> Self {
        let date = |d: chrono::NaiveDate| d.format("%Y-%m-%d").to_string();
        Self {
            weekly: &schedule.weekly,
            closed: schedule
                .closed
                .iter()
                .map(|closure| ClosureView {
                    from: date(closure.from),
                    to: date(closure.to),
                    reason: staff.then_some(closure.reason.as_str()),
                })
                .collect(),
        }
    }
}

/// The answer of a schedule preview: every slot of the window and what publishing would do to it.
#[derive(Serialize)]
pub struct SchedulePreview<'a> {
    pub room_id: &'a str,
    pub time_zone: &'a str,
    #[serde(with = "domain::rfc3339")]
    pub from: DateTime<Utc>,
    #[serde(with = "domain::rfc3339")]
    pub to: DateTime<Utc>,
    /// Slots the schedule makes over the whole horizon (what publishing answers as `planned`).
    pub planned: usize,
    pub slots: Vec<PreviewSlotView<'a>>,
}

#[derive(Serialize)]
pub struct PreviewSlotView<'a> {
    pub slot_id: &'a str,
    #[serde(with = "domain::rfc3339")]
    pub start_time: DateTime<Utc>,
    #[serde(with = "domain::rfc3339")]
    pub end_time: DateTime<Utc>,
    pub local_start: String,
    pub change: crate::horizon::Change,
    pub status: crate::horizon::Occupancy,
}

/// `POST /players`' answer: the new player and their token.
#[derive(Serialize)]
pub struct PlayerCreated<'a> {
    pub player_id: &'a str,
    pub token: &'a str,
    #[serde(with = "domain::rfc3339")]
    pub expires_at: DateTime<Utc>,
}

/// `GET /service`'s answer. A cap of `0` is no cap.
#[derive(Serialize)]
pub struct ServiceView {
    pub player_auth: &'static str,
    pub hold_ttl_seconds: i64,
    pub max_live_holds_per_player: u32,
    pub max_upcoming_bookings_per_player: u32,
}

/// `GET /rooms/{room_id}/calendar-feed` and its rotation: whether the room's staff calendar
/// feed is on; `url` (with the key) only in the rotation's answer, the one time it is shown.
#[derive(Serialize)]
pub struct CalendarFeedView<'a> {
    pub room_id: &'a str,
    pub active: bool,
    #[serde(serialize_with = "domain::rfc3339::option::serialize")]
    pub rotated_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}
