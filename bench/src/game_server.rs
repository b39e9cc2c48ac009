//! `bench --game-server [N]`: issue 21's proof in numbers, beside issue 13's `--changes`
//! table — how long from "the game server stops" (a TCP listener this harness closes) to
//! "the website sees `offline`" (the first `GET /server/status` through the reader in
//! reader-host whose `state` is `offline`), and back, median and max over N flips, with what
//! the refresher costs MySQL per hour at its default settings (probe every 10 s, 2
//! failures; players query every 60 s; refresh every 600 s).
//!
//! Like `--changes` it runs against a throwaway MariaDB with the general log in a table
//! (dev-support's [`WATCHED_MARIADB`]), so the refresher's own MySQL user's statements are
//! counted exactly: full refreshes, players-query runs, and everything else (the probe's
//! share, which must be zero).

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use dev_support::process::{describe_status, log_tail};
use dev_support::servers::{Throwaway, WATCHED_MARIADB};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::context::Context;
use crate::costs_and_freshness::{refresher, refresher_keys};
use crate::kv::Kv;
use crate::machine;
use crate::mysql::Admin;
use crate::process;
use crate::targets::{self, Kind};

/// The demo `characters` table `cargo xtask up` serves (5 of 8 online).
const CHARACTERS_SQL: &str = include_str!("../../xtask/fixtures/demo_characters.sql");
/// The players query of the demo (and of the example).
pub const PLAYERS_QUERY: &str = "SELECT COUNT(*) FROM characters WHERE online = 1";
/// The refresher's defaults, which this bench keeps: `STATUS_PROBE_INTERVAL`,
/// `STATUS_PROBE_FAILURES`, `STATUS_PLAYERS_INTERVAL`, `STATUS_UPDATE_INTERVAL`.
pub const PROBE_INTERVAL_S: u64 = 10;
pub const PROBE_FAILURES: u64 = 2;
pub const PLAYERS_INTERVAL_S: u64 = 60;
pub const INTERVAL_S: u64 = 600;
/// The bound for `offline`: the probe's interval × (failures + 1).
pub const OFFLINE_BOUND_S: u64 = PROBE_INTERVAL_S * (PROBE_FAILURES + 1);
/// The refresher's one `constants` query (a full refresh).
const REFRESH: &str = "SELECT Name, Value, Description FROM constants";
/// How each players-query run starts on MariaDB (read/players.rs).
const PLAYERS_RUN: &str = "SET STATEMENT max_statement_time";
/// How long the refresher or the throwaway server may take to come up.
const START_LIMIT: Duration = Duration::from_secs(60);
/// The reader is asked this often while a flip is awaited.
const POLL: Duration = Duration::from_millis(5);

/// The stand-in game server: accepts and closes while open; closed, connects are refused.
struct GameServer {
    addr: SocketAddr,
    task: Option<JoinHandle<()>>,
}

impl GameServer {
    async fn open_on(addr: SocketAddr) -> anyhow::Result<GameServer> {
        let mut server = GameServer { addr, task: None };
        server.open().await?;
        Ok(server)
    }

    async fn open(&mut self) -> anyhow::Result<()> {
        let listener = TcpListener::bind(self.addr)
            .await
            .with_context(|| format!("listening on {}", self.addr))?;
        self.addr = listener.local_addr()?;
        self.task = Some(tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                drop(stream);
            }
        }));
        Ok(())
    }

    /// Closes the port: the listener goes with its task.
    async fn close(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
    }
}

/// What the run is asked to do.
#[derive(Debug, Clone)]
pub struct Options {
    /// Stop/start flips.
    pub flips: u32,
    pub redis_url: String,
    /// The command line, for the report.
    pub command: String,
    pub notes: Vec<String>,
}

/// The refresher's own user's statements, by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Statements {
    pub total: u64,
    pub refreshes: u64,
    pub players_runs: u64,
    /// Statements of the players runs: `START TRANSACTION READ ONLY`, the query, `ROLLBACK`.
    pub players_statements: u64,
}

impl Statements {
    fn since(self, before: Statements) -> Statements {
        Statements {
            total: self.total.saturating_sub(before.total),
            refreshes: self.refreshes.saturating_sub(before.refreshes),
            players_runs: self.players_runs.saturating_sub(before.players_runs),
            players_statements: self
                .players_statements
                .saturating_sub(before.players_statements),
        }
    }

