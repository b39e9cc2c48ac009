//! HTTP trigger routes, matched the way Spin matches them: an exact path (`/health`), a
//! trailing wildcard (`/server/...` matches `/server` and everything below it; `/...` matches
//! everything), and `:name` segments that match any one segment. Requests outside every
//! route get the host's 404 and never reach the component.

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RouteError {
    #[error("route {0:?} does not start with '/'")]
    NotAbsolute(String),
    #[error("route {0:?} uses '...' somewhere other than its last segment")]
    MisplacedWildcard(String),
    #[error("private routes (route = {{ private = true }}) are not supported by reader-host")]
    Private,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    original: String,
    segments: Vec<Segment>,
    /// Ends in `/...`.
    wildcard: bool,
}

#[derive(Debug, Clone, PartialEq)]
enum Segment {
    Exact(String),
    Param,
}

impl Route {
    pub fn parse(route: &str) -> Result<Route, RouteError> {
        let Some(rest) = route.strip_prefix('/') else {
            return Err(RouteError::NotAbsolute(route.to_owned()));
        };
        let mut parts: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
        let wildcard = parts.last() == Some(&"...");
        if wildcard {
            parts.pop();
        }
        if parts.contains(&"...") {
            return Err(RouteError::MisplacedWildcard(route.to_owned()));
        }
        let segments = parts
            .into_iter()
            .map(|p| match p.strip_prefix(':') {
                Some(_) => Segment::Param,
                None => Segment::Exact(p.to_owned()),
            })
            .collect();
        Ok(Route {
            original: route.to_owned(),
            segments,
            wildcard,
        })
    }

    /// Whether `path` (without query) is served by this route. A trailing slash is
    /// ignored, as Spin does.
    pub fn matches(&self, path: &str) -> bool {
        let mut parts = path.split('/').filter(|s| !s.is_empty());
        for segment in &self.segments {
            match (segment, parts.next()) {
                (Segment::Exact(want), Some(got)) if want == got => {}
                (Segment::Param, Some(_)) => {}
                _ => return false,
            }
        }
        self.wildcard || parts.next().is_none()
    }

    pub fn as_str(&self) -> &str {
        &self.original
    }
}

/// The route that serves `path`, if any: an exact route before a wildcard, and among
/// wildcards the longest prefix, as Spin's router prefers the most specific route.
pub fn best_match<'r>(routes: &'r [Route], path: &str) -> Option<&'r Route> {
    routes
        .iter()
        .filter(|r| r.matches(path))
        .max_by_key(|r| (!r.wildcard, r.segments.len()))
}

impl Route {
    /// The part of `path` below a wildcard route's prefix (Spin's `spin-path-info`); empty
    /// for an exact route.
    pub fn path_info<'p>(&self, path: &'p str) -> &'p str {
        if !self.wildcard {
            return "";
        }
        let mut rest = path;
        for _ in &self.segments {
            rest = rest.trim_start_matches('/');
            rest = rest.find('/').map_or("", |i| &rest[i..]);
        }
        rest
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(route: &str, path: &str) -> bool {
        Route::parse(route).unwrap().matches(path)
    }

    #[test]
    fn exact() {
        assert!(m("/server/status", "/server/status"));
        assert!(m("/server/status", "/server/status/"));
        assert!(!m("/server/status", "/server/status/debug"));
        assert!(!m("/server/status", "/server"));
        assert!(!m("/server/status", "/server/statusx"));
        assert!(m("/", "/"));
        assert!(!m("/", "/x"));
    }

    #[test]
    fn wildcard() {
        assert!(m("/...", "/"));
        assert!(m("/...", "/anything/at/all"));
        assert!(m("/server/...", "/server"));
        assert!(m("/server/...", "/server/status/debug"));
        assert!(!m("/server/...", "/serverx"));
        assert!(!m("/server/...", "/health"));
    }

    #[test]
    fn params() {
        assert!(m("/user/:id", "/user/7"));
        assert!(!m("/user/:id", "/user"));
        assert!(!m("/user/:id", "/user/7/x"));
    }

    #[test]
    fn most_specific_wins() {
        let routes: Vec<Route> = ["/...", "/server/...", "/server/status"]
            .iter()
            .map(|r| Route::parse(r).unwrap())
            .collect();
        assert_eq!(
            best_match(&routes, "/server/status").unwrap().as_str(),
            "/server/status"
        );
        assert_eq!(
            best_match(&routes, "/server/x").unwrap().as_str(),
            "/server/..."
        );
        assert_eq!(best_match(&routes, "/health").unwrap().as_str(), "/...");
        assert!(best_match(&routes[2..], "/health").is_none());
    }

    #[test]
    fn path_info() {
        let r = Route::parse("/server/...").unwrap();
        assert_eq!(r.path_info("/server/status/debug"), "/status/debug");
        assert_eq!(r.path_info("/server"), "");
        assert_eq!(Route::parse("/...").unwrap().path_info("/a/b"), "/a/b");
        assert_eq!(Route::parse("/a").unwrap().path_info("/a"), "");
    }

    #[test]
    fn bad_routes() {
        assert!(Route::parse("server").is_err());
        assert!(Route::parse("/a/.../b").is_err());
    }
}
