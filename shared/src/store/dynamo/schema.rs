//! The table's schema: attribute names (constants, used in every expression), keys, and the items
//! as serde structs (mapped through `serde_dynamo`, never built by hand). A unit test checks that
//! the structs' field names are the constants.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use serde::{Deserialize, Serialize};
use serde_dynamo::aws_sdk_dynamodb_1::{from_item, to_item};

use crate::domain::{
    BookingDetails, Contact, Hold, HoldId, HoldStatus, Reference, Room, RoomId, RoomPolicy, SlotId,
    SlotKey, SlotRules, UserId,
};
use crate::error::Error;
use crate::store::from_millis;

// ── Attribute names ─────────────────────────────────────────────────────────────────────────
// The item structs below use the same names as field names; a unit test checks they agree.

/// Partition key (string) of the table.
pub const PK: &str = "pk";
/// Sort key (string) of the table.
pub const SK: &str = "sk";
/// The listing index: its partition key, sort key and name.
pub const GSI1PK: &str = "gsi1pk";
pub const GSI1SK: &str = "gsi1sk";
pub const GSI1: &str = "gsi1";
/// The second index: a user's holds (slot items by their latest holder, newest first) and the
/// list of rooms (room items under one partition).
pub const GSI2PK: &str = "gsi2pk";
pub const GSI2SK: &str = "gsi2sk";
pub const GSI2: &str = "gsi2";
/// Epoch seconds after which DynamoDB TTL may delete a hold record or an idempotency key
/// (clean-up only).
pub const TTL: &str = "ttl";

pub(super) const SLOT_ID: &str = "slot_id";
pub(super) const BOOKED: &str = "booked";
pub(super) const HOLD_ID: &str = "hold_id";
pub(super) const HOLDER: &str = "holder";
pub(super) const HOLD_EXPIRES_AT: &str = "hold_expires_at";
pub(super) const HOLD_STATUS: &str = "hold_status";
pub(super) const HOLD_EXTENDED: &str = "hold_extended";
pub(super) const HOLD_CREATED_AT: &str = "hold_created_at";
pub(super) const START_TIME: &str = "start_time";
pub(super) const TIME_ZONE: &str = "time_zone";
/// The room's rules copied onto each slot item (see [`SlotItem`]).
pub(super) const MIN_PLAYERS: &str = "min_players";
pub(super) const MAX_PLAYERS: &str = "max_players";
pub(super) const BOOK_BY: &str = "book_by";
pub(super) const CANCEL_BY: &str = "cancel_by";
/// The latest hold's party, confirmation and cancellation (the day sheet reads them).
pub(super) const HOLD_PLAYERS: &str = "hold_players";
pub(super) const HOLD_CONFIRMED_AT: &str = "hold_confirmed_at";
pub(super) const HOLD_CANCELLED_AT: &str = "hold_cancelled_at";
pub(super) const HOLD_CANCELLED_BY: &str = "hold_cancelled_by";
pub(super) const HOLD_CANCEL_REASON: &str = "hold_cancel_reason";
/// Hold record attributes changed after creation (extension, cancellation).
pub(super) const EXPIRES_AT: &str = "expires_at";
pub(super) const EXTENDED: &str = "extended";
pub(super) const CANCELLED_AT: &str = "cancelled_at";
pub(super) const CANCELLED_BY: &str = "cancelled_by";
pub(super) const REASON: &str = "reason";
/// A confirmed booking's reference and contact, on its slot item (the latest hold's) and on its
/// hold record.
pub(super) const HOLD_REFERENCE: &str = "hold_reference";
pub(super) const HOLD_CONTACT: &str = "hold_contact";
pub(super) const REFERENCE: &str = "reference";
pub(super) const CONTACT: &str = "contact";
/// A cancelled booking's record: its room, its slot's start and its confirmation (epoch ms).
pub(super) const ROOM_ID: &str = "room_id";
pub(super) const CONFIRMED_AT: &str = "confirmed_at";
/// When a room was retired (epoch ms), on its room item and on each of its slot items that had
/// not started then: such a slot takes no hold (`attribute_not_exists` in the create's guard).
pub(super) const ARCHIVED_AT: &str = "archived_at";

pub(super) const ROOM_SK: &str = "#ROOM";
pub(super) const SLOT_SK: &str = "SLOT";
pub(super) const HOLD_SK: &str = "HOLD";
pub(super) const USER_SK: &str = "USER";
pub(super) const IDEM_SK: &str = "IDEM";
pub(super) const SCHEDULE_SK: &str = "SCHEDULE";
pub(super) const REF_SK: &str = "REF";
/// The `gsi2` partition that lists every room; also the partition of the room counter
/// (`rooms::room_count_key`).
pub(super) const ROOMS_PK: &str = "ROOMS";

// ── Keys ────────────────────────────────────────────────────────────────────────────────────

