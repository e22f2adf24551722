//! Configuration, read once from the environment at cold start. A bad value stops start-up with a
//! message that names the variable and what it accepts.

use std::net::SocketAddr;
use std::path::PathBuf;

use chrono::Duration;

mod bookings;
mod bounds;
mod caps;
mod limits;
mod mail;
mod operations;
mod operators;
mod players;
mod server;
#[cfg(feature = "dynamodb")]
mod ssm;
mod webhooks;

pub use bookings::{BookingSettings, DEFAULT_CONTACT_RETENTION_DAYS, MAX_CONTACT_RETENTION_DAYS};
pub use bounds::Bounds;
pub use caps::{Caps, MAX_PLAYER_CAP};
pub use limits::{
    DEFAULT_RATE_LIMIT_AUTH, DEFAULT_RATE_LIMIT_WRITES, MAX_RATE_COUNT, Rate, RateLimits, Window,
};
pub use mail::{MailParameter, MailSettings, redacted as redacted_smtp_url};
pub use operations::MetricsConfig;
pub use operators::{
    EVERYONES_SCOPES, MAX_OPERATOR_NAME_LEN, MIN_OPERATOR_TOKEN_LEN, OperatorToken, Operators,
    token_digest,
};
pub use players::{
    DEFAULT_PLAYER_TOKEN_TTL_DAYS, MAX_PLAYER_TOKEN_TTL_DAYS, MIN_PLAYER_KEY_LEN, PlayerAuth,
    Players,
};
pub use server::{
    DEFAULT_MAX_CONNECTIONS, MAX_LINGER_SECONDS, MAX_MAX_CONNECTIONS, MAX_TIMEOUT_SECONDS,
    ServerLimits,
};
pub use webhooks::{DEFAULT_MAX_WEBHOOKS, DEFAULT_WEBHOOK_RETRY_SECONDS, WebhookSettings};

#[cfg(feature = "dynamodb")]
pub use ssm::{IfUnreadable, aws_http_client};

/// Which store backs the service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreConfig {
    /// The embedded default: a SQLite file.
    Sqlite {
        path: PathBuf,
        durability: Durability,
    },
    /// DynamoDB (or DynamoDB Local, through `AWS_ENDPOINT_URL_DYNAMODB`).
    Dynamo {
        table: String,
        /// How long one request to DynamoDB may take (`DYNAMODB_TIMEOUT_MS`, default 2,000);
        /// an operation with its retries gets twice that, then answers 503.
        attempt_timeout: std::time::Duration,
    },
}

/// `DYNAMODB_TIMEOUT_MS`' default: DynamoDB answers in milliseconds; 2 s is a store that is not
/// answering.
pub const DEFAULT_DYNAMODB_TIMEOUT: std::time::Duration = std::time::Duration::from_millis(2_000);

