//! `GET /status`: the public status page (issue 31), HTML from one `GET` of
//! `<status key>:page`.
//!
//! The refresher keeps the page's document ([`status_document::page`]) and does all its
//! arithmetic; here it is validated (bounded to [`MAX_PAGE_BYTES`], [`PAGE_VERSION`] only)
//! and rendered by the pure [`render::render`]. Each concern has its module: [`words`]
//! (English and Russian, and which one a request gets), [`time`] (dates, durations,
//! percentages), [`svg`] (the sparkline and the daily bars), [`escape`] (every stored
//! string printed).
//!
//! HTTP: cached like the status endpoints (until the earliest `vouched_until` among the
//! servers, so no copy shows a state the reader no longer vouches for, within
//! [`PAGE_MAX_AGE_S`]), tagged by the stored bytes, the language and how many servers are
//! past their vouch (the rendered page changes then while the bytes do not), and locked
//! down by a CSP that allows nothing but the inline style and `data:` images. Every answer
//! is HTML, the 503 before the first write and the 502 of a corrupt page too: a person
//! reads this route, not a client that branches on JSON error codes.

pub mod escape;
pub mod render;
pub mod svg;
pub mod time;
pub mod words;

use status_document::State;
use status_document::page::{MAX_PAGE_BYTES, PAGE_VERSION, PageDocument, page_key};

use crate::cache::{OVERDUE_MAX_AGE_S, STALE_IF_ERROR_S};
use crate::request::RequestHead;
use crate::respond::{Response, with_validators};
use crate::servers::fingerprint;
use crate::store::{Store, StoreError};
use words::{Lang, words};

pub const HTML: &str = "text/html; charset=utf-8";

/// Nothing from elsewhere: no script, no font, no frame; the one inline `<style>` and
/// `data:` images (the page's empty icon) only. `connect-src 'self'` grants nothing a page
/// without script could use; it lets auditors that fetch `/robots.txt` from inside the page
/// (Lighthouse's SEO audit) reach it instead of failing on the CSP.
pub const CSP: &str = "default-src 'none'; connect-src 'self'; style-src 'unsafe-inline'; \
                       img-src data:; base-uri 'none'; form-action 'none'; \
                       frame-ancestors 'none'";

/// The longest a cache may keep the page (and how long it may serve it stale while it
/// revalidates): the refresher rewrites it at most every few seconds, and a minute-old
/// page is still honest when no vouch has run out in between.
pub const PAGE_MAX_AGE_S: u64 = 60;

/// Why there is no page to render; each is answered with an HTML page of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageError {
    /// No page key yet (before the refresher's first write): 503, retry in 30 s.
    Missing,
    /// Redis could not be reached: 503, retry in 5 s.
    Unavailable,
    /// The stored value cannot be rendered (wrong type, too large, not the page's shape
    /// or version): 502.
    Unreadable,
}

/// The stored page, validated, with what its tag is made of.
#[derive(Debug, Clone, PartialEq)]
pub struct Stored {
    pub doc: PageDocument,
    pub len: usize,
    pub hash: u64,
}

/// `GET <status key>:page`, validated. One call, whatever happens.
pub async fn read<S: Store>(store: &S, status_key: &str) -> Result<Stored, PageError> {
    let bytes = match store.get(&page_key(status_key)).await {
        Ok(Some(bytes)) => bytes,
        Ok(None) => return Err(PageError::Missing),
        Err(StoreError::Unavailable) => return Err(PageError::Unavailable),
        Err(StoreError::WrongType) => return Err(PageError::Unreadable),
    };
    parse(&bytes).map_err(|e| {
        // Operator log only; the page says only that it cannot be shown.
        eprintln!("status-reader: stored status page rejected: {e}");
        PageError::Unreadable
    })
}

