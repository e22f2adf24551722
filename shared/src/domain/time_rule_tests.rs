use super::tests::state;
use super::*;
use chrono::TimeZone;
use chrono::{DateTime, Duration, Utc};

fn at(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_800_000_000 + secs, 0).single().unwrap()
}

fn hold(status: HoldStatus, extended: bool) -> Hold {
    let slot = SlotId::parse("s-1").unwrap();
    Hold {
        id: HoldId::generate(&slot),
        slot_id: slot,
        user_id: UserId::parse("u-alice").unwrap(),
        status,
        expires_at: at(300),
        starts_at: at(3600),
        extended,
        players: Some(2),
        cancel_by: at(3600),
        details: Default::default(),
    }
}

fn alice() -> UserId {
    UserId::parse("u-alice").unwrap()
}

#[test]
fn an_extension_is_refused_once_used_after_expiry_and_for_bookings_and_released_holds() {
    let a = alice();
    assert_eq!(
        explain_extend(Some(&hold(HoldStatus::Hold, true)), &a, at(0)),
        Err(Refusal::ExtensionUsed)
    );
    assert_eq!(
        explain_extend(Some(&hold(HoldStatus::Hold, false)), &a, at(300)),
        Err(Refusal::HoldGone)
    );
    assert_eq!(
        explain_extend(Some(&hold(HoldStatus::Confirmed, false)), &a, at(0)),
        Err(Refusal::HoldConfirmed)
    );
    assert_eq!(
        explain_extend(Some(&hold(HoldStatus::Released, false)), &a, at(0)),
        Err(Refusal::HoldReleased)
    );
    assert_eq!(
        explain_extend(Some(&hold(HoldStatus::Released, false)), &a, at(300)),
        Err(Refusal::HoldGone)
    );
    let bob = UserId::parse("u-bob").unwrap();
    assert_eq!(
        explain_extend(Some(&hold(HoldStatus::Hold, true)), &bob, at(0)),
        Err(Refusal::NotHoldOwner)
    );
}

#[test]
fn a_booking_is_cancelled_before_its_start_and_outside_the_cut_off_only() {
    let a = Canceller::Player {
        user: alice(),
        cutoff: Duration::minutes(30),
    };
    let booking = hold(HoldStatus::Confirmed, false);
    assert_eq!(
        explain_cancel(Some(&booking), &a, at(3600)),
        Err(Refusal::SlotStarted)
    );
    assert_eq!(
        explain_cancel(Some(&booking), &a, at(3600 - 1800)),
        Err(Refusal::CancelCutoff)
    );
    assert_eq!(
        explain_cancel(Some(&hold(HoldStatus::Hold, false)), &a, at(0)),
        Err(Refusal::HoldNotConfirmed)
    );
    let cancelled = hold(HoldStatus::Cancelled, false);
    assert_eq!(
        explain_cancel(Some(&cancelled), &a, at(0)),
        Ok(cancelled.clone())
    );
}

#[test]
fn the_rooms_cut_off_binds_players_when_it_is_the_longer_one_and_never_binds_operators() {
    let mut booking = hold(HoldStatus::Confirmed, false);
    booking.cancel_by = at(3600 - 7200); // a two-hour cut-off of the room
    let player = Canceller::Player {
        user: alice(),
        cutoff: Duration::minutes(30),
    };
    assert_eq!(
        explain_cancel(Some(&booking), &player, at(0)),
        Err(Refusal::CancelCutoff)
    );
    let operator = Canceller::Operator {
        name: "operator".into(),
        reason: "flooded".into(),
    };
    assert!(matches!(
        explain_cancel(Some(&booking), &operator, at(0)),
        Err(Refusal::Inconsistent(_))
    ));
    assert_eq!(
        explain_cancel(Some(&booking), &operator, at(3600)),
        Err(Refusal::SlotStarted)
    );
    assert_eq!(operator.deadline(at(3600), booking.cancel_by), at(3600));
    assert_eq!(player.deadline(at(3600), booking.cancel_by), at(-3600));
}

#[test]
fn a_hold_is_refused_inside_the_notice_period_and_outside_the_party_size() {
    let start = at(3600);
    let rules = SlotRules {
        min_players: 2,
        max_players: 6,
        book_by: at(0),
        cancel_by: start,
    };
    assert_eq!(rules.check_hold(start, Some(4), at(-1)), Ok(()));
    assert_eq!(rules.check_hold(start, None, at(-1)), Ok(()));
    assert_eq!(
        rules.check_hold(start, Some(4), at(0)),
        Err(Refusal::TooLateToBook)
    );
    assert_eq!(
        rules.check_hold(start, Some(4), at(3600)),
        Err(Refusal::SlotStarted)
    );
    assert_eq!(
        rules.check_hold(start, Some(7), at(-1)),
        Err(Refusal::PartySize {
            players: 7,
            min: 2,
            max: 6
        })
    );
    assert_eq!(
        rules
            .check_hold(start, Some(1), at(-1))
            .map_err(|r| r.to_string()),
        Err("`players` must be from 2 to 6 for this room, got 1.".to_owned())
    );
}

#[test]
fn a_free_slot_inside_the_notice_period_is_closed_but_a_held_or_booked_one_says_so() {
    let mut free = state(None, false);
    free.book_by = at(0);
    assert_eq!(slot_status(&free, None, at(-1)), SlotStatus::Available);
    assert_eq!(slot_status(&free, None, at(0)), SlotStatus::Closed);
    assert_eq!(slot_status(&free, None, at(3600)), SlotStatus::Past);
    let mut booked = state(None, true);
    booked.book_by = at(0);
    assert_eq!(slot_status(&booked, None, at(1)), SlotStatus::Booked);
}

#[test]
fn today_is_the_venues_local_day_with_its_daylight_saving_length() {
    use chrono::TimeZone;
    let berlin: chrono_tz::Tz = "Europe/Berlin".parse().unwrap();
    // 23:30 UTC on 30 March 2027 is already 31 March in Berlin (CEST, +2).
    let now = Utc.with_ymd_and_hms(2027, 3, 30, 23, 30, 0).unwrap();
    assert_eq!(
        today_in(berlin, now),
        (
            Utc.with_ymd_and_hms(2027, 3, 30, 22, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(2027, 3, 31, 22, 0, 0).unwrap()
        )
    );
    // The day the clocks go forward has 23 hours.
    let spring = Utc.with_ymd_and_hms(2027, 3, 28, 12, 0, 0).unwrap();
    let (from, to) = today_in(berlin, spring);
    assert_eq!(to - from, Duration::hours(23));
}

#[test]
fn a_started_slot_is_past_and_a_look_up_reports_expiry_and_seconds_left() {
    let live = hold(HoldStatus::Hold, false);
    assert_eq!(live.view_status(at(0)), ViewStatus::Hold);
    assert_eq!(live.seconds_left(at(0)), 300);
    assert_eq!(live.seconds_left(at(299) + Duration::milliseconds(1)), 1);
    assert_eq!(live.view_status(at(300)), ViewStatus::Expired);
    assert_eq!(live.seconds_left(at(300)), 0);
    let released = hold(HoldStatus::Released, false);
    assert_eq!(released.view_status(at(0)), ViewStatus::Released);
    assert_eq!(released.view_status(at(300)), ViewStatus::Expired);
    assert!(has_started(at(3600), at(3600)));
    assert!(!has_started(at(3600), at(3599)));
}
