//! Booking emails: what a confirmation or a cancellation says ([`compose`], pure: subject, text
//! and the attached `booking.ics`, from plain values) and how it is sent ([`smtp`], feature
//! `mail`: `lettre`'s MIME builder and async SMTP transport).
//!
//! An email is a second delivery channel of the booking events outbox: sent after the change
//! committed, retried by the outbox, never on the booking's request path. A confirmation's
//! manage link is `{PUBLIC_BASE_URL}/booking/{reference}#key={manage_key}`: the confirm keeps
//! the key in the clear for its email only, on the outbox's email delivery, erased in the write
//! that records the email sent or given up (`store::NewBooking::mail_key`; docs/security.md).
//! The attached calendar file has the page without the key.
//!
//! Imports only `domain` and the leaves `ics`, `config` and `events`.

pub mod compose;
pub mod event;
#[cfg(feature = "mail")]
pub mod smtp;

pub use compose::{BookingMail, Composed, MailKind, compose};
pub use event::{Outgoing, email_of};
