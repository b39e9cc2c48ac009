//! Routing: method and path to an endpoint, or to the 4xx that says why not.
//!
//! Routing is total: every request, however odd, maps to exactly one [`Dispatch`], and the
//! caller turns each into a defined status code. Property tests in `serve` hold it to that.

use crate::request::{MAX_CONDITIONAL_BYTES, MAX_TARGET_BYTES, RequestHead};

/// The methods every endpoint allows, as sent in `Allow` and in CORS preflight answers.
pub const ALLOW: &str = "GET, HEAD, OPTIONS";

/// An endpoint of the reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// `/server/status`: the document plus `_cache`.
    Status,
    /// `/server/status/debug`: what the reader sees, for operators.
    Debug,
    /// `/health`: ok/stale/error for monitors and load balancers.
    Health,
    /// `/server/status/badge.svg`: the state as a shields-style SVG badge.
    Badge,
    /// `/server/status/shields.json`: the state in shields.io's endpoint schema.
    Shields,
    /// `/server/status/widget.js`: the `<server-status>` Web Component.
    WidgetJs,
    /// `/server/status/widget`: a demo page with the snippet to copy.
    WidgetPage,
    /// `/server/status/simple`: the vouched state as one word, 200 only when online (for
    /// uptime monitors that read nothing but the status code).
    Simple,
    /// `/server/status/openapi.json`: the contract of every endpoint (OpenAPI 3.1).
    OpenApi,
    /// `/server/status/history`: uptime, incidents and the bucket series.
    History,
}

impl Route {
    /// The endpoint at `path`, matched exactly (no trailing slash, no decoding): the routes
    /// are fixed strings, so anything else is a client mistake and gets a clear 404.
    pub fn from_path(path: &str) -> Option<Route> {
        match path {
            "/server/status" => Some(Route::Status),
            "/server/status/debug" => Some(Route::Debug),
            "/health" => Some(Route::Health),
            "/server/status/badge.svg" => Some(Route::Badge),
            "/server/status/shields.json" => Some(Route::Shields),
            "/server/status/widget.js" => Some(Route::WidgetJs),
            "/server/status/widget" => Some(Route::WidgetPage),
            "/server/status/simple" => Some(Route::Simple),
            "/server/status/openapi.json" => Some(Route::OpenApi),
            "/server/status/history" => Some(Route::History),
            _ => None,
        }
    }
}

/// What to do with a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dispatch {
    /// `GET` or `HEAD`: both are answered alike; [`crate::serve::handle`] drops the body of
    /// every answer to a `HEAD` ([`RequestHead::is_head`]), whatever its status.
    Serve { route: Route },
    /// `OPTIONS` on an endpoint: CORS preflight / capability answer, 204.
    Preflight,
    /// Any other method on an endpoint: 405 with `Allow`.
    MethodNotAllowed,
    /// No such endpoint: 404.
    NotFound,
    /// Request target over [`MAX_TARGET_BYTES`]: 414.
    UriTooLong,
    /// Inspected header values over [`MAX_CONDITIONAL_BYTES`]: 431.
    HeadersTooLarge,
}

/// Routes a request. Never panics, whatever the method, target or headers.
pub fn dispatch(req: &RequestHead) -> Dispatch {
    if req.path_with_query.len() > MAX_TARGET_BYTES {
        return Dispatch::UriTooLong;
    }
    if req.header_bytes() > MAX_CONDITIONAL_BYTES {
        return Dispatch::HeadersTooLarge;
    }
    let Some(route) = Route::from_path(req.path()) else {
        return Dispatch::NotFound;
    };
    match req.method.as_str() {
        "GET" | "HEAD" => Dispatch::Serve { route },
        "OPTIONS" => Dispatch::Preflight,
        _ => Dispatch::MethodNotAllowed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(method: &str, target: &str) -> Dispatch {
        dispatch(&RequestHead::new(method, target))
    }

    #[test]
    fn endpoints() {
        let serve = |route| Dispatch::Serve { route };
        assert_eq!(d("GET", "/server/status"), serve(Route::Status));
        assert_eq!(d("HEAD", "/server/status"), serve(Route::Status));
        assert_eq!(d("GET", "/server/status?v=2"), serve(Route::Status));
        assert_eq!(d("GET", "/server/status/debug"), serve(Route::Debug));
        assert_eq!(d("GET", "/health"), serve(Route::Health));
        assert_eq!(d("HEAD", "/health"), serve(Route::Health));
        assert!(RequestHead::new("HEAD", "/health").is_head());
        assert!(!RequestHead::new("GET", "/health").is_head());
        assert!(!RequestHead::new("head", "/health").is_head());
        let badge = "/server/status/badge.svg?style=flat&label=x";
        assert_eq!(d("GET", badge), serve(Route::Badge));
        assert_eq!(
            d("GET", "/server/status/shields.json"),
            serve(Route::Shields)
        );
        assert_eq!(d("GET", "/server/status/widget.js"), serve(Route::WidgetJs));
        assert_eq!(d("HEAD", "/server/status/widget"), serve(Route::WidgetPage));
        assert_eq!(d("GET", "/server/status/simple"), serve(Route::Simple));
        assert_eq!(
            d("GET", "/server/status/openapi.json"),
            serve(Route::OpenApi)
        );
        assert_eq!(d("GET", "/server/status/history"), serve(Route::History));
    }

    #[test]
    fn other_methods_and_paths() {
        assert_eq!(d("OPTIONS", "/server/status"), Dispatch::Preflight);
        for m in [
            "POST", "PUT", "DELETE", "PATCH", "TRACE", "CONNECT", "get", "BREW", "",
        ] {
            assert_eq!(d(m, "/server/status"), Dispatch::MethodNotAllowed, "{m}");
        }
        for p in [
            "/",
            "/server",
            "/server/status/",
            "/Server/Status",
            "/health/",
            "*",
            "/%68ealth",
        ] {
            assert_eq!(d("GET", p), Dispatch::NotFound, "{p}");
        }
        assert_eq!(d("POST", "/nope"), Dispatch::NotFound);
    }

    #[test]
    fn bounds() {
        let long = format!("/server/status?{}", "a".repeat(MAX_TARGET_BYTES));
        assert_eq!(d("GET", &long), Dispatch::UriTooLong);
        let edge = format!("/health?{}", "a".repeat(MAX_TARGET_BYTES - 8));
        assert_eq!(edge.len(), MAX_TARGET_BYTES);
        assert!(matches!(d("GET", &edge), Dispatch::Serve { .. }));
        let mut r = RequestHead::new("GET", "/server/status");
        r.if_none_match = vec![vec![b'"'; MAX_CONDITIONAL_BYTES + 1]];
        assert_eq!(dispatch(&r), Dispatch::HeadersTooLarge);
    }
}
