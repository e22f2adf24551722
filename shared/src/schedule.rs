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

use std::collections::BTreeSet;

use chrono::{
    DateTime, Datelike, Days, Duration, FixedOffset, NaiveDate, NaiveTime, TimeZone, Timelike, Utc,
    Weekday,
};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::domain::{Invalid, RoomId, SlotId};

/// The longest room id that can have a schedule: a slot id is the room id followed by
/// `.YYYYMMDDTHHMM` (14 characters) and is at most 64 characters long.
pub const MAX_SCHEDULED_ROOM_ID_LEN: usize = 50;

const MINUTES_PER_DAY: u32 = 24 * 60;
const MINUTES_PER_WEEK: u32 = 7 * MINUTES_PER_DAY;

/// How many local days before the window [`plan`] looks at, so that whether a game is offered
/// (the clocks-forward rule) does not depend on where the window starts: a game and its buffer
/// last at most a day, and a local date is at most a day away from the UTC date.
const LOOK_BEHIND_DAYS: u64 = 3;

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
    /// Why (shown to staff); empty when left out.
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

/// One concrete game of a room, as [`plan`] makes it.
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

/// The slots of `room` whose UTC start is in `[from, until)`, in start order.
///
/// Each weekly start on each local date of the room's zone (not closed) is one game, resolved in
/// the zone: skipped where that local time does not exist, at its first occurrence where it
/// exists twice, and skipped where it would start before the previous game's end plus buffer (only
/// possible on the day the clocks go forward). The slot id is the room and the local start, so
/// the same game has the same id in every plan.
///
/// Expects a schedule that passed [`validate`] and a room id that passed
/// [`validate_room_id_for_schedule`]: with a longer room id no id fits and nothing is planned.
/// Only local years 0001–9999 are planned (the id has a four-digit year). The work is
/// proportional to the number of days in the window.
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
    let starts = week_starts(schedule);
    let zone = rules.time_zone;
    let duration = Duration::minutes(i64::from(rules.duration_minutes));
    let buffer = Duration::minutes(i64::from(rules.buffer_minutes));

    // Local dates are at most a day away from UTC dates; clamp to the years an id can carry.
    let (Some(earliest), Some(latest)) = (
        NaiveDate::from_ymd_opt(1, 1, 1),
        NaiveDate::from_ymd_opt(9999, 12, 31),
    ) else {
        return Vec::new();
    };
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

/// The starts of each weekday (Monday first), all entries merged, on whole minutes.
fn week_starts(schedule: &Schedule) -> [BTreeSet<NaiveTime>; 7] {
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

fn is_closed(schedule: &Schedule, date: NaiveDate) -> bool {
    schedule
        .closed
        .iter()
        .any(|closure| closure.from <= date && date <= closure.to)
}

fn day_index(day: Weekday) -> usize {
    day.num_days_from_monday() as usize
}

fn day_name(day: Weekday) -> &'static str {
    match day {
        Weekday::Mon => "MON",
        Weekday::Tue => "TUE",
        Weekday::Wed => "WED",
        Weekday::Thu => "THU",
        Weekday::Fri => "FRI",
        Weekday::Sat => "SAT",
        Weekday::Sun => "SUN",
    }
}

fn parse_day(name: &str) -> Result<Weekday, String> {
    WEEK.iter()
        .copied()
        .find(|&day| day_name(day) == name)
        .ok_or_else(|| {
            format!("unknown day \"{name}\": expected one of MON, TUE, WED, THU, FRI, SAT, SUN")
        })
}

/// `HH:MM`, 00:00 to 23:59, exactly five characters.
fn parse_clock_time(text: &str) -> Result<NaiveTime, String> {
    let refuse = || format!("start \"{text}\" is not a time as \"HH:MM\" (00:00 to 23:59)");
    let digits = text.as_bytes();
    let [h1, h2, b':', m1, m2] = *digits else {
        return Err(refuse());
    };
    let number = |a: u8, b: u8| {
        (a.is_ascii_digit() && b.is_ascii_digit())
            .then(|| u32::from(a - b'0') * 10 + u32::from(b - b'0'))
    };
    let (Some(hour), Some(minute)) = (number(h1, h2), number(m1, m2)) else {
        return Err(refuse());
    };
    NaiveTime::from_hms_opt(hour, minute, 0).ok_or_else(refuse)
}

/// `YYYY-MM-DD`, exactly ten characters, a real date.
fn parse_iso_date(text: &str) -> Result<NaiveDate, String> {
    let refuse = || format!("\"{text}\" is not a date as \"YYYY-MM-DD\"");
    let shape_ok = text.len() == 10
        && text.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    if !shape_ok {
        return Err(refuse());
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| refuse())
}