/// The page's document from stored bytes: bounded first, then one parse (`from_str`, as
/// the other reads: `from_slice` would link a second copy of serde_json's parser), then
/// the version.
fn parse(bytes: &[u8]) -> Result<Stored, String> {
    if bytes.len() > MAX_PAGE_BYTES {
        return Err(format!("{} bytes, over {MAX_PAGE_BYTES}", bytes.len()));
    }
    let text = std::str::from_utf8(bytes).map_err(|e| e.to_string())?;
    let doc: PageDocument = serde_json::from_str(text).map_err(|e| e.to_string())?;
    if doc.schema_version != PAGE_VERSION {
        return Err(format!(
            "schema_version {} is not {PAGE_VERSION}",
            doc.schema_version
        ));
    }
    Ok(Stored {
        doc,
        len: bytes.len(),
        hash: fingerprint(bytes),
    })
}

/// Answers `GET /status`: the rendered page with its caching, or 304; or the HTML page of
/// what went wrong.
pub fn serve(req: &RequestHead, read: Result<Stored, PageError>, now: f64) -> Response {
    let lang = words::choose(&req.path_with_query, req.accept_language.as_deref());
    let stored = match read {
        Ok(stored) => stored,
        Err(e) => return error_page(e, lang),
    };
    let servers = &stored.doc.servers;
    let shown = &servers[..servers.len().min(status_document::page::MAX_PAGE_SERVERS)];
    // Past its vouch a server shows as not known while the bytes stay the same: the tag
    // must change with it, or a cache revalidating at its max-age would get a 304.
    let lapsed = shown
        .iter()
        .filter(|s| render::shown_state(s, now) == State::Unknown && s.state != State::Unknown)
        .count();
    let earliest = shown
        .iter()
        .map(|s| s.vouched_until as f64 - now)
        .filter(|left| *left > 0.0)
        .fold(f64::INFINITY, f64::min);
    let max_age = if earliest.is_finite() {
        (earliest.floor() as u64).clamp(1, PAGE_MAX_AGE_S)
    } else {
        OVERDUE_MAX_AGE_S
    };
    let mut headers = html_headers();
    headers.push((
        "cache-control",
        format!(
            "public, max-age={max_age}, stale-while-revalidate={PAGE_MAX_AGE_S}, \
             stale-if-error={STALE_IF_ERROR_S}"
        ),
    ));
    let tag = format!(
        "\"p-{:x}-{:016x}-{}-{lapsed:x}\"",
        stored.len,
        stored.hash,
        words(lang).lang
    );
    let headers = match with_validators(req, headers, stored.doc.generated_at as f64, tag) {
        Ok(headers) => headers,
        Err(not_modified) => return not_modified,
    };
    Response {
        status: 200,
        headers,
        body: render::render(&stored.doc, now, lang).into_bytes(),
    }
}

/// The headers of every `/status` answer: HTML, the CSP and its companions, and `Vary`
/// for the language the header may choose.
fn html_headers() -> Vec<(&'static str, String)> {
    vec![
        ("content-type", HTML.to_owned()),
        ("content-security-policy", CSP.to_owned()),
        ("x-content-type-options", "nosniff".to_owned()),
        ("referrer-policy", "no-referrer".to_owned()),
        ("vary", "Accept-Language".to_owned()),
    ]
}

/// The HTML answer for `e`: never cached, `Retry-After` on the 503s.
pub fn error_page(e: PageError, lang: Lang) -> Response {
    let w = words(lang);
    let (status, retry, title, text) = match e {
        PageError::Missing => (503, Some("30"), w.not_yet, w.not_yet_text),
        PageError::Unavailable => (503, Some("5"), w.unavailable, w.unavailable_text),
        PageError::Unreadable => (502, None, w.unreadable, w.unreadable_text),
    };
    let mut headers = html_headers();
    headers.push(("cache-control", "no-store".to_owned()));
    if let Some(retry) = retry {
        headers.push(("retry-after", retry.to_owned()));
    }
    Response {
        status,
        headers,
        body: render::message_page(lang, title, text).into_bytes(),
    }
}

#[cfg(test)]
pub(crate) mod tests;
