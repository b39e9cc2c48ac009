//! One refresh cycle: read the interval override, read the table, build the document, write
//! it. Each cycle returns a typed result and records its outcome in [`Metrics`], the one
//! record that the backoff, `/health` and `/metrics` are all decided from.
//!
//! A failed cycle writes nothing: the previous document and its `:last_good` copy stay as they
//! were. That is the whole error-handling policy, and it is why the write comes last and is
//! a single transaction.

use std::sync::Arc;
use std::time::{Duration, Instant};

use status_document::page::{PageFacts, PageHistory};
use status_document::servers::Headline;
use status_document::{
    BuildError, BuildOptions, Built, Live, MAX_DOCUMENT_BYTES, State, StatusDocument, build,
    without_constants,
};
use tracing::{info, warn};

use crate::clock::unix_now;
use crate::config::DocumentSettings;
use crate::published::{Feed, Observed};
use crate::read::db::{Source, SourceError};
use crate::read::probe::Liveness;
use crate::redis_call::RedisCallError;
use crate::replicas::guard::WriteGuard;
use crate::report::metrics::{Metrics, Outcome};
use crate::schedule::{Backoff, parse_override};
use crate::write::document::{Published, Sink};
use crate::write::history::{self, HistoryLog, Rewrite};

use live::Players;

pub mod fleet;
mod live;

#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error(transparent)]
    Build(#[from] BuildError),
    #[error(transparent)]
    Sink(#[from] RedisCallError),
    /// Another replica holds the lease (or ours ran out before the write): nothing written.
    #[error("another replica holds the lease; nothing was written")]
    NotLeaseHolder,
    #[error("cannot check the lease: {0}")]
    Lease(RedisCallError),
    /// The document with the probe's and players' word would exceed the bound.
    #[error("the document would be {0} bytes, over the {MAX_DOCUMENT_BYTES}-byte bound")]
    TooLarge(usize),
}

/// What a successful cycle wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct Refreshed {
    pub duration: Duration,
    pub updated_at: f64,
    /// `None` without a database (as are the rates).
    pub server_status: Option<f64>,
    pub state: status_document::State,
    pub rate_exp: Option<f64>,
    pub rows: usize,
    pub bytes: usize,
    pub warnings: usize,
}

/// What the last successful cycle built: the base for the writes between reads.
#[derive(Debug, Clone)]
struct LastBuilt {
    document: StatusDocument,
    /// The state the `ServerStatus` constant alone gave, before the probe's word.
    constant_state: State,
}

pub struct Refresher {
    /// Where `constants` is read; `None` without a database: every document is then built
    /// without constants, and the game server's word alone gives the state.
    source: Option<Source>,
    sink: Sink,
    settings: DocumentSettings,
    configured_interval: Duration,
    /// The interval in force: the configured one, or a valid live override.
    interval: Duration,
    /// The last override value that was ignored, so it is warned about once, not every cycle.
    ignored_override: Option<String>,
    backoff: Backoff,
    /// Where every outcome goes; the failure count the backoff uses is read back from it.
    metrics: Arc<Metrics>,
    last: Option<LastBuilt>,
    /// The game-server probe's word, when `GAME_SERVER_ADDR` is set.
    liveness: Option<Liveness>,
    players: Option<Players>,
    /// Where what was published goes for the notifier, when configured.
    notify: Option<Feed>,
    /// The history every write is recorded in.
    history: HistoryLog,
    /// What the last write published, for the servers index (its headline) and the
    /// status page, and whether the fleet has yet to take it for the page.
    page_facts: Option<PageFacts>,
    page_facts_new: bool,
}

impl Refresher {
    pub fn new(
        source: Option<Source>,
        sink: Sink,
        settings: DocumentSettings,
        interval: Duration,
        metrics: Arc<Metrics>,
    ) -> Refresher {
        metrics.set_interval(interval);
        let history = HistoryLog::new(
            sink.primary(),
            sink.keys().history.clone(),
            settings.history_lag,
        );
        Refresher {
            source,
            sink,
            settings,
            configured_interval: interval,
            interval,
            ignored_override: None,
            backoff: Backoff::default(),
            metrics,
            last: None,
            liveness: None,
            players: None,
            notify: None,
            history,
            page_facts: None,
            page_facts_new: false,
        }
    }

    /// Tells `feed` the state of every document published from now on (a fleet wires one
    /// per member after building them).
    pub fn set_notify(&mut self, feed: Option<Feed>) {
        self.notify = feed;
    }

