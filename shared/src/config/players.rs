//! Who a player is (`PLAYER_AUTH`): `trusted` (the `user_id` a request names is believed — the
//! seed's contract), `guest` (a player proves who they are with a token the service signed,
//! `POST /players`) or `jwt` (API Gateway's JWT authorizer). And the players' tokens: signed with
//! HMAC-SHA-256 under the keys of `PLAYER_TOKEN_SECRET` (the first signs, every one verifies, so
//! keys rotate without logging anyone out), living `PLAYER_TOKEN_TTL_DAYS`, verified with no store
//! request. Never a token nor a key in a log line or an error.
//!
//! A token is `<subject>.<expiry>.<signature>`: the player id in URL-safe base64, the expiry in
//! Unix seconds, and the HMAC-SHA-256 of `v1\n<player id>\n<expiry>` in URL-safe base64.
//! `hmac`'s `verify_slice` compares the signature in constant time.

use std::net::SocketAddr;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use super::{ConfigError, Lookup};

/// The shortest key of `PLAYER_TOKEN_SECRET`, in bytes (HMAC-SHA-256's own block of security).
pub const MIN_PLAYER_KEY_LEN: usize = 32;
/// `PLAYER_TOKEN_TTL_DAYS`' default.
pub const DEFAULT_PLAYER_TOKEN_TTL_DAYS: i64 = 30;
/// `PLAYER_TOKEN_TTL_DAYS`' largest value.
pub const MAX_PLAYER_TOKEN_TTL_DAYS: i64 = 365;
/// The longest token read (a player id of 64 characters, its expiry and signature fit easily).
const MAX_TOKEN_LEN: usize = 256;

/// How a player's identity is settled (`PLAYER_AUTH`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlayerAuth {
    /// The `user_id` in the request is believed (for development, or a back end that
    /// authenticates its players itself).
    Trusted,
    /// Players hold a token signed by the service (`POST /players`).
    Guest,
    /// API Gateway's JWT authorizer proves the player (its `sub`).
    Jwt,
}

impl PlayerAuth {
    /// The value as `PLAYER_AUTH` and `GET /service` spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Trusted => "trusted",
            Self::Guest => "guest",
            Self::Jwt => "jwt",
        }
    }
}

/// The players' mode and the token keys. Debug prints the mode and the number of keys only.
#[derive(Clone)]
pub struct Players {
    mode: PlayerAuth,
    keys: Vec<Vec<u8>>,
    ttl: Duration,
}

impl std::fmt::Debug for Players {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Players")
            .field("mode", &self.mode)
            .field("keys", &self.keys.len())
            .field("ttl", &self.ttl)
            .finish()
    }
}

impl Default for Players {
    /// `trusted`, no keys: the seed's contract (what the tests' apps are built with).
    fn default() -> Self {
        Self {
            mode: PlayerAuth::Trusted,
            keys: Vec::new(),
            ttl: Duration::days(DEFAULT_PLAYER_TOKEN_TTL_DAYS),
        }
    }
}

impl Players {
    /// `guest` mode with `keys` (the first signs; each at least [`MIN_PLAYER_KEY_LEN`] bytes).
    pub fn guest(keys: &[&str], ttl: Duration) -> Result<Self, ConfigError> {
        let keys = checked_keys(keys.iter().copied(), "a player token key")?;
        Ok(Self {
            mode: PlayerAuth::Guest,
            keys,
            ttl,
        })
    }

    /// The same players in `mode` (e.g. `jwt`).
    pub fn in_mode(mut self, mode: PlayerAuth) -> Self {
        self.mode = mode;
        self
    }

    pub fn mode(&self) -> PlayerAuth {
        self.mode
    }

    /// How long a new token lives.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// A token for `player` signed with the first key, and its expiry (`now` + the TTL, whole
    /// seconds); `None` without keys.
    pub fn mint(&self, player: &str, now: DateTime<Utc>) -> Option<(String, DateTime<Utc>)> {
        let key = self.keys.first()?;
        let expiry = (now + self.ttl).timestamp();
        let signature = mac(key, player, expiry)?.finalize().into_bytes();
        let token = format!(
            "{}.{expiry}.{}",
            URL_SAFE_NO_PAD.encode(player),
            URL_SAFE_NO_PAD.encode(signature)
        );
        Some((token, DateTime::from_timestamp(expiry, 0)?))
    }

