//! Sending a composed email over SMTP with `lettre` (feature `mail`): the transport is built once
//! at start from `SMTP_URL` (implicit TLS with `smtps://`, STARTTLS with `?tls=required`, plain
//! only to loopback: `config::MailSettings` checks that), each send bounded by a timeout. A send
//! says whether a failure is worth retrying (a 4xx reply, a timeout, a broken connection) or not
//! (a 5xx reply: the address is refused for good).

use std::time::{Duration, SystemTime};

use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::Composed;
use crate::config::{MailSettings, redacted_smtp_url};

/// How long one SMTP conversation may take (connect, TLS, the message): then the attempt fails
/// and the outbox retries it later.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a message was not sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Worth trying again later: the server said 4xx, timed out or could not be reached.
    #[error("smtp: transient failure{}: {cause}", code.map(|c| format!(" ({c})")).unwrap_or_default())]
    Transient { code: Option<u16>, cause: String },
    /// Not worth trying again: the server refused the message or the address (5xx), or the
    /// message could not be built.
    #[error("smtp: permanent failure{}: {cause}", code.map(|c| format!(" ({c})")).unwrap_or_default())]
    Permanent { code: Option<u16>, cause: String },
}

/// The SMTP sender: the transport and the `From` mailbox, built once at start.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer").field("from", &self.from).finish()
    }
}

impl Mailer {
    /// The sender of `settings`, or why not, naming the variable (start-up stops on it).
    pub fn new(settings: &MailSettings, timeout: Duration) -> Result<Self, String> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(&settings.smtp_url)
            .map_err(|e| {
                format!(
                    "SMTP_URL {:?} cannot be used: {e}",
                    redacted_smtp_url(&settings.smtp_url)
                )
            })?
            .timeout(Some(timeout))
            .build();
        let from: Mailbox = settings
            .from
            .parse()
            .map_err(|e| format!("MAIL_FROM {:?} is not a mailbox: {e}", settings.from))?;
        Ok(Self { transport, from })
    }

    /// The email to `name <address>`: `multipart/mixed` of a `multipart/alternative` (the text
    /// part, then the HTML part: clients show the last they can) and `booking.ics` attached
    /// (`text/calendar; method=…`). `message_id` names it (the same on every retry of the same
    /// event), `date` is its `Date`.
    pub fn message(
        &self,
        name: &str,
        address: &str,
        composed: &Composed,
        message_id: &str,
        date: SystemTime,
    ) -> Result<Message, SendError> {
        let permanent = |cause: String| SendError::Permanent { code: None, cause };
        let to = Mailbox::new(
            Some(name.chars().filter(|c| !c.is_control()).collect()),
            address
                .parse()
                .map_err(|e| permanent(format!("the contact's address: {e}")))?,
        );
        let calendar = ContentType::parse(&format!(
            "text/calendar; charset=utf-8; method={}",
            composed.ics_method
        ))
        .map_err(|e| permanent(format!("the calendar's content type: {e}")))?;
        Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(composed.subject.clone())
            .message_id(Some(message_id.to_owned()))
            .date(date)
            .multipart(
                MultiPart::mixed()
                    .multipart(MultiPart::alternative_plain_html(
                        composed.text.clone(),
                        composed.html.clone(),
                    ))
                    .singlepart(
                        Attachment::new("booking.ics".to_owned())
                            .body(composed.ics.clone(), calendar),
                    ),
            )
            .map_err(|e| permanent(format!("building the message: {e}")))
    }

    /// Sends `message`: the server's reply code on success.
    pub async fn send(&self, message: Message) -> Result<u16, SendError> {
        match self.transport.send(message).await {
            Ok(response) => Ok(u16::from(response.code())),
            Err(err) => {
                let code = err.status().map(u16::from);
                let cause = err.to_string();
                if err.is_permanent() {
                    Err(SendError::Permanent { code, cause })
                } else {
                    Err(SendError::Transient { code, cause })
                }
            }
        }
    }
}
