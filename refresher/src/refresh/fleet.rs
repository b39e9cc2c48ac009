//! Every server of this refresher (its group), driven as one by the daemon's loop.
//!
//! A [`Fleet`] has the [`Refresher`]'s own verbs (refresh, probe, count players, carry on,
//! forget), and applies each to its members: the environment-only setup is a fleet of one
//! (id `default`), so there is no second code path for "one server". Each member keeps its
//! own document, history, probe and clocks: a probe or a count is due per member, on the
//! member's interval, and the daemon sleeps until the earliest. Members run concurrently,
//! so a slow or dead game server costs its own probe's bound, not the others'. After every
//! step whose writes changed a member's headline, the fleet merges the changes into the
//! servers index ([`crate::write::index`]) through the same lease, and keeps the status
//! page ([`page`]: each member's part of it, written at most once per
//! `MIN_PAGE_WRITE_GAP_S`).

mod page;

use std::time::Duration;

use futures_util::future::join_all;
use status_document::page::PageServer;
use status_document::servers::{Headline, IndexEntry};
use tokio::time::Instant;
use tracing::{Instrument, Span, warn};

use super::{RefreshError, Refresher};
use crate::config::ServerSpec;
use crate::read::probe::Change;
use crate::replicas::guard::WriteGuard;
use crate::write::index::IndexWriter;
use crate::write::page::PageWriter;
use page::FleetPage;

/// The two steps every member runs on clocks of its own, beside the refresh.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    /// The game-server probe: writes its word, and tells a change of reachability.
    Probe = 0,
    /// The players query between refreshes (a refresh counts them too).
    Players = 1,
}

/// One server: its refresher and when its probe and its count are next due.
pub struct Member {
    pub spec: ServerSpec,
    pub refresher: Refresher,
    /// When each [`Clock`]'s step is next due, by the clock's number.
    next: [Instant; 2],
    /// The headline the index holds for it, as this replica last wrote it.
    indexed: Option<Headline>,
    /// `server{id=…}` on every log line of its steps when there are several servers (none
    /// for the environment's one: its log stays as it was).
    span: Span,
    /// Its part of the status page, as last built (see [`page`]).
    page: Option<PageServer>,
}

pub struct Fleet {
    members: Vec<Member>,
    index: IndexWriter,
    page: FleetPage,
    group: String,
}

impl Fleet {
    /// `page`: `None` for one group of a split fleet (see [`page::FleetPage`]).
    pub fn new(
        members: Vec<(ServerSpec, Refresher)>,
        index: IndexWriter,
        page: Option<PageWriter>,
        group: &str,
    ) -> Fleet {
        let now = Instant::now();
        let named = members.len() > 1 || members.iter().any(|(s, _)| !s.id.is_default());
        let gap = page::gap_for(
            members
                .iter()
                .filter_map(|(s, _)| s.probe.as_ref().map(|p| p.deadline())),
        );
        Fleet {
            members: members
                .into_iter()
                .map(|(spec, refresher)| Member {
                    span: if named {
                        tracing::info_span!("server", id = %spec.id)
                    } else {
                        Span::none()
                    },
                    spec,
                    refresher,
                    next: [now; 2],
                    indexed: None,
                    page: None,
                })
                .collect(),
            index,
            page: FleetPage::new(page, gap),
            group: group.to_owned(),
        }
    }

    pub fn members(&self) -> &[Member] {
        &self.members
    }

    pub fn members_mut(&mut self) -> &mut [Member] {
        &mut self.members
    }

    /// The first member (the only one without a servers file).
    pub fn first_mut(&mut self) -> Option<&mut Refresher> {
        self.members.first_mut().map(|m| &mut m.refresher)
    }

    /// When `clock`'s step is next due for any member; `None`: no member has that step.
    pub fn next_due(&self, clock: Clock) -> Option<Instant> {
        self.members
            .iter()
            .filter(|m| m.every(clock).is_some())
            .map(|m| m.next[clock as usize])
            .min()
    }

    /// Makes every probe due now (a new writer's first document carries a fresh word).
    pub fn probe_now(&mut self) {
        let now = Instant::now();
        for m in &mut self.members {
            m.next[Clock::Probe as usize] = now;
        }
    }

    /// Runs `clock`'s step of the members it is due for (each is then due again one interval
    /// later) and writes the views; the first change of reachability, if any. A refused
    /// write (the lease is gone) wins over other errors.
    pub async fn step(
        &mut self,
        clock: Clock,
        guard: Option<&WriteGuard>,
    ) -> Result<Option<Change>, RefreshError> {
        let now = Instant::now();
        let due = self.members.iter_mut().filter_map(|m| {
            let every = m.every(clock)?;
            let next = &mut m.next[clock as usize];
            if *next > now {
                return None;
            }
            *next = now + every;
            Some(m.step(clock, guard))
        });
        let results = join_all(due).await;
        let mut change = None;
        let outcome = fold(results, |c| change = change.or(c));
        self.publish_views(guard).await;
        outcome.map(|()| change)
    }

    /// `--once`: one probe of every member, unwritten (the refresh that follows writes).
    pub async fn probe_only(&mut self) {
        self.each(Refresher::probe_only).await;
    }

