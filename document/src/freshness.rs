//! Freshness math: everything a reader needs is in the document itself, so judging it costs
//! no second Redis call.

use crate::keys::Source;
use crate::live::GameServer;
use crate::state::State;

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
    /// cache may keep the response for without missing a newer document. With a game-server
    /// probe, the next probe's write counts as a refresh (see [`Freshness::with_probe`]).
    pub seconds_until_due: u64,
    /// The game-server probe has missed its deadline: its word (and so the state) can no
    /// longer be vouched for. Always false without a probe.
    pub probe_overdue: bool,
}

impl Freshness {
    /// Takes the game-server probe's clock into account: the probe rewrites the document
    /// every `interval_s`, so a cache must not keep it longer than that (the state may have
    /// changed), and past the probe's deadline nobody vouches for the state any more.
    pub fn with_probe(mut self, probe: Option<&GameServer>, now: f64) -> Freshness {
        if let Some(probe) = probe {
            self.seconds_until_due = self.seconds_until_due.min(probe.seconds_until_next(now));
            self.probe_overdue = probe.overdue(now);
        }
        self
    }
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
        probe_overdue: false,
    }
}

/// The state the reader vouches for (`_cache.state`): the document's own `state` while the
/// document comes from the primary key and is within its TTL (and, with a game-server probe,
/// the probe within its deadline); [`State::Unknown`] once it is past the TTL, served from
/// the last-good copy, or the probe has stopped.
///
/// Why: the most common failure of public status pages is a server shown online after it went
/// down, because the checker itself stopped. A last-good copy or an expired document says
/// what the state *was* (the reader keeps it visible as `last_known_state`), not what it is.
/// An overdue but unexpired primary document is still vouched for: the refresher is late,
/// the TTL is the operator's statement of how long a document may be believed. A probe that
/// stopped is the checker stopping, and is treated as such within seconds. Every
/// endpoint that shows a state (document, debug, health, simple, badge, widget) calls this
/// one function, so they cannot disagree.
pub fn vouched_state(document_state: State, freshness: &Freshness, source: Source) -> State {
    if source == Source::Primary && !freshness.expired && !freshness.probe_overdue {
        document_state
    } else {
        State::Unknown
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

    fn any_state() -> impl Strategy<Value = State> {
        proptest::sample::select(State::ALL.to_vec())
    }

    #[test]
    fn vouched_state_table() {
        let fresh = freshness(1000.0, 600, 900, 1100.0);
        let overdue = freshness(1000.0, 600, 900, 1700.0);
        let expired = freshness(1000.0, 600, 900, 1900.5);
        for state in State::ALL {
            assert_eq!(vouched_state(state, &fresh, Source::Primary), state);
            assert_eq!(vouched_state(state, &overdue, Source::Primary), state);
            assert_eq!(
                vouched_state(state, &expired, Source::Primary),
                State::Unknown
            );
            for f in [fresh, overdue, expired] {
                assert_eq!(vouched_state(state, &f, Source::LastGood), State::Unknown);
            }
        }
    }

    #[test]
    fn a_stopped_probe_is_not_vouched_for() {
        let probe = GameServer {
            reachable: true,
            checked_at: 1000.0,
            latency_ms: Some(1.0),
            since: 900.0,
            addr_count: 1,
            interval_s: 10,
            deadline_s: 30,
            failure: None,
        };
        let f = freshness(995.0, 600, 900, 1004.0).with_probe(Some(&probe), 1004.0);
        assert_eq!(
            f.seconds_until_due, 6,
            "the next probe, not the next refresh"
        );
        assert!(!f.probe_overdue);
        assert_eq!(
            vouched_state(State::Online, &f, Source::Primary),
            State::Online
        );
        let f = freshness(995.0, 600, 900, 1031.0).with_probe(Some(&probe), 1031.0);
        assert!(f.probe_overdue && f.fresh && !f.expired);
        assert_eq!(f.seconds_until_due, 0);
        for state in State::ALL {
            assert_eq!(vouched_state(state, &f, Source::Primary), State::Unknown);
        }
        let without = freshness(995.0, 600, 900, 1031.0);
        assert_eq!(without.with_probe(None, 1031.0), without);
    }

    proptest! {
        /// The freshness x state x source table: a document past its TTL, or from the
        /// last-good copy, is never vouched for as anything but unknown — in particular
        /// never online — and within the TTL from the primary the document's word stands.
        #[test]
        fn never_vouches_for_an_expired_or_last_good_document(
            updated_at in -1e10f64..1e10, now in -1e10f64..1e10,
            interval in 0u64..100_000, ttl in 0u64..100_000,
            state in any_state(), primary in any::<bool>(),
        ) {
            let f = freshness(updated_at, interval, ttl, now);
            let source = if primary { Source::Primary } else { Source::LastGood };
            let vouched = vouched_state(state, &f, source);
            if f.expired || !primary {
                prop_assert_eq!(vouched, State::Unknown);
            } else {
                prop_assert_eq!(vouched, state);
            }
            if vouched == State::Online {
                prop_assert!(primary && f.age_seconds <= ttl as f64);
            }
        }
    }
}
