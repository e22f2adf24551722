//! Webhooks: how many endpoints may exist (`MAX_WEBHOOKS`, default 20, or `off`), when a failed
//! delivery is tried again (`WEBHOOK_RETRY_SECONDS`, default `5,30,120,600,3600,21600,86400`:
//! about a day in all), and whether `http` and non-public addresses are allowed
//! (`WEBHOOK_ALLOW_INSECURE=1`: for development and tests only).

use super::{ConfigError, Lookup};

pub const DEFAULT_MAX_WEBHOOKS: usize = 20;
pub const MAX_MAX_WEBHOOKS: usize = 1000;
pub const DEFAULT_WEBHOOK_RETRY_SECONDS: [u64; 7] = [5, 30, 120, 600, 3600, 21600, 86400];
/// The most retries, and the longest wait before one (a week).
const MAX_RETRIES: usize = 50;
const MAX_RETRY_SECONDS: u64 = 7 * 86_400;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookSettings {
    /// `MAX_WEBHOOKS`; `None`: no cap.
    pub max_webhooks: Option<usize>,
    /// `WEBHOOK_RETRY_SECONDS`: the wait before each retry, in order; after the last, the
    /// delivery has failed for good.
    pub retry_seconds: Vec<u64>,
    /// `WEBHOOK_ALLOW_INSECURE=1`: `http` URLs and loopback or private addresses allowed.
    pub allow_insecure: bool,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            max_webhooks: Some(DEFAULT_MAX_WEBHOOKS),
            retry_seconds: DEFAULT_WEBHOOK_RETRY_SECONDS.to_vec(),
            allow_insecure: false,
        }
    }
}

/// Reads `MAX_WEBHOOKS`, `WEBHOOK_RETRY_SECONDS` and `WEBHOOK_ALLOW_INSECURE`.
pub(super) fn webhooks(get: &Lookup) -> Result<WebhookSettings, ConfigError> {
    let max_webhooks = match get("MAX_WEBHOOKS") {
        None => Some(DEFAULT_MAX_WEBHOOKS),
        Some(value) if value.trim() == "off" => None,
        Some(value) => match value.trim().parse::<usize>() {
            Ok(n) if (1..=MAX_MAX_WEBHOOKS).contains(&n) => Some(n),
            _ => {
                return Err(ConfigError(format!(
                    "MAX_WEBHOOKS must be a number from 1 to {MAX_MAX_WEBHOOKS} or `off` \
                     (default {DEFAULT_MAX_WEBHOOKS}), not {value:?}"
                )));
            }
        },
    };
    let retry_seconds = match get("WEBHOOK_RETRY_SECONDS") {
        None => DEFAULT_WEBHOOK_RETRY_SECONDS.to_vec(),
        Some(value) => {
            let parsed: Option<Vec<u64>> = value
                .split(',')
                .map(|s| {
                    s.trim()
                        .parse::<u64>()
                        .ok()
                        .filter(|n| (1..=MAX_RETRY_SECONDS).contains(n))
                })
                .collect();
            match parsed {
                Some(list) if list.len() <= MAX_RETRIES => list,
                _ => {
                    return Err(ConfigError(format!(
                        "WEBHOOK_RETRY_SECONDS must be up to {MAX_RETRIES} comma-separated waits \
                         in seconds, each from 1 to {MAX_RETRY_SECONDS} (default \
                         5,30,120,600,3600,21600,86400), not {value:?}"
                    )));
                }
            }
        }
    };
    let allow_insecure = match get("WEBHOOK_ALLOW_INSECURE").as_deref().map(str::trim) {
        None | Some("0") => false,
        Some("1") => true,
        Some(other) => {
            return Err(ConfigError(format!(
                "WEBHOOK_ALLOW_INSECURE must be 0 or 1, not {other:?}"
            )));
        }
    };
    Ok(WebhookSettings {
        max_webhooks,
        retry_seconds,
        allow_insecure,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(vars: &[(&str, &str)]) -> Result<WebhookSettings, ConfigError> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        webhooks(&|name: &str| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
    }

    #[test]
    fn defaults_are_twenty_endpoints_about_a_day_of_retries_and_https_only() {
        assert_eq!(read(&[]).unwrap(), WebhookSettings::default());
    }

    #[test]
    fn each_setting_is_read_and_a_bad_value_names_its_variable() {
        let set = read(&[
            ("MAX_WEBHOOKS", "off"),
            ("WEBHOOK_RETRY_SECONDS", "1, 2"),
            ("WEBHOOK_ALLOW_INSECURE", "1"),
        ])
        .unwrap();
        assert_eq!(set.max_webhooks, None);
        assert_eq!(set.retry_seconds, vec![1, 2]);
        assert!(set.allow_insecure);
        for (name, value) in [
            ("MAX_WEBHOOKS", "0"),
            ("WEBHOOK_RETRY_SECONDS", "5,,30"),
            ("WEBHOOK_RETRY_SECONDS", "0"),
            ("WEBHOOK_ALLOW_INSECURE", "yes"),
        ] {
            let err = read(&[(name, value)]).unwrap_err().to_string();
            assert!(err.contains(name), "{err}");
        }
    }
}
