//! The booking domain: validated ids, slots, holds and the caller-aware slot status.
//!
//! Everything here is pure: no I/O, no clock. Functions that depend on time take `now`, so expiry
//! is a comparison (`expires_at <= now` means the hold is gone) and tests drive it without sleeping.

use std::fmt;

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A value the contract does not accept: an id of the wrong form, a field out of range. The
/// message names the field and is shown to the caller (422).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(pub String);

/// Why a hold operation is refused, in the domain's terms (the error layer gives each its status).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// Unknown, expired, or (for confirm) released.
    #[error("hold not found or expired")]
    HoldGone,
    /// The hold belongs to another user.
    #[error("hold belongs to another user")]
    NotHoldOwner,
    /// Release or extension of a confirmed hold: a booking is not released or extended.
    #[error("hold is confirmed")]
    HoldConfirmed,
    /// Extension of a released hold.
    #[error("hold is released")]
    HoldReleased,
    /// Cancellation of a hold that is not a booking.
    #[error("hold is not confirmed")]
    HoldNotConfirmed,
    /// The hold's one extension is used up.
    #[error("extension used")]
    ExtensionUsed,
    /// The slot has started: it can no longer be held, extended into, confirmed or cancelled.
    #[error("slot started")]
    SlotStarted,
    /// Cancellation closer to the start than the cut-off.
    #[error("cancellation cut-off passed")]
    CancelCutoff,
    /// A hold on a slot that starts sooner than the room's minimum notice.
    #[error("too late to book")]
    TooLateToBook,
    /// A party size outside the room's players.
    #[error("`players` must be from {min} to {max} for this room, got {players}.")]
    PartySize { players: u32, min: u32, max: u32 },
    /// The store refused a change the domain allows: a broken invariant (never the caller's
    /// fault). The text is for the log only.
    #[error("inconsistent state: {0}")]
    Inconsistent(String),
}

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

/// Formats a time as the contract does: RFC 3339, UTC, `Z` suffix, milliseconds only when
/// non-zero (`2026-11-24T15:00:00Z`, `2026-11-24T15:05:00.250Z`).
pub fn format_time(t: DateTime<Utc>) -> String {
    let mut buf = [0u8; 24];
    write_time(t, &mut buf).to_owned()
}

/// Writes `t` into `buf` without allocating (a listing formats two times per slot, so this is on
/// the hot path); falls back to chrono outside years 0–9999.
fn write_time(t: DateTime<Utc>, buf: &mut [u8; 24]) -> &str {
    use chrono::{Datelike, Timelike};
    let year = t.year();
    if !(0..=9999).contains(&year) {
        let fallback = t.to_rfc3339_opts(SecondsFormat::AutoSi, true);
        let n = fallback.len().min(buf.len());
        buf[..n].copy_from_slice(&fallback.as_bytes()[..n]);
        return std::str::from_utf8(&buf[..n]).unwrap_or_default();
    }
    let millis = t.timestamp_subsec_millis().min(999);
    let fields = [
        (0, 4, year as u32),
        (5, 2, t.month()),
        (8, 2, t.day()),
        (11, 2, t.hour()),
        (14, 2, t.minute()),
        (17, 2, t.second().min(59)),
        (20, 3, millis),
    ];
    for (at, width, mut value) in fields {
        for i in (at..at + width).rev() {
            buf[i] = b'0' + (value % 10) as u8;
            value /= 10;
        }
    }
    buf[4] = b'-';
    buf[7] = b'-';
    buf[10] = b'T';
    buf[13] = b':';
    buf[16] = b':';
    let len = if millis == 0 {
        buf[19] = b'Z';
        20
    } else {
        buf[19] = b'.';
        buf[23] = b'Z';
        24
    };
    std::str::from_utf8(&buf[..len]).unwrap_or_default()
}

/// Serde adapter for contract-formatted times.
pub mod rfc3339 {
    use super::*;
    use serde::Serializer;

    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(write_time(*t, &mut [0u8; 24]))
    }

    pub mod option {
        use super::*;

        pub fn serialize<S: Serializer>(
            t: &Option<DateTime<Utc>>,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            match t {
                Some(t) => super::serialize(t, s),
                None => s.serialize_none(),
            }
        }
    }
}

