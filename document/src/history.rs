//! The history (issue 23): what the refresher vouched for over time, kept in Redis as one
//! bounded document under [`history_key`](crate::keys::history_key), and the view the
//! reader serves from it.
//!
//! Both halves share this module so that they cannot disagree about the arithmetic: the
//! refresher calls [`History::record`] at every write it vouches for, the reader calls
//! [`History::parse`] and [`History::view`]. Everything is pure: time comes in as an
//! argument, and what deserves a log line comes back as a [`Note`].
//!
//! The rules, in the order they matter:
//!
//! - **A state counts only while it was vouched for.** Each observation carries how long
//!   the reader would vouch for it ([`Observation::vouch_s`]: the probe's deadline, or the
//!   document's TTL). The time until the next observation counts for the observed state up
//!   to that limit, and as `unknown` beyond it: a refresher that was down, a takeover's
//!   gap, a flushed Redis are never counted as up.
//! - **Whole seconds that telescope.** Observation times are cut to whole unix seconds and
//!   each interval is `[previous, this)`, so a thousand one-second probes add up to exactly
//!   the wall time between the first and the last: no rounding drift.
//! - **A bucket never holds more than its width.** Every addition is capped at what is left
//!   of the bucket, so no clock step can make the observed time exceed wall time.
//! - **Clock steps.** A small step back (within the newest bucket) counts nothing until the
//!   clock is past the last observation again; a step back past whole buckets drops those
//!   buckets (and incidents) "in the future", cuts the bucket it lands in back to the time
//!   up to now, and says so in a [`Note`].
//! - **Bounded.** 288 five-minute buckets (24 h), 720 one-hour buckets (30 d), the last
//!   [`MAX_INCIDENTS`] incidents, and [`History::to_json`] never returns more than
//!   [`MAX_HISTORY_BYTES`].
//!
//! Uptime is `online / (online + offline)`: maintenance and unknown time are shown apart
//! and count neither for nor against it, and a window with neither is `null`.

use serde::de::{Error as _, IgnoredAny};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::live::StateReason;
use crate::state::State;

/// The version in every stored history; the reader refuses any other.
pub const HISTORY_VERSION: u32 = 1;
/// The bound on the stored history, shared by the writer (which trims to it) and the reader
/// (which refuses anything larger).
pub const MAX_HISTORY_BYTES: usize = 64 * 1024;
/// The fine series: 5-minute buckets over 24 hours.
pub const FINE_WIDTH_S: i64 = 300;
pub const FINE_BUCKETS: usize = 288;
/// The coarse series: 1-hour buckets over 30 days.
pub const COARSE_WIDTH_S: i64 = 3600;
pub const COARSE_BUCKETS: usize = 720;
/// How many incidents are kept (the oldest go first).
pub const MAX_INCIDENTS: usize = 50;
/// Observation times beyond this (year 5138) are refused rather than risk overflow.
const MAX_UNIX_S: f64 = 1e11;

/// The column names of a stored bucket, in order (served with the series, so a page can
/// decode them without hard-coding positions). An empty array is a bucket nothing was
/// recorded in; a bucket without player samples has the first five only.
pub const BUCKET_FIELDS: [&str; 9] = [
    "online",
    "offline",
    "maintenance",
    "unknown",
    "samples",
    "player_samples",
    "players_min",
    "players_max",
    "players_sum",
];

fn state_index(state: State) -> usize {
    match state {
        State::Online => 0,
        State::Offline => 1,
        State::Maintenance => 2,
        State::Unknown => 3,
    }
}

/// Player samples of one bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlayerStats {
    pub samples: u64,
    pub min: u64,
    pub max: u64,
    pub sum: u64,
}

impl PlayerStats {
    /// The mean, to one decimal.
    pub fn avg(&self) -> f64 {
        if self.samples == 0 {
            return 0.0;
        }
        (self.sum as f64 / self.samples as f64 * 10.0).round() / 10.0
    }
}

/// One bucket: seconds per state (online, offline, maintenance, unknown), the number of
/// observations, and the player samples. Stored as a flat array (see [`BUCKET_FIELDS`]):
/// the history must fit 1 008 of them in [`MAX_HISTORY_BYTES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Bucket {
    pub seconds: [u64; 4],
    pub samples: u64,
    pub players: Option<PlayerStats>,
}

impl Bucket {
    pub fn total(&self) -> u64 {
        self.seconds.iter().sum()
    }

