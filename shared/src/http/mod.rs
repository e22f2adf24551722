//! The HTTP side: `lambda_http::Request` in, `Response` out. Each Lambda function serves one
//! [`Route`]; the local server finds the route in the route table and calls the same
//! [`App::handle`]. The `unmatched-route` function (API Gateway's `$default` route) answers the
//! rest with [`unmatched`]. Parsing, validation, identity and the error → response map live here
//! once:
//!
//! - [`handlers`]: one file per resource (slots, holds, rooms, schedules, bookings, players,
//!   the service's description);
//! - [`call`]: the request being answered, with its readers; [`extract`]: path, query, body and
//!   header values; [`identity`]: players and operators; [`cursor`]: a listing's `next_cursor`;
//! - [`views`]: the answers' JSON shapes; [`response`]: `Error` → status + JSON, the one place;
//! - [`unmatched`]: the pages, 404 and 405; [`metrics`]: what is recorded of each answer.

pub mod call;
pub mod cursor;
pub mod extract;
pub mod handlers;
pub mod identity;
pub mod metrics;
pub mod response;
pub mod unmatched;
pub mod views;

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use chrono::Duration;
use lambda_http::{Body, Request, Response};

use crate::clock::Clock;
use crate::config::{BookingSettings, Bounds, Caps, Operators, Players, WebhookSettings};
pub use crate::route::Route;
use crate::store::Store;
use call::Call;
pub use extract::{DEFAULT_PAGE_SIZE, MAX_BODY_BYTES, MAX_IDEMPOTENCY_KEY_LEN, MAX_PAGE_SIZE};
pub use handlers::bookings::MAX_SHEET_DAYS;
pub use handlers::holds::MAX_REASON_LEN;
use handlers::{
    bookings, calendar, holds, manage, players, rooms, schedules, service, slots, webhooks,
};
pub use response::{error_response, json_response};
pub use unmatched::{page, request_id, router_miss, unmatched};

/// What every handler needs: the store, the clock, the hold length, the cancellation cut-off
/// and who the operators are. Built once at cold start.
#[derive(Clone)]
pub struct App {
    pub store: Arc<dyn Store>,
    pub clock: Clock,
    pub hold_ttl: Duration,
    /// How long before a slot's start a booking can no longer be cancelled.
    pub cancel_cutoff: Duration,
    /// Who may use the operator routes.
    pub operators: Operators,
    /// The bounds on one request's work (a schedule's size, the number of rooms).
    pub bounds: Bounds,
    /// The per-player caps on live holds and upcoming bookings (see [`Caps`]).
    pub caps: Caps,
    /// How players are identified (`PLAYER_AUTH`) and their tokens' keys (see [`Players`]).
    pub players: Players,
    /// The manage link's base and how long contacts are kept (see [`BookingSettings`]).
    pub bookings: BookingSettings,
    /// The webhooks' cap and whether `http` and private addresses are allowed.
    pub webhooks: WebhookSettings,
    /// Booking emails (`SMTP_URL`, `MAIL_FROM`): the local server's drainer sends them through
    /// the outbox's email channel; `None`: no emails.
    pub mail: Option<crate::config::MailSettings>,
    /// Rung after an answer whose change wrote a booking event (a confirm, a cancellation, a
    /// retirement), once it committed: the local server's drainer, waiting between looks, looks
    /// at once. Nobody listens in a Lambda function (a stored permit, nothing more).
    pub outbox_bell: Arc<tokio::sync::Notify>,
}

/// A handler's answer in the making, boxed: each route's handler has a future of its own type.
pub type Pending<'c> = Pin<Box<dyn Future<Output = handlers::Answer> + Send + 'c>>;

/// A route's handler: what [`App::handle`] runs once the request's credentials are settled.
pub type Handler = for<'c> fn(&'c Call<'c>) -> Pending<'c>;

/// A route with its handler, what [`App::handle`] answers. A Lambda function names its route in a
/// `const` block (`app.handle(const { Endpoint::of(Route::GetRoom) }, request)`), so its binary
/// refers to its own handler only and the linker leaves the other routes' handlers, and the
/// crates only they use, out of its zip; the local server makes one from the route it matched.
#[derive(Clone, Copy)]
pub struct Endpoint {
    route: Route,
    handler: Handler,
}

impl Endpoint {
    pub const fn of(route: Route) -> Self {
        Self {
            route,
            handler: handler(route),
        }
    }
}

/// Each route's handler: one arm per row of the route table, so a route without a handler does
/// not compile.
const fn handler(route: Route) -> Handler {
    match route {
        Route::ListSlots => |c| Box::pin(slots::list(c)),
        Route::CreateHold => |c| Box::pin(holds::create(c)),
        Route::ConfirmHold => |c| Box::pin(holds::confirm(c)),
        Route::ReleaseHold => |c| Box::pin(holds::release(c)),
        Route::ExtendHold => |c| Box::pin(holds::extend(c)),
        Route::CancelHold => |c| Box::pin(holds::cancel(c)),
        Route::GetHold => |c| Box::pin(holds::get(c)),
        Route::ListUserHolds => |c| Box::pin(holds::list_user(c)),
        Route::ListRooms => |c| Box::pin(rooms::list(c)),
        Route::GetRoom => |c| Box::pin(rooms::get(c)),
        Route::PutRoom => |c| Box::pin(rooms::put(c)),
        Route::RetireRoom => |c| Box::pin(rooms::retire(c)),
        Route::GetSchedule => |c| Box::pin(schedules::get(c)),
        Route::PutSchedule => |c| Box::pin(schedules::put(c)),
        Route::PreviewSchedule => |c| Box::pin(schedules::preview(c)),
        Route::ListRoomBookings => |c| Box::pin(bookings::day_sheet(c)),
        Route::CreatePlayer => |c| Box::pin(std::future::ready(players::create(c))),
        Route::GetService => |c| Box::pin(std::future::ready(service::get(c))),
        Route::GetBooking => |c| Box::pin(manage::get(c)),
        Route::CancelBooking => |c| Box::pin(manage::cancel(c)),
        Route::GetBookingCalendar => |c| Box::pin(calendar::booking_ics(c)),
        Route::GetCalendarFeed => |c| Box::pin(calendar::feed_status(c)),
        Route::RotateCalendarFeed => |c| Box::pin(calendar::rotate_feed(c)),
        Route::GetRoomCalendar => |c| Box::pin(calendar::room_feed(c)),
        Route::CreateWebhook => |c| Box::pin(webhooks::create(c)),
        Route::ListWebhooks => |c| Box::pin(webhooks::list(c)),
        Route::DeleteWebhook => |c| Box::pin(webhooks::delete(c)),
        Route::ListWebhookDeliveries => |c| Box::pin(webhooks::deliveries(c)),
        Route::EnableWebhook => |c| Box::pin(webhooks::enable(c)),
    }
}

