//! The load table, `bench`'s default mode: every target started on its own loopback port,
//! warmed up, driven at each concurrency level by the external load generator, with its CPU
//! and MySQL's statement counters read around each run; then the costs beside the table
//! (`extras`) and the header that says on what machine and with which versions.
//!
//! The targets run one after another in the table's order, except that the direct-DB ones
//! go last (see [`measure_order`]), so one target's leftovers never weigh on the next.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context as _;

use crate::context::Context;
use crate::kv::Kv;
use crate::load::{self, Generator};
use crate::machine;
use crate::mysql::Admin;
use crate::procfs;
use crate::report::{Header, Outcome, Report, Row, Upstream};
use crate::seed::{seconds_until_due, seed};
use crate::targets::{self, Kind, Running};

mod extras;

/// What the load table is asked for: its flags, which `bench` flattens into its own command
/// line beside the other modes', and what the binary sets besides.
#[derive(Debug, Clone, clap::Args)]
pub struct Options {
    /// Seconds of load per target and concurrency.
    #[arg(long, default_value_t = 10)]
    pub duration: u64,
    /// Seconds of warm-up load (c=50) before the measured runs of each target.
    #[arg(long, default_value_t = 2)]
    pub warmup: u64,
    /// Concurrency levels (connections).
    #[arg(long, value_delimiter = ',', default_value = "1,50,500")]
    pub concurrency: Vec<u32>,
    /// Only these targets: db-fresh, db-pooled, reader, reader-before, control, reader-kv,
    /// control-kv, spin, nginx-cache, static.
    #[arg(long, value_delimiter = ',')]
    pub targets: Vec<String>,
    /// Skip the refresher, freshness and profile-free extras.
    #[arg(long)]
    pub no_extras: bool,
    /// Instead of the load table: run the reader host under valgrind's callgrind for this
    /// many requests and write the annotated profile to the run directory.
    #[arg(long)]
    pub callgrind: Option<u32>,
    /// With --callgrind: profile the control component instead of the reader.
    #[arg(long)]
    pub callgrind_control: bool,
    /// With --callgrind: the path requested (e.g. `/status`, `/servers`).
    #[arg(long, default_value = crate::targets::PATH)]
    pub callgrind_path: String,
    /// `--quick` (a flag of every mode): smaller refresher measurements.
    #[arg(skip)]
    pub quick: bool,
    /// The command line the report names.
    #[arg(skip)]
    pub command: String,
}

/// Seeds the run's database and Redis, measures the selected targets and the extras, and
/// returns the report (`None` after a callgrind profile, which writes its own).
pub async fn run(
    opts: &Options,
    ctx: &Context,
    generator: &Generator,
    admin: &mut Admin,
    kv: &mut Kv,
    notes: &mut Vec<String>,
) -> anyhow::Result<Option<Report>> {
    let load_before = machine::load_average();
    seed(ctx, admin, kv, notes).await?;
    admin.watch(&ctx.database, &ctx.db_user);
    let document = kv
        .get(&ctx.status_key)
        .await?
        .context("the status key is empty after seeding")?;
    let static_file = ctx.run_dir.join("status.json");
    std::fs::write(&static_file, &document)?;

    if let Some(requests) = opts.callgrind {
        crate::callgrind::profile(ctx, requests, opts.callgrind_control, &opts.callgrind_path)?;
        return Ok(None);
    }

    let selected = selected_targets(opts, ctx)?;
    let max_age_s = seconds_until_due(&document);
    let mut outcomes = Vec::new();
    for kind in measure_order().filter(|k| selected.contains(k)) {
        let outcome = measure_target(kind, opts, ctx, generator, admin, &static_file, max_age_s);
        outcomes.push(outcome.await);
    }
    outcomes.sort_by_key(|o| Kind::ALL.iter().position(|k| *k == o.kind));

    let mut extras = extras::static_costs(ctx, &document);
    if !opts.no_extras {
        extras::measure(opts.quick, ctx, admin, &static_file, &mut extras).await;
    }
    notes.push(format!(
        "the reader's max-age at the start of the run was {max_age_s} s (the refresher's 600 s interval minus the document's age)"
    ));
    if outcomes
        .iter()
        .any(|o| o.kind == Kind::DirectFresh && o.rows.iter().any(|r| r.load.errors > 0))
    {
        notes.push(
            "direct-DB (fresh conn) errors at high concurrency are MariaDB refusing connections (max_connections) or connect timeouts: \
             what the site's per-request connection does under load"
                .into(),
        );
    }
    let header = header(opts, generator, admin, kv, load_before).await;
    Ok(Some(Report {
        header,
        outcomes,
        extras,
        notes: std::mem::take(notes),
    }))
}

/// The targets asked for: all of them (`reader-before` only with its checkout), or the
/// listed ones.
fn selected_targets(opts: &Options, ctx: &Context) -> anyhow::Result<Vec<Kind>> {
    if opts.targets.is_empty() {
        return Ok(Kind::ALL
            .into_iter()
            .filter(|k| *k != Kind::ReaderBefore || ctx.reader_before.is_some())
            .collect());
    }
    opts.targets
        .iter()
        .map(|key| Kind::from_key(key).with_context(|| format!("unknown target {key:?}")))
        .collect()
}

