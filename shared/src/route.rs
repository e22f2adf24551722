//! The route table: every route of the API, its method, its path template and the Lambda function
//! that serves it, written down once, as one row of [`routes!`] below. From that table follow the
//! [`Route`] enum, [`ROUTES`] (which the local server's router, the `$default` function's 404/405
//! answers, the tests' API Gateway events, the template and OpenAPI tests and the benchmarks read),
//! [`ALL`] and [`Route::spec`]. Adding a route is one row here, its handler (the `match` in
//! `http::handler` is exhaustive, so the build fails without one), its crate under
//! `functions/`, its resource in `template.yaml` and its path in `openapi.yaml`; the template
//! test fails when one of those is missing. `docs/architecture.md` ("Adding a route") lists each
//! file.
//!
//! A leaf: it imports nothing from the rest of the crate.

/// A route as API Gateway and the local router see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteSpec {
    pub route: Route,
    /// The HTTP method, upper case.
    pub method: &'static str,
    /// The path template, with `{name}` for a path parameter (API Gateway's syntax).
    pub path: &'static str,
    /// The crate under `functions/` (and the binary) that serves the route on Lambda.
    pub function: &'static str,
}

/// Writes the table's rows into the enum, the list of specs, the list of routes and `spec()`.
macro_rules! routes {
    ($( $(#[$doc:meta])* $route:ident: $method:ident $path:literal => $function:literal, )+) => {
        /// One route of the API: a row of the table below.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Route {
            $( $(#[$doc])* $route, )+
        }

        /// Every route of the API, in the table's order.
        pub const ROUTES: &[RouteSpec] = &[$(
            RouteSpec { route: Route::$route, method: stringify!($method), path: $path, function: $function },
        )+];

        /// Every route, for tests that must cover each.
        pub const ALL: &[Route] = &[$( Route::$route, )+];

        impl Route {
            /// This route's row of the table.
            pub const fn spec(self) -> &'static RouteSpec {
                match self {$(
                    Route::$route => &RouteSpec {
                        route: Route::$route,
                        method: stringify!($method),
                        path: $path,
                        function: $function,
                    },
                )+}
            }
        }
    };
}

routes! {
    /// `GET /slots?room_id=…[&user_id=…]`: a room's slots, paged.
    ListSlots: GET "/slots" => "list-slots",
    /// `POST /holds`: hold a slot for a few minutes.
    CreateHold: POST "/holds" => "create-hold",
    /// `POST /holds/{hold_id}/confirm`: the hold becomes a booking.
    ConfirmHold: POST "/holds/{hold_id}/confirm" => "confirm-hold",
    /// `POST /holds/{hold_id}/release`: give the slot back.
    ReleaseHold: POST "/holds/{hold_id}/release" => "release-hold",
    /// `POST /holds/{hold_id}/extend`: more time, once.
    ExtendHold: POST "/holds/{hold_id}/extend" => "extend-hold",
    /// `POST /holds/{hold_id}/cancel`: a player or an operator cancels a booking.
    CancelHold: POST "/holds/{hold_id}/cancel" => "cancel-hold",
    /// `GET /holds/{hold_id}?user_id=…`: one hold.
    GetHold: GET "/holds/{hold_id}" => "get-hold",
    /// `GET /users/{user_id}/holds`: a player's live holds and bookings.
    ListUserHolds: GET "/users/{user_id}/holds" => "list-user-holds",
    /// `GET /rooms`: every room.
    ListRooms: GET "/rooms" => "list-rooms",
    /// `GET /rooms/{room_id}`: one room and its rules.
    GetRoom: GET "/rooms/{room_id}" => "get-room",
    /// `PUT /rooms/{room_id}` (operator): create or replace a room.
    PutRoom: PUT "/rooms/{room_id}" => "put-room",
    /// `DELETE /rooms/{room_id}` (operator): retire a room (archived: gone from the listings, no
    /// new slots or holds); its upcoming bookings are cancelled only with `cancel_bookings=true`.
    RetireRoom: DELETE "/rooms/{room_id}" => "retire-room",
    /// `GET /rooms/{room_id}/schedule`: the room's weekly schedule.
    GetSchedule: GET "/rooms/{room_id}/schedule" => "get-schedule",
    /// `PUT /rooms/{room_id}/schedule` (operator): publish a weekly schedule.
    PutSchedule: PUT "/rooms/{room_id}/schedule" => "put-schedule",
    /// `POST /rooms/{room_id}/schedule/preview` (operator): what publishing would change.
    PreviewSchedule: POST "/rooms/{room_id}/schedule/preview" => "preview-schedule",
    /// `GET /rooms/{room_id}/bookings` (operator): the day sheet.
    ListRoomBookings: GET "/rooms/{room_id}/bookings" => "list-room-bookings",
    /// `POST /players` (`guest` mode): a new player id and its signed token.
    CreatePlayer: POST "/players" => "create-player",
    /// `GET /service`: what a client needs to know (how players are identified, the hold's
    /// length, the per-player caps).
    GetService: GET "/service" => "get-service",
    /// `GET /bookings/{reference}` (the booking's manage key as the bearer): one booking.
    GetBooking: GET "/bookings/{reference}" => "get-booking",
    /// `POST /bookings/{reference}/cancel` (the booking's manage key as the bearer): cancel it
    /// by the player's rules.
    CancelBooking: POST "/bookings/{reference}/cancel" => "cancel-booking",
    /// `GET /bookings/{reference}/booking.ics` (the booking's manage key as the bearer): the
    /// booking as a calendar file (RFC 5545).
    GetBookingCalendar: GET "/bookings/{reference}/booking.ics" => "get-booking-calendar",
    /// `GET /rooms/{room_id}/calendar-feed` (operator): whether the room's staff calendar feed
    /// is on, and since when (its key is never shown again).
    GetCalendarFeed: GET "/rooms/{room_id}/calendar-feed" => "get-calendar-feed",
    /// `POST /rooms/{room_id}/calendar-feed/rotate` (operator): a new feed key (the old one
    /// stops working), and the feed's URL with it, shown once.
    RotateCalendarFeed: POST "/rooms/{room_id}/calendar-feed/rotate" => "rotate-calendar-feed",
    /// `GET /rooms/{room_id}/calendar.ics?key=…` (the feed's key, no other credential): the
    /// room's upcoming bookings as a calendar feed for its staff.
    GetRoomCalendar: GET "/rooms/{room_id}/calendar.ics" => "get-room-calendar",
    /// `POST /webhooks` (operator): register an endpoint for booking events.
    CreateWebhook: POST "/webhooks" => "create-webhook",
    /// `GET /webhooks` (operator): the endpoints, paged (no secrets).
    ListWebhooks: GET "/webhooks" => "list-webhooks",
    /// `DELETE /webhooks/{webhook_id}` (operator): remove an endpoint.
    DeleteWebhook: DELETE "/webhooks/{webhook_id}" => "delete-webhook",
    /// `GET /webhooks/{webhook_id}/deliveries` (operator): an endpoint's deliveries, newest first.
    ListWebhookDeliveries: GET "/webhooks/{webhook_id}/deliveries" => "list-webhook-deliveries",
    /// `POST /webhooks/{webhook_id}/enable` (operator): an endpoint disabled by a `410 Gone`
    /// takes deliveries again.
    EnableWebhook: POST "/webhooks/{webhook_id}/enable" => "enable-webhook",
}

/// Functions that serve no route: they run on a schedule (an EventBridge rule in the template).
/// `extend-horizon` moves every scheduled room's horizon daily (`horizon::extend_horizons`).
pub const SCHEDULED_FUNCTIONS: &[&str] = &["extend-horizon"];

/// Functions fed by the table's stream (an event source mapping in the template) and a schedule:
/// `deliver-events` fans out each new booking event and delivers it (webhooks, emails), and every
/// minute retries the deliveries whose time has come (`delivery::invocation`).
pub const STREAM_FUNCTIONS: &[&str] = &["deliver-events"];

/// The function bound to API Gateway's `$default` route: it answers every request no route of
/// [`ROUTES`] matches (404 or 405 as JSON).
pub const DEFAULT_ROUTE_FUNCTION: &str = "unmatched-route";

/// What the router made of a method and path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Matched<'p> {
    /// A route, with its path parameters (name, value) in template order.
    Route(Route, Vec<(&'static str, &'p str)>),
    /// No route has this path.
    NotFound,
    /// A route has this path, with another method.
    MethodNotAllowed,
}

impl RouteSpec {
    /// The path parameters of `path` if it fits this route's template.
    pub fn params<'p>(&self, path: &'p str) -> Option<Vec<(&'static str, &'p str)>> {
        let mut template = self.path.trim_matches('/').split('/');
        let mut actual = path.trim_matches('/').split('/');
        let mut params = Vec::new();
        loop {
            match (template.next(), actual.next()) {
                (None, None) => return Some(params),
                (Some(t), Some(a)) => match t.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
                    Some(name) => params.push((name, a)),
                    None if t == a => {}
                    None => return None,
                },
                _ => return None,
            }
        }
    }
}

