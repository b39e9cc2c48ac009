//! The nudge sources the lease holder runs: the refresh channel ([`crate::replicas::subscription`])
//! and the configured change watcher ([`crate::read::watch`]).
//!
//! The daemon [`Sources::start`]s them when it becomes the writer (at start without a lease,
//! on acquiring the lease otherwise) and [`Sources::stop`]s them when it loses the lease, so
//! a standby neither subscribes nor reads the binary log, and a new holder subscribes after
//! a takeover. Each task reports its state on a [`watch`] channel; [`SourcesView`] reads
//! those for `/health` and `/metrics`, so a dead subscription or a watcher that cannot run
//! is visible there while the periodic refresh carries on (the view itself is
//! [`crate::report::sources`]).

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::read::watch::binlog::{self, BinlogWatch};
use crate::read::watch::poll::{self, PollWatch};
use crate::replicas::nudge::{Nudger, SourceState, Trigger};
use crate::replicas::subscription::{self, Subscription};
use crate::report::sources::{SourceView, SourcesView};

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
        SourceView::new(self.state.subscribe(), self.nudger.clone())
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
        SourcesView::new(self.channel.view(), self.watch.view(), self.watcher.name())
    }
}

impl Drop for Sources {
    fn drop(&mut self) {
        self.stop();
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
