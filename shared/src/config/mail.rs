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
    Ok(Some(MailSettings {
        smtp_url: url,
        from: sender(from, "SMTP_URL")?,
    }))
}

/// `MAIL_FROM`, required beside `setting` and checked.
fn sender(from: Option<String>, setting: &str) -> Result<String, ConfigError> {
    let Some(from) = from.filter(|f| !f.is_empty()) else {
        return Err(ConfigError(format!(
            "{setting} is set but MAIL_FROM is not: set MAIL_FROM, e.g. \
             \"Escape Room <bookings@example.com>\""
        )));
    };
    if from.chars().any(char::is_control) || !from.contains('@') || from.len() > 320 {
        return Err(ConfigError(format!(
            "MAIL_FROM must be an address or `Name <address>`, not {from:?}"
        )));
    }
    Ok(from)
}

/// On AWS the SMTP URL (with its password) is an SSM SecureString: its name and the sender.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailParameter {
    /// `SMTP_URL_PARAMETER`: the parameter holding the `SMTP_URL`.
    pub name: String,
    /// `MAIL_FROM`, checked.
    pub from: String,
}

/// Reads `SMTP_URL_PARAMETER` (an SSM parameter's name) with `MAIL_FROM`; refused beside
/// `SMTP_URL` (one source of the URL). The URL itself is read and checked at cold start
/// (`Config::with_mail_from_ssm`, feature `dynamodb`), as [`mail`] checks `SMTP_URL`.
pub(super) fn mail_parameter(get: &Lookup) -> Result<Option<MailParameter>, ConfigError> {
    let Some(name) = super::ssm_parameter(get, "SMTP_URL_PARAMETER", "smtp-url")? else {
        return Ok(None);
    };
    if get("SMTP_URL").is_some() {
        return Err(ConfigError(
            "SMTP_URL and SMTP_URL_PARAMETER are both set: set one (on AWS the parameter, whose \
             SecureString holds the URL with its password)"
                .into(),
        ));
    }
    let from = sender(
        get("MAIL_FROM").map(|f| f.trim().to_owned()),
        "SMTP_URL_PARAMETER",
    )?;
    Ok(Some(MailParameter { name, from }))
}

/// The settings of the SMTP URL `url` read from the parameter, with `from`: checked as
/// `SMTP_URL` is. Called by the SSM read (`ssm.rs`, feature `dynamodb`): a build without it (the
/// local server alone, the README's run command) has no caller outside the tests.
#[cfg_attr(not(feature = "dynamodb"), allow(dead_code))]
pub(super) fn from_parameter(url: &str, from: &str) -> Result<Option<MailSettings>, ConfigError> {
    mail(&|name: &str| match name {
        "SMTP_URL" => Some(url.to_owned()),
        "MAIL_FROM" => Some(from.to_owned()),
        _ => None,
    })
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
    fn the_url_may_come_from_an_ssm_parameter_named_beside_mail_from_but_not_with_smtp_url() {
        let read_parameter = |vars: &[(&str, &str)]| {
            let vars: Vec<(String, String)> = vars
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect();
            mail_parameter(&|name: &str| {
                vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
            })
        };
        assert_eq!(read_parameter(&[FROM]).unwrap(), None);
        let parameter = read_parameter(&[("SMTP_URL_PARAMETER", "/escape-room/smtp-url"), FROM])
            .unwrap()
            .unwrap();
        assert_eq!(parameter.name, "/escape-room/smtp-url");
        assert_eq!(parameter.from, FROM.1);
        for (vars, variable) in [
            (
                vec![("SMTP_URL_PARAMETER", "/escape-room/smtp-url")],
                "MAIL_FROM",
            ),
            (
                vec![("SMTP_URL_PARAMETER", "smtp-url"), FROM],
                "SMTP_URL_PARAMETER",
            ),
            (
                vec![
                    ("SMTP_URL_PARAMETER", "/escape-room/smtp-url"),
                    ("SMTP_URL", "smtps://user:secret@smtp.example.com"),
                    FROM,
                ],
                "SMTP_URL_PARAMETER",
            ),
        ] {
            let err = read_parameter(&vars).unwrap_err().to_string();
            assert!(err.contains(variable), "{vars:?}: {err}");
            assert!(!err.contains("secret"), "{err}");
        }
        let settings = from_parameter(
            "smtps://user:hunter2@email-smtp.eu-west-1.amazonaws.com:465",
            FROM.1,
        )
        .unwrap()
        .unwrap();
        assert_eq!(settings.from, FROM.1);
        let refused = from_parameter("smtp://user:hunter2@smtp.example.com:25", FROM.1)
            .unwrap_err()
            .to_string();
        assert!(!refused.contains("hunter2"), "{refused}");
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
