//! Booking emails: what a confirmation or a cancellation says ([`compose`], pure: subject, text
//! and the attached `booking.ics`, from plain values) and how it is sent ([`smtp`], feature
//! `mail`: `lettre`'s MIME builder and async SMTP transport).
//!
//! An email is a second delivery channel of the booking events outbox: sent after the change
//! committed, retried by the outbox, never on the booking's request path. The manage link in an
//! email is `{PUBLIC_BASE_URL}/booking/{reference}` without its `#key=`: the key is stored only
//! as its digest, and putting it in the outbox would keep it in the clear in the database until
//! the email is sent (docs/security.md says why; the confirmation screen shows the full link
//! once).
//!
//! Imports only the leaves `ics`, `config` and `events`.

pub mod compose;
pub mod event;
#[cfg(feature = "mail")]
pub mod smtp;

pub use compose::{BookingMail, Composed, MailKind, compose};
pub use event::{Outgoing, email_of};