pub(super) fn room_pk(room: &RoomId) -> String {
    format!("ROOM#{room}")
}

pub(super) fn slot_pk(key: SlotKey) -> String {
    format!("SLOT#{key}")
}

pub(super) fn hold_pk(id: HoldId) -> String {
    format!("HOLD#{id}")
}

pub(super) fn user_pk(user: &UserId) -> String {
    format!("USER#{user}")
}

pub(super) fn idem_pk(key: &str) -> String {
    format!("IDEM#{key}")
}

/// Every hold record of a player, in `gsi2` (not their slots' partition `USER#…`).
pub(super) fn player_holds_pk(user: &UserId) -> String {
    format!("HOLDS#{user}")
}

/// A cancelled booking's record in its room's `gsi1` partition: after the room's slots
/// (`SLOT#…`), in (start, slot id, hold's creation, hold id) order.
pub(super) fn cancelled_booking_gsi1sk(
    start_ms: i64,
    slot: &SlotId,
    created_ms: i64,
    id: HoldId,
) -> String {
    format!("{BOOKING_PREFIX}{start_ms:015}#{slot}#{created_ms:015}#{id}")
}

/// The prefix of [`cancelled_booking_gsi1sk`].
pub(super) const BOOKING_PREFIX: &str = "BOOKING#";

/// A user's holds in `gsi2`: newest first by creation time (epoch ms, zero-padded), then id.
pub(super) fn user_hold_gsi2sk(created_ms: i64, id: HoldId) -> String {
    format!("{created_ms:015}#{id}")
}

/// The bounds of a listing window on `gsi1sk`: slots starting at or after `from_ms` and, with
/// `to_ms`, before it (a key `SLOT#<to>#id` sorts after `SLOT#<to>`, so `BETWEEN` excludes it).
pub(super) fn slot_window_bounds(from_ms: i64, to_ms: Option<i64>) -> (String, String) {
    let low = format!("SLOT#{:015}", from_ms.max(0));
    let high = match to_ms {
        Some(to) => format!("SLOT#{:015}", to.max(0)),
        None => "SLOT#~".to_owned(),
    };
    (low, high)
}

/// The slot's sort key in the listing index: start time (epoch ms, zero-padded so strings sort
/// as numbers), then the slot id, as SQLite orders them.
pub(super) fn slot_gsi1sk(start_ms: i64, slot: &SlotId) -> String {
    format!("SLOT#{start_ms:015}#{slot}")
}

#[derive(Debug, Serialize)]
pub(super) struct Key {
    pub(super) pk: String,
    pub(super) sk: String,
}

impl Key {
    pub(super) fn slot(key: SlotKey) -> Self {
        Self {
            pk: slot_pk(key),
            sk: SLOT_SK.into(),
        }
    }

    pub(super) fn hold(id: HoldId) -> Self {
        Self {
            pk: hold_pk(id),
            sk: HOLD_SK.into(),
        }
    }

    pub(super) fn user(user: &UserId) -> Self {
        Self {
            pk: user_pk(user),
            sk: USER_SK.into(),
        }
    }

    pub(super) fn room(room: &RoomId) -> Self {
        Self {
            pk: room_pk(room),
            sk: ROOM_SK.into(),
        }
    }

    pub(super) fn schedule(room: &RoomId) -> Self {
        Self {
            pk: room_pk(room),
            sk: SCHEDULE_SK.into(),
        }
    }

    pub(super) fn item(&self) -> Result<HashMap<String, AttributeValue>, Error> {
        item_of(self)
    }
}

// ── Items ───────────────────────────────────────────────────────────────────────────────────

#[derive(Debug, Serialize, Deserialize)]
pub(super) struct UserItem {
    pub(super) pk: String,
    pub(super) sk: String,
    pub(super) user_id: UserId,
}

#[derive(Debug, Serialize, Deserialize)]
pub(super) struct RoomItem {
    pub(super) pk: String,
    pub(super) sk: String,
    pub(super) gsi1pk: String,
    pub(super) gsi1sk: String,
    /// [`ROOMS_PK`] and the room id: every room in one `gsi2` partition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) gsi2pk: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) gsi2sk: Option<String>,
    pub(super) room_id: RoomId,
    pub(super) name: String,
    pub(super) capacity: u32,
    /// The room's rules (a map); absent on a room of an earlier version: the defaults.
    #[serde(default)]
    pub(super) policy: RoomPolicy,
    /// Set once the room is retired ([`ARCHIVED_AT`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) archived_at: Option<i64>,
}

impl RoomItem {
    pub(super) fn of(room: &Room) -> Self {
        let pk = room_pk(&room.id);
        Self {
            pk: pk.clone(),
            sk: ROOM_SK.into(),
            gsi1pk: pk,
            gsi1sk: ROOM_SK.into(),
            gsi2pk: Some(ROOMS_PK.into()),
            gsi2sk: Some(room.id.to_string()),
            room_id: room.id.clone(),
            name: room.name.clone(),
            capacity: room.capacity,
            policy: room.policy.clone(),
            archived_at: None,
        }
    }

