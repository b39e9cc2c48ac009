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
//! **Not at every write.** The history is tens of kilobytes and a probe every 10 s of a
//! thousand servers would rewrite it 100 times a second, so the observations are kept in
//! memory (at most [`MAX_PENDING`]) and recorded together, in order, at the next write that
//! is due: the first of this writer, a change of state or reason, a new 5-minute bucket, or
//! `STATUS_HISTORY_LAG` since the last (0: every write, as before). Recording them late
//! gives exactly the seconds recording them one by one would: [`History::record`] is a
//! function of the observations alone. The stored history then says by when its next write
//! comes (`next_write_by`), which is how long the reader calls it current. What a writer
//! held and did not write when it died or lost the lease is lost: the next writer counts
//! that time as unknown, never as up.
//!
//! **The page's part.** When it writes the history, the log also derives what the status
//! page shows of it ([`PageHistory`]: a few kilobytes) and keeps that until the fleet takes
//! it ([`HistoryLog::take_page`]), so nobody keeps the whole history for the page.
//!
//! A history that cannot be read (corrupt, oversized, another version) is logged and
//! started afresh; a failure to read it at all leaves the history untouched for this write
//! (the status document is still written): the time until the next write that records is
//! then counted as unknown, never as up.

use std::time::Duration;

use status_document::history::{FINE_WIDTH_S, Note};
use status_document::page::PageHistory;
use status_document::{History, Observation, State, StateReason, StatusDocument};
use tokio::sync::{Semaphore, SemaphorePermit};
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

/// Most observations held between two writes of the history: past it, the next write is due
/// whatever the lag (a probe every second with a 5-minute lag would hold 300).
pub const MAX_PENDING: usize = 64;

/// Most histories read, updated and written at once. Every server of a fleet starts a new
/// 5-minute bucket in the same probe round; each rewrite holds the stored history, its parse
/// and the new bytes (a few hundred kilobytes) until the write is done, so a thousand at
/// once would be a few hundred megabytes. The others wait their turn, a few milliseconds.
pub const MAX_REWRITES: usize = 8;

static REWRITES: Semaphore = Semaphore::const_new(MAX_REWRITES);

/// A history ready to be written, holding one of the [`MAX_REWRITES`] turns until it is
/// dropped (after the write that carries it).
pub struct Rewrite {
    pub bytes: Vec<u8>,
    _turn: SemaphorePermit<'static>,
}

/// Reads and updates the stored history.
pub struct HistoryLog {
    primary: Primary,
    key: String,
    /// `STATUS_HISTORY_LAG`: the longest time between two writes of the history.
    lag: Duration,
    /// Observations not yet in the stored history, oldest first.
    pending: Vec<Observation>,
    /// When this writer last wrote the history, and the state it wrote.
    written: Option<(f64, State, Option<StateReason>)>,
    /// What the status page shows of the history last written, until the fleet takes it.
    page: Option<PageHistory>,
}

impl HistoryLog {
    pub fn new(primary: Primary, key: String, lag: Duration) -> HistoryLog {
        HistoryLog {
            primary,
            key,
            lag,
            pending: Vec::new(),
            written: None,
            page: None,
        }
    }

    pub fn key(&self) -> &str {
        &self.key
    }

    /// Notes `observation`; when the history's write is due, returns the stored history
    /// with every held observation recorded, as the bytes to write with the document (keep
    /// the [`Rewrite`] until that write is done). `Ok(None)`: held for a later write.
    pub async fn next(
        &mut self,
        observation: &Observation,
    ) -> Result<Option<Rewrite>, RedisCallError> {
        let due = due(
            self.written,
            self.pending.last(),
            observation,
            self.lag,
            self.pending.len(),
        );
        self.pending.push(*observation);
        if !due {
            return Ok(None);
        }
        let Ok(turn) = REWRITES.acquire().await else {
            unreachable!("the rewrite semaphore is never closed");
        };
        let stored = match self.stored().await {
            Ok(stored) => stored,
            Err(e) => {
                // Held for the next write; the oldest go first past the bound.
                let over = self.pending.len().saturating_sub(MAX_PENDING);
                self.pending.drain(..over);
                return Err(e);
            }
        };
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
        for held in self.pending.drain(..) {
            for note in history.record(&held) {
                log(&self.key, note);
            }
        }
        history.next_write_by = Some(next_write_by(observation, self.lag));
        self.written = Some((observation.at, observation.state, observation.reason));
        self.page = Some(PageHistory::of(&history, observation.at.floor() as i64));
        Ok(Some(Rewrite {
            bytes: history.to_json(),
            _turn: turn,
        }))
    }

