//! Nudges: requests for a refresh sooner than the interval, and how they coalesce.
//!
//! A nudge comes from the Redis channel (`<STATUS_KEY>:refresh`, see [`crate::replicas::subscription`])
//! or from a change watcher (see [`crate::read::watch`]). Anyone with publish rights on the channel
//! can send a thousand a second, so a nudge never runs a refresh by itself: it only raises a
//! counter, and the daemon decides when the next refresh may run from two facts, kept here:
//!
//! - whether a nudge arrived after the last refresh *started* ([`Trigger::pending`]): a
//!   nudge during a refresh may have come after its `SELECT`, so it earns exactly one more
//!   refresh, and any number of nudges before a start are answered by that one refresh;
//! - when the last refresh started ([`Coalescer`]): two refreshes are never closer than
//!   `STATUS_MIN_REFRESH_GAP`, whatever asked for them (periodic ones count too).
//!
//! So however many nudges arrive, the database sees at most one `SELECT` per gap, and a
//! nudge is never lost: it is answered at the latest one gap after the refresh before it.
//!
//! The counter is one atomic and a [`Notify`]: sending is wait-free and allocates nothing,
//! so a flood of messages costs the refresher no memory.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::{Notify, watch};
use tokio::time::Instant;
use tracing::warn;

use crate::schedule::Backoff;

/// The state of one nudge source (the refresh channel, or a change watcher), for `/health`
/// and `/metrics`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum SourceState {
    /// Not configured.
    #[default]
    Off,
    /// Configured, but this replica is a standby: the lease holder runs it.
    Standby,
    /// Starting, or reconnecting after [`SourceState::Down`].
    Connecting,
    /// Working: nudges from it arrive.
    Up,
    /// Lost, retrying with backoff; the error says why (never a secret).
    Down { error: String },
    /// Cannot run with this server or user, and will not retry until restarted; the reason
    /// says exactly what is missing. Periodic refreshes go on.
    Unavailable { reason: String },
}

impl SourceState {
    pub fn as_str(&self) -> &'static str {
        match self {
            SourceState::Off => "off",
            SourceState::Standby => "standby",
            SourceState::Connecting => "connecting",
            SourceState::Up => "up",
            SourceState::Down { .. } => "down",
            SourceState::Unavailable { .. } => "unavailable",
        }
    }

    /// The error or reason, if any.
    pub fn detail(&self) -> Option<&str> {
        match self {
            SourceState::Down { error } => Some(error),
            SourceState::Unavailable { reason } => Some(reason),
            _ => None,
        }
    }
}

/// The retry rhythm of a source that lost its connection: the refresher's jittered backoff,
/// capped, reset by a success. One shape for the subscription and both watchers, so they
/// report and retry alike.
#[derive(Debug)]
pub struct Reconnect {
    backoff: Backoff,
    failures: u32,
    cap: Duration,
}

impl Reconnect {
    pub fn new(cap: Duration) -> Reconnect {
        Reconnect {
            backoff: Backoff::default(),
            failures: 0,
            cap,
        }
    }

    /// The source works again: the next loss starts the backoff afresh.
    pub fn succeeded(&mut self) {
        self.failures = 0;
    }

    /// Reports a loss (a warning naming `what`, and [`SourceState::Down`]) and waits before
    /// the next attempt.
    pub async fn lost(&mut self, what: &str, error: String, state: &watch::Sender<SourceState>) {
        self.failures = self.failures.saturating_add(1);
        let retry_in = self.backoff.delay(self.failures, self.cap);
        warn!(
            error = %error,
            retry_in_ms = retry_in.as_millis() as u64,
            "{what} lost; retrying (periodic refreshes go on)"
        );
        state.send_replace(SourceState::Down { error });
        tokio::time::sleep(retry_in).await;
    }
}

#[derive(Debug, Default)]
struct Shared {
    sent: AtomicU64,
    notify: Notify,
}

/// The sending side: one per source (clones share that source's count).
#[derive(Debug, Clone)]
pub struct Nudger {
    shared: Arc<Shared>,
    /// This source's own count, for `/metrics`.
    own: Arc<AtomicU64>,
}

impl Nudger {
    /// Asks for a refresh. Never blocks; any number of calls before the next refresh
    /// starts count as one.
    pub fn nudge(&self) {
        self.own.fetch_add(1, Ordering::Relaxed);
        self.shared.sent.fetch_add(1, Ordering::Relaxed);
        self.shared.notify.notify_one();
    }

    /// Nudges this source sent.
    pub fn sent(&self) -> u64 {
        self.own.load(Ordering::Relaxed)
    }
}

/// The receiving side, owned by the daemon.
#[derive(Debug)]
pub struct Trigger {
    shared: Arc<Shared>,
    /// The count when the last refresh started.
    answered: u64,
}

impl Default for Trigger {
    fn default() -> Self {
        Trigger::new()
    }
}

