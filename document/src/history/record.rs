//! The refresher's half: every write it vouches for becomes an [`Observation`], and
//! [`History::record`] turns the time since the previous one into seconds of the state that
//! was vouched for (and of `unknown` past the vouch), an incident when the state changed, and
//! a [`Note`] for anything an operator should hear about (a gap, a clock that went back).

use serde::{Deserialize, Serialize};

use super::{COARSE_BUCKETS, DAILY_BUCKETS, FINE_BUCKETS, History, Series};
use crate::live::StateReason;
use crate::state::State;

/// Observation times beyond this (year 5138) are refused rather than risk overflow.
const MAX_UNIX_S: f64 = 1e11;

/// Whole unix seconds of a time, if it is a usable one.
fn whole_seconds(at: f64) -> Option<i64> {
    (at.is_finite() && (0.0..MAX_UNIX_S).contains(&at)).then(|| at.floor() as i64)
}

/// The last observation: where the next one continues from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Last {
    /// Whole unix seconds up to which time has been recorded.
    pub at: i64,
    pub state: State,
    /// Up to when `state` is vouched for; past it, time is unknown.
    pub until: i64,
    /// Since when `state` has held.
    pub state_since: i64,
}

/// One write the refresher vouches for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Observation {
    /// Unix seconds (the refresher's clock at the write).
    pub at: f64,
    pub state: State,
    pub reason: Option<StateReason>,
    pub players: Option<u64>,
    /// How long this word may be believed: the probe's `deadline_s`, or without a probe,
    /// the document's time to live.
    pub vouch_s: u64,
    pub maintenance_until: Option<f64>,
}

impl Observation {
    /// `state` at `at`, vouched for `vouch_s`, and nothing else said: no reason, players or
    /// end of maintenance (what tests and the simplest callers need).
    pub fn plain(at: f64, state: State, vouch_s: u64) -> Observation {
        Observation {
            at,
            state,
            reason: None,
            players: None,
            vouch_s,
            maintenance_until: None,
        }
    }
}

/// Something [`History::record`] did that an operator should hear about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Note {
    /// The time is not a usable unix time; nothing was recorded.
    InvalidTime,
    /// The clock went back by this many seconds within the newest bucket: nothing is
    /// counted until it is past the last observation again.
    ClockStepBack { by_s: i64 },
    /// The clock went back past whole buckets: those "in the future" were dropped.
    FutureDropped { buckets: usize, incidents: usize },
    /// Nobody vouched for this many seconds before this observation: recorded as unknown.
    Gap { unknown_s: i64 },
}

impl History {
    /// Records one observation; returns what deserves a log line.
    pub fn record(&mut self, obs: &Observation) -> Vec<Note> {
        let mut notes = Vec::new();
        let Some(t) = whole_seconds(obs.at) else {
            notes.push(Note::InvalidTime);
            return notes;
        };
        let vouch = obs.vouch_s.min(MAX_UNIX_S as u64) as i64;
        self.seq += 1;
        self.updated_at = obs.at;
        let Some(mut last) = self.last else {
            // The first observation starts the period: there is no time before it to count.
            self.since = t;
            self.sample(t, obs.players);
            self.last = Some(Last {
                at: t,
                state: obs.state,
                until: t + vouch,
                state_since: t,
            });
            return notes;
        };
        let from = self.resume_from(t, obs.state, &mut last, &mut notes);
        let to = t.max(from);
        self.count(from, to, &last, &mut notes);
        self.sample(t, obs.players);
        let state_since = if obs.state == last.state {
            last.state_since
        } else {
            self.push_incident(to, &last, obs);
            to
        };
        self.last = Some(Last {
            at: to,
            state: obs.state,
            until: to + vouch,
            state_since,
        });
        notes
    }

    /// Where counting continues when the clock says `t`: from the last observation, unless
    /// the clock went back past whole buckets. Then what was recorded "in the future" is
    /// dropped, and `last` is made to continue from `t` in the observed `state`.
    fn resume_from(&mut self, t: i64, state: State, last: &mut Last, notes: &mut Vec<Note>) -> i64 {
        if t >= last.at {
            return last.at;
        }
        let future = |s: &Series| s.newest_start().is_some_and(|s| s > t);
        if !future(&self.fine) && !future(&self.coarse) && !future(&self.daily) {
            notes.push(Note::ClockStepBack { by_s: last.at - t });
            return last.at;
        }
        let buckets =
            self.fine.drop_after(t) + self.coarse.drop_after(t) + self.daily.drop_after(t);
        let incidents = self.drop_incidents_after(t);
        notes.push(Note::FutureDropped { buckets, incidents });
        self.fine.clamp_newest(t);
        self.coarse.clamp_newest(t);
        self.daily.clamp_newest(t);
        // What the clock said in the future is gone, its state with it: carry on from now,
        // without an incident for a change nobody saw happen.
        last.until = last.until.min(t);
        last.state = state;
        last.state_since = last.state_since.min(t);
        t
    }

    /// Counts `[from, to)`: as the last state up to where it was vouched for, as unknown
    /// beyond (and says so in a [`Note::Gap`]).
    fn count(&mut self, from: i64, to: i64, last: &Last, notes: &mut Vec<Note>) {
        let vouched_end = to.min(last.until.max(from));
        self.add(from, vouched_end, last.state);
        if to > vouched_end {
            self.add(vouched_end, to, State::Unknown);
            notes.push(Note::Gap {
                unknown_s: to - vouched_end,
            });
        }
    }

    fn add(&mut self, from: i64, to: i64, state: State) {
        self.fine.add(from, to, state, FINE_BUCKETS);
        self.coarse.add(from, to, state, COARSE_BUCKETS);
        self.daily.add(from, to, state, DAILY_BUCKETS);
    }

    fn sample(&mut self, t: i64, players: Option<u64>) {
        self.fine.sample(t, players, FINE_BUCKETS);
        self.coarse.sample(t, players, COARSE_BUCKETS);
        self.daily.sample(t, players, DAILY_BUCKETS);
    }
}
