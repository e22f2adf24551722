//! Moving a venue between stores (`escape-room-server export` / `import`): its records as JSON
//! Lines, one record a line, each with its `kind`. Export reads the SQLite store in one read
//! transaction ([`crate::store::sqlite::SqliteStore::export`]); import writes into any store
//! through its own operations, so the items written are exactly the ones the service writes:
//!
//! - users, rooms, schedules and slots through [`crate::store::Provision::load`] (a record that exists is left
//!   as it is), after comparing each room and schedule with what the store has;
//! - every hold **replayed** in the order it was made, at its own times: created (and extended)
//!   at `created_at`, confirmed at `confirmed_at` with its reference, key digest and contact,
//!   cancelled at `cancelled_at` by whoever cancelled it, released at once when it was released.
//!   The guarded writes check the same rules as they did then, so the target ends in the state
//!   the source was in. The booking events those confirms and cancels write to the outbox are
//!   marked dispatched with no target (they happened long ago: no e-mail or webhook is sent
//!   again for them).
//!
//! Idempotent: a record the store has in the same state is counted `unchanged` and not written; a
//! room or schedule that differs is refused (naming it) unless `replace`, a hold that differs is
//! always refused (its history is not rewritten).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Backend, NewBooking, NewHold};
use crate::domain::{
    Canceller, Contact, HoldId, KeyDigest, Reference, Room, RoomId, RoomPolicy, Slot, SlotId,
    UserId, ViewStatus,
};
use crate::error::Error;
use crate::events::{EventId, EventKind};
use crate::schedule::Schedule;
use crate::seed::SeedData;

/// One line of an export file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Record {
    User {
        user_id: UserId,
    },
    Room {
        room_id: RoomId,
        name: String,
        capacity: u32,
        policy: RoomPolicy,
    },
    Schedule {
        room_id: RoomId,
        schedule: Schedule,
    },
    Slot {
        slot_id: SlotId,
        room_id: RoomId,
        start_time: DateTime<Utc>,
        end_time: DateTime<Utc>,
    },
    Hold(Box<HoldRecord>),
}

/// A hold with its whole story: what a replay needs, and what a comparison reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HoldRecord {
    pub hold_id: HoldId,
    pub slot_id: SlotId,
    pub user_id: UserId,
    /// As seen at the export: `HOLD` (live), `EXPIRED`, `RELEASED`, `CONFIRMED`, `CANCELLED`.
    pub status: ViewStatus,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub extended: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub players: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirmed_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<Reference>,
    /// The SHA-256 of the booking's manage key (the key itself is never stored).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manage_key_digest: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<Contact>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancelled_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancelled_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl Record {
    /// The record's kind, as in the file.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::User { .. } => "user",
            Self::Room { .. } => "room",
            Self::Schedule { .. } => "schedule",
            Self::Slot { .. } => "slot",
            Self::Hold(_) => "hold",
        }
    }
}

/// Records written and left unchanged, per kind; users and slots are handed to
/// [`crate::store::Provision::load`] as a whole (`loaded`: each one written only if missing).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    pub written: BTreeMap<&'static str, usize>,
    pub unchanged: BTreeMap<&'static str, usize>,
    pub loaded: BTreeMap<&'static str, usize>,
}

impl Counts {
    fn wrote(&mut self, kind: &'static str) {
        *self.written.entry(kind).or_default() += 1;
    }
    fn kept(&mut self, kind: &'static str) {
        *self.unchanged.entry(kind).or_default() += 1;
    }
}

