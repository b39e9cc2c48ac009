//! The `--changes` report: one markdown table (mode, change → visible median and max,
//! failures, MySQL statements per hour at idle), the machine, and how it was measured.

use std::fmt::Write as _;
use std::time::Duration;

use super::latency::Outcome;
use super::statements::Counts;
use super::{IDLE_INTERVAL_S, INTERVAL_S, Mode};
use crate::live_bench::{self, LiveReport, RunInfo};

/// One mode's line of the table and what backs it.
#[derive(Debug, Clone)]
pub struct ModeRow {
    pub mode: Mode,
    /// Changes attempted.
    pub changes: u32,
    /// What the changes showed (empty when they were not measured).
    pub outcome: Outcome,
    /// The mode's statements in the idle window, or why they were not counted.
    pub idle: Option<Result<Counts, String>>,
    /// Statements per hour at idle, the periodic refreshes included.
    pub per_hour: Option<f64>,
    /// Why the changes were not measured.
    pub error: Option<String>,
}

impl ModeRow {
    pub fn measured(mode: Mode, changes: u32, outcome: Outcome) -> ModeRow {
        ModeRow {
            outcome,
            ..ModeRow::failed(mode, changes, String::new())
        }
    }

    pub fn failed(mode: Mode, changes: u32, why: String) -> ModeRow {
        ModeRow {
            mode,
            changes,
            outcome: Outcome::default(),
            idle: None,
            per_hour: None,
            error: (!why.is_empty()).then_some(why),
        }
    }

    fn median(&self) -> Option<Duration> {
        live_bench::median(&self.outcome.latencies)
    }

    fn max(&self) -> Option<Duration> {
        self.outcome.latencies.iter().max().copied()
    }
}

/// The whole report.
#[derive(Debug, Clone)]
pub struct ChangesReport {
    /// Date, machine, command, notes and logs of the run.
    pub run: RunInfo,
    /// Changes asked of each mode.
    pub changes: u32,
    pub measured: Measured,
}

/// What the lanes measured: their changes, then the idle window.
#[derive(Debug, Clone)]
pub struct Measured {
    /// One per mode.
    pub rows: Vec<ModeRow>,
    /// Statements one full refresh costs (interval mode's statements / its refreshes).
    pub per_refresh: Option<f64>,
    /// Length of the idle window, seconds.
    pub idle_s: f64,
}

impl LiveReport for ChangesReport {
    fn run(&self) -> &RunInfo {
        &self.run
    }

    fn render(&self) -> String {
        let what = format!(
            "{} modes × {} changes, idle window {:.0} s",
            self.measured.rows.len(),
            self.changes,
            self.measured.idle_s
        );
        let title = "Changes live: change → visible, and MySQL's idle cost";
        let mut out = self.run.heading(title, &what);
        self.table(&mut out);
        self.method(&mut out);
        self.details(&mut out);
        live_bench::notes(&mut out, &self.run.notes);
        out
    }
}

impl ChangesReport {
    fn table(&self, out: &mut String) {
        out.push_str(
            "| mode | change → visible, median | max | failures | MySQL statements/hour at idle |\n\
             |---|--:|--:|--:|--:|\n",
        );
        for row in &self.measured.rows {
            let (median, max, failures) = match &row.error {
                Some(_) => ("not measured".into(), "—".into(), "—".into()),
                None => (
                    latency(row.median()),
                    latency(row.max()),
                    format!("{}/{}", row.outcome.failures, row.changes),
                ),
            };
            let per_hour = row
                .per_hour
                .map_or_else(|| "—".into(), |n| thousands(n.round() as u64));
            let _ = writeln!(
                out,
                "| {} | {median} | {max} | {failures} | {per_hour} |",
                row.mode.label()
            );
        }
    }