#[derive(Debug, Clone)]
pub struct Config {
    /// How long a hold lives (`HOLD_TTL_SECONDS`, default 300).
    pub hold_ttl: Duration,
    /// How long before its slot's start a booking can no longer be cancelled
    /// (`CANCEL_CUTOFF_SECONDS`, default 0).
    pub cancel_cutoff: Duration,
    /// Who may use the operator routes (`OPERATOR_TOKENS`, `OPERATOR_TOKEN`, `OPERATOR_SCOPE`);
    /// nobody by default.
    pub operators: Operators,
    /// The SSM SecureString parameter that holds more operator tokens in the `OPERATOR_TOKENS`
    /// format (`OPERATOR_TOKENS_PARAMETER`, a name starting with `/`; on AWS). Read at cold start
    /// by [`Config::with_operator_tokens_from_ssm`] (feature `dynamodb`), not by `from_env`.
    pub operator_tokens_parameter: Option<String>,
    pub store: StoreConfig,
    /// Where the local server listens (`BIND_ADDR`, default `127.0.0.1:3000`; `PORT` overrides
    /// just the port).
    pub bind: SocketAddr,
    /// The local server also answers the benchmark's ceiling route, `GET /__ceiling?bytes=N`
    /// (`BENCH_CEILING=1`; off by default). Used by `scripts/benchmark` only.
    pub bench_ceiling: bool,
    /// The local server's timeouts and connection bound (`HEADER_TIMEOUT_SECONDS`,
    /// `BODY_TIMEOUT_SECONDS`, `REQUEST_TIMEOUT_SECONDS`, `MAX_CONNECTIONS`, `LINGER_SECONDS`).
    pub server: ServerLimits,
    /// The local server's rate limits per client address (`RATE_LIMIT`, `RATE_LIMIT_WRITES`,
    /// `RATE_LIMIT_AUTH`, `TRUST_PROXY`); on by default.
    pub rate_limits: RateLimits,
    /// The bounds on one request's work: a schedule's size and the number of rooms
    /// (`SCHEDULE_MAX_*`, `MAX_ROOMS`; see [`Bounds`]).
    pub bounds: Bounds,
    /// The per-player caps (`MAX_LIVE_HOLDS_PER_PLAYER`, `MAX_UPCOMING_BOOKINGS_PER_PLAYER`; see
    /// [`Caps`]).
    pub caps: Caps,
    /// Who a player is (`PLAYER_AUTH`) and the keys of their tokens (`PLAYER_TOKEN_SECRET`,
    /// `PLAYER_TOKEN_TTL_DAYS`); see [`Players`].
    pub players: Players,
    /// The SSM SecureString parameter that holds the players' token keys in the
    /// `PLAYER_TOKEN_SECRET` format (`PLAYER_TOKEN_SECRET_PARAMETER`; on AWS). Read at cold start
    /// by [`Config::with_player_keys_from_ssm`] (feature `dynamodb`), not by `from_env`.
    pub player_token_secret_parameter: Option<String>,
    /// A booking's manage link and contact retention (`PUBLIC_BASE_URL`,
    /// `CONTACT_RETENTION_DAYS`; see [`BookingSettings`]).
    pub bookings: BookingSettings,
    /// Whether the local server records metrics (`METRICS`, on by default) and the token that may
    /// read them besides the operators' (`METRICS_TOKEN`); see [`MetricsConfig`].
    pub metrics: MetricsConfig,
    /// Whether a new SQLite file is loaded with the demo venue (`DEMO`, on by default; `0`
    /// leaves it empty).
    pub demo: bool,
    /// Booking emails (`SMTP_URL`, `MAIL_FROM`); `None`: no emails. See [`MailSettings`].
    pub mail: Option<MailSettings>,
    /// On AWS: the SSM SecureString parameter that holds `SMTP_URL` (`SMTP_URL_PARAMETER`), with
    /// `MAIL_FROM`. Read at cold start by [`Config::with_mail_from_ssm`] (feature `dynamodb`),
    /// which sets [`Self::mail`].
    pub mail_parameter: Option<MailParameter>,
    /// Webhooks (`MAX_WEBHOOKS`, `WEBHOOK_RETRY_SECONDS`, `WEBHOOK_ALLOW_INSECURE`); see
    /// [`WebhookSettings`].
    pub webhooks: WebhookSettings,
}

/// How SQLite makes a commit durable (`SQLITE_SYNCHRONOUS`). Both survive a crash of the process:
/// in WAL mode a commit is in the log, in the operating system's hands, before it is answered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Durability {
    /// `synchronous = NORMAL`: the log is synced at checkpoints, not at every commit. A power
    /// cut or an operating-system crash can lose the last commits before the latest checkpoint;
    /// a crash of the server cannot. Chosen explicitly, for a little more write rate.
    Normal,
    /// `synchronous = FULL` (the default): the log is synced at every commit, so a booking
    /// answered is on disk even after a power cut; each commit pays one fsync, shared by the
    /// writes queued together (group commit). The default since group commit made FULL reach
    /// the write rate NORMAL had before it (docs/benchmarks.md, "Holds: group commit").
    #[default]
    Full,
}

impl Durability {
    /// The `PRAGMA synchronous` value.
    pub fn pragma(self) -> &'static str {
        match self {
            Self::Normal => "NORMAL",
            Self::Full => "FULL",
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("configuration error: {0}")]
pub struct ConfigError(String);

pub const DEFAULT_HOLD_TTL_SECONDS: i64 = 300;
pub const DEFAULT_SQLITE_PATH: &str = "escape-room.db";
pub const DEFAULT_BIND: &str = "127.0.0.1:3000";
pub const MAX_CANCEL_CUTOFF_SECONDS: i64 = 30 * 86_400;

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads configuration through `get` (the environment, or a map in tests).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| get(name).filter(|v| !v.trim().is_empty());
        let bind = bind(&get)?;
        let player_token_secret_parameter =
            ssm_parameter(&get, "PLAYER_TOKEN_SECRET_PARAMETER", "player-token-secret")?;
        let mail_parameter = mail::mail_parameter(&get)?;
        Ok(Self {
            hold_ttl: Duration::seconds(hold_ttl_seconds(&get)?),
            cancel_cutoff: Duration::seconds(cancel_cutoff_seconds(&get)?),
            operators: operators::operators(&get)?,
            operator_tokens_parameter: ssm_parameter(
                &get,
                "OPERATOR_TOKENS_PARAMETER",
                "operator-tokens",
            )?,
            store: store(&get)?,
            bind,
            bench_ceiling: bench_ceiling(&get)?,
            server: server::server_limits(&get)?,
            rate_limits: limits::rate_limits(&get)?,
            bounds: bounds::bounds(&get)?,
            caps: caps::caps(&get)?,
            players: players::players(&get, bind, player_token_secret_parameter.is_some())?,
            player_token_secret_parameter,
            bookings: bookings::bookings(&get)?,
            metrics: operations::metrics(&get)?,
            demo: operations::demo(&get)?,
            mail: match mail_parameter {
                Some(_) => None,
                None => mail::mail(&get)?,
            },
            mail_parameter,
            webhooks: webhooks::webhooks(&get)?,
        })
    }
}

