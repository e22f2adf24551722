//! The operators' tokens on AWS: an SSM SecureString parameter (`OPERATOR_TOKENS_PARAMETER`,
//! in the `OPERATOR_TOKENS` format `name:token,name:token`), read once at cold start with
//! decryption and kept, like the variables' tokens, only as digests ([`super::operators`]). No
//! token is in the template, a CloudFormation parameter or a function's environment.
//!
//! The AWS SDK for SSM is the same family as DynamoDB's (one runtime, one HTTP client, one
//! credential chain), so a function gains only SSM's operations. `aws-config` reads the endpoint
//! from `AWS_ENDPOINT_URL_SSM` like any SDK, which is how the tests point it at a local SSM.

use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_sdk_ssm::Client;
use aws_sdk_ssm::config::SharedHttpClient;
use aws_sdk_ssm::config::timeout::TimeoutConfig;
use aws_sdk_ssm::error::DisplayErrorContext;
use aws_sdk_ssm::types::ParameterType;
use aws_smithy_http_client::tls;

use super::{Config, ConfigError};

/// What a function does when its tokens cannot be read (SSM refuses or does not answer, the
/// parameter is missing, not a SecureString, or holds a list the functions refuse).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IfUnreadable {
    /// The cold start fails with the reason (a function that serves only operators: without its
    /// tokens it could answer nothing but 403).
    Refuse,
    /// It starts without them and logs the reason as an error: its operator branch answers 403,
    /// everything else as usual (`cancel-hold` and `get-schedule`, which serve players too).
    StartWithout,
}

/// The HTTPS client of every AWS SDK client here (DynamoDB's and SSM's, and the credential
/// providers they set up): the SDK's own hyper + rustls client with ring as the crypto provider,
/// chosen explicitly because the SDK's default brings aws-lc-rs, which added about 640 KB (12 %)
/// to each arm64 zip. Plain `http://` endpoints (DynamoDB Local, a local SSM) work through it too.
pub fn aws_http_client() -> SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https()
}

impl Config {
    /// Adds the tokens of the SSM parameter named by `OPERATOR_TOKENS_PARAMETER` to the
    /// operators (nothing to do without one). One `GetParameter` with decryption, bounded in time
    /// (5 s); what happens when it fails is `if_unreadable`'s choice. A refusal names the
    /// parameter and the reason, never a token.
    pub async fn with_operator_tokens_from_ssm(
        mut self,
        if_unreadable: IfUnreadable,
    ) -> Result<Self, ConfigError> {
        let Some(name) = self.operator_tokens_parameter.clone() else {
            return Ok(self);
        };
        let source = format!("OPERATOR_TOKENS_PARAMETER `{name}`");
        let read = match read_secure_string(&name, &source).await {
            Ok(list) => self.operators.clone().with_token_list(&list, &source),
            Err(why) => Err(why),
        };
        match read {
            Ok(operators) => {
                tracing::info!(
                    parameter = %name,
                    tokens = operators.tokens().len(),
                    "read the operators' tokens from SSM"
                );
                self.operators = operators;
                Ok(self)
            }
            Err(why) if if_unreadable == IfUnreadable::StartWithout => {
                tracing::error!(
                    error = %why,
                    "starting without the operators' tokens: operator requests with a token \
                     answer 403 until a cold start reads them"
                );
                Ok(self)
            }
            Err(why) => Err(why),
        }
    }
}

impl Config {
    /// In `guest` mode, replaces the players' token keys with those of the SSM parameter named by
    /// `PLAYER_TOKEN_SECRET_PARAMETER` (nothing to do without one, or in another mode). One
    /// `GetParameter` with decryption, bounded in time (5 s); a function that cannot read them
    /// does not start (it could verify no player), and says why, never a key.
    pub async fn with_player_keys_from_ssm(mut self) -> Result<Self, ConfigError> {
        let Some(name) = self.player_token_secret_parameter.clone() else {
            return Ok(self);
        };
        if self.players.mode() != super::PlayerAuth::Guest {
            return Ok(self);
        }
        let source = format!("PLAYER_TOKEN_SECRET_PARAMETER `{name}`");
        let list = read_secure_string(&name, &source).await?;
        self.players = self.players.clone().with_key_list(&list, &source)?;
        tracing::info!(parameter = %name, "read the players' token keys from SSM");
        Ok(self)
    }
}

impl Config {
    /// Reads `SMTP_URL` from the SSM parameter named by `SMTP_URL_PARAMETER` (nothing to do
    /// without one) and sets the mail settings with `MAIL_FROM`, checked as `SMTP_URL` is. One
    /// `GetParameter` with decryption, bounded in time (5 s); a function that cannot read it, or
    /// finds a URL it refuses, does not start (it would drop the emails), and says why, never the
    /// password.
    pub async fn with_mail_from_ssm(mut self) -> Result<Self, ConfigError> {
        let Some(parameter) = self.mail_parameter.clone() else {
            return Ok(self);
        };
        let source = format!("SMTP_URL_PARAMETER `{}`", parameter.name);
        let url = read_secure_string(&parameter.name, &source).await?;
        self.mail = super::mail::from_parameter(&url, &parameter.from)
            .map_err(|why| ConfigError(format!("{source}: {}", why.0)))?;
        tracing::info!(parameter = %parameter.name, "read the SMTP URL from SSM");
        Ok(self)
    }
}

/// The decrypted value of the SecureString parameter `name`; a plain `String` parameter is
/// refused (anyone allowed to read the parameter store's values would see the tokens).
async fn read_secure_string(name: &str, source: &str) -> Result<String, ConfigError> {
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(1))
        .operation_timeout(Duration::from_secs(5))
        .build();
    let config = aws_config::defaults(BehaviorVersion::latest())
        .http_client(aws_http_client())
        .timeout_config(timeouts)
        .load()
        .await;
    let answer = Client::new(&config)
        .get_parameter()
        .name(name)
        .with_decryption(true)
        .send()
        .await
        .map_err(|e| {
            ConfigError(format!(
                "{source}: reading it from SSM failed: {}",
                DisplayErrorContext(&e)
            ))
        })?;
    let parameter = answer
        .parameter()
        .ok_or_else(|| ConfigError(format!("{source}: SSM answered without the parameter")))?;
    if parameter.r#type() != Some(&ParameterType::SecureString) {
        return Err(ConfigError(format!(
            "{source} must be a SecureString parameter (the tokens are secrets), not {:?}",
            parameter.r#type().map(ParameterType::as_str)
        )));
    }
    parameter
        .value()
        .map(str::to_owned)
        .ok_or_else(|| ConfigError(format!("{source}: the parameter has no value")))
}
