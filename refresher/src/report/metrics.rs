//! What the refresher knows about its own health, for the `/health` probe and the
//! Prometheus `/metrics` page (served by [`crate::report::listener`]).
//!
//! This is the one record of how refreshing goes: the [`crate::refresh::Refresher`] records
//! every outcome here and reads its failure count back for the backoff, the daemon adds
//! what it learns about the lease, and the listener only reads. The exposition format is
//! written by hand: five metric families do not justify a metrics crate, and the format is
//! plain text (<https://prometheus.io/docs/instrumenting/exposition_formats/>).

use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::clock::unix_now;
use crate::report::sources::SourcesView;

mod families;

/// Upper bounds (seconds) of the refresh duration histogram buckets; `+Inf` is implied.
/// A refresh is one query and one write: milliseconds when healthy, up to a few timeouts
/// when not.
pub const BUCKETS: [f64; 10] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

/// How one due refresh ended.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Outcome {
    /// The document was written.
    Ok { duration: Duration },
    /// The refresh ran (or could not start) and failed; nothing was written.
    Error { duration: Duration },
    /// Another replica holds the lease; this one did not read or write. (Exposed as
    /// `result="skipped_not_leader"`, the label dashboards and alerts already match on.)
    SkippedNotHolder,
}

/// The `/health` verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// The last success is recent enough: HTTP 200.
    Ok,
    /// No failure now, but no success for longer than allowed: HTTP 503.
    Stale,
    /// The latest attempt failed: HTTP 503.
    Error,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Stale => "stale",
            Status::Error => "error",
        }
    }

    pub fn http_code(self) -> u16 {
        match self {
            Status::Ok => 200,
            Status::Stale | Status::Error => 503,
        }
    }
}

#[derive(Debug, Default)]
struct Inner {
    ok: u64,
    error: u64,
    skipped: u64,
    /// Non-cumulative counts per bucket in [`BUCKETS`], plus one for `+Inf`.
    buckets: [u64; BUCKETS.len() + 1],
    duration_sum: f64,
    /// Unix time of the last document written by this replica.
    last_success_unix: Option<f64>,
    /// When this replica last did its job: wrote the document, or confirmed another
    /// replica holds the lease.
    last_good: Option<Instant>,
    consecutive_failures: u32,
    lease_holder: bool,
    interval: Duration,
    /// Game-server probes by outcome, and the published reachability (`None`: no word yet).
    probes_ok: u64,
    probes_failed: u64,
    reachable: Option<bool>,
    /// Writes between reads (probe and players), by outcome.
    live_writes_ok: u64,
    live_writes_failed: u64,
    /// The last good players count, and failed runs of the query.
    players: Option<u64>,
    players_failed: u64,
    /// Notification attempts per target name (never its URL), and messages pending;
    /// `None` until a notifier reports (no `STATUS_NOTIFY`).
    notify: std::collections::BTreeMap<String, [u64; 4]>,
    notify_pending: Option<usize>,
}

/// What one notification attempt came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotifyResult {
    Sent,
    /// Not delivered this time (time-out, no connection, 5xx, 429); will be retried.
    Retry,
    /// A 4xx other than 429: not retried.
    Rejected,
    /// Not delivered within STATUS_NOTIFY_GIVE_UP (or the outbox overflowed).
    GaveUp,
}

impl NotifyResult {
    const ALL: [NotifyResult; 4] = [
        NotifyResult::Sent,
        NotifyResult::Retry,
        NotifyResult::Rejected,
        NotifyResult::GaveUp,
    ];

    fn as_str(self) -> &'static str {
        match self {
            NotifyResult::Sent => "sent",
            NotifyResult::Retry => "retry",
            NotifyResult::Rejected => "rejected",
            NotifyResult::GaveUp => "gave_up",
        }
    }
}

/// Shared between the daemon (writes) and the listener (reads).
#[derive(Debug)]
pub struct Metrics {
    inner: Mutex<Inner>,
    /// Slack on top of one interval before the last success counts as stale: a refresh
    /// under way may take a few timeouts.
    grace: Duration,
    /// The nudge sources' states (the refresh channel, the change watcher), once known.
    sources: std::sync::OnceLock<SourcesView>,
}

