//! Flap control: which published states become messages, and how many.
//!
//! The [`Ledger`] is what the writer remembers between rounds, kept in Redis with the
//! outbox (see [`crate::write::outbox`]) so a restart or a takeover carries on from it:
//!
//! - `told`: the state people last heard about (or, on a fresh install, the first state
//!   seen, which is nobody's news);
//! - `candidate`: the state published now, and since when;
//! - `sent`: when the messages of the last hour went out.
//!
//! A candidate is announced once it has held for `STATUS_NOTIFY_HOLD` and differs from
//! `told`. So an offline→online→offline inside the hold, with people told "offline", ends
//! where it started and says nothing; and every change that holds is said once. The rate
//! limit counts announcements in a sliding hour: the one past `STATUS_NOTIFY_MAX_PER_HOUR`
//! becomes a single summary, and then nothing is said until the hour allows again; then the
//! state of that moment is said (if people were not already told it).
//!
//! Every target gets every announcement, so one window stands for each target's own.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use status_document::{State, StateReason};

pub use crate::published::Observed;

/// The length of the rate limit's window.
pub const HOUR_S: f64 = 3600.0;

/// A state, and since when it has been published.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Seen {
    pub now: Observed,
    pub since: f64,
}

/// What people are to be told.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Announcement {
    /// The state changed: `to` has held for the hold; `from` is what people knew before.
    Change { from: Option<Seen>, to: Seen },
    /// Too many changes: the one message past the hour's limit, with the state now.
    Summary {
        now: Seen,
        sent_in_hour: u32,
        quiet_until: f64,
    },
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Ledger {
    pub told: Option<Seen>,
    pub candidate: Option<Seen>,
    /// Unix times of the announcements of the last hour (at most the hour's limit).
    pub sent: Vec<f64>,
    /// After a summary: nothing more until then.
    pub quiet_until: Option<f64>,
}

impl Ledger {
    /// Takes what is published at `now`. Returns whether the ledger changed in a way worth
    /// saving (a new candidate; a newer players count alone is not).
    pub fn observe(&mut self, now_seen: &Observed, now: f64) -> bool {
        // `unknown` says nothing about the game server: it neither starts nor ends a state.
        if now_seen.state == State::Unknown {
            return false;
        }
        match self.candidate.as_mut() {
            Some(c) if c.now.key() == now_seen.key() => {
                c.now = now_seen.clone();
                false
            }
            _ => {
                // The probe knows when the server stopped answering; otherwise it is now.
                let since = match now_seen.reason {
                    Some(
                        StateReason::Unreachable | StateReason::Timeout | StateReason::BadAnswer,
                    ) => now_seen.probe_since.unwrap_or(now),
                    None => now,
                };
                self.candidate = Some(Seen {
                    now: now_seen.clone(),
                    since: since.min(now),
                });
                if self.told.is_none() {
                    // A fresh install: the first state is nobody's news.
                    self.told = self.candidate.clone();
                }
                true
            }
        }
    }

    /// The candidate, while people have not been told its state (`None`: nothing new to
    /// say, whatever the clock).
    fn untold(&self) -> Option<&Seen> {
        let candidate = self.candidate.as_ref()?;
        let told = self
            .told
            .as_ref()
            .is_some_and(|t| t.now.key() == candidate.now.key());
        (!told).then_some(candidate)
    }

    /// What to announce at `now`, if anything (at most one announcement per call; the
    /// caller saves the ledger with it).
    pub fn due(&mut self, now: f64, hold: Duration, max_per_hour: u32) -> Option<Announcement> {
        let candidate = self.untold()?.clone();
        if now - candidate.since < hold.as_secs_f64() {
            return None;
        }
        if self.quiet_until.is_some_and(|q| now < q) {
            return None;
        }
        self.quiet_until = None;
        self.sent.retain(|t| now - t < HOUR_S);
        if self.sent.len() >= max_per_hour as usize {
            let quiet_until = self.sent.first().map_or(now, |t| t + HOUR_S);
            self.quiet_until = Some(quiet_until);
            self.told = Some(candidate.clone());
            return Some(Announcement::Summary {
                now: candidate,
                sent_in_hour: self.sent.len() as u32,
                quiet_until,
            });
        }
        self.sent.push(now);
        let from = self.told.replace(candidate.clone());
        Some(Announcement::Change {
            from,
            to: candidate,
        })
    }

