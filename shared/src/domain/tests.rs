use super::*;
use chrono::TimeZone;
use chrono::{DateTime, Utc};

fn at(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_800_000_000 + secs, 0)
        .single()
        .unwrap_or_default()
}

/// A slot `s-1` of `r-101` starting at `at(3600)`, with `hold` and `booked` as given (also
/// used by `time_rule_tests`).
pub(super) fn state(hold: Option<Hold>, booked: bool) -> SlotState {
    SlotState {
        slot: Slot {
            id: SlotId::parse("s-1").unwrap(),
            room_id: RoomId::parse("r-101").unwrap(),
            start_time: at(3600),
            end_time: at(7200),
        },
        booked,
        hold,
        time_zone: chrono_tz::UTC,
        book_by: at(3600),
    }
}

fn hold_of(user: &str, status: HoldStatus, expires_at: DateTime<Utc>) -> Hold {
    let slot = SlotId::parse("s-1").unwrap();
    Hold {
        id: HoldId::generate(&slot),
        slot_id: slot,
        user_id: UserId::parse(user).unwrap(),
        status,
        expires_at,
        starts_at: at(3600),
        extended: false,
        players: Some(2),
        cancel_by: at(3600),
        details: Default::default(),
    }
}

#[test]
fn times_are_formatted_as_rfc3339_utc_with_millis_only_when_present() {
    assert_eq!(format_time(at(0)), "2027-01-15T08:00:00Z");
    assert_eq!(
        format_time(at(0) + chrono::Duration::milliseconds(5)),
        "2027-01-15T08:00:00.005Z"
    );
    assert_eq!(
        format_time(at(0) + chrono::Duration::microseconds(250_900)),
        "2027-01-15T08:00:00.250Z"
    );
    let ancient = Utc
        .with_ymd_and_hms(-5, 1, 1, 0, 0, 0)
        .single()
        .unwrap_or_default();
    assert!(format_time(ancient).starts_with("-0005-01-01T00:00:00"));
}

#[test]
fn ids_accept_the_contract_charset_and_refuse_everything_else() {
    assert!(UserId::parse("u-demo").is_ok());
    assert!(UserId::parse("A.b_c:d-9").is_ok());
    assert!(UserId::parse(&"x".repeat(64)).is_ok());
    assert!(UserId::parse(&"x".repeat(65)).is_err());
    assert!(UserId::parse("").is_err());
    assert!(UserId::parse("u demo").is_err());
    assert!(UserId::parse("u/demo").is_err());
    assert!(UserId::parse("ü").is_err());
}

#[test]
fn generated_hold_ids_are_v4_uuids_that_carry_their_slot_key() {
    let slot = SlotId::parse("s-42").unwrap();
    let hold = HoldId::generate(&slot);
    assert_eq!(hold.as_uuid().get_version_num(), 4);
    assert_eq!(hold.as_uuid().get_variant(), uuid::Variant::RFC4122);
    assert_eq!(hold.slot_key(), SlotKey::of(&slot));
    assert_ne!(HoldId::generate(&slot), hold);
    assert_eq!(HoldId::parse(&hold.to_string()).unwrap(), hold);
}

#[test]
fn hold_ids_must_be_uuid_v4() {
    assert!(HoldId::parse("not-a-uuid").is_err());
    assert!(HoldId::parse("6ba7b810-9dad-11d1-80b4-00c04fd430c8").is_err()); // v1
    assert!(HoldId::parse("3f0c7a0e-1b2c-4d5e-8f90-1234567890ab").is_ok());
}

#[test]
fn status_is_available_when_the_hold_has_expired_at_exactly_now() {
    let hold = hold_of("u-alice", HoldStatus::Hold, at(300));
    let me = UserId::parse("u-alice").unwrap();
    assert_eq!(
        slot_status(&state(Some(hold.clone()), false), Some(&me), at(299)),
        SlotStatus::HeldByMe
    );
    assert_eq!(
        slot_status(&state(Some(hold), false), Some(&me), at(300)),
        SlotStatus::Available
    );
}

#[test]
fn status_distinguishes_my_hold_from_another_and_anonymous_callers_see_other() {
    let hold = hold_of("u-alice", HoldStatus::Hold, at(300));
    let bob = UserId::parse("u-bob").unwrap();
    let s = state(Some(hold), false);
    assert_eq!(slot_status(&s, Some(&bob), at(0)), SlotStatus::HeldByOther);
    assert_eq!(slot_status(&s, None, at(0)), SlotStatus::HeldByOther);
}

#[test]
fn status_is_booked_whatever_the_hold_says() {
    assert_eq!(
        slot_status(&state(None, true), None, at(0)),
        SlotStatus::Booked
    );
}

#[test]
fn explaining_a_refused_confirm_follows_the_contract() {
    let alice = UserId::parse("u-alice").unwrap();
    let bob = UserId::parse("u-bob").unwrap();
    let live = hold_of("u-alice", HoldStatus::Hold, at(300));
    assert!(matches!(
        explain_confirm(None, &alice, at(0)),
        Err(Refusal::HoldGone)
    ));
    assert!(matches!(
        explain_confirm(Some(&live), &bob, at(0)),
        Err(Refusal::NotHoldOwner)
    ));
    assert!(matches!(
        explain_confirm(Some(&live), &alice, at(300)),
        Err(Refusal::HoldGone)
    ));
    let confirmed = Hold {
        status: HoldStatus::Confirmed,
        ..live.clone()
    };
    assert!(explain_confirm(Some(&confirmed), &alice, at(9999)).is_ok());
    let released = Hold {
        status: HoldStatus::Released,
        ..live.clone()
    };
    assert!(matches!(
        explain_confirm(Some(&released), &alice, at(0)),
        Err(Refusal::HoldGone)
    ));
}

#[test]
fn explaining_a_refused_release_follows_the_contract() {
    let alice = UserId::parse("u-alice").unwrap();
    let live = hold_of("u-alice", HoldStatus::Hold, at(300));
    let released = Hold {
        status: HoldStatus::Released,
        ..live.clone()
    };
    assert!(explain_release(Some(&released), &alice, at(0)).is_ok());
    assert!(matches!(
        explain_release(Some(&released), &alice, at(300)),
        Err(Refusal::HoldGone)
    ));
    let confirmed = Hold {
        status: HoldStatus::Confirmed,
        ..live.clone()
    };
    assert!(matches!(
        explain_release(Some(&confirmed), &alice, at(0)),
        Err(Refusal::HoldConfirmed)
    ));
    assert!(matches!(
        explain_release(Some(&live), &alice, at(301)),
        Err(Refusal::HoldGone)
    ));
}