impl Metrics {
    pub fn new(interval: Duration, grace: Duration) -> Metrics {
        Metrics {
            inner: Mutex::new(Inner {
                interval,
                ..Inner::default()
            }),
            grace,
            sources: std::sync::OnceLock::new(),
        }
    }

    /// Shows the nudge sources in `/health` and `/metrics` from now on (set once).
    pub fn set_sources(&self, view: SourcesView) {
        let _ = self.sources.set(view);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding this lock cannot leave the counters inconsistent in a way
        // that matters; keep serving rather than poisoning the probe.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn record(&self, outcome: Outcome) {
        let mut m = self.lock();
        match outcome {
            Outcome::Ok { duration } => {
                m.ok += 1;
                m.observe(duration);
                m.last_success_unix = Some(unix_now());
                m.last_good = Some(Instant::now());
                m.consecutive_failures = 0;
            }
            Outcome::Error { duration } => {
                m.error += 1;
                m.observe(duration);
                m.consecutive_failures = m.consecutive_failures.saturating_add(1);
            }
            Outcome::SkippedNotHolder => {
                m.skipped += 1;
                m.last_good = Some(Instant::now());
                m.consecutive_failures = 0;
            }
        }
    }

    /// A standby replica that confirmed another holds the lease is doing its job.
    pub fn standby_confirmed(&self) {
        let mut m = self.lock();
        m.last_good = Some(Instant::now());
        m.consecutive_failures = 0;
    }

    /// Failed refreshes since the last success (or confirmed standby): what `/health`
    /// reports and what the backoff grows with.
    pub fn consecutive_failures(&self) -> u32 {
        self.lock().consecutive_failures
    }

    pub fn set_lease_holder(&self, holder: bool) {
        self.lock().lease_holder = holder;
    }

    pub fn set_interval(&self, interval: Duration) {
        self.lock().interval = interval;
    }

    /// One game-server probe, and the reachability published after it.
    pub fn record_probe(&self, ok: bool, reachable: Option<bool>) {
        let mut m = self.lock();
        if ok {
            m.probes_ok += 1;
        } else {
            m.probes_failed += 1;
        }
        m.reachable = reachable;
    }

    /// One write between reads of `constants` (the probe's or the players count's).
    pub fn record_live_write(&self, ok: bool) {
        let mut m = self.lock();
        if ok {
            m.live_writes_ok += 1;
        } else {
            m.live_writes_failed += 1;
        }
    }

    pub fn set_players(&self, players: Option<u64>) {
        self.lock().players = players;
    }

    /// One notification attempt to the target named `target` (a name, never a URL).
    pub fn record_notify(&self, target: &str, result: NotifyResult) {
        let mut m = self.lock();
        let counts = m.notify.entry(target.to_owned()).or_default();
        counts[result as usize] += 1;
    }

    pub fn set_notify_pending(&self, pending: usize) {
        self.lock().notify_pending = Some(pending);
    }

    pub fn players_failed(&self) {
        self.lock().players_failed += 1;
    }

    /// The health verdict and its JSON body.
    pub fn health(&self) -> (Status, String) {
        let m = self.lock();
        let now = Instant::now();
        let status = if m.consecutive_failures > 0 {
            Status::Error
        } else {
            match m.last_good {
                Some(t) if now.duration_since(t) <= m.interval + self.grace => Status::Ok,
                _ => Status::Stale,
            }
        };
        let last_success = m
            .last_success_unix
            .map_or_else(|| "null".to_owned(), |t| format!("{t:.3}"));
        let sources = self
            .sources
            .get()
            .map(SourcesView::health_fields)
            .unwrap_or_default();
        let notify = match m.notify_pending {
            Some(pending) => {
                let failed: u64 = m
                    .notify
                    .values()
                    .map(|c| c[NotifyResult::Rejected as usize] + c[NotifyResult::GaveUp as usize])
                    .sum();
                format!(",\"notify_pending\":{pending},\"notify_failed\":{failed}")
            }
            None => String::new(),
        };
        let body = format!(
            "{{\"status\":\"{}\",\"last_success\":{last_success},\"consecutive_failures\":{},\
             \"lease_holder\":{},\"interval_s\":{}{sources}{notify}}}\n",
            status.as_str(),
            m.consecutive_failures,
            m.lease_holder,
            m.interval.as_secs()
        );
        (status, body)
    }
}