    /// When [`Ledger::due`] may next have something to say (`None`: not before a new
    /// observation).
    pub fn next_due(&self, hold: Duration) -> Option<f64> {
        let candidate = self.untold()?;
        let held = candidate.since + hold.as_secs_f64();
        Some(self.quiet_until.map_or(held, |q| q.max(held)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obs(state: State, reason: Option<StateReason>) -> Observed {
        Observed {
            state,
            reason,
            players: None,
            message: None,
            maintenance_until: None,
            probe_since: None,
        }
    }

    fn online() -> Observed {
        obs(State::Online, None)
    }

    fn down() -> Observed {
        obs(State::Offline, Some(StateReason::Unreachable))
    }

    const HOLD: Duration = Duration::from_secs(60);

    #[test]
    fn the_first_state_is_no_news_and_a_change_is_told_once_after_the_hold() {
        let mut l = Ledger::default();
        assert!(l.observe(&online(), 0.0));
        assert_eq!(l.due(100.0, HOLD, 10), None, "nobody's news");
        assert!(l.observe(&down(), 200.0));
        assert!(!l.observe(&down(), 210.0));
        assert_eq!(l.due(259.0, HOLD, 10), None, "held 59 s");
        assert_eq!(l.next_due(HOLD), Some(260.0));
        let Some(Announcement::Change { from, to }) = l.due(260.0, HOLD, 10) else {
            panic!("no change")
        };
        assert_eq!(from.unwrap().now, online());
        assert_eq!((to.now, to.since), (down(), 200.0));
        assert_eq!(l.due(261.0, HOLD, 10), None, "once");
        assert_eq!(l.next_due(HOLD), None);
    }

    #[test]
    fn a_flap_inside_the_hold_says_nothing() {
        let mut l = Ledger::default();
        l.observe(&online(), 0.0);
        l.observe(&down(), 100.0);
        l.observe(&online(), 130.0);
        assert_eq!(l.due(200.0, HOLD, 10), None, "back where people were told");
        l.observe(&down(), 300.0);
        assert!(l.due(330.0, HOLD, 10).is_none());
        l.observe(&online(), 340.0);
        l.observe(&down(), 350.0);
        assert!(l.due(400.0, HOLD, 10).is_none(), "the hold restarts at 350");
        assert!(matches!(
            l.due(410.0, HOLD, 10),
            Some(Announcement::Change { .. })
        ));
    }

    #[test]
    fn the_probe_dates_an_outage() {
        let mut l = Ledger::default();
        l.observe(&online(), 0.0);
        let mut d = down();
        d.probe_since = Some(95.0);
        l.observe(&d, 100.0);
        assert_eq!(l.candidate.as_ref().unwrap().since, 95.0);
    }

    #[test]
    fn unknown_neither_starts_nor_ends_a_state() {
        let mut l = Ledger::default();
        l.observe(&online(), 0.0);
        assert!(!l.observe(&obs(State::Unknown, None), 10.0));
        assert_eq!(l.candidate.as_ref().unwrap().now, online());
    }

    /// A thousand flips in a minute, announced at once (no hold): at most the hour's limit
    /// of changes plus one summary, whatever the pattern; then quiet until the hour allows.
    #[test]
    fn a_thousand_flips_in_a_minute_give_at_most_the_limit_plus_one_summary() {
        for max in [1, 5, 10] {
            let mut l = Ledger::default();
            l.observe(&online(), 0.0);
            let (mut changes, mut summaries) = (0, 0);
            for i in 0..1000 {
                let now = 1000.0 + i as f64 * 0.06;
                let o = if i % 2 == 0 { down() } else { online() };
                l.observe(&o, now);
                match l.due(now, Duration::ZERO, max) {
                    Some(Announcement::Change { .. }) => changes += 1,
                    Some(Announcement::Summary { sent_in_hour, .. }) => {
                        assert_eq!(sent_in_hour, max);
                        summaries += 1
                    }
                    None => {}
                }
            }
            assert_eq!((changes, summaries), (max, 1), "max {max}");
            // Quiet until the first of the hour's messages is an hour old, then the state
            // of that moment, if it is not what the summary said.
            let quiet = l.quiet_until.unwrap();
            assert_eq!(quiet, 1000.0 + HOUR_S);
            l.observe(&down(), 2000.0);
            assert_eq!(l.due(quiet - 1.0, Duration::ZERO, max), None);
            let told = l.told.clone().unwrap().now;
            let after = l.due(quiet, Duration::ZERO, max);
            assert_eq!(after.is_some(), told != down(), "max {max}");
        }
    }
}
