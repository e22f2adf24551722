//! Who is an operator: named bearer tokens (`OPERATOR_TOKENS`, and the older single
//! `OPERATOR_TOKEN`), kept only as SHA-256 digests, and the JWT scope or group (`OPERATOR_SCOPE`).
//! Read once at start; a bad value stops start-up naming the variable, never printing a token.

use sha2::{Digest, Sha256};

use super::{ConfigError, Lookup};

/// The shortest operator token accepted: 32 visible ASCII characters (`openssl rand -hex 32`
/// gives 64). A guessable token would be worse than none.
pub const MIN_OPERATOR_TOKEN_LEN: usize = 32;

/// The longest operator name (`[a-z0-9_-]`, recorded as `operator:<name>`).
pub const MAX_OPERATOR_NAME_LEN: usize = 32;

/// Scopes that every signed-in user of a Cognito user pool (or of most OpenID providers) carries:
/// as `OPERATOR_SCOPE` each would make everyone an operator, so start-up refuses them.
pub const EVERYONES_SCOPES: [&str; 5] = [
    "openid",
    "profile",
    "email",
    "phone",
    "aws.cognito.signin.user.admin",
];

/// What is kept of a token and compared: its SHA-256 digest, 32 bytes whatever the token's length.
pub fn token_digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// One accepted token: whose it is and its digest (the token itself is not kept).
#[derive(Clone, PartialEq, Eq)]
pub struct OperatorToken {
    /// `None` for the unnamed `OPERATOR_TOKEN`.
    name: Option<String>,
    digest: [u8; 32],
}

impl OperatorToken {
    /// Who a cancellation with this token records as `cancelled_by`: `operator:<name>`, or plain
    /// `operator` for the unnamed `OPERATOR_TOKEN` (as before names existed).
    pub fn recorded_as(&self) -> String {
        match &self.name {
            Some(name) => format!("operator:{name}"),
            None => "operator".to_owned(),
        }
    }

    /// The token's SHA-256 digest.
    pub fn digest(&self) -> &[u8; 32] {
        &self.digest
    }
}

/// Who is an operator: the bearer of one of the tokens (no JWT authorizer), or a caller whose
/// verified JWT carries the scope in its `scope`, `scp` or `cognito:groups` claim. Neither set: no
/// one (operator routes answer 403). Built from the environment by [`super::Config`], or in code
/// with [`Operators::with_token`] and the like, which check what the variables' parser checks.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Operators {
    tokens: Vec<OperatorToken>,
    scope: Option<String>,
}

impl std::fmt::Debug for Operators {
    // Names only: neither a token nor its digest reaches a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<String> = self.tokens.iter().map(OperatorToken::recorded_as).collect();
        f.debug_struct("Operators")
            .field("tokens", &names)
            .field("scope", &self.scope)
            .finish()
    }
}

impl Operators {
    /// The accepted tokens, in the order configured.
    pub fn tokens(&self) -> &[OperatorToken] {
        &self.tokens
    }

    /// The JWT scope or group that makes a caller an operator.
    pub fn scope(&self) -> Option<&str> {
        self.scope.as_deref()
    }

    /// The same operators with `token` for `name` (a second token for a name is a rotation:
    /// both work until the old one is removed).
    pub fn with_token(self, name: &str, token: &str) -> Result<Self, ConfigError> {
        self.add(Some(name), token, "an operator token")
    }

    /// The same operators with the unnamed token (what `OPERATOR_TOKEN` gives).
    pub fn with_unnamed_token(self, token: &str) -> Result<Self, ConfigError> {
        self.add(None, token, "OPERATOR_TOKEN")
    }

