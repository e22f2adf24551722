//! Who is calling: a player (the JWT authorizer's `sub`, or the user id the request names) or an
//! operator (the operator token, or a JWT with the operator scope or group).

use std::collections::HashMap;

use lambda_http::http::header::AUTHORIZATION;
use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};
use subtle::{ConditionallySelectable, ConstantTimeEq};

use crate::config::{OperatorToken, Operators, token_digest};
use crate::domain::UserId;
use crate::error::Error;

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

/// Who is calling: with a JWT authorizer the token's `sub`, and a `claimed` user id (body or
/// query) must be that same user (403 otherwise); without one, the claimed user id as in the seed.
pub fn caller(request: &Request, claimed: Option<UserId>) -> Result<Option<UserId>, Error> {
    match (authenticated_caller(request)?, claimed) {
        (Some(sub), Some(claimed)) if sub != claimed => Err(Error::IdentityMismatch),
        (Some(sub), _) => Ok(Some(sub)),
        (None, claimed) => Ok(claimed),
    }
}

/// Whether the request carries any credentials at all (a bearer header or JWT claims).
pub fn has_credentials(request: &Request) -> bool {
    request.headers().contains_key(AUTHORIZATION) || jwt_claims(request).is_some()
}

/// The caller is an operator: with a JWT authorizer, its claims carry the operator scope or
/// group; without one, `Authorization: Bearer` is one of the operator tokens (compared as digests
/// in constant time, see [`token_holder`]). Nobody configured: 403 whatever the request says
/// (secure by default); tokens configured but no bearer token, or one that is none of them: 401.
/// Returns who the operator is, as a cancellation records it: `operator:<name>` (a named token),
/// `operator` (the unnamed `OPERATOR_TOKEN`), or `operator:<sub>` (a JWT's subject).
pub fn operator(request: &Request, operators: &Operators) -> Result<String, Error> {
    if let Some(claims) = jwt_claims(request) {
        return jwt_operator(claims, operators.scope());
    }
    if operators.tokens().is_empty() {
        return Err(Error::OperatorOnly);
    }
    match bearer_token(request) {
        None => Err(Error::Unauthenticated),
        Some(given) => token_holder(operators.tokens(), given)
            .map(OperatorToken::recorded_as)
            .ok_or(Error::InvalidToken),
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
fn bearer_token(request: &Request) -> Option<&str> {
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
