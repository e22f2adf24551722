//! What a booking carries to the player: the manage link's base (`PUBLIC_BASE_URL`, unset by
//! default: the confirm answers the reference and key, and the booking page builds the link on
//! its own origin) and how long contact details are kept after the game
//! (`CONTACT_RETENTION_DAYS`, default 90).

use chrono::Duration;

use super::{ConfigError, Lookup};

pub const DEFAULT_CONTACT_RETENTION_DAYS: i64 = 90;
/// Ten years: longer is a typo.
pub const MAX_CONTACT_RETENTION_DAYS: i64 = 3650;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookingSettings {
    /// `CONTACT_RETENTION_DAYS`: the daily job erases a booking's contact this long after its
    /// game ended.
    pub contact_retention: Duration,
    /// `PUBLIC_BASE_URL`: `https://…` (or `http://…`), no query, fragment or trailing `/`; the
    /// confirm answers `manage_url` = `{PUBLIC_BASE_URL}/booking/{reference}#key={manage_key}`.
    pub public_base_url: Option<String>,
}

impl Default for BookingSettings {
    fn default() -> Self {
        Self {
            contact_retention: Duration::days(DEFAULT_CONTACT_RETENTION_DAYS),
            public_base_url: None,
        }
    }
}

/// Reads `CONTACT_RETENTION_DAYS` and `PUBLIC_BASE_URL`.
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
    Ok(BookingSettings {
        contact_retention: Duration::days(days),
        public_base_url,
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
    fn bad_values_are_refused_naming_the_variable() {
        for (name, value) in [
            ("CONTACT_RETENTION_DAYS", "-1"),
            ("CONTACT_RETENTION_DAYS", "3651"),
            ("CONTACT_RETENTION_DAYS", "ninety"),
            ("PUBLIC_BASE_URL", "book.example.com"),
            ("PUBLIC_BASE_URL", "https://book.example.com/#x"),
            ("PUBLIC_BASE_URL", "ftp://book.example.com"),
        ] {
            let err = read(&[(name, value)]).unwrap_err();
            assert!(err.to_string().contains(name), "{err}");
        }
    }
}
