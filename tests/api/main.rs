//! One integration-test binary for the whole API (one link step, shared helpers).
//!
//! - `contract`: every seed scenario and contract rule, run against every store.
//! - `validation`: the contract's error table through the handlers with API Gateway v2 events.
//! - `dynamodb`: what only the DynamoDB store has: the 50-way race on DynamoDB Local, one
//!   request per operation, 503 when the store is unreachable. (`dynamodb_local` runs it.)
//! - `loopback`: the local server over real TCP: routing, body limit, the 50-way race.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod contract;
mod dynamodb;
mod dynamodb_local;
mod helpers;
mod loopback;
mod runtime;
mod template;
mod validation;
