//! Between reads of `constants`: the game server's word (the probe) and the players count,
//! each on a clock of its own, written into the last built document with one Redis write
//! and no MySQL ([`Refresher::publish_live`]). The daemon runs these on the writer only.

use std::time::Duration;

use status_document::{DocumentView, Live, MAX_DOCUMENT_BYTES, PlayerCount};
use tracing::{info, warn};

use super::{RefreshError, Refresher};
use crate::clock::unix_now;
use crate::config::PlayersSettings;
use crate::read::players::{self, PlayersError};
use crate::read::probe::{self, Change, Liveness};
use crate::replicas::guard::WriteGuard;
use crate::write::document::Published;

/// The players query and its last good count.
pub(super) struct Players {
    pub(super) settings: PlayersSettings,
    pub(super) last: Option<PlayerCount>,
    /// Off after a preflight found that the query cannot work as written or granted.
    pub(super) off: bool,
}

impl Refresher {
    /// Adds the game-server probe and the players query, as configured.
    pub fn with_live(
        mut self,
        liveness: Option<Liveness>,
        players: Option<PlayersSettings>,
    ) -> Self {
        self.liveness = liveness;
        self.players = players.map(|settings| Players {
            settings,
            last: None,
            off: false,
        });
        self
    }

    /// The probe's interval, when there is a probe.
    pub fn probe_interval(&self) -> Option<Duration> {
        self.liveness.as_ref().map(|l| l.settings().interval)
    }

    /// The players query's interval, while there is a working one.
    pub fn players_interval(&self) -> Option<Duration> {
        self.players
            .as_ref()
            .filter(|p| !p.off)
            .map(|p| p.settings.interval)
    }

    /// What is known now between reads: the probe's word and the last good count. A
    /// query the preflight turned off publishes no count, not even one carried on from the
    /// previous run's document, which nothing would ever update again.
    pub(super) fn live(&self) -> Live {
        let liveness = self.liveness.as_ref();
        Live {
            game_server: liveness.and_then(Liveness::game_server),
            roster: liveness.and_then(Liveness::roster),
            server: liveness.and_then(Liveness::server),
            players: self
                .players
                .as_ref()
                .filter(|p| !p.off)
                .and_then(|p| p.last),
        }
    }

    /// Runs the players query once at start-up: a query that can never work (a syntax
    /// error, a missing table, column or grant) is reported here, naming the problem, and
    /// turned off; the refresher carries on without players. Any other failure (the
    /// database is down, the count is NULL) is only logged: the next run may succeed.
    pub async fn preflight_players(&mut self) {
        if self.players.is_none() {
            return;
        }
        match self.count_players().await {
            Err(e) if e.permanent() => {
                tracing::error!(
                    error = %e,
                    "STATUS_PLAYERS_QUERY cannot work; fix it and restart. Running without \
                     players"
                );
                if let Some(p) = self.players.as_mut() {
                    p.off = true;
                }
            }
            Err(e) => warn!(error = %e, "players query failed at start-up; will retry"),
            Ok(n) => info!(players = n, "players query works"),
        }
    }

    /// Runs the players query; a good count becomes the one published, a failure keeps the
    /// last good one (with its time) and is logged with the reason.
    pub(super) async fn count_players(&mut self) -> Result<u64, PlayersError> {
        let Some(query) = self
            .players
            .as_ref()
            .filter(|p| !p.off)
            .map(|p| p.settings.query.clone())
        else {
            return Err(PlayersError::NoRows);
        };
        // The configuration allows a players query only with a database.
        let Some(source) = self.source.as_mut() else {
            return Err(PlayersError::NoRows);
        };
        let limit = source.timeout();
        let result = match source.conn().await {
            Ok(conn) => players::count(conn, &query, limit).await,
            Err(e) => Err(PlayersError::from(e)),
        };
        match &result {
            Ok(count) => {
                if let Some(p) = self.players.as_mut() {
                    p.last = Some(PlayerCount {
                        count: *count,
                        at: unix_now(),
                    });
                }
                self.metrics.set_players(Some(*count));
            }
            Err(e) => {
                let age = self
                    .players
                    .as_ref()
                    .and_then(|p| p.last)
                    .map(|p| unix_now() - p.at);
                warn!(
                    error = %e,
                    last_count_age_s = age.map_or(-1.0, |a| a.round()),
                    "players query failed; the document keeps the last good count"
                );
                self.metrics.players_failed();
            }
        }
        result
    }