    /// The player a token was signed for, if one of the keys signed it and it has not expired at
    /// `now`. Every key is tried; each comparison is constant-time.
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Option<String> {
        if token.len() > MAX_TOKEN_LEN {
            return None;
        }
        let mut parts = token.split('.');
        let (subject, expiry, signature) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let player = String::from_utf8(URL_SAFE_NO_PAD.decode(subject).ok()?).ok()?;
        let expiry: i64 = expiry.parse().ok()?;
        let signature = URL_SAFE_NO_PAD.decode(signature).ok()?;
        // Every key is tried, with no early exit.
        let signed = self.keys.iter().fold(false, |found, key| {
            mac(key, &player, expiry).is_some_and(|m| m.verify_slice(&signature).is_ok()) | found
        });
        (signed && expiry > now.timestamp()).then_some(player)
    }
}

/// The HMAC of one token's claims under `key`.
fn mac(key: &[u8], player: &str, expiry: i64) -> Option<Hmac<Sha256>> {
    // HMAC takes a key of any length (never `None`); the keys are checked to be 32 bytes or more.
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).ok()?;
    mac.update(format!("v1\n{player}\n{expiry}").as_bytes());
    Some(mac)
}

/// The keys, each trimmed and at least [`MIN_PLAYER_KEY_LEN`] bytes; `what` names their source.
fn checked_keys<'a>(
    keys: impl Iterator<Item = &'a str>,
    what: &str,
) -> Result<Vec<Vec<u8>>, ConfigError> {
    let keys: Vec<Vec<u8>> = keys
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(|k| k.as_bytes().to_vec())
        .collect();
    if keys.is_empty() || keys.iter().any(|k| k.len() < MIN_PLAYER_KEY_LEN) {
        return Err(ConfigError(format!(
            "{what} must be at least {MIN_PLAYER_KEY_LEN} bytes (e.g. `openssl rand -hex 32`); \
             several keys are separated by commas, the first signs"
        )));
    }
    Ok(keys)
}

/// `PLAYER_AUTH`, `PLAYER_TOKEN_SECRET`, `PLAYER_TOKEN_TTL_DAYS`. Unset `PLAYER_AUTH` is `trusted`
/// only when `bind` is a loopback address; on any other the start is refused, naming it. `guest`
/// needs keys (from the variable, or from `PLAYER_TOKEN_SECRET_PARAMETER` on AWS).
pub(super) fn players(
    get: &Lookup,
    bind: SocketAddr,
    from_ssm: bool,
) -> Result<Players, ConfigError> {
    let mode = match get("PLAYER_AUTH")
        .map(|v| v.trim().to_ascii_lowercase())
        .as_deref()
    {
        None if bind.ip().is_loopback() => PlayerAuth::Trusted,
        None => {
            return Err(ConfigError(format!(
                "PLAYER_AUTH is not set and the server listens on {bind}, which is not a loopback \
                 address: anyone could act as any player. Set PLAYER_AUTH=guest (players get \
                 signed tokens; needs PLAYER_TOKEN_SECRET), or PLAYER_AUTH=trusted if a back end \
                 in front authenticates the players"
            )));
        }
        Some("trusted") => PlayerAuth::Trusted,
        Some("guest") => PlayerAuth::Guest,
        Some("jwt") => PlayerAuth::Jwt,
        Some(other) => {
            return Err(ConfigError(format!(
                "PLAYER_AUTH must be `trusted`, `guest` or `jwt`, got `{other}`"
            )));
        }
    };
    let ttl_days = match get("PLAYER_TOKEN_TTL_DAYS") {
        None => DEFAULT_PLAYER_TOKEN_TTL_DAYS,
        Some(v) => v
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|d| (1..=MAX_PLAYER_TOKEN_TTL_DAYS).contains(d))
            .ok_or_else(|| {
                ConfigError(format!(
                    "PLAYER_TOKEN_TTL_DAYS must be a whole number of days from 1 to \
                     {MAX_PLAYER_TOKEN_TTL_DAYS}, got `{v}`"
                ))
            })?,
    };
    let keys = match get("PLAYER_TOKEN_SECRET") {
        Some(secret) => checked_keys(secret.split(','), "each key of PLAYER_TOKEN_SECRET")?,
        None if mode == PlayerAuth::Guest && !from_ssm => {
            return Err(ConfigError(
                "PLAYER_AUTH=guest needs PLAYER_TOKEN_SECRET: one or more keys of at least 32 \
                 bytes, comma-separated (the first signs; e.g. `openssl rand -hex 32`), or \
                 PLAYER_TOKEN_SECRET_PARAMETER on AWS"
                    .into(),
            ));
        }
        None => Vec::new(),
    };
    Ok(Players {
        mode,
        keys,
        ttl: Duration::days(ttl_days),
    })
}

