//! The escape-room booking core, shared by every Lambda function and the local server.
//!
//! # The map
//! Imports run one way, upwards from the bottom; no module imports one above it, and nothing in
//! the crate imports [`app`]:
//! ```text
//!   app        assembly: config → store → App              (used by server/ and functions/)
//!    ↑
//!   http       handlers by resource, extraction, identity, views; http::response: Error → status + JSON
//!    ↑
//!   horizon    a schedule applied to a room's slots: the daily horizon run, the publish preview
//!    ↑
//!   delivery   the outbox delivered: channels (webhooks, signed), fan-out, attempts, backoff
//!    ↑
//!   store      Store (request path) + Provision (set-up): sqlite | dynamo (features "sqlite", "dynamodb")
//!    ↑
//!   error      the one Error enum (no HTTP in it)
//!    ↑
//!   domain     pure: ids, holds, slot status, why a write was refused; `now` as an argument
//!
//!   leaves, which any layer may import: route (the route table), config, clock, telemetry,
//!   pages (the booking page and the operator's view, embedded), ics (calendar files, pure)
//!   (import nothing of the crate), mail (booking emails: composed, pure; sent over SMTP with
//!   the `mail` feature), which imports only `ics`, `config`, `events` and `domain`,
//!   events (booking events as webhooks carry them; pure), which imports only `domain`,
//!   schedule (a venue's weekly schedule in its time zone →
//!   slots; pure), which imports only `domain`, and seed (the demo venue, the tests' fixture and
//!   benchmark data as plain values), which imports `domain` and `schedule`
//!
//! `tests/api/layers.rs` fails when an import breaks this map.
//! ```
//! A request is parsed and validated in [`http`], which calls one [`store::Store`] method; the
//! store decides races in one guarded write and answers with [`domain`] values or an [`Error`];
//! [`http::response::error_response`] is the only place an error becomes a status and a body.
//! The hyper server and the `seed` command are in the `server` crate.

// ── layers, bottom first ──
/// Assembly: configuration to store to app, for the server and the functions.
pub mod app;
/// Delivering the outbox: channels (webhooks), fan-out, attempts, backoff.
pub mod delivery;
/// Validated ids, slots, holds and the caller-aware slot status; pure functions of state and `now`.
pub mod domain;
/// The one error enum of a request; the domain's refusals convert into it.
pub mod error;
/// A room's schedule applied to its slots: the daily horizon run and the publish preview.
pub mod horizon;
/// The route handlers over `lambda_http::Request` → `Response`, and the error → response map.
pub mod http;
/// The storage port (`Store`), set-up (`Provision`) and the adapters (SQLite, DynamoDB).
pub mod store;

// ── leaves ──
/// Where `now` comes from: the system clock, or a manual one in tests.
pub mod clock;
/// Configuration read once from the environment at cold start.
pub mod config;
/// Booking events (`booking.confirmed`, `booking.cancelled`) in the Standard Webhooks shape; pure.
pub mod events;
/// Calendar files (RFC 5545): a booking's `booking.ics` and a room's feed for its staff; pure.
pub mod ics;
/// Booking emails: composed from plain values (pure), sent over SMTP (feature `mail`).
pub mod mail;
/// The booking page and the operator's view: static files embedded in the binaries.
pub mod pages;
/// The route table: each route's method, path template and function, defined once.
pub mod route;
/// A venue's weekly schedule in its own time zone, validated and planned into concrete slots.
pub mod schedule;
/// The demo venue, the tests' fixture and the large benchmark data set, as plain values.
pub mod seed;
/// Logging set-up for functions and server.
pub mod telemetry;

pub use error::Error;
pub use http::{App, Endpoint};
pub use route::Route;
