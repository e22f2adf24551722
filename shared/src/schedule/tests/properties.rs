//! Properties of random valid schedules in twelve zones: ordered, non-overlapping slots inside
//! the window with stable ids; every scheduled start played unless it cannot be.

use super::*;

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