/// Whether a successful answer of `route` may have written a booking event into the outbox.
fn writes_events(route: Route) -> bool {
    matches!(
        route,
        Route::ConfirmHold | Route::CancelHold | Route::CancelBooking | Route::RetireRoom
    )
}

impl App {
    pub fn new(store: Arc<dyn Store>, clock: Clock, hold_ttl: Duration) -> Self {
        Self {
            store,
            clock,
            hold_ttl,
            cancel_cutoff: Duration::zero(),
            operators: Operators::default(),
            bounds: Bounds::default(),
            caps: Caps::default(),
            players: Players::default(),
            bookings: BookingSettings::default(),
            webhooks: WebhookSettings::default(),
            mail: None,
            outbox_bell: Arc::new(tokio::sync::Notify::new()),
        }
    }

    /// The same app with booking emails (see [`crate::config::MailSettings`]).
    pub fn with_mail(mut self, mail: Option<crate::config::MailSettings>) -> Self {
        self.mail = mail;
        self
    }

    /// The same app with other booking settings (see [`BookingSettings`]).
    pub fn with_bookings(mut self, bookings: BookingSettings) -> Self {
        self.bookings = bookings;
        self
    }

    /// The same app with other webhook settings (see [`WebhookSettings`]).
    pub fn with_webhooks(mut self, webhooks: WebhookSettings) -> Self {
        self.webhooks = webhooks;
        self
    }

    /// The same app with other per-player caps (see [`Caps`]; `Caps::OFF` for none).
    pub fn with_caps(mut self, caps: Caps) -> Self {
        self.caps = caps;
        self
    }

    /// The same app with its players' mode and token keys (see [`Players`]).
    pub fn with_players(mut self, players: Players) -> Self {
        self.players = players;
        self
    }

    /// The same app with other bounds on a request's work (see [`Bounds`]).
    pub fn with_bounds(mut self, bounds: Bounds) -> Self {
        self.bounds = bounds;
        self
    }

    /// The bounds a schedule is held to, as the schedule's validation takes them.
    pub fn schedule_limits(&self) -> crate::schedule::Limits {
        crate::schedule::Limits {
            starts_per_day: self.bounds.starts_per_day,
            weekly_entries: self.bounds.weekly_entries,
            closures: self.bounds.closures,
            reason_chars: self.bounds.reason_chars,
            planned_slots: self.bounds.planned_slots,
        }
    }

    /// The same app with its operators (see [`Operators`]).
    pub fn with_operators(mut self, operators: Operators) -> Self {
        self.operators = operators;
        self
    }

    /// The same app with a cancellation cut-off.
    pub fn with_cancel_cutoff(mut self, cutoff: Duration) -> Self {
        self.cancel_cutoff = cutoff;
        self
    }

    /// Answers one request for `endpoint`'s route. Never fails: every error becomes its response
    /// here, in one place, and every answer is recorded here ([`metrics::record`]). The `Result`
    /// is the shape `lambda_http::service_fn` wants.
    pub async fn handle(
        &self,
        endpoint: Endpoint,
        request: Request,
    ) -> Result<Response<Body>, Infallible> {
        let started = std::time::Instant::now();
        let route = endpoint.route;
        let (result, operator) = self.dispatch(endpoint, &request).await;
        let (response, code) = match result {
            Ok(response) => (response, None),
            Err(err) => {
                let code = response::status_and_code(&err).1;
                (error_response(err, &request_id(&request)), Some(code))
            }
        };
        metrics::record(&metrics::Answered {
            route,
            status: response.status().as_u16(),
            code,
            operator,
            elapsed: started.elapsed(),
        });
        if response.status().is_success() && writes_events(route) {
            self.outbox_bell.notify_one();
        }
        Ok(response)
    }

    /// The route's handler, after the request's credentials are settled; with whether the
    /// caller presented an operator's token.
    async fn dispatch(
        &self,
        endpoint: Endpoint,
        request: &Request,
    ) -> (Result<Response<Body>, crate::Error>, bool) {
        let route = endpoint.route;
        let now = self.clock.now();
        let credential = identity::credential(request, route, &self.operators, &self.players, now);
        let credential = match credential {
            Ok(credential) => credential,
            Err(err) => return (Err(err), false),
        };
        let operator = matches!(credential, identity::Credential::Operator(_));
        let call = Call {
            app: self,
            request,
            route,
            now,
            credential,
        };
        let result = (endpoint.handler)(&call).await;
        (result, operator)
    }
}
