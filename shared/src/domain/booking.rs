//! What a confirmed booking carries beyond its hold: a [`Reference`] people can read out, a
//! [`ManageKey`] (the secret of the manage link, kept only as its SHA-256 digest) and the
//! player's [`Contact`] details. The randomness comes from the operating system (`getrandom`).

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::Invalid;

/// Crockford's base32 alphabet: no I, L, O or U, so a reference read aloud or typed is not
/// misread.
const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// Characters in a reference.
pub const REFERENCE_LEN: usize = 10;

/// Random bits in a reference: 10 characters of 5 bits.
pub const REFERENCE_BITS: u32 = 50;

/// Random bytes in a manage key: 256 bits (the issue asks for at least 128).
pub const MANAGE_KEY_BYTES: usize = 32;

/// Random bytes from the operating system's generator. A failure of the generator is not
/// something a request can recover from; the error says so and the request is a 500.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], Invalid> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes)
        .map_err(|e| Invalid(format!("the random generator failed: {e}")))?;
    Ok(bytes)
}

/// A booking's reference: [`REFERENCE_LEN`] characters of Crockford base32, random
/// ([`REFERENCE_BITS`] bits), unique (each store enforces it in the confirm's atomic step and
/// draws again on a collision). It names a booking; it proves nothing (see [`ManageKey`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Reference(String);

impl Reference {
    /// A new random reference.
    pub fn generate() -> Result<Self, Invalid> {
        let bytes: [u8; 8] = random_bytes()?;
        let mut bits = u64::from_le_bytes(bytes);
        let mut text = String::with_capacity(REFERENCE_LEN);
        for _ in 0..REFERENCE_LEN {
            text.push(char::from(CROCKFORD[(bits & 31) as usize]));
            bits >>= 5;
        }
        Ok(Self(text))
    }

    /// A reference from a path: exactly [`REFERENCE_LEN`] characters of the alphabet, upper
    /// case (a reference typed in lower case is read as upper case).
    pub fn parse(value: &str) -> Result<Self, Invalid> {
        let upper = value.to_ascii_uppercase();
        if upper.len() == REFERENCE_LEN && upper.bytes().all(|b| CROCKFORD.contains(&b)) {
            Ok(Self(upper))
        } else {
            Err(Invalid(format!(
                "`reference` must be {REFERENCE_LEN} characters of 0-9 and A-Z without I, L, O and U."
            )))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Reference {
    type Error = Invalid;
    fn try_from(value: String) -> Result<Self, Invalid> {
        Self::parse(&value)
    }
}

impl From<Reference> for String {
    fn from(reference: Reference) -> Self {
        reference.0
    }
}

impl std::fmt::Display for Reference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The manage link's secret: [`MANAGE_KEY_BYTES`] random bytes, base64url without padding (43
/// characters), drawn independently of the reference and the hold id. Shown once, in the
/// confirm's answer; the stores keep only its [`KeyDigest`].
#[derive(Clone, PartialEq, Eq)]
pub struct ManageKey(String);

impl ManageKey {
    pub fn generate() -> Result<Self, Invalid> {
        use base64::Engine;
        let bytes: [u8; MANAGE_KEY_BYTES] = random_bytes()?;
        Ok(Self(
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes),
        ))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A key kept in the clear for its booking's confirmation email (the outbox's email
    /// delivery, until the email is sent or given up), read back; `None` if it is not a key's
    /// shape.
    pub fn stored(key: String) -> Option<Self> {
        Self::well_formed(&key).then_some(Self(key))
    }

    /// Whether `token` has a manage key's shape: 43 characters of base64url.
    pub fn well_formed(token: &str) -> bool {
        token.len() == 43
            && token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    }

    pub fn digest(&self) -> KeyDigest {
        KeyDigest::of(&self.0)
    }
}

/// Never printed: a key in a log line would be a booking handed to whoever reads the log.
impl std::fmt::Debug for ManageKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ManageKey(…)")
    }
}

/// The SHA-256 digest of a manage key, as stored (lower-case hex). A key of 256 random bits
/// needs no slow hash: nobody can guess one to test against the digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct KeyDigest(String);

impl KeyDigest {
    /// The digest of a presented key.
    pub fn of(key: &str) -> Self {
        let digest = Sha256::digest(key.as_bytes());
        let mut hex = String::with_capacity(64);
        for byte in digest {
            hex.push_str(&format!("{byte:02x}"));
        }
        Self(hex)
    }