    /// The same operators with the JWT scope or group `scope`; refused if every signed-in user
    /// has it ([`EVERYONES_SCOPES`]) or if it could never match (a space, comma, bracket or quote).
    pub fn with_scope(mut self, scope: &str) -> Result<Self, ConfigError> {
        let scope = scope.trim();
        if EVERYONES_SCOPES
            .iter()
            .any(|everyone| everyone.eq_ignore_ascii_case(scope))
        {
            return Err(ConfigError(format!(
                "OPERATOR_SCOPE must not be `{scope}`: every signed-in user has that scope, so \
                 everyone would be an operator; use a scope or group of the operators' own (e.g. \
                 `escape-room/operator`)"
            )));
        }
        if scope.is_empty()
            || scope
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || "[],\"".contains(c))
        {
            return Err(ConfigError(
                "OPERATOR_SCOPE must be one scope or group name, without spaces, commas, \
                 brackets or quotes"
                    .into(),
            ));
        }
        self.scope = Some(scope.to_owned());
        Ok(self)
    }

    /// Adds one token; `what` names its variable (and entry) in a refusal, which never shows
    /// the token.
    fn add(mut self, name: Option<&str>, token: &str, what: &str) -> Result<Self, ConfigError> {
        let label = match name {
            Some(name) if !valid_name(name) => {
                return Err(ConfigError(format!(
                    "{what}: an operator's name must be 1 to {MAX_OPERATOR_NAME_LEN} characters \
                     of a-z, 0-9, `_` and `-`"
                )));
            }
            Some(name) => format!("{what} (`{name}`)"),
            None => what.to_owned(),
        };
        if token.len() < MIN_OPERATOR_TOKEN_LEN || !token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ConfigError(format!(
                "{label}: the token must be at least {MIN_OPERATOR_TOKEN_LEN} visible ASCII \
                 characters, no spaces (e.g. `openssl rand -hex 32`)"
            )));
        }
        let digest = token_digest(token);
        if self.tokens.iter().any(|t| t.digest == digest) {
            return Err(ConfigError(format!(
                "{label}: the same token is given twice; each token names one operator"
            )));
        }
        self.tokens.push(OperatorToken {
            name: name.map(str::to_owned),
            digest,
        });
        Ok(self)
    }
}

