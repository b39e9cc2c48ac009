//! The `--fleet` report: the one-server baseline beside the N-server fleet, per-server costs
//! and their ratios, verdicts against the goals, and how it was measured.

use std::fmt::Write as _;

use super::{GOAL_BYTES_PER_PROBE, GOAL_CORE_PERCENT, GOAL_RSS_MIB, Measured, PROBE_INTERVAL_S};
use crate::live_bench::{self, LiveReport, RunInfo};

/// The whole report.
#[derive(Debug, Clone)]
pub struct FleetReport {
    /// Date, machine, command, notes and logs of the run.
    pub run: RunInfo,
    /// The measured window, seconds.
    pub window_s: u64,
    /// The environment-only setup: one server.
    pub baseline: Measured,
    /// The servers file of N.
    pub fleet: Measured,
    /// Whether every history started full (30 days) rather than empty.
    pub full_history: bool,
}

/// What one setup cost, per probe round (all its servers probed once) and per probe.
struct Costs {
    servers: f64,
    cpu_ms_per_round: f64,
    core_percent: f64,
    written_per_round: f64,
    read_per_round: f64,
    rss_mean_mib: f64,
    rss_peak_mib: f64,
}

impl Costs {
    fn of(m: &Measured) -> Costs {
        let w = &m.window;
        let rounds = w.rounds(m.servers).max(f64::MIN_POSITIVE);
        Costs {
            servers: m.servers.max(1) as f64,
            cpu_ms_per_round: w.cpu_ns as f64 / 1e6 / rounds,
            core_percent: w.core_percent(),
            written_per_round: w.bytes.to_redis as f64 / rounds,
            read_per_round: w.bytes.from_redis as f64 / rounds,
            rss_mean_mib: w.rss_mean_kib as f64 / 1024.0,
            rss_peak_mib: w.hwm_kib as f64 / 1024.0,
        }
    }

    /// Bytes written to Redis per server per probe.
    fn written_per_probe(&self) -> f64 {
        self.written_per_round / self.servers
    }
}

fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "**missed**" }
}

/// One row: the baseline, the fleet's total and per server (total / N), and the ratio of
/// the fleet's per-server value to the baseline's; `show` formats the values.
fn row(out: &mut String, what: &str, one: f64, fleet: f64, n: f64, show: impl Fn(f64) -> String) {
    let per_server = fleet / n;
    let ratio = if one > 0.0 {
        let r = per_server / one;
        if r < 0.1 {
            format!("{r:.3}×")
        } else {
            format!("{r:.2}×")
        }
    } else {
        "—".into()
    };
    let _ = writeln!(
        out,
        "| {what} | {} | {} | {} | {ratio} |",
        show(one),
        show(fleet),
        show(per_server)
    );
}

fn ms(v: f64) -> String {
    if v < 1.0 {
        format!("{:.0} µs", v * 1000.0)
    } else {
        format!("{v:.2} ms")
    }
}

fn bytes(v: f64) -> String {
    if v >= 1_000_000.0 {
        format!("{:.2} MB", v / 1e6)
    } else if v >= 10_000.0 {
        format!("{:.1} KB", v / 1e3)
    } else {
        format!("{v:.0} B")
    }
}

fn mib(v: f64) -> String {
    if v < 1.0 {
        format!("{:.1} KiB", v * 1024.0)
    } else {
        format!("{v:.1} MiB")
    }
}

impl LiveReport for FleetReport {
    fn run(&self) -> &RunInfo {
        &self.run
    }

    fn render(&self) -> String {
        let n = self.fleet.servers;
        let title =
            format!("One refresher, {n} game servers: CPU, memory and Redis writes (issue 30)");
        let what = format!("{n} servers against 1, {} s windows", self.window_s);
        let mut out = self.run.heading(&title, &what);
        self.table(&mut out);
        self.verdicts(&mut out);
        self.how(&mut out);
        live_bench::notes(&mut out, &self.notes());
        out
    }
}

