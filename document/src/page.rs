//! The status page's document (`<status key>:page`): everything `GET /status` shows, for
//! every server, in one value the refresher keeps up to date and the reader renders from one
//! `GET` (issue 31).
//!
//! The refresher builds it from what it already holds: each server's published headline
//! (state, reason, players, notice) and its history (the 24-hour players, the 90 daily
//! bars, the windows' uptime, the incidents of the last 14 days). It rewrites it when any of
//! that changes, at most once per [`MIN_PAGE_WRITE_GAP_S`], so the page's cost to Redis
//! follows the servers, never the traffic. The reader only formats: it computes no
//! arithmetic of the history, and it escapes every string it prints.

mod facts;
mod history;
mod outages;

use serde::{Deserialize, Serialize};

pub use facts::{PageFacts, bounded_notice};
pub use history::{PageHistory, SPARK_WIDTH_S};

use crate::history::History;
use crate::live::StateReason;
use crate::servers::{ServerId, with_headline};
use crate::state::State;

/// The version in every page document; the reader refuses any other.
pub const PAGE_VERSION: u32 = 1;
/// Most servers on one page (the first ones in the servers file's order): the page stays a
/// page. A fleet larger than this links `/servers` for the rest.
pub const MAX_PAGE_SERVERS: usize = 100;
/// Points of the 24-hour players sparkline: one per 15 minutes.
pub const SPARK_POINTS: usize = 96;
/// Daily bars: 90 days.
pub const DAYS: usize = 90;
/// Incidents shown: those of the last 14 days, at most this many per server.
pub const MAX_PAGE_INCIDENTS: usize = 20;
pub const INCIDENT_WINDOW_S: i64 = 14 * 86_400;
/// Longest operator notice printed (characters).
pub const MAX_NOTICE_CHARS: usize = 500;
/// The refresher writes the page at most this often.
pub const MIN_PAGE_WRITE_GAP_S: u64 = 10;
/// Bound on the stored page: [`MAX_PAGE_SERVERS`] servers of about 6 KB each.
pub const MAX_PAGE_BYTES: usize = 1024 * 1024;

/// What `GET /status` renders.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PageDocument {
    pub schema_version: u32,
    /// Unix seconds of this write.
    pub generated_at: u64,
    /// How many servers the refresher publishes in all (the page lists at most
    /// [`MAX_PAGE_SERVERS`] of them).
    pub total_servers: usize,
    /// In the servers file's order.
    pub servers: Vec<PageServer>,
}

with_headline! {
    /// One server on the page: its headline, then what only the page shows.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct PageServer {
        /// The operator's notice (the message constant), bounded to [`MAX_NOTICE_CHARS`].
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub message: Option<String>,
        /// Unix seconds at which maintenance is planned to end.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub maintenance_until: Option<f64>,
        /// Until when the server's state is vouched for (the document's freshness: the
        /// probe's deadline, or its TTL): past it the page says the state is not known.
        pub vouched_until: u64,
        /// The players over the last 24 hours, oldest first: [`SPARK_POINTS`] UTC-aligned
        /// points of [`SPARK_WIDTH_S`] (15 minutes), the last one holding the server's latest
        /// history write; each is the highest count seen in it, `None` where nothing was
        /// counted.
        pub players_24h: Vec<Option<u32>>,
        /// The daily bars, oldest first: [`DAYS`] UTC days ending with today.
        #[serde(with = "stored_days")]
        pub days: Vec<DayBar>,
        /// Uptime in percent per window (`None`: neither online nor offline was observed).
        pub uptime: PageUptime,
        /// The incidents of the last 14 days, newest first.
        pub incidents: Vec<PageIncident>,
    }
}

impl PageServer {
    /// One server on the page: its published `facts` and what the page shows of its
    /// `history` at `now` (unix seconds). Pure: the refresher calls it when it writes the
    /// history, and swaps in new facts between history writes ([`PageServer::set_facts`]).
    pub fn build(
        id: ServerId,
        name: String,
        facts: PageFacts,
        history: &History,
        now: i64,
    ) -> PageServer {
        PageServer::assemble(id, name, facts, PageHistory::of(history, now))
    }

