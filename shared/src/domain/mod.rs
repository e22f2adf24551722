//! The booking domain: validated ids, slots, holds and the caller-aware slot status.
//!
//! Everything here is pure: no I/O, no clock. Functions that depend on time take `now`, so expiry
//! is a comparison (`expires_at <= now` means the hold is gone) and tests drive it without sleeping.
//!
//! By concern, in private modules re-exported here, so that every item has one path,
//! `domain::X`:
//! - `ids`: user, room, slot and hold ids, and the slot key a hold id carries;
//! - `time`: the contract's time format ([`format_time`], [`rfc3339`]), [`has_started`], a
//!   venue's local day ([`today_in`]);
//! - `rooms`: a room, its rules and the body that sets them, a slot and its [`SlotRules`];
//! - `holds`: a hold's lifecycle, the caller-aware [`slot_status`], bookings and the
//!   `explain_*` functions that turn a refused write into the contract's answer;
//! - `refusal`: [`Invalid`] and [`Refusal`], what the error layer gives a status;
//! - `booking`: a booking's [`Reference`], its [`ManageKey`] (kept as a [`KeyDigest`]) and the
//!   player's [`Contact`];
//! - `echo`: the client's text as an error message quotes it, cut to [`MAX_ECHO_CHARS`].

mod booking;
mod echo;
mod holds;
mod ids;
mod refusal;
mod rooms;
mod time;

pub use booking::*;
pub use echo::*;
pub use holds::*;
pub use ids::*;
pub use refusal::*;
pub use rooms::*;
pub use time::*;

#[cfg(test)]
mod room_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod time_rule_tests;
