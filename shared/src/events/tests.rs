use super::*;
use chrono::TimeZone;

fn data() -> EventData {
    let slot = SlotId::parse("s-1").unwrap();
    EventData {
        reference: Some(Reference::parse("7K3M9QX2PA").unwrap()),
        hold_id: HoldId::generate(&slot),
        room_id: RoomId::parse("r-101").unwrap(),
        room_name: "The Vault".into(),
        slot_id: slot,
        start_time: Utc.with_ymd_and_hms(2026, 7, 1, 16, 0, 0).unwrap(),
        end_time: Utc.with_ymd_and_hms(2026, 7, 1, 17, 0, 0).unwrap(),
        local_start: local_start(
            Utc.with_ymd_and_hms(2026, 7, 1, 16, 0, 0).unwrap(),
            "Europe/Berlin",
        ),
        time_zone: "Europe/Berlin".into(),
        players: Some(4),
        user_id: UserId::parse("u-demo").unwrap(),
        contact: None,
        cancelled_by: None,
        reason: None,
    }
}

#[test]
fn an_event_id_is_the_same_for_the_same_booking_and_kind_and_differs_by_kind() {
    let hold = data().hold_id;
    let confirmed = EventId::of(hold, EventKind::Confirmed);
    assert_eq!(confirmed, EventId::of(hold, EventKind::Confirmed));
    assert_ne!(confirmed, EventId::of(hold, EventKind::Cancelled));
    assert!(confirmed.as_str().starts_with("evt_"));
    assert_eq!(confirmed.as_str().len(), 4 + 32);
}

#[test]
fn the_body_has_the_standard_webhooks_shape_with_the_venues_local_time() {
    let event = BookingEvent::new(
        EventKind::Confirmed,
        Utc.with_ymd_and_hms(2026, 6, 1, 9, 30, 0).unwrap(),
        data(),
    );
    let body: serde_json::Value = serde_json::from_slice(&event.body().unwrap()).unwrap();
    assert_eq!(body["type"], "booking.confirmed");
    assert_eq!(body["timestamp"], "2026-06-01T09:30:00Z");
    assert_eq!(body["data"]["local_start"], "2026-07-01T18:00:00+02:00");
    assert_eq!(body["data"]["start_time"], "2026-07-01T16:00:00Z");
    assert_eq!(body["data"]["reference"], "7K3M9QX2PA");
    assert_eq!(body["data"]["players"], 4);
    assert!(body["data"].get("cancelled_by").is_none());
    assert!(body["data"]["contact"].is_null());
}

#[test]
fn kinds_are_named_as_the_api_names_them() {
    for kind in EventKind::ALL {
        assert_eq!(EventKind::parse(kind.as_str()), Some(kind));
        assert_eq!(
            serde_json::to_value(kind).unwrap(),
            serde_json::Value::from(kind.as_str())
        );
    }
    assert_eq!(EventKind::parse("booking.created"), None);
}
