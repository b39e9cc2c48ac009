//! `bench`: one command that measures every target of issue 5 side by side and writes the
//! report. See `bench --help` and docs/performance.md.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use bench::callgrind;
use bench::context::{self, Context};
use bench::costs_and_freshness;
use bench::kv::Kv;
use bench::load::{self, Generator};
use bench::machine;
use bench::mysql::Admin;
use bench::procfs;
use bench::report::{Extras, Header, Outcome, Report, Row, Upstream};
use bench::seed::{seconds_until_due, seed};
use bench::targets::{self, Kind, Running};
use bench::{changes, game_server};
use clap::Parser;

#[derive(Parser, Debug)]
#[command(about = "Benchmark the status reader against its baselines (issue 5)")]
struct Args {
    /// Short smoke run: 2 s per run, 1 s warm-up, smaller refresher measurements, results
    /// kept under target/bench/ only.
    #[arg(long)]
    quick: bool,
    /// Seconds of load per target and concurrency.
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Seconds of warm-up load (c=50) before the measured runs of each target.
    #[arg(long, default_value_t = 2)]
    warmup: u64,
    /// Concurrency levels (connections).
    #[arg(long, value_delimiter = ',', default_value = "1,50,500")]
    concurrency: Vec<u32>,
    /// Only these targets: db-fresh, db-pooled, reader, reader-before, control, reader-kv,
    /// control-kv, spin, nginx-cache, static.
    #[arg(long, value_delimiter = ',')]
    targets: Vec<String>,
    /// MySQL/MariaDB server (no database; the run creates and drops its own).
    #[arg(
        long,
        env = "SERVER_STATUS_TEST_MYSQL",
        default_value = "mysql://root@127.0.0.1:3306"
    )]
    mysql: String,
    #[arg(
        long,
        env = "SERVER_STATUS_TEST_REDIS",
        default_value = "redis://127.0.0.1:6379"
    )]
    redis: String,
    /// An older checkout of this repository with its reader already built (`cargo build -p
    /// status-reader --target wasm32-wasip2 --release` there): adds the `reader-before`
    /// target, that reader with that checkout's spin.toml, measured in this run beside
    /// today's (e.g. `git worktree add --detach ../before 3dc1b8d`).
    #[arg(long)]
    reader_before: Option<PathBuf>,
    /// Use what is built; do not run cargo.
    #[arg(long)]
    no_build: bool,
    /// Skip the refresher, freshness and profile-free extras.
    #[arg(long)]
    no_extras: bool,
    /// Where the report goes (default: bench/results/ for full runs, the run directory for
    /// --quick).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Instead of the load table: run the reader host under valgrind's callgrind for this
    /// many requests and write the annotated profile to the run directory.
    #[arg(long)]
    callgrind: Option<u32>,
    /// With --callgrind: profile the control component instead of the reader.
    #[arg(long)]
    callgrind_control: bool,
    /// Instead of the load table: issue 13's live-change bench — N changes (default 20) per
    /// mode (interval, nudge, poll:1, binlog) on a throwaway MariaDB with a row binlog,
    /// change → visible latency and MySQL statements per hour at idle, written to
    /// bench/results/<date>-<host>-changes.md.
    #[arg(long, value_name = "N", num_args = 0..=1, default_missing_value = "20")]
    changes: Option<u32>,
    /// With --changes: seconds of the idle window in which the statements are counted.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    changes_idle: u64,
    /// Instead of the load table: issue 21's game-server bench, beside --changes — N flips
    /// (default 10) of a TCP listener the refresher probes at its defaults, stop → the
    /// reader serves offline and start → online, median and max, and the refresher's MySQL
    /// statements per hour at the defaults (probe, players query, interval), written to
    /// bench/results/<date>-<host>-game-server.md.
    #[arg(long, value_name = "N", num_args = 0..=1, default_missing_value = "10")]
    game_server: Option<u32>,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let mut args = Args::parse();
    if let Some(changes) = args.changes {
        return live_changes(&args, changes).await;
    }
    if let Some(flips) = args.game_server {
        return game_server_flips(&args, flips).await;
    }
    if args.quick {
        args.duration = args.duration.min(2);
        args.warmup = args.warmup.min(1);
    }
    let mut ctx = Context::new(args.mysql.clone(), args.redis.clone())?;
    ctx.reader_before = args.reader_before.clone();
    let ctx = ctx;
    eprintln!("bench: run directory {}", ctx.run_dir.display());
    let mut notes = Vec::new();
    if !args.no_build {
        notes.extend(context::build_all(&ctx.root));
    }
    let generator = load::find(&ctx.run_dir)?;
    let mut admin = Admin::connect(&args.mysql).await?;
    let mut kv = Kv::connect(&args.redis).await?;

    let result = run(&args, &ctx, &generator, &mut admin, &mut kv, &mut notes).await;

    // Clean up whatever happened: the run's keys and databases only.
    let mut keys = costs_and_freshness::refresher_keys(&ctx.status_key);
    keys.push(ctx.interval_key.clone());
    let _ = kv.del(&keys).await;
    for database in [ctx.database.clone(), format!("{}_scale", ctx.database)] {
        let _ = admin.drop_database(&database).await;
    }
    admin.drop_user(&ctx.db_user).await;
    admin.restore().await;
    let report = result?;
    let Some(report) = report else {
        return Ok(());
    };
    let text = report.render();
    println!("{text}");
    let dir = match (&args.out, args.quick) {
        (Some(dir), _) => dir.clone(),
        (None, true) => ctx.run_dir.clone(),
        (None, false) => ctx.root.join("bench/results"),
    };
    std::fs::create_dir_all(&dir)?;
    let file = dir.join(format!("{}-{}.md", report.header.date, report.header.host));
    std::fs::write(&file, text)?;
    eprintln!("bench: report written to {}", file.display());
    Ok(())
}

