//! Checking a schedule against a room's rules, and a room id against the slot ids a schedule
//! makes.

use std::collections::BTreeSet;

use chrono::{NaiveTime, Timelike, Weekday};

use super::json::day_name;
use super::types::week_starts;
use super::{
    MAX_SCHEDULED_ROOM_ID_LEN, MINUTES_PER_DAY, MINUTES_PER_WEEK, RoomRules, Schedule, WEEK,
};
use crate::domain::{Invalid, RoomId};

/// Checks a schedule against a room's rules. The message (a 422, shown to the user) names what
/// is wrong: an entry without days or starts, a closure that ends before it starts, a game of
/// zero minutes or longer than a day, or two games on the same weekday (or either side of a
/// midnight) closer than a game plus its buffer.
pub fn validate(schedule: &Schedule, rules: &RoomRules) -> Result<(), Invalid> {
    validate_rules(rules)?;
    if schedule.weekly.is_empty() {
        return Err(Invalid(
            "`weekly` is empty: a schedule needs at least one entry of `days` and `starts`".into(),
        ));
    }
    for (i, weekly) in schedule.weekly.iter().enumerate() {
        if weekly.days.is_empty() {
            return Err(Invalid(format!(
                "`weekly[{i}].days` is empty: name at least one day (MON, TUE, WED, THU, FRI, SAT, SUN)"
            )));
        }
        if weekly.starts.is_empty() {
            return Err(Invalid(format!(
                "`weekly[{i}].starts` is empty: give at least one start time as \"HH:MM\""
            )));
        }
    }
    for (i, closure) in schedule.closed.iter().enumerate() {
        if closure.to < closure.from {
            return Err(Invalid(format!(
                "`closed[{i}]` ends on {} before it starts on {}",
                closure.to.format("%Y-%m-%d"),
                closure.from.format("%Y-%m-%d")
            )));
        }
    }
    validate_spacing(&week_starts(schedule), rules)
}

/// Refuses a room id too long for the slot ids of a schedule (see [`MAX_SCHEDULED_ROOM_ID_LEN`]).
pub fn validate_room_id_for_schedule(room: &RoomId) -> Result<(), Invalid> {
    let len = room.as_str().len();
    if len > MAX_SCHEDULED_ROOM_ID_LEN {
        return Err(Invalid(format!(
            "`room_id` has {len} characters; a room with a weekly schedule may have at most \
             {MAX_SCHEDULED_ROOM_ID_LEN}, because its slot ids are the room id followed by \
             `.YYYYMMDDTHHMM` and a slot id has at most 64 characters"
        )));
    }
    Ok(())
}

fn validate_rules(rules: &RoomRules) -> Result<(), Invalid> {
    if rules.duration_minutes == 0 {
        return Err(Invalid("a game must last at least 1 minute".into()));
    }
    let game = u64::from(rules.duration_minutes) + u64::from(rules.buffer_minutes);
    if game > u64::from(MINUTES_PER_DAY) {
        return Err(Invalid(format!(
            "a game of {} minutes plus a {}-minute buffer takes {game} minutes, longer than a \
             day ({MINUTES_PER_DAY} minutes)",
            rules.duration_minutes, rules.buffer_minutes
        )));
    }
    Ok(())
}

/// Refuses two consecutive games of the week (the last of Sunday and the first of Monday
/// included) that start closer than a game plus its buffer.
fn validate_spacing(week: &[BTreeSet<NaiveTime>; 7], rules: &RoomRules) -> Result<(), Invalid> {
    let needed = rules.duration_minutes + rules.buffer_minutes; // ≤ a day: validate_rules
    let games: Vec<(u32, Weekday, NaiveTime)> = WEEK
        .iter()
        .zip(week)
        .flat_map(|(&day, starts)| {
            starts.iter().map(move |&time| {
                let minute =
                    day.num_days_from_monday() * MINUTES_PER_DAY + time.hour() * 60 + time.minute();
                (minute, day, time)
            })
        })
        .collect();
    let next_games = games.iter().skip(1).chain(games.first());
    for (this, next) in games.iter().zip(next_games) {
        let gap = if next.0 > this.0 {
            next.0 - this.0
        } else {
            next.0 + MINUTES_PER_WEEK - this.0 // round the week (or the one game to itself)
        };
        if gap < needed {
            let buffer = match rules.buffer_minutes {
                0 => String::new(),
                minutes => format!(" plus a {minutes}-minute buffer"),
            };
            return Err(Invalid(format!(
                "games at {} {} and {} {} overlap: each takes {} minutes{buffer}",
                day_name(this.1),
                this.2.format("%H:%M"),
                day_name(next.1),
                next.2.format("%H:%M"),
                rules.duration_minutes,
            )));
        }
    }
    Ok(())
}
