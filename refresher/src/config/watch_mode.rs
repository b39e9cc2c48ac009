//! `STATUS_WATCH`, the watch mode: `interval`, `binlog` or `poll:<seconds>` (what each does
//! is in [`crate::read::watch`]).

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// Shortest poll period accepted: below a second the probe itself becomes the load.
pub const MIN_POLL_S: f64 = 1.0;
/// Longest poll period accepted: a day (beyond that the periodic refresh is quicker).
pub const MAX_POLL_S: f64 = 86_400.0;

/// The configured watch mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Watch {
    #[default]
    Interval,
    Binlog,
    Poll(Duration),
}

impl Watch {
    pub fn name(&self) -> &'static str {
        match self {
            Watch::Interval => "interval",
            Watch::Binlog => "binlog",
            Watch::Poll(_) => "poll",
        }
    }
}

impl fmt::Display for Watch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Watch::Poll(every) => write!(f, "poll:{}", every.as_secs_f64()),
            other => f.write_str(other.name()),
        }
    }
}

/// Why a `STATUS_WATCH` value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "expected interval, binlog or poll:<seconds> (seconds from {MIN_POLL_S} to {MAX_POLL_S}), got {0:?}"
)]
pub struct WatchError(pub String);

impl FromStr for Watch {
    type Err = WatchError;

    fn from_str(raw: &str) -> Result<Watch, WatchError> {
        let refuse = || WatchError(raw.chars().take(64).collect());
        let value = raw.trim();
        match value {
            "" | "interval" => return Ok(Watch::Interval),
            "binlog" => return Ok(Watch::Binlog),
            _ => {}
        }
        let seconds: f64 = value
            .strip_prefix("poll:")
            .and_then(|s| s.trim().parse().ok())
            .ok_or_else(refuse)?;
        if !(MIN_POLL_S..=MAX_POLL_S).contains(&seconds) {
            return Err(refuse());
        }
        Ok(Watch::Poll(Duration::from_secs_f64(seconds)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_parse_and_print() {
        assert_eq!("".parse(), Ok(Watch::Interval));
        assert_eq!("interval".parse(), Ok(Watch::Interval));
        assert_eq!(" binlog ".parse(), Ok(Watch::Binlog));
        assert_eq!("poll:5".parse(), Ok(Watch::Poll(Duration::from_secs(5))));
        assert_eq!(
            "poll:2.5".parse(),
            Ok(Watch::Poll(Duration::from_millis(2500)))
        );
        assert_eq!(Watch::Poll(Duration::from_secs(5)).to_string(), "poll:5");
        for bad in [
            "poll",
            "poll:",
            "poll:0.5",
            "poll:x",
            "poll:90000",
            "BINLOG",
            "inotify",
        ] {
            assert!(bad.parse::<Watch>().is_err(), "{bad}");
        }
    }
}
