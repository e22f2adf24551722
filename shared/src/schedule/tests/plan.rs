//! `plan`: local starts in the room's zone, the window's ends, closures, and each daylight-saving
//! case on one example.

use super::*;

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
fn a_game_the_clocks_going_forward_bring_too_close_to_the_previous_one_is_not_offered_that_day() {
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
