//! Reading the document: the primary key, and the last-known-good copy only when the
//! primary is missing.
//!
//! The happy path is exactly one `GET`. A primary key that exists but cannot be read or
//! served (wrong type, corrupt) is reported as such rather than papered over with the
//! last-good copy: that is a bug in whatever wrote it, and the operator must see it.

use status_document::keys::last_good_key;
use status_document::{DocumentView, ViewError};

use crate::error::ServeError;
use crate::store::Store;

/// Which key the served bytes came from (defined with the key names in the document crate,
/// because the vouched state depends on it).
pub use status_document::Source;

/// Stored bytes and where they came from (not yet validated).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    pub bytes: Vec<u8>,
    pub source: Source,
}

/// `GET <key>`, and `GET <key>:last_good` only when the first is missing.
pub async fn fetch<S: Store>(store: &S, status_key: &str) -> Result<Fetched, ServeError> {
    if let Some(bytes) = store.get(status_key).await? {
        return Ok(Fetched {
            bytes,
            source: Source::Primary,
        });
    }
    match store.get(&last_good_key(status_key)).await? {
        Some(bytes) => Ok(Fetched {
            bytes,
            source: Source::LastGood,
        }),
        None => Err(ServeError::StatusUnavailable),
    }
}

/// Validates stored bytes as a v1 document (one `serde_json` pass), logging why not.
pub fn validate(bytes: &[u8]) -> Result<DocumentView<'_>, ServeError> {
    DocumentView::parse(bytes).map_err(|e: ViewError| {
        // Operator log only; the response carries just the error code.
        eprintln!("status-reader: stored status rejected: {e}");
        ServeError::from(&e)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ready::now;
    use crate::store::StoreError;
    use crate::store::memory::MemoryStore;

    #[test]
    fn primary_costs_one_get() {
        let s = MemoryStore::default()
            .with("k", b"p", 10)
            .with("k:last_good", b"l", -1);
        let f = now(fetch(&s, "k")).unwrap().unwrap();
        assert_eq!((f.bytes.as_slice(), f.source), (&b"p"[..], Source::Primary));
        assert_eq!(s.calls(), ["GET k"]);
    }

    #[test]
    fn last_good_only_when_primary_missing() {
        let s = MemoryStore::default().with("k:last_good", b"l", -1);
        let f = now(fetch(&s, "k")).unwrap().unwrap();
        assert_eq!(f.source, Source::LastGood);
        assert_eq!(s.calls(), ["GET k", "GET k:last_good"]);

        let s = MemoryStore::default()
            .failing("k", StoreError::WrongType)
            .with("k:last_good", b"l", -1);
        assert_eq!(now(fetch(&s, "k")).unwrap(), Err(ServeError::WrongType));
        assert_eq!(s.calls(), ["GET k"]);
    }

    #[test]
    fn neither_or_failing() {
        let s = MemoryStore::default();
        assert_eq!(
            now(fetch(&s, "k")).unwrap(),
            Err(ServeError::StatusUnavailable)
        );
        let s = MemoryStore::default().failing("k", StoreError::Unavailable);
        assert_eq!(
            now(fetch(&s, "k")).unwrap(),
            Err(ServeError::RedisUnavailable)
        );
        let s = MemoryStore::default().failing("k:last_good", StoreError::Unavailable);
        assert_eq!(
            now(fetch(&s, "k")).unwrap(),
            Err(ServeError::RedisUnavailable)
        );
    }
}