    /// A stored digest back.
    pub fn stored(hex: String) -> Self {
        Self(hex)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `key` is the key of this digest, compared in constant time (the digests are
    /// always 64 characters, so neither the key's length nor how much of it matched shows).
    pub fn matches(&self, key: &str) -> bool {
        Self::of(key).0.as_bytes().ct_eq(self.0.as_bytes()).into()
    }
}

/// Longest name, in characters.
pub const MAX_CONTACT_NAME: usize = 100;
/// Longest email address, in characters (RFC 5321's path limit less its angle brackets).
pub const MAX_EMAIL_LEN: usize = 254;

/// How to reach the player about their booking. Shown only to the booking's owner (and the
/// holder of its manage key) and to operators; erased `CONTACT_RETENTION_DAYS` after the game.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    pub name: String,
    pub email: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

/// Never printed in full: contact details stay out of logs.
impl std::fmt::Debug for Contact {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Contact(…)")
    }
}

impl Contact {
    /// The contact as sent, checked: `name` 1–[`MAX_CONTACT_NAME`] characters (trimmed, no
    /// control characters); `email` an address by [`valid_email`]; `phone`, if any, E.164.
    pub fn checked(name: &str, email: &str, phone: Option<&str>) -> Result<Self, Invalid> {
        let name = name.trim();
        let chars = name.chars().count();
        if chars == 0 || chars > MAX_CONTACT_NAME || name.chars().any(char::is_control) {
            return Err(Invalid(format!(
                "`contact.name` must be 1-{MAX_CONTACT_NAME} characters, without control characters."
            )));
        }
        let email = email.trim();
        if !valid_email(email) {
            return Err(Invalid(format!(
                "`contact.email` must be an email address (local@domain.example, at most {MAX_EMAIL_LEN} characters)."
            )));
        }
        let phone = phone.map(str::trim);
        if let Some(phone) = phone
            && !valid_e164(phone)
        {
            return Err(Invalid(
                "`contact.phone` must be an E.164 number: + and 8-15 digits, e.g. +493012345678."
                    .into(),
            ));
        }
        Ok(Self {
            name: name.to_owned(),
            email: email.to_owned(),
            phone: phone.map(str::to_owned),
        })
    }
}

/// A simple, documented rule rather than RFC 5322's full grammar (which accepts quoted and
/// commented forms no mail form should): at most [`MAX_EMAIL_LEN`] characters, one `@`; the
/// local part 1–64 printable ASCII characters without spaces, quotes, `<>()[],;:\` or a
/// leading, trailing or doubled dot; the domain at least two dot-separated labels of letters,
/// digits and inner hyphens (1–63 each), the last of letters only, at least two. Whether the
/// address receives mail only a message can tell.
pub fn valid_email(email: &str) -> bool {
    if email.len() > MAX_EMAIL_LEN {
        return false;
    }
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    let local_ok = (1..=64).contains(&local.len())
        && local
            .bytes()
            .all(|b| b.is_ascii_graphic() && !b"\"<>()[],;:\\@".contains(&b))
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..");
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && labels.iter().all(|l| {
            (1..=63).contains(&l.len())
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        })
        && labels
            .last()
            .is_some_and(|tld| tld.len() >= 2 && tld.bytes().all(|b| b.is_ascii_alphabetic()));
    local_ok && domain_ok
}

/// E.164: `+`, a country code not starting with 0, 8–15 digits in all.
pub fn valid_e164(phone: &str) -> bool {
    phone.strip_prefix('+').is_some_and(|digits| {
        (8..=15).contains(&digits.len())
            && digits.bytes().all(|b| b.is_ascii_digit())
            && !digits.starts_with('0')
    })
}

/// What a confirmed booking carries beside its hold; empty for a hold never confirmed (or a
/// booking made before references existed).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BookingDetails {
    pub reference: Option<Reference>,
    pub contact: Option<Contact>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_are_ten_crockford_characters_and_differ() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..2_000 {
            let reference = Reference::generate().unwrap();
            assert_eq!(reference.as_str().len(), REFERENCE_LEN);
            assert_eq!(Reference::parse(reference.as_str()).unwrap(), reference);
            assert!(seen.insert(reference));
        }
        assert!(Reference::parse("abcdefghjk").is_ok());
        for bad in [
            "ABCDEFGHIJ",
            "ABCDEFGHL0",
            "ABCDEFGHJ",
            "ABCDEFGHJKM",
            "ABCDEFGHJ-",
        ] {
            assert!(Reference::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_manage_key_has_256_random_bits_and_only_its_digest_matches_it() {
        let key = ManageKey::generate().unwrap();
        let other = ManageKey::generate().unwrap();
        assert_eq!(key.as_str().len(), 43);
        assert!(ManageKey::well_formed(key.as_str()));
        assert!(!ManageKey::well_formed(&key.as_str()[1..]));
        assert!(!ManageKey::well_formed(&format!("{}.", &key.as_str()[1..])));
        assert_ne!(key, other);
        let digest = key.digest();
        assert_eq!(digest.as_str().len(), 64);
        assert!(digest.matches(key.as_str()));
        assert!(!digest.matches(other.as_str()));
        assert!(!digest.matches(""));
        assert!(!digest.matches(digest.as_str()));
        assert_eq!(format!("{key:?}"), "ManageKey(…)");
    }

    #[test]
    fn contacts_are_checked_field_by_field() {
        let ok = Contact::checked(" Ada ", "ada@example.org", Some("+493012345678")).unwrap();
        assert_eq!(ok.name, "Ada");
        assert_eq!(format!("{ok:?}"), "Contact(…)");
        assert!(Contact::checked("Ada", "a.b+c@mail.example.co", None).is_ok());
        for (name, email, phone) in [
            ("", "ada@example.org", None),
            (&*"x".repeat(101), "ada@example.org", None),
            ("Ada", "ada", None),
            ("Ada", "ada@example", None),
            ("Ada", "ada@@example.org", None),
            ("Ada", "a da@example.org", None),
            ("Ada", ".ada@example.org", None),
            ("Ada", "ada@-example.org", None),
            ("Ada", &format!("{}@example.org", "a".repeat(65)), None),
            ("Ada", "ada@example.org", Some("030 1234567")),
            ("Ada", "ada@example.org", Some("+0301234567")),
            ("Ada", "ada@example.org", Some("+1234567")),
        ] {
            assert!(
                Contact::checked(name, email, phone).is_err(),
                "{name:?} {email:?} {phone:?}"
            );
        }
    }
}
