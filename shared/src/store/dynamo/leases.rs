//! The per-player caps on DynamoDB: a player's places are LEASES, attributes of their user item
//! (`USER#<id>`/`USER`), `hold_lease_<i>` and `booking_lease_<i>` for `i` below the cap, each the
//! id of the hold that holds the place, with `…_until` (epoch ms: the hold's expiry, or the
//! booking's start) as a hint.
//!
//! A hold (or a confirm) takes ONE place in its own `TransactWriteItems`: the user item's update
//! is guarded on the place being as it was read (empty, or the same old hold), and a place of an
//! old hold is taken only with a `ConditionCheck` in the same transaction that the old hold is
//! over (its slot no longer carries it live: released, confirmed, expired — for a booking:
//! cancelled or started). The conditions make it atomic: two requests choosing the same place
//! cannot both succeed, and a place is never taken from a live hold. Choosing a place reads first
//! (one strongly consistent read of the user item — with the hold's slot for a confirm — and,
//! only when no place is free by its hint, one `BatchGetItem` of the places' slots); a condition
//! that fails because another request took the place sends the choice again.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck};
use chrono::{DateTime, Utc};

use super::DynamoStore;
use super::schema::*;
use crate::domain::{HoldId, HoldStatus, SlotKey};
use crate::error::Error;
use crate::store::millis;

/// How often a capped write chooses a place and sends its transaction before answering 503: each
/// lost race on a place is another request's success, so N racing requests need at most about
/// cap + 1 rounds.
pub(super) const CHOICE_ATTEMPTS: u32 = 12;

/// Which cap a lease counts for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum LeaseKind {
    /// `MAX_LIVE_HOLDS_PER_PLAYER`: the hold is live while its slot carries it `HOLD` and not
    /// expired.
    Hold,
    /// `MAX_UPCOMING_BOOKINGS_PER_PLAYER`: the booking is upcoming while its slot carries it
    /// `CONFIRMED` and has not started.
    Booking,
}

impl LeaseKind {
    fn attribute(self, place: usize) -> String {
        match self {
            Self::Hold => format!("hold_lease_{place}"),
            Self::Booking => format!("booking_lease_{place}"),
        }
    }

    fn until(self, place: usize) -> String {
        format!("{}_until", self.attribute(place))
    }

    fn live_status(self) -> HoldStatus {
        match self {
            Self::Hold => HoldStatus::Hold,
            Self::Booking => HoldStatus::Confirmed,
        }
    }

    /// The slot attribute whose moment ends the place (the hold's expiry, the booking's start).
    fn end_attribute(self) -> &'static str {
        match self {
            Self::Hold => HOLD_EXPIRES_AT,
            Self::Booking => START_TIME,
        }
    }

    /// The moment the slot item says the place of `hold` ends, if the slot still carries `hold`
    /// live (`None`: the place is free).
    fn live_until(self, slot: &SlotItem, hold: HoldId, now: i64) -> Option<i64> {
        let end = match self {
            Self::Hold => slot.hold_expires_at?,
            Self::Booking => slot.start_time,
        };
        (slot.hold_id == Some(hold) && slot.hold_status == Some(self.live_status()) && end > now)
            .then_some(end)
    }
}

/// One taken place: the hold in it and the hint of its end (epoch ms).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Lease {
    pub(super) hold: HoldId,
    pub(super) until: i64,
}

/// A player's places of one kind, as their user item has them (`None`: empty).
#[derive(Clone, Debug)]
pub(super) struct Leases {
    kind: LeaseKind,
    places: Vec<Option<Lease>>,
}

impl Leases {
    /// The first `cap` places of `kind` on the user item (`None`: no user item; every place is
    /// empty).
    pub(super) fn of(
        item: Option<&HashMap<String, AttributeValue>>,
        kind: LeaseKind,
        cap: u32,
    ) -> Self {
        let places = (0..cap as usize)
            .map(|place| {
                let item = item?;
                let hold = item.get(&kind.attribute(place))?.as_s().ok()?;
                let hold = HoldId::parse(hold).ok()?;
                let until = item
                    .get(&kind.until(place))
                    .and_then(|n| n.as_n().ok())
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(0);
                Some(Lease { hold, until })
            })
            .collect();
        Self { kind, places }
    }
}