/// A variable's value, unset when empty or blank.
type Lookup<'a> = dyn Fn(&str) -> Option<String> + 'a;

/// `OPERATOR_TOKENS_PARAMETER`, `PLAYER_TOKEN_SECRET_PARAMETER` or `SMTP_URL_PARAMETER`
/// (`variable`): an SSM parameter name, `/` then letters, digits and `_.-/` (`example` names the
/// last part in the message).
fn ssm_parameter(
    get: &Lookup,
    variable: &str,
    example: &str,
) -> Result<Option<String>, ConfigError> {
    let Some(name) = get(variable) else {
        return Ok(None);
    };
    let name = name.trim();
    let valid = name.len() <= 1011
        && name.strip_prefix('/').is_some_and(|rest| {
            !rest.is_empty()
                && rest
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_.-/".contains(&b))
        });
    if !valid {
        return Err(ConfigError(format!(
            "{variable} must be an SSM parameter name: `/`, then letters, digits and `_.-/` \
             (e.g. `/escape-room/{example}`), got `{name}`"
        )));
    }
    Ok(Some(name.to_owned()))
}

/// `HOLD_TTL_SECONDS`: 1 to 86400, default [`DEFAULT_HOLD_TTL_SECONDS`].
fn hold_ttl_seconds(get: &Lookup) -> Result<i64, ConfigError> {
    Ok(match get("HOLD_TTL_SECONDS") {
        None => DEFAULT_HOLD_TTL_SECONDS,
        Some(v) => v
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|s| (1..=86_400).contains(s))
            .ok_or_else(|| {
                ConfigError(format!(
                    "HOLD_TTL_SECONDS must be a whole number of seconds from 1 to 86400, got `{v}`"
                ))
            })?,
    })
}

/// `CANCEL_CUTOFF_SECONDS`: 0 to [`MAX_CANCEL_CUTOFF_SECONDS`], default 0.
fn cancel_cutoff_seconds(get: &Lookup) -> Result<i64, ConfigError> {
    Ok(match get("CANCEL_CUTOFF_SECONDS") {
        None => 0,
        Some(v) => v
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|s| (0..=MAX_CANCEL_CUTOFF_SECONDS).contains(s))
            .ok_or_else(|| {
                ConfigError(format!(
                    "CANCEL_CUTOFF_SECONDS must be a whole number of seconds from 0 to \
                     {MAX_CANCEL_CUTOFF_SECONDS} (30 days), got `{v}`"
                ))
            })?,
    })
}

/// `STORE`, `TABLE_NAME`, `SQLITE_PATH`, `SQLITE_SYNCHRONOUS`: DynamoDB when a table is named
/// (or `STORE=dynamodb`), SQLite otherwise; refused when this binary was built without it.
fn store(get: &Lookup) -> Result<StoreConfig, ConfigError> {
    let table = get("TABLE_NAME");
    let store = match get("STORE")
        .as_deref()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None if table.is_some() => StoreConfig::Dynamo {
            table: table.unwrap_or_default(),
            attempt_timeout: dynamodb_timeout(get)?,
        },
        None | Some("sqlite") => StoreConfig::Sqlite {
            path: get("SQLITE_PATH")
                .unwrap_or_else(|| DEFAULT_SQLITE_PATH.into())
                .into(),
            durability: durability(get)?,
        },
        Some("dynamodb") => StoreConfig::Dynamo {
            table: table.ok_or_else(|| {
                ConfigError("STORE=dynamodb needs TABLE_NAME (the DynamoDB table to use)".into())
            })?,
            attempt_timeout: dynamodb_timeout(get)?,
        },
        Some(other) => {
            return Err(ConfigError(format!(
                "STORE must be `sqlite` or `dynamodb`, got `{other}`"
            )));
        }
    };
    built_with(&store)?;
    Ok(store)
}

