//! The booking page for players (`/`), a booking's manage page (`/booking/{reference}`, the
//! manage link) and the operator's view (`/operator`): static files in
//! `shared/assets/web/` (each page's script, and `common.js`, which both load first), embedded in
//! every binary that serves them — the local server, and on AWS the `unmatched-route` function
//! behind the HTTP API's `$default` route, so a deployment needs no other hosting. The pages talk
//! only to the public API (`openapi.yaml` is their contract).
//!
//! A leaf: it imports nothing from the rest of the crate.

/// One embedded file: its content type and its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub content_type: &'static str,
    pub body: &'static str,
}

const HTML: &str = "text/html; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";

/// Every page path and its file.
pub const PAGES: &[(&str, Page)] = &[
    (
        "/",
        Page {
            content_type: HTML,
            body: include_str!("../assets/web/index.html"),
        },
    ),
    (
        "/app.css",
        Page {
            content_type: CSS,
            body: include_str!("../assets/web/app.css"),
        },
    ),
    (
        "/common.js",
        Page {
            content_type: JS,
            body: include_str!("../assets/web/common.js"),
        },
    ),
    (
        "/app.js",
        Page {
            content_type: JS,
            body: include_str!("../assets/web/app.js"),
        },
    ),
    (
        "/operator",
        Page {
            content_type: HTML,
            body: include_str!("../assets/web/operator.html"),
        },
    ),
    (
        "/booking",
        Page {
            content_type: HTML,
            body: include_str!("../assets/web/booking.html"),
        },
    ),
    (
        "/booking.js",
        Page {
            content_type: JS,
            body: include_str!("../assets/web/booking.js"),
        },
    ),
    (
        "/operator.js",
        Page {
            content_type: JS,
            body: include_str!("../assets/web/operator.js"),
        },
    ),
];

/// The page at `path` (answered to `GET` and `HEAD` only), if there is one. A manage link's
/// `/booking/{reference}` is the booking page (which reads the reference from its own path).
pub fn find(path: &str) -> Option<Page> {
    let path = match path {
        "/index.html" => "/",
        "/operator/" | "/operator.html" => "/operator",
        other => match other.strip_prefix("/booking/") {
            Some(reference) if !reference.is_empty() && !reference.contains('/') => "/booking",
            _ => other,
        },
    };
    PAGES
        .iter()
        .find(|(p, _)| *p == path)
        .map(|(_, page)| *page)
}

/// The headers every page is sent with: no caching surprises across deployments (`no-cache`
/// revalidates), and a content security policy that allows nothing but this origin — the pages
/// load no script, style or font from anywhere else, and call only this API.
pub const HEADERS: &[(&str, &str)] = &[
    ("cache-control", "no-cache"),
    (
        "content-security-policy",
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    ),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_page_is_found_at_its_path_and_nothing_else_is() {
        for (path, page) in PAGES {
            assert_eq!(find(path), Some(*page), "{path}");
            assert!(!page.body.is_empty(), "{path} is empty");
        }
        assert_eq!(find("/index.html"), find("/"));
        assert_eq!(find("/operator/"), find("/operator"));
        assert_eq!(find("/booking/7K3QX9MD2P"), find("/booking"));
        assert_eq!(find("/booking/7K3QX9MD2P/x"), None);
        assert_eq!(find("/bookings/7K3QX9MD2P"), None);
        assert_eq!(find("/slots"), None);
        assert_eq!(find("/app.js.map"), None);
    }

    #[test]
    fn every_script_and_style_sheet_a_page_loads_is_served() {
        let mut loaded = Vec::new();
        for (path, page) in PAGES.iter().filter(|(_, p)| p.content_type == HTML) {
            for attr in ["src=\"", "href=\""] {
                for rest in page.body.split(attr).skip(1) {
                    let target = rest.split('"').next().unwrap_or_default();
                    if target.starts_with('/') && !target.starts_with("//") {
                        assert!(find(target).is_some(), "{path} loads {target}, not served");
                        loaded.push(target);
                    }
                }
            }
        }
        for asset in ["/common.js", "/app.js", "/operator.js", "/app.css"] {
            assert!(loaded.contains(&asset), "no page loads {asset}");
        }
    }

    #[test]
    fn both_pages_load_the_shared_script_before_their_own() {
        for (page, own) in [("/", "/app.js"), ("/operator", "/operator.js")] {
            let body = find(page).map(|p| p.body).unwrap_or_default();
            let common = body.find("src=\"/common.js\"");
            let script = body.find(&format!("src=\"{own}\""));
            assert!(
                matches!((common, script), (Some(c), Some(s)) if c < s),
                "{page} must load /common.js before {own}"
            );
        }
    }

    #[test]
    fn the_pages_load_nothing_from_outside_the_origin() {
        for (path, page) in PAGES {
            for outside in ["http://", "https://", "//cdn", "@import"] {
                assert!(
                    !page.body.contains(outside),
                    "{path} refers outside the origin: {outside}"
                );
            }
        }
    }
}
