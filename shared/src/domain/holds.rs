//! Holds and what a caller sees: a hold's lifecycle, the caller-aware slot status, bookings, and
//! `explain_*`, which turn the state a refused guarded write found into the contract's answer.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::{BookingDetails, HoldId, Refusal, Slot, SlotId, UserId, has_started};

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
    /// A confirmed booking's reference and contact (empty before the confirm).
    pub details: BookingDetails,
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

/// The `Retry-After` of a player at their cap of live holds: whole seconds (rounded up) until
/// their earliest live hold expires at `earliest`, at least 1.
pub fn whole_seconds_until(earliest: DateTime<Utc>, now: DateTime<Utc>) -> u64 {
    let millis = (earliest - now).num_milliseconds().max(0);
    u64::try_from((millis + 999) / 1000).unwrap_or(1).max(1)
}

/// A hold's status as a look-up shows it: the stored lifecycle plus `EXPIRED` for a hold whose
/// time ran out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ViewStatus {
    Hold,
    Confirmed,
    Released,
    Expired,
    Cancelled,
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
    /// The booking's reference and contact.
    pub details: BookingDetails,
}
