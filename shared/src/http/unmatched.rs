//! What no route answers: the booking page and the operator's view (GET/HEAD of their paths),
//! 404 `ROUTE_NOT_FOUND` and 405 `METHOD_NOT_ALLOWED`, for the local server's router and for the
//! `$default` route's function alike; and the request's path and id as every answer needs them.

use lambda_http::http::HeaderValue;
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};

use super::response::error_response;
use crate::error::Error;
use crate::route::{self, Matched};

/// The handler of the `unmatched-route` function, bound to the HTTP API's `$default` route:
/// API Gateway sends it every request that no route matches. It serves the pages ([`page`]);
/// everything else it answers as the local server's
/// router does (both read [`route::find`]): 405 `METHOD_NOT_ALLOWED` when the path is a route's
/// with another method, 404 `ROUTE_NOT_FOUND` otherwise, each through [`error_response`]. A
/// request whose method and path do match a route never reaches `$default` on AWS (API Gateway
/// sends it to that route's function); should one arrive anyway, it is answered 404 too: this
/// function serves no route. Needs no store.
pub fn unmatched(request: &Request) -> Response<Body> {
    if let Some(page) = page(request) {
        return page;
    }
    let error = match route::find(request.method().as_str(), route_path(request)) {
        Matched::MethodNotAllowed => Error::MethodNotAllowed,
        Matched::NotFound | Matched::Route(..) => Error::RouteNotFound,
    };
    error_response(error, &request_id(request))
}

/// The booking page or the operator's view ([`crate::pages`]) for a `GET` or `HEAD` of its path:
/// on AWS the `$default` route's function serves them, as the local server does.
pub fn page(request: &Request) -> Option<Response<Body>> {
    let method = request.method();
    if method != lambda_http::http::Method::GET && method != lambda_http::http::Method::HEAD {
        return None;
    }
    let page = crate::pages::find(route_path(request))?;
    let body = if method == lambda_http::http::Method::HEAD {
        Body::Empty
    } else {
        Body::Text(page.body.to_owned())
    };
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    headers.insert(
        lambda_http::http::header::CONTENT_TYPE,
        HeaderValue::from_static(page.content_type),
    );
    for (name, value) in crate::pages::HEADERS {
        headers.insert(*name, HeaderValue::from_static(value));
    }
    Some(response)
}

/// The error of a router miss: 404 for an unknown path, 405 for a known path with another method.
pub fn router_miss(matched: &Matched<'_>) -> Option<Error> {
    match matched {
        Matched::Route(..) => None,
        Matched::NotFound => Some(Error::RouteNotFound),
        Matched::MethodNotAllowed => Some(Error::MethodNotAllowed),
    }
}

/// The request's path as the routes see it: without the API Gateway stage prefix. `lambda_http`
/// keeps `/<stage>` at the front of the URI's path for a named stage (not for `$default`).
pub fn route_path(request: &Request) -> &str {
    let path = request.uri().path();
    let stage = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.stage.as_deref(),
        _ => None,
    };
    match stage {
        Some(stage) if stage != "$default" && !stage.is_empty() => {
            match path.strip_prefix('/').and_then(|p| p.strip_prefix(stage)) {
                Some("") => "/",
                Some(rest) if rest.starts_with('/') => rest,
                _ => path,
            }
        }
        _ => path,
    }
}

/// The id to log a request under: Lambda's, API Gateway's, or the local server's header.
pub fn request_id(request: &Request) -> String {
    if let Some(ctx) = request.lambda_context_ref() {
        return ctx.request_id.clone();
    }
    if let Some(RequestContext::ApiGatewayV2(ctx)) = request.request_context_ref()
        && let Some(id) = &ctx.request_id
    {
        return id.clone();
    }
    request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-")
        .to_owned()
}
