//! `/server/status/simple`: the state the reader vouches for as one plain-text word, with
//! the status code saying it too — `200 online`, `503 offline|maintenance|unknown` — for
//! uptime monitors that read nothing but the status code (mcsrvstat's "simple" probe).
//!
//! The word is [`vouched_state`]'s, so it agrees with `_cache.state`, `/health`, the debug
//! view and the badge. A 200 or a 503 judged from a document carries the document's caching
//! (a cache may keep "offline" exactly as long as "online"); only a 200 has an `ETag`,
//! because preconditions apply to 2xx answers only (RFC 9110 §13.2.1). Without a document
//! to judge (Redis down, nothing published, a corrupt value) the answer is `503 unknown`,
//! `no-store`, with the error's `Retry-After` when it is transient.

use status_document::{State, vouched_state};

use crate::cache;
use crate::error::ServeError;
use crate::fetch::{Fetched, Source, validate};
use crate::request::RequestHead;
use crate::respond::Response;

pub const TEXT: &str = "text/plain; charset=utf-8";

/// The status code that says `state` to a monitor.
pub fn status_for(state: State) -> u16 {
    if state == State::Online { 200 } else { 503 }
}

/// Answers `/server/status/simple`.
/// `fetched` is the document as [`fetch`](crate::fetch::fetch) read it.
pub fn serve(req: &RequestHead, fetched: Result<Fetched, ServeError>, now: f64) -> Response {
    let judged = fetched.and_then(|fetched| {
        let view = validate(&fetched.bytes)?;
        let f = view.freshness(now);
        let primary = fetched.source == Source::Primary;
        let state = vouched_state(view.state, &f, fetched.source);
        let document_tag = cache::etag(
            view.schema_version,
            view.updated_at,
            fetched.bytes.len(),
            view.live_stamps(),
        );
        Ok((
            state,
            cache::cache_control(&f, view.rewrite_interval_s(), primary),
            cache::state_etag(&document_tag, 't', state),
            cache::http_date(view.updated_at),
        ))
    });
    let (state, cache_control, etag, last_modified) = match judged {
        Ok(j) => j,
        Err(e) => {
            let mut r = text(State::Unknown, "no-store".to_owned());
            if let Some(seconds) = e.retry_after() {
                r.headers.push(("retry-after", seconds.to_string()));
            }
            return r;
        }
    };
    let mut r = text(state, cache_control);
    if let Some(date) = last_modified {
        r.headers.push(("last-modified", date));
    }
    if r.status == 200 {
        if cache::none_match(&req.if_none_match, &etag) {
            r.status = 304;
            r.body.clear();
            r.headers.retain(|(name, _)| *name != "content-type");
        }
        r.headers.push(("etag", etag));
    }
    r
}

fn text(state: State, cache_control: String) -> Response {
    Response {
        status: status_for(state),
        headers: vec![
            ("content-type", TEXT.to_owned()),
            ("cache-control", cache_control),
            ("x-content-type-options", "nosniff".to_owned()),
        ],
        body: state.as_str().as_bytes().to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::serve::handle;
    use crate::store::StoreError;
    use crate::store::memory::MemoryStore;
    use crate::testing::{T0, ask, config, document};
    use status_document::{BuildOptions, RowValue};

    fn doc(state: &str) -> Vec<u8> {
        document(RowValue::Int(2), &BuildOptions::default(), state)
    }

    fn get(store: &MemoryStore, now: f64) -> Response {
        ask(store, "GET", "/server/status/simple", now)
    }

    fn body(r: &Response) -> &str {
        std::str::from_utf8(&r.body).unwrap()
    }

    #[test]
    fn each_state_with_its_code() {
        for (state, code) in [
            ("online", 200),
            ("offline", 503),
            ("maintenance", 503),
            ("unknown", 503),
        ] {
            let s = MemoryStore::default().with("k", &doc(state), 900);
            let r = get(&s, T0 + 100.0);
            assert_eq!((r.status, body(&r)), (code, state));
            assert_eq!(r.header("content-type"), Some(TEXT));
            assert_eq!(
                r.header("cache-control"),
                Some("public, max-age=500, stale-while-revalidate=600, stale-if-error=86400")
            );
            assert_eq!(r.header("access-control-allow-origin"), Some("*"));
            assert_eq!(r.header("etag").is_some(), code == 200, "{state}");
            assert_eq!(r.header("retry-after"), None);
        }
    }

    #[test]
    fn never_online_past_the_ttl_or_from_last_good() {
        let s = MemoryStore::default().with("k", &doc("online"), -1);
        assert_eq!(get(&s, T0 + 900.0).status, 200, "at the TTL still vouched");
        let r = get(&s, T0 + 900.5);
        assert_eq!((r.status, body(&r)), (503, "unknown"));
        let s = MemoryStore::default().with("k:last_good", &doc("online"), -1);
        let r = get(&s, T0 + 1.0);
        assert_eq!((r.status, body(&r)), (503, "unknown"));
        assert!(r.header("cache-control").unwrap().contains("max-age=5,"));
    }

    #[test]
    fn no_document_is_unknown_and_never_stored() {
        let down = MemoryStore::default().failing("k", StoreError::Unavailable);
        let r = get(&down, T0);
        assert_eq!((r.status, body(&r)), (503, "unknown"));
        assert_eq!(r.header("cache-control"), Some("no-store"));
        assert_eq!(r.header("retry-after"), Some("5"));
        let r = get(&MemoryStore::default(), T0);
        assert_eq!(r.header("retry-after"), Some("30"));
        let corrupt = MemoryStore::default().with("k", b"{", 900);
        let r = get(&corrupt, T0);
        assert_eq!((r.status, body(&r)), (503, "unknown"));
        assert_eq!(r.header("retry-after"), None);
    }

    #[test]
    fn revalidation_and_head() {
        let s = MemoryStore::default().with("k", &doc("online"), 900);
        let first = get(&s, T0 + 1.0);
        let mut req = RequestHead::new("GET", "/server/status/simple");
        req.if_none_match = vec![first.header("etag").unwrap().as_bytes().to_vec()];
        let r = handle(&req, &config(), &s, T0 + 2.0);
        assert_eq!((r.status, r.body.len()), (304, 0));
        assert_eq!(r.header("content-type"), None);
        // Past the TTL the tag changes with the word: no 304 for a stale "online".
        let r = handle(&req, &config(), &s, T0 + 901.0);
        assert_eq!((r.status, body(&r)), (503, "unknown"));
        let head = ask(&s, "HEAD", "/server/status/simple", T0);
        assert_eq!((head.status, head.body.len()), (200, 0));
    }
}