    /// Statements one players-query run costs (its transaction included).
    pub fn per_players_run(&self) -> Option<f64> {
        (self.players_runs > 0).then(|| self.players_statements as f64 / self.players_runs as f64)
    }

    /// Statements that are neither a refresh nor part of a players run: the probe's share.
    pub fn other(&self) -> u64 {
        self.total
            .saturating_sub(self.refreshes)
            .saturating_sub(self.players_statements)
    }

    /// MySQL statements an hour at the defaults: 3600 / 600 refreshes, and 3600 / 60
    /// players runs (a refresh runs the query too and restarts its clock, so the runs stay
    /// one a minute), and the probe's share, zero.
    pub fn per_hour(&self) -> Option<f64> {
        let per_run = self.per_players_run()?;
        Some(
            (3600 / INTERVAL_S) as f64
                + (3600 / PLAYERS_INTERVAL_S) as f64 * per_run
                + self.other() as f64,
        )
    }
}

/// The whole report.
#[derive(Debug, Clone)]
pub struct GameServerReport {
    pub date: String,
    pub host: String,
    pub command: String,
    pub machine: Vec<(String, String)>,
    pub flips: u32,
    /// Stop → `offline` served, and start → `online` served, for each flip that showed.
    pub offline: Vec<Duration>,
    pub online: Vec<Duration>,
    pub offline_failures: u32,
    pub online_failures: u32,
    pub statements: Statements,
    pub run_s: f64,
    pub notes: Vec<String>,
    pub run_dir: PathBuf,
    pub took_s: f64,
}

/// Runs the whole bench; the throwaway server, processes, user and keys are gone when it
/// returns, whatever happened.
pub async fn run(options: Options) -> anyhow::Result<GameServerReport> {
    let started = Instant::now();
    let load_before = machine::load_average();
    eprintln!("bench: starting a throwaway MariaDB with the general log");
    let server = tokio::task::spawn_blocking(|| {
        Throwaway::mariadb_in_temp_dir()
            .args(WATCHED_MARIADB)
            .timeout(START_LIMIT * 2)
            .start()
    })
    .await?
    .context("starting a throwaway mariadbd")?;
    let mut ctx = Context::new(server.url(), options.redis_url.clone())?;
    ctx.status_key = format!("{}:game-server", ctx.status_key);
    ctx.interval_key = format!("{}:interval", ctx.status_key);
    eprintln!("bench: run directory {}", ctx.run_dir.display());
    let mut admin = Admin::connect(&server.url()).await?;
    let mut kv = Kv::connect(&ctx.redis_url).await?;
    let mut keys = refresher_keys(&ctx.status_key);
    keys.push(ctx.interval_key.clone());

    let measured = measure(&ctx, &mut admin, &mut kv, options.flips).await;

    let mariadb = admin.server_version().await;
    let _ = kv.del(&keys).await;
    admin.drop_user(&ctx.db_user).await;
    let _ = admin.drop_database(&ctx.database).await;
    drop(admin);
    tokio::task::spawn_blocking(move || drop(server)).await?;
    let flips = measured?;

    let (date, stamp) = machine::today();
    Ok(GameServerReport {
        date,
        host: machine::hostname(),
        command: options.command,
        machine: machine::rows_with_services(stamp, mariadb, kv.version().await, &load_before),
        flips: options.flips,
        offline: flips.offline,
        online: flips.online,
        offline_failures: flips.offline_failures,
        online_failures: flips.online_failures,
        statements: flips.statements,
        run_s: flips.run_s,
        notes: options.notes,
        run_dir: ctx.run_dir.clone(),
        took_s: started.elapsed().as_secs_f64(),
    })
}

#[derive(Debug, Default)]
struct Flips {
    offline: Vec<Duration>,
    online: Vec<Duration>,
    offline_failures: u32,
    online_failures: u32,
    statements: Statements,
    run_s: f64,
}

