//! The stored bytes: the bound and the version both halves check, the refresher's full
//! parse back into a [`History`], the trimming that keeps it within the bound, and the
//! [`HistoryHead`] that is all the reader needs to build into values before serving the
//! bytes as they are.

use serde::Deserialize;
use serde::de::IgnoredAny;

use super::{
    COARSE_BUCKETS, COARSE_WIDTH_S, DAILY_BUCKETS, DAILY_WIDTH_S, FINE_BUCKETS, FINE_WIDTH_S,
    HISTORY_VERSION, History, Incident, Last, MAX_HISTORY_BYTES, MAX_INCIDENTS, Series, Windows,
};
use crate::state::State;

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

impl History {
    /// Reads stored bytes, checking the bound, the version and every series' bounds.
    pub fn parse(bytes: &[u8]) -> Result<History, HistoryError> {
        #[derive(Deserialize)]
        struct Stored {
            schema_version: u32,
            since: Option<i64>,
            seq: u64,
            updated_at: f64,
            last: Option<Last>,
            #[serde(default)]
            next_write_by: Option<i64>,
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
            /// Absent in a history stored before the daily series: it starts empty.
            #[serde(rename = "1d", default = "empty_daily")]
            daily: Series,
        }
        fn empty_daily() -> Series {
            Series::new(DAILY_WIDTH_S)
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
            next_write_by: s.next_write_by,
            fine: s.series.fine,
            coarse: s.series.coarse,
            daily: s.series.daily,
            incidents,
        };
        h.fine.check(FINE_WIDTH_S, FINE_BUCKETS)?;
        h.coarse.check(COARSE_WIDTH_S, COARSE_BUCKETS)?;
        h.daily.check(DAILY_WIDTH_S, DAILY_BUCKETS)?;
        if h.incidents.len() > MAX_INCIDENTS {
            return Err(HistoryError::Invalid("too many incidents"));
        }
        if !h.updated_at.is_finite() {
            return Err(HistoryError::Invalid("updated_at is not a number"));
        }
        Ok(h)
    }
    /// The stored form, trimmed to [`MAX_HISTORY_BYTES`] (oldest incidents first, then the
    /// oldest hours down to a day, then the oldest days down to a week) in the unlikely case
    /// it would exceed it: a realistic full history is about 50 KB (see the tests), so
    /// only absurd player counts get here, and the newest data is what a page shows first.
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
            } else if self.daily.buckets.len() > 7 {
                self.daily.buckets.drain(..7);
                self.daily.start += 7 * DAILY_WIDTH_S;
            } else {
                self.incidents.clear();
                self.fine.buckets.clear();
                self.coarse.buckets.clear();
                self.daily.buckets.clear();
            }
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
    // history of another shape was refused. Read from a `&str` checked once, as
    // `DocumentView::parse` does, so the `.wasm` carries one serde_json reader, not two.
    let text = std::str::from_utf8(bytes).map_err(|e| HistoryError::Json(e.to_string()))?;
    serde_json::from_str(text).map_err(|e| match serde_json::from_str::<Version>(text) {
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
    /// See [`History::next_write_by`]; absent in a history written before it.
    #[serde(default)]
    pub next_write_by: Option<i64>,
    pub uptime: Windows<Option<f64>>,
    #[serde(rename = "seconds")]
    _seconds: IgnoredAny,
    #[serde(rename = "incidents")]
    _incidents: IgnoredAny,
    #[serde(rename = "series")]
    _series: IgnoredAny,
}

impl HistoryHead {
    /// Until when the history is current: the writer's promised next write, or for a
    /// history written at every probe (before `next_write_by`), its last vouch.
    pub fn current_until(&self) -> Option<i64> {
        self.next_write_by.or(self.vouched_until)
    }

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
