//! The route handlers, by resource. Each takes the [`Call`](super::call::Call) it answers and
//! returns its response or an [`Error`](crate::Error), which `App::handle` maps once.

pub mod bookings;
pub mod calendar;
pub mod holds;
pub mod manage;
pub mod players;
pub mod rooms;
pub mod schedules;
pub mod service;
pub mod slots;
pub mod webhooks;

use lambda_http::{Body, Response};

use crate::error::Error;

/// What every handler returns.
pub type Answer = Result<Response<Body>, Error>;