/// Finds the route of `method` and `path` (without any stage prefix): 404 when no template fits
/// the path, 405 when one fits with another method.
pub fn find<'p>(method: &str, path: &'p str) -> Matched<'p> {
    let mut path_known = false;
    for spec in ROUTES {
        if let Some(params) = spec.params(path) {
            if spec.method.eq_ignore_ascii_case(method) {
                return Matched::Route(spec.route, params);
            }
            path_known = true;
        }
    }
    if path_known {
        Matched::MethodNotAllowed
    } else {
        Matched::NotFound
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_has_exactly_one_entry_and_one_function() {
        assert_eq!(ROUTES.len(), ALL.len());
        for &route in ALL {
            assert_eq!(ROUTES.iter().filter(|s| s.route == route).count(), 1);
            assert_eq!(route.spec().route, route);
        }
        let mut functions: Vec<_> = ROUTES.iter().map(|s| s.function).collect();
        functions.sort_unstable();
        functions.dedup();
        assert_eq!(functions.len(), ROUTES.len());
    }

    #[test]
    fn paths_are_matched_against_templates_with_their_parameters() {
        assert_eq!(
            find("POST", "/holds/abc/confirm"),
            Matched::Route(Route::ConfirmHold, vec![("hold_id", "abc")])
        );
        assert_eq!(
            find("GET", "/slots"),
            Matched::Route(Route::ListSlots, vec![])
        );
        assert_eq!(
            find("GET", "/slots/"),
            Matched::Route(Route::ListSlots, vec![])
        );
        assert_eq!(find("POST", "/slots"), Matched::MethodNotAllowed);
        assert_eq!(find("GET", "/holds/abc/release"), Matched::MethodNotAllowed);
        // An empty id is still the route; the handler refuses it (422), as any malformed id.
        assert_eq!(
            find("POST", "/holds//confirm"),
            Matched::Route(Route::ConfirmHold, vec![("hold_id", "")])
        );
        assert_eq!(find("POST", "/holds/abc/confirm/x"), Matched::NotFound);
        assert_eq!(find("GET", "/nope"), Matched::NotFound);
        assert_eq!(
            find("GET", "/holds/abc"),
            Matched::Route(Route::GetHold, vec![("hold_id", "abc")])
        );
        assert_eq!(
            find("GET", "/users/u-1/holds"),
            Matched::Route(Route::ListUserHolds, vec![("user_id", "u-1")])
        );
        assert_eq!(find("DELETE", "/holds/abc"), Matched::MethodNotAllowed);
    }
}
