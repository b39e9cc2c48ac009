//! Several game servers from one deployment: who they are, where their documents live, and
//! the small index that lists them.
//!
//! Every server has an id (from the refresher's servers file, or `default` for the
//! environment-only setup). The id is part of Redis keys and of URLs (`/servers/{id}`), so it
//! is validated here, once, for both halves: a value that is not an id never reaches a key.
//!
//! Keys: the `default` server's document is the status key itself (`server:status`), so a
//! deployment from before the servers file keeps its keys, URLs and tests; every other
//! server's is `<status key>:servers:<id>`, with its own `:last_good` and `:history` beside
//! it (the [`keys`](crate::keys) functions applied to that key). Ids cannot hold `:`, so no
//! id's keys can collide with another's or with the index (`<status key>:servers`).

use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Serialize};

mod headline;

pub use headline::Headline;
pub(crate) use headline::{whole_seconds, with_headline};

/// The id of the environment-only setup's one server, whose key is the status key itself.
pub const DEFAULT_SERVER_ID: &str = "default";

/// Longest id: it goes into keys and URLs, and people type it.
pub const MAX_ID_CHARS: usize = 32;

/// Longest display name kept in the index (longer ones are cut on a character boundary).
pub const MAX_NAME_CHARS: usize = 128;

/// Most servers one deployment may list: bounds the index and every per-server loop.
pub const MAX_SERVERS: usize = 2_000;

/// Bound on the stored index: [`MAX_SERVERS`] entries of about 250 bytes each.
pub const MAX_INDEX_BYTES: usize = 1024 * 1024;

/// Why a string is not a server id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("a server id cannot be empty")]
    Empty,
    #[error("a server id has at most {MAX_ID_CHARS} characters")]
    TooLong,
    #[error(
        "a server id starts with a lowercase letter or digit and holds only lowercase letters, \
         digits, '-' and '_' (found {found:?} at position {at})"
    )]
    Character { found: char, at: usize },
}

/// A validated server id: `[a-z0-9][a-z0-9_-]{0,31}`. URL-safe and key-safe as it is.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct ServerId(String);

impl ServerId {
    pub fn parse(text: &str) -> Result<ServerId, IdError> {
        if text.is_empty() {
            return Err(IdError::Empty);
        }
        for (at, found) in text.chars().enumerate() {
            if at >= MAX_ID_CHARS {
                return Err(IdError::TooLong);
            }
            let allowed = found.is_ascii_lowercase()
                || found.is_ascii_digit()
                || (at > 0 && (found == '-' || found == '_'));
            if !allowed {
                return Err(IdError::Character { found, at });
            }
        }
        Ok(ServerId(text.to_owned()))
    }

    /// The environment-only setup's server.
    pub fn default_id() -> ServerId {
        ServerId(DEFAULT_SERVER_ID.to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_default(&self) -> bool {
        self.0 == DEFAULT_SERVER_ID
    }
}

impl fmt::Display for ServerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for ServerId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        ServerId::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// The key of `id`'s status document: the status key for `default`, else
/// `<status key>:servers:<id>`.
pub fn server_key<'a>(status_key: &'a str, id: &ServerId) -> Cow<'a, str> {
    if id.is_default() {
        Cow::Borrowed(status_key)
    } else {
        Cow::Owned(format!("{status_key}:servers:{id}"))
    }
}

/// The key of the index of every server.
pub fn index_key(status_key: &str) -> String {
    format!("{status_key}:servers")
}

/// The index: one small document listing every server with what a list page shows. The
/// refresher rewrites it when a server's entry changes; `GET /servers` serves it whole.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerIndex {
    pub schema_version: u32,
    /// In the servers file's order.
    pub servers: Vec<IndexEntry>,
}

with_headline! {
    /// One server in the index: its headline, then where it stands in the fleet.
    /// `players`/`max_players` are absent where nothing counts them.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct IndexEntry {
        /// Which refresher group writes it (see the servers file's `--only`): a group
        /// replaces its own entries and keeps every other group's.
        pub group: String,
        /// The server's position in the servers file: the index's sort order across groups.
        pub order: u32,
    }
}

/// What the reader checks of a stored index before serving its bytes as they are: valid
/// JSON, this schema's version, each entry's id and time (for `Last-Modified`). The entries'
/// other fields are the refresher's, and are not built into values: the reader's `.wasm`
/// has a size budget, and a full [`ServerIndex`] parse costs about 11 KB of it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct IndexHead {
    pub schema_version: u32,
    pub servers: Vec<IndexStamp>,
}

/// An index entry as [`IndexHead`] reads it: its id checked (clients build URLs from it),
/// and its time.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct IndexStamp {
    pub id: ServerId,
    pub updated_at: u64,
}

impl IndexHead {
    /// The newest entry's `updated_at` (0 for an empty index).
    pub fn newest(&self) -> u64 {
        self.servers.iter().map(|s| s.updated_at).max().unwrap_or(0)
    }
}

/// `name` cut to [`MAX_NAME_CHARS`] characters, control characters removed.
pub fn display_name(name: &str) -> String {
    name.chars()
        .filter(|c| !c.is_control())
        .take(MAX_NAME_CHARS)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids() {
        for good in [
            "default",
            "main",
            "eu-1",
            "test_2",
            "0",
            "a".repeat(32).as_str(),
        ] {
            assert_eq!(ServerId::parse(good).map(|id| id.0), Ok(good.to_owned()));
        }
        for (bad, error) in [
            ("", IdError::Empty),
            (&"a".repeat(33), IdError::TooLong),
            ("Main", IdError::Character { found: 'M', at: 0 }),
            ("-x", IdError::Character { found: '-', at: 0 }),
            ("a:b", IdError::Character { found: ':', at: 1 }),
            ("a/b", IdError::Character { found: '/', at: 1 }),
            ("a b", IdError::Character { found: ' ', at: 1 }),
            ("é", IdError::Character { found: 'é', at: 0 }),
            ("..", IdError::Character { found: '.', at: 0 }),
        ] {
            assert_eq!(ServerId::parse(bad), Err(error), "{bad:?}");
        }
    }

    #[test]
    fn keys() {
        let id = |s| ServerId::parse(s).unwrap();
        assert_eq!(server_key("server:status", &id("default")), "server:status");
        assert_eq!(
            server_key("server:status", &id("eu-1")),
            "server:status:servers:eu-1"
        );
        assert_eq!(index_key("server:status"), "server:status:servers");
        // A server's own derived keys never meet another server's or the index.
        assert_ne!(
            crate::keys::history_key(&server_key("s", &id("a"))),
            server_key("s", &id("history"))
        );
    }

    #[test]
    fn an_id_is_checked_when_read_too() {
        assert!(serde_json::from_str::<ServerId>("\"ok-1\"").is_ok());
        assert!(serde_json::from_str::<ServerId>("\"../x\"").is_err());
    }

    #[test]
    fn names_are_bounded_plain_text() {
        assert_eq!(display_name("Main\u{7}\nrealm"), "Mainrealm");
        assert_eq!(
            display_name(&"я".repeat(500)).chars().count(),
            MAX_NAME_CHARS
        );
    }
}
