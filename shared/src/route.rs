//! The route table: every route of the API, its method, its path template and the Lambda function
//! that serves it, written down once. The local server's router, the `$default` function's 404/405
//! answers, the tests' API Gateway events, the template test and the `cargo lambda watch` router
//! check all read [`ROUTES`]. Adding a route is one entry here, its handler (the `match` in
//! `http::App::handle` is exhaustive), its crate under `functions/` and its resource in
//! `template.yaml`; the template test fails when one of those is missing.
//!
//! A leaf: it imports nothing from the rest of the crate.

/// One route of the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Route {
    /// `GET /slots?room_id=…[&user_id=…]`
    ListSlots,
    /// `POST /holds`
    CreateHold,
    /// `POST /holds/{hold_id}/confirm`
    ConfirmHold,
    /// `POST /holds/{hold_id}/release`
    ReleaseHold,
    /// `POST /holds/{hold_id}/extend`
    ExtendHold,
    /// `POST /holds/{hold_id}/cancel`
    CancelHold,
    /// `GET /holds/{hold_id}?user_id=…`
    GetHold,
    /// `GET /users/{user_id}/holds`
    ListUserHolds,
    /// `GET /rooms`
    ListRooms,
    /// `GET /rooms/{room_id}`
    GetRoom,
    /// `PUT /rooms/{room_id}` (operator)
    PutRoom,
    /// `GET /rooms/{room_id}/schedule`
    GetSchedule,
    /// `PUT /rooms/{room_id}/schedule` (operator)
    PutSchedule,
    /// `GET /rooms/{room_id}/bookings` (operator): the day sheet
    ListRoomBookings,
}

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

/// Every route of the API.
pub const ROUTES: &[RouteSpec] = &[
    RouteSpec {
        route: Route::ListSlots,
        method: "GET",
        path: "/slots",
        function: "list-slots",
    },
    RouteSpec {
        route: Route::CreateHold,
        method: "POST",
        path: "/holds",
        function: "create-hold",
    },
    RouteSpec {
        route: Route::ConfirmHold,
        method: "POST",
        path: "/holds/{hold_id}/confirm",
        function: "confirm-hold",
    },
    RouteSpec {
        route: Route::ReleaseHold,
        method: "POST",
        path: "/holds/{hold_id}/release",
        function: "release-hold",
    },
    RouteSpec {
        route: Route::ExtendHold,
        method: "POST",
        path: "/holds/{hold_id}/extend",
        function: "extend-hold",
    },
    RouteSpec {
        route: Route::CancelHold,
        method: "POST",
        path: "/holds/{hold_id}/cancel",
        function: "cancel-hold",
    },
    RouteSpec {
        route: Route::GetHold,
        method: "GET",
        path: "/holds/{hold_id}",
        function: "get-hold",
    },
    RouteSpec {
        route: Route::ListUserHolds,
        method: "GET",
        path: "/users/{user_id}/holds",
        function: "list-user-holds",
    },
    RouteSpec {
        route: Route::ListRooms,
        method: "GET",
        path: "/rooms",
        function: "list-rooms",
    },
    RouteSpec {
        route: Route::GetRoom,
        method: "GET",
        path: "/rooms/{room_id}",
        function: "get-room",
    },
    RouteSpec {
        route: Route::PutRoom,
        method: "PUT",
        path: "/rooms/{room_id}",
        function: "put-room",
    },
    RouteSpec {
        route: Route::GetSchedule,
        method: "GET",
        path: "/rooms/{room_id}/schedule",
        function: "get-schedule",
    },
    RouteSpec {
        route: Route::PutSchedule,
        method: "PUT",
        path: "/rooms/{room_id}/schedule",
        function: "put-schedule",
    },
    RouteSpec {
        route: Route::ListRoomBookings,
        method: "GET",
        path: "/rooms/{room_id}/bookings",
        function: "list-room-bookings",
    },
];

/// Every route, for tests that must cover each (the `match` fails to compile when one is added
/// without being listed).
pub const ALL: [Route; 14] = {
    let all = [
        Route::ListSlots,
        Route::CreateHold,
        Route::ConfirmHold,
        Route::ReleaseHold,
        Route::ExtendHold,
        Route::CancelHold,
        Route::GetHold,
        Route::ListUserHolds,
        Route::ListRooms,
        Route::GetRoom,
        Route::PutRoom,
        Route::GetSchedule,
        Route::PutSchedule,
        Route::ListRoomBookings,
    ];
    // Exhaustive: a new variant must be added to `all` above.
    match all[0] {
        Route::ListSlots
        | Route::CreateHold
        | Route::ConfirmHold
        | Route::ReleaseHold
        | Route::ExtendHold
        | Route::CancelHold
        | Route::GetHold
        | Route::ListUserHolds
        | Route::ListRooms
        | Route::GetRoom
        | Route::PutRoom
        | Route::GetSchedule
        | Route::PutSchedule
        | Route::ListRoomBookings => {}
    }
    all
};

/// Functions that serve no route: they run on a schedule (an EventBridge rule in the template).
/// `extend-horizon` moves every scheduled room's horizon daily (`App::extend_horizons`).
pub const SCHEDULED_FUNCTIONS: &[&str] = &["extend-horizon"];

/// The function bound to API Gateway's `$default` route: it answers every request no route of
/// [`ROUTES`] matches (404 or 405 as JSON).
pub const DEFAULT_ROUTE_FUNCTION: &str = "unmatched-route";

impl Route {
    /// This route's entry in [`ROUTES`].
    pub fn spec(self) -> &'static RouteSpec {
        // Every variant has an entry (a unit test checks it); the first entry is never reached.
        ROUTES
            .iter()
            .find(|spec| spec.route == self)
            .unwrap_or(&ROUTES[0])
    }
}

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
        for route in ALL {
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
