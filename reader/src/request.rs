//! What the reader needs to know about a request, copied out of the host's request once.
//!
//! The handler never reads the request body (no endpoint takes one), so a large or slow
//! upload costs the component nothing. Only the method, the target and the two headers the
//! responses depend on are copied, and each is bounded before it is looked at.

/// Longest request target (path and query) the reader looks at; longer gets 414.
pub const MAX_TARGET_BYTES: usize = 2048;

/// Longest total of all `If-None-Match` and `Origin` values; longer gets 431. A real
/// client sends one short entity tag and one origin.
pub const MAX_CONDITIONAL_BYTES: usize = 8192;

/// The parts of a request that routing and responses depend on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestHead {
    /// The method exactly as received (methods are case-sensitive).
    pub method: String,
    /// Path and query as received, e.g. `/server/status?x=1`.
    pub path_with_query: String,
    /// Every `If-None-Match` field line, in order.
    pub if_none_match: Vec<Vec<u8>>,
    /// The `Origin` field, if any (used only when several CORS origins are configured).
    pub origin: Option<Vec<u8>>,
}

impl RequestHead {
    /// A request with no conditional or CORS headers; handy for callers and tests.
    pub fn new(method: impl Into<String>, path_with_query: impl Into<String>) -> Self {
        RequestHead {
            method: method.into(),
            path_with_query: path_with_query.into(),
            ..RequestHead::default()
        }
    }

    /// The path without query or fragment. An empty target is treated as `/`.
    pub fn path(&self) -> &str {
        let target = self.path_with_query.as_str();
        let end = target.find(['?', '#']).unwrap_or(target.len());
        match &target[..end] {
            "" => "/",
            path => path,
        }
    }

    /// Whether the answer must go without a body (RFC 9110 §9.3.2), whatever its status.
    pub fn is_head(&self) -> bool {
        self.method == "HEAD"
    }

    /// Total bytes of the header values the reader inspects.
    pub fn header_bytes(&self) -> usize {
        self.if_none_match
            .iter()
            .map(Vec::len)
            .sum::<usize>()
            .saturating_add(self.origin.as_ref().map_or(0, Vec::len))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_drops_query_and_fragment() {
        assert_eq!(RequestHead::new("GET", "/health?x=1").path(), "/health");
        assert_eq!(RequestHead::new("GET", "/a#b").path(), "/a");
        assert_eq!(RequestHead::new("GET", "").path(), "/");
        assert_eq!(RequestHead::new("GET", "?q").path(), "/");
    }

    #[test]
    fn header_bytes_adds_up() {
        let mut r = RequestHead::new("GET", "/");
        r.if_none_match = vec![b"\"a\"".to_vec(), b"*".to_vec()];
        r.origin = Some(b"https://x".to_vec());
        assert_eq!(r.header_bytes(), 3 + 1 + 9);
    }
}
