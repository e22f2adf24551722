//! A venue's weekly schedule, in the venue's own time zone, turned into concrete slots.
//!
//! A [`Schedule`] says which local times games start on which weekdays ("MON–FRI at 10:00 and
//! 13:30") and which local dates the venue is closed. [`validate`] refuses a schedule whose games
//! would overlap; [`plan`] turns it into the slots of a UTC window for one room.
//!
//! Pure: no I/O and no clock; the window is an argument. Time zones are IANA zones from
//! `chrono-tz`, so daylight saving time follows the tz database:
//! - a start that does not exist on a day (it falls in the hour the clocks skip when they go
//!   forward) is not played that day;
//! - a start that exists twice on a day (the clocks go back) is played once, at its first
//!   occurrence (the earlier instant);
//! - a game lasts its real, elapsed `duration_minutes`, so on those days its local end time moves;
//! - on the day the clocks go forward, two games far enough apart on the wall clock can be closer
//!   in real time; then the later one is not offered that day (the earlier, already under way,
//!   keeps the room).
//!
//! Slot ids are stable: a slot's id is its room and its local start,
//! `{room}.{YYYYMMDD}T{HHMM}`, so planning again (or over an overlapping window) finds the same
//! ids. That needs room ids of at most [`MAX_SCHEDULED_ROOM_ID_LEN`] characters
//! ([`validate_room_id_for_schedule`]).
//!
//! The JSON form (the API's):
//! ```json
//! {"weekly": [{"days": ["MON", "TUE"], "starts": ["10:00", "13:30"]}],
//!  "closed": [{"from": "2026-12-24", "to": "2026-12-26", "reason": "Christmas"}]}
//! ```
//! Days are `MON`..`SUN`, starts `HH:MM` (24-hour), dates `YYYY-MM-DD`; `closed` and `reason` may
//! be left out; unknown fields are refused.
//!
//! By concern, in private modules re-exported here (every item is `schedule::X`): `types` (the
//! schedule, a room's rules, a planned slot, and what a schedule means day by day), `json` (the
//! JSON spellings of days, times and dates), `validate` ([`validate`],
//! [`validate_room_id_for_schedule`]), `plan` ([`plan`]) and `limits` (how much one schedule may
//! ask for: [`Limits`], [`validate_limits`], [`plan_within`]).

use chrono::Weekday;

mod json;
mod limits;
mod plan;
mod types;
mod validate;

pub use limits::{Limits, plan_within, validate_limits};
pub use plan::plan;
pub use types::{Closure, PlannedSlot, RoomRules, Schedule, Weekly};
pub use validate::{validate, validate_room_id_for_schedule};

/// The longest room id that can have a schedule: a slot id is the room id followed by
/// `.YYYYMMDDTHHMM` (14 characters) and is at most 64 characters long.
pub const MAX_SCHEDULED_ROOM_ID_LEN: usize = 50;

const MINUTES_PER_DAY: u32 = 24 * 60;
const MINUTES_PER_WEEK: u32 = 7 * MINUTES_PER_DAY;

/// The weekdays in order, Monday first.
const WEEK: [Weekday; 7] = [
    Weekday::Mon,
    Weekday::Tue,
    Weekday::Wed,
    Weekday::Thu,
    Weekday::Fri,
    Weekday::Sat,
    Weekday::Sun,
];

#[cfg(test)]
mod tests;
