//! The nudge sources the lease holder runs: the refresh channel ([`crate::replicas::subscription`])
//! and the configured change watcher ([`crate::read::watch`]).
//!
//! The daemon [`Sources::start`]s them when it becomes the writer (at start without a lease,
//! on acquiring the lease otherwise) and [`Sources::stop`]s them when it loses the lease, so
//! a standby neither subscribes nor reads the binary log, and a new holder subscribes after
//! a takeover. Each task reports its state on a [`watch`] channel; [`SourcesView`] reads
//! those for `/health` and `/metrics`, so a dead subscription or a watcher that cannot run
//! is visible there while the periodic refresh carries on.

use std::fmt::Write as _;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::read::watch::binlog::{self, BinlogWatch};
use crate::read::watch::poll::{self, PollWatch};
use crate::replicas::nudge::{Nudger, SourceState, Trigger};
use crate::replicas::subscription::{self, Subscription};

/// The configured watcher.
#[derive(Debug, Clone)]
pub enum Watcher {
    None,
    Binlog(BinlogWatch),
    Poll(PollWatch),
}

impl Watcher {
    pub fn name(&self) -> &'static str {
        match self {
            Watcher::None => "interval",
            Watcher::Binlog(_) => "binlog",
            Watcher::Poll(_) => "poll",
        }
    }
}

/// One source: its task while running, its state, and its nudge count.
struct Source {
    nudger: Nudger,
    state: watch::Sender<SourceState>,
    task: Option<JoinHandle<()>>,
}

impl Source {
    fn new(trigger: &Trigger, configured: bool) -> Source {
        let initial = if configured {
            SourceState::Standby
        } else {
            SourceState::Off
        };
        Source {
            nudger: trigger.nudger(),
            state: watch::channel(initial).0,
            task: None,
        }
    }

    fn stop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            self.state.send_replace(SourceState::Standby);
        }
    }

    fn view(&self) -> SourceView {
        SourceView {
            state: self.state.subscribe(),
            nudger: self.nudger.clone(),
        }
    }
}

pub struct Sources {
    subscription: Option<Subscription>,
    watcher: Watcher,
    channel: Source,
    watch: Source,
}

impl Sources {
    /// Prepares the sources (nothing runs until [`Sources::start`]). `subscription` is
    /// `None` when the channel is turned off.
    pub fn new(trigger: &Trigger, subscription: Option<Subscription>, watcher: Watcher) -> Sources {
        let channel = Source::new(trigger, subscription.is_some());
        let watch = Source::new(trigger, !matches!(watcher, Watcher::None));
        Sources {
            subscription,
            watcher,
            channel,
            watch,
        }
    }

    /// Starts whatever is configured and not running. Must be called inside the runtime.
    pub fn start(&mut self) {
        if let (Some(sub), None) = (&self.subscription, &self.channel.task) {
            let task = subscription::run(
                sub.clone(),
                self.channel.nudger.clone(),
                self.channel.state.clone(),
            );
            self.channel.task = Some(tokio::spawn(task));
        }
        if self.watch.task.is_none() {
            let nudger = self.watch.nudger.clone();
            let state = self.watch.state.clone();
            self.watch.task = match &self.watcher {
                Watcher::None => None,
                Watcher::Binlog(w) => Some(tokio::spawn(binlog::run(w.clone(), nudger, state))),
                Watcher::Poll(w) => Some(tokio::spawn(poll::run(w.clone(), nudger, state))),
            };
        }
    }

    /// Stops every source (this replica became a standby).
    pub fn stop(&mut self) {
        self.channel.stop();
        self.watch.stop();
    }

    /// What `/health` and `/metrics` show.
    pub fn view(&self) -> SourcesView {
        SourcesView {
            channel: self.channel.view(),
            watch: self.watch.view(),
            watch_mode: self.watcher.name(),
        }
    }
}

impl Drop for Sources {
    fn drop(&mut self) {
        self.stop();
    }
}

#[derive(Debug, Clone)]
struct SourceView {
    state: watch::Receiver<SourceState>,
    nudger: Nudger,
}

/// A read-only view of the sources, for the listener.
#[derive(Debug, Clone)]
pub struct SourcesView {
    channel: SourceView,
    watch: SourceView,
    watch_mode: &'static str,
}

impl SourcesView {
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
        out.push_str(
            "# HELP status_refresher_source_up 1 while a nudge source works (the refresh \
             channel subscription, or the change watcher); 0 while it is down or cannot run.\n\
             # TYPE status_refresher_source_up gauge\n",
        );
        let sources = [
            ("channel", self.channel_state()),
            (self.watch_mode, self.watch_state()),
        ];
        for (name, state) in &sources {
            if !matches!(state, SourceState::Off | SourceState::Standby) {
                let up = u8::from(*state == SourceState::Up);
                let _ = writeln!(out, "status_refresher_source_up{{source=\"{name}\"}} {up}");
            }
        }
        out.push_str(
            "# HELP status_refresher_nudges_total Nudges received, by source (coalesced: at \
             most one refresh per STATUS_MIN_REFRESH_GAP).\n\
             # TYPE status_refresher_nudges_total counter\n",
        );
        let _ = writeln!(
            out,
            "status_refresher_nudges_total{{source=\"channel\"}} {}",
            self.channel.nudger.sent()
        );
        if self.watch_mode != "interval" {
            let _ = writeln!(
                out,
                "status_refresher_nudges_total{{source=\"{}\"}} {}",
                self.watch_mode,
                self.watch.nudger.sent()
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn view_reports_states_and_errors() {
        let trigger = Trigger::new();
        let sources = Sources::new(&trigger, None, Watcher::None);
        let view = sources.view();
        assert_eq!(
            view.health_fields(),
            ",\"channel\":\"off\",\"watch\":\"interval\",\"watch_state\":\"off\""
        );
        sources.channel.state.send_replace(SourceState::Down {
            error: "the \"connection\" closed".into(),
        });
        let fields = view.health_fields();
        assert!(fields.contains("\"channel\":\"down\""), "{fields}");
        assert!(
            fields.contains("\"channel_error\":\"the \\\"connection\\\" closed\""),
            "{fields}"
        );
        // Any error text stays one JSON string: quotes, backslashes and control characters.
        sources.channel.state.send_replace(SourceState::Down {
            error: "a\"b\\c\n".into(),
        });
        let fields = view.health_fields();
        let parsed: serde_json::Value =
            serde_json::from_str(&format!("{{\"ok\":1{fields}}}")).expect("health fields are JSON");
        assert_eq!(parsed["channel_error"], "a\"b\\c\n", "{fields}");
        let rendered = |line: &str| {
            let mut text = String::new();
            view.render(&mut text);
            assert!(text.lines().any(|l| l == line), "no {line}:\n{text}");
        };
        rendered("status_refresher_source_up{source=\"channel\"} 0");
        sources.channel.nudger.nudge();
        rendered("status_refresher_nudges_total{source=\"channel\"} 1");
    }
}