    pub(super) fn room(self) -> Room {
        Room {
            id: self.room_id,
            name: self.name,
            capacity: self.capacity,
            policy: self.policy,
        }
    }
}

/// A slot and its latest hold. The hold fields are absent until the first hold.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct SlotItem {
    /// Set when its room was retired before it started ([`ARCHIVED_AT`]): it takes no hold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) archived_at: Option<i64>,
    pub(super) pk: String,
    pub(super) sk: String,
    pub(super) gsi1pk: String,
    pub(super) gsi1sk: String,
    pub(super) slot_id: SlotId,
    pub(super) room_id: RoomId,
    /// Epoch milliseconds.
    pub(super) start_time: i64,
    pub(super) end_time: i64,
    pub(super) booked: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) hold_id: Option<HoldId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) holder: Option<UserId>,
    /// Epoch milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) hold_expires_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) hold_status: Option<HoldStatus>,
    /// The latest hold used its one extension.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) hold_extended: Option<bool>,
    /// Epoch milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) hold_created_at: Option<i64>,
    /// The venue's IANA time zone (a schedule's slots carry their room's; absent: UTC), so a
    /// listing shows `local_start` from the slot items alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) time_zone: Option<String>,
    /// `USER#<holder>` and [`user_hold_gsi2sk`]: the slot is listed under its latest holder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) gsi2pk: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) gsi2sk: Option<String>,
    /// The room's rules for this slot ([`SlotRules`]), copied here when the slot is made and
    /// whenever the room's rules change, so that a hold's one guarded write can check them:
    /// players, and the absolute moments (epoch ms) until which it can be held and cancelled.
    /// Absent on a slot of an earlier version: [`SlotRules::open`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) min_players: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) max_players: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) book_by: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) cancel_by: Option<i64>,
    /// The latest hold's party size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) hold_players: Option<u32>,
    /// Epoch milliseconds: when the latest hold was confirmed, cancelled; by whom and why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) hold_confirmed_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) hold_cancelled_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) hold_cancelled_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) hold_cancel_reason: Option<String>,
    /// The latest hold's booking reference and contact (removed by the retention job).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) hold_reference: Option<Reference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) hold_contact: Option<Contact>,
}

impl SlotItem {
    /// The room's rules for this slot, as copied onto it.
    pub(super) fn rules(&self) -> Result<SlotRules, Error> {
        let start = from_millis(self.start_time)?;
        let open = SlotRules::open(start);
        Ok(SlotRules {
            min_players: self.min_players.unwrap_or(open.min_players),
            max_players: self.max_players.unwrap_or(open.max_players),
            book_by: self.book_by.map(from_millis).transpose()?.unwrap_or(start),
            cancel_by: self
                .cancel_by
                .map(from_millis)
                .transpose()?
                .unwrap_or(start),
        })
    }

    /// Copies `rules` (and the room's time zone) onto the item.
    pub(super) fn set_rules(&mut self, rules: &SlotRules, time_zone: &str) {
        self.min_players = Some(rules.min_players);
        self.max_players = Some(rules.max_players);
        self.book_by = Some(rules.book_by.timestamp_millis());
        self.cancel_by = Some(rules.cancel_by.timestamp_millis());
        self.time_zone = Some(time_zone.to_owned());
    }

    /// The slot's latest hold, if it is `id` (as the slot records it: owner, status, expiry).
    pub(super) fn hold_if(&self, id: HoldId) -> Result<Option<Hold>, Error> {
        match (
            self.hold_id,
            &self.holder,
            self.hold_expires_at,
            self.hold_status,
        ) {
            (Some(current), Some(holder), Some(expires), Some(status)) if current == id => {
                Ok(Some(Hold {
                    id,
                    slot_id: self.slot_id.clone(),
                    user_id: holder.clone(),
                    status,
                    expires_at: from_millis(expires)?,
                    starts_at: from_millis(self.start_time)?,
                    extended: self.hold_extended.unwrap_or(false),
                    players: self.hold_players,
                    cancel_by: self.rules()?.cancel_by,
                    details: BookingDetails {
                        reference: self.hold_reference.clone(),
                        contact: self.hold_contact.clone(),
                    },
                }))
            }
            _ => Ok(None),
        }
    }
}

