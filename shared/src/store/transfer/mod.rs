//! Moving a venue between stores (`escape-room-server export` / `import`): its records as JSON
//! Lines, one record a line, each with its `kind`. Export reads the SQLite store in one read
//! transaction ([`crate::store::sqlite::SqliteStore::export`]); import writes into any store.
//!
//! Import first reads what the target has under every record's key, in batches
//! ([`Transfer::stored`]: one read transaction on SQLite, `BatchGetItem`s of 100 keys on
//! DynamoDB), and compares. Nothing is written until every record has been compared: a record
//! that differs and may not be overwritten refuses the whole import, naming it. Then:
//!
//! - users, rooms, schedules, slots, calendar feeds and webhook endpoints that are missing (and,
//!   with `replace`, the schedules, feeds and endpoints that differ) are written as they are
//!   ([`Transfer::put_records`]: one write transaction on SQLite, `BatchWriteItem`s of 25 on
//!   DynamoDB): they need no guard, as nothing but the import writes a record that is not there;
//! - a room that differs is overwritten (with `replace`) through [`crate::store::Store::put_room`],
//!   which carries its new rules onto its future slots;
//! - every missing hold is **replayed** in the order it was made (per slot; slots eight at a
//!   time), at its own times: created (and
//!   extended) at `created_at`, confirmed at `confirmed_at` with its reference, key digest and
//!   contact, cancelled at `cancelled_at` by whoever cancelled it, released at once when it was
//!   released. The guarded writes check the same rules as they did then, so the target ends in
//!   the state the source was in. The booking events those confirms and cancels write to the
//!   outbox are marked dispatched with no target (they happened long ago: no e-mail or webhook is
//!   sent again for them);
//! - last, a retired room is retired again at its own `archived_at`
//!   ([`crate::store::Store::retire_room`]), after its holds were replayed.
//!
//! Idempotent: a record the store has in the same state is counted `unchanged` and not written.
//! Never overwritten, even with `replace`: a hold (a booking's history is not rewritten: a
//! different booking on a slot is refused, naming it), a slot whose times differ, and a room the
//! target has retired. The outbox (events and deliveries) is not carried: its deliveries in flight
//! belong to the old home, which goes on delivering them.

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Backend, NewBooking, NewHold};
use crate::domain::{
    Canceller, Contact, HoldId, KeyDigest, Reference, Room, RoomId, RoomPolicy, SlotId, UserId,
    ViewStatus,
};
use crate::error::Error;
use crate::events::{EventId, EventKind};
use crate::schedule::Schedule;

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
        /// Set when the room is retired (`DELETE /rooms/{room_id}`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        archived_at: Option<DateTime<Utc>>,
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
    /// A room's calendar feed for its staff: the SHA-256 of its key, as stored (the key itself
    /// is never stored, so the staff's feed URL keeps working on the new home).
    CalendarFeed {
        room_id: RoomId,
        key_digest: String,
        rotated_at: DateTime<Utc>,
    },
    /// A webhook endpoint, with its signing secret (what the file's mode 0600 protects).
    Webhook(Box<WebhookRecord>),
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

impl HoldRecord {
    /// The status as `now` sees it: a hold live at the export, or released, has expired once
    /// its time ran out (as [`crate::domain::Hold::view_status`] tells it), so a later import
    /// compares like with like.
    pub fn status_at(&self, now: DateTime<Utc>) -> ViewStatus {
        match self.status {
            ViewStatus::Hold | ViewStatus::Released if self.expires_at <= now => {
                ViewStatus::Expired
            }
            status => status,
        }
    }
}

/// A webhook endpoint as exported (see [`crate::store::Webhook`]).
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookRecord {
    pub webhook_id: String,
    pub url: String,
    pub events: Vec<EventKind>,
    pub secret: String,
    pub created_at: DateTime<Utc>,
    #[serde(default)]
    pub disabled: bool,
}

/// Never printed with its secret.
impl std::fmt::Debug for WebhookRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookRecord")
            .field("webhook_id", &self.webhook_id)
            .field("url", &self.url)
            .field("events", &self.events)
            .field("created_at", &self.created_at)
            .field("disabled", &self.disabled)
            .finish_non_exhaustive()
    }
}

