//! The history beside the document: `<STATUS_KEY>:history`, one bounded
//! document of uptime, incidents and players over time (see [`status_document::history`]).
//!
//! Every write the refresher vouches for (a refresh, a probe or players write) is also an
//! observation. Before the write, the holder reads the stored history, records the
//! observation into it, and hands the result to the document's write, which sets it in the
//! same atomic step as the status document ([`crate::write::document::GUARDED_WRITE`] checks
//! the lease first). That read-modify-write is safe because only the lease holder writes:
//! a replica that lost the lease between its read and its write is refused whole. A
//! takeover therefore continues the same buckets, and two replicas never both count.
//!
//! The read happens at every write rather than once per takeover, so a history that was lost
//! (a Redis without persistence restarted, the key deleted) starts again visibly, with a new
//! `since`, instead of being put back from one replica's memory.
//!
//! A history that cannot be read (corrupt, oversized, another version) is logged and
//! started afresh; a failure to read it at all leaves the history untouched for this write
//! (the status document is still written): the time until the next write that records is
//! then counted as unknown, never as up.

use status_document::history::Note;
use status_document::{History, Observation, StatusDocument};
use tracing::{error, warn};

use crate::redis_call::RedisCallError;
use crate::replicas::target::Primary;

/// The observation a write of `document` at `now` makes. The state counts for as long as
/// the reader vouches for it: the probe's deadline with a probe, else the document's
/// remaining time to live (`ttl_s`).
pub fn observation(document: &StatusDocument, now: f64, ttl_s: u64) -> Observation {
    Observation {
        at: now,
        state: document.state,
        reason: document.state_reason,
        players: document.players,
        vouch_s: document.game_server.map_or(ttl_s, |g| g.deadline_s),
        maintenance_until: document.maintenance_until,
    }
}

/// Reads and updates the stored history.
pub struct HistoryLog {
    primary: Primary,
    key: String,
}

impl HistoryLog {
    pub fn new(primary: Primary, key: String) -> HistoryLog {
        HistoryLog { primary, key }
    }

    pub fn key(&self) -> &str {
        &self.key
    }

    /// The stored history with `observation` recorded, as the bytes to write.
    pub async fn next(&self, observation: &Observation) -> Result<Vec<u8>, RedisCallError> {
        let mut get = redis::cmd("GET");
        get.arg(&self.key);
        let stored = self
            .primary
            .call("GET history", async |mut conn| {
                get.query_async::<Option<Vec<u8>>>(&mut conn).await
            })
            .await?;
        let mut history = match stored.as_deref().map(History::parse) {
            None => {
                warn!(key = %self.key, "no history stored; it starts now");
                History::new()
            }
            Some(Ok(h)) => h,
            Some(Err(e)) => {
                error!(key = %self.key, error = %e, "the stored history cannot be read; it starts again now");
                History::new()
            }
        };
        for note in history.record(observation) {
            log(&self.key, note);
        }
        Ok(history.to_json())
    }
}

fn log(key: &str, note: Note) {
    match note {
        Note::InvalidTime => warn!(key, "the clock gives no usable time; nothing recorded"),
        Note::ClockStepBack { by_s } => {
            warn!(
                key,
                by_s, "the clock went back; the history counts nothing until it has caught up"
            )
        }
        Note::FutureDropped { buckets, incidents } => warn!(
            key,
            buckets,
            incidents,
            "the clock went back past whole buckets; those in the future were dropped"
        ),
        Note::Gap { unknown_s } => {
            tracing::info!(
                key,
                unknown_s,
                "nobody vouched for the state meanwhile; recorded as unknown"
            )
        }
    }
}