/// `DYNAMODB_TIMEOUT_MS`: 100 to 60,000 milliseconds, default [`DEFAULT_DYNAMODB_TIMEOUT`].
fn dynamodb_timeout(get: &Lookup) -> Result<std::time::Duration, ConfigError> {
    let Some(value) = get("DYNAMODB_TIMEOUT_MS") else {
        return Ok(DEFAULT_DYNAMODB_TIMEOUT);
    };
    value
        .trim()
        .parse::<u64>()
        .ok()
        .filter(|ms| (100..=60_000).contains(ms))
        .map(std::time::Duration::from_millis)
        .ok_or_else(|| {
            ConfigError(format!(
                "DYNAMODB_TIMEOUT_MS must be a whole number of milliseconds from 100 to 60000, got `{value}`"
            ))
        })
}

/// `SQLITE_SYNCHRONOUS`: `full` (the default) or `normal`.
fn durability(get: &Lookup) -> Result<Durability, ConfigError> {
    match get("SQLITE_SYNCHRONOUS")
        .as_deref()
        .map(|v| v.trim().to_ascii_lowercase())
        .as_deref()
    {
        None | Some("full") => Ok(Durability::Full),
        Some("normal") => Ok(Durability::Normal),
        Some(other) => Err(ConfigError(format!(
            "SQLITE_SYNCHRONOUS must be `normal` or `full`, got `{other}`"
        ))),
    }
}

/// Refuses a store this binary was built without (its cargo feature is off).
fn built_with(store: &StoreConfig) -> Result<(), ConfigError> {
    if matches!(store, StoreConfig::Sqlite { .. }) && !cfg!(feature = "sqlite") {
        return Err(ConfigError(
            "no TABLE_NAME, so the store is SQLite, but this binary was built without it (a \
             Lambda function's release build carries DynamoDB only): set TABLE_NAME to the \
             DynamoDB table, or build with `--features shared/sqlite` (e.g. `cargo lambda \
             watch -F shared/sqlite`)"
                .into(),
        ));
    }
    if matches!(store, StoreConfig::Dynamo { .. }) && !cfg!(feature = "dynamodb") {
        return Err(ConfigError(
            "TABLE_NAME or STORE=dynamodb selects DynamoDB, but this binary was built without \
             it: build with `--features dynamodb` (e.g. `cargo run --release -p server \
             --features dynamodb`), or unset TABLE_NAME to use SQLite"
                .into(),
        ));
    }
    Ok(())
}

/// `BIND_ADDR` (default [`DEFAULT_BIND`]), its port replaced by `PORT` when set.
fn bind(get: &Lookup) -> Result<SocketAddr, ConfigError> {
    let mut bind: SocketAddr = get("BIND_ADDR")
        .unwrap_or_else(|| DEFAULT_BIND.into())
        .parse()
        .map_err(|_| ConfigError("BIND_ADDR must be an address like 127.0.0.1:3000".into()))?;
    if let Some(port) = get("PORT") {
        let port = port.trim().parse::<u16>().map_err(|_| {
            ConfigError(format!(
                "PORT must be a port number (0-65535), got `{port}`"
            ))
        })?;
        bind.set_port(port);
    }
    Ok(bind)
}

