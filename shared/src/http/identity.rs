//! Who is calling: a player (the JWT authorizer's `sub`, a player's token in `guest` mode, or the
//! user id the request names in `trusted` mode) or an operator (the operator token, or a JWT with
//! the operator scope or group). The request's credentials are settled once, before its handler
//! ([`credential`]): a bearer the route does not accept is 401, never ignored.

use std::collections::HashMap;

use lambda_http::http::header::AUTHORIZATION;
use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};
use subtle::{ConditionallySelectable, ConstantTimeEq};

use chrono::{DateTime, Utc};

use super::extract::missing;
use crate::config::{OperatorToken, Operators, PlayerAuth, Players, token_digest};
use crate::domain::{ManageKey, UserId};
use crate::error::Error;
use crate::route::Route;

/// The claims of API Gateway's JWT authorizer, if the request carries them.
pub fn jwt_claims(request: &Request) -> Option<&HashMap<String, String>> {
    match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx
            .authorizer
            .as_ref()
            .and_then(|a| a.jwt.as_ref())
            .map(|jwt| &jwt.claims),
        _ => None,
    }
}

/// The caller proven by API Gateway's JWT authorizer (`sub` claim), if the request carries one.
pub fn authenticated_caller(request: &Request) -> Result<Option<UserId>, Error> {
    match jwt_claims(request).and_then(|c| c.get("sub")) {
        // A `sub` that is not a valid user id can never match one.
        Some(sub) => UserId::parse(sub)
            .map(Some)
            .map_err(|_| Error::IdentityMismatch),
        None => Ok(None),
    }
}

/// What the request's credentials are, settled once before its handler runs, so an
/// `Authorization` header is never silently ignored: a bearer the route accepts, or 401.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// No `Authorization` header and no JWT claims.
    None,
    /// API Gateway's JWT authorizer verified the request (its claims are read where needed).
    Jwt,
    /// One of the operator tokens, recorded as `operator:<name>` (or `operator`).
    Operator(String),
    /// A player's token (`guest` mode), signed by the service and not expired: its player.
    Player(UserId),
    /// A bearer on a route that takes an operator's when no operator token is configured: the
    /// operator's branch answers 403 `OPERATOR_ONLY` (as for anyone), a player's branch 401.
    NoOperatorConfigured,
    /// A bearer on a route that takes a booking's manage key (`/bookings/{reference}`…) that is
    /// no other kind of credential: the handler compares it with the booking's digest.
    ManageKey(PresentedKey),
}

/// A manage key as presented, not yet checked. Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct PresentedKey(String);

impl PresentedKey {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for PresentedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PresentedKey(…)")
    }
}

/// The routes whose only credential is a booking's manage key.
pub fn takes_manage_key(route: Route) -> bool {
    matches!(
        route,
        Route::GetBooking | Route::CancelBooking | Route::GetBookingCalendar
    )
}

/// What kinds of bearer token a route accepts: a player's (in `guest` mode) and an operator's.
/// Public listings accept a player's (the caller's view), not an operator's: the functions that
/// serve them do not know the operator tokens, and a token a route cannot check is refused, not
/// ignored.
fn accepts(route: Route) -> (bool, bool) {
    match route {
        Route::PutRoom
        | Route::RetireRoom
        | Route::PutSchedule
        | Route::PreviewSchedule
        | Route::ListRoomBookings
        | Route::GetCalendarFeed
        | Route::RotateCalendarFeed
        | Route::CreateWebhook
        | Route::ListWebhooks
        | Route::DeleteWebhook
        | Route::ListWebhookDeliveries
        | Route::EnableWebhook => (false, true),
        // The staff feed's only credential is its key, in the URL (calendar apps send no
        // header): any bearer is one the route does not take.
        Route::GetRoomCalendar => (false, false),
        Route::CancelHold | Route::GetSchedule => (true, true),
        _ => (true, false),
    }
}