/// A room, as stored. `capacity` is its most players (`max_players`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Room {
    pub id: RoomId,
    pub name: String,
    pub capacity: u32,
    pub policy: RoomPolicy,
}

/// A room's rules besides its name and capacity: its venue's time zone, game length, players and
/// booking rules. Stored with the room; a room stored before rooms had rules gets the defaults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RoomPolicy {
    /// IANA time zone name, e.g. `Europe/Berlin`.
    pub time_zone: String,
    pub min_players: u32,
    pub duration_minutes: u32,
    pub buffer_minutes: u32,
    pub min_notice_minutes: u32,
    pub max_advance_days: u32,
    pub cancel_cutoff_minutes: u32,
}

impl Default for RoomPolicy {
    fn default() -> Self {
        Self {
            time_zone: "UTC".into(),
            min_players: 1,
            duration_minutes: 90,
            buffer_minutes: 0,
            min_notice_minutes: 0,
            max_advance_days: 60,
            cancel_cutoff_minutes: 0,
        }
    }
}

/// The body of `PUT /rooms/{room_id}`: the room's name and rules, validated by [`RoomSpec::room`].
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoomSpec {
    pub name: String,
    pub time_zone: String,
    pub min_players: u32,
    pub max_players: u32,
    pub duration_minutes: u32,
    #[serde(default)]
    pub buffer_minutes: u32,
    #[serde(default)]
    pub min_notice_minutes: u32,
    #[serde(default = "default_max_advance_days")]
    pub max_advance_days: u32,
    #[serde(default)]
    pub cancel_cutoff_minutes: u32,
}

fn default_max_advance_days() -> u32 {
    60
}

/// The limits a room's rules are held to (422 outside them).
pub const MAX_ROOM_NAME_LEN: usize = 100;
pub const MAX_PLAYERS: u32 = 100;
pub const MAX_GAME_MINUTES: u32 = 24 * 60;
pub const MAX_NOTICE_MINUTES: u32 = 30 * 24 * 60;
pub const MAX_ADVANCE_DAYS: u32 = 366;

impl RoomSpec {
    /// The room `id` these rules describe, or the first rule it breaks, named.
    pub fn room(self, id: RoomId) -> Result<Room, Invalid> {
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > MAX_ROOM_NAME_LEN {
            return Err(Invalid(format!(
                "`name` must be 1-{MAX_ROOM_NAME_LEN} characters."
            )));
        }
        if self.time_zone.parse::<chrono_tz::Tz>().is_err() {
            return Err(Invalid(format!(
                "`time_zone` must be an IANA time zone such as Europe/Berlin, got `{}`.",
                self.time_zone
            )));
        }
        if self.min_players == 0 || self.max_players > MAX_PLAYERS {
            return Err(Invalid(format!(
                "`min_players` and `max_players` must be from 1 to {MAX_PLAYERS}."
            )));
        }
        if self.min_players > self.max_players {
            return Err(Invalid(format!(
                "`min_players` ({}) must not be more than `max_players` ({}).",
                self.min_players, self.max_players
            )));
        }
        if self.duration_minutes == 0 || self.duration_minutes > MAX_GAME_MINUTES {
            return Err(Invalid(format!(
                "`duration_minutes` must be from 1 to {MAX_GAME_MINUTES}."
            )));
        }
        if self.buffer_minutes > MAX_GAME_MINUTES {
            return Err(Invalid(format!(
                "`buffer_minutes` must be from 0 to {MAX_GAME_MINUTES}."
            )));
        }
        for (field, value) in [
            ("min_notice_minutes", self.min_notice_minutes),
            ("cancel_cutoff_minutes", self.cancel_cutoff_minutes),
        ] {
            if value > MAX_NOTICE_MINUTES {
                return Err(Invalid(format!(
                    "`{field}` must be from 0 to {MAX_NOTICE_MINUTES} (30 days)."
                )));
            }
        }
        if self.max_advance_days == 0 || self.max_advance_days > MAX_ADVANCE_DAYS {
            return Err(Invalid(format!(
                "`max_advance_days` must be from 1 to {MAX_ADVANCE_DAYS}."
            )));
        }
        Ok(Room {
            id,
            name: name.to_owned(),
            capacity: self.max_players,
            policy: RoomPolicy {
                time_zone: self.time_zone,
                min_players: self.min_players,
                duration_minutes: self.duration_minutes,
                buffer_minutes: self.buffer_minutes,
                min_notice_minutes: self.min_notice_minutes,
                max_advance_days: self.max_advance_days,
                cancel_cutoff_minutes: self.cancel_cutoff_minutes,
            },
        })
    }
}