    /// The page's view of the history written since the last call, if any.
    pub fn take_page(&mut self) -> Option<PageHistory> {
        self.page.take()
    }

    /// Drops what is held: another replica writes now (or this one starts over).
    pub fn forget(&mut self) {
        self.pending.clear();
        self.written = None;
        self.page = None;
    }

    async fn stored(&self) -> Result<Option<Vec<u8>>, RedisCallError> {
        let mut get = redis::cmd("GET");
        get.arg(&self.key);
        self.primary
            .call("GET history", async |mut conn| {
                get.query_async::<Option<Vec<u8>>>(&mut conn).await
            })
            .await
    }
}

/// Whether `observation` makes the history's write due, given the last write (`written`),
/// the newest held observation and how many are held.
fn due(
    written: Option<(f64, State, Option<StateReason>)>,
    newest: Option<&Observation>,
    observation: &Observation,
    lag: Duration,
    held: usize,
) -> bool {
    let Some((at, state, reason)) = written else {
        return true;
    };
    let (prev_state, prev_reason) = newest.map_or((state, reason), |o| (o.state, o.reason));
    let bucket = |t: f64| (t.floor() as i64).div_euclid(FINE_WIDTH_S);
    lag.is_zero()
        || observation.at - at >= lag.as_secs_f64()
        || (observation.state, observation.reason) != (prev_state, prev_reason)
        || bucket(observation.at) != bucket(at)
        || held + 1 >= MAX_PENDING
}

/// By when the next write comes at the latest: the lag, and then the time that write's
/// own observation may take to come (its vouch). Never before the observation's vouch.
fn next_write_by(observation: &Observation, lag: Duration) -> i64 {
    let at = observation.at.floor() as i64;
    let vouch = observation.vouch_s.min(i64::MAX as u64 / 4) as i64;
    let lag = lag.as_secs().min(i64::MAX as u64 / 4) as i64;
    // A new bucket is due at the latest at the next bucket's start: never later than the lag.
    at.saturating_add(lag.min(FINE_WIDTH_S))
        .saturating_add(vouch)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn obs(at: f64, state: State) -> Observation {
        Observation::plain(at, state, 30)
    }

    const LAG: Duration = Duration::from_secs(300);

    #[test]
    fn the_first_write_a_change_a_new_bucket_or_the_lag_make_it_due() {
        let t0 = 1_796_000_200.0; // 100 s into a 5-minute bucket
        let online = |at| obs(at, State::Online);
        let written = Some((t0, State::Online, None));
        assert!(due(None, None, &online(t0), LAG, 0), "the first write");
        assert!(
            !due(written, None, &online(t0 + 10.0), LAG, 0),
            "same state, same bucket"
        );
        assert!(
            due(written, None, &obs(t0 + 10.0, State::Offline), LAG, 0),
            "a change"
        );
        let timeout = Observation {
            reason: Some(StateReason::Timeout),
            ..obs(t0 + 10.0, State::Offline)
        };
        let offline = obs(t0 + 5.0, State::Offline);
        assert!(
            due(
                Some((t0, State::Offline, None)),
                Some(&offline),
                &timeout,
                LAG,
                1
            ),
            "a new reason"
        );
        assert!(
            due(written, None, &online(t0 + 200.0), LAG, 0),
            "a new bucket"
        );
        assert!(!due(written, None, &online(t0 + 199.0), LAG, 0));
        assert!(
            due(
                written,
                None,
                &online(t0 + 60.0),
                Duration::from_secs(60),
                0
            ),
            "the lag"
        );
        assert!(
            due(written, None, &online(t0 + 1.0), Duration::ZERO, 0),
            "lag 0: every write"
        );
        assert!(
            due(written, None, &online(t0 + 1.0), LAG, MAX_PENDING - 1),
            "the bound"
        );
        // A change back within the held observations is a change too.
        let held = obs(t0 + 10.0, State::Offline);
        assert!(due(written, Some(&held), &online(t0 + 20.0), LAG, 1));
    }

    #[test]
    fn the_promise_covers_the_next_write_and_its_vouch() {
        let o = obs(1_796_000_100.5, State::Online);
        assert_eq!(next_write_by(&o, LAG), 1_796_000_100 + 300 + 30);
        assert_eq!(
            next_write_by(&o, Duration::from_secs(60)),
            1_796_000_100 + 60 + 30
        );
        assert_eq!(next_write_by(&o, Duration::ZERO), 1_796_000_100 + 30);
    }
}