/// The record of a hold, written with it. While the hold is its slot's latest, the slot item is
/// the authority; the record answers once the slot has moved on. Extension and cancellation
/// change it in the same transaction as the slot, so it stays true: an extended `expires_at`,
/// and `cancelled_at` once cancelled (a hold that left its slot otherwise was released, or
/// expired).
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct HoldItem {
    pub(super) pk: String,
    pub(super) sk: String,
    pub(super) hold_id: HoldId,
    pub(super) slot_id: SlotId,
    /// The slot item's key (hex), for people reading the table.
    pub(super) slot_key: String,
    pub(super) user_id: UserId,
    /// Epoch milliseconds.
    pub(super) expires_at: i64,
    pub(super) created_at: i64,
    /// Epoch seconds: DynamoDB TTL may delete the record after this. Only on records written
    /// before holds were listed by player (they are kept now, as SQLite keeps its rows).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) ttl: Option<i64>,
    /// `HOLDS#<user>` and [`user_hold_gsi2sk`]: every hold of a player, newest first (the
    /// listing with `include_past`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) gsi2pk: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) gsi2sk: Option<String>,
    /// Once cancelled: `ROOM#<room>` and [`cancelled_booking_gsi1sk`], the booking in its
    /// room's day sheet after its slot has moved on, with what the slot knew of it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) gsi1pk: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) gsi1sk: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) room_id: Option<RoomId>,
    /// Epoch milliseconds (once cancelled): the slot's start, when the booking was confirmed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) start_time: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) confirmed_at: Option<i64>,
    #[serde(default)]
    pub(super) extended: bool,
    /// Epoch milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) cancelled_at: Option<i64>,
    /// The party size, when the hold named one (otherwise the room's minimum, which only the
    /// slot item knows).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) players: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) cancelled_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) reason: Option<String>,
    /// Set by the confirm: the booking's reference and contact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) reference: Option<Reference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) contact: Option<Contact>,
}

impl HoldItem {
    /// The hold as its record alone tells it, at `now`: cancelled; else, having left its slot
    /// before its time ran out, released; else expired (`HOLD`, which `now` makes expired). The
    /// record does not know the slot's start; the explanations that read it never need it.
    pub(super) fn hold(&self, now: chrono::DateTime<chrono::Utc>) -> Result<Hold, Error> {
        let expires_at = from_millis(self.expires_at)?;
        let status = if self.cancelled_at.is_some() {
            HoldStatus::Cancelled
        } else if now < expires_at {
            HoldStatus::Released
        } else {
            HoldStatus::Hold
        };
        Ok(Hold {
            id: self.hold_id,
            slot_id: self.slot_id.clone(),
            user_id: self.user_id.clone(),
            status,
            expires_at,
            starts_at: expires_at,
            extended: self.extended,
            players: self.players,
            cancel_by: expires_at,
            details: BookingDetails {
                reference: self.reference.clone(),
                contact: self.contact.clone(),
            },
        })
    }
}

/// A room's weekly schedule, beside its room item (same partition).
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct ScheduleItem {
    pub(super) pk: String,
    pub(super) sk: String,
    pub(super) room_id: RoomId,
    pub(super) schedule: crate::schedule::Schedule,
    /// Epoch milliseconds.
    pub(super) updated_at: i64,
}

/// An `Idempotency-Key` of `POST /holds` and the answer of its first request, written in the
/// same transaction as that hold.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct IdemItem {
    pub(super) pk: String,
    pub(super) sk: String,
    /// The normalised request the key was first used with.
    pub(super) request: String,
    pub(super) hold_id: HoldId,
    pub(super) slot_id: SlotId,
    pub(super) user_id: UserId,
    /// Epoch milliseconds.
    pub(super) expires_at: i64,
    pub(super) created_at: i64,
    /// Epoch seconds: TTL may delete the key after its window (clean-up only; the window is
    /// checked in the condition).
    pub(super) ttl: i64,
}

// ── Conversions ─────────────────────────────────────────────────────────────────────────────

pub(super) fn item_of<T: Serialize>(value: &T) -> Result<HashMap<String, AttributeValue>, Error> {
    to_item(value).map_err(|e| Error::Internal(format!("dynamodb item encoding: {e}")))
}

pub(super) fn parse_item<T: for<'de> Deserialize<'de>>(
    item: HashMap<String, AttributeValue>,
) -> Result<T, Error> {
    from_item(item).map_err(|e| Error::Internal(format!("malformed dynamodb item: {e}")))
}

pub(super) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub(super) fn n(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

pub(super) fn built<T>(
    what: &str,
    result: Result<T, aws_sdk_dynamodb::error::BuildError>,
) -> Result<T, Error> {
    result.map_err(|e| Error::Internal(format!("building {what}: {e}")))
}

/// A transaction's `Update` item, built (see [`built`]).
pub(super) fn update(
    what: &str,
    builder: aws_sdk_dynamodb::types::builders::UpdateBuilder,
) -> Result<aws_sdk_dynamodb::types::Update, Error> {
    built(what, builder.build())
}

#[cfg(test)]
#[path = "schema_tests.rs"]
mod tests;