/// Imports `records` into `store` (see the module's header). `now` decides which holds are live.
pub async fn import(
    store: &dyn Backend,
    records: Vec<Record>,
    replace: bool,
    now: DateTime<Utc>,
) -> Result<Counts, Error> {
    let mut counts = Counts::default();
    let mut data = SeedData::default();
    let mut holds = Vec::new();
    let mut replaced_rooms = Vec::new();
    for record in records {
        match record {
            Record::User { user_id } => {
                data.users.push(user_id);
            }
            Record::Room {
                room_id,
                name,
                capacity,
                policy,
            } => {
                let room = Room {
                    id: room_id,
                    name,
                    capacity,
                    policy,
                };
                match store.get_room(&room.id).await? {
                    Some(have) if have == room => counts.kept("room"),
                    Some(_) if replace => replaced_rooms.push(room),
                    Some(_) => return Err(differs("room", room.id.as_str())),
                    None => {
                        counts.wrote("room");
                        data.rooms.push(room);
                    }
                }
            }
            Record::Schedule { room_id, schedule } => match store.get_schedule(&room_id).await? {
                Some(have) if have == schedule => counts.kept("schedule"),
                Some(_) => return Err(differs("schedule", room_id.as_str())),
                None => {
                    counts.wrote("schedule");
                    data.schedules.push((room_id, schedule));
                }
            },
            Record::Slot {
                slot_id,
                room_id,
                start_time,
                end_time,
            } => data.slots.push(Slot {
                id: slot_id,
                room_id,
                start_time,
                end_time,
            }),
            Record::Hold(hold) => holds.push(*hold),
        }
    }
    // Users and slots are loaded as they are (a slot or user that exists is kept as it is).
    counts.loaded.insert("user", data.users.len());
    counts.loaded.insert("slot", data.slots.len());
    store.load(&data).await?;
    for room in replaced_rooms {
        store.put_room(&room, None, now).await?;
        counts.wrote("room");
    }
    holds.sort_by_key(|h| (h.created_at, h.hold_id.to_string()));
    for hold in &holds {
        match store.get_hold(hold.hold_id, now).await? {
            Some(have) if have.view_status(now) == hold.status => counts.kept("hold"),
            Some(_) => return Err(differs("hold", &hold.hold_id.to_string())),
            None => {
                replay(store, hold, now).await?;
                settle_events(store, hold.hold_id, now).await?;
                counts.wrote("hold");
            }
        }
    }
    Ok(counts)
}

/// The events a replayed confirm or cancel wrote are history: dispatched to no one (only these
/// two: the target's own events, if it serves already, are left to its drainer).
async fn settle_events(store: &dyn Backend, hold: HoldId, now: DateTime<Utc>) -> Result<(), Error> {
    for kind in [EventKind::Confirmed, EventKind::Cancelled] {
        if let Some(event) = store.event(&EventId::of(hold, kind)).await? {
            store.dispatch_event(&event, &[], now).await?;
        }
    }
    Ok(())
}

fn differs(kind: &str, id: &str) -> Error {
    Error::Validation(format!(
        "the target already has {kind} {id} with different data; nothing more was imported \
         (import --replace overwrites rooms; schedules and holds are never overwritten)"
    ))
}

/// Writes one hold's story into `store` through the service's own operations, at its own times.
async fn replay(store: &dyn Backend, hold: &HoldRecord, now: DateTime<Utc>) -> Result<(), Error> {
    let at = hold.created_at;
    let new = NewHold {
        id: hold.hold_id,
        slot_id: hold.slot_id.clone(),
        user_id: hold.user_id.clone(),
        expires_at: hold.expires_at,
        verified_user: true,
        players: hold.players,
        max_live_holds: None,
    };
    store.create_hold(&new, None, at).await?;
    if hold.extended {
        store
            .extend_hold(hold.hold_id, &hold.user_id, hold.expires_at, at)
            .await?;
    }
    match hold.status {
        ViewStatus::Hold | ViewStatus::Expired => {}
        ViewStatus::Released => {
            store.release_hold(hold.hold_id, &hold.user_id, at).await?;
        }
        ViewStatus::Confirmed | ViewStatus::Cancelled => {
            let missing = |what: &str| {
                Error::Validation(format!("hold {}: a booking without {what}", hold.hold_id))
            };
            let booking = NewBooking {
                reference: hold.reference.clone().ok_or_else(|| missing("reference"))?,
                key: KeyDigest::stored(
                    hold.manage_key_digest
                        .clone()
                        .ok_or_else(|| missing("manage_key_digest"))?,
                ),
                contact: hold.contact.clone(),
                // Only the key's digest travels (and an import's events go to no one).
                mail_key: None,
            };
            let confirmed_at = hold.confirmed_at.ok_or_else(|| missing("confirmed_at"))?;
            store
                .confirm_booking(hold.hold_id, &hold.user_id, &booking, None, confirmed_at)
                .await?;
            if hold.status == ViewStatus::Cancelled {
                let by = hold
                    .cancelled_by
                    .clone()
                    .ok_or_else(|| missing("cancelled_by"))?;
                let by = match hold.reason.clone() {
                    Some(reason) => Canceller::Operator { name: by, reason },
                    None => Canceller::Player {
                        user: hold.user_id.clone(),
                        cutoff: chrono::Duration::zero(),
                    },
                };
                let at = hold.cancelled_at.ok_or_else(|| missing("cancelled_at"))?;
                store.cancel_hold(hold.hold_id, &by, at).await?;
            }
        }
    }
    let _ = now;
    Ok(())
}
