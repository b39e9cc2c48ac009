//! Routing: method and path to an endpoint, or to the 4xx that says why not.
//!
//! Routing is total: every request, however odd, maps to exactly one [`Dispatch`], and the
//! caller turns each into a defined status code. Property tests in `serve` hold it to that.

use status_document::ServerId;

use crate::request::{MAX_CONDITIONAL_BYTES, MAX_TARGET_BYTES, RequestHead};

/// The methods every endpoint allows, as sent in `Allow` and in CORS preflight answers.
pub const ALLOW: &str = "GET, HEAD, OPTIONS";

/// What one game server has: the answers `/server/status/...` gives for the `default`
/// server, and `/servers/{id}/...` for any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page {
    Status,
    Debug,
    Badge,
    Shields,
    Simple,
    History,
}

impl Page {
    /// The page at `tail`, the path after `/servers/{id}/` (matched exactly, as routes are).
    fn from_tail(tail: &str) -> Option<Page> {
        match tail {
            "debug" => Some(Page::Debug),
            "badge.svg" => Some(Page::Badge),
            "shields.json" => Some(Page::Shields),
            "simple" => Some(Page::Simple),
            "history" => Some(Page::History),
            _ => None,
        }
    }
}

/// An endpoint of the reader. Not `Copy`: a server's route carries its (validated) id.
#[derive(Debug, Clone, PartialEq, Eq)]
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
    /// `/servers`: the index of every game server, as the refresher stored it.
    Servers,
    /// `/status`: the public status page (HTML) of every server, from `<key>:page`.
    StatusPage,
    /// `/servers/{id}` and its pages: one game server's, `id` already validated, so only a
    /// real id ever reaches a Redis key.
    Server { id: ServerId, page: Page },
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
            "/servers" => Some(Route::Servers),
            "/status" => Some(Route::StatusPage),
            _ => None,
        }
    }
}

/// `/servers/{id}[/{page}]`: `None` when `path` has not that shape (the caller's 404),
/// `Some(Err(()))` when it has but the id is not an id (ids are checked here, before any
/// key exists; `%`-escapes are not decoded, so `%3A` is refused like `:`).
fn server_route(path: &str) -> Option<Result<Route, ()>> {
    let rest = path.strip_prefix("/servers/")?;
    let (id, page) = match rest.split_once('/') {
        None => (rest, Page::Status),
        Some((id, tail)) => (id, Page::from_tail(tail)?),
    };
    Some(
        ServerId::parse(id)
            .map(|id| Route::Server { id, page })
            .map_err(|_| ()),
    )
}

/// What to do with a request.
#[derive(Debug, Clone, PartialEq, Eq)]
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
    /// `/servers/{id}...` with something that is not a server id: 404 `unknown_server`,
    /// whatever the method, with no Redis call.
    UnknownServer,
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
    let path = req.path();
    let route = match Route::from_path(path)
        .map(Ok)
        .or_else(|| server_route(path))
    {
        Some(Ok(route)) => route,
        Some(Err(())) => return Dispatch::UnknownServer,
        None => return Dispatch::NotFound,
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
        let badge = "/server/status/badge.svg?style=flat&label=x";
        for (method, target, want) in [
            ("GET", "/server/status", serve(Route::Status)),
            ("HEAD", "/server/status", serve(Route::Status)),
            ("GET", "/server/status?v=2", serve(Route::Status)),
            ("GET", "/server/status/debug", serve(Route::Debug)),
            ("GET", "/health", serve(Route::Health)),
            ("HEAD", "/health", serve(Route::Health)),
            ("GET", badge, serve(Route::Badge)),
            ("GET", "/server/status/shields.json", serve(Route::Shields)),
            ("GET", "/server/status/widget.js", serve(Route::WidgetJs)),
            ("HEAD", "/server/status/widget", serve(Route::WidgetPage)),
            ("GET", "/server/status/simple", serve(Route::Simple)),
            ("GET", "/server/status/openapi.json", serve(Route::OpenApi)),
            ("GET", "/server/status/history", serve(Route::History)),
            ("GET", "/status?lang=ru", serve(Route::StatusPage)),
            ("HEAD", "/status", serve(Route::StatusPage)),
            ("OPTIONS", "/status", Dispatch::Preflight),
            ("POST", "/status", Dispatch::MethodNotAllowed),
            ("GET", "/status/", Dispatch::NotFound),
        ] {
            assert_eq!(d(method, target), want, "{method} {target}");
        }
        assert!(RequestHead::new("HEAD", "/health").is_head());
        assert!(!RequestHead::new("GET", "/health").is_head());
        assert!(!RequestHead::new("head", "/health").is_head());
    }

    #[test]
    fn servers() {
        let server = |id: &str, page| Dispatch::Serve {
            route: Route::Server {
                id: ServerId::parse(id).unwrap(),
                page,
            },
        };
        let serve = |route| Dispatch::Serve { route };
        assert_eq!(d("GET", "/servers"), serve(Route::Servers));
        assert_eq!(d("HEAD", "/servers?v=1"), serve(Route::Servers));
        assert_eq!(d("GET", "/servers/eu-1"), server("eu-1", Page::Status));
        assert_eq!(d("HEAD", "/servers/eu-1?x=y"), server("eu-1", Page::Status));
        assert_eq!(
            d("GET", "/servers/default"),
            server("default", Page::Status)
        );
        for (tail, page) in [
            ("debug", Page::Debug),
            ("badge.svg", Page::Badge),
            ("shields.json", Page::Shields),
            ("simple", Page::Simple),
            ("history", Page::History),
        ] {
            let target = format!("/servers/a_b-9/{tail}");
            assert_eq!(d("GET", &target), server("a_b-9", page), "{target}");
            assert_eq!(d("OPTIONS", &target), Dispatch::Preflight, "{target}");
            assert_eq!(d("PUT", &target), Dispatch::MethodNotAllowed, "{target}");
        }
        let longest = format!("/servers/{}", "z".repeat(32));
        assert!(matches!(d("GET", &longest), Dispatch::Serve { .. }));
        assert_eq!(d("OPTIONS", "/servers"), Dispatch::Preflight);
        assert_eq!(d("POST", "/servers/eu-1"), Dispatch::MethodNotAllowed);
    }

    #[test]
    fn what_is_not_a_server_id_is_refused_in_routing() {
        for target in [
            "/servers/",
            "/servers/EU",
            "/servers/a:b",
            "/servers/a%3Ab",
            "/servers/..",
            "/servers/-x",
            "/servers/a.b/badge.svg",
            "/servers/%2e%2e/history",
            "/servers/\u{e9}t\u{e9}",
            &format!("/servers/{}", "a".repeat(33)),
            &format!("/servers/{}/simple", "a".repeat(33)),
        ] {
            for method in ["GET", "HEAD", "OPTIONS", "POST"] {
                assert_eq!(
                    d(method, target),
                    Dispatch::UnknownServer,
                    "{method} {target}"
                );
            }
        }
        // Not the shape of a server's route at all: the plain 404.
        for target in [
            "/servers/eu-1/",
            "/servers/eu-1/nope",
            "/servers/eu-1/badge.svg/x",
            "/servers//status",
            "/servers/a:b/nope",
            "/servers/eu-1/widget.js",
            "/servers/eu-1/openapi.json",
            "/Servers",
        ] {
            assert_eq!(d("GET", target), Dispatch::NotFound, "{target}");
        }
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