async fn run(
    args: &Args,
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

    if let Some(requests) = args.callgrind {
        callgrind::profile(ctx, requests, args.callgrind_control)?;
        return Ok(None);
    }

    let selected: Vec<Kind> = if args.targets.is_empty() {
        Kind::ALL
            .into_iter()
            .filter(|k| *k != Kind::ReaderBefore || ctx.reader_before.is_some())
            .collect()
    } else {
        let mut kinds = Vec::new();
        for key in &args.targets {
            kinds.push(Kind::from_key(key).with_context(|| format!("unknown target {key:?}"))?);
        }
        kinds
    };
    // The table's order, but direct-DB last and the fresh-connection one last of all: its
    // fresh connections leave TIME_WAIT sockets behind for whatever runs after it.
    let mut order = Kind::ALL.to_vec();
    order.sort_by_key(|k| match k {
        Kind::DirectFresh => 2,
        Kind::DirectPooled => 1,
        _ => 0,
    });
    let max_age_s = seconds_until_due(&document);
    let ticks = procfs::clock_ticks();
    let mut outcomes = Vec::new();
    for kind in order.into_iter().filter(|k| selected.contains(k)) {
        eprintln!("bench: {}", kind.label());
        let started = Instant::now();
        let outcome = match targets::start(kind, ctx, &static_file) {
            Ok(running) => {
                let rows = measure(&running, generator, args, admin, ticks).await;
                let upstream = running.nginx.as_ref().map(|n| Upstream {
                    hits: n.upstream_hits(),
                    seconds: started.elapsed().as_secs_f64(),
                    max_age_s,
                });
                let detail = running.detail.clone();
                drop(running);
                let host =
                    targets::host_log_name(kind).and_then(|n| targets::host_stats(&ctx.log(n)));
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
            Err(e) => skipped(kind, format!("{e:#}")),
        };
        outcomes.push(outcome);
    }
    outcomes.sort_by_key(|o| Kind::ALL.iter().position(|k| *k == o.kind));

    let mut extras = Extras {
        reader_wasm_bytes: file_size(&ctx.artifacts.reader_wasm),
        control_wasm_bytes: file_size(&ctx.artifacts.control_wasm),
        document_bytes: document.len(),
        parse_us: costs_and_freshness::parse_cost_us(&document),
        logic_us: costs_and_freshness::reader_logic_cost_us(&document),
        history: Some(costs_and_freshness::history_costs(
            &bench::seed::full_history(bench::unix_now()),
        )),
        table_rows: serde_json::from_slice::<serde_json::Value>(&document)
            .ok()
            .and_then(|j| j["_meta"].as_object().map(|m| m.len() as u64))
            .unwrap_or(0),
        ..Extras::default()
    };
    if !args.no_extras {
        measure_extras(args, ctx, admin, &static_file, &mut extras).await;
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

    let (date, stamp) = machine::today();
    let mut redis_version = kv.version().await;
    redis_version.insert_str(0, "Redis ");
    let header = Header {
        date,
        host: machine::hostname(),
        command: command_line(args),
        machine: machine::rows(stamp),
        versions: vec![
            ("rustc".into(), machine::version_of("rustc", &["--version"])),
            ("MariaDB".into(), admin.server_version().await),
            ("Redis".into(), redis_version),
            (
                "nginx".into(),
                targets::nginx_binary()
                    .map(|n| machine::version_of(&n.display().to_string(), &["-v"]))
                    .unwrap_or_else(|| "absent".into()),
            ),
            ("load generator".into(), generator.version()),
            (
                "spin".into(),
                load::which("spin")
                    .map(|s| machine::version_of(&s.display().to_string(), &["--version"]))
                    .unwrap_or_else(|| "absent".into()),
            ),
        ],
        load_before,
        load_after: machine::load_average(),
        duration_s: args.duration,
        warmup_s: args.warmup,
        generator: generator.name().into(),
    };
    Ok(Some(Report {
        header,
        outcomes,
        extras,
        notes: std::mem::take(notes),
    }))
}

/// `--changes`: its own throwaway server and report (bench/src/changes.rs).
async fn live_changes(args: &Args, changes: u32) -> anyhow::Result<()> {
    let (changes, idle) = if args.quick {
        (changes.min(5), args.changes_idle.min(15))
    } else {
        (changes, args.changes_idle)
    };
    let root = context::workspace_root();
    let mut notes = Vec::new();
    if !args.no_build {
        notes.extend(context::build_only(&root, &context::CHANGES_ARTIFACTS));
    }
    let mut command = String::from("cargo xtask bench --changes");
    if changes != 20 {
        command.push_str(&format!(" {changes}"));
    }
    if args.quick {
        command.push_str(" --quick");
    }
    if idle != 60 {
        command.push_str(&format!(" --changes-idle {idle}"));
    }
    let report = changes::run(changes::Options {
        changes: changes.max(1),
        idle: Duration::from_secs(idle.max(5)),
        redis_url: args.redis.clone(),
        command,
        notes,
    })
    .await?;
    let text = report.render();
    println!("{text}");
    let dir = match (&args.out, args.quick) {
        (Some(dir), _) => dir.clone(),
        (None, true) => report.run_dir.clone(),
        (None, false) => root.join("bench/results"),
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let file = dir.join(report.file_name());
    std::fs::write(&file, text).with_context(|| format!("writing {}", file.display()))?;
    eprintln!("bench: report written to {}", file.display());
    Ok(())
}

/// `--game-server`: its own throwaway server and report (bench/src/game_server.rs).
async fn game_server_flips(args: &Args, flips: u32) -> anyhow::Result<()> {
    let flips = if args.quick { flips.min(3) } else { flips };
    let root = context::workspace_root();
    let mut notes = Vec::new();
    if !args.no_build {
        notes.extend(context::build_only(&root, &context::CHANGES_ARTIFACTS));
    }
    let mut command = String::from("cargo xtask bench --game-server");
    if flips != 10 {
        command.push_str(&format!(" {flips}"));
    }
    if args.quick {
        command.push_str(" --quick");
    }
    let report = game_server::run(game_server::Options {
        flips: flips.max(1),
        redis_url: args.redis.clone(),
        command,
        notes,
    })
    .await?;
    let text = report.render();
    println!("{text}");
    let dir = match (&args.out, args.quick) {
        (Some(dir), _) => dir.clone(),
        (None, true) => report.run_dir.clone(),
        (None, false) => root.join("bench/results"),
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let file = dir.join(report.file_name());
    std::fs::write(&file, text).with_context(|| format!("writing {}", file.display()))?;
    eprintln!("bench: report written to {}", file.display());
    Ok(())
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

fn command_line(args: &Args) -> String {
    let mut line = String::from("cargo xtask bench");
    if args.quick {
        line.push_str(" --quick");
    } else if args.duration != 10 {
        line.push_str(&format!(" --duration {}", args.duration));
    }
    line
}

fn file_size(path: &Path) -> Option<u64> {
    std::fs::metadata(path).ok().map(|m| m.len())
}

/// Warm-up, then one measured run per concurrency level.
async fn measure(
    running: &Running,
    generator: &Generator,
    args: &Args,
    admin: &mut Admin,
    ticks: u64,
) -> anyhow::Result<Vec<Row>> {
    let url = running.url.clone();
    let pids = running.pids();
    let cpu = |pids: &[u32]| pids.iter().map(|p| procfs::tree_cpu_ticks(*p)).sum::<u64>();
    if args.warmup > 0 {
        let (g, u) = (generator.clone(), url.clone());
        let warmup = Duration::from_secs(args.warmup);
        tokio::task::spawn_blocking(move || g.run(&u, 50, warmup)).await??;
    }
    let mut rows = Vec::new();
    for &concurrency in &args.concurrency {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let before = admin.counters().await?;
        let cpu_before = cpu(&pids);
        let started = Instant::now();
        let (g, u) = (generator.clone(), url.clone());
        let duration = Duration::from_secs(args.duration);
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

async fn measure_extras(
    args: &Args,
    ctx: &Context,
    admin: &mut Admin,
    static_file: &Path,
    extras: &mut Extras,
) {
    eprintln!("bench: refresher");
    extras.refresher_rss_kib = Some(
        costs_and_freshness::refresher_idle_rss(ctx)
            .await
            .map_err(|e| format!("{e:#}")),
    );
    extras.per_refresh = Some(
        costs_and_freshness::statements_per_refresh(ctx, admin)
            .await
            .map_err(|e| format!("{e:#}")),
    );
    let scale_db = format!("{}_scale", ctx.database);
    let scale_url = ctx.url_as_user(&scale_db);
    let scale_key = format!("{}:scale", ctx.status_key);
    // 0: the demo table as it is (42 rows); the others pad it with generated constants.
    let sizes: &[usize] = if args.quick {
        &[0, 1_000]
    } else {
        &[0, 1_000, 100_000]
    };
    let runs = if args.quick { 1 } else { 3 };
    for &size in sizes {
        let n = match admin.create_fixture(&scale_db, size).await {
            Ok(n) => n,
            Err(e) => {
                extras
                    .refresh_times
                    .push((format!("{size} constants"), Err(format!("fixture: {e:#}"))));
                continue;
            }
        };
        let metas: &[&str] = if n >= 100_000 {
            &["all", "mapped"]
        } else {
            &["all"]
        };
        for meta in metas {
            let label = format!("{n} constants, STATUS_META={meta}");
            let result = costs_and_freshness::time_refresh(
                ctx,
                &scale_url,
                &scale_key,
                meta,
                if n >= 100_000 { 1 } else { runs },
            );
            extras.refresh_times.push((label, result));
        }
    }
    let mut kv = Kv::connect(&ctx.redis_url).await.ok();
    if let Some(kv) = kv.as_mut() {
        let _ = kv
            .del(&costs_and_freshness::refresher_keys(&scale_key))
            .await;
    }
    let _ = admin.drop_database(&scale_db).await;
    eprintln!("bench: end-to-end freshness");
    match costs_and_freshness::freshness(ctx, admin, static_file).await {
        Ok((visible, steady)) => {
            extras.freshness = Some(Ok(visible));
            extras.steady = steady;
        }
        Err(e) => extras.freshness = Some(Err(format!("{e:#}"))),
    }
}