/// The place a write takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Place {
    pub(super) index: usize,
    /// The old hold in it; `None` when empty.
    pub(super) old: Option<Lease>,
}

/// What the choice found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Choice {
    Take(Place),
    /// Every place is taken by a live hold (or upcoming booking); the earliest ends then (ms).
    Full {
        earliest_end: i64,
    },
}

/// Chooses a place: an empty one; else (with `trust_hints`) the one whose hint ended first, if it
/// has; else the places' slots are read (one consistent `BatchGetItem`) and a place whose hold is
/// over is taken — or none is, and the cap is reached. (A hint ends too early for an extended
/// hold: the transaction's check of the old hold refuses it, and the next choice, without
/// hints, reads the slots.)
pub(super) async fn choose(
    store: &DynamoStore,
    leases: &Leases,
    trust_hints: bool,
    now: DateTime<Utc>,
) -> Result<Choice, Error> {
    let now = millis(now);
    if let Some(index) = leases.places.iter().position(Option::is_none) {
        return Ok(Choice::Take(Place { index, old: None }));
    }
    let taken: Vec<(usize, Lease)> = leases
        .places
        .iter()
        .enumerate()
        .filter_map(|(i, lease)| lease.map(|l| (i, l)))
        .collect();
    if let Some(&(index, lease)) = taken
        .iter()
        .filter(|(_, lease)| trust_hints && lease.until <= now)
        .min_by_key(|(_, lease)| lease.until)
    {
        return Ok(Choice::Take(Place {
            index,
            old: Some(lease),
        }));
    }
    let slots = super::slot_items(store, taken.iter().map(|(_, l)| l.hold.slot_key())).await?;
    let mut earliest_end = i64::MAX;
    for (index, lease) in taken {
        let live = slots
            .get(&slot_pk(lease.hold.slot_key()))
            .and_then(|slot| leases.kind.live_until(slot, lease.hold, now));
        match live {
            Some(end) => earliest_end = earliest_end.min(end),
            None => {
                return Ok(Choice::Take(Place {
                    index,
                    old: Some(lease),
                }));
            }
        }
    }
    Ok(Choice::Full { earliest_end })
}

/// The user item's side of taking `place` for `hold` (until `until`, ms): the condition that the
/// place is as it was read and the `SET`, as expression parts with their values (`:place_old`,
/// `:place_new`, `:place_until`), for the caller's update of the user item.
pub(super) fn claim(
    kind: LeaseKind,
    place: Place,
    hold: HoldId,
    until: i64,
) -> (String, String, Vec<(&'static str, AttributeValue)>) {
    let (attribute, until_attribute) = (kind.attribute(place.index), kind.until(place.index));
    let mut values = vec![
        (":place_new", s(hold.to_string())),
        (":place_until", n(until)),
    ];
    let condition = match place.old {
        None => format!("attribute_not_exists({attribute})"),
        Some(old) => {
            values.push((":place_old", s(old.hold.to_string())));
            format!("{attribute} = :place_old")
        }
    };
    let set = format!("{attribute} = :place_new, {until_attribute} = :place_until");
    (condition, set, values)
}

/// The `ConditionCheck` that the old hold of `place` is over: its slot no longer carries it live
/// (no such slot, another hold, another status, or its end passed). `None` when the place was
/// empty, or when the old hold's slot is `written` (an item of the transaction already, whose own
/// guard proves it: a transaction may not name an item twice).
pub(super) fn old_hold_over(
    store: &DynamoStore,
    kind: LeaseKind,
    place: Place,
    written: SlotKey,
    now: DateTime<Utc>,
) -> Result<Option<ConditionCheck>, Error> {
    let Some(old) = place.old else {
        return Ok(None);
    };
    if old.hold.slot_key() == written {
        return Ok(None);
    }
    let check = ConditionCheck::builder()
        .table_name(&store.table)
        .set_key(Some(Key::slot(old.hold.slot_key()).item()?))
        .condition_expression(format!(
            "attribute_not_exists({PK}) OR {HOLD_ID} <> :old OR {HOLD_STATUS} <> :live \
             OR {end} <= :now",
            end = kind.end_attribute()
        ))
        .expression_attribute_values(":old", s(old.hold.to_string()))
        .expression_attribute_values(":live", s(kind.live_status().as_str()))
        .expression_attribute_values(":now", n(millis(now)))
        .build();
    Ok(Some(built("old place's check", check)?))
}