impl From<crate::store::Webhook> for WebhookRecord {
    fn from(hook: crate::store::Webhook) -> Self {
        Self {
            webhook_id: hook.id,
            url: hook.url,
            events: hook.events,
            secret: hook.secret,
            created_at: hook.created_at,
            disabled: hook.disabled,
        }
    }
}

/// What identifies a record in a store: its kind and id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RecordKey {
    User(UserId),
    Room(RoomId),
    Schedule(RoomId),
    Slot(SlotId),
    Hold(HoldId),
    CalendarFeed(RoomId),
    Webhook(String),
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
            Self::CalendarFeed { .. } => "calendar_feed",
            Self::Webhook(_) => "webhook",
        }
    }

    /// The record's key.
    pub fn key(&self) -> RecordKey {
        match self {
            Self::User { user_id } => RecordKey::User(user_id.clone()),
            Self::Room { room_id, .. } => RecordKey::Room(room_id.clone()),
            Self::Schedule { room_id, .. } => RecordKey::Schedule(room_id.clone()),
            Self::Slot { slot_id, .. } => RecordKey::Slot(slot_id.clone()),
            Self::Hold(hold) => RecordKey::Hold(hold.hold_id),
            Self::CalendarFeed { room_id, .. } => RecordKey::CalendarFeed(room_id.clone()),
            Self::Webhook(hook) => RecordKey::Webhook(hook.webhook_id.clone()),
        }
    }

    /// The record's id, for messages.
    pub fn id(&self) -> String {
        match self.key() {
            RecordKey::User(id) => id.to_string(),
            RecordKey::Room(id) | RecordKey::Schedule(id) | RecordKey::CalendarFeed(id) => {
                id.to_string()
            }
            RecordKey::Slot(id) => id.to_string(),
            RecordKey::Hold(id) => id.to_string(),
            RecordKey::Webhook(id) => id,
        }
    }

    /// A room record's room, as a [`Room`] (its retirement aside).
    fn room(&self) -> Option<Room> {
        match self {
            Self::Room {
                room_id,
                name,
                capacity,
                policy,
                ..
            } => Some(Room {
                id: room_id.clone(),
                name: name.clone(),
                capacity: *capacity,
                policy: policy.clone(),
            }),
            _ => None,
        }
    }
}

/// A store's side of an import: reading what it has under many keys, and writing records that
/// need no guard. Set-up work (no Lambda function calls it), beside [`crate::store::Provision`].
#[async_trait]
pub trait Transfer: Send + Sync {
    /// What the store has under each of `keys` (a key of nothing is left out), as records; a
    /// hold as `now` sees it (its `manage_key_digest` may be left out: a comparison does not
    /// read it). A retired room is returned with its `archived_at`. SQLite: one read
    /// transaction; DynamoDB: `BatchGetItem`s of 100 keys (and the held slots' items, to tell
    /// a hold's state).
    async fn stored(
        &self,
        keys: &[RecordKey],
        now: DateTime<Utc>,
    ) -> Result<HashMap<RecordKey, Record>, Error>;

    /// Writes `records` as they are, over whatever has their keys: users, rooms (as in use: a
    /// retirement is replayed by `retire_room`), schedules, slots (free, with the rules of their
    /// room in `rooms`), calendar feeds and webhook endpoints (holds are never passed). SQLite:
    /// one write transaction; DynamoDB: `BatchWriteItem`s of 25 (unprocessed items sent again
    /// with backoff), then the room and webhook counters set from what the table has.
    async fn put_records(
        &self,
        records: &[Record],
        rooms: &HashMap<RoomId, Room>,
    ) -> Result<(), Error>;
}

/// Records written and left unchanged, per kind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    pub written: std::collections::BTreeMap<&'static str, usize>,
    pub unchanged: std::collections::BTreeMap<&'static str, usize>,
}

impl Counts {
    fn wrote(&mut self, kind: &'static str) {
        *self.written.entry(kind).or_default() += 1;
    }
    fn kept(&mut self, kind: &'static str) {
        *self.unchanged.entry(kind).or_default() += 1;
    }
}