impl FleetReport {
    fn table(&self, out: &mut String) {
        let (one, fleet) = (Costs::of(&self.baseline), Costs::of(&self.fleet));
        let n = fleet.servers;
        let _ = writeln!(
            out,
            "| probe every {PROBE_INTERVAL_S} s, `query = \"tcp\"` | 1 server (environment) | \
             {n} servers (servers file) | {n} servers, per server | ratio: per server, {n} / 1 |\n\
             |---|--:|--:|--:|--:|"
        );
        row(
            out,
            "CPU per probe round",
            one.cpu_ms_per_round,
            fleet.cpu_ms_per_round,
            n,
            ms,
        );
        let pct = |v: f64| format!("{v:.3} %");
        row(
            out,
            "CPU, share of one core",
            one.core_percent,
            fleet.core_percent,
            n,
            pct,
        );
        let (w1, wn) = (one.written_per_round, fleet.written_per_round);
        row(
            out,
            "bytes written to Redis per probe round",
            w1,
            wn,
            n,
            bytes,
        );
        let (r1, rn) = (one.read_per_round, fleet.read_per_round);
        row(
            out,
            "bytes read from Redis per probe round",
            r1,
            rn,
            n,
            bytes,
        );
        row(
            out,
            "RSS, mean of the window (VmRSS)",
            one.rss_mean_mib,
            fleet.rss_mean_mib,
            n,
            mib,
        );
        row(
            out,
            "RSS, peak since start (VmHWM)",
            one.rss_peak_mib,
            fleet.rss_peak_mib,
            n,
            mib,
        );
        self.counts(out);
        if n > 1.0 {
            let marginal = (fleet.rss_mean_mib - one.rss_mean_mib) / (n - 1.0);
            let _ = writeln!(
                out,
                "\nMemory per added server (mean RSS, ({n} − 1 server) / {}): {}.",
                n - 1.0,
                mib(marginal)
            );
        }
    }

    /// The rows that are counts, not costs: probes, ticks, start and stop.
    fn counts(&self, out: &mut String) {
        let count = |m: &Measured| {
            let c = &m.window.counters;
            format!(
                "{} ok, {} failed; {:.1} rounds; {} writes ok, {} failed",
                c.probes_ok,
                c.probes_failed,
                m.window.rounds(m.servers),
                c.live_writes_ok,
                c.live_writes_failed
            )
        };
        let _ = writeln!(
            out,
            "| probes in the window (`/metrics`) | {} | {} | | |",
            count(&self.baseline),
            count(&self.fleet)
        );
        let ticks = |m: &Measured| {
            let w = &m.window;
            format!(
                "{} ticks ({:.2} s)",
                w.cpu_ticks,
                w.cpu_ticks as f64 / w.ticks_per_s.max(1) as f64
            )
        };
        let _ = writeln!(
            out,
            "| CPU in the window, `utime + stime` (cross-check) | {} | {} | | |",
            ticks(&self.baseline),
            ticks(&self.fleet)
        );
        let _ = writeln!(
            out,
            "| from start to every document in Redis | {:.1} s | {:.1} s | | |",
            self.baseline.ready_s, self.fleet.ready_s
        );
        let stop = |m: &Measured| {
            m.stop_s
                .map_or_else(|| "not within 10 s".into(), |s| format!("{s:.2} s"))
        };
        let _ = writeln!(
            out,
            "| SIGTERM → exit | {} | {} | | |",
            stop(&self.baseline),
            stop(&self.fleet)
        );
    }

    fn verdicts(&self, out: &mut String) {
        let fleet = Costs::of(&self.fleet);
        let n = self.fleet.servers;
        let written = fleet.written_per_probe();
        let _ = writeln!(
            out,
            "\n| goal ({n} servers) | measured | |\n|---|---|---|\n\
             | CPU for probing ≤ {GOAL_CORE_PERCENT:.0} % of one core | {:.2} % | {} |\n\
             | RSS ≤ {GOAL_RSS_MIB:.0} MiB (peak, VmHWM) | {} | {} |\n\
             | ≤ 4 KB ({GOAL_BYTES_PER_PROBE:.0} bytes) written to Redis per server per probe | \
             {} ({:.1}× the goal) | {} |",
            fleet.core_percent,
            verdict(fleet.core_percent <= GOAL_CORE_PERCENT),
            mib(fleet.rss_peak_mib),
            verdict(fleet.rss_peak_mib <= GOAL_RSS_MIB),
            bytes(written),
            written / GOAL_BYTES_PER_PROBE,
            verdict(written <= GOAL_BYTES_PER_PROBE),
        );
    }