/// A bookable time window of one room, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    pub id: SlotId,
    pub room_id: RoomId,
    pub start_time: DateTime<Utc>,
    pub end_time: DateTime<Utc>,
}

/// A room's booking rules as they bear on one of its slots, in absolute times: what a guarded
/// write compares with `now` (DynamoDB copies them onto each slot item, SQLite reads them from
/// the room in the same statement).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotRules {
    pub min_players: u32,
    pub max_players: u32,
    /// A hold can be taken while `now < book_by`: the start minus the minimum notice.
    pub book_by: DateTime<Utc>,
    /// A player can cancel while `now < cancel_by`: the start minus the cancellation cut-off.
    pub cancel_by: DateTime<Utc>,
}

impl SlotRules {
    /// The rules of a slot whose room has none (a slot stored before rooms had rules): any party
    /// size, bookable and cancellable until it starts.
    pub fn open(start: DateTime<Utc>) -> Self {
        Self {
            min_players: 1,
            max_players: MAX_PLAYERS,
            book_by: start,
            cancel_by: start,
        }
    }

    /// Whether a hold for `players` (the room's minimum when `None`) may be taken at `now` on a
    /// slot starting at `start` under these rules; the first rule it breaks otherwise.
    pub fn check_hold(
        &self,
        start: DateTime<Utc>,
        players: Option<u32>,
        now: DateTime<Utc>,
    ) -> Result<(), Refusal> {
        if has_started(start, now) {
            return Err(Refusal::SlotStarted);
        }
        if self.book_by <= now {
            return Err(Refusal::TooLateToBook);
        }
        match players {
            Some(players) if players < self.min_players || players > self.max_players => {
                Err(Refusal::PartySize {
                    players,
                    min: self.min_players,
                    max: self.max_players,
                })
            }
            _ => Ok(()),
        }
    }
}

impl Room {
    /// The room's rules for its slot starting at `start`.
    pub fn rules_for(&self, start: DateTime<Utc>) -> SlotRules {
        let minutes = |m: u32| Duration::minutes(i64::from(m));
        SlotRules {
            min_players: self.policy.min_players,
            max_players: self.capacity,
            book_by: start - minutes(self.policy.min_notice_minutes),
            cancel_by: start - minutes(self.policy.cancel_cutoff_minutes),
        }
    }
}

/// The lifecycle of a hold. `HOLD` is live until `expires_at`; the others are final.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum HoldStatus {
    Hold,
    Confirmed,
    Released,
    /// A booking its owner cancelled before the slot started; the slot is free again.
    Cancelled,
}

impl HoldStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hold => "HOLD",
            Self::Confirmed => "CONFIRMED",
            Self::Released => "RELEASED",
            Self::Cancelled => "CANCELLED",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "HOLD" => Some(Self::Hold),
            "CONFIRMED" => Some(Self::Confirmed),
            "RELEASED" => Some(Self::Released),
            "CANCELLED" => Some(Self::Cancelled),
            _ => None,
        }
    }
}

/// A hold as stored: who holds which slot, until when, and where it is in its lifecycle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hold {
    pub id: HoldId,
    pub slot_id: SlotId,
    pub user_id: UserId,
    pub status: HoldStatus,
    pub expires_at: DateTime<Utc>,
    /// When the hold's slot starts (the time rules compare it with `now`).
    pub starts_at: DateTime<Utc>,
    /// The hold's one extension has been used.
    pub extended: bool,
    /// The party size: given with the hold, or the room's `min_players`. `None` only where a
    /// store can no longer tell (see the DynamoDB hold record).
    pub players: Option<u32>,
    /// The owner may cancel the booking while `now < cancel_by` (the room's cut-off).
    pub cancel_by: DateTime<Utc>,
}

