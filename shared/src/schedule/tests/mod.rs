//! The schedule's unit tests by topic, and the helpers they share: short spellings of times,
//! dates and schedules, an oracle of a zone's clock changes, and what every plan must be.

use std::collections::{BTreeMap, HashSet};

use chrono::Weekday::{Mon, Sun, Thu, Tue, Wed};
use chrono::{
    DateTime, Datelike, Days, Duration, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeZone,
    Utc, Weekday,
};
use chrono_tz::Tz;
use chrono_tz::{America, Asia, Australia, Europe, Pacific};
use proptest::prelude::*;

use super::json::{parse_clock_time, parse_iso_date};
use super::types::{day_index, is_closed, week_starts};
use super::*;
use crate::domain::{Invalid, RoomId};

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

mod daylight_saving;
mod json;
mod limits;
mod plan;
mod properties;
mod validate;
