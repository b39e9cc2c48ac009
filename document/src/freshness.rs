//! Freshness math: everything a reader needs is in the document itself, so judging it costs
//! no second Redis call.

/// How old a document is, judged against the interval and TTL written into it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Freshness {
    /// Seconds since the database was read; never negative (a clock that runs behind the
    /// refresher's reads as age 0, not as a document from the future).
    pub age_seconds: f64,
    /// Within the refresh interval: the refresher has not yet missed a refresh.
    pub fresh: bool,
    /// Older than the TTL: only a last-known-good copy can still be this old.
    pub expired: bool,
    /// Whole seconds until the next refresh is due (0 once it is overdue). This is what a
    /// cache may keep the response for without missing a newer document.
    pub seconds_until_due: u64,
}

/// Judges a document with `updated_at`, `refresh_interval_s` and `ttl_s` at time `now`
/// (all unix seconds).
pub fn freshness(updated_at: f64, refresh_interval_s: u64, ttl_s: u64, now: f64) -> Freshness {
    let age = now - updated_at;
    let age_seconds = if age.is_finite() && age > 0.0 {
        age
    } else {
        0.0
    };
    let interval = refresh_interval_s as f64;
    let remaining = interval - age_seconds;
    let seconds_until_due = if remaining > 0.0 {
        remaining.floor() as u64
    } else {
        0
    };
    Freshness {
        age_seconds,
        fresh: age_seconds <= interval,
        expired: age_seconds > ttl_s as f64,
        seconds_until_due,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn just_written() {
        let f = freshness(1000.0, 600, 900, 1000.0);
        assert_eq!(f.age_seconds, 0.0);
        assert!(f.fresh && !f.expired);
        assert_eq!(f.seconds_until_due, 600);
    }

    #[test]
    fn boundaries() {
        let f = freshness(1000.0, 600, 900, 1600.0);
        assert!(f.fresh, "age == interval is still fresh");
        assert_eq!(f.seconds_until_due, 0);
        let f = freshness(1000.0, 600, 900, 1600.5);
        assert!(!f.fresh && !f.expired);
        let f = freshness(1000.0, 600, 900, 1900.5);
        assert!(f.expired);
        let f = freshness(1000.0, 600, 900, 1000.4);
        assert_eq!(
            f.seconds_until_due, 599,
            "rounds down: never promise more than is left"
        );
    }

    #[test]
    fn clock_skew_is_not_negative_age() {
        let f = freshness(2000.0, 600, 900, 1000.0);
        assert_eq!(f.age_seconds, 0.0);
        assert_eq!(f.seconds_until_due, 600);
        let f = freshness(f64::NAN, 600, 900, 1000.0);
        assert_eq!(f.age_seconds, 0.0);
    }

    proptest! {
        #[test]
        fn never_negative_and_bounded(u in -1e12f64..1e12, now in -1e12f64..1e12,
                                      i in 0u64..100_000, t in 0u64..100_000) {
            let f = freshness(u, i, t, now);
            prop_assert!(f.age_seconds >= 0.0);
            prop_assert!(f.seconds_until_due <= i);
            prop_assert_eq!(f.fresh, f.age_seconds <= i as f64);
        }
    }
}