async fn measure(
    ctx: &Context,
    admin: &mut Admin,
    kv: &mut Kv,
    flips: u32,
) -> anyhow::Result<Flips> {
    admin.create_demo(&ctx.database).await?;
    for statement in script_statements(CHARACTERS_SQL) {
        admin.exec(&statement).await?;
    }
    admin
        .create_user(&ctx.db_user, &ctx.db_password, &[&ctx.database])
        .await?;
    // A fresh key and lease.
    let mut keys = refresher_keys(&ctx.status_key);
    keys.push(ctx.interval_key.clone());
    kv.del(&keys).await?;

    let mut game = GameServer::open_on("127.0.0.1:0".parse()?).await?;
    let mut command = refresher(ctx, &ctx.database_url(), &ctx.status_key, INTERVAL_S, "all");
    command
        .env("GAME_SERVER_ADDR", game.addr.to_string())
        .env("STATUS_PLAYERS_QUERY", PLAYERS_QUERY)
        .env("STATUS_MAX_PLAYERS_CONSTANT", "MaxOnline")
        .env("STATUS_METRICS_ADDR", "")
        .env("RUST_LOG", "info");
    for var in [
        "STATUS_PROBE_INTERVAL",
        "STATUS_PROBE_TIMEOUT",
        "STATUS_PROBE_FAILURES",
        "STATUS_PLAYERS_INTERVAL",
        "STATUS_TIMEOUT",
    ] {
        command.env_remove(var);
    }
    let log = ctx.log("refresher-game-server");
    let mut refresher = process::spawn("refresher-game-server", command, &log)?;
    let reader = targets::start(Kind::Reader, ctx, &ctx.run_dir)?;
    let addr: SocketAddr = reader
        .url
        .trim_start_matches("http://")
        .trim_end_matches(targets::PATH)
        .parse()
        .with_context(|| format!("the reader's URL {}", reader.url))?;
    if served(addr, "online", Instant::now(), START_LIMIT)
        .await?
        .is_none()
    {
        if let Some(status) = refresher.exited() {
            bail!(
                "the refresher exited ({}): {}",
                describe_status(status),
                log_tail(&log, 5)
            );
        }
        bail!(
            "the reader never served online within {START_LIMIT:?}: {}",
            log_tail(&log, 5)
        );
    }

    let before = statements(admin, &ctx.db_user).await?;
    let started = Instant::now();
    let mut out = Flips::default();
    let bound = Duration::from_secs(OFFLINE_BOUND_S + 30);
    for i in 0..flips {
        // A uniform share of the probe interval, so the stops fall at every phase of it.
        pause().await;
        game.close().await;
        let stopped = Instant::now();
        match served(addr, "offline", stopped, bound).await? {
            Some(took) => {
                eprintln!("bench:   flip {}: offline after {:.2} s", i + 1, secs(took));
                out.offline.push(took);
            }
            None => {
                eprintln!(
                    "bench:   flip {}: offline not served within {bound:?}",
                    i + 1
                );
                out.offline_failures += 1;
            }
        }
        pause().await;
        game.open().await?;
        let reopened = Instant::now();
        match served(addr, "online", reopened, bound).await? {
            Some(took) => {
                eprintln!("bench:   flip {}: online after {:.2} s", i + 1, secs(took));
                out.online.push(took);
            }
            None => {
                eprintln!(
                    "bench:   flip {}: online not served within {bound:?}",
                    i + 1
                );
                out.online_failures += 1;
            }
        }
    }
    out.run_s = started.elapsed().as_secs_f64();
    out.statements = statements(admin, &ctx.db_user).await?.since(before);
    if let Some(status) = refresher.exited() {
        bail!(
            "the refresher exited during the run ({}): {}",
            describe_status(status),
            log_tail(&log, 5)
        );
    }
    drop(reader);
    drop(refresher);
    game.close().await;
    Ok(out)
}

