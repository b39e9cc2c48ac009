//! `bench --fleet [N]` (issue 30): what one refresher costs with N game servers, against the
//! same refresher with one, measured the same way in the same invocation.
//!
//! The harness opens N TCP stand-ins in its own process ([`stand_ins`]), writes a servers
//! file of N `query = "tcp"` servers probed every 10 s, and runs the release
//! `status-refresher` without a database against the local Redis through a counting proxy
//! ([`proxy`]), under a throwaway key prefix. Once the servers index lists all N, and a
//! probe round has ended, it measures one steady-state window ([`window`]): CPU per probe
//! round and as a share of one core, RSS, bytes to and from Redis per server per probe, and
//! the probes done (the refresher's own `/metrics`). The baseline is the environment-only
//! setup (`GAME_SERVER_ADDR`, no file): a fleet of one, measured the same way just before.
//! The keys are deleted afterwards, whatever happened.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use dev_support::process::{describe_status, log_tail};
use status_document::keys::history_key;
use status_document::servers::{MAX_SERVERS, ServerId, server_key};

use crate::kv::Kv;
use crate::live_bench::{Request, RunInfo};
use crate::{machine, process};

mod build;
mod proxy;
mod render;
mod stand_ins;
mod window;

pub use build::{build_refresher, refresher_path};
pub use render::FleetReport;
use stand_ins::StandIns;
pub use window::Window;

/// Every server's probe interval (the refresher's default), seconds.
pub const PROBE_INTERVAL_S: u64 = 10;
/// The goals for N servers: CPU for probing, peak RSS, bytes written per probe.
pub const GOAL_CORE_PERCENT: f64 = 10.0;
pub const GOAL_RSS_MIB: f64 = 64.0;
pub const GOAL_BYTES_PER_PROBE: f64 = 4096.0;
/// How often readiness and round ends are looked for.
const POLL: Duration = Duration::from_millis(250);
/// A probe round has ended when the probe counter has not moved for this long.
const ROUND_QUIET: Duration = Duration::from_secs(1);

/// What `--fleet` is asked.
#[derive(Debug, Clone)]
pub struct Options {
    pub servers: usize,
    /// The measured window.
    pub window: Duration,
    /// How long the refresher may take until every document exists.
    pub start_limit: Duration,
    /// Every server's history starts full (30 days, what a month-old deployment rewrites
    /// at each write); `false`: empty, as on a first start.
    pub full_history: bool,
}

/// One measured setup: the refresher with `servers` game servers.
#[derive(Debug, Clone, Default)]
pub struct Measured {
    pub servers: usize,
    /// From the refresher's start to every document (and the index) in Redis, seconds.
    pub ready_s: f64,
    pub window: Window,
    /// Sizes of what one server's probe rewrites: (what, bytes).
    pub sizes: Vec<(String, usize)>,
    /// The refresher's log lines (`RUST_LOG=warn`: warnings and errors), and the first.
    pub log_lines: usize,
    pub first_log_line: Option<String>,
    /// `Max open files` of the refresher, as /proc says (soft limit).
    pub open_files_limit: Option<String>,
    /// From SIGTERM to the refresher's exit, seconds (`None`: killed after the grace).
    pub stop_s: Option<f64>,
}

