//! Booking emails: where they are sent through (`SMTP_URL`) and from whom (`MAIL_FROM`). Unset
//! `SMTP_URL`: no emails. Checked here as text, at start; `shared::mail` (feature `mail`) turns
//! them into an SMTP transport, which checks them once more with `lettre` and stops start-up
//! naming the variable.
//!
//! `SMTP_URL` is `lettre`'s connection URL:
//! - `smtps://user:pass@host:465` — TLS from the first byte (implicit TLS, "submissions");
//! - `smtp://user:pass@host:587?tls=required` — STARTTLS, refused if the server does not offer it;
//! - `smtp://127.0.0.1:2525` — plain SMTP, allowed only to a loopback host (development, tests):
//!   a password or a booking's contact never crosses a network in the clear.

use super::{ConfigError, Lookup};

/// The mail settings, when `SMTP_URL` is set. The URL may carry a password: never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct MailSettings {
    /// `SMTP_URL`, as given (checked).
    pub smtp_url: String,
    /// `MAIL_FROM`: the sender, `Name <address>` or an address.
    pub from: String,
}

impl std::fmt::Debug for MailSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailSettings")
            .field("smtp_url", &redacted(&self.smtp_url))
            .field("from", &self.from)
            .finish()
    }
}

/// The URL without its password (for logs and `Debug`).
pub fn redacted(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => match rest.rsplit_once('@') {
            Some((userinfo, host)) => {
                let user = userinfo.split(':').next().unwrap_or_default();
                format!("{scheme}://{user}:…@{host}")
            }
            None => url.to_owned(),
        },
        None => "…".to_owned(),
    }
}

/// The host of an SMTP URL (brackets of an IPv6 address removed), lower case.
fn host_of(rest: &str) -> String {
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = match host_port.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host_port.split(':').next().unwrap_or_default(),
    };
    host.to_ascii_lowercase()
}

fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Reads `SMTP_URL` and `MAIL_FROM`: both or neither (`MAIL_FROM` alone is refused too: a
/// setting that does nothing is a mistake).
pub(super) fn mail(get: &Lookup) -> Result<Option<MailSettings>, ConfigError> {
    let from = get("MAIL_FROM").map(|f| f.trim().to_owned());
    let Some(url) = get("SMTP_URL").map(|u| u.trim().to_owned()) else {
        return match from {
            Some(_) => Err(ConfigError(
                "MAIL_FROM is set but SMTP_URL is not: set SMTP_URL (smtps://user:pass@host:465) \
                 to send booking emails, or unset MAIL_FROM"
                    .into(),
            )),
            None => Ok(None),
        };
    };
    let shown = redacted(&url);
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err(ConfigError(format!(
            "SMTP_URL must be smtps://user:pass@host:465, smtp://user:pass@host:587?tls=required \
             or (to a loopback host only) smtp://127.0.0.1:2525, not {shown:?}"
        )));
    };
    let host = host_of(rest);
    let starttls = rest.contains("tls=required");
    match scheme {
        _ if host.is_empty() => {
            return Err(ConfigError(format!("SMTP_URL has no host: {shown:?}")));
        }
        "smtps" => {}
        "smtp" if starttls || is_loopback(&host) => {}
        "smtp" => {
            return Err(ConfigError(format!(
                "SMTP_URL {shown:?} would send mail (and any password) in the clear to {host}: \
                 use smtps://…:465 or smtp://…:587?tls=required (plain smtp:// is only for a \
                 loopback host)"
            )));
        }
        _ => {
            return Err(ConfigError(format!(
                "SMTP_URL must start with smtps:// or smtp://, not {shown:?}"
            )));
        }
    }
    let Some(from) = from.filter(|f| !f.is_empty()) else {
        return Err(ConfigError(
            "SMTP_URL is set but MAIL_FROM is not: set MAIL_FROM, e.g. \
             \"Escape Room <bookings@example.com>\""
                .into(),
        ));
    };
    if from.chars().any(char::is_control) || !from.contains('@') || from.len() > 320 {
        return Err(ConfigError(format!(
            "MAIL_FROM must be an address or `Name <address>`, not {from:?}"
        )));
    }
    Ok(Some(MailSettings {
        smtp_url: url,
        from,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(vars: &[(&str, &str)]) -> Result<Option<MailSettings>, ConfigError> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        mail(&|name: &str| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
    }

    const FROM: (&str, &str) = ("MAIL_FROM", "Escape Room <bookings@example.com>");

    #[test]
    fn no_smtp_url_no_emails_and_the_three_forms_are_taken() {
        assert_eq!(read(&[]).unwrap(), None);
        for url in [
            "smtps://user:secret@smtp.example.com:465",
            "smtp://user:secret@email-smtp.eu-west-1.amazonaws.com:587?tls=required",
            "smtp://127.0.0.1:2525",
            "smtp://localhost:25",
            "smtp://[::1]:2525",
        ] {
            let mail = read(&[("SMTP_URL", url), FROM]).unwrap().unwrap();
            assert_eq!(mail.smtp_url, url);
        }
    }

    #[test]
    fn plain_smtp_beyond_loopback_and_half_settings_stop_start_up_naming_the_variable() {
        for (vars, variable) in [
            (
                vec![("SMTP_URL", "smtp://user:secret@smtp.example.com:25"), FROM],
                "SMTP_URL",
            ),
            (
                vec![("SMTP_URL", "http://smtp.example.com"), FROM],
                "SMTP_URL",
            ),
            (vec![("SMTP_URL", "smtp.example.com:465"), FROM], "SMTP_URL"),
            (vec![("SMTP_URL", "smtps://"), FROM], "SMTP_URL"),
            (vec![("SMTP_URL", "smtps://smtp.example.com")], "MAIL_FROM"),
            (vec![FROM], "MAIL_FROM"),
            (
                vec![
                    ("SMTP_URL", "smtps://smtp.example.com"),
                    ("MAIL_FROM", "nobody"),
                ],
                "MAIL_FROM",
            ),
        ] {
            let err = read(&vars).unwrap_err().to_string();
            assert!(err.contains(variable), "{vars:?}: {err}");
            assert!(
                !err.contains("secret"),
                "the password is never shown: {err}"
            );
        }
    }

    #[test]
    fn the_password_is_never_printed() {
        let mail = read(&[
            ("SMTP_URL", "smtps://user:hunter2@smtp.example.com:465"),
            FROM,
        ])
        .unwrap()
        .unwrap();
        let shown = format!("{mail:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(
            shown.contains("smtps://user:…@smtp.example.com:465"),
            "{shown}"
        );
    }
}