impl Inner {
    fn observe(&mut self, duration: Duration) {
        let s = duration.as_secs_f64();
        let i = BUCKETS
            .iter()
            .position(|le| s <= *le)
            .unwrap_or(BUCKETS.len());
        self.buckets[i] += 1;
        self.duration_sum += s;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_follows_outcomes() {
        // An hour while a verdict must be `ok`, a millisecond (then ten of sleep) where it
        // must be `stale`: a busy machine can pause this thread between the record and the
        // look for longer than any short interval, but never make ten milliseconds shorter.
        let m = Metrics::new(Duration::from_secs(3600), Duration::ZERO);
        assert_eq!(m.health().0, Status::Stale, "nothing yet");
        let body = health_after(&m, Outcome::Ok { duration: ms(3) }, (Status::Ok, 200));
        assert!(body.contains("\"consecutive_failures\":0"), "{body}");
        m.set_interval(ms(1));
        std::thread::sleep(ms(10));
        assert_eq!(m.health().0, Status::Stale, "older than one interval");
        m.set_interval(Duration::from_secs(3600));
        let error = Outcome::Error { duration: ms(1000) };
        let body = health_after(&m, error, (Status::Error, 503));
        assert!(body.starts_with("{\"status\":\"error\""), "{body}");
        serde_check(&body);
        m.record(Outcome::SkippedNotHolder);
        assert_eq!(m.health().0, Status::Ok, "a standby is healthy");
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// Records `outcome`, checks /health's status and HTTP code, and returns its body.
    fn health_after(m: &Metrics, outcome: Outcome, expected: (Status, u16)) -> String {
        m.record(outcome);
        let (status, body) = m.health();
        assert_eq!((status, status.http_code()), expected);
        body
    }

    /// The body is one flat JSON object (checked without a JSON dependency).
    fn serde_check(body: &str) {
        let t = body.trim();
        assert!(t.starts_with('{') && t.ends_with('}'), "{t}");
        assert!(t.contains("\"last_success\":"), "{t}");
    }

    #[test]
    fn exposition_is_cumulative_and_complete() {
        let m = Metrics::new(Duration::from_secs(600), Duration::from_secs(15));
        for ms in [1, 30, 30, 20_000] {
            m.record(Outcome::Ok {
                duration: Duration::from_millis(ms),
            });
        }
        m.record(Outcome::Error {
            duration: Duration::from_millis(700),
        });
        m.record(Outcome::SkippedNotHolder);
        m.set_lease_holder(true);
        let text = m.render();
        for line in [
            "status_refresher_refresh_total{result=\"ok\"} 4",
            "status_refresher_refresh_total{result=\"error\"} 1",
            "status_refresher_refresh_total{result=\"skipped_not_leader\"} 1",
            "status_refresher_refresh_duration_seconds_bucket{le=\"0.005\"} 1",
            "status_refresher_refresh_duration_seconds_bucket{le=\"0.05\"} 3",
            "status_refresher_refresh_duration_seconds_bucket{le=\"1\"} 4",
            "status_refresher_refresh_duration_seconds_bucket{le=\"10\"} 4",
            "status_refresher_refresh_duration_seconds_bucket{le=\"+Inf\"} 5",
            "status_refresher_refresh_duration_seconds_count 5",
            "status_refresher_consecutive_failures 0",
            "status_refresher_lease_holder 1",
            "status_refresher_interval_seconds 600",
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line}:\n{text}");
        }
        // Every sample line is `name[{labels}] value` with a numeric value.
        for l in text.lines().filter(|l| !l.starts_with('#')) {
            let value = l.rsplit(' ').next().unwrap();
            assert!(value.parse::<f64>().is_ok(), "{l}");
        }
    }
}
