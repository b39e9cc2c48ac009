//! Several game servers from one deployment (issue 30): `GET /servers`, the index the
//! refresher stores at `<status key>:servers`, and what `/servers/{id}` adds to the pages
//! every server has (`serve::serve_page` answers those, for `default` too).
//!
//! Ids are validated in routing ([`crate::route`]) before any key is built from them; the
//! keys themselves come from [`status_document::servers`], shared with the refresher, so the
//! two halves cannot disagree on where a server's document lives.

use status_document::SCHEMA_VERSION;
use status_document::ServerId;
use status_document::servers::{IndexHead, MAX_INDEX_BYTES, index_key};

use crate::cache;
use crate::error::ServeError;
use crate::fetch::Fetched;
use crate::request::RequestHead;
use crate::respond::{Response, with_validators};
use crate::store::Store;

/// How long a cache may keep the index. The refresher rewrites it when an entry's state or
/// count changes, which a list page may show half a minute late; the documents themselves
/// (`/servers/{id}`) carry their own, tighter caching.
pub const INDEX_MAX_AGE_S: u64 = 30;

/// The stored index, checked as an [`IndexHead`] within [`MAX_INDEX_BYTES`] (one `GET`).
/// Returns the stored bytes, served as they are, and the newest entry's `updated_at` (the
/// index's `Last-Modified`).
pub async fn read_index<S: Store>(
    store: &S,
    status_key: &str,
) -> Result<(Vec<u8>, u64), ServeError> {
    let Some(bytes) = store.get(&index_key(status_key)).await? else {
        return Err(ServeError::IndexUnavailable);
    };
    if bytes.len() > MAX_INDEX_BYTES {
        eprintln!(
            "status-reader: stored servers index rejected: {} bytes, over {MAX_INDEX_BYTES}",
            bytes.len()
        );
        return Err(ServeError::InvalidIndex);
    }
    // `from_str` as the document's own parse does: `from_slice` would link a second copy of
    // serde_json's parser into the `.wasm`, which has a size budget.
    let parsed = std::str::from_utf8(&bytes)
        .map_err(|e| e.to_string())
        .and_then(|text| serde_json::from_str::<IndexHead>(text).map_err(|e| e.to_string()))
        .and_then(|head| match head.schema_version {
            SCHEMA_VERSION => Ok(head),
            other => Err(format!("schema_version {other} is not {SCHEMA_VERSION}")),
        });
    match parsed {
        Ok(head) => Ok((bytes, head.newest())),
        Err(e) => {
            // Operator log only; the response carries just the error code.
            eprintln!("status-reader: stored servers index rejected: {e}");
            Err(ServeError::InvalidIndex)
        }
    }
}

/// Answers `GET /servers`: the stored index byte for byte, with a content tag (no
/// `_cache`: the index vouches for nothing; each entry's `state` is the refresher's word as
/// of its `updated_at`, and `/servers/{id}` says whether it still holds).
pub fn serve_index(req: &RequestHead, read: Result<(Vec<u8>, u64), ServeError>) -> Response {
    let (stored, newest) = match read {
        Ok(read) => read,
        Err(e) => return Response::error(e),
    };
    let cache_control = format!(
        "public, max-age={INDEX_MAX_AGE_S}, stale-while-revalidate={INDEX_MAX_AGE_S}, \
         stale-if-error={}",
        cache::STALE_IF_ERROR_S
    );
    let tag = format!("\"i-{:x}-{:016x}\"", stored.len(), fingerprint(&stored));
    let headers = match with_validators(
        req,
        vec![("cache-control", cache_control)],
        newest as f64,
        tag,
    ) {
        Ok(headers) => headers,
        Err(not_modified) => return not_modified,
    };
    let mut r = Response::json(200, stored);
    r.headers.extend(headers);
    r
}

/// What a server's pages get from the read of its document: for any server but `default`,
/// neither key existing means no such server (404 `unknown_server`, not worth retrying);
/// `default` keeps `status_unavailable` (503, retry), as `/server/status` always answered
/// before the first write.
pub fn known(fetched: Result<Fetched, ServeError>, id: &ServerId) -> Result<Fetched, ServeError> {
    match fetched {
        Err(ServeError::StatusUnavailable) if !id.is_default() => Err(ServeError::UnknownServer),
        other => other,
    }
}

/// A 64-bit fingerprint of a stored value for its `ETag`, which must change with any
/// rewrite (the index and the page have no sequence number of their own): FNV-1a's step
/// over 8-byte words, not bytes, as it runs on every request over tens of kilobytes. A
/// cache validator, not a security boundary.
pub(crate) fn fingerprint(bytes: &[u8]) -> u64 {
    let mut words = bytes.chunks_exact(8);
    let step = |hash: u64, word: u64| (hash ^ word).wrapping_mul(0x0000_0100_0000_01b3);
    let hash = words.by_ref().fold(0xcbf2_9ce4_8422_2325, |hash, w| {
        step(
            hash,
            u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]),
        )
    });
    let mut tail = [0u8; 8];
    tail[..words.remainder().len()].copy_from_slice(words.remainder());
    step(step(hash, u64::from_le_bytes(tail)), bytes.len() as u64)
}

#[cfg(test)]
mod tests;
