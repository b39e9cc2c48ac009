//! The live-change settings: the refresh channel, the gap between refreshes, the
//! change watcher, and what `refresh-now` needs.

use std::time::Duration;

use super::{
    Args, ConfigError, Redis, Watch, parse_key, parse_seconds, parse_timeout, positive_seconds,
    read,
};
use status_document::keys::refresh_channel;

/// Shortest `STATUS_MIN_REFRESH_GAP`: the gap is what bounds the database's load under a
/// flood of nudges, so it cannot be turned off.
pub const MIN_GAP_S: f64 = 0.1;
/// Longest `STATUS_MIN_REFRESH_GAP`: an hour (longer defeats refreshing on demand).
pub const MAX_GAP_S: f64 = 3600.0;
/// Longest `refresh-now --wait-timeout`.
pub const MAX_WAIT_S: f64 = 600.0;

/// `STATUS_REFRESH_CHANNEL`: empty means `<STATUS_KEY>:refresh`, `off` turns it off.
pub(super) fn parse_channel(raw: &str, status_key: &str) -> Result<Option<String>, ConfigError> {
    match raw.trim() {
        "" => Ok(Some(refresh_channel(status_key))),
        "off" => Ok(None),
        _ => parse_key("STATUS_REFRESH_CHANNEL", raw).map(Some),
    }
}

/// `STATUS_MIN_REFRESH_GAP`: seconds, fractions allowed.
pub(super) fn parse_gap(raw: &str) -> Result<Duration, ConfigError> {
    parse_seconds(
        "STATUS_MIN_REFRESH_GAP",
        raw,
        |s| (MIN_GAP_S..=MAX_GAP_S).contains(&s),
        &format!("seconds from {MIN_GAP_S} to {MAX_GAP_S}"),
    )
}

/// `STATUS_WATCH`: `interval`, `binlog` or `poll:<seconds>`.
pub(super) fn parse_watch(raw: &str) -> Result<Watch, ConfigError> {
    raw.parse::<Watch>()
        .map_err(|e| ConfigError::new("STATUS_WATCH", e.to_string()))
}

/// What asks for a refresh besides the interval, and how often it may.
#[derive(Clone, Debug)]
pub struct LiveSettings {
    /// `STATUS_REFRESH_CHANNEL`; `None` when turned off.
    pub channel: Option<String>,
    /// `STATUS_MIN_REFRESH_GAP`: nudges coalesce to at most one refresh per gap.
    pub min_gap: Duration,
    /// `STATUS_WATCH`.
    pub watch: Watch,
}

/// What `refresh-now` needs: Redis, the keys, and its own timeouts (no database).
#[derive(Clone)]
pub struct RefreshNowConfig {
    /// `REDIS_URL` or the Sentinel settings: `refresh-now` publishes on the primary.
    pub redis: Redis,
    pub status_key: String,
    pub channel: String,
    pub timeout: Duration,
    /// With `--wait`: how long to wait for the document to move.
    pub wait: Option<Duration>,
}

impl RefreshNowConfig {
    pub fn from_args(
        args: &Args,
        wait: bool,
        wait_timeout: &str,
    ) -> Result<RefreshNowConfig, ConfigError> {
        let status_key = parse_key("STATUS_KEY", &args.status_key)?;
        let channel =
            parse_channel(&args.status_refresh_channel, &status_key)?.ok_or_else(|| {
                ConfigError::new(
                    "STATUS_REFRESH_CHANNEL",
                    "is off, so no refresher listens for refresh-now",
                )
            })?;
        // Not an environment variable: the error names the flag alone.
        let wait_for = read("--wait-timeout", wait_timeout, |s, got| {
            positive_seconds(s, MAX_WAIT_S, got)
        })
        .map_err(|e| ConfigError {
            flag: "wait-timeout".into(),
            ..e
        })?;
        Ok(RefreshNowConfig {
            redis: super::sentinel::parse_redis(args)?,
            status_key,
            channel,
            timeout: parse_timeout(&args.status_timeout)?,
            wait: wait.then_some(wait_for),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_defaults_to_the_status_key_and_can_be_turned_off() {
        assert_eq!(
            parse_channel("", "eu:status").unwrap().as_deref(),
            Some("eu:status:refresh")
        );
        assert_eq!(parse_channel("off", "k").unwrap(), None);
        assert_eq!(
            parse_channel("ops:nudge", "k").unwrap().as_deref(),
            Some("ops:nudge")
        );
        assert_eq!(
            parse_channel("a b", "k").unwrap_err().variable,
            "STATUS_REFRESH_CHANNEL"
        );
    }

    #[test]
    fn gap_and_watch_bounds() {
        assert_eq!(parse_gap("2").unwrap(), Duration::from_secs(2));
        assert_eq!(parse_gap("0.5").unwrap(), Duration::from_millis(500));
        for bad in ["0", "0.05", "3601", "x", "NaN", ""] {
            assert_eq!(
                parse_gap(bad).unwrap_err().variable,
                "STATUS_MIN_REFRESH_GAP"
            );
        }
        assert_eq!(parse_watch("binlog").unwrap(), Watch::Binlog);
        assert_eq!(parse_watch("poll:0").unwrap_err().variable, "STATUS_WATCH");
    }
}
