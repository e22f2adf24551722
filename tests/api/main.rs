//! One integration-test binary for the whole API (one link step, one harness).
//!
//! - `harness`: a seeded store of either kind, the three transports (handlers in process with
//!   API Gateway v2 events, the local server over loopback, the function binaries through a
//!   Lambda Runtime API), one answer type and the client scenarios are written against.
//! - `contract`: every scenario of the contract, written once (one file per topic), run on both
//!   stores through every transport where it makes sense
//!   (`contract::<transport>::<store>::<scenario>`); the simultaneous ones on a multi-threaded
//!   runtime behind a barrier.
//! - `validation`: the error table through the handlers: 422s, 413, 503 and 500 without
//!   internals, the `$default` route's 404/405.
//! - `dynamodb`: what only the DynamoDB store has: the 50-way race on the store itself, one
//!   request per operation, explanations from the hold record, idempotent seeding, 503 when the
//!   store is unreachable. (`dynamodb_local` starts DynamoDB Local for the whole process.)
//! - `dynamodb_iam`: contract scenarios on DynamoDB Local with every request recorded under its
//!   function; each must be allowed by that function's IAM statements in `template.yaml`,
//!   `dynamodb:LeadingKeys` included.
//! - `loopback`: the local server over real TCP: the 50-way race on both stores, routing, body
//!   limit, curl's form content type, stopping.
//! - `runtime`: the function binaries and a minimal Lambda Runtime API (the `Runtime` transport),
//!   the `$default` function, a bad configuration at cold start.
//! - `model`: a property test of random interleavings of every hold operation by several users
//!   with a controlled clock, on both stores, against a small model of the contract.
//! - `reliability`: each bounded in time: two server processes on one SQLite file (each game
//!   booked once, every 200 kept, no trace of a refusal, `integrity_check` ok), bad input on every
//!   route (a property test: always JSON, never a 5xx), a kill -9 of the local server during a
//!   stream of confirms, DynamoDB Local stopped while creates and confirms are in flight.
//! - `binaries`: where the server and function binaries are (built before `cargo test` by
//!   `scripts/test-binaries`); `processes`: the server and a private DynamoDB Local as child
//!   processes, started and stopped.
//! - `preview`: the schedule preview route, against what publishing then does.
//! - `publication`: a publication on DynamoDB stopped in the middle says so and is completed by
//!   the daily horizon run.
//! - `cursor`: a listing cursor sent back outside its window.
//! - `hostile`: hostile clients against the server binary: headers dripped a byte a second, idle
//!   and surplus connections (`MAX_CONNECTIONS`), bodies over the limit (always a 413, never a
//!   reset), slow bodies (408), handlers past the request deadline (503), and floods of writes
//!   and guessed operator tokens from one address (the rate limits, 429), a schedule over each
//!   limit (422 in under 100 ms) and the room limit under simultaneous creations.
//! - `template`: `template.yaml` against the route table, the crates and the IAM each needs
//!   (item kinds included: `dynamodb:LeadingKeys`).
//! - `operator_tokens_ssm`: the function binaries read the operators' tokens from an SSM
//!   SecureString at cold start (moto's server on loopback); cancel-hold starts without them.
//! - `template_edge`: the template's throttling, concurrency shares, CORS, optional CloudFront +
//!   WAF, the operators' tokens' SSM permissions and the reasons of checkov's skips.
//! - `template_monitoring`: the template's alarms (one per function and queue, the API's 5xx
//!   rate, the table, the daily job), the dashboard, canary deployments and X-Ray.
//! - `guests`: guest mode (`PLAYER_AUTH=guest`) for the contract scenarios: a client that sends
//!   each named player's token; `players`: the players' tokens and `GET /service` — forged,
//!   expired and other players' tokens, identity mismatch, a bearer a route does not accept.
//! - `booking_references`: a booking's reference (unique: a taken one is drawn again), its
//!   manage key's digest and the contact retention job, on both stores.
//! - `manage_link_server`: the manage link on the server's binary: guessed keys spend the
//!   `"auth"` rate limit; neither a contact nor a key reaches the server's log.
//! - `outbox`: booking events written with their changes on both stores (and none for a refused
//!   change), their deliveries fanned out, claimed, retried, paged and forgotten.
//! - `retirement`: a retired room on both stores: the daily run skips it, and holds and confirms
//!   racing its retirement leave nothing live on it.
//! - `transfer`: export and import — a venue SQLite → DynamoDB Local → SQLite unchanged, a second
//!   import writing nothing, a differing record refused unless `replace`.
//! - `webhooks`: signed webhooks through the server's binary on both stores, to a receiver that
//!   verifies each delivery with the `standardwebhooks` library: retries keep the id, 410
//!   disables, a hanging endpoint holds up no other, kill -9 before delivery, SSRF refused.
//! - `deliver_events`: booking events on AWS — the `deliver-events` function's binary on DynamoDB
//!   Local fed the table's real stream records (filtered by the template's pattern, evaluated by
//!   moto) and the minute's tick: signed webhooks verified by `standardwebhooks`, a failed one
//!   retried, the email sent through an SMTP URL read from an SSM SecureString; its template.
//! - `layers`: the import map of `shared/src/lib.rs`, enforced.
//!
//! The whole binary is test code, so a failed `unwrap` is a failed test: allowed here at the root
//! (clippy's `allow-unwrap-in-tests` in `clippy.toml` covers `#[test]` functions and the
//! `#[cfg(test)]` modules of the library crates, not the helpers of an integration binary).
#![allow(clippy::unwrap_used, clippy::expect_used)]
// A scenario is read top to bottom as one story; the 80-line limit is for the service's code.
#![allow(clippy::too_many_lines)]

mod backup;
mod binaries;
mod booking_references;
mod calendar_feed_limits;
mod contract;
mod cursor;
mod deliver_events;
mod dynamodb;
mod dynamodb_caps;
mod dynamodb_iam;
mod dynamodb_local;
mod guests;
mod harness;
mod hostile;
mod layers;
mod loopback;
mod mail;
mod manage_link_server;
mod model;
mod operator_tokens_ssm;
mod ops;
mod outbox;
mod players;
mod preview;
mod processes;
mod publication;
mod reliability;
mod retirement;
mod runtime;
mod sqlite;
mod template;
mod template_edge;
mod template_monitoring;
mod transfer;
mod validation;
mod webhooks;
