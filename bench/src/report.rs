//! The report: one markdown table (with ratios against the baselines of the same run), the
//! targets met or missed, and the smaller measurements.

use std::fmt::Write as _;

use crate::load::LoadResult;
use crate::mysql::Counters;
use crate::targets::Kind;

mod backends;

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
        let c = r.concurrency;
        let mut parts = Vec::new();
        match kind {
            Kind::Reader | Kind::Spin => {
                if let Some(db) = row(o, Kind::DirectFresh, c)
                    && db.load.rps > 0.0
                {
                    parts.push(format!(
                        "{:.1}× direct-DB rps, p99 {:.2}× of its",
                        r.load.rps / db.load.rps,
                        r.load.p99_ms / db.load.p99_ms
                    ));
                }
                if let Some(control) = row(o, Kind::Control, c)
                    && control.load.rps > 0.0
                {
                    parts.push(format!(
                        "{:.0} % of control",
                        100.0 * r.load.rps / control.load.rps
                    ));
                }
            }
            Kind::ReaderKv | Kind::ControlKv => parts.extend(backends::ratios(o, kind, r)),
            Kind::DirectPooled => {
                if let Some(db) = row(o, Kind::DirectFresh, c)
                    && db.load.rps > 0.0
                {
                    parts.push(format!("{:.1}× fresh-conn rps", r.load.rps / db.load.rps));
                }
            }
            Kind::NginxCache => {
                if let Some(s) = row(o, Kind::Static, c)
                    && s.load.rps > 0.0
                {
                    parts.push(format!(
                        "{:.0} % of static",
                        100.0 * r.load.rps / s.load.rps
                    ));
                }
                if let Some(reader) = row(o, Kind::Reader, c)
                    && reader.load.rps > 0.0
                {
                    parts.push(format!("{:.1}× reader", r.load.rps / reader.load.rps));
                }
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
                    match (r.mysql.user_statements, r.mysql.user_selects) {
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

    /// `(description, verdict text)` for every target of the issue.
    pub fn targets(&self) -> Vec<String> {
        let o = &self.outcomes;
        let mut lines = Vec::new();
        let c = 50;
        let missing = |what: &str| format!("- {what}: not measured (see above)");
        match (row(o, Kind::Reader, c), row(o, Kind::DirectFresh, c)) {
            (Some(r), Some(db)) => {
                let x = r.load.rps / db.load.rps;
                lines.push(format!(
                    "- reader ≥ 5× direct-DB (fresh conn) req/s at c=50: {:.0} vs {:.0} = {x:.1}× — {}",
                    r.load.rps,
                    db.load.rps,
                    verdict(x >= 5.0)
                ));
                lines.push(format!(
                    "  - context, not a verdict: the issue set 5× against today's site, a Python/pymysql \
                     endpoint at 100–200 ms per request (at most 250–500 req/s at c=50); the baseline \
                     measured here is native Rust (hyper + mysql_async) on a local 42-row table: \
                     {:.0} req/s, p50 {} ms",
                    db.load.rps,
                    fmt_ms(db.load.p50_ms)
                ));
                let p = r.load.p99_ms / db.load.p99_ms;
                lines.push(format!(
                    "- reader p99 ≤ 1/5 of direct-DB p99 at c=50: {} ms vs {} ms = {p:.2}× — {}",
                    fmt_ms(r.load.p99_ms),
                    fmt_ms(db.load.p99_ms),
                    verdict(p <= 0.2)
                ));
            }
            _ => lines.push(missing("reader vs direct-DB")),
        }
        match (row(o, Kind::Reader, c), row(o, Kind::Control, c)) {
            (Some(r), Some(control)) => {
                let pct = 100.0 * r.load.rps / control.load.rps;
                lines.push(format!(
                    "- reader ≥ 85 % of the control component at c=50: {pct:.0} % — {}",
                    verdict(pct >= 85.0)
                ));
            }
            _ => lines.push(missing("reader vs control")),
        }
        lines.extend(backends::targets(o));
        match (row(o, Kind::NginxCache, c), row(o, Kind::Static, c)) {
            (Some(n), Some(s)) => {
                let pct = 100.0 * n.load.rps / s.load.rps;
                lines.push(format!(
                    "- front cache ≥ 50 % of the static ceiling at c=50: {pct:.0} % — {}",
                    verdict(pct >= 50.0)
                ));
            }
            _ => lines.push(missing("front cache vs static")),
        }
        if let Some(up) = o.iter().find_map(|x| x.upstream) {
            // The host's own count, when it reported one, is the stronger evidence.
            let host_requests = o
                .iter()
                .find(|x| x.kind == Kind::NginxCache)
                .and_then(|x| x.host.as_ref())
                .and_then(|h| h["component_requests"].as_u64())
                // Minus the harness's own readiness probe, sent to the host before nginx
                // started.
                .map(|n| n.saturating_sub(1));
            let windows = (up.seconds / up.max_age_s.max(1) as f64).ceil().max(1.0) as u64;
            lines.push(format!(
                "- reader sees ≤ 1 request per max-age window behind the cache: {} request(s) reached the reader \
                 (nginx upstream log; the host counted {} besides the harness's readiness probe) in {:.0} s with max-age {} s ({} window(s)) — {}",
                up.hits,
                host_requests.map_or("–".into(), |n| n.to_string()),
                up.seconds,
                up.max_age_s,
                windows,
                verdict(up.hits <= windows && host_requests.is_none_or(|n| n <= windows))
            ));
        }
        let reader_path: Vec<&Row> = o
            .iter()
            .filter(|x| {
                matches!(
                    x.kind,
                    Kind::Reader
                        | Kind::Control
                        | Kind::ReaderKv
                        | Kind::ControlKv
                        | Kind::Spin
                        | Kind::NginxCache
                )
            })
            .flat_map(|x| x.rows.iter())
            .collect();
        if !reader_path.is_empty() {
            let total: u64 = reader_path.iter().map(|r| r.mysql.questions).sum();
            let requests: u64 = reader_path.iter().map(|r| r.load.requests).sum();
            let rows: Option<u64> = reader_path.iter().map(|r| r.mysql.fixture_rows).sum();
            let by_user: Option<u64> = reader_path.iter().map(|r| r.mysql.user_statements).sum();
            let line = match (rows, by_user) {
                // Server-wide counters include every other client of a shared server; the
                // run's own table and user cannot.
                (Some(rows), Some(by_user)) => format!(
                    "- zero MySQL statements from the reader path: {by_user} statements by the run's DB user, \
                     {rows} rows read from the run's table during {requests} requests ({total} statements server-wide, \
                     other clients of this MariaDB) — {}",
                    verdict(rows == 0 && by_user == 0)
                ),
                _ => format!(
                    "- zero MySQL statements from the reader path: {total} statements server-wide during {requests} requests — {}",
                    verdict(total == 0)
                ),
            };
            lines.push(line);
        }
        match (&self.extras.steady, &self.extras.per_refresh) {
            (Some(s), _) if s.refreshes > 0 => {
                let per = |n: Option<u64>| n.map(|n| n as f64 / s.refreshes as f64);
                let statements = per(s.delta.user_statements);
                let selects = per(s.delta.user_selects);
                let reads = s
                    .delta
                    .fixture_rows
                    .map(|r| r as f64 / self.extras.table_rows.max(1) as f64 / s.refreshes as f64);
                let one = |x: Option<f64>| x.is_some_and(|x| (x - 1.0).abs() < 1e-9);
                let show = |x: Option<f64>| x.map_or("–".into(), |x| format!("{x:.2}"));
                lines.push(format!(
                    "- exactly one SELECT per refresh (running refresher, {} refreshes): {} statements, {} SELECTs by the \
                     refresher's DB user and {} full reads of the table per refresh — {}",
                    s.refreshes,
                    show(statements),
                    show(selects),
                    show(reads),
                    verdict(one(statements) && one(selects) && one(reads))
                ));
            }
            (_, Some(Ok(c))) => lines.push(format!(
                "- exactly one SELECT per refresh (`--once`): {} statement(s), {} SELECT(s) — {}",
                c.questions,
                c.com_select,
                verdict(c.questions == 1 && c.com_select == 1)
            )),
            (_, Some(Err(e))) => lines.push(format!(
                "- exactly one SELECT per refresh: not measured ({e})"
            )),
            _ => {}
        }
        match self.extras.reader_wasm_bytes {
            Some(b) => lines.push(format!(
                "- reader .wasm ≤ 300 KB: {:.1} KB ({b} bytes) — {}",
                b as f64 / 1000.0,
                verdict(b <= 300_000)
            )),
            None => lines.push(missing("reader .wasm size")),
        }
        let peak = o
            .iter()
            .filter(|x| x.kind == Kind::Reader)
            .filter_map(|x| x.host.as_ref()?["peak_memory_bytes_max"].as_u64())
            .max()
            .or(self.extras.peak_linear_memory_bytes);
        match peak {
            Some(b) => lines.push(format!(
                "- peak linear memory per request ≤ 2 MiB: {:.2} MiB — {}",
                b as f64 / (1 << 20) as f64,
                verdict(b <= 2 << 20)
            )),
            None => lines.push(
                "- peak linear memory per request ≤ 2 MiB: not measured (the host reported no peak; see notes)"
                    .into(),
            ),
        }
        match &self.extras.refresher_rss_kib {
            Some(Ok(kib)) => lines.push(format!(
                "- refresher idle RSS ≤ 10 MB: {:.1} MB — {}",
                *kib as f64 * 1024.0 / 1e6,
                verdict(*kib * 1024 <= 10_000_000)
            )),
            Some(Err(e)) => lines.push(format!("- refresher idle RSS ≤ 10 MB: not measured ({e})")),
            None => {}
        }
        lines
    }

    pub fn render(&self) -> String {
        let h = &self.header;
        let mut out = String::new();
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
        out.push_str("\n## Targets (issue 5)\n\n");
        for line in self.targets() {
            let _ = writeln!(out, "{line}");
        }
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
                    c.user_statements.map_or("–".into(), |n| n.to_string()),
                    c.user_selects.map_or("–".into(), |n| n.to_string()),
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
                    .user_statements
                    .map_or("–".into(), |n| n.to_string()),
                s.delta.user_selects.map_or("–".into(), |n| n.to_string()),
                s.delta.questions,
                s.delta.com_select,
                s.delta.fixture_rows.map_or("–".into(), |r| r.to_string())
            );
        }
        if !self.notes.is_empty() {
            out.push_str("\n## Notes\n\n");
            for note in &self.notes {
                let _ = writeln!(out, "- {note}");
            }
        }
        out
    }
}
