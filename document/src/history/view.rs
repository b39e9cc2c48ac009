//! The served shape: the uptime per window (`online / (online + offline)`), seconds per
//! state, incidents newest first and the three series with their column names. It is also the
//! stored shape, so that the reader can serve stored bytes without rebuilding them.

use serde::{Deserialize, Serialize};

use super::{BUCKET_FIELDS, Bucket, History, Incident, Last, Series};
use crate::state::State;

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
    pub(super) fn of(s: &'a Series) -> SeriesView<'a> {
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
    #[serde(rename = "1d")]
    pub daily: SeriesView<'a>,
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
    /// Unix seconds by which the writer promises its next write (see
    /// [`History::next_write_by`](super::History::next_write_by)).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_write_by: Option<i64>,
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

impl History {
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
            next_write_by: self.next_write_by,
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
                daily: SeriesView::of(&self.daily),
            },
            last: self.last,
        }
    }
}
