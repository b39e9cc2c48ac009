//! Responses as plain data, and the bodies that are not just an error code.
//!
//! The component copies a [`Response`] into a `wasi:http` outgoing response; everything
//! that decides its status, headers and bytes lives here and in `serve`, tested natively.

use std::fmt::Write as _;

use status_document::State;

use crate::cache;
use crate::error::ServeError;
use crate::fetch::Source;
use crate::request::RequestHead;

pub const JSON: &str = "application/json; charset=utf-8";

/// A complete response. Header names are lowercase; values are visible ASCII.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// A JSON response with `Content-Type` set.
    pub fn json(status: u16, body: Vec<u8>) -> Response {
        Response {
            status,
            headers: vec![("content-type", JSON.to_owned())],
            body,
        }
    }

    /// `304 Not Modified` with `headers` and no body.
    pub fn not_modified(headers: Vec<(&'static str, String)>) -> Response {
        Response {
            status: 304,
            headers,
            body: Vec::new(),
        }
    }

    /// The JSON error response: never cached, with `Retry-After` on transient 503s.
    pub fn error(e: ServeError) -> Response {
        let mut r = Response::json(e.status(), e.body());
        r.headers.push(("cache-control", "no-store".to_owned()));
        if let Some(s) = e.retry_after() {
            r.headers.push(("retry-after", s.to_string()));
        }
        r
    }

    /// The response as a host takes it: `(headers, status, body)`, the headers made by
    /// `fields` from name/value pairs. A header the host refuses (none should be: every
    /// value is visible ASCII) degrades to a bare 500 with `empty` headers rather than no
    /// answer at all.
    pub fn for_host<H, E: std::fmt::Debug>(
        self,
        fields: impl FnOnce(&[(String, Vec<u8>)]) -> Result<H, E>,
        empty: impl FnOnce() -> H,
    ) -> (H, u16, Vec<u8>) {
        let pairs: Vec<(String, Vec<u8>)> = self
            .headers
            .into_iter()
            .map(|(name, value)| (name.to_owned(), value.into_bytes()))
            .collect();
        match fields(&pairs) {
            Ok(headers) => (headers, self.status, self.body),
            Err(e) => {
                eprintln!("status-reader: host refused response headers: {e:?}");
                (empty(), 500, Vec::new())
            }
        }
    }

    /// The first value of header `name` (lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// `headers` with a stored representation's validators added: `last-modified` (when
/// `updated_at` has an HTTP date) and `etag`; or, when the request's `If-None-Match` already
/// holds the tag, the 304 that carries them instead.
pub fn with_validators(
    req: &RequestHead,
    mut headers: Vec<(&'static str, String)>,
    updated_at: f64,
    etag: String,
) -> Result<Vec<(&'static str, String)>, Response> {
    if let Some(date) = cache::http_date(updated_at) {
        headers.push(("last-modified", date));
    }
    let matched = cache::none_match(&req.if_none_match, &etag);
    headers.push(("etag", etag));
    if matched {
        return Err(Response::not_modified(headers));
    }
    Ok(headers)
}

/// The `_cache` object appended to the served document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheInfo {
    pub age_seconds: u64,
    pub fresh: bool,
    pub stale: bool,
    pub source: Source,
    /// The state the reader vouches for ([`status_document::vouched_state`]): `unknown`
    /// past the TTL or from the last-good copy, whatever the document says.
    pub state: State,
    /// The document's own `state`: what was last known, kept visible when `state` is
    /// `unknown` so a page can say "was online, now unknown".
    pub last_known_state: State,
}

/// Appends `"_cache":{...}` inside the stored document's closing brace, reusing the stored
/// buffer: the document is served byte for byte as the refresher wrote it, never
/// re-serialised. `None` if the bytes do not end in an object (impossible after
/// validation, but this function does not rely on that).
pub fn splice_cache(mut stored: Vec<u8>, info: &CacheInfo) -> Option<Vec<u8>> {
    let close = stored.iter().rposition(|b| !b.is_ascii_whitespace())?;
    if stored[close] != b'}' {
        return None;
    }
    let before = stored[..close]
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())?;
    let comma = if stored[before] == b'{' { "" } else { "," };
    stored.truncate(close);
    let mut tail = String::with_capacity(96);
    // Only booleans, an integer and fixed words: no escaping needed.
    let _ = write!(
        tail,
        "{comma}\"_cache\":{{\"cached\":true,\"age_seconds\":{},\"fresh\":{},\"stale\":{},\"source\":\"{}\",\"state\":\"{}\",\"last_known_state\":\"{}\"}}}}",
        info.age_seconds,
        info.fresh,
        info.stale,
        info.source.as_str(),
        info.state.as_str(),
        info.last_known_state.as_str()
    );
    stored.extend_from_slice(tail.as_bytes());
    Some(stored)
}

#[cfg(test)]
mod tests {
    use super::*;

    const INFO: CacheInfo = CacheInfo {
        age_seconds: 12,
        fresh: true,
        stale: false,
        source: Source::Primary,
        state: State::Online,
        last_known_state: State::Online,
    };

    #[test]
    fn splices_before_the_final_brace() {
        let out = splice_cache(b"{\"a\":\"}\"}\n".to_vec(), &INFO).unwrap();
        assert_eq!(
            std::str::from_utf8(&out).unwrap(),
            "{\"a\":\"}\",\"_cache\":{\"cached\":true,\"age_seconds\":12,\"fresh\":true,\"stale\":false,\"source\":\"primary\",\"state\":\"online\",\"last_known_state\":\"online\"}}"
        );
        let out = splice_cache(b" { } ".to_vec(), &INFO).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["_cache"]["age_seconds"], 12);
        assert_eq!(v.as_object().unwrap().len(), 1);
    }

    #[test]
    fn refuses_non_objects() {
        assert_eq!(splice_cache(b"[1]".to_vec(), &INFO), None);
        assert_eq!(splice_cache(b"}".to_vec(), &INFO), None);
        assert_eq!(splice_cache(Vec::new(), &INFO), None);
    }

    #[test]
    fn error_responses() {
        let r = Response::error(ServeError::StatusUnavailable);
        assert_eq!(r.status, 503);
        assert_eq!(r.header("content-type"), Some(JSON));
        assert_eq!(r.header("cache-control"), Some("no-store"));
        assert_eq!(r.header("retry-after"), Some("30"));
        assert_eq!(
            Response::error(ServeError::InvalidJson).header("retry-after"),
            None
        );
    }
}
