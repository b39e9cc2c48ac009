//! `/server/status/history`: uptime, incidents and the bucket series, from one
//! `GET` of `<STATUS_KEY>:history`.
//!
//! The refresher records every write it vouches for into that key
//! ([`status_document::history`]) and stores it as the view this endpoint serves (uptime,
//! seconds and incidents worked out as of the last observation), so the arithmetic lives in
//! one place and the reader serves the stored bytes as they are, plus `_cache`, like
//! `/server/status`: it reads only their [`HistoryHead`] (one pass, no value built per
//! bucket). Every reader replica gives the same body and tag, and `_cache` says how old it
//! is. Past the last observation's vouched-for time (`vouched_until`), `_cache` says `stale`
//! and its `state` is `unknown`, the same rule as `/server/status`; and no cache may keep a
//! copy past that time (`max-age`).
//!
//! The history is read on its own: a corrupt or oversized history key answers a 502 here
//! and costs `/server/status` nothing.

use status_document::State;
use status_document::history::{HistoryError, HistoryHead};
use status_document::keys::history_key;

use crate::cache;
use crate::error::ServeError;
use crate::fetch::Source;
use crate::request::RequestHead;
use crate::respond::{CacheInfo, Response, splice_cache, with_validators};
use crate::store::Store;

/// The longest a cache may keep the history: its buckets are five minutes wide, so a
/// minute-old copy shows nothing materially different. Never past `vouched_until`, though,
/// so a cached `_cache.state` is not believed longer than the reader's own.
pub const HISTORY_MAX_AGE_S: u64 = 60;

/// The stored history and its head, validated (one `GET`).
pub async fn read<S: Store>(
    store: &S,
    status_key: &str,
) -> Result<(HistoryHead, Vec<u8>), ServeError> {
    let Some(bytes) = store.get(&history_key(status_key)).await? else {
        return Err(ServeError::HistoryUnavailable);
    };
    match HistoryHead::parse(&bytes) {
        Ok(h) => Ok((h, bytes)),
        Err(e) => {
            // Operator log only; the response carries just the error code.
            eprintln!("status-reader: stored history rejected: {e}");
            Err(match e {
                HistoryError::TooLarge(_) => ServeError::HistoryTooLarge,
                _ => ServeError::InvalidHistory,
            })
        }
    }
}

/// Whether the history is still current at `now`: before the writer's promised next write
/// (or, for a history without that promise, within its last word's vouch).
pub fn fresh(head: &HistoryHead, now: f64) -> bool {
    head.current_until()
        .is_some_and(|until| now <= until as f64)
}

/// A strong tag: one `(since, seq)` names one write of the one writer (a lost history
/// starts again with a new `since`), and the length guards hand edits.
pub fn etag(head: &HistoryHead, stored_len: usize) -> String {
    format!(
        "\"h{}-{:x}-{:x}-{:x}\"",
        head.schema_version,
        stored_len,
        head.since.unwrap_or(0),
        head.seq
    )
}

/// Answers `GET /server/status/history`.
/// `read` is what [`read`] gave.
pub fn serve(
    req: &RequestHead,
    read: Result<(HistoryHead, Vec<u8>), ServeError>,
    now: f64,
) -> Response {
    let (head, stored) = match read {
        Ok(h) => h,
        Err(e) => return Response::error(e),
    };
    let fresh = fresh(&head, now);
    let max_age = match head.current_until() {
        Some(until) if fresh => ((until as f64 - now).floor() as u64).clamp(1, HISTORY_MAX_AGE_S),
        _ => cache::OVERDUE_MAX_AGE_S,
    };
    let mut headers = Vec::with_capacity(4);
    headers.push((
        "cache-control",
        format!(
            "public, max-age={max_age}, stale-while-revalidate={HISTORY_MAX_AGE_S}, \
             stale-if-error={}",
            cache::STALE_IF_ERROR_S
        ),
    ));
    let tag = etag(&head, stored.len());
    let headers = match with_validators(req, headers, head.updated_at, tag) {
        Ok(headers) => headers,
        Err(not_modified) => return not_modified,
    };
    let info = CacheInfo {
        age_seconds: age_seconds(now - head.updated_at),
        fresh,
        stale: !fresh,
        source: Source::Primary,
        state: if fresh { head.state } else { State::Unknown },
        last_known_state: head.state,
    };
    let Some(body) = splice_cache(stored, &info) else {
        return Response::error(ServeError::InvalidHistory);
    };
    let mut r = Response::json(200, body);
    r.headers.extend(headers);
    r
}

/// Whole seconds, rounded down, never negative (a reader clock behind the refresher's).
fn age_seconds(s: f64) -> u64 {
    if s.is_finite() && s > 0.0 {
        s as u64
    } else {
        0
    }
}

#[cfg(test)]
mod tests;
