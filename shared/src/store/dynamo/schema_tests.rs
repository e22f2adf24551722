//! The schema's unit tests: the item structs' attribute names are the constants.

use super::*;

fn keys(item: &HashMap<String, AttributeValue>) -> Vec<&str> {
    let mut keys: Vec<&str> = item.keys().map(String::as_str).collect();
    keys.sort_unstable();
    keys
}

/// A slot item with every field set.
fn full_slot_item(slot_id: &SlotId, hold_id: HoldId) -> SlotItem {
    SlotItem {
        archived_at: None,
        pk: "p".into(),
        sk: "s".into(),
        gsi1pk: "g".into(),
        gsi1sk: "h".into(),
        slot_id: slot_id.clone(),
        room_id: RoomId::parse("r-1").unwrap(),
        start_time: 1,
        end_time: 2,
        booked: false,
        hold_id: Some(hold_id),
        holder: Some(UserId::parse("u-1").unwrap()),
        hold_expires_at: Some(3),
        hold_status: Some(HoldStatus::Hold),
        hold_extended: Some(false),
        hold_created_at: Some(1),
        time_zone: Some("Europe/Berlin".into()),
        gsi2pk: Some("USER#u-1".into()),
        gsi2sk: Some("x".into()),
        min_players: Some(2),
        max_players: Some(6),
        book_by: Some(1),
        cancel_by: Some(1),
        hold_players: Some(4),
        hold_confirmed_at: Some(2),
        hold_cancelled_at: Some(2),
        hold_cancelled_by: Some("operator".into()),
        hold_cancel_reason: Some("flood".into()),
        hold_reference: Some(Reference::parse("ABCDEFGHJK").unwrap()),
        hold_contact: Some(Contact::checked("Ada", "ada@example.org", None).unwrap()),
    }
}

#[test]
fn slot_item_attribute_names_are_the_constants_used_in_expressions() {
    let slot_id = SlotId::parse("s-1").unwrap();
    let hold_id = HoldId::generate(&slot_id);
    let item = item_of(&full_slot_item(&slot_id, hold_id)).unwrap();
    for name in [
        PK,
        SK,
        GSI1PK,
        GSI1SK,
        SLOT_ID,
        BOOKED,
        HOLD_ID,
        HOLDER,
        HOLD_EXPIRES_AT,
        HOLD_STATUS,
        HOLD_EXTENDED,
        HOLD_CREATED_AT,
        START_TIME,
        TIME_ZONE,
        GSI2PK,
        GSI2SK,
        MIN_PLAYERS,
        MAX_PLAYERS,
        BOOK_BY,
        CANCEL_BY,
        HOLD_PLAYERS,
        HOLD_CONFIRMED_AT,
        HOLD_CANCELLED_AT,
        HOLD_CANCELLED_BY,
        HOLD_CANCEL_REASON,
        HOLD_REFERENCE,
        HOLD_CONTACT,
    ] {
        assert!(
            item.contains_key(name),
            "{name} missing from {:?}",
            keys(&item)
        );
    }
    assert_eq!(item.get(HOLD_STATUS), Some(&s("HOLD")));
    assert_eq!(item.get(HOLD_ID), Some(&s(hold_id.to_string())));
    assert_eq!(item.get(HOLD_EXPIRES_AT), Some(&n(3)));
    assert_eq!(item.get(BOOKED), Some(&AttributeValue::Bool(false)));
    let back: SlotItem = parse_item(item).unwrap();
    assert_eq!(back.hold_id, Some(hold_id));
    assert_eq!(Key::slot(hold_id.slot_key()).item().unwrap().len(), 2);
}

#[test]
fn hold_record_attribute_names_are_the_constants_used_in_expressions() {
    let slot_id = SlotId::parse("s-1").unwrap();
    let hold_id = HoldId::generate(&slot_id);
    let record = item_of(&HoldItem {
        pk: "p".into(),
        sk: "s".into(),
        hold_id,
        slot_id,
        slot_key: "k".into(),
        user_id: UserId::parse("u-1").unwrap(),
        expires_at: 1,
        created_at: 0,
        ttl: Some(2),
        gsi2pk: Some("HOLDS#u-1".into()),
        gsi2sk: Some("x".into()),
        gsi1pk: Some("ROOM#r-1".into()),
        gsi1sk: Some("y".into()),
        room_id: Some(RoomId::parse("r-1").unwrap()),
        start_time: Some(5),
        confirmed_at: Some(4),
        extended: true,
        cancelled_at: Some(3),
        players: Some(4),
        cancelled_by: Some("u-1".into()),
        reason: Some("r".into()),
        reference: Some(Reference::parse("ABCDEFGHJK").unwrap()),
        contact: Some(Contact::checked("Ada", "ada@example.org", None).unwrap()),
    })
    .unwrap();
    for name in [
        TTL,
        PK,
        GSI1PK,
        GSI1SK,
        GSI2PK,
        GSI2SK,
        ROOM_ID,
        START_TIME,
        CONFIRMED_AT,
        EXPIRES_AT,
        EXTENDED,
        CANCELLED_AT,
        CANCELLED_BY,
        REASON,
        REFERENCE,
        CONTACT,
    ] {
        assert!(
            record.contains_key(name),
            "{name} missing from the hold record"
        );
    }
}
