//! The report: one markdown table (with ratios against the baselines of the same run), the
//! targets met or missed, and the smaller measurements.

use std::fmt::Write as _;

use crate::load::LoadResult;
use crate::mysql::Counters;
use crate::targets::Kind;

mod backends;
mod verdicts;

/// One target at one concurrency.
#[derive(Debug, Clone)]
pub struct Row {
    pub concurrency: u32,
    pub load: LoadResult,
    /// CPU of the target's server processes, in % of one core.
    pub cpu_pct: f64,
    pub mysql: Counters,
}

/// One target: its rows, or why it was not measured.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub kind: Kind,
    pub detail: String,
    pub rows: Vec<Row>,
    pub skipped: Option<String>,
    /// Front cache only: requests that reached the reader, over how many seconds, and the
    /// reader's max-age at the start.
    pub upstream: Option<Upstream>,
    /// reader-host's own statistics for the whole target run (warm-up included).
    pub host: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Copy)]
pub struct Upstream {
    pub hits: u64,
    pub seconds: f64,
    pub max_age_s: u64,
}

/// A measurement that is a number or a reason it is missing.
pub type Measured<T> = Result<T, String>;

#[derive(Debug, Clone, Default)]
pub struct Extras {
    pub reader_wasm_bytes: Option<u64>,
    pub control_wasm_bytes: Option<u64>,
    pub document_bytes: usize,
    /// Native `DocumentView::parse` of the fixture document, microseconds per call.
    pub parse_us: f64,
    /// Native `status_reader::handle` on the fixture document, µs per request.
    pub logic_us: f64,
    /// The history's costs, on the full history of the run.
    pub history: Option<crate::costs_and_freshness::HistoryCosts>,
    /// Native `status_reader::handle` of `GET /status` on the `reader-page` fixture page:
    /// (its bytes, µs per request).
    pub page: Option<(usize, f64)>,
    pub refresher_rss_kib: Option<Measured<u64>>,
    /// (label, wall time ms or why not).
    pub refresh_times: Vec<(String, Measured<f64>)>,
    pub per_refresh: Option<Measured<Counters>>,
    /// (ms from UPDATE to visible, refresh interval s).
    pub freshness: Option<Measured<(f64, u64)>>,
    /// A running refresher's statements over whole refreshes.
    pub steady: Option<crate::costs_and_freshness::SteadyState>,
    /// Rows in the fixture table (one full read per SELECT).
    pub table_rows: u64,
    /// Lines the host reported about itself (peak linear memory, instantiation).
    pub host_stats: Vec<String>,
    pub peak_linear_memory_bytes: Option<u64>,
}

pub struct Header {
    pub date: String,
    pub host: String,
    pub command: String,
    pub machine: Vec<(String, String)>,
    pub versions: Vec<(String, String)>,
    pub load_before: String,
    pub load_after: String,
    pub duration_s: u64,
    pub warmup_s: u64,
    pub generator: String,
}

pub struct Report {
    pub header: Header,
    pub outcomes: Vec<Outcome>,
    pub extras: Extras,
    pub notes: Vec<String>,
}

fn row(outcomes: &[Outcome], kind: Kind, concurrency: u32) -> Option<&Row> {
    outcomes
        .iter()
        .find(|o| o.kind == kind)?
        .rows
        .iter()
        .find(|r| r.concurrency == concurrency)
}

/// `r`'s req/s and p99 as multiples of `base`'s at the same concurrency, when `base` was
/// measured there and served anything.
fn ratio(outcomes: &[Outcome], r: &Row, base: Kind) -> Option<(f64, f64)> {
    let b = row(outcomes, base, r.concurrency).filter(|b| b.load.rps > 0.0)?;
    Some((r.load.rps / b.load.rps, r.load.p99_ms / b.load.p99_ms))
}

