//! The bounds on the work one request may ask for: a schedule's starts a day, weekly entries,
//! closures, closure reasons and planned slots, and the number of rooms. Each is a setting with
//! a default, a whole number from 1 or `off` (no limit: chosen explicitly, never by default).

use super::{ConfigError, Lookup};

/// The bounds as read; `None` is `off`. (The schedule's own type is `schedule::Limits`; this
/// leaf imports nothing of the crate, so `http` copies these into it.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    /// `SCHEDULE_MAX_STARTS_PER_DAY`, default 48.
    pub starts_per_day: Option<usize>,
    /// `SCHEDULE_MAX_WEEKLY_ENTRIES`, default 50.
    pub weekly_entries: Option<usize>,
    /// `SCHEDULE_MAX_CLOSURES`, default 400.
    pub closures: Option<usize>,
    /// `SCHEDULE_MAX_REASON_CHARS`, default 200.
    pub reason_chars: Option<usize>,
    /// `SCHEDULE_MAX_PLANNED_SLOTS`, default 20,000.
    pub planned_slots: Option<usize>,
    /// `MAX_ROOMS`, default 500.
    pub rooms: Option<usize>,
}

impl Default for Bounds {
    fn default() -> Self {
        Self {
            starts_per_day: Some(48),
            weekly_entries: Some(50),
            closures: Some(400),
            reason_chars: Some(200),
            planned_slots: Some(20_000),
            rooms: Some(500),
        }
    }
}

impl Bounds {
    /// No limit at all (tests that are not about a limit).
    pub const OFF: Self = Self {
        starts_per_day: None,
        weekly_entries: None,
        closures: None,
        reason_chars: None,
        planned_slots: None,
        rooms: None,
    };
}

/// The largest value any of them accepts: far above any sensible bound, and small enough that a
/// count never overflows.
const MAX_SETTING: usize = 100_000_000;

/// Reads the six limit variables.
pub(super) fn bounds(get: &Lookup) -> Result<Bounds, ConfigError> {
    let defaults = Bounds::default();
    Ok(Bounds {
        starts_per_day: limit(get, "SCHEDULE_MAX_STARTS_PER_DAY", defaults.starts_per_day)?,
        weekly_entries: limit(get, "SCHEDULE_MAX_WEEKLY_ENTRIES", defaults.weekly_entries)?,
        closures: limit(get, "SCHEDULE_MAX_CLOSURES", defaults.closures)?,
        reason_chars: limit(get, "SCHEDULE_MAX_REASON_CHARS", defaults.reason_chars)?,
        planned_slots: limit(get, "SCHEDULE_MAX_PLANNED_SLOTS", defaults.planned_slots)?,
        rooms: limit(get, "MAX_ROOMS", defaults.rooms)?,
    })
}

/// One limit: unset → `default`; `off` → none; otherwise 1 to [`MAX_SETTING`].
fn limit(get: &Lookup, name: &str, default: Option<usize>) -> Result<Option<usize>, ConfigError> {
    let Some(value) = get(name) else {
        return Ok(default);
    };
    let value = value.trim();
    if value.eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    value
        .replace('_', "")
        .parse::<usize>()
        .ok()
        .filter(|n| (1..=MAX_SETTING).contains(n))
        .map(Some)
        .ok_or_else(|| {
            ConfigError(format!(
                "{name} must be a whole number from 1 to {MAX_SETTING}, or `off` for no limit, \
                 got `{value}`"
            ))
        })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn limits_of(vars: &[(&str, &str)]) -> Result<Bounds, String> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        bounds(&|k: &str| map.get(k).cloned()).map_err(|e| e.to_string())
    }

    #[test]
    fn the_defaults_are_48_starts_50_entries_400_closures_200_characters_20000_slots_500_rooms() {
        let limits = limits_of(&[]).unwrap();
        assert_eq!(limits, Bounds::default());
        assert_eq!(
            (
                limits.starts_per_day,
                limits.weekly_entries,
                limits.closures,
                limits.reason_chars,
                limits.planned_slots,
                limits.rooms
            ),
            (
                Some(48),
                Some(50),
                Some(400),
                Some(200),
                Some(20_000),
                Some(500)
            )
        );
    }

    #[test]
    fn each_limit_is_set_by_its_variable_or_turned_off_explicitly() {
        let limits = limits_of(&[
            ("SCHEDULE_MAX_STARTS_PER_DAY", "96"),
            ("SCHEDULE_MAX_WEEKLY_ENTRIES", "off"),
            ("SCHEDULE_MAX_CLOSURES", " 10 "),
            ("SCHEDULE_MAX_REASON_CHARS", "OFF"),
            ("SCHEDULE_MAX_PLANNED_SLOTS", "50_000"),
            ("MAX_ROOMS", "3"),
        ])
        .unwrap();
        assert_eq!(
            limits,
            Bounds {
                starts_per_day: Some(96),
                weekly_entries: None,
                closures: Some(10),
                reason_chars: None,
                planned_slots: Some(50_000),
                rooms: Some(3),
            }
        );
    }

    #[test]
    fn a_bad_limit_stops_the_start_naming_its_variable() {
        for name in [
            "SCHEDULE_MAX_STARTS_PER_DAY",
            "SCHEDULE_MAX_WEEKLY_ENTRIES",
            "SCHEDULE_MAX_CLOSURES",
            "SCHEDULE_MAX_REASON_CHARS",
            "SCHEDULE_MAX_PLANNED_SLOTS",
            "MAX_ROOMS",
        ] {
            for bad in ["0", "-1", "many", "100000001", "none"] {
                let err = limits_of(&[(name, bad)]).unwrap_err();
                assert!(
                    err.contains(name) && err.contains("`off`"),
                    "{name}={bad}: {err}"
                );
            }
        }
    }
}