/// 1 to [`MAX_OPERATOR_NAME_LEN`] characters of `[a-z0-9_-]`.
fn valid_name(name: &str) -> bool {
    (1..=MAX_OPERATOR_NAME_LEN).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// `OPERATOR_TOKENS` (`name:token,name:token`), `OPERATOR_TOKEN` (one unnamed token; with
/// `OPERATOR_TOKENS` both are accepted) and `OPERATOR_SCOPE`.
pub(super) fn operators(get: &Lookup) -> Result<Operators, ConfigError> {
    let mut operators = Operators::default();
    if let Some(list) = get("OPERATOR_TOKENS") {
        operators = operators.with_token_list(&list, "OPERATOR_TOKENS")?;
    }
    if let Some(token) = get("OPERATOR_TOKEN") {
        operators = operators.add(None, token.trim(), "OPERATOR_TOKEN")?;
    }
    match get("OPERATOR_SCOPE") {
        Some(scope) => operators.with_scope(&scope),
        None => Ok(operators),
    }
}

impl Operators {
    /// The same operators with the named tokens of `list` (`name:token,name:token`, the
    /// `OPERATOR_TOKENS` format); `source` names where the list came from in a refusal (the
    /// variable, or the SSM parameter), which never shows a token.
    pub fn with_token_list(mut self, list: &str, source: &str) -> Result<Self, ConfigError> {
        for (index, entry) in list.split(',').enumerate() {
            let what = format!("{source} entry {}", index + 1);
            let Some((name, token)) = entry.trim().split_once(':') else {
                return Err(ConfigError(format!(
                    "{what} is not `name:token` (entries are separated by commas)"
                )));
            };
            self = self.add(Some(name.trim()), token.trim(), &what)?;
        }
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    const DESK: &str = "desk-0123456789abcdef0123456789abcdef";
    const DESK_NEXT: &str = "desk-next-0123456789abcdef0123456789ab";
    const NIGHT: &str = "night-0123456789abcdef0123456789abcdef";

    /// The operators the variables `vars` configure, or the start-up error's message.
    fn operators_of(vars: &[(&str, &str)]) -> Result<Operators, String> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Config::from_lookup(|k| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()))
            .map(|c| c.operators)
            .map_err(|e| e.to_string())
    }

    fn names(operators: &Operators) -> Vec<String> {
        operators
            .tokens()
            .iter()
            .map(OperatorToken::recorded_as)
            .collect()
    }

    #[test]
    fn no_operator_is_configured_by_default() {
        assert_eq!(operators_of(&[]), Ok(Operators::default()));
    }

    #[test]
    fn named_tokens_are_read_with_their_names_and_a_name_may_have_two_tokens_while_rotating() {
        let list = format!("desk:{DESK}, desk:{DESK_NEXT} ,night:{NIGHT}");
        let operators = operators_of(&[("OPERATOR_TOKENS", &list)]).unwrap();
        assert_eq!(
            names(&operators),
            ["operator:desk", "operator:desk", "operator:night"]
        );
        assert_eq!(operators.tokens()[2].digest(), &token_digest(NIGHT));
    }

    #[test]
    fn the_old_single_token_is_the_unnamed_operator_and_is_accepted_beside_named_ones() {
        let alone = operators_of(&[("OPERATOR_TOKEN", DESK)]).unwrap();
        assert_eq!(names(&alone), ["operator"]);
        let both = operators_of(&[
            ("OPERATOR_TOKEN", DESK),
            ("OPERATOR_TOKENS", &format!("night:{NIGHT}")),
        ])
        .unwrap();
        assert_eq!(names(&both), ["operator:night", "operator"]);
    }

    #[test]
    fn a_bad_operator_tokens_value_stops_start_up_naming_the_variable_and_never_the_token() {
        let secret = "s3cr3t-0123456789abcdef0123456789abcdef";
        let short = "s3cr3t-short";
        for (value, says) in [
            (
                format!("desk:{short}"),
                "entry 1 (`desk`): the token must be at least 32",
            ),
            (
                format!("desk:{DESK},{secret}"),
                "entry 2 is not `name:token`",
            ),
            (format!("desk:{DESK},"), "entry 2 is not `name:token`"),
            (
                format!("Desk:{secret}"),
                "entry 1: an operator's name must be 1 to 32",
            ),
            (
                format!(":{secret}"),
                "entry 1: an operator's name must be 1 to 32",
            ),
            (
                format!("{}:{secret}", "n".repeat(33)),
                "name must be 1 to 32",
            ),
            (format!("desk:{secret} with a space"), "no spaces"),
            (format!("desk:{secret}é"), "visible ASCII"),
            (
                format!("desk:{secret},night:{secret}"),
                "entry 2 (`night`): the same token",
            ),
        ] {
            let refused = operators_of(&[("OPERATOR_TOKENS", &value)]).unwrap_err();
            assert!(refused.contains("OPERATOR_TOKENS"), "{value}: {refused}");
            assert!(refused.contains(says), "{value}: {refused}");
            assert!(
                !refused.contains("s3cr3t"),
                "{value}: the token is not printed: {refused}"
            );
        }
    }

    #[test]
    fn the_old_token_is_held_to_the_same_rules() {
        let short = operators_of(&[("OPERATOR_TOKEN", "0123456789abcdef0123456789abcde")]);
        assert!(short.is_err_and(|e| e.contains("OPERATOR_TOKEN: the token must be at least 32")));
        let again = operators_of(&[
            ("OPERATOR_TOKEN", DESK),
            ("OPERATOR_TOKENS", &format!("desk:{DESK}")),
        ]);
        assert!(again.is_err_and(|e| e.contains("OPERATOR_TOKEN: the same token")));
    }

    #[test]
    fn a_scope_every_signed_in_user_has_stops_start_up_naming_the_variable() {
        for everyone in EVERYONES_SCOPES.into_iter().chain(["OpenID", " email "]) {
            let refused = operators_of(&[("OPERATOR_SCOPE", everyone)]).unwrap_err();
            assert!(
                refused.contains("OPERATOR_SCOPE") && refused.contains("everyone"),
                "{everyone}: {refused}"
            );
        }
        for never_matches in ["staff operators", "[staff]", "a,b", "\"staff\""] {
            let refused = operators_of(&[("OPERATOR_SCOPE", never_matches)]).unwrap_err();
            assert!(
                refused.contains("OPERATOR_SCOPE"),
                "{never_matches}: {refused}"
            );
        }
        let fine = operators_of(&[("OPERATOR_SCOPE", " escape-room/operator ")]).unwrap();
        assert_eq!(fine.scope(), Some("escape-room/operator"));
    }

    #[test]
    fn the_debug_form_shows_names_but_no_token_or_digest() {
        let operators = Operators::default()
            .with_token("desk", DESK)
            .and_then(|o| o.with_unnamed_token(NIGHT))
            .unwrap();
        let shown = format!("{operators:?}");
        let digest: String = token_digest(DESK)[..4]
            .iter()
            .map(|b| format!("{b}"))
            .collect::<Vec<_>>()
            .join(", ");
        assert!(shown.contains("operator:desk"), "{shown}");
        assert!(!shown.contains("0123456789abcdef"), "{shown}");
        assert!(!shown.contains(&digest), "{shown}");
    }
}
