//! `POST /players` (`guest` mode): a new player — a fresh, unguessable id — and a token the
//! service signs for it. No store request: the player's user record is made by their first
//! hold, atomically with it.

use lambda_http::http::StatusCode;
use serde::Deserialize;

use super::Answer;
use crate::config::PlayerAuth;
use crate::domain::UserId;
use crate::error::Error;
use crate::http::call::Call;
use crate::http::response::json_response;
use crate::http::views::PlayerCreated;

/// The body: empty, or an empty object.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Empty {}

/// `POST /players`: 201 `{"player_id", "token", "expires_at"}`; in any mode but `guest`, 404
/// `ROUTE_NOT_FOUND` (players are identified otherwise there).
pub fn create(call: &Call<'_>) -> Answer {
    if call.app.players.mode() != PlayerAuth::Guest {
        return Err(Error::RouteNotFound);
    }
    if !call.request.body().is_empty() {
        let _: Empty = call.body()?;
    }
    let player = new_player_id()?;
    let (token, expires_at) = call
        .app
        .players
        .mint(player.as_str(), call.now)
        .ok_or_else(|| Error::Internal("guest mode without a token key".into()))?;
    Ok(json_response(
        StatusCode::CREATED,
        &PlayerCreated {
            player_id: player.as_str(),
            token: &token,
            expires_at,
        },
    ))
}

/// `p-` and the 122 random bits of a UUID v4 in lower-case base32 (26 characters): a valid
/// [`UserId`] nobody can guess.
fn new_player_id() -> Result<UserId, Error> {
    const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
    let bits = uuid::Uuid::new_v4().as_u128();
    let id: String = (0..26)
        .map(|i| char::from(ALPHABET[((bits >> (i * 5)) & 31) as usize]))
        .collect();
    Ok(UserId::parse(&format!("p-{id}"))?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_player_ids_are_valid_distinct_and_26_random_characters_long() {
        let a = new_player_id().unwrap();
        let b = new_player_id().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.as_str().len(), 28);
        assert!(a.as_str().starts_with("p-"));
    }
}