/// The table's order, but direct-DB last and the fresh-connection one last of all: its
/// fresh connections leave TIME_WAIT sockets behind for whatever runs after it.
fn measure_order() -> impl Iterator<Item = Kind> {
    let mut order = Kind::ALL.to_vec();
    order.sort_by_key(|k| match k {
        Kind::DirectFresh => 2,
        Kind::DirectPooled => 1,
        _ => 0,
    });
    order.into_iter()
}

/// One target started, measured and stopped; a target that cannot start or fails its load
/// is reported as skipped, with why, rather than ending the run.
async fn measure_target(
    kind: Kind,
    opts: &Options,
    ctx: &Context,
    generator: &Generator,
    admin: &mut Admin,
    static_file: &Path,
    max_age_s: u64,
) -> Outcome {
    eprintln!("bench: {}", kind.label());
    let started = Instant::now();
    let running = match targets::start(kind, ctx, static_file) {
        Ok(running) => running,
        Err(e) => return skipped(kind, format!("{e:#}")),
    };
    let rows = measure(&running, generator, opts, admin, procfs::clock_ticks()).await;
    let upstream = running.nginx.as_ref().map(|n| Upstream {
        hits: n.upstream_hits(),
        seconds: started.elapsed().as_secs_f64(),
        max_age_s,
    });
    let detail = running.detail.clone();
    drop(running);
    let host = targets::host_log_name(kind).and_then(|n| targets::host_stats(&ctx.log(n)));
    match rows {
        Ok(rows) => Outcome {
            kind,
            detail,
            rows,
            skipped: None,
            upstream,
            host,
        },
        Err(e) => skipped(kind, format!("{e:#}")),
    }
}

fn skipped(kind: Kind, why: String) -> Outcome {
    eprintln!("bench: {} not measured: {why}", kind.label());
    Outcome {
        kind,
        detail: String::new(),
        rows: Vec::new(),
        skipped: Some(why),
        upstream: None,
        host: None,
    }
}

/// Warm-up, then one measured run per concurrency level.
async fn measure(
    running: &Running,
    generator: &Generator,
    opts: &Options,
    admin: &mut Admin,
    ticks: u64,
) -> anyhow::Result<Vec<Row>> {
    let url = running.url.clone();
    let pids = running.pids();
    let cpu = |pids: &[u32]| pids.iter().map(|p| procfs::tree_cpu_ticks(*p)).sum::<u64>();
    if opts.warmup > 0 {
        let (g, u) = (generator.clone(), url.clone());
        let warmup = Duration::from_secs(opts.warmup);
        tokio::task::spawn_blocking(move || g.run(&u, 50, warmup)).await??;
    }
    let mut rows = Vec::new();
    for &concurrency in &opts.concurrency {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let before = admin.counters().await?;
        let cpu_before = cpu(&pids);
        let started = Instant::now();
        let (g, u) = (generator.clone(), url.clone());
        let duration = Duration::from_secs(opts.duration);
        let load = tokio::task::spawn_blocking(move || g.run(&u, concurrency, duration)).await??;
        let elapsed = started.elapsed().as_secs_f64();
        let cpu_after = cpu(&pids);
        let after = admin.counters().await?;
        let cpu_pct =
            (cpu_after.saturating_sub(cpu_before)) as f64 / ticks as f64 / elapsed * 100.0;
        eprintln!(
            "bench:   c={concurrency}: {:.0} req/s, p99 {:.2} ms, {} errors",
            load.rps, load.p99_ms, load.errors
        );
        rows.push(Row {
            concurrency,
            load,
            cpu_pct,
            mysql: admin.delta(before, after),
        });
    }
    Ok(rows)
}

/// The report's header: when, where, how, and the versions of everything measured.
async fn header(
    opts: &Options,
    generator: &Generator,
    admin: &mut Admin,
    kv: &mut Kv,
    load_before: String,
) -> Header {
    let (date, stamp) = machine::today();
    let mut redis_version = kv.version().await;
    redis_version.insert_str(0, "Redis ");
    let version_at = |path: Option<PathBuf>, flag: &str| {
        path.map(|p| machine::version_of(&p.display().to_string(), &[flag]))
            .unwrap_or_else(|| "absent".into())
    };
    Header {
        date,
        host: machine::hostname(),
        command: opts.command.clone(),
        machine: machine::rows(stamp),
        versions: vec![
            ("rustc".into(), machine::version_of("rustc", &["--version"])),
            ("MariaDB".into(), admin.server_version().await),
            ("Redis".into(), redis_version),
            ("nginx".into(), version_at(targets::nginx_binary(), "-v")),
            ("load generator".into(), generator.version()),
            ("spin".into(), version_at(load::which("spin"), "--version")),
        ],
        load_before,
        load_after: machine::load_average(),
        duration_s: opts.duration,
        warmup_s: opts.warmup,
        generator: generator.name().into(),
    }
}