/// Runs the baseline and the fleet; the keys under the run's prefix are deleted before it
/// returns, whatever happened.
pub async fn run(
    options: Options,
    request: Request,
    refresher: PathBuf,
) -> anyhow::Result<FleetReport> {
    ensure!(
        (1..=MAX_SERVERS).contains(&options.servers),
        "--fleet takes 1 to {MAX_SERVERS} servers (the refresher's bound), not {}",
        options.servers
    );
    let started = Instant::now();
    let load_before = machine::load_average();
    let ctx = crate::context::Context::new(String::new(), request.redis_url.clone())?;
    eprintln!("bench: run directory {}", ctx.run_dir.display());
    let prefix = format!("bench:{:08x}", fastrand::u32(..));
    let mut kv = Kv::connect(&request.redis_url).await?;
    let run = Run {
        refresher,
        redis_url: request.redis_url.clone(),
        run_dir: ctx.run_dir.clone(),
        prefix: prefix.clone(),
        options: options.clone(),
    };
    let measured = run.both(&mut kv).await;
    let cleaned = delete_prefix(&mut kv, &prefix).await;
    let (baseline, fleet) = measured?;
    let mut notes = request.notes;
    if let Err(e) = cleaned {
        notes.push(format!("deleting the keys under {prefix}:* failed: {e:#}"));
    }
    let (date, stamp) = machine::today();
    let mut rows = machine::rows(stamp);
    rows.push(("Redis".into(), format!("Redis {}", kv.version().await)));
    rows.push((
        "load average before / after".into(),
        format!("{load_before} / {}", machine::load_average()),
    ));
    let info = RunInfo {
        bench: if options.full_history {
            "fleet"
        } else {
            "fleet-fresh-history"
        },
        date,
        host: machine::hostname(),
        command: request.command,
        machine: rows,
        notes,
        run_dir: ctx.run_dir,
        took_s: started.elapsed().as_secs_f64(),
    };
    Ok(FleetReport {
        run: info,
        window_s: options.window.as_secs(),
        baseline,
        fleet,
        full_history: options.full_history,
    })
}

/// Deletes every key under `prefix:` (SCAN, then DEL in batches).
async fn delete_prefix(kv: &mut Kv, prefix: &str) -> anyhow::Result<()> {
    let keys = kv
        .keys_matching(&format!("{prefix}:*"), 4 * MAX_SERVERS + 100)
        .await?;
    for batch in keys.chunks(500) {
        kv.del(batch).await?;
    }
    Ok(())
}

/// What both setups share.
struct Run {
    refresher: PathBuf,
    redis_url: String,
    run_dir: PathBuf,
    prefix: String,
    options: Options,
}

/// Which of the two setups.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Setup {
    /// `GAME_SERVER_ADDR` alone: the document is the status key itself.
    One,
    /// The servers file of N.
    Fleet,
}

impl Setup {
    fn name(self) -> &'static str {
        match self {
            Setup::One => "one",
            Setup::Fleet => "fleet",
        }
    }
}

impl Run {
    async fn both(&self, kv: &mut Kv) -> anyhow::Result<(Measured, Measured)> {
        let n = self.options.servers;
        eprintln!("bench: opening {n} game-server stand-ins");
        let stand_ins = StandIns::open(n).await?;
        eprintln!("bench: baseline: one server from the environment");
        let baseline = self.measure(kv, Setup::One, &stand_ins.addrs[..1]).await?;
        eprintln!("bench: fleet: {n} servers from a servers file");
        let fleet = self.measure(kv, Setup::Fleet, &stand_ins.addrs).await?;
        Ok((baseline, fleet))
    }

    fn status_key(&self, setup: Setup) -> String {
        format!("{}:{}:server:status", self.prefix, setup.name())
    }

