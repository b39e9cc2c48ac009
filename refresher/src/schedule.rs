//! When the next refresh happens: the interval (configured, or overridden live through Redis)
//! after a success, an exponential backoff with jitter after a failure.

use std::time::Duration;

use status_document::keys::{MAX_INTERVAL_S, MIN_INTERVAL_S};

/// First retry delay after a failure.
pub const BACKOFF_BASE: Duration = Duration::from_secs(1);

/// Exponential backoff with jitter, capped at the refresh interval.
///
/// The delay doubles with each consecutive failure. It is then drawn uniformly from the upper
/// half of that value ("equal jitter"), so that replicas which failed together (say, when the
/// database restarted) do not retry in lock-step, while the delay still grows. It never
/// exceeds the interval: retrying less often than refreshing would make an outage look
/// longer than it was.
#[derive(Debug, Clone)]
pub struct Backoff {
    base: Duration,
    rng: fastrand::Rng,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff::new(BACKOFF_BASE, fastrand::Rng::new())
    }
}

impl Backoff {
    pub fn new(base: Duration, rng: fastrand::Rng) -> Backoff {
        Backoff { base, rng }
    }

    /// Delay before the next attempt after `failures` consecutive failures (>= 1).
    pub fn delay(&mut self, failures: u32, cap: Duration) -> Duration {
        let exponent = failures.saturating_sub(1).min(30);
        let full = self
            .base
            .checked_mul(1u32 << exponent)
            .unwrap_or(cap)
            .min(cap);
        let half = full / 2;
        let jitter_ns = self.rng.u64(0..=duration_ns(full - half));
        half + Duration::from_nanos(jitter_ns)
    }
}

fn duration_ns(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// Why a value of the interval override key was ignored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OverrideError {
    #[error("{0:?} is not a whole number of seconds")]
    NotANumber(String),
    #[error("{0} s is outside {MIN_INTERVAL_S}..={MAX_INTERVAL_S} s")]
    OutOfRange(u64),
}

/// Parses the live interval override (`config:status_interval`): whole seconds from
/// [`MIN_INTERVAL_S`] to [`MAX_INTERVAL_S`].
pub fn parse_override(raw: &str) -> Result<Duration, OverrideError> {
    let seconds: u64 = raw.trim().parse().map_err(|_| {
        let quoted: String = raw.chars().take(64).collect();
        OverrideError::NotANumber(quoted)
    })?;
    if (MIN_INTERVAL_S..=MAX_INTERVAL_S).contains(&seconds) {
        Ok(Duration::from_secs(seconds))
    } else {
        Err(OverrideError::OutOfRange(seconds))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_then_caps_at_the_interval() {
        let mut b = Backoff::new(Duration::from_secs(1), fastrand::Rng::with_seed(7));
        let cap = Duration::from_secs(600);
        let mut last_floor = Duration::ZERO;
        for failures in 1..=12 {
            let full = Duration::from_secs(1 << (failures - 1)).min(cap);
            for _ in 0..50 {
                let d = b.delay(failures, cap);
                assert!(d >= full / 2 && d <= full, "{failures}: {d:?}");
            }
            assert!(full / 2 >= last_floor, "never shrinks");
            last_floor = full / 2;
        }
        assert!(b.delay(u32::MAX, cap) <= cap);
        assert_eq!(last_floor, cap / 2);
    }

    #[test]
    fn jitter_spreads_replicas() {
        let mut b = Backoff::new(Duration::from_secs(1), fastrand::Rng::with_seed(1));
        let cap = Duration::from_secs(600);
        let delays: std::collections::BTreeSet<_> = (0..20).map(|_| b.delay(6, cap)).collect();
        assert!(delays.len() > 10, "{delays:?}");
    }

    #[test]
    fn a_tiny_interval_caps_everything() {
        let mut b = Backoff::default();
        let cap = Duration::from_millis(300);
        for failures in [1, 2, 10, 100] {
            assert!(b.delay(failures, cap) <= cap);
        }
        assert_eq!(b.delay(1, Duration::ZERO), Duration::ZERO);
    }

    #[test]
    fn override_bounds() {
        assert_eq!(parse_override("10"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_override(" 86400\n"), Ok(Duration::from_secs(86_400)));
        assert_eq!(parse_override("9"), Err(OverrideError::OutOfRange(9)));
        assert_eq!(
            parse_override("86401"),
            Err(OverrideError::OutOfRange(86_401))
        );
        assert!(matches!(
            parse_override("5m"),
            Err(OverrideError::NotANumber(_))
        ));
        assert!(matches!(
            parse_override("-30"),
            Err(OverrideError::NotANumber(_))
        ));
        assert!(matches!(
            parse_override("30.5"),
            Err(OverrideError::NotANumber(_))
        ));
    }
}