impl Trigger {
    pub fn new() -> Trigger {
        Trigger {
            shared: Arc::default(),
            answered: 0,
        }
    }

    /// A sender for a new source, with its own count.
    pub fn nudger(&self) -> Nudger {
        Nudger {
            shared: Arc::clone(&self.shared),
            own: Arc::default(),
        }
    }

    /// Nudges received so far (for `/metrics`).
    pub fn received(&self) -> u64 {
        self.shared.sent.load(Ordering::Relaxed)
    }

    /// Whether a nudge arrived since the last refresh started.
    pub fn pending(&self) -> bool {
        self.received() > self.answered
    }

    /// A refresh is starting: it answers every nudge received until now.
    pub fn answer(&mut self) {
        self.answered = self.received();
    }

    /// Forgets pending nudges without refreshing (a standby does not act on them).
    pub fn discard(&mut self) {
        self.answer();
    }

    /// Resolves when a nudge arrives (or has arrived since the last call). Cancel-safe.
    pub async fn arrived(&self) {
        self.shared.notify.notified().await;
    }
}

/// Spacing of refreshes: at most one per `min_gap`.
#[derive(Debug, Clone)]
pub struct Coalescer {
    min_gap: Duration,
    last_start: Option<Instant>,
}

impl Coalescer {
    pub fn new(min_gap: Duration) -> Coalescer {
        Coalescer {
            min_gap,
            last_start: None,
        }
    }

    /// A refresh (of any kind) started at `at`.
    pub fn started(&mut self, at: Instant) {
        self.last_start = Some(at);
    }

    /// When the refresh a pending nudge asks for is due (`None` without one): one gap
    /// after the last start, or `now` if that has passed or nothing ran yet.
    pub fn due(&self, pending: bool, now: Instant) -> Option<Instant> {
        pending.then(|| match self.last_start {
            Some(t) => (t + self.min_gap).max(now),
            None => now,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nudges_before_a_start_are_answered_by_it_and_one_during_earns_one_more() {
        let mut trigger = Trigger::new();
        let nudger = trigger.nudger();
        assert!(!trigger.pending());
        for _ in 0..1000 {
            nudger.nudge();
        }
        assert!(trigger.pending());
        assert_eq!(trigger.received(), 1000);
        let other = trigger.nudger();
        other.nudge();
        assert_eq!(
            (nudger.sent(), other.sent(), trigger.received()),
            (1000, 1, 1001)
        );
        trigger.answer(); // the refresh starts
        assert!(!trigger.pending(), "one refresh answers the whole burst");
        nudger.nudge(); // during the refresh
        assert!(trigger.pending(), "a nudge during a refresh earns one more");
        trigger.answer();
        assert!(!trigger.pending(), "and only one");
        nudger.nudge();
        trigger.discard();
        assert!(!trigger.pending());
    }

    #[tokio::test]
    async fn arrival_wakes_a_waiter_even_if_sent_before_the_wait() {
        let trigger = Trigger::new();
        trigger.nudger().nudge();
        tokio::time::timeout(Duration::from_secs(5), trigger.arrived())
            .await
            .expect("the stored permit wakes the waiter");
        let nudger = trigger.nudger();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(10)).await;
            nudger.nudge();
        });
        tokio::time::timeout(Duration::from_secs(5), trigger.arrived())
            .await
            .expect("a later nudge wakes the waiter");
    }

    #[test]
    fn refreshes_are_at_least_one_gap_apart() {
        let gap = Duration::from_secs(2);
        let mut c = Coalescer::new(gap);
        let now = Instant::now();
        assert_eq!(c.due(false, now), None);
        assert_eq!(c.due(true, now), Some(now), "nothing ran yet: due at once");
        c.started(now);
        assert_eq!(c.due(true, now), Some(now + gap));
        let later = now + Duration::from_secs(5);
        assert_eq!(c.due(true, later), Some(later), "overdue means now");
    }

    /// The daemon's use of both, simulated over a 1,000-nudge flood spread over one second
    /// with a 2 s gap: two refreshes, the second one answering the flood's tail.
    #[test]
    fn a_flood_costs_at_most_two_refreshes_per_gap() {
        let mut trigger = Trigger::new();
        let nudger = trigger.nudger();
        let mut c = Coalescer::new(Duration::from_secs(2));
        let t0 = Instant::now();
        c.started(t0); // the start-up refresh
        let start = t0 + Duration::from_secs(3);
        let mut refreshes = Vec::new();
        for ms in 0..4000 {
            let now = start + Duration::from_millis(ms);
            if ms < 1000 {
                nudger.nudge();
            }
            if c.due(trigger.pending(), now).is_some_and(|d| d <= now) {
                trigger.answer();
                c.started(now);
                refreshes.push(ms);
            }
        }
        assert_eq!(refreshes, [0, 2000]);
        assert!(!trigger.pending(), "the last nudge was answered");
    }
}
