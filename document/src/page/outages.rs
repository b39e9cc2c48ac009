//! The page's incidents: spans of time out of `online`, made from the history's changes of
//! state. The history keeps changes (`from` → `to` at `at`); a visitor wants spans ("offline
//! from 14:02 to 14:09, 7 minutes"). A span starts at a change *to* offline, maintenance or
//! unknown and ends at the next change; the newest has no end while the server is still in
//! it (ongoing, its duration counted up to now). A maintenance is its own span with its own
//! state, so the page shows it apart and never as downtime.

use super::{INCIDENT_WINDOW_S, MAX_PAGE_INCIDENTS, PageIncident};
use crate::history::History;
use crate::state::State;

fn out(state: State) -> bool {
    state != State::Online
}

/// The spans out of `online` that touch the last [`INCIDENT_WINDOW_S`] before `now`, newest
/// first, at most [`MAX_PAGE_INCIDENTS`].
pub(super) fn outages(history: &History, now: i64) -> Vec<PageIncident> {
    let changes = &history.incidents;
    let mut spans = Vec::new();
    // The oldest kept change may end a span whose start fell off the kept changes.
    if let Some(first) = changes.first().filter(|c| out(c.from)) {
        let start = first.at.saturating_sub(clamp_i64(first.duration_s));
        spans.push(span(first.from, None, start, Some(first.at), now));
    }
    for (k, change) in changes.iter().enumerate().filter(|(_, c)| out(c.to)) {
        let end = match (changes.get(k + 1), history.last) {
            (Some(next), _) => Some(next.at),
            // The newest change: ongoing while the history is still in its state.
            (None, Some(last)) if last.state == change.to => None,
            // The history's state moved on without a change (a clock step reset it).
            (None, Some(last)) => Some(last.state_since.max(change.at)),
            (None, None) => None,
        };
        spans.push(span(change.to, change.reason, change.at, end, now));
    }
    // Out of `online` with no change to it kept (the history started in that state).
    if let Some(last) = history.last
        && out(last.state)
        && changes.last().is_none_or(|c| c.to != last.state)
    {
        spans.push(span(last.state, None, last.state_since, None, now));
    }
    let horizon = now.saturating_sub(INCIDENT_WINDOW_S);
    spans.retain(|s| s.end.unwrap_or(now) >= horizon);
    spans.reverse();
    spans.truncate(MAX_PAGE_INCIDENTS);
    spans
}

fn span(
    state: State,
    reason: Option<crate::live::StateReason>,
    start: i64,
    end: Option<i64>,
    now: i64,
) -> PageIncident {
    PageIncident {
        state,
        reason,
        start,
        end,
        duration_s: (end.unwrap_or(now).saturating_sub(start)).max(0) as u64,
    }
}

fn clamp_i64(secs: u64) -> i64 {
    i64::try_from(secs).unwrap_or(i64::MAX)
}