/// `- {claim} at c=50: {pct} % — verdict`: `kind`'s req/s as a share of `base`'s at c=50,
/// met at `min_pct`; `None` when either was not measured there.
fn share(o: &[Outcome], kind: Kind, base: Kind, claim: &str, min_pct: f64) -> Option<String> {
    let (r, b) = (row(o, kind, 50)?, row(o, base, 50)?);
    let pct = 100.0 * r.load.rps / b.load.rps;
    Some(format!(
        "- {claim} at c=50: {pct:.0} % — {}",
        verdict(pct >= min_pct)
    ))
}

fn fmt_ms(ms: f64) -> String {
    if !ms.is_finite() {
        "–".into()
    } else if ms < 10.0 {
        format!("{ms:.2}")
    } else {
        format!("{ms:.1}")
    }
}

fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "**MISSED**" }
}

impl Report {
    /// Ratios for one row against the baselines at the same concurrency.
    fn ratios(&self, kind: Kind, r: &Row) -> String {
        let o = &self.outcomes;
        let mut parts = Vec::new();
        match kind {
            Kind::Reader | Kind::Spin => {
                parts.extend(
                    ratio(o, r, Kind::DirectFresh)
                        .map(|(x, p99)| format!("{x:.1}× direct-DB rps, p99 {p99:.2}× of its")),
                );
                parts.extend(
                    ratio(o, r, Kind::Control)
                        .map(|(x, _)| format!("{:.0} % of control", 100.0 * x)),
                );
            }
            Kind::ReaderHistory | Kind::ReaderServers | Kind::ReaderPage => {
                parts.extend(ratio(o, r, Kind::Reader).map(|(x, p99)| {
                    format!("{x:.2}× reader /server/status rps, p99 {p99:.2}× of its")
                }))
            }
            Kind::ReaderP3 => {
                parts.extend(ratio(o, r, Kind::Reader).map(|(x, p99)| {
                    format!("{x:.2}× the WASIp2 reader's rps, p99 {p99:.2}× of its")
                }))
            }
            Kind::ReaderKv | Kind::ControlKv | Kind::ReaderBefore => {
                parts.extend(backends::ratios(o, kind, r))
            }
            Kind::DirectPooled => parts.extend(
                ratio(o, r, Kind::DirectFresh).map(|(x, _)| format!("{x:.1}× fresh-conn rps")),
            ),
            Kind::NginxCache => {
                parts.extend(
                    ratio(o, r, Kind::Static).map(|(x, _)| format!("{:.0} % of static", 100.0 * x)),
                );
                parts.extend(ratio(o, r, Kind::Reader).map(|(x, _)| format!("{x:.1}× reader")));
            }
            _ => {}
        }
        parts.join("; ")
    }

    pub fn table(&self) -> String {
        let mut out = String::new();
        out.push_str(
            "| target | c | req/s | p50 ms | p99 ms | p99.9 ms | errors | server CPU % | MySQL stmts server-wide (SELECTs) | by the run's DB user (SELECTs) | fixture rows read | vs baselines (same run) |\n\
             |---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|\n",
        );
        for outcome in &self.outcomes {
            if let Some(why) = &outcome.skipped {
                let _ = writeln!(
                    out,
                    "| {} | – | – | – | – | – | – | – | – | – | – | not measured: {} |",
                    outcome.kind.label(),
                    why.replace('|', "/")
                );
                continue;
            }
            for r in &outcome.rows {
                let _ = writeln!(
                    out,
                    "| {} | {} | {:.0} | {} | {} | {} | {} | {:.0} | {} ({}) | {} | {} | {} |",
                    outcome.kind.label(),
                    r.concurrency,
                    r.load.rps,
                    fmt_ms(r.load.p50_ms),
                    fmt_ms(r.load.p99_ms),
                    fmt_ms(r.load.p999_ms),
                    r.load.errors,
                    r.cpu_pct,
                    r.mysql.questions,
                    r.mysql.com_select,
                    match (r.mysql.user_statements(), r.mysql.user_selects()) {
                        (Some(all), Some(selects)) => format!("{all} ({selects})"),
                        _ => "–".into(),
                    },
                    r.mysql.fixture_rows.map_or("–".into(), |n| n.to_string()),
                    self.ratios(outcome.kind, r)
                );
            }
        }
        out
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        self.heading(&mut out);
        self.load_section(&mut out);
        self.reader_section(&mut out);
        self.refresher_section(&mut out);
        self.freshness_section(&mut out);
        if !self.notes.is_empty() {
            out.push_str("\n## Notes\n\n");
            for note in &self.notes {
                let _ = writeln!(out, "- {note}");
            }
        }
        out
    }