    /// One server from its two halves, as kept apart by the refresher.
    pub fn assemble(
        id: ServerId,
        name: String,
        facts: PageFacts,
        history: PageHistory,
    ) -> PageServer {
        let h = facts.headline;
        PageServer {
            id,
            name,
            state: h.state,
            state_reason: h.state_reason,
            players: h.players,
            max_players: h.max_players,
            updated_at: h.updated_at,
            message: facts.message,
            maintenance_until: facts.maintenance_until,
            vouched_until: facts.vouched_until,
            players_24h: history.players_24h,
            days: history.days,
            uptime: history.uptime,
            incidents: history.incidents,
        }
    }
}

impl PageDocument {
    /// The page of a fleet: the first [`MAX_PAGE_SERVERS`] of `servers` (in the servers
    /// file's order), `total` the fleet's size.
    pub fn of(
        servers: impl IntoIterator<Item = PageServer>,
        total: usize,
        now: u64,
    ) -> PageDocument {
        PageDocument {
            schema_version: PAGE_VERSION,
            generated_at: now,
            total_servers: total,
            servers: servers.into_iter().take(MAX_PAGE_SERVERS).collect(),
        }
    }

    /// The stored form (compact JSON); plain data, so serialising cannot fail.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }
}

/// One UTC day of one server (stored as [`stored_days`] says).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayBar {
    /// Unix seconds of the day's start (00:00 UTC).
    pub day: i64,
    pub online_s: u32,
    pub offline_s: u32,
    pub maintenance_s: u32,
    /// Not observed (the refresher down, before the history started): grey, never downtime.
    pub unknown_s: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PageUptime {
    pub h24: Option<f64>,
    pub d7: Option<f64>,
    pub d30: Option<f64>,
    pub d90: Option<f64>,
}

/// One outage or maintenance on the page. Stored as the array `[state, reason or null,
/// start, end or null, duration_s]`: up to 20 per server, and as objects their keys were
/// half of a busy page's bytes, parsed on every `GET /status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "IncidentTuple", into = "IncidentTuple")]
pub struct PageIncident {
    /// `offline`, `maintenance` or `unknown`: the state the incident was in.
    pub state: State,
    pub reason: Option<StateReason>,
    /// Unix seconds.
    pub start: i64,
    /// `None`: ongoing.
    pub end: Option<i64>,
    /// Seconds, exact (ongoing: up to `generated_at`).
    pub duration_s: u64,
}

/// [`PageIncident`] as stored.
type IncidentTuple = (State, Option<StateReason>, i64, Option<i64>, u64);

impl From<IncidentTuple> for PageIncident {
    fn from((state, reason, start, end, duration_s): IncidentTuple) -> PageIncident {
        PageIncident {
            state,
            reason,
            start,
            end,
            duration_s,
        }
    }
}

impl From<PageIncident> for IncidentTuple {
    fn from(i: PageIncident) -> IncidentTuple {
        (i.state, i.reason, i.start, i.end, i.duration_s)
    }
}

/// The daily bars as stored: `{"from": <first day>, "seconds": [[online, offline,
/// maintenance, unknown], …]}`, one array a day, the days consecutive. A page holds 90 bars
/// per server, and the reader parses the page on every `GET /status`: as objects with a
/// date each, the bars were most of the page's bytes and of that parse.
pub mod stored_days {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::DayBar;

    const DAY_S: i64 = 86_400;

    #[derive(Serialize, Deserialize)]
    struct Days {
        from: i64,
        seconds: Vec<[u32; 4]>,
    }

    pub fn serialize<S: Serializer>(days: &[DayBar], serializer: S) -> Result<S::Ok, S::Error> {
        Days {
            from: days.first().map_or(0, |d| d.day),
            seconds: days
                .iter()
                .map(|d| [d.online_s, d.offline_s, d.maintenance_s, d.unknown_s])
                .collect(),
        }
        .serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<DayBar>, D::Error> {
        let days = Days::deserialize(deserializer)?;
        let day = |i: usize| days.from.saturating_add((i as i64).saturating_mul(DAY_S));
        Ok(days
            .seconds
            .iter()
            .enumerate()
            .map(
                |(i, &[online_s, offline_s, maintenance_s, unknown_s])| DayBar {
                    day: day(i),
                    online_s,
                    offline_s,
                    maintenance_s,
                    unknown_s,
                },
            )
            .collect())
    }
}

/// The key of the page document.
pub fn page_key(status_key: &str) -> String {
    format!("{status_key}:page")
}

#[cfg(test)]
mod tests;
