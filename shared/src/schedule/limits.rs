//! How much work one schedule may ask for: starts a day, weekly entries, closures, the length of
//! a closure's reason, and the slots one publication plans. Pure: the limits are an argument
//! (the service reads them once at start, see `config::Limits`), `None` is no limit.
//!
//! Every check runs before anything is written, and costs at most a pass over the body and a
//! count per day of the window: a schedule far over the planned-slot limit (one-minute games
//! every minute for 366 days, about 527,000 slots) is refused from its count, without planning.

use chrono::{DateTime, Datelike, Days, NaiveDate, Utc};

use super::types::{day_index, is_closed, week_starts};
use super::{PlannedSlot, RoomRules, Schedule, plan};
use crate::domain::{Invalid, RoomId};

/// The limits a schedule is held to; `None`: none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Distinct start times on one weekday, all entries merged (and the `starts` of one entry).
    pub starts_per_day: Option<usize>,
    /// Entries in `weekly`.
    pub weekly_entries: Option<usize>,
    /// Entries in `closed`.
    pub closures: Option<usize>,
    /// Characters (Unicode scalar values) of one closure's `reason`.
    pub reason_chars: Option<usize>,
    /// Slots one publication plans, from now to the room's horizon.
    pub planned_slots: Option<usize>,
}

impl Limits {
    /// The service's defaults: 48 starts a day, 50 weekly entries, 400 closures, 200-character
    /// reasons, 20,000 planned slots.
    pub const DEFAULT: Self = Self {
        starts_per_day: Some(48),
        weekly_entries: Some(50),
        closures: Some(400),
        reason_chars: Some(200),
        planned_slots: Some(20_000),
    };

    /// No limit at all.
    pub const OFF: Self = Self {
        starts_per_day: None,
        weekly_entries: None,
        closures: None,
        reason_chars: None,
        planned_slots: None,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Refuses a schedule over a limit of its own shape (all but the planned slots, which need the
/// room: [`plan_within`]), naming the limit and its maximum.
pub fn validate_limits(schedule: &Schedule, limits: &Limits) -> Result<(), Invalid> {
    if let Some(max) = limits.weekly_entries
        && schedule.weekly.len() > max
    {
        return Err(Invalid(format!(
            "`weekly` has {} entries; a schedule may have at most {max} weekly entries",
            schedule.weekly.len()
        )));
    }
    if let Some(max) = limits.closures
        && schedule.closed.len() > max
    {
        return Err(Invalid(format!(
            "`closed` has {} closures; a schedule may have at most {max} closures",
            schedule.closed.len()
        )));
    }
    if let Some(max) = limits.reason_chars {
        for (i, closure) in schedule.closed.iter().enumerate() {
            let chars = closure.reason.chars().count();
            if chars > max {
                return Err(Invalid(format!(
                    "`closed[{i}].reason` has {chars} characters; a closure's reason may have \
                     at most {max} characters"
                )));
            }
        }
    }
    if let Some(max) = limits.starts_per_day {
        validate_starts_per_day(schedule, max)?;
    }
    Ok(())
}

fn validate_starts_per_day(schedule: &Schedule, max: usize) -> Result<(), Invalid> {
    for (i, weekly) in schedule.weekly.iter().enumerate() {
        if weekly.starts.len() > max {
            return Err(Invalid(format!(
                "`weekly[{i}].starts` has {} times; a schedule may have at most {max} starts a day",
                weekly.starts.len()
            )));
        }
    }
    for (starts, day) in week_starts(schedule).iter().zip(super::WEEK) {
        if starts.len() > max {
            return Err(Invalid(format!(
                "the schedule starts {} games on {}; a schedule may have at most {max} starts \
                 a day",
                starts.len(),
                super::json::day_name(day)
            )));
        }
    }
    Ok(())
}

/// How many more slots than the count of [`count_upper_bound`] the plan may hold at most, in
/// day-fulls of the densest day (1,440 starts): the window's partial first and last local days,
/// and the games the clocks' changes drop. Far above it, the schedule is refused from its count.
const COUNT_SLACK_DAYS: usize = 8;

/// [`plan`](super::plan) of `[from, until)`, unless it would plan more than `max` slots: then a
/// 422 naming the limit. Near the limit the plan itself is counted (exact); far above it (more
/// than the limit plus [`COUNT_SLACK_DAYS`] days of starts by the count of open days × their
/// starts), the schedule is refused from that count, without planning.
pub fn plan_within(
    schedule: &Schedule,
    rules: &RoomRules,
    room: &RoomId,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
    max: Option<usize>,
) -> Result<Vec<PlannedSlot>, Invalid> {
    let refuse = |count: String| {
        Invalid(format!(
            "the schedule plans {count} slots up to the room's horizon (`max_advance_days`); one \
             publication may plan at most {} slots",
            max.unwrap_or_default()
        ))
    };
    if let Some(max) = max {
        let bound = count_upper_bound(schedule, rules, from, until);
        if bound > max.saturating_add(COUNT_SLACK_DAYS * 1_440) {
            return Err(refuse(format!("about {bound}")));
        }
    }
    let planned = plan(schedule, rules, room, from, until);
    match max {
        Some(max) if planned.len() > max => Err(refuse(planned.len().to_string())),
        _ => Ok(planned),
    }
}

/// The starts of every open local date from the zone's date of `from` to its date of `until`:
/// at least as many as the plan of `[from, until)` has (no planned game is on another date, and
/// planning only drops games), and at most a partial day at each end and the clocks' changes
/// more. One pass over the days; nothing is resolved in the zone but the two ends.
pub(super) fn count_upper_bound(
    schedule: &Schedule,
    rules: &RoomRules,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
) -> usize {
    if from >= until {
        return 0;
    }
    let zone = rules.time_zone;
    let first: NaiveDate = from.with_timezone(&zone).date_naive();
    let last: NaiveDate = until.with_timezone(&zone).date_naive();
    let per_day = week_starts(schedule).map(|starts| starts.len());
    let mut count = 0usize;
    let mut date = first;
    while date <= last {
        if !is_closed(schedule, date) {
            count = count.saturating_add(per_day[day_index(date.weekday())]);
        }
        match date.checked_add_days(Days::new(1)) {
            Some(next) => date = next,
            None => break,
        }
    }
    count
}