/// `BENCH_CEILING`: `1` on, `0` (the default) off.
fn bench_ceiling(get: &Lookup) -> Result<bool, ConfigError> {
    match get("BENCH_CEILING").as_deref().map(str::trim) {
        None | Some("" | "0") => Ok(false),
        Some("1") => Ok(true),
        Some(other) => Err(ConfigError(format!(
            "BENCH_CEILING must be 1 (on) or 0 (off), got `{other}`"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    #[cfg(feature = "sqlite")]
    fn defaults_are_a_five_minute_hold_on_the_embedded_sqlite_store_synced_at_every_commit()
    -> Result<(), ConfigError> {
        let c = config(&[])?;
        assert_eq!(c.hold_ttl, Duration::seconds(300));
        assert_eq!(
            c.store,
            StoreConfig::Sqlite {
                path: DEFAULT_SQLITE_PATH.into(),
                durability: Durability::Full,
            }
        );
        assert_eq!(c.bind.to_string(), DEFAULT_BIND);
        Ok(())
    }

    #[test]
    #[cfg(feature = "sqlite")]
    fn sqlite_synchronous_is_normal_or_full_and_nothing_else() -> Result<(), ConfigError> {
        let durability = |value: &str| -> Result<Durability, ConfigError> {
            match config(&[("SQLITE_SYNCHRONOUS", value)])?.store {
                StoreConfig::Sqlite { durability, .. } => Ok(durability),
                StoreConfig::Dynamo { .. } => Err(ConfigError("not sqlite".into())),
            }
        };
        assert_eq!(durability("full")?, Durability::Full);
        assert_eq!(durability(" NORMAL ")?, Durability::Normal);
        let refused = durability("off").map(|_| ()).map_err(|e| e.to_string());
        assert_eq!(
            refused,
            Err(
                "configuration error: SQLITE_SYNCHRONOUS must be `normal` or `full`, got `off`"
                    .to_owned()
            )
        );
        Ok(())
    }

    #[test]
    #[cfg(feature = "dynamodb")]
    fn table_name_selects_dynamodb() -> Result<(), ConfigError> {
        let c = config(&[("TABLE_NAME", "bookings")])?;
        assert_eq!(
            c.store,
            StoreConfig::Dynamo {
                table: "bookings".into(),
                attempt_timeout: DEFAULT_DYNAMODB_TIMEOUT,
            }
        );
        Ok(())
    }

    #[test]
    #[cfg(feature = "dynamodb")]
    fn a_dynamodb_timeout_is_a_setting_and_a_bad_one_is_refused_with_the_variable_named()
    -> Result<(), ConfigError> {
        let c = config(&[("TABLE_NAME", "bookings"), ("DYNAMODB_TIMEOUT_MS", "10000")])?;
        assert!(matches!(
            c.store,
            StoreConfig::Dynamo { attempt_timeout, .. } if attempt_timeout == std::time::Duration::from_secs(10)
        ));
        for bad in ["0", "99", "60001", "ten"] {
            let err = config(&[("TABLE_NAME", "bookings"), ("DYNAMODB_TIMEOUT_MS", bad)])
                .expect_err("refused");
            assert!(err.0.contains("DYNAMODB_TIMEOUT_MS"), "{err:?}");
        }
        Ok(())
    }

    #[test]
    fn a_bad_hold_ttl_is_refused_with_the_variable_named() {
        for bad in ["0", "-5", "five", "86401"] {
            let err = config(&[("HOLD_TTL_SECONDS", bad)])
                .err()
                .map(|e| e.to_string());
            assert!(err.is_some_and(|e| e.contains("HOLD_TTL_SECONDS")), "{bad}");
        }
    }

    #[test]
    #[cfg(not(feature = "sqlite"))]
    fn a_build_without_sqlite_needs_a_table_name_and_says_how_to_get_sqlite() {
        let err = config(&[]).err().map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.contains("TABLE_NAME") && e.contains("shared/sqlite")));
    }

    #[test]
    #[cfg(not(feature = "dynamodb"))]
    fn a_build_without_dynamodb_refuses_a_table_name_and_says_how_to_get_it() {
        let err = config(&[("TABLE_NAME", "bookings")])
            .err()
            .map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.contains("--features dynamodb")));
    }

    #[test]
    fn dynamodb_without_a_table_and_unknown_stores_are_refused() {
        assert!(config(&[("STORE", "dynamodb")]).is_err());
        assert!(config(&[("STORE", "postgres")]).is_err());
    }

    #[test]
    fn the_cancellation_cut_off_defaults_to_none_and_a_bad_one_is_refused_by_name() {
        assert_eq!(config(&[]).unwrap().cancel_cutoff, Duration::zero());
        assert_eq!(
            config(&[("CANCEL_CUTOFF_SECONDS", "3600")])
                .unwrap()
                .cancel_cutoff,
            Duration::hours(1)
        );
        for bad in ["-1", "soon", "2592001"] {
            let err = config(&[("CANCEL_CUTOFF_SECONDS", bad)])
                .err()
                .map(|e| e.to_string());
            assert!(
                err.is_some_and(|e| e.contains("CANCEL_CUTOFF_SECONDS")),
                "{bad}"
            );
        }
    }

    #[test]
    fn port_overrides_the_bind_port() -> Result<(), ConfigError> {
        assert_eq!(config(&[("PORT", "8080")])?.bind.port(), 8080);
        assert!(config(&[("PORT", "http")]).is_err());
        Ok(())
    }
}
