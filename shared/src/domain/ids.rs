//! Validated ids: users, rooms and slots (the contract's id form), holds (UUID v4 carrying their
//! slot's key) and the slot key itself.

use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::Invalid;

/// The longest id the contract accepts for users, rooms and slots.
pub const MAX_ID_LEN: usize = 64;

/// Checks the contract's id form: 1–64 characters of `[A-Za-z0-9._:-]`.
fn is_valid_id(value: &str) -> bool {
    (1..=MAX_ID_LEN).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident, $field:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Validates `value` against the contract's id form.
            pub fn parse(value: &str) -> Result<Self, Invalid> {
                Self::try_from(value.to_owned())
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = Invalid;
            fn try_from(value: String) -> Result<Self, Invalid> {
                if is_valid_id(&value) {
                    Ok(Self(value))
                } else {
                    Err(Invalid(format!(
                        "`{}` must be 1-64 characters of A-Z, a-z, 0-9, '.', '_', ':' or '-'.",
                        $field
                    )))
                }
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

string_id!(
    /// A user id such as `u-demo`.
    UserId,
    "user_id"
);
string_id!(
    /// A room id such as `r-101`.
    RoomId,
    "room_id"
);
string_id!(
    /// A slot id such as `s-1`.
    SlotId,
    "slot_id"
);

/// A hold id: a UUID v4 (RFC 9562 version and variant bits).
///
/// The first 48 bits of a new hold id are the slot's [`SlotKey`]; the remaining 74 free bits are
/// random. That lets a store find the slot's record from the hold id alone, so confirm and release
/// are one round trip on DynamoDB (no read to learn which slot a hold is for). A forged id gains
/// nothing: every store write is conditioned on the hold id the slot actually carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct HoldId(Uuid);

impl HoldId {
    /// A new, random hold id for `slot`.
    pub fn generate(slot: &SlotId) -> Self {
        let key = SlotKey::of(slot);
        let mut bytes = *Uuid::new_v4().as_bytes();
        bytes[..6].copy_from_slice(&key.0);
        // `from_bytes` keeps bytes as given; restore the v4 version and RFC variant bits.
        bytes[6] = (bytes[6] & 0x0f) | 0x40;
        bytes[8] = (bytes[8] & 0x3f) | 0x80;
        Self(Uuid::from_bytes(bytes))
    }

    /// Parses a hold id from a path segment: any UUID v4 in its hyphenated form.
    pub fn parse(value: &str) -> Result<Self, Invalid> {
        match Uuid::try_parse(value) {
            Ok(uuid) if uuid.get_version_num() == 4 => Ok(Self(uuid)),
            _ => Err(Invalid("`hold_id` must be a UUID v4.".into())),
        }
    }

    /// The [`SlotKey`] carried by this id (meaningful for ids made by [`HoldId::generate`]).
    pub fn slot_key(&self) -> SlotKey {
        let mut key = [0u8; 6];
        key.copy_from_slice(&self.0.as_bytes()[..6]);
        SlotKey(key)
    }

    pub fn as_uuid(&self) -> Uuid {
        self.0
    }
}

impl fmt::Display for HoldId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

/// A 48-bit digest of a slot id (the first bytes of its UUID v5), used as a storage key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SlotKey([u8; 6]);

impl SlotKey {
    const NAMESPACE: Uuid = Uuid::from_u128(0x6f1d_4a52_8c3e_4d0b_9a57_e5c2_0b7e_13a1);

    pub fn of(slot: &SlotId) -> Self {
        let digest = Uuid::new_v5(&Self::NAMESPACE, slot.as_str().as_bytes());
        let mut key = [0u8; 6];
        key.copy_from_slice(&digest.as_bytes()[..6]);
        Self(key)
    }
}

impl fmt::Display for SlotKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}
