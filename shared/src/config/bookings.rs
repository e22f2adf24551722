//! What a booking carries to the player: the manage link's base (`PUBLIC_BASE_URL`, unset by
//! default: the confirm answers the reference and key, and the booking page builds the link on
//! its own origin) and how long contact details are kept after the game
//! (`CONTACT_RETENTION_DAYS`, default 90), booking events and their deliveries
//! (`EVENT_RETENTION_DAYS`, default 30), and the bounds of a room's calendar feed for its staff
//! (`CALENDAR_FEED_DAYS`, default 31; `CALENDAR_FEED_MAX_EVENTS`, default 500).

use chrono::Duration;

use super::{ConfigError, Lookup};

pub const DEFAULT_CONTACT_RETENTION_DAYS: i64 = 90;
/// Ten years: longer is a typo.
pub const MAX_CONTACT_RETENTION_DAYS: i64 = 3650;
pub const DEFAULT_EVENT_RETENTION_DAYS: i64 = 30;

/// How far ahead a room's calendar feed reaches by default, in days.
pub const DEFAULT_CALENDAR_FEED_DAYS: u32 = 31;
/// The farthest a feed may reach: a year and a day.
pub const MAX_CALENDAR_FEED_DAYS: u32 = 366;
/// The most events a room's calendar feed holds by default.
pub const DEFAULT_CALENDAR_FEED_MAX_EVENTS: usize = 500;
/// The largest `CALENDAR_FEED_MAX_EVENTS` (a number; `off` lifts it).
pub const MAX_CALENDAR_FEED_MAX_EVENTS: usize = 100_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookingSettings {
    /// `CONTACT_RETENTION_DAYS`: the daily job erases a booking's contact this long after its
    /// game ended.
    pub contact_retention: Duration,
    /// `EVENT_RETENTION_DAYS`: the daily job erases booking events (and their deliveries) this
    /// long after they happened.
    pub event_retention: Duration,
    /// `PUBLIC_BASE_URL`: `https://…` (or `http://…`), no query, fragment or trailing `/`; the
    /// confirm answers `manage_url` = `{PUBLIC_BASE_URL}/booking/{reference}#key={manage_key}`.
    pub public_base_url: Option<String>,
    /// `CALENDAR_FEED_DAYS`: a room's feed shows the bookings whose games start from a day ago
    /// to this many days ahead (1–[`MAX_CALENDAR_FEED_DAYS`]).
    pub feed_days: u32,
    /// `CALENDAR_FEED_MAX_EVENTS`: the most bookings a feed holds, the earliest first; `None`
    /// (`off`): no limit but the window.
    pub feed_max_events: Option<usize>,
}

impl Default for BookingSettings {
    fn default() -> Self {
        Self {
            contact_retention: Duration::days(DEFAULT_CONTACT_RETENTION_DAYS),
            event_retention: Duration::days(DEFAULT_EVENT_RETENTION_DAYS),
            public_base_url: None,
            feed_days: DEFAULT_CALENDAR_FEED_DAYS,
            feed_max_events: Some(DEFAULT_CALENDAR_FEED_MAX_EVENTS),
        }
    }
}

