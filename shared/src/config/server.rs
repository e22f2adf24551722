//! The local server's bounds on connections, timeouts and request bodies (`HEADER_TIMEOUT_SECONDS`,
//! `BODY_TIMEOUT_SECONDS`, `REQUEST_TIMEOUT_SECONDS`, `SEND_TIMEOUT_SECONDS`, `MAX_CONNECTIONS`,
//! `LINGER_SECONDS`). Read
//! once at start; a bad value stops start-up naming the variable. The Lambda functions read them
//! too but have no use for them: API Gateway holds the connections there.

use std::time::Duration;

use super::{ConfigError, Lookup};

pub const DEFAULT_HEADER_TIMEOUT_SECONDS: u64 = 10;
pub const DEFAULT_BODY_TIMEOUT_SECONDS: u64 = 10;
/// As long as API Gateway's integration timeout (30 s), the most any request may take on AWS.
pub const DEFAULT_REQUEST_TIMEOUT_SECONDS: u64 = 30;
pub const DEFAULT_SEND_TIMEOUT_SECONDS: u64 = 10;
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;
pub const DEFAULT_LINGER_SECONDS: u64 = 2;
/// The longest any of the timeouts may be set to (an hour).
pub const MAX_TIMEOUT_SECONDS: u64 = 3600;
/// The most connections `MAX_CONNECTIONS` may allow.
pub const MAX_MAX_CONNECTIONS: usize = 65_536;
/// The longest `LINGER_SECONDS`.
pub const MAX_LINGER_SECONDS: u64 = 60;

/// How long the local server waits for a client, and how many it holds at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerLimits {
    /// From a connection's start, or from the end of its previous answer (an idle kept-alive
    /// connection), to the end of a request's headers (`HEADER_TIMEOUT_SECONDS`, default 10);
    /// then the connection is closed without an answer.
    pub header_timeout: Duration,
    /// From the end of the headers to the end of the body (`BODY_TIMEOUT_SECONDS`, default 10);
    /// then 408 `REQUEST_TIMEOUT` and the connection is closed.
    pub body_timeout: Duration,
    /// How long a route's handler may take once the body is in (`REQUEST_TIMEOUT_SECONDS`,
    /// default 30); then 503 `SERVICE_UNAVAILABLE` with `Retry-After`.
    pub request_timeout: Duration,
    /// How long one write of an answer may wait for the client to read (`SEND_TIMEOUT_SECONDS`,
    /// default 10); then the connection is closed.
    pub send_timeout: Duration,
    /// Connections open at once (`MAX_CONNECTIONS`, default 1024); further clients wait in the
    /// listen backlog until one closes.
    pub max_connections: usize,
    /// When the server closes a connection, how long it goes on reading and discarding what the
    /// client still sends (`LINGER_SECONDS`, default 2; 0: close at once), so that a client
    /// still sending a refused body reads its 413 instead of a reset.
    pub linger: Duration,
}

impl Default for ServerLimits {
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(DEFAULT_HEADER_TIMEOUT_SECONDS),
            body_timeout: Duration::from_secs(DEFAULT_BODY_TIMEOUT_SECONDS),
            request_timeout: Duration::from_secs(DEFAULT_REQUEST_TIMEOUT_SECONDS),
            send_timeout: Duration::from_secs(DEFAULT_SEND_TIMEOUT_SECONDS),
            max_connections: DEFAULT_MAX_CONNECTIONS,
            linger: Duration::from_secs(DEFAULT_LINGER_SECONDS),
        }
    }
}

