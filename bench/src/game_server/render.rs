//! The `--game-server` report: one markdown table (stop → `offline` served and start →
//! `online` served, median and max, failures, MySQL statements per hour at the defaults),
//! the machine, and how it was measured.

use std::fmt::Write as _;
use std::time::Duration;

use super::{
    Flips, INTERVAL_S, OFFLINE_BOUND_S, PLAYERS_INTERVAL_S, PLAYERS_QUERY, PROBE_INTERVAL_S, Served,
};
use crate::live_bench::{self, LiveReport, RunInfo, median};

/// The whole report.
#[derive(Debug, Clone)]
pub struct GameServerReport {
    /// Date, machine, command, notes and logs of the run.
    pub run: RunInfo,
    pub flips: u32,
    pub measured: Flips,
}

fn shown(d: Option<Duration>) -> String {
    d.map_or_else(|| "—".into(), |d| format!("{:.2} s", d.as_secs_f64()))
}

/// A direction's cells: median, max, and failures out of `flips`.
fn cells(served: &Served, flips: u32) -> String {
    format!(
        "{} | {} | {}/{flips}",
        shown(median(&served.latencies)),
        shown(served.latencies.iter().max().copied()),
        served.failures
    )
}

impl LiveReport for GameServerReport {
    fn run(&self) -> &RunInfo {
        &self.run
    }

    fn render(&self) -> String {
        let title = "The game server itself: stop → the website sees offline, and MySQL's cost";
        let mut out = self.run.heading(title, &format!("{} flips", self.flips));
        let per_hour = self
            .measured
            .statements
            .per_hour()
            .map_or_else(|| "—".into(), |n| format!("{n:.0}"));
        out.push_str(
            "| what (defaults: probe every 10 s, 2 failures; players every 60 s; refresh \
             every 600 s) | median | max | failures | MySQL statements/hour at these \
             settings |\n|---|--:|--:|--:|--:|\n",
        );
        let _ = writeln!(
            out,
            "| game server stops → the website sees `offline` (bound {OFFLINE_BOUND_S} s) | {} | \
             {per_hour} |",
            cells(&self.measured.offline, self.flips)
        );
        let _ = writeln!(
            out,
            "| game server starts → the website sees `online` | {} | (same) |",
            cells(&self.measured.online, self.flips)
        );
        let s = &self.measured.statements;
        let per_run = s
            .per_players_run()
            .map_or_else(|| "—".into(), |n| format!("{n:.2}"));
        let _ = write!(
            out,
            "\nHow it was measured:\n\n\
             - One throwaway MariaDB (dev-support's `WATCHED_MARIADB`, the general log in a \
             table) with the demo `constants` and `characters` tables (xtask/fixtures/); the \
             shared Redis. One `status-refresher` as its own MySQL user (`SELECT` on the \
             database) with `GAME_SERVER_ADDR` on a TCP listener of this harness, \
             `STATUS_PLAYERS_QUERY={PLAYERS_QUERY}`, every other setting at its default; a \
             `reader-host` serving its key with the release `status_reader.wasm`.\n\
             - A flip: after a uniform 1–{p1} s pause the listener is closed (connects are \
             refused); latency runs from that moment to the first `GET /server/status` whose \
             `state` is `offline`, the reader polled every 5 ms; after another such pause the \
             listener is opened again, and the same for `online`. Not served within {b} s is a \
             failure.\n\
             - Statements: the refresher's user's `Query`/`Execute` rows of `mysql.general_log` \
             during the {run:.0} s of flips: {total} statements, {refreshes} full refreshes (each \
             change of reachability asks for one), {runs} players-query runs ({per_run} \
             statements each: `START TRANSACTION READ ONLY`, `SET STATEMENT max_statement_time=… \
             FOR <query>`, `ROLLBACK`), {other} others (the probe's share). Per hour at the \
             defaults, with the game server steady: {r} refreshes + {pr} players runs × \
             {per_run} + the others.\n",
            p1 = PROBE_INTERVAL_S + 1,
            b = OFFLINE_BOUND_S + 30,
            run = self.measured.run_s,
            total = s.total,
            refreshes = s.refreshes,
            runs = s.players_runs,
            other = s.other(),
            r = 3600 / INTERVAL_S,
            pr = 3600 / PLAYERS_INTERVAL_S,
        );
        live_bench::notes(&mut out, &self.run.notes);
        out
    }
}
