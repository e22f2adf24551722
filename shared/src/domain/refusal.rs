//! Why the domain refuses: a value the contract does not accept ([`Invalid`]), or a hold
//! operation the rules forbid ([`Refusal`]). The error layer gives each its status.

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