    /// The title, how the load was made, the machine and the versions.
    fn heading(&self, out: &mut String) {
        let h = &self.header;
        let _ = writeln!(out, "# Benchmark {} on {}\n", h.date, h.host);
        let _ = writeln!(
            out,
            "`{}` — {} per run after a {} s warm-up, load from {} on the same machine (loopback), keep-alive. \
             Ratios compare targets of this run only.\n",
            h.command,
            if h.duration_s > 0 {
                format!("{} s", h.duration_s)
            } else {
                "–".into()
            },
            h.warmup_s,
            h.generator
        );
        out.push_str("## Machine\n\n");
        for (k, v) in &h.machine {
            let _ = writeln!(out, "- {k}: {v}");
        }
        let _ = writeln!(
            out,
            "- load average before / after: {} / {}",
            h.load_before, h.load_after
        );
        out.push_str("\n## Versions\n\n");
        for (k, v) in &h.versions {
            let _ = writeln!(out, "- {k}: {v}");
        }
    }

    /// The load table with what its columns mean, and the targets met or missed.
    fn load_section(&self, out: &mut String) {
        out.push_str("\n## Throughput and latency\n\n");
        out.push_str(&self.table());
        out.push_str(
            "\nserver CPU % = CPU time of the target's own processes (nginx master+workers and, behind the cache, \
             the reader host) over the run, in % of one core; the machine has the load generator on the same cores. \
             MySQL stmts = server-wide `Questions` delta over the run, net of the harness's own `SHOW GLOBAL STATUS`; \
             in parentheses the `Com_select` delta. by the run's DB user = statements (SELECTs) of the run's own MySQL \
             account (MariaDB `userstat` USER_STATISTICS), which only the targets and the refresher use. fixture rows read = rows read from the run's own `constants` \
             table (MariaDB `userstat` TABLE_STATISTICS), which only the target can touch: the attribution that \
             holds on a shared server.\n",
        );
        out.push_str("\n## Targets\n\n");
        for line in self.targets() {
            let _ = writeln!(out, "{line}");
        }
    }

    /// The reader's sizes and native costs, and reader-host's own statistics.
    fn reader_section(&self, out: &mut String) {
        let e = &self.extras;
        out.push_str("\n## Reader\n\n");
        if let Some(b) = e.reader_wasm_bytes {
            let _ = writeln!(out, "- release `status_reader.wasm`: {b} bytes");
        }
        if let Some(b) = e.control_wasm_bytes {
            let _ = writeln!(out, "- control component `.wasm`: {b} bytes");
        }
        let _ = writeln!(
            out,
            "- fixture document: {} bytes; `DocumentView::parse` (the reader's one validation pass), native: {:.1} µs per document",
            e.document_bytes, e.parse_us
        );
        let _ = writeln!(
            out,
            "- the reader's whole request logic natively (`status_reader::handle`: route, validation, freshness, ETag, splice; document in memory): {:.1} µs per request",
            e.logic_us
        );
        if let Some(h) = &e.history {
            let per_hour = |interval_s: f64| h.bytes as f64 * 3600.0 / interval_s / 1e6;
            let _ = writeln!(
                out,
                "- history, a full one (30 days, players, 50 incidents): {} bytes. The refresher's added cost per write, natively: {:.0} µs of CPU (parse, record, serialise) and one `GET` plus one `SET` of it, so {:.1} MB written (and as much read) per hour at the default 10 s probe, {:.0} MB at a 1 s probe. The reader's `/server/status/history` logic natively: {:.0} µs per request (vs {:.1} µs for `/server/status`)",
                h.bytes,
                h.record_us,
                per_hour(10.0),
                per_hour(1.0),
                h.serve_us,
                e.logic_us
            );
        }
        if let Some((bytes, us)) = e.page {
            let _ = writeln!(
                out,
                "- the status page (`reader-page`: {} servers, full histories): {bytes} bytes stored; the reader's `/status` logic natively (parse, render): {us:.0} µs per request",
                crate::seed::PAGE_SERVERS
            );
        }
        for outcome in &self.outcomes {
            let Some(h) = &outcome.host else { continue };
            let f = |k: &str| h[k].as_f64().unwrap_or(f64::NAN);
            let _ = writeln!(
                out,
                "- reader-host stats, {}: {} requests; instantiation (pooling allocator, pre-instantiated) \
                 mean {:.1} µs, max {:.0} µs; handling after instantiation (incl. Redis) mean {:.1} µs; \
                 peak linear memory max {:.0} KiB, mean {:.0} KiB; Redis connections opened {}",
                outcome.kind.label(),
                f("requests"),
                f("instantiate_mean_us"),
                f("instantiate_max_us"),
                f("handle_mean_us"),
                f("peak_memory_bytes_max") / 1024.0,
                f("peak_memory_bytes_mean") / 1024.0,
                f("redis_connections_opened"),
            );
        }
        for line in &e.host_stats {
            let _ = writeln!(out, "- host: {line}");
        }
    }

