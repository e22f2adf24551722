//! The operator's settings of the local server: whether it records metrics (`METRICS`, on by
//! default), the token that may read them besides the operators' (`METRICS_TOKEN`), and whether
//! a new SQLite file is loaded with the demo venue (`DEMO`, on by default). Read once at start;
//! a bad value stops start-up naming the variable.

use super::operators::{MIN_OPERATOR_TOKEN_LEN, token_digest};
use super::{ConfigError, Lookup};

/// What the local server records and who may read it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct MetricsConfig {
    /// `METRICS`: `on` (the default) records requests, latencies and the business counters and
    /// serves them at `GET /metrics`; `off` records nothing and `/metrics` is 404.
    pub enabled: bool,
    /// `METRICS_TOKEN`: a bearer token that may read `/metrics` (besides every operator token),
    /// kept as its SHA-256 digest; unset, only the operators may.
    pub token: Option<[u8; 32]>,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            token: None,
        }
    }
}

impl std::fmt::Debug for MetricsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsConfig")
            .field("enabled", &self.enabled)
            .field("token", &self.token.map(|_| "<set>"))
            .finish()
    }
}

/// `METRICS` and `METRICS_TOKEN`.
pub(super) fn metrics(get: &Lookup) -> Result<MetricsConfig, ConfigError> {
    let enabled = switch(get, "METRICS", true)?;
    let token = match get("METRICS_TOKEN") {
        None => None,
        Some(token) => {
            let token = token.trim();
            if token.len() < MIN_OPERATOR_TOKEN_LEN || !token.bytes().all(|b| b.is_ascii_graphic())
            {
                return Err(ConfigError(format!(
                    "METRICS_TOKEN must be at least {MIN_OPERATOR_TOKEN_LEN} visible ASCII \
                     characters, no spaces (e.g. `openssl rand -hex 32`)"
                )));
            }
            Some(token_digest(token))
        }
    };
    Ok(MetricsConfig { enabled, token })
}

/// `DEMO`: `1` (the default) loads the demo venue into a new SQLite file; `0` leaves it empty.
pub(super) fn demo(get: &Lookup) -> Result<bool, ConfigError> {
    switch(get, "DEMO", true)
}

/// An on/off variable: unset → `default`; `on`/`1`/`true` or `off`/`0`/`false`.
fn switch(get: &Lookup, name: &str, default: bool) -> Result<bool, ConfigError> {
    match get(name).as_deref().map(str::trim) {
        None => Ok(default),
        Some(v)
            if ["on", "1", "true"]
                .iter()
                .any(|s| s.eq_ignore_ascii_case(v)) =>
        {
            Ok(true)
        }
        Some(v)
            if ["off", "0", "false"]
                .iter()
                .any(|s| s.eq_ignore_ascii_case(v)) =>
        {
            Ok(false)
        }
        Some(other) => Err(ConfigError(format!(
            "{name} must be on (1) or off (0), got `{other}`"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(vars: &[(&str, &str)]) -> Result<(MetricsConfig, bool), ConfigError> {
        let get = |name: &str| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_owned())
        };
        Ok((metrics(&get)?, demo(&get)?))
    }

    #[test]
    fn metrics_are_recorded_and_the_demo_loaded_unless_turned_off() {
        let (metrics, demo) = read(&[]).unwrap();
        assert!(metrics.enabled && demo && metrics.token.is_none());
        let (metrics, demo) = read(&[("METRICS", "off"), ("DEMO", "0")]).unwrap();
        assert!(!metrics.enabled && !demo);
    }

    #[test]
    fn a_short_metrics_token_or_an_unknown_switch_stops_start_up_naming_the_variable() {
        let short = read(&[("METRICS_TOKEN", "short")]).unwrap_err().to_string();
        assert!(short.contains("METRICS_TOKEN"), "{short}");
        let token = "m".repeat(MIN_OPERATOR_TOKEN_LEN);
        let (metrics, _) = read(&[("METRICS_TOKEN", &token)]).unwrap();
        assert_eq!(metrics.token, Some(token_digest(&token)));
        let bad = read(&[("DEMO", "maybe")]).unwrap_err().to_string();
        assert!(bad.contains("DEMO"), "{bad}");
    }
}