    /// Refreshes every member (reads its constants, builds, writes). `Ok` with how many
    /// were written when all were; otherwise the first error (a refused write first).
    pub async fn refresh(&mut self, guard: Option<&WriteGuard>) -> Result<usize, RefreshError> {
        let results = self.each(|r| r.refresh(guard)).await;
        let now = Instant::now();
        for m in &mut self.members {
            // The refresh counted the players too.
            if let Some(every) = m.every(Clock::Players) {
                m.next[Clock::Players as usize] = now + every;
            }
        }
        let mut written = 0;
        let outcome = fold(results, |_| written += 1);
        self.publish_views(guard).await;
        outcome.map(|()| written)
    }

    /// Runs `step` on every member's refresher at once, each under the member's span.
    async fn each<'a, F: Future>(
        &'a mut self,
        mut step: impl FnMut(&'a mut Refresher) -> F,
    ) -> Vec<F::Output> {
        let steps = self.members.iter_mut().map(|m| {
            let Member {
                refresher, span, ..
            } = m;
            step(refresher).instrument(span.clone())
        });
        join_all(steps).await
    }

    /// Writes what the step changed beside the documents: the index, then the page.
    async fn publish_views(&mut self, guard: Option<&WriteGuard>) {
        self.write_index(guard).await;
        self.page.publish(&mut self.members, guard).await;
    }

    /// Writes the index entries whose headline changed since this replica last wrote them.
    /// A failure is logged and retried with the next change: the index is a convenience
    /// beside the documents, which stay the truth.
    async fn write_index(&mut self, guard: Option<&WriteGuard>) {
        let fresh: Vec<IndexEntry> = self
            .members
            .iter()
            .filter_map(|m| {
                let now = m.refresher.headline()?;
                (m.indexed.as_ref() != Some(now)).then(|| entry(m, now, &self.group))
            })
            .collect();
        if fresh.is_empty() {
            return;
        }
        match self.index.write(&fresh, guard).await {
            Ok(true) => {
                for m in &mut self.members {
                    m.indexed = m.refresher.headline().cloned();
                }
            }
            Ok(false) => {}
            Err(e) => {
                warn!(key = %self.index.key(), error = %e, "cannot write the servers index; retrying with the next change")
            }
        }
    }

    /// Continues from what the previous writer published, for every member.
    pub async fn carry_on(&mut self) {
        self.each(Refresher::carry_on).await;
    }

    /// Forgets every member's word and base document: another replica writes now.
    pub fn forget(&mut self) {
        for m in &mut self.members {
            m.refresher.forget();
            m.indexed = None;
        }
        self.page.forget(&mut self.members);
    }

    /// Runs every member's players query once at start-up (see
    /// [`Refresher::preflight_players`]).
    pub async fn preflight_players(&mut self) {
        join_all(
            self.members
                .iter_mut()
                .map(|m| m.refresher.preflight_players()),
        )
        .await;
    }

    /// A failure outside a cycle, recorded once (the members share one record).
    pub fn fail(&mut self, error: RefreshError) {
        if let Some(first) = self.first_mut() {
            first.fail(error);
        }
    }

    /// A refresh skipped on a standby, recorded once.
    pub fn skip(&mut self) {
        if let Some(first) = self.first_mut() {
            first.skip();
        }
    }

    /// The soonest any member wants its next refresh (they share one backoff record).
    pub fn next_delay(&mut self) -> Duration {
        self.members
            .iter_mut()
            .map(|m| m.refresher.next_delay())
            .min()
            .unwrap_or(Duration::from_secs(1))
    }

    /// Closes every member's connections, waiting at most `within` in all.
    pub async fn close(self, within: Duration) {
        join_all(self.members.into_iter().map(|m| m.refresher.close(within))).await;
    }
}

impl Member {
    /// `clock`'s interval for this member; `None`: it has no such step.
    fn every(&self, clock: Clock) -> Option<Duration> {
        match clock {
            Clock::Probe => self.refresher.probe_interval(),
            Clock::Players => self.refresher.players_interval(),
        }
    }

    /// Runs `clock`'s step: the probe's change of reachability, if any (a count tells none).
    async fn step(
        &mut self,
        clock: Clock,
        guard: Option<&WriteGuard>,
    ) -> Result<Option<Change>, RefreshError> {
        let refresher = &mut self.refresher;
        match clock {
            Clock::Probe => refresher.probe(guard).instrument(self.span.clone()).await,
            Clock::Players => {
                let counted = refresher.players_now(guard).instrument(self.span.clone());
                counted.await.map(|()| None)
            }
        }
    }
}

/// The index entry of `member` with `headline`.
fn entry(member: &Member, headline: &Headline, group: &str) -> IndexEntry {
    IndexEntry {
        id: member.spec.id.clone(),
        name: member.spec.name.clone(),
        state: headline.state,
        state_reason: headline.state_reason,
        players: headline.players,
        max_players: headline.max_players,
        updated_at: headline.updated_at,
        group: group.to_owned(),
        order: member.spec.order,
    }
}

/// The members' results as one: each success handed to `ok`; a refused write (the lease is
/// gone) before any other error, which is already logged by the member.
fn fold<T>(
    results: Vec<Result<T, RefreshError>>,
    mut ok: impl FnMut(T),
) -> Result<(), RefreshError> {
    let mut first = None;
    for result in results {
        match result {
            Ok(value) => ok(value),
            Err(RefreshError::NotLeaseHolder) => return Err(RefreshError::NotLeaseHolder),
            Err(e) => first = first.or(Some(e)),
        }
    }
    first.map_or(Ok(()), Err)
}