impl Hold {
    /// A hold counts only while it is `HOLD` and `now < expires_at`.
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        self.status == HoldStatus::Hold && now < self.expires_at
    }

    /// The hold as a caller sees it at `now` (see [`ViewStatus`]).
    pub fn view_status(&self, now: DateTime<Utc>) -> ViewStatus {
        match self.status {
            HoldStatus::Hold if now < self.expires_at => ViewStatus::Hold,
            HoldStatus::Hold => ViewStatus::Expired,
            HoldStatus::Confirmed => ViewStatus::Confirmed,
            // After its time a released hold is as gone as an expired one (the rule the release
            // retry follows too); both stores can tell only that much once the slot moved on.
            HoldStatus::Released if now < self.expires_at => ViewStatus::Released,
            HoldStatus::Released => ViewStatus::Expired,
            HoldStatus::Cancelled => ViewStatus::Cancelled,
        }
    }

    /// Whole seconds until a live hold expires (rounded up); 0 for anything else.
    pub fn seconds_left(&self, now: DateTime<Utc>) -> i64 {
        if self.is_live(now) {
            let millis = (self.expires_at - now).num_milliseconds();
            (millis + 999) / 1000
        } else {
            0
        }
    }
}

/// A hold's status as a look-up shows it: the stored lifecycle plus `EXPIRED` for a hold whose
/// time ran out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ViewStatus {
    Hold,
    Confirmed,
    Released,
    Expired,
    Cancelled,
}

/// Whether a slot starting at `starts_at` has started at `now` (a slot starting exactly now has).
pub fn has_started(starts_at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    starts_at <= now
}

/// A slot together with what the store knows about its occupancy at one instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotState {
    pub slot: Slot,
    /// The slot has been booked by a confirmed hold.
    pub booked: bool,
    /// The most recent `HOLD`-status hold, if any; it may already be expired.
    pub hold: Option<Hold>,
    /// The venue's time zone, in which the slot's `local_start` is shown (UTC for a slot whose
    /// room has none).
    pub time_zone: chrono_tz::Tz,
    /// A hold can be taken while `now < book_by` (the room's minimum notice).
    pub book_by: DateTime<Utc>,
}

impl SlotState {
    /// The slot's start in its venue's time zone, with that zone's offset at that instant.
    pub fn local_start(&self) -> DateTime<chrono::FixedOffset> {
        self.slot
            .start_time
            .with_timezone(&self.time_zone)
            .fixed_offset()
    }
}

/// What a caller sees of a slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SlotStatus {
    Booked,
    HeldByMe,
    HeldByOther,
    Available,
    /// The slot has started: nothing can be done with it any more.
    Past,
    /// Free, but starting sooner than the room's minimum notice: it can no longer be held.
    Closed,
}

/// The caller-aware status of a slot at `now`. An expired hold counts as no hold at all; a caller
/// without a user id sees every live hold as someone else's.
pub fn slot_status(state: &SlotState, caller: Option<&UserId>, now: DateTime<Utc>) -> SlotStatus {
    if has_started(state.slot.start_time, now) {
        return SlotStatus::Past;
    }
    if state.booked {
        return SlotStatus::Booked;
    }
    match &state.hold {
        Some(hold) if hold.is_live(now) => {
            if caller == Some(&hold.user_id) {
                SlotStatus::HeldByMe
            } else {
                SlotStatus::HeldByOther
            }
        }
        _ if state.book_by <= now => SlotStatus::Closed,
        _ => SlotStatus::Available,
    }
}