/// What the import does with a record the target has with other data.
enum Differs {
    /// `replace` overwrites it.
    Replaceable,
    /// Never overwritten; why.
    Never(&'static str),
}

/// Whether the target's `have` is the record `want` (a hold: the same slot, player and status
/// as `now` sees it).
fn same(have: &Record, want: &Record, now: DateTime<Utc>) -> bool {
    match (have, want) {
        (Record::Hold(have), Record::Hold(want)) => {
            have.slot_id == want.slot_id
                && have.user_id == want.user_id
                && have.status_at(now) == want.status_at(now)
        }
        (have, want) => have == want,
    }
}

/// What may be done with a record that differs from the target's.
fn differs(have: &Record, want: &Record) -> Differs {
    match (have, want) {
        (
            Record::Room {
                archived_at: Some(_),
                ..
            },
            _,
        ) => Differs::Never("the target has retired it, and a retired room is not changed"),
        (Record::Room { .. }, _)
        | (Record::Schedule { .. }, _)
        | (Record::CalendarFeed { .. }, _)
        | (Record::Webhook(_), _) => Differs::Replaceable,
        (Record::Slot { .. }, _) => Differs::Never(
            "a slot's times are never moved by an import (the target's schedule moves its free slots)",
        ),
        (Record::Hold(_), _) => Differs::Never(
            "a hold's or booking's history is never rewritten (another booking on the slot, or \
             the same hold in another state)",
        ),
        (Record::User { .. }, _) => Differs::Never("a user is only an id"),
    }
}

fn refused(record: &Record, why: &str, replace: bool) -> Error {
    let hint = if replace {
        String::new()
    } else {
        " (import --replace overwrites rooms, schedules, calendar feeds and webhooks)".to_owned()
    };
    Error::Validation(format!(
        "the target already has {} {} with different data: {why}; nothing was imported{hint}",
        record.kind(),
        record.id()
    ))
}

/// A hold the target refused to replay, named (a store that did not answer stays itself).
fn refused_hold(hold: &HoldRecord, err: Error) -> Error {
    match err {
        Error::Unavailable(_) | Error::Internal(_) => err,
        refusal => Error::Validation(format!(
            "hold {} (slot {}, player {}) was refused by the target: {refusal} A booking or hold \
             the target has on that slot is never overwritten, even with --replace. The records \
             before it were imported; import again once the slot is resolved: what is in place \
             is left as it is.",
            hold.hold_id, hold.slot_id, hold.user_id
        )),
    }
}

/// What an import writes, once every record was compared.
#[derive(Default)]
struct Plan {
    counts: Counts,
    /// Written as they are ([`Transfer::put_records`]).
    plain: Vec<Record>,
    /// Overwritten through [`crate::store::Store::put_room`].
    replaced_rooms: Vec<Room>,
    /// Replayed.
    holds: Vec<HoldRecord>,
    /// Retired again at their time, last.
    retire: Vec<(RoomId, DateTime<Utc>)>,
}

impl Plan {
    /// Takes in `record`, which the target has as `have`: unchanged, to write, or refused.
    fn add(
        &mut self,
        record: Record,
        have: Option<&Record>,
        replace: bool,
        now: DateTime<Utc>,
    ) -> Result<(), Error> {
        let kind = record.kind();
        if let Some(have) = have {
            if same(have, &record, now) {
                self.counts.kept(kind);
                return Ok(());
            }
            match differs(have, &record) {
                Differs::Never(why) => return Err(refused(&record, why, replace)),
                Differs::Replaceable if !replace => {
                    let why = "not overwritten without --replace";
                    return Err(refused(&record, why, replace));
                }
                Differs::Replaceable => {}
            }
        }
        self.counts.wrote(kind);
        match record {
            Record::Hold(hold) => self.holds.push(*hold),
            Record::Room {
                room_id,
                name,
                capacity,
                policy,
                archived_at,
            } => {
                if let Some(at) = archived_at {
                    self.retire.push((room_id.clone(), at));
                }
                if have.is_some() {
                    self.replaced_rooms.push(Room {
                        id: room_id,
                        name,
                        capacity,
                        policy,
                    });
                } else {
                    self.plain.push(Record::Room {
                        room_id,
                        name,
                        capacity,
                        policy,
                        archived_at: None,
                    });
                }
            }
            other => self.plain.push(other),
        }
        Ok(())
    }
}

/// Imports `records` into `store` (see the module's header). `now` decides which holds are live.
pub async fn import(
    store: &dyn Backend,
    records: Vec<Record>,
    replace: bool,
    now: DateTime<Utc>,
) -> Result<Counts, Error> {
    let keys: Vec<RecordKey> = records.iter().map(Record::key).collect();
    let mut seen = HashSet::new();
    for (key, record) in keys.iter().zip(&records) {
        if !seen.insert(key) {
            return Err(Error::Validation(format!(
                "the file has {} {} twice; nothing was imported",
                record.kind(),
                record.id()
            )));
        }
    }
    let stored = store.stored(&keys, now).await?;
    let rooms: HashMap<RoomId, Room> = records
        .iter()
        .filter_map(Record::room)
        .map(|room| (room.id.clone(), room))
        .collect();
    let mut plan = Plan::default();
    for record in records {
        let have = stored.get(&record.key());
        plan.add(record, have, replace, now)?;
    }
    store.put_records(&plan.plain, &rooms).await?;
    for room in plan.replaced_rooms {
        store.put_room(&room, None, now).await?;
    }
    replay_all(store, plan.holds, now).await?;
    for (room, at) in plan.retire {
        store.retire_room(&room, None, at).await?;
    }
    Ok(plan.counts)
}

/// Replays `holds`: each slot's holds in the order they were made (the guards of one slot see
/// its holds one after another, as they happened), the slots spread over [`REPLAY_LANES`] lanes
/// that run at once (holds of different slots do not meet: no player cap is applied to a
/// replay). A lane stops at its first refusal; the first refusal is returned once all stop.
async fn replay_all(
    store: &dyn Backend,
    mut holds: Vec<HoldRecord>,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    holds.sort_by_key(|h| (h.created_at, h.hold_id.to_string()));
    let mut lane_of: HashMap<SlotId, usize> = HashMap::new();
    let mut lanes: Vec<Vec<&HoldRecord>> = vec![Vec::new(); REPLAY_LANES];
    for hold in &holds {
        let next = lane_of.len() % REPLAY_LANES;
        let lane = *lane_of.entry(hold.slot_id.clone()).or_insert(next);
        lanes[lane].push(hold);
    }
    let lane = |i: usize| {
        let holds = lanes.get(i).cloned().unwrap_or_default();
        async move {
            for hold in holds {
                replay(store, hold, now)
                    .await
                    .map_err(|e| refused_hold(hold, e))?;
                settle_events(store, hold, now).await?;
            }
            Ok::<(), Error>(())
        }
    };
    let done = tokio::join!(
        lane(0),
        lane(1),
        lane(2),
        lane(3),
        lane(4),
        lane(5),
        lane(6),
        lane(7)
    );
    [
        done.0, done.1, done.2, done.3, done.4, done.5, done.6, done.7,
    ]
    .into_iter()
    .collect()
}

/// Slots whose holds are replayed at once (the `tokio::join!` in [`replay_all`] names each).
const REPLAY_LANES: usize = 8;

/// The events a replayed confirm or cancel wrote are history: dispatched to no one (only these
/// two: the target's own events, if it serves already, are left to its drainer). Only the events
/// the hold's story wrote are looked up: a confirmed or cancelled booking's `booking.confirmed`,
/// a cancelled one's `booking.cancelled`.
async fn settle_events(
    store: &dyn Backend,
    hold: &HoldRecord,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    let kinds: &[EventKind] = match hold.status {
        ViewStatus::Confirmed => &[EventKind::Confirmed],
        ViewStatus::Cancelled => &[EventKind::Confirmed, EventKind::Cancelled],
        _ => &[],
    };
    for &kind in kinds {
        if let Some(event) = store.event(&EventId::of(hold.hold_id, kind)).await? {
            store.dispatch_event(&event, &[], now).await?;
        }
    }
    Ok(())
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
            let digest = || missing("manage_key_digest");
            let booking = NewBooking {
                reference: hold.reference.clone().ok_or_else(|| missing("reference"))?,
                key: KeyDigest::stored(hold.manage_key_digest.clone().ok_or_else(digest)?),
                contact: hold.contact.clone(),
                mail_key: None, // only the digest travels; an import's events go to no one
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
