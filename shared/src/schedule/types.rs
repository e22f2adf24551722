//! A schedule and what it means: its types (the API's JSON body, a room's rules, a planned
//! slot), and the starts of each weekday and the closed dates that planning and validation read.

use std::collections::BTreeSet;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime, Timelike, Utc, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::json::{clock_times, day_names, iso_date};
use crate::domain::SlotId;

/// Local start times on some weekdays: a game starts at each of `starts` on each of `days`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Weekly {
    /// `MON`..`SUN` in JSON.
    #[serde(with = "day_names")]
    pub days: Vec<Weekday>,
    /// Local wall-clock times, `HH:MM` in JSON. Seconds are ignored: a game starts on a minute.
    #[serde(with = "clock_times")]
    pub starts: Vec<NaiveTime>,
}

/// Local dates on which no game starts, `from` and `to` both included.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Closure {
    /// The first closed local date, `YYYY-MM-DD` in JSON.
    #[serde(with = "iso_date")]
    pub from: NaiveDate,
    /// The last closed local date (inclusive), `YYYY-MM-DD` in JSON.
    #[serde(with = "iso_date")]
    pub to: NaiveDate,
    /// Why (for staff: `GET` shows it to operators only); empty when left out.
    #[serde(default)]
    pub reason: String,
}

/// A venue's weekly schedule: the start times of all `weekly` entries merged (a start listed
/// twice is one game), less the `closed` dates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    pub weekly: Vec<Weekly>,
    #[serde(default)]
    pub closed: Vec<Closure>,
}

/// What a room's games are like: where the room is (its time zone), how long a game lasts, and
/// how long the room needs between two games.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoomRules {
    pub time_zone: Tz,
    /// Real, elapsed minutes of one game (at least 1).
    pub duration_minutes: u32,
    /// Minutes the room needs after a game before the next one starts.
    pub buffer_minutes: u32,
}

/// One concrete game of a room, as [`plan`](super::plan) makes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedSlot {
    /// `{room}.{YYYYMMDD}T{HHMM}` of the local start: the same on every re-plan.
    pub slot_id: SlotId,
    pub start_time: DateTime<Utc>,
    /// `start_time` plus the game's duration in real minutes.
    pub end_time: DateTime<Utc>,
    /// The start in the room's zone, with the offset in force at that instant.
    pub local_start: DateTime<FixedOffset>,
}

/// The starts of each weekday (Monday first), all entries merged, on whole minutes.
pub(super) fn week_starts(schedule: &Schedule) -> [BTreeSet<NaiveTime>; 7] {
    let mut week: [BTreeSet<NaiveTime>; 7] = Default::default();
    for weekly in &schedule.weekly {
        for &day in &weekly.days {
            for &start in &weekly.starts {
                if let Some(minute) = NaiveTime::from_hms_opt(start.hour(), start.minute(), 0) {
                    week[day_index(day)].insert(minute);
                }
            }
        }
    }
    week
}

/// Whether a closure of the schedule covers the local `date`.
pub(super) fn is_closed(schedule: &Schedule, date: NaiveDate) -> bool {
    schedule
        .closed
        .iter()
        .any(|closure| closure.from <= date && date <= closure.to)
}

/// The index of `day` in a week that starts on Monday (0 to 6).
pub(super) fn day_index(day: Weekday) -> usize {
    day.num_days_from_monday() as usize
}