    /// Starts the refresher for `setup` on `games`, waits for every document and the end of
    /// a probe round, measures the window, and stops it.
    async fn measure(
        &self,
        kv: &mut Kv,
        setup: Setup,
        games: &[SocketAddr],
    ) -> anyhow::Result<Measured> {
        if self.options.full_history {
            seed_histories(kv, setup, &self.status_key(setup), games.len()).await?;
        }
        let proxy = proxy::Proxy::start(proxy::target(&self.redis_url)?).await?;
        let metrics = process::free_port().context("a free port for /metrics")?;
        let command = self.command(
            setup,
            games,
            &proxy::via(&self.redis_url, proxy.addr)?,
            metrics,
        )?;
        let log = self.run_dir.join(format!("refresher-{}.log", setup.name()));
        let started = Instant::now();
        let mut refresher = process::spawn(&format!("refresher-{}", setup.name()), command, &log)?;
        let pid = refresher.pid();
        let key = self.status_key(setup);
        let alive = |r: &mut process::Server| match r.exited() {
            Some(status) => Err(anyhow::anyhow!(
                "the refresher exited ({}): {}",
                describe_status(status),
                log_tail(&log, 5)
            )),
            None => Ok(()),
        };
        let deadline = started + self.options.start_limit;
        while !ready(kv, setup, &key, games.len()).await {
            alive(&mut refresher)?;
            if Instant::now() > deadline {
                bail!(
                    "not every document within {:?}: {}",
                    self.options.start_limit,
                    log_tail(&log, 5)
                );
            }
            tokio::time::sleep(POLL).await;
        }
        let ready_s = started.elapsed().as_secs_f64();
        eprintln!("bench:   every document in Redis after {ready_s:.1} s");
        round_end(metrics).await?;
        eprintln!("bench:   measuring {:?}", self.options.window);
        let window = window::measure(pid, metrics, &proxy, self.options.window).await?;
        alive(&mut refresher)?;
        let open_files_limit = open_files_limit(pid);
        let stop_s = stop(refresher).await;
        let (log_lines, first_log_line) = log_lines(&log);
        Ok(Measured {
            servers: games.len(),
            ready_s,
            window,
            sizes: sizes(kv, setup, &key).await,
            log_lines,
            first_log_line,
            open_files_limit,
            stop_s,
        })
    }

    /// The refresher with nothing from the bench's environment: no database, the run's
    /// keys, `/metrics` on `metrics`, and the setup's servers.
    fn command(
        &self,
        setup: Setup,
        games: &[SocketAddr],
        redis_url: &str,
        metrics: SocketAddr,
    ) -> anyhow::Result<Command> {
        let mut command = Command::new(&self.refresher);
        command
            .env_clear()
            .env("REDIS_URL", redis_url)
            .env("STATUS_KEY", self.status_key(setup))
            .env("STATUS_INTERVAL_KEY", format!("{}:interval", self.prefix))
            .env("STATUS_METRICS_ADDR", metrics.to_string())
            .env("RUST_LOG", "warn");
        match setup {
            Setup::One => {
                let game = games.first().context("no stand-in")?;
                command
                    .env("GAME_SERVER_ADDR", game.to_string())
                    .env("STATUS_PROBE_INTERVAL", PROBE_INTERVAL_S.to_string());
            }
            Setup::Fleet => {
                let file = self.run_dir.join("servers.toml");
                std::fs::write(&file, servers_file(games))
                    .with_context(|| format!("writing {}", file.display()))?;
                command.env("STATUS_SERVERS_FILE", &file);
            }
        }
        Ok(command)
    }
}

/// The servers file: one `[[server]]` per stand-in, ids `s0001`, `s0002`, ….
pub fn servers_file(games: &[SocketAddr]) -> String {
    let mut out = String::new();
    for (i, addr) in games.iter().enumerate() {
        out.push_str(&format!(
            "[[server]]\nid = \"{}\"\naddr = \"{addr}\"\nquery = \"tcp\"\nprobe_interval = {PROBE_INTERVAL_S}\n\n",
            server_id(i)
        ));
    }
    out
}

fn server_id(i: usize) -> String {
    format!("s{:04}", i + 1)
}

/// SIGTERM, and the time to the exit (`None`: not within 10 s, then killed). Off the
/// runtime: the refresher's last Redis calls (the lease's release) go through the proxy,
/// which this runtime drives.
async fn stop(mut refresher: process::Server) -> Option<f64> {
    tokio::task::spawn_blocking(move || {
        let asked = Instant::now();
        let status = refresher.stop(Duration::from_secs(10))?;
        let took = asked.elapsed().as_secs_f64();
        status.success().then_some(took)
    })
    .await
    .ok()
    .flatten()
}

