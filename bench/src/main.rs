//! `bench`: one command that measures every target of the benchmarks side by side and
//! writes the report. See `bench --help` and docs/performance.md.
//!
//! This binary only reads the options, picks the mode and writes the report where it
//! belongs; the modes themselves are library modules: the load table (`bench::table`), the
//! live-change bench (`bench::changes`), the game-server bench (`bench::game_server`) and
//! the fleet bench (`bench::fleet`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use bench::context::{self, Context};
use bench::costs_and_freshness;
use bench::kv::Kv;
use bench::live_bench::{self, LiveReport};
use bench::load;
use bench::mysql::Admin;
use bench::{changes, game_server, table};
use clap::Parser;

#[derive(Parser, Debug)]
#[command(about = "Benchmark the status reader against its baselines")]
struct Args {
    /// Short smoke run: 2 s per run, 1 s warm-up, smaller refresher measurements, results
    /// kept under target/bench/ only.
    #[arg(long)]
    quick: bool,
    #[command(flatten)]
    table: table::Options,
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
    /// Where the report goes (default: bench/results/ for full runs, the run directory for
    /// --quick).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Instead of the load table: the live-change bench — N changes (default 20) per
    /// mode (interval, nudge, poll:1, binlog) on a throwaway MariaDB with a row binlog,
    /// change → visible latency and MySQL statements per hour at idle, written to
    /// bench/results/<date>-<host>-changes.md.
    #[arg(long, value_name = "N", num_args = 0..=1, default_missing_value = "20")]
    changes: Option<u32>,
    /// With --changes: seconds of the idle window in which the statements are counted.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    changes_idle: u64,
    /// Instead of the load table: the game-server bench, beside --changes — N flips
    /// (default 10) of a TCP listener the refresher probes at its defaults, stop → the
    /// reader serves offline and start → online, median and max, and the refresher's MySQL
    /// statements per hour at the defaults (probe, players query, interval), written to
    /// bench/results/<date>-<host>-game-server.md.
    #[arg(long, value_name = "N", num_args = 0..=1, default_missing_value = "10")]
    game_server: Option<u32>,
    /// Instead of the load table: the fleet bench (issue 30) — one release refresher
    /// probing N TCP stand-ins (default 1000) from a servers file, against the same
    /// refresher with one server from the environment: CPU per probe round, RSS, bytes to
    /// Redis per server per probe, with ratios and the goals, written to
    /// bench/results/<date>-<host>-fleet.md.
    #[arg(long, value_name = "N", num_args = 0..=1, default_missing_value = "1000")]
    fleet: Option<usize>,
    /// With --fleet: seconds of the measured steady-state window of each setup.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    fleet_window: u64,
    /// With --fleet: start every server's history empty (a first start) instead of full
    /// (30 days: what a month-old deployment reads and rewrites at every write).
    #[arg(long)]
    fleet_fresh_history: bool,
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
    if let Some(servers) = args.fleet {
        return fleet(&args, servers).await;
    }
    if args.quick {
        args.table.duration = args.table.duration.min(2);
        args.table.warmup = args.table.warmup.min(1);
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

    let opts = table_options(&args);
    let result = table::run(&opts, &ctx, &generator, &mut admin, &mut kv, &mut notes).await;
    clean_up(&ctx, &mut admin, &mut kv).await;
    let Some(report) = result? else {
        return Ok(());
    };
    let file = format!("{}-{}.md", report.header.date, report.header.host);
    write_report(&args, &report.render(), &ctx.run_dir, &ctx.root, &file)
}

/// Whatever happened: the run's keys and databases only, and MariaDB's settings as found.
async fn clean_up(ctx: &Context, admin: &mut Admin, kv: &mut Kv) {
    let mut keys = costs_and_freshness::refresher_keys(&ctx.status_key);
    keys.push(ctx.interval_key.clone());
    let _ = kv.del(&keys).await;
    for database in [ctx.database.clone(), format!("{}_scale", ctx.database)] {
        let _ = admin.drop_database(&database).await;
    }
    admin.drop_user(&ctx.db_user).await;
    admin.restore().await;
}

fn table_options(args: &Args) -> table::Options {
    table::Options {
        quick: args.quick,
        command: command_line(args),
        ..args.table.clone()
    }
}

/// Prints a report and writes it as `file_name` under `--out`, else the run directory for
/// `--quick`, else bench/results/ (where full runs are kept).
fn write_report(
    args: &Args,
    text: &str,
    run_dir: &Path,
    root: &Path,
    file_name: &str,
) -> anyhow::Result<()> {
    println!("{text}");
    let dir = match (&args.out, args.quick) {
        (Some(dir), _) => dir.clone(),
        (None, true) => run_dir.to_owned(),
        (None, false) => root.join("bench/results"),
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let file = dir.join(file_name);
    std::fs::write(&file, text).with_context(|| format!("writing {}", file.display()))?;
    eprintln!("bench: report written to {}", file.display());
    Ok(())
}

/// `--changes`: its own throwaway server and report (bench/src/changes.rs).
async fn live_changes(args: &Args, changes: u32) -> anyhow::Result<()> {
    let (changes, idle) = if args.quick {
        (changes.min(5), args.changes_idle.min(15))
    } else {
        (changes, args.changes_idle)
    };
    let mut command = live_command_line(args, "--changes", changes, 20);
    if idle != 60 {
        command.push_str(&format!(" --changes-idle {idle}"));
    }
    let options = changes::Options {
        changes: changes.max(1),
        idle: Duration::from_secs(idle.max(5)),
    };
    let root = context::workspace_root();
    let report = changes::run(options, live_request(args, &root, command)).await?;
    write_live_report(args, &root, &report)
}

/// `--game-server`: its own throwaway server and report (bench/src/game_server.rs).
async fn game_server_flips(args: &Args, flips: u32) -> anyhow::Result<()> {
    let flips = if args.quick { flips.min(3) } else { flips };
    let command = live_command_line(args, "--game-server", flips, 10);
    let root = context::workspace_root();
    let report = game_server::run(flips.max(1), live_request(args, &root, command)).await?;
    write_live_report(args, &root, &report)
}

/// `--fleet`: its own stand-ins, keys and report (bench/src/fleet.rs).
async fn fleet(args: &Args, servers: usize) -> anyhow::Result<()> {
    let (servers, window) = if args.quick {
        (servers.min(100), args.fleet_window.min(20))
    } else {
        (servers, args.fleet_window)
    };
    let mut command = live_command_line(args, "--fleet", servers as u32, 1000);
    if window != 60 {
        command.push_str(&format!(" --fleet-window {window}"));
    }
    if args.fleet_fresh_history {
        command.push_str(" --fleet-fresh-history");
    }
    let root = context::workspace_root();
    let notes = if args.no_build {
        Vec::new()
    } else {
        bench::fleet::build_refresher(&root).into_iter().collect()
    };
    let request = live_bench::Request {
        redis_url: args.redis.clone(),
        command,
        notes,
    };
    let options = bench::fleet::Options {
        servers,
        window: Duration::from_secs(window.max(10)),
        start_limit: Duration::from_secs(120),
        full_history: !args.fleet_fresh_history,
    };
    let refresher = bench::fleet::refresher_path(&root);
    let report = bench::fleet::run(options, request, refresher).await?;
    write_live_report(args, &root, &report)
}

/// `cargo xtask bench <flag> [N] [--quick]`, N only where it is not the default.
fn live_command_line(args: &Args, flag: &str, n: u32, default_n: u32) -> String {
    let mut command = format!("cargo xtask bench {flag}");
    if n != default_n {
        command.push_str(&format!(" {n}"));
    }
    if args.quick {
        command.push_str(" --quick");
    }
    command
}

/// What a live bench is asked besides its counts; builds what it needs first (unless
/// `--no-build`), whose failures become the report's first notes.
fn live_request(args: &Args, root: &Path, command: String) -> live_bench::Request {
    live_bench::Request {
        redis_url: args.redis.clone(),
        command,
        notes: build_for_live_benches(args, root),
    }
}

fn write_live_report(args: &Args, root: &Path, report: &impl LiveReport) -> anyhow::Result<()> {
    let run = report.run();
    write_report(args, &report.render(), &run.run_dir, root, &run.file_name())
}

/// The builds `--changes` and `--game-server` need (unless `--no-build`); returns the notes
/// for the report.
fn build_for_live_benches(args: &Args, root: &Path) -> Vec<String> {
    if args.no_build {
        return Vec::new();
    }
    context::build_only(root, &context::CHANGES_ARTIFACTS)
}

fn command_line(args: &Args) -> String {
    let mut line = String::from("cargo xtask bench");
    if args.quick {
        line.push_str(" --quick");
    } else if args.table.duration != 10 {
        line.push_str(&format!(" --duration {}", args.table.duration));
    }
    line
}
