//! Booking events: what a confirm or a cancellation tells the venue's other systems, in the
//! Standard Webhooks payload shape. Pure: the stores write an event in the same atomic step as
//! its change (the outbox, `store::Outbox`), `delivery` sends it; both use these values.
//!
//! An event's id is a function of its booking and its kind (`evt_` + UUIDv5 of the hold id and
//! the kind), so a retried write names the same event, and every delivery attempt of it carries
//! the same `webhook-id`: a receiver deduplicates on it.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::{Contact, HoldId, Reference, RoomId, SlotId, UserId};

/// The namespace of event ids (a fixed random UUID: ids are ours, not a DNS or URL name).
const EVENT_NAMESPACE: Uuid = Uuid::from_u128(0x6d1f_2c3a_9b0e_4a57_8e21_5f40_c7d3_a912);

/// What happened to a booking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EventKind {
    #[serde(rename = "booking.confirmed")]
    Confirmed,
    #[serde(rename = "booking.cancelled")]
    Cancelled,
}

impl EventKind {
    /// Every kind, in the order the API lists them.
    pub const ALL: [Self; 2] = [Self::Confirmed, Self::Cancelled];

    /// The event's `type`: `booking.confirmed`, `booking.cancelled`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Confirmed => "booking.confirmed",
            Self::Cancelled => "booking.cancelled",
        }
    }

    /// The kind named `name`, if it is one.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

/// An event's id: `evt_` and the UUIDv5 of (hold id, kind). The `webhook-id` of its deliveries.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EventId(String);

impl EventId {
    /// The id of `kind` of the booking made by hold `hold`: the same on every call.
    pub fn of(hold: HoldId, kind: EventKind) -> Self {
        let name = format!("{hold}/{}", kind.as_str());
        Self(format!(
            "evt_{}",
            Uuid::new_v5(&EVENT_NAMESPACE, name.as_bytes()).simple()
        ))
    }

    /// An id as stored (written by [`Self::of`]).
    pub fn stored(id: String) -> Self {
        Self(id)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for EventId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The booking as the event tells it (the payload's `data`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventData {
    pub reference: Option<Reference>,
    pub hold_id: HoldId,
    pub room_id: RoomId,
    pub room_name: String,
    pub slot_id: SlotId,
    pub start_time: DateTime<Utc>,
    pub end_time: DateTime<Utc>,
    /// The start in the venue's zone, with its offset (`2026-12-05T18:00:00+01:00`).
    pub local_start: String,
    /// The venue's IANA zone.
    pub time_zone: String,
    pub players: Option<u32>,
    pub user_id: UserId,
    pub contact: Option<Contact>,
    /// `booking.cancelled`: who cancelled (the player's user id, `operator` or
    /// `operator:<name>`) and an operator's reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancelled_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The venue's wall-clock time of `time` with its offset, as the API's `local_start`; UTC when
/// the zone is unknown.
pub fn local_start(time: DateTime<Utc>, zone: &str) -> String {
    match zone.parse::<chrono_tz::Tz>() {
        Ok(zone) => time
            .with_timezone(&zone)
            .fixed_offset()
            .to_rfc3339_opts(SecondsFormat::Secs, false),
        Err(_) => time.to_rfc3339_opts(SecondsFormat::Secs, true),
    }
}

/// One event: its id, kind, when the change committed, and the booking.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BookingEvent {
    pub id: EventId,
    pub kind: EventKind,
    pub occurred_at: DateTime<Utc>,
    pub data: EventData,
}

/// The Standard Webhooks payload: `{"type", "timestamp", "data"}`.
#[derive(Serialize)]
struct Payload<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    timestamp: String,
    data: &'a EventData,
}

impl BookingEvent {
    /// The event of `kind` for `data`, at `occurred_at`; its id from the hold and the kind.
    pub fn new(kind: EventKind, occurred_at: DateTime<Utc>, data: EventData) -> Self {
        Self {
            id: EventId::of(data.hold_id, kind),
            kind,
            occurred_at,
            data,
        }
    }

    /// The JSON body every delivery of this event sends (the same bytes on every attempt).
    pub fn body(&self) -> Result<Vec<u8>, serde_json::Error> {
        serde_json::to_vec(&Payload {
            kind: self.kind.as_str(),
            timestamp: self
                .occurred_at
                .to_rfc3339_opts(SecondsFormat::AutoSi, true),
            data: &self.data,
        })
    }
}

#[cfg(test)]
mod tests;
