//! The per-player caps that stop one client from taking a room: live holds
//! (`MAX_LIVE_HOLDS_PER_PLAYER`, default 2) and upcoming bookings
//! (`MAX_UPCOMING_BOOKINGS_PER_PLAYER`, default 8). `0` turns a cap off (chosen explicitly, never
//! by default). Operators are not capped: the caps bind the player's own holds and confirms.

use super::{ConfigError, Lookup};

/// The largest cap: DynamoDB keeps one lease per place on the player's user item, and a full
/// player's leases are read in one `BatchGetItem` (at most 100 keys).
pub const MAX_PLAYER_CAP: u32 = 100;

/// The caps as read; `None` is `0` (no cap).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caps {
    /// `MAX_LIVE_HOLDS_PER_PLAYER`: a player's live holds (`HOLD`, not expired), default 2.
    pub live_holds: Option<u32>,
    /// `MAX_UPCOMING_BOOKINGS_PER_PLAYER`: a player's upcoming bookings (confirmed, not
    /// cancelled, slot not started), default 8.
    pub upcoming_bookings: Option<u32>,
}

impl Default for Caps {
    fn default() -> Self {
        Self {
            live_holds: Some(2),
            upcoming_bookings: Some(8),
        }
    }
}

impl Caps {
    /// No cap at all (tests that are not about the caps).
    pub const OFF: Self = Self {
        live_holds: None,
        upcoming_bookings: None,
    };
}

/// Reads the two cap variables.
pub(super) fn caps(get: &Lookup) -> Result<Caps, ConfigError> {
    let defaults = Caps::default();
    Ok(Caps {
        live_holds: cap(get, "MAX_LIVE_HOLDS_PER_PLAYER", defaults.live_holds)?,
        upcoming_bookings: cap(
            get,
            "MAX_UPCOMING_BOOKINGS_PER_PLAYER",
            defaults.upcoming_bookings,
        )?,
    })
}

/// One cap: unset → `default`; `0` → none; otherwise 1 to [`MAX_PLAYER_CAP`].
fn cap(get: &Lookup, name: &str, default: Option<u32>) -> Result<Option<u32>, ConfigError> {
    let Some(value) = get(name) else {
        return Ok(default);
    };
    let value = value.trim();
    match value.parse::<u32>() {
        Ok(0) => Ok(None),
        Ok(n) if n <= MAX_PLAYER_CAP => Ok(Some(n)),
        _ => Err(ConfigError(format!(
            "{name} must be a whole number from 0 (no cap) to {MAX_PLAYER_CAP}, got `{value}`"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn caps_of(vars: &[(&str, &str)]) -> Result<Caps, String> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        caps(&|k: &str| map.get(k).cloned()).map_err(|e| e.to_string())
    }

    #[test]
    fn the_defaults_are_two_live_holds_and_eight_upcoming_bookings() {
        assert_eq!(
            caps_of(&[]).unwrap(),
            Caps {
                live_holds: Some(2),
                upcoming_bookings: Some(8)
            }
        );
    }

    #[test]
    fn zero_turns_a_cap_off_and_a_number_sets_it() {
        let caps = caps_of(&[
            ("MAX_LIVE_HOLDS_PER_PLAYER", "0"),
            ("MAX_UPCOMING_BOOKINGS_PER_PLAYER", "3"),
        ])
        .unwrap();
        assert_eq!(caps.live_holds, None);
        assert_eq!(caps.upcoming_bookings, Some(3));
    }

    #[test]
    fn a_bad_cap_stops_start_up_naming_the_variable() {
        for bad in ["-1", "two", "101", "off"] {
            let err = caps_of(&[("MAX_LIVE_HOLDS_PER_PLAYER", bad)]).unwrap_err();
            assert!(err.contains("MAX_LIVE_HOLDS_PER_PLAYER"), "{bad}: {err}");
        }
        let err = caps_of(&[("MAX_UPCOMING_BOOKINGS_PER_PLAYER", "1.5")]).unwrap_err();
        assert!(err.contains("MAX_UPCOMING_BOOKINGS_PER_PLAYER"), "{err}");
    }
}