/// The hold, if there is one and it is `caller`'s: unknown is 410, another user's 403 whatever
/// its state (so nobody learns anything about other people's holds).
fn owned<'h>(hold: Option<&'h Hold>, caller: &UserId) -> Result<&'h Hold, Refusal> {
    let hold = hold.ok_or(Refusal::HoldGone)?;
    if &hold.user_id == caller {
        Ok(hold)
    } else {
        Err(Refusal::NotHoldOwner)
    }
}

/// The answer to a confirm or release that did not apply.
///
/// Stores make the change with one guarded write; when the guard fails they hand the hold as it
/// was (or `None`) to [`explain_confirm`] / [`explain_release`], so both stores turn the same
/// state into the same answer.
pub fn explain_confirm(
    hold: Option<&Hold>,
    caller: &UserId,
    now: DateTime<Utc>,
) -> Result<Hold, Refusal> {
    let hold = owned(hold, caller)?;
    match hold.status {
        HoldStatus::Confirmed => Ok(hold.clone()),
        HoldStatus::Released | HoldStatus::Cancelled => Err(Refusal::HoldGone),
        HoldStatus::Hold if !hold.is_live(now) => Err(Refusal::HoldGone),
        HoldStatus::Hold if has_started(hold.starts_at, now) => Err(Refusal::SlotStarted),
        // The hold is live and the caller's, yet the guarded write refused it: only a broken
        // invariant (the slot booked under a live hold) gets here.
        HoldStatus::Hold => Err(Refusal::Inconsistent(format!(
            "confirm of live hold {} refused by the store",
            hold.id
        ))),
    }
}

/// See [`explain_confirm`]. Releasing again is a no-op answered 200 for as long as the hold would
/// have lived (a retry); after `expires_at` a released hold is as gone as an expired one (410).
/// That bound is what both stores can tell apart, DynamoDB even after the slot was held again.
/// A confirmed hold is a booking, which this call does not undo.
pub fn explain_release(
    hold: Option<&Hold>,
    caller: &UserId,
    now: DateTime<Utc>,
) -> Result<Hold, Refusal> {
    let hold = owned(hold, caller)?;
    match hold.status {
        HoldStatus::Released if now < hold.expires_at => Ok(hold.clone()),
        HoldStatus::Released | HoldStatus::Cancelled => Err(Refusal::HoldGone),
        HoldStatus::Confirmed => Err(Refusal::HoldConfirmed),
        HoldStatus::Hold if !hold.is_live(now) => Err(Refusal::HoldGone),
        HoldStatus::Hold => Err(Refusal::Inconsistent(format!(
            "release of live hold {} refused by the store",
            hold.id
        ))),
    }
}

/// See [`explain_confirm`]. A hold is extended once, while it is live and its slot has not
/// started; a confirmed hold, or a released one before its expiry, is 409; an expired or unknown
/// one (or a released one after its expiry) 410.
pub fn explain_extend(
    hold: Option<&Hold>,
    caller: &UserId,
    now: DateTime<Utc>,
) -> Result<Hold, Refusal> {
    let hold = owned(hold, caller)?;
    match hold.status {
        HoldStatus::Confirmed => Err(Refusal::HoldConfirmed),
        // After its time a released hold is as gone as an expired one (the rule of release
        // retries and look-ups), which both stores can tell once the slot has moved on.
        HoldStatus::Released if now < hold.expires_at => Err(Refusal::HoldReleased),
        HoldStatus::Released | HoldStatus::Cancelled => Err(Refusal::HoldGone),
        HoldStatus::Hold if !hold.is_live(now) => Err(Refusal::HoldGone),
        HoldStatus::Hold if hold.extended => Err(Refusal::ExtensionUsed),
        HoldStatus::Hold if has_started(hold.starts_at, now) => Err(Refusal::SlotStarted),
        HoldStatus::Hold => Err(Refusal::Inconsistent(format!(
            "extension of live hold {} refused by the store",
            hold.id
        ))),
    }
}

/// Who cancels a booking: its player (under the cut-offs) or an operator (any booking, until it
/// starts, with a reason).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Canceller {
    Player {
        user: UserId,
        /// The service's cut-off (`CANCEL_CUTOFF_SECONDS`); the room's applies too, through the
        /// hold's `cancel_by`: the earlier of the two moments wins.
        cutoff: Duration,
    },
    Operator {
        /// Who, as recorded in `cancelled_by`: `operator`, or the operator's JWT subject.
        name: String,
        reason: String,
    },
}