    /// The refresher's memory, refresh times and statements per refresh.
    fn refresher_section(&self, out: &mut String) {
        let e = &self.extras;
        out.push_str("\n## Refresher\n\n");
        match &e.refresher_rss_kib {
            Some(Ok(kib)) => {
                let _ = writeln!(out, "- idle RSS after the first refresh: {kib} KiB");
            }
            Some(Err(why)) => {
                let _ = writeln!(out, "- idle RSS: not measured ({why})");
            }
            None => {}
        }
        for (label, t) in &e.refresh_times {
            match t {
                Ok(ms) => {
                    let _ = writeln!(
                        out,
                        "- one refresh (`status-refresher --once`, process start to exit), {label}: {ms:.0} ms"
                    );
                }
                Err(why) => {
                    let _ = writeln!(out, "- one refresh, {label}: {why}");
                }
            }
        }
        match &e.per_refresh {
            Some(Ok(c)) => {
                let _ = writeln!(
                    out,
                    "- statements of one `status-refresher --once` (new process, new connection): {} by its DB user ({} SELECTs; server-wide {} / {}), {} rows read from the {}-row table",
                    c.user_statements().map_or("–".into(), |n| n.to_string()),
                    c.user_selects().map_or("–".into(), |n| n.to_string()),
                    c.questions,
                    c.com_select,
                    c.fixture_rows.map_or("–".into(), |r| r.to_string()),
                    e.table_rows
                );
            }
            Some(Err(why)) => {
                let _ = writeln!(out, "- statements per refresh: not measured ({why})");
            }
            None => {}
        }
    }

    /// Change → visible through the whole chain, and the refresher's steady cost.
    fn freshness_section(&self, out: &mut String) {
        let e = &self.extras;
        out.push_str("\n## End-to-end freshness\n\n");
        match &e.freshness {
            Some(Ok((ms, interval))) => {
                let _ = writeln!(
                    out,
                    "- `UPDATE constants` → new value at `/server/status` (reader-host): {ms:.0} ms with the refresher on a {interval} s interval (bound: one interval plus one refresh)"
                );
            }
            Some(Err(why)) => {
                let _ = writeln!(out, "- not measured ({why})");
            }
            None => out.push_str("- not measured in this mode\n"),
        }
        if let Some(s) = &e.steady {
            let _ = writeln!(
                out,
                "- the same refresher afterwards: {} refreshes in the window; by its DB user {} statements ({} SELECTs); server-wide {} ({}); {} rows read from the run's table",
                s.refreshes,
                s.delta
                    .user_statements()
                    .map_or("–".into(), |n| n.to_string()),
                s.delta.user_selects().map_or("–".into(), |n| n.to_string()),
                s.delta.questions,
                s.delta.com_select,
                s.delta.fixture_rows.map_or("–".into(), |r| r.to_string())
            );
        }
    }
}