    fn method(&self, out: &mut String) {
        let per_refresh = self
            .measured
            .per_refresh
            .map_or_else(|| "unknown".into(), |n| format!("{n:.2}"));
        let _ = write!(
            out,
            "\nHow it was measured:\n\n\
             - One throwaway MariaDB (dev-support's `WATCHED_MARIADB`: `--log-bin --binlog-format=ROW \
             --general-log --log-output=TABLE`) with the demo `constants` table \
             (xtask/fixtures/demo_constants.sql); the shared Redis. Each mode has its own MySQL \
             user (`SELECT` on the database; the binlog mode's also `REPLICATION SLAVE, REPLICATION \
             CLIENT`), its own status key, its own `status-refresher` and a `reader-host` serving \
             that key with the release `status_reader.wasm`. The modes run one after the other.\n\
             - A change is `UPDATE constants SET Value = <new> WHERE Name = 'RateExp'` in autocommit; \
             latency is from the moment the `UPDATE` returned (committed) to the first \
             `GET /server/status` response whose `rates.exp` is the new value, the reader polled \
             every 5 ms. The nudge mode's `PUBLISH` is sent after the commit and counts in its \
             latency. A change not served within 30 s (interval mode: {bound} s) is a failure.\n\
             - Changes are 2.5–3.5 s after the previous one became visible (more than \
             `STATUS_MIN_REFRESH_GAP`, 2 s, so none waits for the gap); in the interval mode \
             2.5 s plus a uniform 0–{INTERVAL_S} s, so commits fall at every phase of the \
             {INTERVAL_S} s cycle. The interval mode runs at `STATUS_UPDATE_INTERVAL={INTERVAL_S}`, \
             the others at {IDLE_INTERVAL_S}.\n\
             - Idle cost: afterwards all four refreshers run side by side at \
             `STATUS_UPDATE_INTERVAL={IDLE_INTERVAL_S}` for {idle:.0} s with nothing changing; each \
             user's statements (`Query`/`Execute` rows of `mysql.general_log`) in that window, \
             scaled to an hour, plus the hour's {per_hour_refreshes} periodic refreshes × \
             {per_refresh} statements per full refresh (the interval mode's statements during its \
             run / its full `SELECT`s).\n",
            bound = INTERVAL_S + 10,
            idle = self.measured.idle_s,
            per_hour_refreshes = 3600 / IDLE_INTERVAL_S,
        );
    }

    fn details(&self, out: &mut String) {
        out.push_str(
            "\nBehind the numbers (the general log, each mode's own user):\n\n\
             | mode | changes run for | refreshes | statements | idle window: statements |\n\
             |---|--:|--:|--:|--:|\n",
        );
        for row in &self.measured.rows {
            let (refreshes, statements, during_s) = row.outcome.during.map_or_else(
                || ("—".into(), "—".into(), 0.0),
                |(c, s)| (c.refreshes.to_string(), c.statements.to_string(), s),
            );
            let idle = match &row.idle {
                Some(Ok(c)) => c.statements.to_string(),
                Some(Err(_)) => "failed".into(),
                None => "—".into(),
            };
            let _ = writeln!(
                out,
                "| {} | {during_s:.0} s | {refreshes} | {statements} | {idle} |",
                row.mode.key(),
            );
        }
        for row in &self.measured.rows {
            if let Some(why) = &row.error {
                let _ = writeln!(out, "\n- {} not measured: {why}", row.mode.key());
            }
            if let Some(Err(why)) = &row.idle {
                let _ = writeln!(out, "\n- {} at idle not measured: {why}", row.mode.key());
            }
            if row.outcome.unheard > 0 {
                let _ = writeln!(
                    out,
                    "\n- {}: {} nudges had no subscriber",
                    row.mode.key(),
                    row.outcome.unheard
                );
            }
        }
        if let (Some(per_refresh), Some(row)) = (
            self.measured.per_refresh,
            self.measured.rows.iter().find(|r| r.mode == Mode::Interval),
        ) && row.error.is_none()
        {
            let _ = writeln!(
                out,
                "\nThe interval mode's latency is what `STATUS_UPDATE_INTERVAL={INTERVAL_S}` gives; \
                 at that interval it would cost {} statements an hour ({} refreshes × {per_refresh:.2}), \
                 the idle column's figure being at {IDLE_INTERVAL_S} s like the other modes.",
                thousands((3600.0 / INTERVAL_S as f64 * per_refresh).round() as u64),
                3600 / INTERVAL_S,
            );
        }
    }
}

/// `12 ms` below a second, `2.41 s` above; `—` for none.
fn latency(duration: Option<Duration>) -> String {
    match duration {
        None => "—".into(),
        Some(d) if d < Duration::from_secs(1) => format!("{:.0} ms", d.as_secs_f64() * 1e3),
        Some(d) => format!("{:.2} s", d.as_secs_f64()),
    }
}

/// `3606` as `3,606`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        let mut row = ModeRow::failed(Mode::Binlog, 4, String::new());
        assert_eq!(row.median(), None);
        row.outcome.latencies = [30, 10, 20].map(Duration::from_millis).to_vec();
        assert_eq!(row.median(), Some(Duration::from_millis(20)));
        row.outcome.latencies.push(Duration::from_millis(40));
        assert_eq!(row.median(), Some(Duration::from_millis(25)));
        assert_eq!(row.max(), Some(Duration::from_millis(40)));
    }

    #[test]
    fn formats() {
        assert_eq!(thousands(3606), "3,606");
        assert_eq!(thousands(6), "6");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(latency(Some(Duration::from_millis(123))), "123 ms");
        assert_eq!(latency(Some(Duration::from_millis(2410))), "2.41 s");
    }
}
