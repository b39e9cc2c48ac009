//! Every way a request can fail, with its status, stable error code and fixed message.
//!
//! Bodies are `{"error":"<code>","message":"<text>"}` built with `serde_json`. Messages are
//! constants: nothing from Redis, the request or the configuration (addresses, credentials,
//! parser detail) ever reaches a response. The component logs the detail instead.

use serde::Serialize;
use status_document::ViewError;

use crate::store::StoreError;

/// A failure that ends a request with a JSON error response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServeError {
    /// Neither the status key nor its `:last_good` copy exists: nothing has been published.
    StatusUnavailable,
    /// Redis could not be reached or answered with an error.
    RedisUnavailable,
    /// The stored value is not JSON.
    InvalidJson,
    /// The stored value is JSON but not a status document.
    InvalidDocument,
    /// The stored document has a `schema_version` this reader does not know.
    UnsupportedSchemaVersion,
    /// The stored value is over `MAX_DOCUMENT_BYTES`.
    DocumentTooLarge,
    /// The status key holds a non-string Redis type.
    WrongType,
    /// No history has been recorded yet: `<key>:history` does not exist.
    HistoryUnavailable,
    /// The stored history cannot be served: not JSON, another shape or version, or out of
    /// its bounds.
    InvalidHistory,
    /// The stored history is over `MAX_HISTORY_BYTES`.
    HistoryTooLarge,
    NotFound,
    /// `/servers/{id}` with a value that is not a server id, or an id with no document:
    /// refused before any key is built from it, and never retried (unlike
    /// [`StatusUnavailable`](Self::StatusUnavailable), which is about the one server a
    /// deployment always has).
    UnknownServer,
    /// The stored servers index is missing: no refresher has published several servers.
    IndexUnavailable,
    /// The stored servers index is not JSON of the index's shape, or over its bound.
    InvalidIndex,
    /// A badge query option that cannot be drawn.
    InvalidOption(OptionError),
    MethodNotAllowed,
    UriTooLong,
    HeadersTooLarge,
}

/// Why a badge's query options were refused (`badge::options`); each names the parameter
/// at fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptionError {
    Query,
    LabelTooLong,
    LabelCharacters,
    Style,
    Lang,
    Show,
}

impl OptionError {
    /// A fixed sentence for the 400 body (never echoes the request).
    pub fn message(self) -> &'static str {
        match self {
            OptionError::Query => "the query string is not valid percent-encoded UTF-8",
            OptionError::LabelTooLong => "label is longer than 64 characters",
            OptionError::LabelCharacters => {
                "label contains control or bidirectional-override characters"
            }
            OptionError::Style => "style must be flat, flat-square or for-the-badge",
            OptionError::Lang => "lang must be en or ru",
            OptionError::Show => {
                "show takes a comma-separated list of exp, pvp, pve, skill, color_mob, players, uptime"
            }
        }
    }
}

impl ServeError {
    pub fn status(self) -> u16 {
        match self {
            ServeError::StatusUnavailable
            | ServeError::RedisUnavailable
            | ServeError::HistoryUnavailable
            | ServeError::IndexUnavailable => 503,
            ServeError::InvalidHistory | ServeError::HistoryTooLarge | ServeError::InvalidIndex => {
                502
            }
            ServeError::InvalidJson
            | ServeError::InvalidDocument
            | ServeError::UnsupportedSchemaVersion
            | ServeError::DocumentTooLarge
            | ServeError::WrongType => 502,
            ServeError::NotFound | ServeError::UnknownServer => 404,
            ServeError::InvalidOption(_) => 400,
            ServeError::MethodNotAllowed => 405,
            ServeError::UriTooLong => 414,
            ServeError::HeadersTooLarge => 431,
        }
    }