/// Reads `CONTACT_RETENTION_DAYS`, `EVENT_RETENTION_DAYS`, `PUBLIC_BASE_URL`,
/// `CALENDAR_FEED_DAYS` and `CALENDAR_FEED_MAX_EVENTS`.
pub(super) fn bookings(get: &Lookup) -> Result<BookingSettings, ConfigError> {
    let days = match get("CONTACT_RETENTION_DAYS") {
        None => DEFAULT_CONTACT_RETENTION_DAYS,
        Some(value) => match value.trim().parse::<i64>() {
            Ok(days) if (0..=MAX_CONTACT_RETENTION_DAYS).contains(&days) => days,
            _ => {
                return Err(ConfigError(format!(
                    "CONTACT_RETENTION_DAYS must be a whole number of days from 0 to \
                     {MAX_CONTACT_RETENTION_DAYS} (default {DEFAULT_CONTACT_RETENTION_DAYS}), not {value:?}"
                )));
            }
        },
    };
    let event_days = match get("EVENT_RETENTION_DAYS") {
        None => DEFAULT_EVENT_RETENTION_DAYS,
        Some(value) => match value.trim().parse::<i64>() {
            Ok(days) if (1..=MAX_CONTACT_RETENTION_DAYS).contains(&days) => days,
            _ => {
                return Err(ConfigError(format!(
                    "EVENT_RETENTION_DAYS must be a whole number of days from 1 to \
                     {MAX_CONTACT_RETENTION_DAYS} (default {DEFAULT_EVENT_RETENTION_DAYS}), not {value:?}"
                )));
            }
        },
    };
    let public_base_url = get("PUBLIC_BASE_URL")
        .map(|url| {
            let url = url.trim().trim_end_matches('/').to_owned();
            let rest = url
                .strip_prefix("https://")
                .or_else(|| url.strip_prefix("http://"));
            match rest {
                Some(rest)
                    if !rest.is_empty() && !rest.contains(['?', '#', ' ', '"', '<', '>', '\\']) =>
                {
                    Ok(url)
                }
                _ => Err(ConfigError(format!(
                    "PUBLIC_BASE_URL must be an http(s) URL without a query or fragment, e.g. \
                     https://book.example.com, not {url:?}"
                ))),
            }
        })
        .transpose()?;
    let feed_days = match get("CALENDAR_FEED_DAYS") {
        None => DEFAULT_CALENDAR_FEED_DAYS,
        Some(value) => match value.trim().parse::<u32>() {
            Ok(days) if (1..=MAX_CALENDAR_FEED_DAYS).contains(&days) => days,
            _ => {
                return Err(ConfigError(format!(
                    "CALENDAR_FEED_DAYS must be a whole number of days from 1 to \
                     {MAX_CALENDAR_FEED_DAYS} (default {DEFAULT_CALENDAR_FEED_DAYS}), not {value:?}"
                )));
            }
        },
    };
    let feed_max_events = match get("CALENDAR_FEED_MAX_EVENTS") {
        None => Some(DEFAULT_CALENDAR_FEED_MAX_EVENTS),
        Some(value) if value.trim() == "off" => None,
        Some(value) => match value.trim().parse::<usize>() {
            Ok(n) if (1..=MAX_CALENDAR_FEED_MAX_EVENTS).contains(&n) => Some(n),
            _ => {
                return Err(ConfigError(format!(
                    "CALENDAR_FEED_MAX_EVENTS must be a number from 1 to \
                     {MAX_CALENDAR_FEED_MAX_EVENTS} or `off` (default \
                     {DEFAULT_CALENDAR_FEED_MAX_EVENTS}), not {value:?}"
                )));
            }
        },
    };
    Ok(BookingSettings {
        contact_retention: Duration::days(days),
        event_retention: Duration::days(event_days),
        public_base_url,
        feed_days,
        feed_max_events,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(vars: &[(&str, &str)]) -> Result<BookingSettings, ConfigError> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        bookings(&|name: &str| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
    }

    #[test]
    fn contacts_are_kept_ninety_days_and_no_link_base_by_default() {
        assert_eq!(read(&[]).unwrap(), BookingSettings::default());
        let set = read(&[
            ("CONTACT_RETENTION_DAYS", "7"),
            ("PUBLIC_BASE_URL", "https://book.example.com/"),
        ])
        .unwrap();
        assert_eq!(set.contact_retention, Duration::days(7));
        assert_eq!(
            set.public_base_url.as_deref(),
            Some("https://book.example.com")
        );
    }

    #[test]
    fn the_calendar_feed_reaches_31_days_and_500_events_by_default_and_may_be_unbounded_in_count() {
        let defaults = read(&[]).unwrap();
        assert_eq!(
            (defaults.feed_days, defaults.feed_max_events),
            (31, Some(500))
        );
        let set = read(&[
            ("CALENDAR_FEED_DAYS", "90"),
            ("CALENDAR_FEED_MAX_EVENTS", "off"),
        ])
        .unwrap();
        assert_eq!((set.feed_days, set.feed_max_events), (90, None));
    }

    #[test]
    fn bad_values_are_refused_naming_the_variable() {
        for (name, value) in [
            ("CONTACT_RETENTION_DAYS", "-1"),
            ("CONTACT_RETENTION_DAYS", "3651"),
            ("EVENT_RETENTION_DAYS", "0"),
            ("EVENT_RETENTION_DAYS", "a month"),
            ("CONTACT_RETENTION_DAYS", "ninety"),
            ("PUBLIC_BASE_URL", "book.example.com"),
            ("PUBLIC_BASE_URL", "https://book.example.com/#x"),
            ("PUBLIC_BASE_URL", "ftp://book.example.com"),
            ("CALENDAR_FEED_DAYS", "0"),
            ("CALENDAR_FEED_DAYS", "367"),
            ("CALENDAR_FEED_MAX_EVENTS", "0"),
            ("CALENDAR_FEED_MAX_EVENTS", "100001"),
            ("CALENDAR_FEED_MAX_EVENTS", "many"),
        ] {
            let err = read(&[(name, value)]).unwrap_err();
            assert!(err.to_string().contains(name), "{err}");
        }
    }
}