    /// The key of the document this refresher writes.
    pub fn status_key(&self) -> &str {
        &self.sink.keys().status
    }

    /// Whether the constants table exists (a start-up check; no source: nothing to check).
    pub async fn check_table(&mut self) -> Result<(), SourceError> {
        match self.source.as_mut() {
            Some(source) => source.read().await.map(|_| ()),
            None => Ok(()),
        }
    }

    /// What the last write published (`None` before it, or after [`Refresher::forget`]).
    pub fn headline(&self) -> Option<&Headline> {
        self.page_facts.as_ref().map(|f| &f.headline)
    }

    /// This server's news for the status page since the last call: the facts of the last
    /// write (`Some` when they changed) and the view of the history last written (`Some`
    /// when it was written).
    pub fn take_page_news(&mut self) -> (Option<&PageFacts>, Option<PageHistory>) {
        let changed = std::mem::take(&mut self.page_facts_new);
        let history = self.history.take_page();
        let facts = self.page_facts.as_ref();
        (facts.filter(|_| changed || history.is_some()), history)
    }

    /// The notifier's, the index's and the page's hook: what was just published.
    fn tell(&mut self, document: &StatusDocument) {
        let facts = PageFacts::of(document);
        if self.page_facts.as_ref() != Some(&facts) {
            self.page_facts = Some(facts);
            self.page_facts_new = true;
        }
        if let Some(feed) = &self.notify {
            feed.send_replace(Some(Observed::of(document)));
        }
    }

    /// The stored history with this write recorded, to be written with the
    /// document; `None` when the history cannot be read now: the document is still written,
    /// and the time until a later write records is then counted as unknown, never as up.
    async fn history_for(&mut self, document: &StatusDocument, ttl_s: u64) -> Option<Rewrite> {
        let observation = history::observation(document, unix_now(), ttl_s);
        match self.history.next(&observation).await {
            Ok(bytes) => bytes,
            Err(e) => {
                warn!(key = %self.history.key(), error = %e, "cannot read the history; its observations are held for the next write");
                None
            }
        }
    }

    /// Runs one cycle, logs its one result line, and records its outcome. With a `guard` the
    /// write happens only if the lease allows it (see [`crate::replicas::lease`]); a refused write is
    /// [`RefreshError::NotLeaseHolder`], logged as a warning and not counted as a failure.
    pub async fn refresh(&mut self, guard: Option<&WriteGuard>) -> Result<Refreshed, RefreshError> {
        let started = Instant::now();
        let result = self.cycle(started, guard).await;
        let duration = started.elapsed();
        let duration_ms = duration.as_millis() as u64;
        match &result {
            Ok(r) => {
                self.metrics.record(Outcome::Ok { duration });
                info!(
                    result = "ok",
                    duration_ms,
                    server_status = r.server_status.map_or(-1.0, |v| v),
                    state = %r.state,
                    rates.exp = r.rate_exp.map_or(-1.0, |v| v),
                    rows = r.rows,
                    bytes = r.bytes,
                    row_warnings = r.warnings,
                    interval_s = self.interval.as_secs(),
                    "refreshed {}",
                    self.sink.keys().status
                );
            }
            Err(RefreshError::NotLeaseHolder) => {
                self.metrics.record(Outcome::SkippedNotHolder);
                warn!(
                    result = "not_lease_holder",
                    duration_ms, "another replica holds the lease; nothing was written"
                );
            }
            Err(e) => {
                self.metrics.record(Outcome::Error { duration });
                self.log_failure(duration_ms, e);
            }
        }
        result
    }

    /// Records a failure that happened outside a cycle (the lease could not be checked when
    /// a refresh was due), so health, backoff and logs treat it like a failed refresh.
    pub fn fail(&mut self, error: RefreshError) {
        self.metrics.record(Outcome::Error {
            duration: Duration::ZERO,
        });
        self.log_failure(0, &error);
    }

    /// Records that a refresh was due but another replica holds the lease: nothing to do,
    /// and nothing wrong.
    pub fn skip(&mut self) {
        self.metrics.record(Outcome::SkippedNotHolder);
    }

    fn log_failure(&self, duration_ms: u64, e: &RefreshError) {
        tracing::error!(
            result = "error",
            duration_ms,
            consecutive_failures = self.metrics.consecutive_failures(),
            error = %e,
            "refresh failed; the previous document is kept"
        );
    }

