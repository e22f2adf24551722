//! Who is calling: a player (the JWT authorizer's `sub`, or the user id the request names) or an
//! operator (the operator token, or a JWT with the operator scope or group).

use std::collections::HashMap;

use lambda_http::http::header::AUTHORIZATION;
use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};
use subtle::ConstantTimeEq;

use crate::config::Operators;
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
/// group; without one, `Authorization: Bearer` is the operator token (compared in constant
/// time). Nobody configured: 403 whatever the request says (secure by default).
/// Returns who the operator is, as a cancellation records it: `operator` (the token), or
/// `operator:<sub>` (a JWT's subject).
pub fn operator(request: &Request, operators: &Operators) -> Result<String, Error> {
    let Operators { token, scope } = operators;
    if let Some(claims) = jwt_claims(request) {
        let granted = scope.as_deref().is_some_and(|scope| {
            ["scope", "scp", "cognito:groups"].iter().any(|claim| {
                claims.get(*claim).is_some_and(|value| {
                    value
                        .split(|c: char| c.is_whitespace() || "[],\"".contains(c))
                        .any(|v| v == scope)
                })
            })
        });
        return if granted {
            Ok(match claims.get("sub") {
                Some(sub) => format!("operator:{sub}"),
                None => "operator".to_owned(),
            })
        } else {
            Err(Error::OperatorOnly)
        };
    }
    let Some(token) = token else {
        return Err(Error::OperatorOnly);
    };
    let bearer = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.split_once(' ')
                .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
                .map(|(_, t)| t.trim())
        });
    match bearer {
        None => Err(Error::Unauthenticated),
        Some(given) if bool::from(given.as_bytes().ct_eq(token.as_bytes())) => {
            Ok("operator".to_owned())
        }
        Some(_) => Err(Error::OperatorOnly),
    }
}
