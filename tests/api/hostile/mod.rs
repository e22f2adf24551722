//! Hostile clients against the local server (issue 17): each file one kind of abuse.
//!
//! - `rates`: floods of writes and guessed operator tokens from one address, the rate limits
//!   per client address and their settings.

mod rates;