pub(super) fn server_limits(get: &Lookup) -> Result<ServerLimits, ConfigError> {
    let defaults = ServerLimits::default();
    let seconds = |name: &str, default: Duration, min: u64, max: u64| {
        whole_number(get, name, min, max).map(|v| v.map_or(default, Duration::from_secs))
    };
    Ok(ServerLimits {
        header_timeout: seconds(
            "HEADER_TIMEOUT_SECONDS",
            defaults.header_timeout,
            1,
            MAX_TIMEOUT_SECONDS,
        )?,
        body_timeout: seconds(
            "BODY_TIMEOUT_SECONDS",
            defaults.body_timeout,
            1,
            MAX_TIMEOUT_SECONDS,
        )?,
        request_timeout: seconds(
            "REQUEST_TIMEOUT_SECONDS",
            defaults.request_timeout,
            1,
            MAX_TIMEOUT_SECONDS,
        )?,
        send_timeout: seconds(
            "SEND_TIMEOUT_SECONDS",
            defaults.send_timeout,
            1,
            MAX_TIMEOUT_SECONDS,
        )?,
        max_connections: whole_number(get, "MAX_CONNECTIONS", 1, MAX_MAX_CONNECTIONS as u64)?
            .and_then(|n| usize::try_from(n).ok())
            .unwrap_or(defaults.max_connections),
        linger: seconds("LINGER_SECONDS", defaults.linger, 0, MAX_LINGER_SECONDS)?,
    })
}

/// `name` as a whole number from `min` to `max`, `None` when unset.
fn whole_number(get: &Lookup, name: &str, min: u64, max: u64) -> Result<Option<u64>, ConfigError> {
    let Some(value) = get(name) else {
        return Ok(None);
    };
    value
        .trim()
        .parse::<u64>()
        .ok()
        .filter(|n| (min..=max).contains(n))
        .map(Some)
        .ok_or_else(|| {
            ConfigError(format!(
                "{name} must be a whole number from {min} to {max}, got `{value}`"
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(vars: &[(&str, &str)]) -> Result<ServerLimits, String> {
        let get = |name: &str| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_owned())
        };
        server_limits(&get).map_err(|e| e.to_string())
    }

    #[test]
    fn the_defaults_are_ten_second_headers_and_bodies_thirty_second_handlers_and_1024_connections()
    {
        let defaults = limits(&[]).unwrap();
        assert_eq!(defaults.header_timeout, Duration::from_secs(10));
        assert_eq!(defaults.body_timeout, Duration::from_secs(10));
        assert_eq!(defaults.request_timeout, Duration::from_secs(30));
        assert_eq!(defaults.send_timeout, Duration::from_secs(10));
        assert_eq!(defaults.max_connections, 1024);
        assert_eq!(defaults.linger, Duration::from_secs(2));
    }

    #[test]
    fn each_limit_is_read_from_its_variable() {
        let set = limits(&[
            ("HEADER_TIMEOUT_SECONDS", "2"),
            ("BODY_TIMEOUT_SECONDS", " 3 "),
            ("REQUEST_TIMEOUT_SECONDS", "4"),
            ("SEND_TIMEOUT_SECONDS", "5"),
            ("MAX_CONNECTIONS", "64"),
            ("LINGER_SECONDS", "0"),
        ])
        .unwrap();
        assert_eq!(
            set,
            ServerLimits {
                header_timeout: Duration::from_secs(2),
                body_timeout: Duration::from_secs(3),
                request_timeout: Duration::from_secs(4),
                send_timeout: Duration::from_secs(5),
                max_connections: 64,
                linger: Duration::ZERO,
            }
        );
    }

    #[test]
    fn a_limit_out_of_its_range_stops_start_up_naming_the_variable() {
        for (name, bad) in [
            ("HEADER_TIMEOUT_SECONDS", "0"),
            ("BODY_TIMEOUT_SECONDS", "3601"),
            ("REQUEST_TIMEOUT_SECONDS", "soon"),
            ("SEND_TIMEOUT_SECONDS", "0"),
            ("MAX_CONNECTIONS", "0"),
            ("MAX_CONNECTIONS", "65537"),
            ("LINGER_SECONDS", "-1"),
            ("LINGER_SECONDS", "61"),
        ] {
            let err = limits(&[(name, bad)]).unwrap_err();
            assert!(
                err.contains(name) && err.contains(&format!("`{bad}`")),
                "{name}={bad}: {err}"
            );
        }
    }
}