    pub fn is_empty(&self) -> bool {
        *self == Bucket::default()
    }

    /// Adds up to `secs` of `state`, never past `width` in total.
    fn add_seconds(&mut self, state: State, secs: u64, width: u64) {
        let room = width.saturating_sub(self.total());
        self.seconds[state_index(state)] += secs.min(room);
    }

    fn add_sample(&mut self, players: Option<u64>) {
        self.samples += 1;
        if let Some(p) = players {
            let s = self.players.get_or_insert(PlayerStats {
                samples: 0,
                min: p,
                max: p,
                sum: 0,
            });
            s.samples += 1;
            s.min = s.min.min(p);
            s.max = s.max.max(p);
            s.sum = s.sum.saturating_add(p);
        }
    }
}

impl Serialize for Bucket {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        // No intermediate Vec: the reader serialises 1 008 of these per request.
        let players = self.players.map(|p| [p.samples, p.min, p.max, p.sum]);
        let len = match (self.is_empty(), players) {
            (true, _) => 0,
            (false, None) => 5,
            (false, Some(_)) => 9,
        };
        let mut seq = serializer.serialize_seq(Some(len))?;
        if len > 0 {
            for v in self.seconds.iter().chain([&self.samples]) {
                seq.serialize_element(v)?;
            }
            for v in players.iter().flatten() {
                seq.serialize_element(v)?;
            }
        }
        seq.end()
    }
}

impl<'de> Deserialize<'de> for Bucket {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Row;
        impl<'de> serde::de::Visitor<'de> for Row {
            type Value = Bucket;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a bucket of 0, 5 or 9 whole numbers")
            }
            // Into a fixed array, not a Vec: the reader parses 1 008 of these per request.
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Bucket, A::Error> {
                let mut row = [0u64; 9];
                let mut n = 0;
                while let Some(v) = seq.next_element::<u64>()? {
                    if n == row.len() {
                        return Err(A::Error::custom("a bucket has 0, 5 or 9 numbers"));
                    }
                    row[n] = v;
                    n += 1;
                }
                let [on, off, mnt, unk, samples, pn, min, max, sum] = row;
                let players = match n {
                    0 => return Ok(Bucket::default()),
                    5 => None,
                    9 if pn > 0 && min <= max => Some(PlayerStats {
                        samples: pn,
                        min,
                        max,
                        sum,
                    }),
                    9 => return Err(A::Error::custom("bucket players out of order")),
                    _ => return Err(A::Error::custom("a bucket has 0, 5 or 9 numbers")),
                };
                Ok(Bucket {
                    seconds: [on, off, mnt, unk],
                    samples,
                    players,
                })
            }
        }
        deserializer.deserialize_seq(Row)
    }
}

/// A run of equal-width buckets, the first starting at `start` (unix seconds, a multiple of
/// the width), the newest last; at most `cap` of them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Series {
    pub start: i64,
    pub width_s: i64,
    pub buckets: Vec<Bucket>,
}

impl Series {
    fn new(width_s: i64) -> Series {
        Series {
            start: 0,
            width_s,
            buckets: Vec::new(),
        }
    }

    /// Unix seconds at which the bucket after the newest starts.
    fn end(&self) -> i64 {
        self.start + self.buckets.len() as i64 * self.width_s
    }

    /// Start of the newest bucket, if any.
    pub fn newest_start(&self) -> Option<i64> {
        (!self.buckets.is_empty()).then(|| self.end() - self.width_s)
    }

