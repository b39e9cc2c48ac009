//! The fleet's status page: each member keeps its latest [`PageServer`], and the fleet writes
//! the [`PageDocument`] when any of them changed, at most once per [`MIN_PAGE_WRITE_GAP_S`].
//!
//! A member's page is rebuilt from its two halves as they come: the history's view when its
//! history is written (at changes of state, new 5-minute buckets, and at least every
//! `STATUS_HISTORY_LAG`), the facts when its published headline changes in between (players,
//! the notice, the vouch of a probe write). Only those halves are kept, never the history:
//! a few kilobytes a server. The gap bounds what the page costs Redis (at most one
//! `SET` of up to [`MAX_PAGE_BYTES`](status_document::page::MAX_PAGE_BYTES) per gap,
//! whatever the number of servers or visitors); a change within the gap is written at the
//! first step of the fleet after it.

use std::time::Duration;

use status_document::History;
use status_document::page::{MIN_PAGE_WRITE_GAP_S, PageDocument, PageHistory, PageServer};
use tokio::time::Instant;
use tracing::warn;

use super::Member;
use crate::clock::unix_now;
use crate::replicas::guard::WriteGuard;
use crate::write::page::PageWriter;

const GAP: Duration = Duration::from_secs(MIN_PAGE_WRITE_GAP_S);

/// Where the fleet stands with its page.
pub struct FleetPage {
    /// `None`: this refresher writes no page (one group of a split fleet: the page lists the
    /// whole servers file, which no group has in hand).
    writer: Option<PageWriter>,
    /// A member's page changed since the last write.
    dirty: bool,
    /// The last attempt to write, for the gap.
    tried_at: Option<Instant>,
    /// The gap between two writes ([`gap_for`]).
    gap: Duration,
}

impl FleetPage {
    pub fn new(writer: Option<PageWriter>, gap: Duration) -> FleetPage {
        FleetPage {
            writer,
            dirty: false,
            tried_at: None,
            gap,
        }
    }

    /// Takes every member's news into its kept page, and writes the page when one changed
    /// and the gap since the last write has passed. A failure is logged and retried at a
    /// later step: the page is a view of the documents, which stay the truth.
    pub async fn publish(&mut self, members: &mut [Member], guard: Option<&WriteGuard>) {
        let Some(writer) = &self.writer else {
            return;
        };
        for member in members.iter_mut() {
            self.dirty |= take_news(member);
        }
        let now = Instant::now();
        if !due(self.dirty, self.tried_at, now, self.gap) {
            return;
        }
        self.tried_at = Some(now);
        let page = PageDocument::of(
            members.iter().filter_map(|m| m.page.clone()),
            members.len(),
            unix_now().max(0.0) as u64,
        );
        match writer.write(&page, guard).await {
            Ok(true) => self.dirty = false,
            Ok(false) => {}
            Err(e) => {
                warn!(key = %writer.key(), error = %e, "cannot write the status page; retrying at a later step")
            }
        }
    }

    /// Another replica writes now: what this one kept is rebuilt after a takeover.
    pub fn forget(&mut self, members: &mut [Member]) {
        for member in members {
            member.page = None;
        }
        self.dirty = false;
        self.tried_at = None;
    }
}

/// The gap between two writes of the page: [`MIN_PAGE_WRITE_GAP_S`], or a third of the
/// shortest probe deadline when that is less. The page carries each server's vouch, and a
/// server whose word is believed for three seconds (a 1-second probe, two failures) would
/// read "not known" for most of a ten-second gap; a third leaves room for a write to be late.
pub fn gap_for(deadlines: impl Iterator<Item = Duration>) -> Duration {
    deadlines
        .map(|d| d / 3)
        .fold(GAP, Duration::min)
        .max(Duration::from_secs(1))
}

/// Whether the page is to be written at `now`: something changed, and the last attempt
/// (successful or not: a refused or failed write waits the gap too) is a `gap` ago.
fn due(dirty: bool, tried_at: Option<Instant>, now: Instant, gap: Duration) -> bool {
    dirty && tried_at.is_none_or(|at| now >= at + gap)
}

/// Moves `member`'s news into its kept page; whether the page changed.
fn take_news(member: &mut Member) -> bool {
    let (facts, history) = member.refresher.take_page_news();
    let Some(facts) = facts.cloned() else {
        return false;
    };
    let id = &member.spec.id;
    let name = &member.spec.name;
    let assemble = |history| PageServer::assemble(id.clone(), name.clone(), facts.clone(), history);
    match (member.page.as_mut(), history) {
        (_, Some(history)) => member.page = Some(assemble(history)),
        (Some(page), None) => page.set_facts(facts),
        // Published before any history was written (it could not be read): on the page
        // with every day unknown until it is.
        (None, None) => {
            let empty = PageHistory::of(&History::new(), facts.headline.updated_at as i64);
            member.page = Some(assemble(empty));
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_is_written_at_once_then_at_most_once_per_gap() {
        let t0 = Instant::now();
        assert!(due(true, None, t0, GAP), "the first change: at once");
        assert!(!due(false, None, t0, GAP), "nothing changed");
        assert!(!due(
            true,
            Some(t0),
            t0 + GAP - Duration::from_millis(1),
            GAP
        ));
        assert!(
            due(true, Some(t0), t0 + GAP, GAP),
            "the first step after the gap"
        );
    }

    #[test]
    fn the_gap_is_shorter_than_every_vouch() {
        let s = Duration::from_secs;
        assert_eq!(
            gap_for([].into_iter()),
            GAP,
            "no probe: the documents' TTL is long"
        );
        assert_eq!(
            gap_for([s(30), s(60)].into_iter()),
            GAP,
            "the defaults: 10 s"
        );
        assert_eq!(gap_for([s(30), s(6)].into_iter()), s(2));
        assert_eq!(gap_for([s(2)].into_iter()), s(1), "at least a second");
    }
}
