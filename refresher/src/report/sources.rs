//! The nudge sources as `/health` and `/metrics` show them: each one's state and nudge
//! count, read from the channels the running sources ([`crate::sources`]) report on.
//!
//! Only this read-only view is here, not the sources themselves, so the record of outcomes
//! ([`crate::report::metrics`]) can show them without standing above the watchers and the
//! subscription that the daemon starts and stops.

use std::fmt::Write as _;

use tokio::sync::watch;

use crate::replicas::nudge::{Nudger, SourceState};
use crate::report::exposition::Family;

const SOURCE_UP: Family = Family::gauge(
    "status_refresher_source_up",
    "1 while a nudge source works (the refresh channel subscription, or the change \
     watcher); 0 while it is down or cannot run.",
);
const NUDGES: Family = Family::counter(
    "status_refresher_nudges_total",
    "Nudges received, by source (coalesced: at most one refresh per STATUS_MIN_REFRESH_GAP).",
);

/// One source as the reports see it: its state and its nudge count.
#[derive(Debug, Clone)]
pub struct SourceView {
    state: watch::Receiver<SourceState>,
    nudger: Nudger,
}

impl SourceView {
    pub fn new(state: watch::Receiver<SourceState>, nudger: Nudger) -> SourceView {
        SourceView { state, nudger }
    }
}

/// A read-only view of the sources, for the listener.
#[derive(Debug, Clone)]
pub struct SourcesView {
    channel: SourceView,
    watch: SourceView,
    watch_mode: &'static str,
}

impl SourcesView {
    pub fn new(channel: SourceView, watch: SourceView, watch_mode: &'static str) -> SourcesView {
        SourcesView {
            channel,
            watch,
            watch_mode,
        }
    }

    pub fn channel_state(&self) -> SourceState {
        self.channel.state.borrow().clone()
    }

    pub fn watch_state(&self) -> SourceState {
        self.watch.state.borrow().clone()
    }

    /// The fields `/health` adds: `,"channel":"up","watch":"binlog","watch_state":"up"`,
    /// plus `"channel_error"` / `"watch_error"` while one is failing.
    pub fn health_fields(&self) -> String {
        let channel = self.channel_state();
        let watch = self.watch_state();
        let mut out = format!(
            ",\"channel\":\"{}\",\"watch\":\"{}\",\"watch_state\":\"{}\"",
            channel.as_str(),
            self.watch_mode,
            watch.as_str()
        );
        for (name, state) in [("channel_error", &channel), ("watch_error", &watch)] {
            if let Some(detail) = state.detail() {
                // A JSON string literal: the detail is an error message, quotes and all.
                let detail = serde_json::Value::from(detail);
                let _ = write!(out, ",\"{name}\":{detail}");
            }
        }
        out
    }

    /// The Prometheus families for the sources.
    pub fn render(&self, out: &mut String) {
        SOURCE_UP.header(out);
        let sources = [
            ("channel", self.channel_state()),
            (self.watch_mode, self.watch_state()),
        ];
        for (source, state) in &sources {
            if !matches!(state, SourceState::Off | SourceState::Standby) {
                let up = u8::from(*state == SourceState::Up);
                SOURCE_UP.sample(out, &format!("source=\"{source}\""), up);
            }
        }
        NUDGES.header(out);
        NUDGES.sample(out, "source=\"channel\"", self.channel.nudger.sent());
        if self.watch_mode != "interval" {
            let labels = format!("source=\"{}\"", self.watch_mode);
            NUDGES.sample(out, &labels, self.watch.nudger.sent());
        }
    }
}