    /// How long to wait before the next cycle, given the last result.
    pub fn next_delay(&mut self) -> Duration {
        match self.metrics.consecutive_failures() {
            0 => self.interval,
            n => self.backoff.delay(n, self.interval),
        }
    }

    /// Closes connections, waiting at most `within`.
    pub async fn close(self, within: Duration) {
        if let Some(source) = self.source {
            source.close(within).await;
        }
    }

    async fn cycle(
        &mut self,
        started: Instant,
        guard: Option<&WriteGuard>,
    ) -> Result<Refreshed, RefreshError> {
        self.update_interval().await;
        let (mut built, rows, read_warnings) = self.read_and_build().await?;
        let constant_state = built.document.state;
        let live = self.live();
        if live != Live::default() {
            built.document.apply_live(constant_state, &live);
            built.json = built.document.to_json();
            if built.json.len() > MAX_DOCUMENT_BYTES {
                return Err(RefreshError::TooLarge(built.json.len()));
            }
        }
        let history = self.history_for(&built.document, self.settings.ttl_s).await;
        let published = self
            .sink
            .publish(
                &built.json,
                self.settings.ttl_s,
                guard,
                history.as_ref().map(|h| h.bytes.as_slice()),
            )
            .await?;
        if published == Published::NotLeaseHolder {
            return Err(RefreshError::NotLeaseHolder);
        }
        let refreshed = Refreshed {
            duration: started.elapsed(),
            updated_at: built.document.updated_at,
            server_status: built.document.server_status,
            state: built.document.state,
            rate_exp: built.document.rates.map(|r| r.exp),
            rows,
            bytes: built.json.len(),
            warnings: read_warnings + built.warnings.len(),
        };
        self.tell(&built.document);
        self.last = Some(LastBuilt {
            document: built.document,
            constant_state,
        });
        Ok(refreshed)
    }

    /// Reads `constants` (and counts the players) and builds the document; without a
    /// database, the document without constants. Returns it with the rows read and the
    /// read's warnings (logged here).
    async fn read_and_build(&mut self) -> Result<(Built, usize, usize), RefreshError> {
        let options = BuildOptions {
            mapping: self.settings.mapping.clone(),
            meta: self.settings.meta.clone(),
            refresh_interval_s: self.interval.as_secs(),
            ttl_s: self.settings.ttl_s,
            state: self.settings.state.clone(),
        };
        let Some(source) = self.source.as_mut() else {
            return Ok((without_constants(&options, unix_now()), 0, 0));
        };
        let read = source.read().await?;
        let updated_at = unix_now();
        for w in &read.warnings {
            warn!("{w}");
        }
        if self.players_interval().is_some() {
            // Logged inside; a failure keeps the last good count.
            let _ = self.count_players().await;
        }
        let built = build(&read.rows, &options, updated_at)?;
        for w in &built.warnings {
            warn!("{w}");
        }
        Ok((built, read.rows.len(), read.warnings.len()))
    }

    /// Applies the live interval override. A Redis failure here is not the cycle's failure:
    /// the interval in force stays, and the write that follows reports Redis trouble anyway.
    async fn update_interval(&mut self) {
        let wanted = match self.sink.interval_override().await {
            Ok(None) => self.configured_interval,
            Ok(Some(raw)) => match parse_override(&raw) {
                Ok(interval) => {
                    self.ignored_override = None;
                    interval
                }
                Err(e) => {
                    if self.ignored_override.as_deref() != Some(raw.as_str()) {
                        warn!(
                            key = %self.sink.keys().interval,
                            "interval override ignored: {e}"
                        );
                        self.ignored_override = Some(raw);
                    }
                    self.configured_interval
                }
            },
            Err(e) => {
                warn!(error = %e, "cannot read the interval override; keeping the current interval");
                return;
            }
        };
        if wanted != self.interval {
            info!(
                from_s = self.interval.as_secs(),
                to_s = wanted.as_secs(),
                "refresh interval changed"
            );
            self.interval = wanted;
            self.metrics.set_interval(wanted);
            warn_if_outlives_ttl(wanted, self.settings.ttl_s);
        }
    }
}

/// A document that expires before its next refresh is served from `:last_good`, marked stale,
/// for part of every interval: allowed, but rarely what the operator meant.
pub fn warn_if_outlives_ttl(interval: Duration, ttl_s: u64) {
    if interval.as_secs() > ttl_s {
        warn!(
            interval_s = interval.as_secs(),
            ttl_s,
            "the interval is longer than the TTL: the document will expire between refreshes \
             and readers will serve the last-good copy, marked stale"
        );
    }
}
