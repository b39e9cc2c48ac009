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

/// Most bytes of `Accept-Language` kept: only `/status` reads it, for its first `en` or
/// `ru`, and a browser's list is far shorter. Longer values are cut, not refused: a page
/// for people should not fail over a header they do not control.
pub const MAX_ACCEPT_LANGUAGE_BYTES: usize = 256;

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
    /// The first `Accept-Language` field line, cut to [`MAX_ACCEPT_LANGUAGE_BYTES`]
    /// (`/status` picks its language from it).
    pub accept_language: Option<Vec<u8>>,
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

    /// Copies a host's request head: `target` as the host gives it, `header` the field
    /// lines of a name. Oversized values are not copied whole: a placeholder of just over
    /// the limit keeps routing's 414/431 decision. Both builds' glue calls this; only how
    /// they ask their host differs.
    pub fn bounded(
        method: String,
        target: Option<String>,
        header: impl Fn(&str) -> Vec<Vec<u8>>,
    ) -> Self {
        let mut target = target.unwrap_or_default();
        if target.len() > MAX_TARGET_BYTES {
            target = "/".repeat(MAX_TARGET_BYTES + 1);
        }
        let mut if_none_match = header("if-none-match");
        if if_none_match.iter().map(Vec::len).sum::<usize>() > MAX_CONDITIONAL_BYTES {
            if_none_match = vec![vec![b' '; MAX_CONDITIONAL_BYTES + 1]];
        }
        RequestHead {
            method,
            path_with_query: target,
            if_none_match,
            origin: header("origin").into_iter().next(),
            accept_language: header("accept-language").into_iter().next().map(|mut v| {
                v.truncate(MAX_ACCEPT_LANGUAGE_BYTES);
                v
            }),
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
    fn bounded_keeps_small_values_and_marks_oversized_ones() {
        let header = |name: &str| match name {
            "if-none-match" => vec![b"\"a\"".to_vec(), b"*".to_vec()],
            "origin" => vec![b"https://x".to_vec(), b"https://y".to_vec()],
            "accept-language" => vec![b"ru".to_vec(), b"en".to_vec()],
            _ => vec![],
        };
        let r = RequestHead::bounded("GET".into(), Some("/health?x".into()), header);
        assert_eq!(r.path_with_query, "/health?x");
        assert_eq!(r.if_none_match.len(), 2);
        assert_eq!(
            r.origin.as_deref(),
            Some(&b"https://x"[..]),
            "the first origin"
        );
        assert_eq!(r.accept_language.as_deref(), Some(&b"ru"[..]));
        assert_eq!(
            RequestHead::bounded("GET".into(), None, |_| vec![]).path(),
            "/"
        );

        let long = "/".repeat(MAX_TARGET_BYTES + 5000);
        let huge = |_: &str| vec![vec![b'x'; MAX_CONDITIONAL_BYTES]; 3];
        let r = RequestHead::bounded("GET".into(), Some(long), huge);
        let cut = r.accept_language.as_ref().map(Vec::len);
        assert_eq!(cut, Some(MAX_ACCEPT_LANGUAGE_BYTES));
        assert_eq!(r.path_with_query.len(), MAX_TARGET_BYTES + 1);
        assert_eq!(r.if_none_match, [vec![b' '; MAX_CONDITIONAL_BYTES + 1]]);
    }

    #[test]
    fn header_bytes_adds_up() {
        let mut r = RequestHead::new("GET", "/");
        r.if_none_match = vec![b"\"a\"".to_vec(), b"*".to_vec()];
        r.origin = Some(b"https://x".to_vec());
        assert_eq!(r.header_bytes(), 3 + 1 + 9);
    }
}
