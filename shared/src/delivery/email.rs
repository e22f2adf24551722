//! The email channel (feature `mail`): on `booking.confirmed` and `booking.cancelled`, an email
//! to the booking's contact (none without a contact email), composed by [`crate::mail`] and sent
//! over SMTP. A second channel of the outbox beside the webhooks: fanned out, claimed, retried
//! with the same backoff and recorded like them, never on the booking's request path.
//!
//! A delivery's target is `email` and the booking's hold id: the address itself stays in the
//! event (the outbox's retention erases it with the event), and giving up a delivery after a
//! permanent refusal (a 5xx) stops only this booking's emails. A confirmation's delivery
//! carries the booking's manage key for the link (`Delivery::manage_key`), which the store
//! erases when it records the email delivered or given up.

use std::time::SystemTime;

use async_trait::async_trait;
use chrono::Utc;

use super::{Attempt, Channel};
use crate::error::Error;
use crate::events::BookingEvent;
use crate::mail::email_of;
use crate::mail::smtp::{Mailer, SendError};
use crate::store::{Delivery, Store, Target};

/// The channel's name: the `channel` of its targets (the one whose confirmation deliveries
/// carry the booking's manage key for the link).
pub const CHANNEL: &str = crate::store::MAIL_CHANNEL;

/// The email channel: the SMTP sender (built once at start from `SMTP_URL`, `MAIL_FROM`) and the
/// booking page's origin (`PUBLIC_BASE_URL`) for the link and the calendar `UID`.
pub struct EmailChannel {
    mailer: Mailer,
    public_base_url: Option<String>,
}

impl EmailChannel {
    pub fn new(mailer: Mailer, public_base_url: Option<String>) -> Self {
        Self {
            mailer,
            public_base_url,
        }
    }
}

#[async_trait]
impl Channel for EmailChannel {
    fn name(&self) -> &'static str {
        CHANNEL
    }

    async fn targets(
        &self,
        _store: &dyn Store,
        event: &BookingEvent,
    ) -> Result<Vec<Target>, Error> {
        let has_email = event
            .data
            .contact
            .as_ref()
            .is_some_and(|c| !c.email.is_empty());
        Ok(if has_email {
            vec![Target::new(CHANNEL, &event.data.hold_id.to_string())]
        } else {
            Vec::new()
        })
    }

    async fn deliver(&self, _store: &dyn Store, delivery: &Delivery) -> Attempt {
        let base = self.public_base_url.as_deref();
        // The contact erased since (the retention job): nobody to write to.
        let key = delivery.manage_key.as_ref();
        let Some(mail) = email_of(&delivery.event, base, key, Utc::now()) else {
            return Attempt::Gone { status: None };
        };
        let message = match self.mailer.message(
            &mail.name,
            &mail.address,
            &mail.composed,
            &mail.message_id,
            SystemTime::now(),
        ) {
            Ok(message) => message,
            Err(_) => {
                tracing::warn!(event = %delivery.event.id, "booking email not built (its contact or content)");
                return Attempt::Gone { status: None };
            }
        };
        match self.mailer.send(message).await {
            Ok(status) => Attempt::Delivered { status },
            Err(SendError::Transient { code, .. }) => {
                // Never the reply's text: a server may quote the address (no contact in a log).
                tracing::info!(event = %delivery.event.id, code, "booking email: try again later");
                Attempt::Failed { status: code }
            }
            Err(SendError::Permanent { code, .. }) => {
                tracing::warn!(event = %delivery.event.id, code, "booking email refused");
                Attempt::Gone { status: code }
            }
        }
    }
}
