//! Planning: a schedule and a room's rules turned into the concrete slots of a UTC window.

use chrono::{
    DateTime, Datelike, Days, Duration, FixedOffset, NaiveDate, NaiveTime, TimeZone, Timelike, Utc,
};

use super::types::{day_index, is_closed, week_starts};
use super::{PlannedSlot, RoomRules, Schedule};
use crate::domain::{Invalid, RoomId, SlotId};

/// How many local days before the window [`plan`] looks at, so that whether a game is offered
/// (the clocks-forward rule) does not depend on where the window starts: a game and its buffer
/// last at most a day, and a local date is at most a day away from the UTC date.
const LOOK_BEHIND_DAYS: u64 = 3;

/// The slots of `room` whose UTC start is in `[from, until)`, in start order.
///
/// Each weekly start on each local date of the room's zone (not closed) is one game, resolved in
/// the zone: skipped where that local time does not exist, at its first occurrence where it
/// exists twice, and skipped where it would start before the previous game's end plus buffer (only
/// possible on the day the clocks go forward). The slot id is the room and the local start, so
/// the same game has the same id in every plan.
///
/// Expects a schedule that passed [`validate`](super::validate) and a room id that passed
/// [`validate_room_id_for_schedule`](super::validate_room_id_for_schedule): with a longer room
/// id no id fits and nothing is planned. Only local years 0001–9999 are planned (the id has a
/// four-digit year). The work is proportional to the number of days in the window.
pub fn plan(
    schedule: &Schedule,
    rules: &RoomRules,
    room: &RoomId,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Vec<PlannedSlot> {
    if from >= until {
        return Vec::new();
    }
    let Some((first, last)) = local_dates(from, until) else {
        return Vec::new();
    };
    let games = candidate_games(schedule, rules, first, last);
    playable(games, rules, room, from, until)
}

/// The local dates whose games can bear on `[from, until)`: from [`LOOK_BEHIND_DAYS`] before the
/// window to a day after it (local dates are at most a day away from UTC dates), clamped to the
/// years an id can carry.
fn local_dates(from: DateTime<Utc>, until: DateTime<Utc>) -> Option<(NaiveDate, NaiveDate)> {
    let earliest = NaiveDate::from_ymd_opt(1, 1, 1)?;
    let latest = NaiveDate::from_ymd_opt(9999, 12, 31)?;
    let first = from
        .date_naive()
        .checked_sub_days(Days::new(1 + LOOK_BEHIND_DAYS))
        .unwrap_or(earliest)
        .max(earliest);
    let last = until
        .date_naive()
        .checked_add_days(Days::new(1))
        .unwrap_or(latest)
        .min(latest);
    Some((first, last))
}

/// Each weekly start on each open date from `first` to `last`, resolved in the room's zone
/// (none in the gap the clocks skip, the first of two where they repeat), in start order.
fn candidate_games(
    schedule: &Schedule,
    rules: &RoomRules,
    first: NaiveDate,
    last: NaiveDate,
) -> Vec<Game> {
    let starts = week_starts(schedule);
    let zone = rules.time_zone;
    let duration = Duration::minutes(i64::from(rules.duration_minutes));
    let mut games = Vec::new();
    for date in first.iter_days().take_while(|date| *date <= last) {
        if is_closed(schedule, date) {
            continue;
        }
        for &time in &starts[day_index(date.weekday())] {
            let Some(local) = zone.from_local_datetime(&date.and_time(time)).earliest() else {
                continue; // in the gap the clocks skip
            };
            let start = local.with_timezone(&Utc);
            let Some(end) = start.checked_add_signed(duration) else {
                continue;
            };
            games.push(Game {
                start,
                end,
                local: local.fixed_offset(),
                date,
                time,
            });
        }
    }
    games.sort_by_key(|game| game.start);
    games
}

/// The slots of the games (in start order) that start in `[from, until)` once the room is free:
/// a game that starts before the previous one's end plus buffer is not played.
fn playable(
    games: Vec<Game>,
    rules: &RoomRules,
    room: &RoomId,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Vec<PlannedSlot> {
    let buffer = Duration::minutes(i64::from(rules.buffer_minutes));
    let mut slots = Vec::new();
    let mut room_free_at: Option<DateTime<Utc>> = None;
    for game in games {
        if game.start >= until {
            break;
        }
        if room_free_at.is_some_and(|free| game.start < free) {
            continue; // the clocks went forward: the previous game is still on
        }
        room_free_at = Some(game.end.checked_add_signed(buffer).unwrap_or(game.end));
        if game.start < from {
            continue;
        }
        let Ok(slot_id) = slot_id(room, game.date, game.time) else {
            continue;
        };
        slots.push(PlannedSlot {
            slot_id,
            start_time: game.start,
            end_time: game.end,
            local_start: game.local,
        });
    }
    slots
}

/// A candidate game of [`plan`], before the clocks-forward rule and the window.
struct Game {
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    local: DateTime<FixedOffset>,
    date: NaiveDate,
    time: NaiveTime,
}

fn slot_id(room: &RoomId, date: NaiveDate, time: NaiveTime) -> Result<SlotId, Invalid> {
    SlotId::parse(&format!(
        "{room}.{:04}{:02}{:02}T{:02}{:02}",
        date.year(),
        date.month(),
        date.day(),
        time.hour(),
        time.minute()
    ))
}
