//! Redis key names shared by the refresher and the reader.

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

/// The lease that lets only one of several refresher replicas write.
pub fn lock_key(status_key: &str) -> String {
    format!("{status_key}:lock")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_keys() {
        assert_eq!(last_good_key("server:status"), "server:status:last_good");
        assert_eq!(lock_key("a"), "a:lock");
    }
}