impl Players {
    /// Replaces the keys with those of `list` (`PLAYER_TOKEN_SECRET`'s format), read from
    /// `source` (named in a refusal; never a key).
    pub fn with_key_list(mut self, list: &str, source: &str) -> Result<Self, ConfigError> {
        self.keys = checked_keys(list.split(','), &format!("each key of {source}"))?;
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "k-0123456789abcdef0123456789abcdef";
    const OLD: &str = "o-0123456789abcdef0123456789abcdef";

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap()
    }

    #[test]
    fn a_token_verifies_as_its_player_until_it_expires_and_under_any_key_of_the_list() {
        let players = Players::guest(&[KEY, OLD], Duration::days(30)).unwrap();
        let (token, expires) = players.mint("p-abc", now()).unwrap();
        assert_eq!(expires, now() + Duration::days(30));
        assert_eq!(players.verify(&token, now()).as_deref(), Some("p-abc"));
        assert_eq!(players.verify(&token, expires), None);
        let signed_by_old = Players::guest(&[OLD], Duration::days(30)).unwrap();
        let (old_token, _) = signed_by_old.mint("p-old", now()).unwrap();
        assert_eq!(players.verify(&old_token, now()).as_deref(), Some("p-old"));
        let other = Players::guest(&[&"x".repeat(40)], Duration::days(30)).unwrap();
        assert_eq!(other.verify(&token, now()), None);
    }

    #[test]
    fn a_token_changed_anywhere_is_refused() {
        let players = Players::guest(&[KEY], Duration::days(30)).unwrap();
        let (token, _) = players.mint("p-abc", now()).unwrap();
        let parts: Vec<&str> = token.split('.').collect();
        let forged_player = format!(
            "{}.{}.{}",
            URL_SAFE_NO_PAD.encode("p-abd"),
            parts[1],
            parts[2]
        );
        let later = format!(
            "{}.{}.{}",
            parts[0],
            parts[1].parse::<i64>().unwrap() + 1,
            parts[2]
        );
        for forged in [
            forged_player.as_str(),
            later.as_str(),
            &token[..token.len() - 1],
            &format!("{token}.x"),
            "",
            "a.b.c",
            &"a".repeat(MAX_TOKEN_LEN + 1),
        ] {
            assert_eq!(players.verify(forged, now()), None, "{forged}");
        }
    }

    fn players_of(vars: &[(&str, &str)], bind: &str) -> Result<Players, String> {
        let get = |name: &str| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        };
        players(&get, bind.parse().unwrap(), false).map_err(|e| e.to_string())
    }

    #[test]
    fn unset_player_auth_is_trusted_on_loopback_and_refused_on_any_other_listen_address() {
        for loopback in ["127.0.0.1:3000", "[::1]:3000", "127.0.0.2:80"] {
            assert_eq!(
                players_of(&[], loopback).map(|p| p.mode()),
                Ok(PlayerAuth::Trusted)
            );
        }
        for public in ["0.0.0.0:3000", "192.0.2.1:3000", "[::]:3000"] {
            let err = players_of(&[], public).unwrap_err();
            assert!(err.contains("PLAYER_AUTH"), "{err}");
        }
        assert_eq!(
            players_of(&[("PLAYER_AUTH", "trusted")], "0.0.0.0:3000").map(|p| p.mode()),
            Ok(PlayerAuth::Trusted)
        );
    }

    #[test]
    fn guest_needs_keys_of_32_bytes_and_bad_values_are_refused_by_name() {
        assert!(
            players_of(&[("PLAYER_AUTH", "guest")], "0.0.0.0:1")
                .unwrap_err()
                .contains("PLAYER_TOKEN_SECRET")
        );
        let short = players_of(
            &[
                ("PLAYER_AUTH", "guest"),
                ("PLAYER_TOKEN_SECRET", &format!("{KEY},short")),
            ],
            "0.0.0.0:1",
        );
        assert!(short.unwrap_err().contains("PLAYER_TOKEN_SECRET"));
        assert!(
            players_of(&[("PLAYER_AUTH", "open")], "127.0.0.1:1")
                .unwrap_err()
                .contains("PLAYER_AUTH")
        );
        for bad in ["0", "366", "a month"] {
            let err = players_of(&[("PLAYER_TOKEN_TTL_DAYS", bad)], "127.0.0.1:1").unwrap_err();
            assert!(err.contains("PLAYER_TOKEN_TTL_DAYS"), "{bad}");
        }
        let guest = players_of(
            &[
                ("PLAYER_AUTH", "guest"),
                ("PLAYER_TOKEN_SECRET", &format!("{KEY}, {OLD}")),
            ],
            "0.0.0.0:1",
        )
        .unwrap();
        assert_eq!(guest.mode(), PlayerAuth::Guest);
        assert!(!format!("{guest:?}").contains(KEY));
    }
}
