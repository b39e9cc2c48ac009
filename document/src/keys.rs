//! Redis key names shared by the refresher and the reader.

use std::borrow::Cow;

/// Default key of the status document.
pub const DEFAULT_STATUS_KEY: &str = "server:status";

/// Key read each refresh cycle for a live override of the refresh interval (seconds).
pub const INTERVAL_OVERRIDE_KEY: &str = "config:status_interval";

/// Bounds for the live interval override; values outside are ignored with a warning.
pub const MIN_INTERVAL_S: u64 = 10;
pub const MAX_INTERVAL_S: u64 = 86_400;

/// The last-known-good copy: written with every successful refresh, never expires, so the
/// reader can still serve the last data (marked stale) after the primary key's TTL.
pub fn last_good_key(status_key: &str) -> String {
    format!("{status_key}:last_good")
}

/// Which key a served document was read from. It decides how much the reader can vouch
/// for (see [`vouched_state`](crate::freshness::vouched_state)): the primary key exists
/// only while the refresher keeps it alive, the last-good copy outlives every outage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Primary,
    LastGood,
}

impl Source {
    /// The spelling in `_cache.source` and the debug endpoint.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Primary => "primary",
            Source::LastGood => "last_good",
        }
    }

    /// The Redis key this source reads, given the configured status key.
    pub fn key(self, status_key: &str) -> Cow<'_, str> {
        match self {
            Source::Primary => Cow::Borrowed(status_key),
            Source::LastGood => Cow::Owned(last_good_key(status_key)),
        }
    }
}

/// The channel refreshers listen on for "refresh now" nudges, unless
/// `STATUS_REFRESH_CHANNEL` names another.
pub fn refresh_channel(status_key: &str) -> String {
    format!("{status_key}:refresh")
}

/// The history: uptime, incidents and players over time, one bounded document
/// written by the lease holder beside the status document (see [`crate::history`]).
pub fn history_key(status_key: &str) -> String {
    format!("{status_key}:history")
}

/// The lease that lets only one of several refresher replicas write.
pub fn lock_key(status_key: &str) -> String {
    format!("{status_key}:lock")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_keys() {
        for (derived, expected) in [
            (last_good_key("server:status"), "server:status:last_good"),
            (lock_key("a"), "a:lock"),
            (history_key("server:status"), "server:status:history"),
            (refresh_channel("server:status"), "server:status:refresh"),
            (refresh_channel("eu:status"), "eu:status:refresh"),
            (Source::Primary.key("a").into_owned(), "a"),
            (Source::LastGood.key("a").into_owned(), "a:last_good"),
            (Source::LastGood.as_str().to_owned(), "last_good"),
        ] {
            assert_eq!(derived, expected);
        }
    }
}
