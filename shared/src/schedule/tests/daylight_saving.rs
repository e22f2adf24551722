//! Daylight saving time, every day of five years in five zones, against an oracle built from the
//! zone's UTC → local mapping alone.

use super::*;

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