/// The key of server `i`'s document (`s0001`, …; the status key itself for the one setup).
fn document_key(setup: Setup, status_key: &str, i: usize) -> anyhow::Result<String> {
    Ok(match setup {
        Setup::One => status_key.to_owned(),
        Setup::Fleet => {
            let id = ServerId::parse(&server_id(i)).context("a bench server id")?;
            server_key(status_key, &id).into_owned()
        }
    })
}

/// Stores a full history (30 days, [`crate::seed::full_history`]) beside each of the
/// setup's `n` documents: what a refresher reads and rewrites at every write once it has
/// run for a month.
async fn seed_histories(
    kv: &mut Kv,
    setup: Setup,
    status_key: &str,
    n: usize,
) -> anyhow::Result<()> {
    let history = crate::seed::full_history(crate::unix_now());
    for i in 0..n {
        let key = history_key(&document_key(setup, status_key, i)?);
        kv.set(&key, &history).await?;
    }
    Ok(())
}

/// Whether every document exists: the one setup's document, or an index listing all `n`.
async fn ready(kv: &mut Kv, setup: Setup, key: &str, n: usize) -> bool {
    match setup {
        Setup::One => matches!(kv.get(key).await, Ok(Some(_))),
        Setup::Fleet => {
            let Ok(Some(raw)) = kv.get(&format!("{key}:servers")).await else {
                return false;
            };
            serde_json::from_slice::<serde_json::Value>(&raw)
                .ok()
                .and_then(|index| index["servers"].as_array().map(Vec::len))
                == Some(n)
        }
    }
}

/// Waits until a probe round has ended (the probe counter moved, then stood still for
/// [`ROUND_QUIET`]), so the window starts between rounds and spans whole ones.
async fn round_end(metrics: SocketAddr) -> anyhow::Result<()> {
    let bound = Duration::from_secs(PROBE_INTERVAL_S * 3 + 30);
    let deadline = Instant::now() + bound;
    let first = window::scrape(metrics).await?.probes();
    let mut last = first;
    let mut still_since = Instant::now();
    loop {
        tokio::time::sleep(POLL).await;
        let now = window::scrape(metrics).await?.probes();
        if now != last {
            last = now;
            still_since = Instant::now();
        } else if last != first && still_since.elapsed() >= ROUND_QUIET {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("no probe round ended within {bound:?} (probes: {first} → {last})");
        }
    }
}

/// What one server's probe rewrites: its document, its history, and the index.
async fn sizes(kv: &mut Kv, setup: Setup, key: &str) -> Vec<(String, usize)> {
    let Ok(document) = document_key(setup, key, 0) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (what, stored) in [
        ("document", document.clone()),
        ("history", format!("{document}:history")),
        ("last good", format!("{document}:last_good")),
        ("servers index", format!("{key}:servers")),
    ] {
        if let Ok(Some(value)) = kv.get(&stored).await {
            out.push((what.to_owned(), value.len()));
        }
    }
    out
}

/// The lines of the refresher's log, and the first.
fn log_lines(log: &Path) -> (usize, Option<String>) {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    (
        lines.len(),
        lines.first().map(|l| l.chars().take(300).collect()),
    )
}

/// The soft `Max open files` limit of `pid`: one socket per concurrent probe.
fn open_files_limit(pid: u32) -> Option<String> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/limits")).ok()?;
    let line = text.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3).map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_servers_file_lists_every_stand_in() {
        let games: Vec<SocketAddr> = vec![
            "127.0.0.1:1000".parse().unwrap(),
            "127.0.0.1:1001".parse().unwrap(),
        ];
        let file = servers_file(&games);
        assert_eq!(file.matches("[[server]]").count(), 2);
        assert!(file.contains("id = \"s0002\"\naddr = \"127.0.0.1:1001\"\nquery = \"tcp\""));
        assert!(file.contains("probe_interval = 10"));
    }
}
