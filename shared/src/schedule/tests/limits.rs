//! The limits on one schedule: each refused above its maximum with a sentence naming it, each
//! accepted at it, none when off; the planned slots counted before anything is planned.

use std::time::Instant;

use super::*;
use crate::schedule::limits::count_upper_bound;

/// `n` distinct starts a day, one minute apart from 00:00.
fn starts(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("{:02}:{:02}", i / 60, i % 60))
        .collect()
}

fn with_starts(n: usize) -> Schedule {
    let starts = starts(n);
    let starts: Vec<&str> = starts.iter().map(String::as_str).collect();
    every_day(&starts)
}

fn closures(n: usize, reason: &str) -> Vec<Closure> {
    (0..n)
        .map(|i| Closure {
            from: d("2030-01-01") + Days::new(i as u64),
            to: d("2030-01-01") + Days::new(i as u64),
            reason: reason.into(),
        })
        .collect()
}

fn refusal(schedule: &Schedule, limits: &Limits) -> String {
    validate_limits(schedule, limits).unwrap_err().0
}

#[test]
fn more_starts_a_day_than_the_limit_are_refused_naming_the_limit_and_its_maximum() {
    assert_eq!(validate_limits(&with_starts(48), &Limits::DEFAULT), Ok(()));
    let message = refusal(&with_starts(49), &Limits::DEFAULT);
    assert!(
        message.contains("49") && message.contains("at most 48 starts a day"),
        "{message}"
    );
}

#[test]
fn starts_of_several_entries_on_one_day_count_together() {
    let mut merged = schedule(vec![
        weekly(&[Mon], &["10:00", "11:00"]),
        weekly(&[Mon, Tue], &["12:00"]),
    ]);
    let limits = Limits {
        starts_per_day: Some(2),
        ..Limits::OFF
    };
    let message = refusal(&merged, &limits);
    assert!(
        message.contains("3 games on MON") && message.contains("at most 2 starts a day"),
        "{message}"
    );
    merged.weekly[1].days = vec![Tue];
    assert_eq!(validate_limits(&merged, &limits), Ok(()));
}

#[test]
fn more_weekly_entries_closures_or_a_longer_reason_than_the_limits_are_refused_by_name() {
    let mut many = schedule(vec![weekly(&[Mon], &["10:00"]); 51]);
    assert!(refusal(&many, &Limits::DEFAULT).contains("at most 50 weekly entries"));
    many.weekly.truncate(50);
    assert_eq!(validate_limits(&many, &Limits::DEFAULT), Ok(()));

    let mut closed = every_day(&["10:00"]);
    closed.closed = closures(401, "");
    assert!(refusal(&closed, &Limits::DEFAULT).contains("at most 400 closures"));
    closed.closed.truncate(400);
    assert_eq!(validate_limits(&closed, &Limits::DEFAULT), Ok(()));

    // Characters, not bytes: 200 of "ü" (400 bytes) is within the limit, 201 is not.
    closed.closed = closures(1, &"ü".repeat(200));
    assert_eq!(validate_limits(&closed, &Limits::DEFAULT), Ok(()));
    closed.closed = closures(1, &"ü".repeat(201));
    let message = refusal(&closed, &Limits::DEFAULT);
    assert!(
        message.contains("`closed[0].reason` has 201 characters")
            && message.contains("at most 200 characters"),
        "{message}"
    );
}

#[test]
fn with_the_limits_off_nothing_is_refused() {
    let mut huge = with_starts(1_440);
    huge.weekly.extend(vec![weekly(&[Mon], &["10:00"]); 60]);
    huge.closed = closures(500, &"x".repeat(1_000));
    assert_eq!(validate_limits(&huge, &Limits::OFF), Ok(()));
}

#[test]
fn a_plan_over_the_slot_limit_is_refused_and_one_at_it_is_planned() {
    let rules = rules(Europe::Berlin, 60, 0);
    let from = utc("2030-03-01T00:00:00Z");
    let until = from + Duration::days(10);
    let schedule = every_day(&["10:00", "12:00"]); // 20 games in the window
    let exact = plan(&schedule, &rules, &room(), from, until).len();
    assert_eq!(exact, 20);
    let planned = plan_within(&schedule, &rules, &room(), from, until, Some(20)).unwrap();
    assert_eq!(planned.len(), 20);
    let message = plan_within(&schedule, &rules, &room(), from, until, Some(19))
        .unwrap_err()
        .0;
    assert!(
        message.contains("plans 20 slots") && message.contains("at most 19 slots"),
        "{message}"
    );
    assert_eq!(
        plan_within(&schedule, &rules, &room(), from, until, None)
            .unwrap()
            .len(),
        20
    );
}

#[test]
fn one_minute_games_all_day_for_366_days_are_refused_from_their_count_in_milliseconds() {
    let rules = rules(Europe::Berlin, 1, 0);
    let from = utc("2030-01-01T00:00:00Z");
    let until = from + Duration::days(366);
    let schedule = with_starts(1_440);
    // The fastest of five, so that a busy machine's scheduling is not taken for work done:
    // planning the 527,000 slots takes seconds in a debug build, every time.
    let mut took = std::time::Duration::MAX;
    let mut message = String::new();
    for _ in 0..5 {
        let started = Instant::now();
        message = plan_within(&schedule, &rules, &room(), from, until, Some(20_000))
            .unwrap_err()
            .0;
        took = took.min(started.elapsed());
    }
    assert!(
        message.contains("about 52") && message.contains("at most 20000 slots"),
        "{message}"
    );
    assert!(
        took < std::time::Duration::from_millis(50),
        "refused in {took:?}"
    );
}

proptest! {
    /// The count that refuses without planning is never below the plan: a schedule it lets
    /// through is planned and counted exactly, and one it refuses plans more than the limit.
    #[test]
    fn the_count_is_never_below_the_plan(
        starts in proptest::collection::btree_set(0u32..1_440, 1..6),
        zone in prop_oneof![Just(Europe::Berlin), Just(America::New_York), Just(Australia::Lord_Howe), Just(Pacific::Apia)],
        start_hours in 0i64..(24 * 400),
        days in 1i64..60,
    ) {
        let texts: Vec<String> = starts.iter().map(|m| format!("{:02}:{:02}", m / 60, m % 60)).collect();
        let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
        let schedule = every_day(&texts);
        let rules = rules(zone, 1, 0);
        let from = utc("2030-01-01T00:00:00Z") + Duration::hours(start_hours);
        let until = from + Duration::days(days);
        let planned = plan(&schedule, &rules, &room(), from, until).len();
        prop_assert!(count_upper_bound(&schedule, &rules, from, until) >= planned);
    }
}