impl Canceller {
    /// What a cancellation records as `cancelled_by`.
    pub fn name(&self) -> &str {
        match self {
            Self::Player { user, .. } => user.as_str(),
            Self::Operator { name, .. } => name,
        }
    }

    /// The reason recorded with the cancellation (an operator's; a player gives none).
    pub fn reason(&self) -> Option<&str> {
        match self {
            Self::Player { .. } => None,
            Self::Operator { reason, .. } => Some(reason),
        }
    }

    /// The last moment (exclusive) this canceller may cancel a booking starting at `start` whose
    /// room allows cancelling until `cancel_by`.
    pub fn deadline(&self, start: DateTime<Utc>, cancel_by: DateTime<Utc>) -> DateTime<Utc> {
        match self {
            Self::Player { cutoff, .. } => (start - *cutoff).min(cancel_by),
            Self::Operator { .. } => start,
        }
    }
}

/// See [`explain_confirm`]. Only a booking is cancelled: by its owner before the cut-offs, or by
/// an operator before the slot starts; cancelling again answers the cancelled hold (a retry).
pub fn explain_cancel(
    hold: Option<&Hold>,
    by: &Canceller,
    now: DateTime<Utc>,
) -> Result<Hold, Refusal> {
    let hold = match by {
        Canceller::Player { user, .. } => owned(hold, user)?,
        Canceller::Operator { .. } => hold.ok_or(Refusal::HoldGone)?,
    };
    match hold.status {
        HoldStatus::Cancelled => Ok(hold.clone()),
        HoldStatus::Hold | HoldStatus::Released => Err(Refusal::HoldNotConfirmed),
        HoldStatus::Confirmed if has_started(hold.starts_at, now) => Err(Refusal::SlotStarted),
        HoldStatus::Confirmed if by.deadline(hold.starts_at, hold.cancel_by) <= now => {
            Err(Refusal::CancelCutoff)
        }
        HoldStatus::Confirmed => Err(Refusal::Inconsistent(format!(
            "cancellation of booking {} refused by the store",
            hold.id
        ))),
    }
}

/// A booking as the day sheet shows it: a slot's latest hold when it is `CONFIRMED` or
/// `CANCELLED`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Booking {
    pub hold_id: HoldId,
    pub slot_id: SlotId,
    pub start_time: DateTime<Utc>,
    pub user_id: UserId,
    pub players: Option<u32>,
    pub status: HoldStatus,
    pub confirmed_at: Option<DateTime<Utc>>,
    pub cancelled_at: Option<DateTime<Utc>>,
    pub cancelled_by: Option<String>,
    pub reason: Option<String>,
}

/// The local day containing `now` in `zone`, as a UTC window `[start, end)`: from the day's first
/// moment to the next day's (23 or 25 hours on daylight-saving days).
pub fn today_in(zone: chrono_tz::Tz, now: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    let date = now.with_timezone(&zone).date_naive();
    let start = day_start(zone, date).unwrap_or(now);
    let end = date
        .succ_opt()
        .and_then(|next| day_start(zone, next))
        .unwrap_or(start + Duration::days(1));
    (start, end)
}

/// The first moment of a local date: its midnight, or (where the clocks skip midnight) the first
/// minute after it that exists.
fn day_start(zone: chrono_tz::Tz, date: chrono::NaiveDate) -> Option<DateTime<Utc>> {
    use chrono::TimeZone;
    (0..=180).step_by(15).find_map(|minutes| {
        let local = date.and_hms_opt(0, 0, 0)? + Duration::minutes(minutes);
        zone.from_local_datetime(&local)
            .earliest()
            .map(|t| t.with_timezone(&Utc))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

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
}

#[cfg(test)]
mod time_rule_tests {
    use super::tests::state;
    use super::*;
    use chrono::TimeZone;

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
}

#[cfg(test)]
mod room_tests {
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
}
