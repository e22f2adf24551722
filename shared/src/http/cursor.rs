//! The opaque `next_cursor` of a listing: the position after the page's last slot, bound to its
//! room. It carries nothing but a position in a public listing, so a changed cursor can only move
//! within the room it was issued for; one of another room, or one that does not decode, is 422.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};

use crate::domain::{RoomId, SlotId};
use crate::error::Error;

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
}