/// `;`-terminated statements of a fixture script, `--` comments left out.
fn script_statements(script: &str) -> Vec<String> {
    let body: String = script
        .lines()
        .filter(|l| !l.trim_start().starts_with("--"))
        .collect::<Vec<_>>()
        .join("\n");
    body.split(";\n")
        .map(|s| s.trim().trim_end_matches(';').to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

async fn pause() {
    let s = 1.0 + fastrand::f64() * PROBE_INTERVAL_S as f64;
    tokio::time::sleep(Duration::from_secs_f64(s)).await;
}

/// Polls `GET /server/status` until its `state` is `state`: the time since `since`, or
/// `None` once `bound` has passed.
async fn served(
    addr: SocketAddr,
    state: &'static str,
    since: Instant,
    bound: Duration,
) -> anyhow::Result<Option<Duration>> {
    process::poll_until(addr, targets::PATH, since, bound, POLL, |json| {
        json["state"] == state
    })
    .await
}

/// `user`'s statements so far, from the general log.
async fn statements(admin: &mut Admin, user: &str) -> anyhow::Result<Statements> {
    let count = |condition: &str| format!("CAST(COALESCE(SUM({condition}), 0) AS UNSIGNED)");
    let rows: Vec<(u64, u64, u64, u64)> = admin
        .query(&format!(
            "SELECT {}, {}, {}, {} FROM mysql.general_log WHERE user_host LIKE '{user}[%'",
            count("command_type IN ('Query', 'Execute')"),
            count(&format!(
                "command_type = 'Query' AND argument LIKE '{REFRESH}%'"
            )),
            count(&format!(
                "command_type = 'Query' AND argument LIKE '{PLAYERS_RUN}%'"
            )),
            count(&format!(
                "command_type = 'Query' AND (argument LIKE '{PLAYERS_RUN}%' \
                 OR argument LIKE 'START TRANSACTION READ ONLY%' OR argument LIKE 'ROLLBACK%')"
            )),
        ))
        .await?;
    let (total, refreshes, players_runs, players_statements) =
        rows.first().copied().unwrap_or_default();
    Ok(Statements {
        total,
        refreshes,
        players_runs,
        players_statements,
    })
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

fn median(values: &[Duration]) -> Option<Duration> {
    let mut sorted = values.to_vec();
    sorted.sort();
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2),
    }
}

fn shown(d: Option<Duration>) -> String {
    d.map_or_else(|| "—".into(), |d| format!("{:.2} s", d.as_secs_f64()))
}

impl GameServerReport {
    /// `<date>-<host>-game-server.md`.
    pub fn file_name(&self) -> String {
        format!("{}-{}-game-server.md", self.date, self.host)
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# The game server itself: stop → the website sees offline, and MySQL's cost \
             (issue 21)\n"
        );
        let _ = writeln!(
            out,
            "`{}` — {} flips; the run took {:.0} s.\n",
            self.command, self.flips, self.took_s
        );
        out.push_str("| | |\n|---|---|\n");
        for (name, value) in &self.machine {
            let _ = writeln!(out, "| {name} | {value} |");
        }
        out.push('\n');
        let per_hour = self
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
             {} | {}/{} | {per_hour} |",
            shown(median(&self.offline)),
            shown(self.offline.iter().max().copied()),
            self.offline_failures,
            self.flips
        );
        let _ = writeln!(
            out,
            "| game server starts → the website sees `online` | {} | {} | {}/{} | (same) |",
            shown(median(&self.online)),
            shown(self.online.iter().max().copied()),
            self.online_failures,
            self.flips
        );
        let s = &self.statements;
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
            run = self.run_s,
            total = s.total,
            refreshes = s.refreshes,
            runs = s.players_runs,
            other = s.other(),
            r = 3600 / INTERVAL_S,
            pr = 3600 / PLAYERS_INTERVAL_S,
        );
        if !self.notes.is_empty() {
            out.push_str("\nNotes:\n\n");
            for note in &self.notes {
                let _ = writeln!(out, "- {note}");
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_per_hour_at_the_defaults() {
        let s = Statements {
            total: 2 + 5 * 3,
            refreshes: 2,
            players_runs: 5,
            players_statements: 15,
        };
        assert_eq!(s.other(), 0);
        assert_eq!(s.per_players_run(), Some(3.0));
        assert_eq!(s.per_hour(), Some(6.0 + 60.0 * 3.0));
        assert_eq!(Statements::default().per_hour(), None);
    }

    #[test]
    fn the_characters_fixture_splits_into_statements() {
        let statements = script_statements(CHARACTERS_SQL);
        assert_eq!(statements.len(), 2, "{statements:?}");
        assert!(statements[0].starts_with("CREATE TABLE characters"));
        assert!(statements[1].starts_with("INSERT INTO characters"));
    }

    #[tokio::test]
    async fn the_stand_in_closes_and_reopens_its_port() {
        let mut game = GameServer::open_on("127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let addr = game.addr;
        assert!(tokio::net::TcpStream::connect(addr).await.is_ok());
        game.close().await;
        assert!(tokio::net::TcpStream::connect(addr).await.is_err());
        game.open().await.unwrap();
        assert_eq!(game.addr, addr, "the same port again");
        assert!(tokio::net::TcpStream::connect(addr).await.is_ok());
    }
}
