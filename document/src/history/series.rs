//! A run of equal-width buckets: where an interval of seconds lands, how the oldest buckets
//! fall off the cap, and how a clock that went back is cut out again. The fine (5-minute) and
//! coarse (1-hour) series are two of these with different widths and caps.

use serde::{Deserialize, Serialize};

use super::{Bucket, HistoryError, Seconds};
use crate::state::State;

/// A run of equal-width buckets, the first starting at `start` (unix seconds, a multiple of
/// the width), the newest last; at most `cap` of them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Series {
    pub start: i64,
    pub width_s: i64,
    pub buckets: Vec<Bucket>,
}

impl Series {
    pub(super) fn new(width_s: i64) -> Series {
        Series {
            start: 0,
            width_s,
            buckets: Vec::new(),
        }
    }

    /// Unix seconds at which the bucket after the newest starts.
    pub(super) fn end(&self) -> i64 {
        self.start + self.buckets.len() as i64 * self.width_s
    }

    /// Start of the newest bucket, if any.
    pub fn newest_start(&self) -> Option<i64> {
        (!self.buckets.is_empty()).then(|| self.end() - self.width_s)
    }

    /// Makes sure a bucket holds second `t`, dropping the oldest past `cap`. `None` when
    /// `t` is older than the series keeps.
    pub(super) fn ensure(&mut self, t: i64, cap: usize) -> Option<usize> {
        let w = self.width_s;
        let far = self.end() + cap as i64 * w;
        if self.buckets.is_empty() || t >= far {
            self.start = t - t.rem_euclid(w);
            self.buckets.clear();
            self.buckets.push(Bucket::default());
            return Some(0);
        }
        if t < self.start {
            return None;
        }
        while t >= self.end() {
            self.buckets.push(Bucket::default());
        }
        if self.buckets.len() > cap {
            let excess = self.buckets.len() - cap;
            self.buckets.drain(..excess);
            self.start += excess as i64 * w;
        }
        Some(((t - self.start) / w) as usize)
    }

    /// Adds `[from, to)` as `state`, split across the buckets it spans.
    pub(super) fn add(&mut self, from: i64, to: i64, state: State, cap: usize) {
        if to <= from || self.ensure(to - 1, cap).is_none() {
            return;
        }
        let w = self.width_s;
        let mut a = from.max(self.start);
        while a < to {
            let k = ((a - self.start) / w) as usize;
            let bucket_end = self.start + (k as i64 + 1) * w;
            let b = to.min(bucket_end);
            if let Some(bucket) = self.buckets.get_mut(k) {
                bucket.add_seconds(state, (b - a) as u64, w as u64);
            }
            a = b;
        }
    }

    pub(super) fn sample(&mut self, t: i64, players: Option<u64>, cap: usize) {
        if let Some(k) = self.ensure(t, cap)
            && let Some(bucket) = self.buckets.get_mut(k)
        {
            bucket.add_sample(players);
        }
    }

    /// Drops the buckets that start after `t`; returns how many.
    pub(super) fn drop_after(&mut self, t: i64) -> usize {
        let mut dropped = 0;
        while self.newest_start().is_some_and(|s| s > t) {
            self.buckets.pop();
            dropped += 1;
        }
        dropped
    }

    /// Cuts the newest bucket back to the seconds up to `t` (it may have counted time "in
    /// the future" before the clock went back): unknown time goes first, then maintenance,
    /// offline and online.
    pub(super) fn clamp_newest(&mut self, t: i64) {
        let Some(start) = self.newest_start() else {
            return;
        };
        let room = (t - start).max(0) as u64;
        if let Some(b) = self.buckets.last_mut() {
            let mut excess = b.total().saturating_sub(room);
            for i in [3, 2, 1, 0] {
                let cut = excess.min(b.seconds[i]);
                b.seconds[i] -= cut;
                excess -= cut;
            }
        }
    }

    /// Seconds per state over the buckets that start after `after`.
    pub(super) fn seconds_after(&self, after: i64) -> Seconds {
        let mut s = [0u64; 4];
        for (k, b) in self.buckets.iter().enumerate() {
            if self.start + k as i64 * self.width_s > after {
                for (sum, add) in s.iter_mut().zip(b.seconds) {
                    *sum += add;
                }
            }
        }
        Seconds {
            online: s[0],
            offline: s[1],
            maintenance: s[2],
            unknown: s[3],
        }
    }

    pub(super) fn check(&self, width: i64, cap: usize) -> Result<(), HistoryError> {
        let invalid = self.width_s != width
            || self.start.rem_euclid(width) != 0
            || self.buckets.len() > cap
            || self.buckets.iter().any(|b| b.total() > width as u64);
        if invalid {
            return Err(HistoryError::Invalid("a series is out of its bounds"));
        }
        Ok(())
    }
}
