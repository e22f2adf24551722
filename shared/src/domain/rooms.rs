//! Rooms and their rules: the stored room, its policy, the body that sets both, and a room's
//! rules as they bear on one slot (who may hold it, until when it can be booked and cancelled).

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::{Invalid, Refusal, RoomId, SlotId, has_started};

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

/// The refusal of a new room when `max` rooms exist already (`MAX_ROOMS`), the same on every
/// store.
pub fn too_many_rooms(max: usize) -> Invalid {
    Invalid(format!(
        "there are {max} rooms already; a venue may have at most {max} rooms (replace an \
         existing room instead)"
    ))
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
                super::echo(&self.time_zone)
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
