//! The local server's rate limits per client address (`RATE_LIMIT`, `RATE_LIMIT_WRITES`,
//! `RATE_LIMIT_AUTH`) and where a client's address comes from (`TRUST_PROXY`). Read once at start;
//! a bad value stops start-up naming the variable. On by default: turning them off is a choice
//! (`RATE_LIMIT=off`), made by the tests and benchmarks that are not about limits.

use std::num::NonZeroU32;

use super::{ConfigError, Lookup};

/// The default budget of writes (`POST`/`PUT`/`DELETE`) per client address.
pub const DEFAULT_RATE_LIMIT_WRITES: &str = "120/min";
/// The default budget of refused operator credentials per client address.
pub const DEFAULT_RATE_LIMIT_AUTH: &str = "10/min";
/// The largest count a rate may name (a million a second is no limit at all on one machine).
pub const MAX_RATE_COUNT: u32 = 1_000_000;

/// A budget: `count` units per `window`, refilled evenly (GCRA: one unit every `window / count`,
/// at most `count` saved up).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub count: NonZeroU32,
    pub window: Window,
}

/// The window a [`Rate`] is counted over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    Second,
    Minute,
    Hour,
}

impl Window {
    /// The window in seconds (the `w` of a `RateLimit-Policy` item).
    pub const fn seconds(self) -> u32 {
        match self {
            Self::Second => 1,
            Self::Minute => 60,
            Self::Hour => 3_600,
        }
    }
}

impl Rate {
    /// Reads `N/sec`, `N/min` or `N/hour` (N from 1 to [`MAX_RATE_COUNT`]); `variable` names the
    /// setting in a refusal.
    pub fn parse(variable: &str, value: &str) -> Result<Self, ConfigError> {
        let refused = || {
            ConfigError(format!(
                "{variable} must be a rate like `120/min`: a whole number from 1 to \
                 {MAX_RATE_COUNT}, `/`, and `sec`, `min` or `hour`; got `{}`",
                value.chars().take(32).collect::<String>()
            ))
        };
        let (count, window) = value.trim().split_once('/').ok_or_else(refused)?;
        let count = count
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|n| *n <= MAX_RATE_COUNT)
            .and_then(NonZeroU32::new)
            .ok_or_else(refused)?;
        let window = match window.trim().to_ascii_lowercase().as_str() {
            "sec" => Window::Second,
            "min" => Window::Minute,
            "hour" => Window::Hour,
            _ => return Err(refused()),
        };
        Ok(Self { count, window })
    }
}

/// The local server's rate limits. `None` for a limit: not enforced (`RATE_LIMIT=off`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    /// Writes (`POST`, `PUT`) per client address (`RATE_LIMIT_WRITES`, default
    /// [`DEFAULT_RATE_LIMIT_WRITES`]).
    pub writes: Option<Rate>,
    /// Requests with credentials that are not an operator's, per client address
    /// (`RATE_LIMIT_AUTH`, default [`DEFAULT_RATE_LIMIT_AUTH`]); once spent, every request with
    /// credentials from that address is refused before they are checked.
    pub auth: Option<Rate>,
    /// The client's address is the first `X-Forwarded-For` entry, not the TCP peer
    /// (`TRUST_PROXY=1`; off by default: the header is the client's to forge).
    pub trust_proxy: bool,
}

impl RateLimits {
    /// No limits (what `RATE_LIMIT=off` gives), the client's address from the TCP peer.
    pub const fn off() -> Self {
        Self {
            writes: None,
            auth: None,
            trust_proxy: false,
        }
    }
}

/// `RATE_LIMIT` (`on`, the default, or `off`), `RATE_LIMIT_WRITES`, `RATE_LIMIT_AUTH`,
/// `TRUST_PROXY` (`1` or `0`, the default). The rates are read (and a bad one refused) even when
/// `RATE_LIMIT=off`, so that turning them back on cannot fail.
pub(super) fn rate_limits(get: &Lookup) -> Result<RateLimits, ConfigError> {
    let on = match get("RATE_LIMIT")
        .map(|v| v.trim().to_ascii_lowercase())
        .as_deref()
    {
        None | Some("on") => true,
        Some("off") => false,
        Some(_) => {
            return Err(ConfigError(
                "RATE_LIMIT must be `on` (the default) or `off`".into(),
            ));
        }
    };
    let rate = |variable: &str, default: &str| {
        Rate::parse(variable, get(variable).as_deref().unwrap_or(default))
    };
    let writes = rate("RATE_LIMIT_WRITES", DEFAULT_RATE_LIMIT_WRITES)?;
    let auth = rate("RATE_LIMIT_AUTH", DEFAULT_RATE_LIMIT_AUTH)?;
    let trust_proxy = match get("TRUST_PROXY").as_deref().map(str::trim) {
        None | Some("0") => false,
        Some("1") => true,
        Some(_) => {
            return Err(ConfigError(
                "TRUST_PROXY must be 1 (the client's address is the first X-Forwarded-For \
                 entry) or 0 (the TCP peer, the default)"
                    .into(),
            ));
        }
    };
    Ok(RateLimits {
        writes: on.then_some(writes),
        auth: on.then_some(auth),
        trust_proxy,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn limits(vars: &[(&str, &str)]) -> Result<RateLimits, String> {
        let map: HashMap<&str, &str> = vars.iter().copied().collect();
        rate_limits(&|name: &str| map.get(name).map(|v| (*v).to_owned())).map_err(|e| e.to_string())
    }

    fn rate(count: u32, window: Window) -> Option<Rate> {
        NonZeroU32::new(count).map(|count| Rate { count, window })
    }

    #[test]
    fn the_limits_are_on_by_default_at_120_writes_and_10_refused_credentials_a_minute() {
        assert_eq!(
            limits(&[]),
            Ok(RateLimits {
                writes: rate(120, Window::Minute),
                auth: rate(10, Window::Minute),
                trust_proxy: false,
            })
        );
    }

    #[test]
    fn each_rate_is_a_count_per_second_minute_or_hour() {
        let set = limits(&[
            ("RATE_LIMIT_WRITES", " 5/sec "),
            ("RATE_LIMIT_AUTH", "3/HOUR"),
            ("TRUST_PROXY", "1"),
        ]);
        assert_eq!(
            set,
            Ok(RateLimits {
                writes: rate(5, Window::Second),
                auth: rate(3, Window::Hour),
                trust_proxy: true,
            })
        );
    }

    #[test]
    fn rate_limit_off_turns_every_limit_off() {
        assert_eq!(limits(&[("RATE_LIMIT", "off")]), Ok(RateLimits::off()));
    }

    #[test]
    fn a_bad_value_is_refused_naming_its_variable() {
        for (variable, bad) in [
            ("RATE_LIMIT_WRITES", "120"),
            ("RATE_LIMIT_WRITES", "0/min"),
            ("RATE_LIMIT_WRITES", "-1/min"),
            ("RATE_LIMIT_WRITES", "120/day"),
            ("RATE_LIMIT_WRITES", "1000001/sec"),
            ("RATE_LIMIT_AUTH", "ten/min"),
            ("RATE_LIMIT", "no"),
            ("TRUST_PROXY", "yes"),
        ] {
            let refused = limits(&[(variable, bad)]);
            assert!(
                refused.as_ref().is_err_and(|e| e.contains(variable)),
                "{variable}={bad}: {refused:?}"
            );
        }
        // Read even when off, so that turning the limits back on cannot fail.
        assert!(limits(&[("RATE_LIMIT", "off"), ("RATE_LIMIT_AUTH", "x")]).is_err());
    }
}
