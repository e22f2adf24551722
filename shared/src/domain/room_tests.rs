use super::*;

fn spec() -> RoomSpec {
    serde_json::from_value(serde_json::json!({
        "name": "The Vault",
        "time_zone": "Europe/Berlin",
        "min_players": 2,
        "max_players": 6,
        "duration_minutes": 60
    }))
    .unwrap()
}

#[test]
fn a_room_takes_its_defaults_and_its_capacity_is_its_most_players() {
    let room = spec().room(RoomId::parse("r-vault").unwrap()).unwrap();
    assert_eq!(room.capacity, 6);
    assert_eq!(room.policy.max_advance_days, 60);
    assert_eq!(
        (
            room.policy.buffer_minutes,
            room.policy.min_notice_minutes,
            room.policy.cancel_cutoff_minutes
        ),
        (0, 0, 0)
    );
}

#[test]
fn each_bad_rule_is_refused_by_name() {
    let id = RoomId::parse("r-vault").unwrap();
    type Spoil = fn(&mut RoomSpec);
    let cases: [(&str, Spoil); 6] = [
        ("time_zone", |s| s.time_zone = "Mars/Olympus".into()),
        ("min_players", |s| s.min_players = 7),
        ("duration_minutes", |s| s.duration_minutes = 0),
        ("name", |s| s.name = "  ".into()),
        ("max_advance_days", |s| s.max_advance_days = 0),
        ("min_notice_minutes", |s| {
            s.min_notice_minutes = MAX_NOTICE_MINUTES + 1
        }),
    ];
    for (field, spoil) in cases {
        let mut bad = spec();
        spoil(&mut bad);
        let err = bad.room(id.clone()).err().map(|e| e.0);
        assert!(
            err.as_deref().is_some_and(|e| e.contains(field)),
            "{field}: {err:?}"
        );
    }
}