    fn how(&self, out: &mut String) {
        let sizes = |m: &Measured| {
            m.sizes
                .iter()
                .map(|(what, n)| format!("{what} {}", bytes(*n as f64)))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let _ = write!(
            out,
            "\nHow it was measured:\n\n\
             - The release `status-refresher` (the shipped profile), no database, `RUST_LOG=warn`, \
             every other setting at its default (`STATUS_LEASE=30`), against the local Redis \
             under a throwaway key prefix (deleted afterwards). The game servers are TCP \
             listeners in the bench's own process that accept and close (`query = \"tcp\"`: the \
             probe is a connect), so their cost is the bench's, not the refresher's.\n\
             - Baseline: `GAME_SERVER_ADDR` set to one listener, no servers file (the \
             environment-only setup, id `default`). Fleet: a servers file of {n} `[[server]]` \
             tables, `probe_interval = {PROBE_INTERVAL_S}`, the default timeout and failures.\n\
             - Histories: {history}.\n\
             - Each setup starts, the harness waits for every document (baseline: the status \
             key; fleet: the index `<key>:servers` listing all {n}), then for a probe round to \
             end (the refresher's `status_refresher_probes_total` moved, then stood still 1 s), \
             then measures {w} s: probes from the refresher's own `/metrics`; CPU as the sum of \
             its threads' `/proc/<pid>/task/*/schedstat` run time (nanoseconds; `utime + \
             stime` from `/proc/<pid>/stat` comes in 10 ms ticks and is shown as a cross-check); \
             VmRSS sampled every second; VmHWM at the end.\n\
             - Redis bytes: the refresher talks to Redis through a counting TCP proxy in the \
             bench, so every byte it sends (commands with the values they write: the document, \
             its history, the index, the lease) and receives (replies: the history it reads \
             back before each write) is counted, for this refresher alone — Redis's \
             `total_net_input_bytes` and `INFO commandstats` count every client of a Redis \
             other people's tests share. Per probe round = bytes over rounds (probes / servers).\n",
            w = self.window_s,
            history = if self.full_history {
                "every server's `:history` key held a full history before its refresher \
                 started (30 days of one observation a minute, players, 50 incidents; \
                 `bench::seed::full_history`, as the `reader-history` row uses): what a \
                 refresher reads and rewrites at every document write once it has run for a \
                 month (`--fleet-fresh-history`: empty, a first start)"
            } else {
                "empty at the start (`--fleet-fresh-history`: a first start; a month-old \
                 deployment's are ~38 KB each and cost far more per write)"
            },
            n = self.fleet.servers,
        );
        let _ = writeln!(
            out,
            "- Stored sizes at the end (one server's keys): baseline {}; fleet {}.",
            sizes(&self.baseline),
            sizes(&self.fleet)
        );
    }

    /// The run's notes, and what the refresher logged and its open-files limit.
    fn notes(&self) -> Vec<String> {
        let mut notes = self.run.notes.clone();
        for (name, m) in [("baseline", &self.baseline), ("fleet", &self.fleet)] {
            if let Some(first) = &m.first_log_line {
                notes.push(format!(
                    "The {name} refresher logged {} warning/error lines; the first: `{first}`",
                    m.log_lines
                ));
            }
            if m.window.counters.probes_failed > 0 {
                notes.push(format!(
                    "The {name} had {} failed probes in the window.",
                    m.window.counters.probes_failed
                ));
            }
        }
        if let Some(limit) = &self.fleet.open_files_limit {
            notes.push(format!(
                "The fleet refresher's `Max open files` (soft) was {limit}: one socket per \
                 concurrent probe, so {} servers need more than the common default of 1024.",
                self.fleet.servers
            ));
        }
        notes
    }
}
