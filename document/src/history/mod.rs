//! The history: what the refresher vouched for over time, kept in Redis as one
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
//! - **Bounded.** 288 five-minute buckets (24 h), 720 one-hour buckets (30 d), 90 one-day
//!   buckets (UTC days, for the status page's 90 daily bars and 90-day uptime), the last
//!   [`MAX_INCIDENTS`] incidents, and [`History::to_json`] never returns more than
//!   [`MAX_HISTORY_BYTES`].
//!
//! Uptime is `online / (online + offline)`: maintenance and unknown time are shown apart
//! and count neither for nor against it, and a window with neither is `null`.//!
//! The module is split by what each part is about: [`Bucket`]s and their stored form
//! (`bucket`), the runs of buckets that bound the fine and coarse series (`series`), the
//! changes of state (`incidents`), the refresher's side that turns an [`Observation`] into
//! seconds (`record`), the stored bytes and what the reader checks of them (`stored`), and
//! the served shape with its uptime arithmetic (`view`).

mod bucket;
mod incidents;
mod record;
mod series;
mod stored;
mod view;

pub use bucket::{BUCKET_FIELDS, Bucket, PlayerStats};
pub use incidents::{Incident, IncidentKind};
pub use record::{Last, Note, Observation};
pub use series::Series;
pub use stored::{HistoryError, HistoryHead};
pub use view::{HistoryView, Seconds, SeriesPair, SeriesView, Windows};

/// The version in every stored history; the reader refuses any other.
pub const HISTORY_VERSION: u32 = 1;
/// The bound on the stored history, shared by the writer (which trims to it) and the reader
/// (which refuses anything larger).
pub const MAX_HISTORY_BYTES: usize = 64 * 1024;
const DAY_S: i64 = 24 * 3600;
/// The fine series: 5-minute buckets over 24 hours.
pub const FINE_WIDTH_S: i64 = 300;
pub const FINE_BUCKETS: usize = (DAY_S / FINE_WIDTH_S) as usize;
/// The coarse series: 1-hour buckets over 30 days.
pub const COARSE_WIDTH_S: i64 = 3600;
pub const COARSE_BUCKETS: usize = (30 * DAY_S / COARSE_WIDTH_S) as usize;
/// The daily series: 1-day buckets over 90 days, aligned to UTC midnight (a unix day is
/// 86 400 s, so a multiple of the width is a UTC day's start). The status page's bars read
/// it, and 90 days of hours would not fit [`MAX_HISTORY_BYTES`].
pub const DAILY_WIDTH_S: i64 = DAY_S;
pub const DAILY_BUCKETS: usize = 90;
/// How many incidents are kept (the oldest go first).
pub const MAX_INCIDENTS: usize = 50;

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
    /// Unix seconds by which the writer promises its next write of this history: it writes
    /// at every change of state and at least every `STATUS_HISTORY_LAG` seconds, not at every
    /// probe (the history is tens of kilobytes). The reader treats the history as current
    /// until then; `None` (a history written before this field): until `last.until`.
    pub next_write_by: Option<i64>,
    pub fine: Series,
    pub coarse: Series,
    /// Empty in a history stored before the daily series existed: it fills from then on.
    pub daily: Series,
    /// Oldest first (the view serves them newest first).
    pub incidents: Vec<Incident>,
}

impl Default for History {
    fn default() -> Self {
        History::new()
    }
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
            next_write_by: None,
            fine: Series::new(FINE_WIDTH_S),
            coarse: Series::new(COARSE_WIDTH_S),
            daily: Series::new(DAILY_WIDTH_S),
            incidents: Vec::new(),
        }
    }
}

#[cfg(test)]
mod daily_tests;
#[cfg(test)]
mod tests;