    /// Makes sure a bucket holds second `t`, dropping the oldest past `cap`. `None` when
    /// `t` is older than the series keeps.
    fn ensure(&mut self, t: i64, cap: usize) -> Option<usize> {
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
    fn add(&mut self, from: i64, to: i64, state: State, cap: usize) {
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

    fn sample(&mut self, t: i64, players: Option<u64>, cap: usize) {
        if let Some(k) = self.ensure(t, cap)
            && let Some(bucket) = self.buckets.get_mut(k)
        {
            bucket.add_sample(players);
        }
    }

    /// Drops the buckets that start after `t`; returns how many.
    fn drop_after(&mut self, t: i64) -> usize {
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
    fn clamp_newest(&mut self, t: i64) {
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
    fn seconds_after(&self, after: i64) -> Seconds {
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

    fn check(&self, width: i64, cap: usize) -> Result<(), HistoryError> {
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

/// What kind of change an incident is; a planned maintenance is its own kind, never an
/// outage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IncidentKind {
    /// To offline.
    Outage,
    /// To online.
    Recovery,
    /// To maintenance (planned).
    Maintenance,
    /// To unknown (the constant says nothing usable).
    Unknown,
}

impl IncidentKind {
    fn of(to: State) -> IncidentKind {
        match to {
            State::Offline => IncidentKind::Outage,
            State::Online => IncidentKind::Recovery,
            State::Maintenance => IncidentKind::Maintenance,
            State::Unknown => IncidentKind::Unknown,
        }
    }
}

/// A change of the vouched state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    /// Unix seconds of the observation that saw the new state.
    pub at: i64,
    pub from: State,
    pub to: State,
    pub kind: IncidentKind,
    /// Why, where the probe gives a reason (`unreachable`).
    #[serde(default)]
    pub reason: Option<StateReason>,
    /// How long the state it ends had lasted (unobserved time included: see `since`).
    pub duration_s: u64,
    /// For a maintenance: when it was planned to end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maintenance_until: Option<f64>,
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

/// Why stored history bytes cannot be served.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HistoryError {
    #[error("the history is {0} bytes, over the {MAX_HISTORY_BYTES}-byte bound")]
    TooLarge(usize),
    #[error("the history is not valid: {0}")]
    Json(String),
    #[error("history version {0} is not supported")]
    Version(u32),
    #[error("the history is not valid: {0}")]
    Invalid(&'static str),
}

/// The history, as the refresher works on it. It is stored as its [`HistoryView`] (plus
/// the bookkeeping `seq` and `last`), so the reader serves the stored bytes as they are and
/// only reads their [`HistoryHead`]; [`History::parse`] reads the whole of it back.
#[derive(Debug, Clone, PartialEq)]
pub struct History {
    pub version: u32,
    /// Unix seconds of the first observation: the start of the recorded period. A history
    /// that was lost (a Redis without persistence, a deleted key) starts again with a new
    /// `since`, so the restart is visible.
    pub since: i64,
    /// Incremented by every record: with `since`, it names one write (the reader's ETag).
    pub seq: u64,
    /// The exact time of the last observation (unix seconds, fractional).
    pub updated_at: f64,
    pub last: Option<Last>,
    pub fine: Series,
    pub coarse: Series,
    /// Oldest first (the view serves them newest first).
    pub incidents: Vec<Incident>,
}

impl Default for History {
    fn default() -> Self {
        History::new()
    }
}

/// Whole unix seconds of a time, if it is a usable one.
fn whole_seconds(at: f64) -> Option<i64> {
    (at.is_finite() && (0.0..MAX_UNIX_S).contains(&at)).then(|| at.floor() as i64)
}

impl History {
    /// An empty history: nothing observed yet.
    pub fn new() -> History {
        History {
            version: HISTORY_VERSION,
            since: 0,
            seq: 0,
            updated_at: 0.0,
            last: None,
            fine: Series::new(FINE_WIDTH_S),
            coarse: Series::new(COARSE_WIDTH_S),
            incidents: Vec::new(),
        }
    }

    /// Reads stored bytes, checking the bound, the version and every series' bounds.
    pub fn parse(bytes: &[u8]) -> Result<History, HistoryError> {
        #[derive(Deserialize)]
        struct Stored {
            schema_version: u32,
            since: Option<i64>,
            seq: u64,
            updated_at: f64,
            last: Option<Last>,
            /// Newest first, as served.
            incidents: Vec<Incident>,
            series: StoredSeries,
        }
        #[derive(Deserialize)]
        struct StoredSeries {
            #[serde(rename = "5m")]
            fine: Series,
            #[serde(rename = "1h")]
            coarse: Series,
        }
        let s: Stored = from_stored(bytes)?;
        if s.schema_version != HISTORY_VERSION {
            return Err(HistoryError::Version(s.schema_version));
        }
        let mut incidents = s.incidents;
        incidents.reverse();
        let h = History {
            version: s.schema_version,
            since: s.since.unwrap_or(0),
            seq: s.seq,
            updated_at: s.updated_at,
            last: s.last,
            fine: s.series.fine,
            coarse: s.series.coarse,
            incidents,
        };
        h.fine.check(FINE_WIDTH_S, FINE_BUCKETS)?;
        h.coarse.check(COARSE_WIDTH_S, COARSE_BUCKETS)?;
        if h.incidents.len() > MAX_INCIDENTS {
            return Err(HistoryError::Invalid("too many incidents"));
        }
        if !h.updated_at.is_finite() {
            return Err(HistoryError::Invalid("updated_at is not a number"));
        }
        Ok(h)
    }

    /// The stored form, trimmed to [`MAX_HISTORY_BYTES`] (oldest incidents first, then the
    /// oldest hours) in the unlikely case it would exceed it.
    pub fn to_json(&mut self) -> Vec<u8> {
        loop {
            let json = self.view().to_json();
            if json.len() <= MAX_HISTORY_BYTES {
                return json;
            }
            if self.incidents.len() > 10 {
                self.incidents.drain(..10);
            } else if self.coarse.buckets.len() > 24 {
                self.coarse.buckets.drain(..24);
                self.coarse.start += 24 * COARSE_WIDTH_S;
            } else {
                self.incidents.clear();
                self.fine.buckets.clear();
                self.coarse.buckets.clear();
            }
        }
    }

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
        let mut from = last.at;
        if t < last.at {
            let future = |s: &Series| s.newest_start().is_some_and(|s| s > t);
            if future(&self.fine) || future(&self.coarse) {
                let buckets = self.fine.drop_after(t) + self.coarse.drop_after(t);
                let before = self.incidents.len();
                self.incidents.retain(|i| i.at <= t);
                notes.push(Note::FutureDropped {
                    buckets,
                    incidents: before - self.incidents.len(),
                });
                self.fine.clamp_newest(t);
                self.coarse.clamp_newest(t);
                // What the clock said in the future is gone, its state with it: carry on
                // from now, without an incident for a change nobody saw happen.
                from = t;
                last.until = last.until.min(t);
                last.state = obs.state;
                last.state_since = last.state_since.min(t);
            } else {
                notes.push(Note::ClockStepBack { by_s: last.at - t });
            }
        }
        let to = t.max(from);
        let vouched_end = to.min(last.until.max(from));
        self.add(from, vouched_end, last.state);
        if to > vouched_end {
            self.add(vouched_end, to, State::Unknown);
            notes.push(Note::Gap {
                unknown_s: to - vouched_end,
            });
        }
        self.sample(t, obs.players);
        let mut state_since = last.state_since;
        if obs.state != last.state {
            self.incidents.push(Incident {
                at: to,
                from: last.state,
                to: obs.state,
                kind: IncidentKind::of(obs.state),
                reason: obs.reason,
                duration_s: (to - last.state_since).max(0) as u64,
                maintenance_until: obs
                    .maintenance_until
                    .filter(|_| obs.state == State::Maintenance),
            });
            if self.incidents.len() > MAX_INCIDENTS {
                let excess = self.incidents.len() - MAX_INCIDENTS;
                self.incidents.drain(..excess);
            }
            state_since = to;
        }
        self.last = Some(Last {
            at: to,
            state: obs.state,
            until: to + vouch,
            state_since,
        });
        notes
    }

    fn add(&mut self, from: i64, to: i64, state: State) {
        self.fine.add(from, to, state, FINE_BUCKETS);
        self.coarse.add(from, to, state, COARSE_BUCKETS);
    }

    fn sample(&mut self, t: i64, players: Option<u64>) {
        self.fine.sample(t, players, FINE_BUCKETS);
        self.coarse.sample(t, players, COARSE_BUCKETS);
    }

    /// The served view, as of the last observation.
    pub fn view(&self) -> HistoryView<'_> {
        let end = self.last.map_or(0, |l| l.at);
        let day = self.fine.seconds_after(end - 86_400);
        let week = self.coarse.seconds_after(end - 7 * 86_400);
        let month = self.coarse.seconds_after(end - 30 * 86_400);
        HistoryView {
            schema_version: self.version,
            seq: self.seq,
            since: self.last.map(|_| self.since),
            updated_at: self.updated_at,
            state: self.last.map_or(State::Unknown, |l| l.state),
            vouched_until: self.last.map(|l| l.until),
            uptime: Windows {
                day: day.uptime(),
                week: week.uptime(),
                month: month.uptime(),
            },
            seconds: Windows { day, week, month },
            incidents: self.incidents.iter().rev().collect(),
            series: SeriesPair {
                fine: SeriesView::of(&self.fine),
                coarse: SeriesView::of(&self.coarse),
            },
            last: self.last,
        }
    }
}

/// Stored bytes as `T`, within the bound; a value of another shape is refused with its
/// version when it has one that is not ours.
fn from_stored<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, HistoryError> {
    #[derive(Deserialize)]
    struct Version {
        schema_version: u32,
    }
    if bytes.len() > MAX_HISTORY_BYTES {
        return Err(HistoryError::TooLarge(bytes.len()));
    }
    // One pass on the happy path; the version is only looked at apart to say why a
    // history of another shape was refused.
    serde_json::from_slice(bytes).map_err(|e| match serde_json::from_slice::<Version>(bytes) {
        Ok(v) if v.schema_version != HISTORY_VERSION => HistoryError::Version(v.schema_version),
        _ => HistoryError::Json(e.to_string()),
    })
}

/// What the reader needs of a stored history: the stamps for its headers and `_cache`,
/// and the uptime for the badge. The rest (seconds, incidents, series) must be there and be
/// JSON, but is served as stored, without being built into values: one pass, no
/// allocation per bucket.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
pub struct HistoryHead {
    pub schema_version: u32,
    pub since: Option<i64>,
    pub seq: u64,
    pub updated_at: f64,
    pub state: State,
    pub vouched_until: Option<i64>,
    pub uptime: Windows<Option<f64>>,
    #[serde(rename = "seconds")]
    _seconds: IgnoredAny,
    #[serde(rename = "incidents")]
    _incidents: IgnoredAny,
    #[serde(rename = "series")]
    _series: IgnoredAny,
}

impl HistoryHead {
    /// Checks stored bytes as the reader serves them: the bound, the version, the fields.
    pub fn parse(bytes: &[u8]) -> Result<HistoryHead, HistoryError> {
        let head: HistoryHead = from_stored(bytes)?;
        if head.schema_version != HISTORY_VERSION {
            return Err(HistoryError::Version(head.schema_version));
        }
        if !head.updated_at.is_finite() {
            return Err(HistoryError::Invalid("updated_at is not a number"));
        }
        Ok(head)
    }
}

/// Seconds per state over a window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Seconds {
    pub online: u64,
    pub offline: u64,
    pub maintenance: u64,
    pub unknown: u64,
}

impl Seconds {
    /// `online / (online + offline)` in percent, rounded down to 0.01 (so 99.999 % is never
    /// shown as 100); `None` when neither was observed.
    pub fn uptime(&self) -> Option<f64> {
        let judged = self.online + self.offline;
        if judged == 0 {
            return None;
        }
        let basis_points = (self.online as u128 * 10_000) / judged as u128;
        Some(basis_points as f64 / 100.0)
    }

    pub fn total(&self) -> u64 {
        self.online + self.offline + self.maintenance + self.unknown
    }
}

/// One value per window, serialised with the window's name.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Windows<T> {
    #[serde(rename = "24h")]
    pub day: T,
    #[serde(rename = "7d")]
    pub week: T,
    #[serde(rename = "30d")]
    pub month: T,
}

/// A series as served: the stored buckets with their column names.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SeriesView<'a> {
    pub start: i64,
    pub width_s: i64,
    pub fields: [&'static str; 9],
    pub buckets: &'a [Bucket],
}

impl<'a> SeriesView<'a> {
    fn of(s: &'a Series) -> SeriesView<'a> {
        SeriesView {
            start: s.start,
            width_s: s.width_s,
            fields: BUCKET_FIELDS,
            buckets: &s.buckets,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SeriesPair<'a> {
    #[serde(rename = "5m")]
    pub fine: SeriesView<'a>,
    #[serde(rename = "1h")]
    pub coarse: SeriesView<'a>,
}

/// What `GET /server/status/history` serves (before the reader adds `_cache`), and what is
/// stored: the reader serves the stored bytes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HistoryView<'a> {
    pub schema_version: u32,
    /// Incremented by every write: with `since`, it names one write.
    pub seq: u64,
    /// Start of the recorded period; `null` before the first observation.
    pub since: Option<i64>,
    pub updated_at: f64,
    /// The last recorded state.
    pub state: State,
    /// Unix seconds up to which the last state was vouched for.
    pub vouched_until: Option<i64>,
    pub uptime: Windows<Option<f64>>,
    pub seconds: Windows<Seconds>,
    /// Newest first.
    pub incidents: Vec<&'a Incident>,
    pub series: SeriesPair<'a>,
    /// Where the next observation continues from (the refresher's bookkeeping).
    pub last: Option<Last>,
}

impl HistoryView<'_> {
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests;