/// The request's credentials as `route` accepts them (see [`Credential`]): JWT claims; no
/// header; an operator token (on a route that takes one); a player's token verified at `now`
/// (`guest` mode, on a route that takes one). Anything else — a scheme other than Bearer, a
/// forged, expired or unknown token, a token of a kind the route does not take — is 401.
pub fn credential(
    request: &Request,
    route: Route,
    operators: &Operators,
    players: &Players,
    now: DateTime<Utc>,
) -> Result<Credential, Error> {
    if jwt_claims(request).is_some() {
        return Ok(Credential::Jwt);
    }
    if !request.headers().contains_key(AUTHORIZATION) {
        return Ok(Credential::None);
    }
    // Another scheme (Basic, …) is no bearer credential at all: 401 without an error code, as
    // RFC 6750 §3.1 asks for "an unsupported authentication method".
    let token = bearer_token(request).ok_or(Error::Unauthenticated)?;
    if takes_manage_key(route) {
        // An operator's or a player's token is not a booking's key: 401, as any bearer a route
        // does not take, never compared with a digest (which would answer 404). A bearer not
        // shaped as a manage key can be no booking's: 401 too, even where the operators'
        // tokens are not known (these routes' functions are not given them).
        if !ManageKey::well_formed(token) || accepted_anywhere(token, operators, players, now) {
            return Err(Error::InvalidToken);
        }
        return Ok(Credential::ManageKey(PresentedKey(token.to_owned())));
    }
    let (player_ok, operator_ok) = accepts(route);
    if operator_ok && let Some(holder) = token_holder(operators.tokens(), token) {
        return Ok(Credential::Operator(holder.recorded_as()));
    }
    if player_ok
        && players.mode() == PlayerAuth::Guest
        && let Some(player) = players.verify(token, now)
    {
        // A token is only ever signed for a valid id; one that is not can match nobody.
        return UserId::parse(&player)
            .map(Credential::Player)
            .map_err(|_| Error::InvalidToken);
    }
    if operator_ok && operators.tokens().is_empty() {
        return Ok(Credential::NoOperatorConfigured);
    }
    Err(Error::InvalidToken)
}

/// Whether an `Authorization` value is credentials some route accepts (an operator token, or a
/// valid player's token in `guest` mode): the local server's `"auth"` limit spends nothing on
/// those.
pub fn accepted_anywhere(
    token: &str,
    operators: &Operators,
    players: &Players,
    now: DateTime<Utc>,
) -> bool {
    token_holder(operators.tokens(), token).is_some()
        || (players.mode() == PlayerAuth::Guest && players.verify(token, now).is_some())
}

/// The player calling, who must be known: with a JWT the token's `sub`, in `guest` mode the
/// token's player (no token: 401), in `trusted` mode the `claimed` user id (none: 422 naming
/// `user_id`). A `claimed` user id beside a proven one must be the same player (403
/// `IDENTITY_MISMATCH`).
pub fn player(
    request: &Request,
    credential: &Credential,
    mode: PlayerAuth,
    claimed: Option<UserId>,
) -> Result<UserId, Error> {
    viewer(request, credential, mode, claimed.clone())?.ok_or_else(|| match mode {
        PlayerAuth::Trusted => missing("user_id"),
        PlayerAuth::Guest | PlayerAuth::Jwt => Error::Unauthenticated,
    })
}

/// The player a listing is seen by, if any: as [`player`], but nobody is fine. A `claimed`
/// user id without proof counts only in `trusted` mode (in `guest` or `jwt` mode it is 401).
pub fn viewer(
    request: &Request,
    credential: &Credential,
    mode: PlayerAuth,
    claimed: Option<UserId>,
) -> Result<Option<UserId>, Error> {
    let proven = match credential {
        Credential::Jwt => authenticated_caller(request)?,
        Credential::Player(player) => Some(player.clone()),
        Credential::Operator(_) | Credential::NoOperatorConfigured | Credential::ManageKey(_) => {
            return Err(Error::InvalidToken);
        }
        Credential::None if mode == PlayerAuth::Trusted => return Ok(claimed),
        Credential::None if claimed.is_some() => return Err(Error::Unauthenticated),
        Credential::None => None,
    };
    match (proven, claimed) {
        (Some(proven), Some(claimed)) if proven != claimed => Err(Error::IdentityMismatch),
        (proven, _) => Ok(proven),
    }
}

