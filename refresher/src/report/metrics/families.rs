//! The `/metrics` page: the record of outcomes as Prometheus families, grouped by concern
//! in the page's order (refreshes, this replica as the writer, what is learnt between
//! reads, notifications), then the nudge sources' own.

use super::{BUCKETS, Inner, Metrics, NotifyResult};
use crate::report::exposition::Family;

const REFRESHES: Family = Family::counter(
    "status_refresher_refresh_total",
    "Refreshes that were due, by result.",
);
const DURATION: Family = Family::histogram(
    "status_refresher_refresh_duration_seconds",
    "Duration of refreshes that ran.",
);
const LAST_SUCCESS: Family = Family::gauge(
    "status_refresher_last_success_timestamp_seconds",
    "Unix time of the last document this replica wrote (0: none yet).",
);
const FAILURES: Family = Family::gauge(
    "status_refresher_consecutive_failures",
    "Failed refreshes since the last success.",
);
const LEASE_HOLDER: Family = Family::gauge(
    "status_refresher_lease_holder",
    "1 if this replica holds the writer lease (or runs without one).",
);
const INTERVAL: Family = Family::gauge(
    "status_refresher_interval_seconds",
    "The refresh interval in force.",
);
const PROBES: Family = Family::counter(
    "status_refresher_probes_total",
    "Game-server probes by result.",
);
const REACHABLE: Family = Family::gauge(
    "status_refresher_game_server_reachable",
    "1 if the published word is that the game server answers.",
);
const LIVE_WRITES: Family = Family::counter(
    "status_refresher_live_writes_total",
    "Document writes between reads of constants (probe, players), by result.",
);
const PLAYERS_FAILURES: Family = Family::counter(
    "status_refresher_players_query_failures_total",
    "Failed runs of the players query.",
);
const PLAYERS: Family = Family::gauge("status_refresher_players", "The last good players count.");
const NOTIFY: Family = Family::counter(
    "status_refresher_notify_total",
    "Notification attempts by target name and result (retry: will be tried again; \
     rejected: a 4xx, not retried; gave_up: not delivered within STATUS_NOTIFY_GIVE_UP).",
);
const NOTIFY_PENDING: Family = Family::gauge(
    "status_refresher_notify_pending",
    "Notifications waiting in the outbox.",
);

impl Metrics {
    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let m = self.lock();
        let mut out = String::with_capacity(2048);
        m.render_refreshes(&mut out);
        m.render_writer(&mut out);
        m.render_live(&mut out);
        m.render_notify(&mut out);
        if let Some(sources) = self.sources.get() {
            sources.render(&mut out);
        }
        out
    }
}

impl Inner {
    /// The refreshes: how many by result, and how long they took.
    fn render_refreshes(&self, out: &mut String) {
        REFRESHES.header(out);
        for (result, n) in [
            ("ok", self.ok),
            ("error", self.error),
            ("skipped_not_leader", self.skipped),
        ] {
            REFRESHES.sample(out, &format!("result=\"{result}\""), n);
        }
        DURATION.header(out);
        let mut cumulative = 0;
        for (i, le) in BUCKETS.iter().enumerate() {
            cumulative += self.buckets[i];
            DURATION.sample_of(out, "_bucket", &format!("le=\"{le}\""), cumulative);
        }
        cumulative += self.buckets[BUCKETS.len()];
        DURATION.sample_of(out, "_bucket", "le=\"+Inf\"", cumulative);
        DURATION.sample_of(out, "_sum", "", self.duration_sum);
        DURATION.sample_of(out, "_count", "", cumulative);
    }

    /// This replica as the writer: its last success, its failures, the lease, the interval.
    fn render_writer(&self, out: &mut String) {
        LAST_SUCCESS.single(out, self.last_success_unix.unwrap_or(0.0));
        FAILURES.single(out, self.consecutive_failures);
        LEASE_HOLDER.single(out, u8::from(self.lease_holder));
        INTERVAL.single(out, self.interval.as_secs());
    }

    /// What is learnt between reads: the probe, its word, the writes, the players.
    fn render_live(&self, out: &mut String) {
        PROBES.header(out);
        PROBES.sample(out, "result=\"ok\"", self.probes_ok);
        PROBES.sample(out, "result=\"failed\"", self.probes_failed);
        if let Some(reachable) = self.reachable {
            REACHABLE.single(out, u8::from(reachable));
        }
        LIVE_WRITES.header(out);
        LIVE_WRITES.sample(out, "result=\"ok\"", self.live_writes_ok);
        LIVE_WRITES.sample(out, "result=\"error\"", self.live_writes_failed);
        PLAYERS_FAILURES.single(out, self.players_failed);
        if let Some(players) = self.players {
            PLAYERS.single(out, players);
        }
    }

    /// The notifications, once a notifier reports.
    fn render_notify(&self, out: &mut String) {
        if self.notify.is_empty() && self.notify_pending.is_none() {
            return;
        }
        NOTIFY.header(out);
        for (target, counts) in &self.notify {
            for result in NotifyResult::ALL {
                let labels = format!("target=\"{target}\",result=\"{}\"", result.as_str());
                NOTIFY.sample(out, &labels, counts[result as usize]);
            }
        }
        NOTIFY_PENDING.single(out, self.notify_pending.unwrap_or(0));
    }
}
