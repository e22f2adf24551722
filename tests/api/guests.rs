//! Guest mode (`PLAYER_AUTH=guest`) in the tests: the service configured with the tests' token
//! key, and a client that, like the booking page, sends each player's token. The contract
//! scenarios name their players (`u-alice`, …); [`AsGuests`] mints a token for the player a
//! request names (its body's or query's `user_id`, or the path's `/users/{id}`) with the test
//! key and sends it as `Authorization: Bearer`, so the same scenarios run again in guest mode
//! (`contract::guest_*`) on both stores through every transport.

use async_trait::async_trait;
use chrono::Duration;
use serde_json::Value;
use shared::App;
use shared::clock::{Clock, ManualClock};
use shared::config::Players;

use crate::harness::{
    Event, InProcess, Loopback, OPERATOR_SCOPE, Reply, StoreKind, TTL_SECONDS, TestApp, Transport,
    UNNAMED_TOKEN, Via, operator_tokens_variable, seeded, start_time, test_operators,
};

/// The tests' `PLAYER_TOKEN_SECRET` (one key; 32 bytes or more).
pub const PLAYER_KEY: &str = "test-player-key-0123456789abcdef0123456789";

/// Guest mode with the tests' key and the default 30-day tokens.
pub fn test_players() -> Players {
    Players::guest(&[PLAYER_KEY], Duration::days(30)).unwrap()
}

/// A token for `player`, signed at `now` with the tests' key, as `POST /players` would give it.
pub fn token_for(player: &str, now: chrono::DateTime<chrono::Utc>) -> String {
    test_players().mint(player, now).unwrap().0
}

/// The player a request names: its JSON body's `user_id`, its query's, or `/users/{id}/…`.
fn named_player(event: &Event) -> Option<String> {
    let from_body = event
        .body
        .as_deref()
        .and_then(|b| serde_json::from_slice::<Value>(b).ok())
        .and_then(|v| v.get("user_id").and_then(Value::as_str).map(str::to_owned));
    let from_query = || {
        event
            .query
            .iter()
            .find(|(k, _)| k == "user_id")
            .map(|(_, v)| v.clone())
    };
    let from_path = || {
        event
            .path
            .strip_prefix("/users/")
            .and_then(|rest| rest.split('/').next())
            .map(str::to_owned)
    };
    from_body.or_else(from_query).or_else(from_path)
}

/// A confirm as the booking page sends it in guest mode, where a booking needs a contact: the
/// player's own (`<player>@example.org`) unless the request has one.
fn with_contact(mut event: Event, player: &str) -> Event {
    if !event.path.ends_with("/confirm") {
        return event;
    }
    let body = event
        .body
        .as_deref()
        .and_then(|b| serde_json::from_slice::<Value>(b).ok());
    if let Some(Value::Object(mut body)) = body
        && !body.contains_key("contact")
    {
        body.insert(
            "contact".into(),
            serde_json::json!({ "name": player, "email": format!("{player}@example.org") }),
        );
        event.body = Some(Value::Object(body).to_string().into_bytes());
    }
    event
}

/// A transport that sends, with every request naming a player and carrying no credentials of
/// its own, that player's token.
pub struct AsGuests {
    inner: Box<dyn Transport>,
    clock: ManualClock,
}

#[async_trait]
impl Transport for AsGuests {
    async fn send(&self, event: &Event) -> Reply {
        let has_credentials =
            event.sub.is_some() || event.headers.iter().any(|(k, _)| k == "authorization");
        match named_player(event).filter(|_| !has_credentials) {
            Some(player) => {
                let token = token_for(&player, self.clock.now());
                let event = with_contact(event.clone(), &player);
                self.inner.send(&event.bearer(&token)).await
            }
            None => self.inner.send(event).await,
        }
    }
}

impl TestApp {
    /// A fresh store of `kind` with the demo data, served through `via` in guest mode, to a
    /// client that sends each named player's token ([`AsGuests`]).
    pub async fn start_as_guests(via: Via, kind: StoreKind) -> Self {
        let t = Self::start_in_guest_mode(via, kind).await;
        let (inner, clock) = t.into_parts();
        let guests = AsGuests {
            inner,
            clock: clock.clone(),
        };
        TestApp::through(Box::new(guests), clock)
    }

    /// A fresh store of `kind` with the demo data, served through `via` in guest mode, to a
    /// client that sends only what each test gives it.
    pub async fn start_in_guest_mode(via: Via, kind: StoreKind) -> Self {
        let clock = ManualClock::starting_at(start_time());
        let seeded = seeded(kind, clock.now(), &[]).await;
        let app = App::new(
            seeded.store.clone(),
            Clock::Manual(clock.clone()),
            Duration::seconds(TTL_SECONDS),
        )
        .with_operators(test_operators())
        .with_players(test_players())
        // As in trusted mode (and the function binaries' environment): tests that are not about
        // the per-player caps hold as many slots as they like.
        .with_caps(shared::config::Caps::OFF);
        let inner: Box<dyn Transport> = match via {
            Via::Handlers => Box::new(InProcess(app)),
            Via::Loopback => Box::new(Loopback::start(app).await),
            Via::Runtime => {
                let mut env = seeded.env.clone();
                for (name, value) in [
                    ("HOLD_TTL_SECONDS", TTL_SECONDS.to_string()),
                    ("OPERATOR_TOKENS", operator_tokens_variable()),
                    ("OPERATOR_TOKEN", UNNAMED_TOKEN.into()),
                    ("OPERATOR_SCOPE", OPERATOR_SCOPE.into()),
                    ("PLAYER_AUTH", "guest".into()),
                    ("PLAYER_TOKEN_SECRET", PLAYER_KEY.into()),
                ] {
                    env.push((name.into(), value));
                }
                Box::new(crate::runtime::Stack::start(env).await)
            }
        };
        TestApp::through(inner, clock).keeping(seeded)
    }
}