mod day_names {
    use chrono::Weekday;
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(days: &[Weekday], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(days.iter().map(|&day| super::day_name(day)))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Weekday>, D::Error> {
        Vec::<String>::deserialize(d)?
            .iter()
            .map(|name| super::parse_day(name).map_err(D::Error::custom))
            .collect()
    }
}

mod clock_times {
    use chrono::NaiveTime;
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(times: &[NaiveTime], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(times.iter().map(|time| time.format("%H:%M").to_string()))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<NaiveTime>, D::Error> {
        Vec::<String>::deserialize(d)?
            .iter()
            .map(|text| super::parse_clock_time(text).map_err(D::Error::custom))
            .collect()
    }
}

mod iso_date {
    use chrono::NaiveDate;
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(date: &NaiveDate, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&date.format("%Y-%m-%d"))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveDate, D::Error> {
        super::parse_iso_date(&String::deserialize(d)?).map_err(D::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, HashSet};

    use chrono::NaiveDateTime;
    use chrono::Weekday::{Mon, Sun, Thu, Tue, Wed};
    use chrono_tz::{America, Asia, Australia, Europe, Pacific};
    use proptest::prelude::*;

    use super::*;

    fn t(text: &str) -> NaiveTime {
        parse_clock_time(text).unwrap()
    }

    fn d(text: &str) -> NaiveDate {
        parse_iso_date(text).unwrap()
    }

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn room() -> RoomId {
        RoomId::parse("r-101").unwrap()
    }

    fn rules(time_zone: Tz, duration_minutes: u32, buffer_minutes: u32) -> RoomRules {
        RoomRules {
            time_zone,
            duration_minutes,
            buffer_minutes,
        }
    }

    fn weekly(days: &[Weekday], starts: &[&str]) -> Weekly {
        Weekly {
            days: days.to_vec(),
            starts: starts.iter().map(|start| t(start)).collect(),
        }
    }

    fn schedule(weekly: Vec<Weekly>) -> Schedule {
        Schedule {
            weekly,
            closed: Vec::new(),
        }
    }

    fn every_day(starts: &[&str]) -> Schedule {
        schedule(vec![weekly(&WEEK, starts)])
    }

    fn ids(slots: &[PlannedSlot]) -> Vec<&str> {
        slots.iter().map(|slot| slot.slot_id.as_str()).collect()
    }

    /// Every instant at which the local wall clock of `zone` reads `local`, found from the zone's
    /// UTC → local mapping alone (none in a gap, two in an overlap).
    fn occurrences(zone: Tz, local: NaiveDateTime) -> Vec<DateTime<Utc>> {
        use chrono::Offset;
        let offset_at = |instant: NaiveDateTime| zone.offset_from_utc_datetime(&instant).fix();
        let mut offsets: Vec<FixedOffset> = (-5..=5)
            .map(|k| offset_at(local + Duration::hours(6 * k)))
            .collect();
        offsets.sort_by_key(FixedOffset::local_minus_utc);
        offsets.dedup();
        let mut found: Vec<DateTime<Utc>> = offsets
            .into_iter()
            .filter_map(|offset| {
                let instant = local - Duration::seconds(offset.local_minus_utc().into());
                (offset_at(instant) == offset).then(|| instant.and_utc())
            })
            .collect();
        found.sort();
        found.dedup();
        found
    }

    /// What every plan must be: slots at scheduled local times on open dates, in strictly
    /// increasing order, each a game long, a game plus buffer apart, with distinct ids made of
    /// the room and the local start.
    fn assert_well_formed(
        schedule: &Schedule,
        rules: &RoomRules,
        room: &RoomId,
        slots: &[PlannedSlot],
    ) {
        let week = week_starts(schedule);
        let duration = Duration::minutes(rules.duration_minutes.into());
        let buffer = Duration::minutes(rules.buffer_minutes.into());
        let mut seen = HashSet::new();
        for slot in slots {
            let local = slot.start_time.with_timezone(&rules.time_zone);
            assert_eq!(slot.local_start, local.fixed_offset());
            assert!(
                week[day_index(local.weekday())].contains(&local.time()),
                "{local} is not a scheduled start"
            );
            assert!(
                !is_closed(schedule, local.date_naive()),
                "{local} is on a closed date"
            );
            assert_eq!(slot.end_time - slot.start_time, duration);
            assert_eq!(
                slot.slot_id.as_str(),
                format!("{room}.{}", local.format("%Y%m%dT%H%M"))
            );
            assert!(seen.insert(slot.slot_id.clone()), "{} twice", slot.slot_id);
        }
        for pair in slots.windows(2) {
            assert!(
                pair[0].start_time < pair[1].start_time,
                "{pair:?} out of order"
            );
            assert!(
                pair[0].end_time + buffer <= pair[1].start_time,
                "{pair:?} overlap"
            );
        }
    }

    // ── the JSON form ──

    #[test]
    fn the_json_form_has_upper_case_days_hh_mm_starts_and_iso_dates() {
        let json = r#"{"weekly":[{"days":["MON","SUN"],"starts":["10:00","13:30"]}],"closed":[{"from":"2026-12-24","to":"2026-12-26","reason":"Christmas"}]}"#;
        let parsed: Schedule = serde_json::from_str(json).unwrap();
        assert_eq!(
            parsed,
            Schedule {
                weekly: vec![weekly(&[Mon, Sun], &["10:00", "13:30"])],
                closed: vec![Closure {
                    from: d("2026-12-24"),
                    to: d("2026-12-26"),
                    reason: "Christmas".into(),
                }],
            }
        );
        assert_eq!(serde_json::to_string(&parsed).unwrap(), json);
    }

    #[test]
    fn closed_and_reason_may_be_left_out_of_the_json_form() {
        let parsed: Schedule =
            serde_json::from_str(r#"{"weekly":[{"days":["TUE"],"starts":["09:05"]}]}"#).unwrap();
        assert_eq!(parsed, schedule(vec![weekly(&[Tue], &["09:05"])]));
        let parsed: Schedule = serde_json::from_str(
            r#"{"weekly":[],"closed":[{"from":"2026-01-01","to":"2026-01-01"}]}"#,
        )
        .unwrap();
        assert_eq!(parsed.closed[0].reason, "");
    }

    #[test]
    fn the_json_form_refuses_other_spellings_of_days_times_and_dates_and_unknown_fields() {
        let refused = [
            r#"{"weekly":[{"days":["Mon"],"starts":["10:00"]}]}"#,
            r#"{"weekly":[{"days":["MONDAY"],"starts":["10:00"]}]}"#,
            r#"{"weekly":[{"days":["MON"],"starts":["10:0"]}]}"#,
            r#"{"weekly":[{"days":["MON"],"starts":["24:00"]}]}"#,
            r#"{"weekly":[{"days":["MON"],"starts":["10:00:00"]}]}"#,
            r#"{"weekly":[{"days":["MON"],"starts":["10h00"]}]}"#,
            r#"{"weekly":[],"closed":[{"from":"2026-2-01","to":"2026-02-03"}]}"#,
            r#"{"weekly":[],"closed":[{"from":"2026-02-30","to":"2026-03-03"}]}"#,
            r#"{"weekly":[],"close":[]}"#,
            r#"{"weekly":[{"days":["MON"],"starts":["10:00"],"start":["11:00"]}]}"#,
        ];
        for json in refused {
            assert!(
                serde_json::from_str::<Schedule>(json).is_err(),
                "{json} was read"
            );
        }
        let error = serde_json::from_str::<Schedule>(refused[0])
            .unwrap_err()
            .to_string();
        assert!(
            error.contains(r#"unknown day "Mon": expected one of MON, TUE"#),
            "{error}"
        );
    }

    // ── validate ──

    #[test]
    fn games_a_game_plus_its_buffer_apart_are_valid() {
        let games = schedule(vec![weekly(&[Mon, Tue], &["10:00", "11:45", "13:30"])]);
        assert_eq!(validate(&games, &rules(Europe::Berlin, 90, 15)), Ok(()));
        let a_minute_short = schedule(vec![weekly(&[Mon], &["10:00", "11:44"])]);
        assert!(validate(&a_minute_short, &rules(Europe::Berlin, 90, 15)).is_err());
    }

    #[test]
    fn two_games_on_a_day_closer_than_a_game_plus_its_buffer_overlap() {
        let games = schedule(vec![weekly(&[Mon], &["10:00", "11:00", "14:00"])]);
        assert_eq!(
            validate(&games, &rules(Europe::Berlin, 90, 15)),
            Err(Invalid(
                "games at MON 10:00 and MON 11:00 overlap: each takes 90 minutes plus a 15-minute buffer"
                    .into()
            ))
        );
    }

    #[test]
    fn without_a_buffer_the_overlap_message_names_only_the_game() {
        let games = schedule(vec![weekly(&[Mon], &["10:00", "11:00"])]);
        assert_eq!(
            validate(&games, &rules(Europe::Berlin, 90, 0)),
            Err(Invalid(
                "games at MON 10:00 and MON 11:00 overlap: each takes 90 minutes".into()
            ))
        );
    }

    #[test]
    fn the_last_game_of_sunday_and_the_first_of_monday_overlap_across_midnight() {
        let games = schedule(vec![weekly(&[Sun], &["23:00"]), weekly(&[Mon], &["00:30"])]);
        assert_eq!(
            validate(&games, &rules(Europe::Berlin, 90, 15)),
            Err(Invalid(
                "games at SUN 23:00 and MON 00:30 overlap: each takes 90 minutes plus a 15-minute buffer"
                    .into()
            ))
        );
        // Without the buffer, the game ends just as the next one starts.
        assert_eq!(validate(&games, &rules(Europe::Berlin, 90, 0)), Ok(()));
    }

    #[test]
    fn the_last_game_of_a_day_and_the_first_of_the_next_overlap_across_midnight() {
        let games = schedule(vec![weekly(&[Tue, Wed], &["00:30", "23:30"])]);
        assert_eq!(
            validate(&games, &rules(Europe::Berlin, 90, 15)),
            Err(Invalid(
                "games at TUE 23:30 and WED 00:30 overlap: each takes 90 minutes plus a 15-minute buffer"
                    .into()
            ))
        );
    }

    #[test]
    fn games_on_days_that_do_not_follow_each_other_do_not_clash_across_midnight() {
        let games = schedule(vec![weekly(&[Mon], &["23:30"]), weekly(&[Wed], &["00:30"])]);
        assert_eq!(validate(&games, &rules(Europe::Berlin, 90, 15)), Ok(()));
    }

    #[test]
    fn a_start_listed_twice_is_one_game_not_a_clash() {
        let games = schedule(vec![
            weekly(&[Mon, Mon, Tue], &["10:00", "10:00", "14:00"]),
            weekly(&[Mon], &["14:00"]),
        ]);
        assert_eq!(validate(&games, &rules(Europe::Berlin, 90, 15)), Ok(()));
        let slots = plan(
            &games,
            &rules(Europe::Berlin, 90, 15),
            &room(),
            utc("2026-01-05T00:00:00Z"),
            utc("2026-01-06T00:00:00Z"),
        );
        assert_eq!(ids(&slots), ["r-101.20260105T1000", "r-101.20260105T1400"]);
    }

    #[test]
    fn starts_from_different_entries_on_the_same_day_can_clash() {
        let games = schedule(vec![
            weekly(&[Mon, Tue], &["10:00"]),
            weekly(&[Tue, Thu], &["11:00"]),
        ]);
        assert_eq!(
            validate(&games, &rules(Europe::Berlin, 90, 15)),
            Err(Invalid(
                "games at TUE 10:00 and TUE 11:00 overlap: each takes 90 minutes plus a 15-minute buffer"
                    .into()
            ))
        );
    }

    #[test]
    fn a_closure_that_ends_before_it_starts_is_refused_and_a_one_day_closure_is_fine() {
        let mut games = every_day(&["10:00"]);
        games.closed = vec![
            Closure {
                from: d("2026-12-24"),
                to: d("2026-12-24"),
                reason: "Christmas Eve".into(),
            },
            Closure {
                from: d("2026-12-31"),
                to: d("2026-12-30"),
                reason: String::new(),
            },
        ];
        assert_eq!(
            validate(&games, &rules(Europe::Berlin, 90, 15)),
            Err(Invalid(
                "`closed[1]` ends on 2026-12-30 before it starts on 2026-12-31".into()
            ))
        );
        games.closed.pop();
        assert_eq!(validate(&games, &rules(Europe::Berlin, 90, 15)), Ok(()));
    }

    #[test]
    fn an_entry_without_days_or_starts_is_refused_and_so_is_a_schedule_without_entries() {
        let berlin = rules(Europe::Berlin, 90, 15);
        assert_eq!(
            validate(&schedule(vec![weekly(&[Mon], &["10:00"]), weekly(&[], &["12:00"])]), &berlin),
            Err(Invalid(
                "`weekly[1].days` is empty: name at least one day (MON, TUE, WED, THU, FRI, SAT, SUN)"
                    .into()
            ))
        );
        assert_eq!(
            validate(&schedule(vec![weekly(&[Mon], &[])]), &berlin),
            Err(Invalid(
                "`weekly[0].starts` is empty: give at least one start time as \"HH:MM\"".into()
            ))
        );
        assert_eq!(
            validate(&schedule(vec![]), &berlin),
            Err(Invalid(
                "`weekly` is empty: a schedule needs at least one entry of `days` and `starts`"
                    .into()
            ))
        );
    }

    #[test]
    fn a_game_of_zero_minutes_or_of_more_than_a_day_with_its_buffer_is_refused() {
        let daily = every_day(&["10:00"]);
        assert_eq!(
            validate(&daily, &rules(Europe::Berlin, 0, 15)),
            Err(Invalid("a game must last at least 1 minute".into()))
        );
        assert_eq!(
            validate(&daily, &rules(Europe::Berlin, 1430, 15)),
            Err(Invalid(
                "a game of 1430 minutes plus a 15-minute buffer takes 1445 minutes, longer than a day (1440 minutes)"
                    .into()
            ))
        );
        assert_eq!(validate(&daily, &rules(Europe::Berlin, 1425, 15)), Ok(()));
        assert_eq!(
            validate(&daily, &rules(Europe::Berlin, u32::MAX, u32::MAX)).map_err(|_| ()),
            Err(())
        );
    }

    #[test]
    fn a_room_id_of_more_than_50_characters_cannot_have_a_schedule() {
        let fifty = RoomId::parse(&"r".repeat(50)).unwrap();
        let fifty_one = RoomId::parse(&"r".repeat(51)).unwrap();
        assert_eq!(validate_room_id_for_schedule(&fifty), Ok(()));
        let refused = validate_room_id_for_schedule(&fifty_one).unwrap_err().0;
        assert!(
            refused.starts_with(
                "`room_id` has 51 characters; a room with a weekly schedule may have at most 50"
            ),
            "{refused}"
        );

        let slots = plan(
            &every_day(&["10:00"]),
            &rules(chrono_tz::UTC, 90, 15),
            &fifty,
            utc("2026-01-05T00:00:00Z"),
            utc("2026-01-06T00:00:00Z"),
        );
        assert_eq!(slots.len(), 1);
        assert_eq!(slots[0].slot_id.as_str().len(), 64);
    }

    // ── plan ──

    #[test]
    fn each_weekly_start_becomes_a_slot_at_that_local_time_in_the_rooms_zone() {
        let games = schedule(vec![weekly(&[Mon, Wed], &["10:00", "13:30"])]);
        let slots = plan(
            &games,
            &rules(Europe::Berlin, 90, 15),
            &room(),
            utc("2026-01-05T00:00:00Z"),
            utc("2026-01-08T00:00:00Z"),
        );
        assert_eq!(
            ids(&slots),
            [
                "r-101.20260105T1000",
                "r-101.20260105T1330",
                "r-101.20260107T1000",
                "r-101.20260107T1330"
            ]
        );
        assert_eq!(slots[0].start_time, utc("2026-01-05T09:00:00Z"));
        assert_eq!(slots[0].end_time, utc("2026-01-05T10:30:00Z"));
        assert_eq!(
            slots[0].local_start.to_rfc3339(),
            "2026-01-05T10:00:00+01:00"
        );
        assert_eq!(slots[3].start_time, utc("2026-01-07T12:30:00Z"));
    }

    #[test]
    fn the_window_includes_its_start_and_excludes_its_end() {
        let games = every_day(&["10:00", "13:30"]);
        let slots = plan(
            &games,
            &rules(Europe::Berlin, 90, 15),
            &room(),
            utc("2026-01-05T09:00:00Z"),
            utc("2026-01-05T12:30:00Z"),
        );
        assert_eq!(ids(&slots), ["r-101.20260105T1000"]);
    }

    #[test]
    fn an_empty_or_reversed_window_plans_nothing() {
        let games = every_day(&["10:00"]);
        let berlin = rules(Europe::Berlin, 90, 15);
        let at = utc("2026-01-05T09:00:00Z");
        assert!(plan(&games, &berlin, &room(), at, at).is_empty());
        assert!(plan(&games, &berlin, &room(), at + Duration::days(3), at).is_empty());
    }

    #[test]
    fn no_game_is_planned_on_a_closed_date_and_both_ends_of_a_closure_are_closed() {
        let mut games = every_day(&["10:00"]);
        games.closed = vec![Closure {
            from: d("2026-12-24"),
            to: d("2026-12-26"),
            reason: "Christmas".into(),
        }];
        let slots = plan(
            &games,
            &rules(Europe::Berlin, 90, 15),
            &room(),
            utc("2026-12-22T00:00:00Z"),
            utc("2026-12-29T00:00:00Z"),
        );
        assert_eq!(
            ids(&slots),
            [
                "r-101.20261222T1000",
                "r-101.20261223T1000",
                "r-101.20261227T1000",
                "r-101.20261228T1000"
            ]
        );
    }

    #[test]
    fn a_game_belongs_to_the_local_date_it_starts_on_even_when_that_is_another_date_in_utc() {
        let mut games = every_day(&["23:00"]);
        games.closed = vec![Closure {
            from: d("2026-12-25"),
            to: d("2026-12-25"),
            reason: String::new(),
        }];
        let slots = plan(
            &games,
            &rules(America::New_York, 90, 15),
            &room(),
            utc("2026-12-24T12:00:00Z"),
            utc("2026-12-27T12:00:00Z"),
        );
        assert_eq!(ids(&slots), ["r-101.20261224T2300", "r-101.20261226T2300"]);
        assert_eq!(slots[0].start_time, utc("2026-12-25T04:00:00Z"));
    }

    #[test]
    fn a_start_in_the_hour_the_clocks_skip_is_not_played_that_day_but_is_on_the_days_around_it() {
        let slots = plan(
            &every_day(&["02:30"]),
            &rules(Europe::Berlin, 90, 15),
            &room(),
            utc("2026-03-28T00:00:00Z"),
            utc("2026-03-31T00:00:00Z"),
        );
        assert_eq!(ids(&slots), ["r-101.20260328T0230", "r-101.20260330T0230"]);
        assert_eq!(
            slots[1].local_start.to_rfc3339(),
            "2026-03-30T02:30:00+02:00"
        );
    }

    #[test]
    fn a_start_in_the_hour_the_clocks_repeat_is_played_once_at_its_first_occurrence() {
        let slots = plan(
            &every_day(&["02:30"]),
            &rules(Europe::Berlin, 90, 15),
            &room(),
            utc("2026-10-25T00:00:00Z"),
            utc("2026-10-26T00:00:00Z"),
        );
        assert_eq!(ids(&slots), ["r-101.20261025T0230"]);
        assert_eq!(slots[0].start_time, utc("2026-10-25T00:30:00Z"));
        assert_eq!(
            slots[0].local_start.to_rfc3339(),
            "2026-10-25T02:30:00+02:00"
        );
        // 90 real minutes: the clocks go back at 03:00, so the game ends at 03:00 local, not 04:00.
        assert_eq!(slots[0].end_time, utc("2026-10-25T02:00:00Z"));
    }

    #[test]
    fn a_game_the_clocks_going_forward_bring_too_close_to_the_previous_one_is_not_offered_that_day()
    {
        // 01:00 and 03:00 are 120 wall-clock minutes apart, but only 60 real ones on 29 March.
        let games = every_day(&["01:00", "03:00"]);
        let berlin = rules(Europe::Berlin, 90, 15);
        assert_eq!(validate(&games, &berlin), Ok(()));
        let slots = plan(
            &games,
            &berlin,
            &room(),
            utc("2026-03-28T00:00:00Z"),
            utc("2026-03-30T12:00:00Z"),
        );
        assert_eq!(
            ids(&slots),
            [
                "r-101.20260328T0100",
                "r-101.20260328T0300",
                "r-101.20260329T0100",
                "r-101.20260330T0100",
                "r-101.20260330T0300"
            ]
        );
        // The same, whether or not the window holds the earlier game.
        let later = plan(
            &games,
            &berlin,
            &room(),
            utc("2026-03-29T00:30:00Z"),
            utc("2026-03-29T12:00:00Z"),
        );
        assert!(later.is_empty(), "{later:?}");
    }

    #[test]
    fn the_ends_of_time_plan_only_four_digit_years_and_do_not_panic() {
        let daily = every_day(&["10:00"]);
        let in_utc = rules(chrono_tz::UTC, 90, 15);
        let min = DateTime::<Utc>::MIN_UTC;
        let max = DateTime::<Utc>::MAX_UTC;
        assert!(plan(&daily, &in_utc, &room(), min, min + Duration::days(10)).is_empty());
        assert!(plan(&daily, &in_utc, &room(), max - Duration::days(10), max).is_empty());
        let last = plan(&daily, &in_utc, &room(), utc("9999-12-30T12:00:00Z"), max);
        assert_eq!(ids(&last), ["r-101.99991231T1000"]);
        let first = plan(
            &daily,
            &rules(Pacific::Kiritimati, 90, 15),
            &room(),
            min,
            utc("0001-01-02T00:00:00Z"),
        );
        assert_eq!(ids(&first), ["r-101.00010101T1000"]);
    }

    // ── daylight saving time, every day of five years ──

    /// A zone, a local time in the gap of its spring-forward day, one in the overlap of its
    /// fall-back day, and how often a year its clocks change each way.
    struct Zone {
        zone: Tz,
        gap: &'static str,
        repeated: &'static str,
        changes_a_year: usize,
    }

    const FIVE_ZONES: [Zone; 5] = [
        Zone {
            zone: Europe::Berlin,
            gap: "02:30",
            repeated: "02:30",
            changes_a_year: 1,
        },
        Zone {
            zone: America::New_York,
            gap: "02:30",
            repeated: "01:30",
            changes_a_year: 1,
        },
        // Southern hemisphere: forward in October, back in April.
        Zone {
            zone: Australia::Sydney,
            gap: "02:30",
            repeated: "02:30",
            changes_a_year: 1,
        },
        // +05:30 all year.
        Zone {
            zone: Asia::Kolkata,
            gap: "02:30",
            repeated: "01:30",
            changes_a_year: 0,
        },
        // The clocks move by half an hour: 02:00 → 02:30 and 02:00 → 01:30.
        Zone {
            zone: Australia::Lord_Howe,
            gap: "02:15",
            repeated: "01:45",
            changes_a_year: 1,
        },
    ];

    #[test]
    fn the_occurrence_oracle_knows_the_clock_changes_of_2026() {
        let at = |date: &str, time: &str| d(date).and_time(t(time));
        for (zone, gap, repeated) in [
            (
                Europe::Berlin,
                at("2026-03-29", "02:30"),
                at("2026-10-25", "02:30"),
            ),
            (
                America::New_York,
                at("2026-03-08", "02:30"),
                at("2026-11-01", "01:30"),
            ),
            (
                Australia::Sydney,
                at("2026-10-04", "02:30"),
                at("2026-04-05", "02:30"),
            ),
            (
                Australia::Lord_Howe,
                at("2026-10-04", "02:15"),
                at("2026-04-05", "01:45"),
            ),
        ] {
            assert!(occurrences(zone, gap).is_empty(), "{zone} {gap}");
            assert_eq!(occurrences(zone, repeated).len(), 2, "{zone} {repeated}");
            assert_eq!(
                occurrences(zone, gap - Duration::days(1)).len(),
                1,
                "{zone}"
            );
        }
        assert_eq!(
            occurrences(Asia::Kolkata, at("2026-03-29", "02:30")),
            [utc("2026-03-28T21:00:00Z")]
        );
    }

    #[test]
    fn every_day_of_2025_to_2029_in_five_zones_plays_each_start_once_at_its_first_occurrence_and_never_in_a_gap()
     {
        let room = room();
        for Zone {
            zone,
            gap,
            repeated,
            changes_a_year,
        } in FIVE_ZONES
        {
            let games = every_day(&["00:50", gap, repeated, "09:00", "12:15", "18:45", "23:40"]);
            let rules = rules(zone, 20, 5);
            assert_eq!(validate(&games, &rules), Ok(()));
            let slots = plan(
                &games,
                &rules,
                &room,
                utc("2024-12-30T00:00:00Z"),
                utc("2030-01-02T00:00:00Z"),
            );
            assert_well_formed(&games, &rules, &room, &slots);

            let by_local: BTreeMap<NaiveDateTime, &PlannedSlot> = slots
                .iter()
                .map(|slot| (slot.local_start.naive_local(), slot))
                .collect();
            assert_eq!(
                by_local.len(),
                slots.len(),
                "{zone}: a local start planned twice"
            );
            let starts: HashSet<DateTime<Utc>> = slots.iter().map(|slot| slot.start_time).collect();
            let (mut gap_days, mut repeat_days) = (0, 0);
            let week = week_starts(&games);
            for date in d("2025-01-01")
                .iter_days()
                .take_while(|date| *date <= d("2029-12-31"))
            {
                for &time in &week[day_index(date.weekday())] {
                    let local = date.and_time(time);
                    let occurs = occurrences(zone, local);
                    match (occurs.as_slice(), by_local.get(&local)) {
                        ([], None) => gap_days += usize::from(time == t(gap)),
                        ([], Some(slot)) => panic!("{zone}: {local} does not exist, yet {slot:?}"),
                        ([first, rest @ ..], Some(slot)) => {
                            assert_eq!(
                                slot.start_time, *first,
                                "{zone}: {local} not at its first occurrence"
                            );
                            for later in rest {
                                assert!(!starts.contains(later), "{zone}: {local} also at {later}");
                            }
                            repeat_days += usize::from(!rest.is_empty() && time == t(repeated));
                        }
                        ([_, ..], None) => panic!("{zone}: {local} exists but is not planned"),
                    }
                }
            }
            assert_eq!(
                gap_days,
                5 * changes_a_year,
                "{zone}: days {gap} did not exist"
            );
            assert_eq!(
                repeat_days,
                5 * changes_a_year,
                "{zone}: days {repeated} came twice"
            );
        }
    }

    // ── properties of random valid schedules ──

    const ZONES: [Tz; 12] = [
        Europe::Berlin,
        America::New_York,
        Australia::Sydney,
        Asia::Kolkata,
        Australia::Lord_Howe,
        chrono_tz::UTC,
        Europe::Dublin,
        America::St_Johns,
        Pacific::Chatham,
        America::Santiago,
        Pacific::Apia,
        Asia::Tehran,
    ];

    /// Sorted minutes of the day, each at least `spacing` after the one before and (round
    /// midnight) before the first: always at least one.
    fn spaced(mut minutes: Vec<u32>, spacing: u32) -> Vec<NaiveTime> {
        minutes.sort_unstable();
        let mut kept: Vec<u32> = Vec::new();
        for minute in minutes {
            if kept.last().is_none_or(|&last| minute >= last + spacing) {
                kept.push(minute);
            }
        }
        while kept.len() > 1 && kept[0] + MINUTES_PER_DAY - kept[kept.len() - 1] < spacing {
            kept.pop();
        }
        kept.into_iter()
            .map(|minute| NaiveTime::from_hms_opt(minute / 60, minute % 60, 0).unwrap())
            .collect()
    }

    /// Random rules and a schedule they accept: random zone, game and buffer; random weekdays
    /// split over two entries plus an entry repeating a start; random closures in 2025–2029.
    fn valid_rules_and_schedule() -> impl Strategy<Value = (RoomRules, Schedule)> {
        (
            proptest::sample::select(ZONES.to_vec()),
            1u32..=240,
            0u32..=60,
        )
            .prop_flat_map(|(zone, duration, buffer)| {
                let closure = (0u64..5 * 365, 0u64..4);
                (
                    Just(rules(zone, duration, buffer)),
                    proptest::sample::subsequence(WEEK.to_vec(), 1..=7),
                    proptest::collection::vec(0u32..MINUTES_PER_DAY, 1..=12),
                    any::<prop::sample::Index>(),
                    proptest::collection::vec(closure, 0..=3),
                )
                    .prop_map(move |(rules, days, minutes, split, closures)| {
                        let starts = spaced(minutes, duration + buffer);
                        let split = split.index(days.len() + 1);
                        let mut weekly: Vec<Weekly> = [&days[..split], &days[split..]]
                            .into_iter()
                            .filter(|days| !days.is_empty())
                            .map(|days| Weekly {
                                days: days.to_vec(),
                                starts: starts.clone(),
                            })
                            .collect();
                        weekly.push(Weekly {
                            days: days.clone(),
                            starts: vec![starts[0]],
                        });
                        let closed = closures
                            .into_iter()
                            .map(|(offset, length)| {
                                let from = d("2025-01-01") + Days::new(offset);
                                Closure {
                                    from,
                                    to: from + Days::new(length),
                                    reason: String::new(),
                                }
                            })
                            .collect();
                        (rules, Schedule { weekly, closed })
                    })
            })
    }

    proptest! {
        #[test]
        fn any_valid_schedule_plans_ordered_non_overlapping_slots_inside_the_window_with_stable_ids(
            (rules, games) in valid_rules_and_schedule(),
            from_seconds in 0i64..5 * 365 * 86_400,
            length_minutes in 0i64..=21 * 1440,
            split_per_mille in 0i64..=1000,
            shift_minutes in 0i64..=7 * 1440,
        ) {
            prop_assert_eq!(validate(&games, &rules), Ok(()));
            let room = room();
            let from = utc("2025-01-01T00:00:00Z") + Duration::seconds(from_seconds);
            let until = from + Duration::minutes(length_minutes);
            let slots = plan(&games, &rules, &room, from, until);

            for slot in &slots {
                prop_assert!(from <= slot.start_time && slot.start_time < until, "{:?} outside", slot);
            }
            assert_well_formed(&games, &rules, &room, &slots);
            prop_assert_eq!(&plan(&games, &rules, &room, from, until), &slots);

            // Two windows that meet plan what the whole window plans.
            let mid = from + Duration::minutes(length_minutes * split_per_mille / 1000);
            let mut halves = plan(&games, &rules, &room, from, mid);
            halves.extend(plan(&games, &rules, &room, mid, until));
            prop_assert_eq!(&halves, &slots);

            // An overlapping window finds the same slots, with the same ids, where they overlap.
            let shift = Duration::minutes(shift_minutes);
            let shifted = plan(&games, &rules, &room, from + shift, until + shift);
            let overlap_here: Vec<&PlannedSlot> = slots.iter().filter(|s| s.start_time >= from + shift).collect();
            let overlap_there: Vec<&PlannedSlot> = shifted.iter().filter(|s| s.start_time < until).collect();
            prop_assert_eq!(overlap_here, overlap_there);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        #[test]
        fn in_any_zone_each_scheduled_start_of_a_year_is_played_at_its_first_occurrence_unless_it_does_not_exist_is_closed_or_the_room_is_still_busy(
            (rules, games) in valid_rules_and_schedule(),
            year in 2025i32..=2029,
        ) {
            let room = room();
            let first = NaiveDate::from_ymd_opt(year, 1, 1).unwrap();
            let last = NaiveDate::from_ymd_opt(year, 12, 31).unwrap();
            let slots = plan(
                &games,
                &rules,
                &room,
                (first - Days::new(2)).and_time(NaiveTime::MIN).and_utc(),
                (last + Days::new(2)).and_time(NaiveTime::MIN).and_utc(),
            );
            assert_well_formed(&games, &rules, &room, &slots);
            let by_local: BTreeMap<NaiveDateTime, &PlannedSlot> =
                slots.iter().map(|slot| (slot.local_start.naive_local(), slot)).collect();
            let buffer = Duration::minutes(rules.buffer_minutes.into());
            let week = week_starts(&games);
            for date in first.iter_days().take_while(|date| *date <= last) {
                for &time in &week[day_index(date.weekday())] {
                    let local = date.and_time(time);
                    let planned = by_local.get(&local);
                    let occurs = occurrences(rules.time_zone, local);
                    match occurs.first() {
                        _ if is_closed(&games, date) => prop_assert!(planned.is_none(), "{} is closed", local),
                        None => prop_assert!(planned.is_none(), "{} does not exist", local),
                        Some(&start) => match planned {
                            Some(slot) => prop_assert_eq!(slot.start_time, start),
                            None => {
                                // Only where the previous game (and buffer) is still on.
                                let before = slots.partition_point(|slot| slot.start_time < start);
                                prop_assert!(before > 0, "{} is missing", local);
                                let previous = &slots[before - 1];
                                prop_assert!(previous.end_time + buffer > start, "{} is missing after {:?}", local, previous);
                            }
                        },
                    }
                }
            }
        }
    }
}