    /// Runs the players query now and writes the document with the new count (no read of
    /// `constants`). Nothing is written before the first successful cycle.
    pub async fn players_now(&mut self, guard: Option<&WriteGuard>) -> Result<(), RefreshError> {
        if self.count_players().await.is_err() {
            return Ok(());
        }
        self.publish_live(guard).await
    }

    /// Probes the game server once; the observation changes the published word only by
    /// [`Liveness`]'s rules. Returns the change of reachability, if any. Costs MySQL
    /// nothing.
    pub async fn probe_only(&mut self) -> Option<Change> {
        let liveness = self.liveness.as_mut()?;
        let seen = probe::probe(liveness.settings()).await;
        let change = liveness.observe(&seen, unix_now());
        self.metrics
            .record_probe(seen.ok(), liveness.game_server().map(|g| g.reachable));
        let query = liveness.settings().query.id();
        match (&change, &seen.failure) {
            (Some(c), Some(why)) => warn!(
                reachable = c.reachable,
                query,
                reason = why.reason.as_str(),
                detail = %why.detail,
                "game server down"
            ),
            (Some(c), None) => info!(reachable = c.reachable, query, "game server reachable"),
            (None, Some(why)) => tracing::debug!(
                query,
                reason = why.reason.as_str(),
                detail = %why.detail,
                "probe failed"
            ),
            (None, None) => {}
        }
        change
    }

    /// Probes the game server and writes the document with the probe's word (one Redis
    /// write, no MySQL), so the reader's deadline for the word moves on.
    pub async fn probe(
        &mut self,
        guard: Option<&WriteGuard>,
    ) -> Result<Option<Change>, RefreshError> {
        let change = self.probe_only().await;
        self.publish_live(guard).await?;
        Ok(change)
    }

    /// Continues from what the previous writer published (a takeover, or a restart): the
    /// probe's word and the last players count. A missing or unreadable document leaves
    /// everything unknown, which the first probe and count fill in.
    pub async fn carry_on(&mut self) {
        if self.liveness.is_none() && self.players.is_none() {
            return;
        }
        let stored = match self.sink.current().await {
            Ok(stored) => stored,
            Err(e) => {
                warn!(error = %e, "cannot read the published document to carry on from");
                return;
            }
        };
        let Some(view) = stored.as_deref().and_then(|b| DocumentView::parse(b).ok()) else {
            return;
        };
        if let (Some(liveness), Some(published)) = (self.liveness.as_mut(), view.game_server) {
            liveness.carry_on(&published);
        }
        if let (Some(players), Some(count), Some(at)) =
            (self.players.as_mut(), view.players, view.players_at)
        {
            players.last = Some(PlayerCount { count, at });
        }
    }

    /// Forgets the word and the base document: another replica writes now.
    pub fn forget(&mut self) {
        if let Some(liveness) = self.liveness.as_mut() {
            liveness.forget();
        }
        self.last = None;
        self.page_facts = None;
        self.page_facts_new = false;
        self.history.forget();
        if let Some(feed) = &self.notify {
            feed.send_replace(None);
        }
    }

    /// Writes the last built document with what is known now. Its `updated_at` stays (the
    /// time `constants` was read), and so does its expiry: a write between reads never
    /// keeps a document alive longer than its read allows.
    pub(super) async fn publish_live(
        &mut self,
        guard: Option<&WriteGuard>,
    ) -> Result<(), RefreshError> {
        let live = self.live();
        let Some(last) = self.last.as_ref() else {
            return Ok(());
        };
        let remaining = self.settings.ttl_s as f64 - (unix_now() - last.document.updated_at);
        if remaining < 1.0 {
            // Expired by its own read: only a new read may publish again.
            return Ok(());
        }
        let mut document = last.document.clone();
        document.apply_live(last.constant_state, &live);
        let json = document.to_json();
        if json.len() > MAX_DOCUMENT_BYTES {
            return Err(RefreshError::TooLarge(json.len()));
        }
        let ttl_s = remaining.ceil() as u64;
        let history = self.history_for(&document, ttl_s).await;
        let published = self
            .sink
            .publish(
                &json,
                ttl_s,
                guard,
                history.as_ref().map(|h| h.bytes.as_slice()),
            )
            .await;
        self.metrics.record_live_write(published.is_ok());
        match published? {
            Published::Written => {
                self.tell(&document);
                Ok(())
            }
            Published::NotLeaseHolder => Err(RefreshError::NotLeaseHolder),
        }
    }
}
