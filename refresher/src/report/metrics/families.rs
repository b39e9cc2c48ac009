//! The `/metrics` page: the record of outcomes as Prometheus families, grouped by concern
//! in the page's order (refreshes, this replica as the writer, what is learnt between
//! reads, notifications), then the nudge sources' own.

use super::{BUCKETS, Inner, Metrics, NotifyResult};
use crate::report::exposition::{Kind, family, sample, single};

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
        let name = "status_refresher_refresh_total";
        family(
            out,
            name,
            Kind::Counter,
            "Refreshes that were due, by result.",
        );
        for (result, n) in [
            ("ok", self.ok),
            ("error", self.error),
            ("skipped_not_leader", self.skipped),
        ] {
            sample(out, name, &format!("result=\"{result}\""), n);
        }
        let name = "status_refresher_refresh_duration_seconds";
        family(
            out,
            name,
            Kind::Histogram,
            "Duration of refreshes that ran.",
        );
        let bucket = format!("{name}_bucket");
        let mut cumulative = 0;
        for (i, le) in BUCKETS.iter().enumerate() {
            cumulative += self.buckets[i];
            sample(out, &bucket, &format!("le=\"{le}\""), cumulative);
        }
        cumulative += self.buckets[BUCKETS.len()];
        sample(out, &bucket, "le=\"+Inf\"", cumulative);
        sample(out, &format!("{name}_sum"), "", self.duration_sum);
        sample(out, &format!("{name}_count"), "", cumulative);
    }

    /// This replica as the writer: its last success, its failures, the lease, the interval.
    fn render_writer(&self, out: &mut String) {
        single(
            out,
            "status_refresher_last_success_timestamp_seconds",
            Kind::Gauge,
            "Unix time of the last document this replica wrote (0: none yet).",
            self.last_success_unix.unwrap_or(0.0),
        );
        single(
            out,
            "status_refresher_consecutive_failures",
            Kind::Gauge,
            "Failed refreshes since the last success.",
            self.consecutive_failures,
        );
        single(
            out,
            "status_refresher_lease_holder",
            Kind::Gauge,
            "1 if this replica holds the writer lease (or runs without one).",
            u8::from(self.lease_holder),
        );
        single(
            out,
            "status_refresher_interval_seconds",
            Kind::Gauge,
            "The refresh interval in force.",
            self.interval.as_secs(),
        );
    }

    /// What is learnt between reads: the probe, its word, the writes, the players.
    fn render_live(&self, out: &mut String) {
        let name = "status_refresher_probes_total";
        family(out, name, Kind::Counter, "Game-server probes by result.");
        sample(out, name, "result=\"ok\"", self.probes_ok);
        sample(out, name, "result=\"failed\"", self.probes_failed);
        if let Some(reachable) = self.reachable {
            single(
                out,
                "status_refresher_game_server_reachable",
                Kind::Gauge,
                "1 if the published word is that the game server answers.",
                u8::from(reachable),
            );
        }
        let name = "status_refresher_live_writes_total";
        family(
            out,
            name,
            Kind::Counter,
            "Document writes between reads of constants (probe, players), by result.",
        );
        sample(out, name, "result=\"ok\"", self.live_writes_ok);
        sample(out, name, "result=\"error\"", self.live_writes_failed);
        single(
            out,
            "status_refresher_players_query_failures_total",
            Kind::Counter,
            "Failed runs of the players query.",
            self.players_failed,
        );
        if let Some(players) = self.players {
            single(
                out,
                "status_refresher_players",
                Kind::Gauge,
                "The last good players count.",
                players,
            );
        }
    }

    /// The notifications, once a notifier reports.
    fn render_notify(&self, out: &mut String) {
        if self.notify.is_empty() && self.notify_pending.is_none() {
            return;
        }
        let name = "status_refresher_notify_total";
        family(
            out,
            name,
            Kind::Counter,
            "Notification attempts by target name and result (retry: will be tried again; \
             rejected: a 4xx, not retried; gave_up: not delivered within STATUS_NOTIFY_GIVE_UP).",
        );
        for (target, counts) in &self.notify {
            for result in NotifyResult::ALL {
                let labels = format!("target=\"{target}\",result=\"{}\"", result.as_str());
                sample(out, name, &labels, counts[result as usize]);
            }
        }
        single(
            out,
            "status_refresher_notify_pending",
            Kind::Gauge,
            "Notifications waiting in the outbox.",
            self.notify_pending.unwrap_or(0),
        );
    }
}
