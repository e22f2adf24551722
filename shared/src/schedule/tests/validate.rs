//! `validate`: games a game plus its buffer apart, round midnight and the week; closures, empty
//! entries, game lengths and room ids.

use super::*;

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
        validate(
            &schedule(vec![weekly(&[Mon], &["10:00"]), weekly(&[], &["12:00"])]),
            &berlin
        ),
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
            "`weekly` is empty: a schedule needs at least one entry of `days` and `starts`".into()
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
