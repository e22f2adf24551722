//! The escape-room booking core, shared by every Lambda function and the local server.
//!
//! # Layout
//! ```text
//! API Gateway ─► functions/<route>/main.rs ─┐
//!                                            ├─► http (parse, validate, identity, error mapping)
//! local server (server.rs, hyper) ───────────┘        │
//!                                                     ▼
//!                                  domain (pure: ids, status, `now` as argument)
//!                                                     │
//!                                                     ▼
//!                                  store::Store ─► store::sqlite | store::dynamo
//! ```
//! A request is parsed and validated in [`http`], which calls one [`store::Store`] method; the
//! store decides races in one guarded write and answers with [`domain`] values or an [`Error`];
//! [`Error::into_response`] is the only place an error becomes a status and a JSON body.

/// Where `now` comes from: the system clock, or a manual one in tests.
pub mod clock;
/// Configuration read once from the environment at cold start.
pub mod config;
/// Validated ids, slots, holds and the caller-aware slot status; pure functions of state and `now`.
pub mod domain;
/// The one error enum and its mapping to HTTP status + JSON body.
pub mod error;
/// The route handlers over `lambda_http::Request` → `Response`, shared by functions and server.
pub mod http;
/// Demo data and the large benchmark data set.
pub mod seed;
/// The single-machine HTTP server (hyper) that serves the same handlers.
pub mod server;
/// The storage trait and its adapters (SQLite embedded default, DynamoDB).
pub mod store;
/// Logging set-up for functions and server.
pub mod telemetry;

pub use error::Error;
pub use http::{App, Route};