    /// The stable, machine-readable code clients and monitors branch on.
    pub fn code(self) -> &'static str {
        match self {
            ServeError::StatusUnavailable => "status_unavailable",
            ServeError::RedisUnavailable => "redis_unavailable",
            ServeError::InvalidJson => "invalid_json",
            ServeError::InvalidDocument => "invalid_document",
            ServeError::UnsupportedSchemaVersion => "unsupported_schema_version",
            ServeError::DocumentTooLarge => "document_too_large",
            ServeError::WrongType => "wrong_type",
            ServeError::HistoryUnavailable => "history_unavailable",
            ServeError::InvalidHistory => "invalid_history",
            ServeError::HistoryTooLarge => "history_too_large",
            ServeError::NotFound => "not_found",
            ServeError::UnknownServer => "unknown_server",
            ServeError::IndexUnavailable => "index_unavailable",
            ServeError::InvalidIndex => "invalid_index",
            ServeError::InvalidOption(_) => "invalid_option",
            ServeError::MethodNotAllowed => "method_not_allowed",
            ServeError::UriTooLong => "uri_too_long",
            ServeError::HeadersTooLarge => "headers_too_large",
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            ServeError::StatusUnavailable => "the server status has not been published yet",
            ServeError::RedisUnavailable => "the status store is unavailable",
            ServeError::InvalidJson => "the stored status is not valid JSON",
            ServeError::InvalidDocument => "the stored status is not a valid status document",
            ServeError::UnsupportedSchemaVersion => {
                "the stored status has a schema version this reader does not support"
            }
            ServeError::DocumentTooLarge => "the stored status is larger than allowed",
            ServeError::WrongType => "the status key holds a value of the wrong type",
            ServeError::HistoryUnavailable => "no history has been recorded yet",
            ServeError::InvalidHistory => "the stored history is not a valid history",
            ServeError::HistoryTooLarge => "the stored history is larger than allowed",
            ServeError::NotFound => "no such endpoint",
            ServeError::UnknownServer => "no such game server",
            ServeError::IndexUnavailable => "no servers index has been published yet",
            ServeError::InvalidIndex => "the stored servers index is not a valid index",
            ServeError::InvalidOption(e) => e.message(),
            ServeError::MethodNotAllowed => "method not allowed",
            ServeError::UriTooLong => "request target too long",
            ServeError::HeadersTooLarge => "request header fields too large",
        }
    }

    /// `Retry-After` seconds for the transient 503s: long enough for a refresher to publish
    /// (or Redis to come back), short enough that monitors notice recovery quickly.
    pub fn retry_after(self) -> Option<u32> {
        match self {
            ServeError::StatusUnavailable
            | ServeError::HistoryUnavailable
            | ServeError::IndexUnavailable => Some(30),
            ServeError::RedisUnavailable => Some(5),
            _ => None,
        }
    }

    /// The JSON error body.
    pub fn body(self) -> Vec<u8> {
        #[derive(Serialize)]
        struct Body {
            error: &'static str,
            message: &'static str,
        }
        // Two static strings always serialise; the fallback only satisfies the type.
        serde_json::to_vec(&Body {
            error: self.code(),
            message: self.message(),
        })
        .unwrap_or_default()
    }
}

impl From<StoreError> for ServeError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable => ServeError::RedisUnavailable,
            StoreError::WrongType => ServeError::WrongType,
        }
    }
}

impl From<&ViewError> for ServeError {
    fn from(e: &ViewError) -> Self {
        match e {
            ViewError::TooLarge { .. } => ServeError::DocumentTooLarge,
            ViewError::NotJson => ServeError::InvalidJson,
            ViewError::WrongShape(_) => ServeError::InvalidDocument,
            ViewError::UnknownSchema(_) => ServeError::UnsupportedSchemaVersion,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [ServeError; 17] = [
        ServeError::StatusUnavailable,
        ServeError::RedisUnavailable,
        ServeError::InvalidJson,
        ServeError::InvalidDocument,
        ServeError::UnsupportedSchemaVersion,
        ServeError::DocumentTooLarge,
        ServeError::WrongType,
        ServeError::HistoryUnavailable,
        ServeError::InvalidHistory,
        ServeError::HistoryTooLarge,
        ServeError::NotFound,
        ServeError::UnknownServer,
        ServeError::IndexUnavailable,
        ServeError::InvalidIndex,
        ServeError::MethodNotAllowed,
        ServeError::UriTooLong,
        ServeError::HeadersTooLarge,
    ];

    #[test]
    fn bodies_are_json_with_distinct_codes() {
        let mut codes = std::collections::HashSet::new();
        for e in ALL {
            let v: serde_json::Value = serde_json::from_slice(&e.body()).unwrap();
            assert_eq!(v["error"], e.code());
            assert_eq!(v["message"], e.message());
            assert_eq!(v.as_object().unwrap().len(), 2);
            assert!(codes.insert(e.code()), "duplicate code {}", e.code());
            assert!((400..600).contains(&e.status()));
        }
    }

    #[test]
    fn status_classes() {
        assert_eq!(ServeError::StatusUnavailable.status(), 503);
        assert_eq!(ServeError::RedisUnavailable.status(), 503);
        assert_eq!(ServeError::WrongType.status(), 502);
        assert_eq!(
            ServeError::from(StoreError::WrongType),
            ServeError::WrongType
        );
        assert_eq!(
            ServeError::from(&ViewError::UnknownSchema(2)),
            ServeError::UnsupportedSchemaVersion
        );
        assert!(ServeError::StatusUnavailable.retry_after().is_some());
        assert!(ServeError::InvalidJson.retry_after().is_none());
        // An unknown server is the client's mistake: not worth retrying, never stored.
        assert_eq!(ServeError::UnknownServer.status(), 404);
        assert!(ServeError::UnknownServer.retry_after().is_none());
        assert_eq!(ServeError::IndexUnavailable.status(), 503);
        assert_eq!(ServeError::InvalidIndex.status(), 502);
    }
}