/// The caller is an operator: with a JWT authorizer, its claims carry the operator scope or
/// group; without one, the bearer was one of the operator tokens ([`credential`], compared as
/// digests in constant time, see [`token_holder`]). Nobody configured: 403 whatever the request
/// says (secure by default); tokens configured but no bearer token: 401 (a wrong one was refused
/// by [`credential`]; a player's token is not an operator's: 401).
/// Returns who the operator is, as a cancellation records it: `operator:<name>` (a named token),
/// `operator` (the unnamed `OPERATOR_TOKEN`), or `operator:<sub>` (a JWT's subject).
pub fn operator(
    request: &Request,
    credential: &Credential,
    operators: &Operators,
) -> Result<String, Error> {
    match credential {
        Credential::Jwt => match jwt_claims(request) {
            Some(claims) => jwt_operator(claims, operators.scope()),
            None => Err(Error::OperatorOnly),
        },
        Credential::Operator(name) => Ok(name.clone()),
        Credential::Player(_) | Credential::ManageKey(_) => Err(Error::InvalidToken),
        Credential::NoOperatorConfigured => Err(Error::OperatorOnly),
        Credential::None if operators.tokens().is_empty() => Err(Error::OperatorOnly),
        Credential::None => Err(Error::Unauthenticated),
    }
}

/// A JWT caller is an operator when `scope` is one of the values of its `scope`, `scp` or
/// `cognito:groups` claim.
fn jwt_operator(claims: &HashMap<String, String>, scope: Option<&str>) -> Result<String, Error> {
    let granted = scope.is_some_and(|scope| {
        ["scope", "scp", "cognito:groups"].iter().any(|claim| {
            claims.get(*claim).is_some_and(|value| {
                value
                    .split(|c: char| c.is_whitespace() || "[],\"".contains(c))
                    .any(|v| v == scope)
            })
        })
    });
    if !granted {
        return Err(Error::OperatorOnly);
    }
    Ok(match claims.get("sub") {
        Some(sub) => format!("operator:{sub}"),
        None => "operator".to_owned(),
    })
}

/// The token of an `Authorization: Bearer <token>` header.
pub fn bearer_token(request: &Request) -> Option<&str> {
    request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.split_once(' ')
                .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
                .map(|(_, t)| t.trim())
        })
}

/// The configured token `given` is, if any. The SHA-256 digest of `given` is compared with every
/// token's digest, all of them, with no early exit and no branch on a comparison
/// (`subtle`): the time taken says neither how much of a token matched, nor how long the tokens
/// are (the digests are 32 bytes whatever the token), nor which one matched.
pub fn token_holder<'a>(tokens: &'a [OperatorToken], given: &str) -> Option<&'a OperatorToken> {
    let given = token_digest(given);
    let mut found = u64::MAX;
    for (index, token) in (0u64..).zip(tokens) {
        found.conditional_assign(&index, token.digest().as_slice().ct_eq(given.as_slice()));
    }
    usize::try_from(found)
        .ok()
        .and_then(|index| tokens.get(index))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_token_finds_its_own_name_and_a_wrong_one_of_any_length_finds_none() {
        let (desk, next, night, unnamed) = (
            "d".repeat(40),
            "n".repeat(32),
            "x".repeat(64),
            "u".repeat(33),
        );
        let operators = Operators::default()
            .with_token("desk", &desk)
            .and_then(|o| o.with_token("desk", &next))
            .and_then(|o| o.with_token("night", &night))
            .and_then(|o| o.with_unnamed_token(&unnamed))
            .unwrap();
        let holder =
            |given: &str| token_holder(operators.tokens(), given).map(OperatorToken::recorded_as);
        assert_eq!(holder(&desk).as_deref(), Some("operator:desk"));
        assert_eq!(holder(&next).as_deref(), Some("operator:desk"));
        assert_eq!(holder(&night).as_deref(), Some("operator:night"));
        assert_eq!(holder(&unnamed).as_deref(), Some("operator"));
        let one_off = format!("{}e", "d".repeat(39));
        for wrong in [
            "",
            "d",
            &desk[..39],
            &format!("{desk}d"),
            &one_off,
            &desk.to_uppercase(),
        ] {
            assert_eq!(holder(wrong), None, "{wrong:?}");
        }
        assert!(token_holder(&[], &desk).is_none());
    }
}
