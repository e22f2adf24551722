//! The opaque `next_cursor` of a listing: the position after the page's last entry, bound to its
//! listing (a room's slots, a room's day sheet, a player's holds). It carries nothing but a
//! position, so a changed cursor can only move within the listing it was issued for; one of
//! another room or player, of another listing, or one that does not decode, is 422.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};

use crate::domain::{HoldId, RoomId, SlotId, UserId};
use crate::error::Error;
use crate::store::{HoldsAfter, SheetAfter};

const VERSION: &str = "v1";

pub fn encode(room: &RoomId, start: DateTime<Utc>, slot: &SlotId) -> String {
    URL_SAFE_NO_PAD.encode(format!(
        "{VERSION}|{room}|{}|{slot}",
        start.timestamp_millis()
    ))
}

pub fn decode(cursor: &str, room: &RoomId) -> Result<(DateTime<Utc>, SlotId), Error> {
    let invalid = || Error::Validation("`cursor` is not a cursor of this room's listing.".into());
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    let mut parts = text.split('|');
    let (Some(VERSION), Some(of_room), Some(start), Some(slot), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return Err(invalid());
    };
    if of_room != room.as_str() {
        return Err(invalid());
    }
    let start = start
        .parse::<i64>()
        .ok()
        .and_then(DateTime::from_timestamp_millis)
        .ok_or_else(invalid)?;
    let slot = SlotId::parse(slot).map_err(|_| invalid())?;
    Ok((start, slot))
}

/// The cursor of a day sheet's page: after `after`, in `room`'s sheet.
pub fn encode_sheet(room: &RoomId, after: &SheetAfter) -> String {
    URL_SAFE_NO_PAD.encode(format!(
        "sheet|{room}|{}|{}|{}|{}",
        after.start.timestamp_millis(),
        after.slot,
        after.created.timestamp_millis(),
        after.hold
    ))
}

/// A day sheet's cursor back, if it is one of `room`'s.
pub fn decode_sheet(cursor: &str, room: &RoomId) -> Result<SheetAfter, Error> {
    let invalid = || Error::Validation("`cursor` is not a cursor of this room's day sheet.".into());
    let fields = fields(cursor, "sheet", room.as_str()).ok_or_else(invalid)?;
    let [start, slot, created, hold] = fields.as_slice() else {
        return Err(invalid());
    };
    Ok(SheetAfter {
        start: time(start).ok_or_else(invalid)?,
        slot: SlotId::parse(slot).map_err(|_| invalid())?,
        created: time(created).ok_or_else(invalid)?,
        hold: HoldId::parse(hold).map_err(|_| invalid())?,
    })
}

/// The cursor of a page of `user`'s holds: after `after`.
pub fn encode_holds(user: &UserId, after: &HoldsAfter) -> String {
    URL_SAFE_NO_PAD.encode(format!(
        "holds|{user}|{}|{}",
        after.created.timestamp_millis(),
        after.hold
    ))
}

/// A holds listing's cursor back, if it is one of `user`'s.
pub fn decode_holds(cursor: &str, user: &UserId) -> Result<HoldsAfter, Error> {
    let invalid = || Error::Validation("`cursor` is not a cursor of this player's holds.".into());
    let fields = fields(cursor, "holds", user.as_str()).ok_or_else(invalid)?;
    let [created, hold] = fields.as_slice() else {
        return Err(invalid());
    };
    Ok(HoldsAfter {
        created: time(created).ok_or_else(invalid)?,
        hold: HoldId::parse(hold).map_err(|_| invalid())?,
    })
}

/// The fields after `kind|owner|` of a cursor, if it decodes and is of that kind and owner.
fn fields(cursor: &str, kind: &str, owner: &str) -> Option<Vec<String>> {
    let text = String::from_utf8(URL_SAFE_NO_PAD.decode(cursor).ok()?).ok()?;
    let mut parts = text.split('|');
    if parts.next()? != kind || parts.next()? != owner {
        return None;
    }
    Some(parts.map(str::to_owned).collect())
}

/// Epoch milliseconds in a cursor.
fn time(ms: &str) -> Option<DateTime<Utc>> {
    ms.parse::<i64>()
        .ok()
        .and_then(DateTime::from_timestamp_millis)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_decodes_to_its_position_in_its_own_room_only() {
        let room = RoomId::parse("r-101").unwrap();
        let slot = SlotId::parse("s-7").unwrap();
        let start = DateTime::from_timestamp_millis(1_800_000_000_000).unwrap();
        let cursor = encode(&room, start, &slot);
        assert_eq!(decode(&cursor, &room).unwrap(), (start, slot));
        let other = RoomId::parse("r-102").unwrap();
        assert!(matches!(decode(&cursor, &other), Err(Error::Validation(_))));
        for garbage in ["", "!!", "djE", "djF8ci0xMDF8eHx5", &cursor[1..]] {
            assert!(
                matches!(decode(garbage, &room), Err(Error::Validation(_))),
                "{garbage}"
            );
        }
    }

    #[test]
    fn a_sheet_or_holds_cursor_decodes_for_its_own_room_or_player_only() {
        let slot = SlotId::parse("s-7").unwrap();
        let at = DateTime::from_timestamp_millis(1_800_000_000_000).unwrap();
        let hold = HoldId::generate(&slot);
        let room = RoomId::parse("r-101").unwrap();
        let after = SheetAfter {
            start: at,
            slot: slot.clone(),
            created: at,
            hold,
        };
        let sheet = encode_sheet(&room, &after);
        assert_eq!(decode_sheet(&sheet, &room).unwrap(), after);
        let other = RoomId::parse("r-102").unwrap();
        assert!(matches!(
            decode_sheet(&sheet, &other),
            Err(Error::Validation(_))
        ));
        let user = UserId::parse("u-1").unwrap();
        let mine = HoldsAfter { created: at, hold };
        let holds = encode_holds(&user, &mine);
        assert_eq!(decode_holds(&holds, &user).unwrap(), mine);
        let bob = UserId::parse("u-bob").unwrap();
        assert!(matches!(
            decode_holds(&holds, &bob),
            Err(Error::Validation(_))
        ));
        // A cursor of one listing is not one of another.
        assert!(decode_holds(&sheet, &user).is_err());
        assert!(decode_sheet(&holds, &room).is_err());
        assert!(decode_sheet(&encode(&room, at, &slot), &room).is_err());
        for garbage in ["", "!!", "c2hlZXQ", &sheet[1..]] {
            assert!(decode_sheet(garbage, &room).is_err(), "{garbage}");
        }
    }
}
