//! Standard Webhooks 1.0 signatures: `webhook-signature: v1,<base64 of HMAC-SHA256(key,
//! "<webhook-id>.<webhook-timestamp>.<body>")>`, where the key is the base64 after `whsec_`.
//! Signing secrets are `whsec_` and the base64 of 24 random bytes (192 bits).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{KeyInit, Mac};
use sha2::Sha256;

use crate::error::Error;

const PREFIX: &str = "whsec_";

/// A new signing secret: `whsec_` + base64 of 24 bytes from the operating system's generator.
pub fn new_secret() -> Result<String, Error> {
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes).map_err(|e| Error::Internal(format!("random secret: {e}")))?;
    Ok(format!("{PREFIX}{}", STANDARD.encode(bytes)))
}

/// The `webhook-signature` header's value for `id`, `timestamp` (epoch seconds) and `body`.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> Result<String, Error> {
    let key = STANDARD
        .decode(secret.strip_prefix(PREFIX).unwrap_or(secret))
        .map_err(|e| Error::Internal(format!("stored webhook secret: {e}")))?;
    let mut mac = <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(&key)
        .map_err(|e| Error::Internal(format!("webhook key: {e}")))?;
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    Ok(format!(
        "v1,{}",
        STANDARD.encode(mac.finalize().into_bytes())
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the Standard Webhooks specification's reference libraries.
    #[test]
    fn the_signature_is_the_one_the_standard_webhooks_libraries_compute() {
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body).unwrap(),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn a_new_secret_is_whsec_and_24_random_bytes() {
        let (one, two) = (new_secret().unwrap(), new_secret().unwrap());
        assert_ne!(one, two);
        let bytes = STANDARD
            .decode(one.strip_prefix("whsec_").unwrap())
            .unwrap();
        assert_eq!(bytes.len(), 24);
    }
}
