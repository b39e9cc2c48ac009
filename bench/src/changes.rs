//! `bench --changes [N]`: live changes proven in numbers — how long a change to `constants`
//! takes to reach the reader's endpoint in each live-change mode, and what each mode costs
//! MySQL per hour while nothing changes.
//!
//! It runs against a throwaway MariaDB started with a row binlog and the general log in a
//! table ([`Setup`]): the binlog mode needs the former, and the latter counts
//! each mode's statements exactly, by the mode's own MySQL user, which a shared server's
//! global counters cannot. Each mode (a [`Lane`]) has its own user, its own
//! Redis key, its own refresher and a reader-host serving that key. The modes' changes are
//! measured one mode after the other — all of them change the same table, which the binlog
//! and poll watchers of other modes would otherwise see — and their idle cost side by side.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use dev_support::process::{describe_status, log_tail};

use crate::context::Context;
use crate::costs_and_freshness::{refresher, refresher_keys};
use crate::kv::Kv;
use crate::live_bench::{Request, Setup, start_reader};
use crate::mysql::Admin;
use crate::process::{self, Server};

mod latency;
mod render;
mod statements;

pub use latency::Outcome;
pub use render::{ChangesReport, Measured, ModeRow};
pub use statements::Counts;

/// `STATUS_UPDATE_INTERVAL` of the interval mode while its latency is measured.
pub const INTERVAL_S: u64 = 5;
/// `STATUS_UPDATE_INTERVAL` of the other modes' latency runs and of all four at idle (the
/// default): what each mode costs on top of the safety-net refresh.
pub const IDLE_INTERVAL_S: u64 = 600;
/// How long a refresher (with its watcher) may take to come up.
const START_LIMIT: Duration = Duration::from_secs(60);
/// After start-up, before measuring: longer than `STATUS_MIN_REFRESH_GAP` (2 s), so the
/// start-up refresh cannot delay the first change's, and than poll's first probe (1 s),
/// which only records the checksum.
const SETTLE: Duration = Duration::from_secs(3);

/// How a change reaches the refresher.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Nothing but the periodic refresh.
    Interval,
    /// The change is followed by `PUBLISH <key>:refresh now`, as an admin panel would.
    Nudge,
    /// `STATUS_WATCH=poll:1`: `CHECKSUM TABLE constants` every second.
    Poll,
    /// `STATUS_WATCH=binlog`: the refresher follows the binary log.
    Binlog,
}

impl Mode {
    pub const ALL: [Mode; 4] = [Mode::Interval, Mode::Nudge, Mode::Poll, Mode::Binlog];

    /// The mode in names: its MySQL user, Redis key, logs.
    pub fn key(self) -> &'static str {
        match self {
            Mode::Interval => "interval",
            Mode::Nudge => "nudge",
            Mode::Poll => "poll",
            Mode::Binlog => "binlog",
        }
    }

    /// The mode in the table.
    pub fn label(self) -> String {
        match self {
            Mode::Interval => format!("interval only (`STATUS_UPDATE_INTERVAL={INTERVAL_S}`)"),
            Mode::Nudge => "nudge (`PUBLISH <key>:refresh now` after the commit)".into(),
            Mode::Poll => "`STATUS_WATCH=poll:1`".into(),
            Mode::Binlog => "`STATUS_WATCH=binlog`".into(),
        }
    }

    fn watch(self) -> &'static str {
        match self {
            Mode::Interval | Mode::Nudge => "interval",
            Mode::Poll => "poll:1",
            Mode::Binlog => "binlog",
        }
    }

    fn latency_interval_s(self) -> u64 {
        match self {
            Mode::Interval => INTERVAL_S,
            _ => IDLE_INTERVAL_S,
        }
    }

    /// The refresher's log line that says the mode's source is live (the document written
    /// at start-up comes before it, so the document alone does not say so).
    fn ready_line(self) -> Option<&'static str> {
        match self {
            Mode::Nudge => Some("subscribed to the refresh channel"),
            Mode::Binlog => Some("following the binary log"),
            Mode::Interval | Mode::Poll => None,
        }
    }

    /// Longest wait for one change to show: the interval plus slack for the interval mode;
    /// the others are expected within about a second, so 30 s means something is broken.
    fn bound(self) -> Duration {
        match self {
            Mode::Interval => Duration::from_secs(INTERVAL_S + 10),
            _ => Duration::from_secs(30),
        }
    }

    /// Pause between a change showing (or timing out) and the next change: more than
    /// `STATUS_MIN_REFRESH_GAP`, so no change waits for the gap. The interval mode's pause
    /// adds a uniform share of the interval, so its commits fall at every phase of the
    /// refresh cycle instead of always the same time after a refresh.
    fn pause(self) -> Duration {
        let spread = match self {
            Mode::Interval => INTERVAL_S as f64,
            _ => 1.0,
        };
        Duration::from_secs_f64(2.5 + fastrand::f64() * spread)
    }
}

/// One mode's own MySQL user, Redis key and run directory: a copy of the run's context.
struct Lane {
    mode: Mode,
    ctx: Context,
}

impl Lane {
    fn new(mode: Mode, base: &Context) -> anyhow::Result<Lane> {
        let mut ctx = base.clone();
        ctx.db_user = format!("{}_{}", base.db_user, mode.key());
        ctx.db_password = format!("{:016x}", fastrand::u64(..));
        ctx.status_key = format!("{}:{}", base.status_key, mode.key());
        ctx.interval_key = format!("{}:interval", ctx.status_key);
        ctx.run_dir = base.run_dir.join(mode.key());
        std::fs::create_dir_all(&ctx.run_dir)
            .with_context(|| format!("creating {}", ctx.run_dir.display()))?;
        Ok(Lane { mode, ctx })
    }

    /// Every Redis key the lane's refresher writes or reads.
    fn keys(&self) -> Vec<String> {
        let mut keys = refresher_keys(&self.ctx.status_key);
        keys.push(self.ctx.interval_key.clone());
        keys
    }

    fn channel(&self) -> String {
        format!("{}:refresh", self.ctx.status_key)
    }

    /// The user docs/deploy.md's grants describe: `SELECT` on the database, plus the replication
    /// privileges for the binlog mode.
    async fn create_user(&self, admin: &mut Admin) -> anyhow::Result<()> {
        let user = &self.ctx.db_user;
        admin
            .create_user(user, &self.ctx.db_password, &[&self.ctx.database])
            .await?;
        if self.mode == Mode::Binlog {
            for host in ["localhost", "%"] {
                admin
                    .exec(&format!(
                        "GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO '{user}'@'{host}'"
                    ))
                    .await?;
            }
        }
        Ok(())
    }

    /// Starts the lane's refresher (as `name`, every `interval_s`) and waits until it wrote
    /// a document and its source is live.
    async fn start_refresher(
        &self,
        kv: &mut Kv,
        name: &str,
        interval_s: u64,
    ) -> anyhow::Result<Server> {
        // A fresh key and lease: the lease of the lane's previous refresher would make this
        // one a standby until it expired.
        kv.del(&self.keys()).await?;
        let ctx = &self.ctx;
        let mut command = refresher(ctx, &ctx.database_url(), &ctx.status_key, interval_s, "all");
        command
            .env("STATUS_WATCH", self.mode.watch())
            .env("STATUS_METRICS_ADDR", "")
            .env("RUST_LOG", "info");
        let log = ctx.log(name);
        let mut server = process::spawn(name, command, &log)?;
        let deadline = Instant::now() + START_LIMIT;
        loop {
            if let Some(status) = server.exited() {
                bail!(
                    "{name} exited ({}): {}",
                    describe_status(status),
                    log_tail(&log, 5)
                );
            }
            let written = kv.get(&ctx.status_key).await?.is_some();
            let live = self.mode.ready_line().is_none_or(|line| {
                std::fs::read_to_string(&log).is_ok_and(|text| text.contains(line))
            });
            if written && live {
                return Ok(server);
            }
            if Instant::now() >= deadline {
                bail!(
                    "{name} not ready within {START_LIMIT:?} (document written: {written}, \
                     source live: {live}): {}",
                    log_tail(&log, 5)
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// What the run is asked to do.
#[derive(Debug, Clone)]
pub struct Options {
    /// Changes per mode.
    pub changes: u32,
    /// Length of the idle window.
    pub idle: Duration,
}

/// Runs the whole bench; the throwaway server, processes, users and keys are gone when it
/// returns, whatever happened.
pub async fn run(options: Options, request: Request) -> anyhow::Result<ChangesReport> {
    let mut setup = Setup::start("changes", "a row binlog and the general log", request).await?;
    let lanes = Mode::ALL
        .into_iter()
        .map(|mode| Lane::new(mode, &setup.ctx))
        .collect::<anyhow::Result<Vec<_>>>()?;

    let measured = measure(
        &setup.ctx,
        &lanes,
        &mut setup.admin,
        &mut setup.kv,
        &options,
    )
    .await;

    for lane in &lanes {
        let _ = setup.kv.del(&lane.keys()).await;
        setup.admin.drop_user(&lane.ctx.db_user).await;
    }
    let _ = setup.admin.drop_database(&setup.ctx.database).await;
    let mut run = setup.finish().await?;
    let measured = measured?;
    if measured.per_refresh.is_none() {
        run.notes.push(
            "no refresh was counted in the interval or nudge runs, so statements per refresh \
             (and the per-hour column) are unknown"
                .into(),
        );
    }
    Ok(ChangesReport {
        run,
        changes: options.changes,
        measured,
    })
}

/// The fixture, each lane's changes, then the idle window.
async fn measure(
    ctx: &Context,
    lanes: &[Lane],
    admin: &mut Admin,
    kv: &mut Kv,
    options: &Options,
) -> anyhow::Result<Measured> {
    admin.create_demo(&ctx.database).await?;
    for lane in lanes {
        lane.create_user(admin).await?;
    }
    let mut rows = Vec::new();
    for (index, lane) in lanes.iter().enumerate() {
        eprintln!("bench: {} ({} changes)", lane.mode.key(), options.changes);
        let outcome = changes_of(lane, index, admin, kv, options.changes).await;
        let row = match outcome {
            Ok(outcome) => ModeRow::measured(lane.mode, options.changes, outcome),
            Err(e) => {
                eprintln!("bench:   not measured: {e:#}");
                ModeRow::failed(lane.mode, options.changes, format!("{e:#}"))
            }
        };
        rows.push(row);
    }
    // Statements a full refresh costs: from the modes whose statements are refreshes only.
    let per_refresh = [Mode::Interval, Mode::Nudge].into_iter().find_map(|mode| {
        let (during, _) = rows.iter().find(|r| r.mode == mode)?.outcome.during?;
        (during.refreshes > 0).then(|| during.statements as f64 / during.refreshes as f64)
    });
    eprintln!(
        "bench: idle: all four side by side, STATUS_UPDATE_INTERVAL={IDLE_INTERVAL_S}, {} s",
        options.idle.as_secs()
    );
    let (idle, idle_s) = idle(lanes, &ctx.db_user, admin, kv, options.idle).await?;
    for row in &mut rows {
        row.idle = idle.get(&row.mode).cloned();
        if let Some(Ok(counts)) = &row.idle {
            row.per_hour = per_refresh.map(|per_refresh| {
                counts.statements as f64 * 3600.0 / idle_s
                    + (3600 / IDLE_INTERVAL_S) as f64 * per_refresh
            });
        }
    }
    Ok(Measured {
        rows,
        per_refresh,
        idle_s,
    })
}

/// One lane's changes with its own refresher and reader-host, both stopped on return.
async fn changes_of(
    lane: &Lane,
    index: usize,
    admin: &mut Admin,
    kv: &mut Kv,
    changes: u32,
) -> anyhow::Result<latency::Outcome> {
    let name = format!("refresher-{}", lane.mode.key());
    let interval_s = lane.mode.latency_interval_s();
    let refresher = lane.start_refresher(kv, &name, interval_s).await?;
    let (reader, addr) = start_reader(&lane.ctx)?;
    tokio::time::sleep(SETTLE).await;
    let before = statements::by_user(admin, &lane.ctx.db_user).await?;
    let started = Instant::now();
    let result = latency::run(lane, index, admin, kv, addr, changes).await;
    let after = statements::by_user(admin, &lane.ctx.db_user).await?;
    let seconds = started.elapsed().as_secs_f64();
    drop(reader);
    drop(refresher);
    let mut outcome = result?;
    outcome.during = Some((
        statements::between(&before, &after, &lane.ctx.db_user),
        seconds,
    ));
    Ok(outcome)
}

/// Every lane's refresher at the default interval for `window`, nothing changing: each
/// lane's statements (or why it could not run) and the window's length in seconds.
/// `users` is the run's own user name, which every lane's user name starts with.
async fn idle(
    lanes: &[Lane],
    users: &str,
    admin: &mut Admin,
    kv: &mut Kv,
    window: Duration,
) -> anyhow::Result<(HashMap<Mode, Result<Counts, String>>, f64)> {
    let mut running = Vec::new();
    let mut result = HashMap::new();
    for lane in lanes {
        let name = format!("idle-refresher-{}", lane.mode.key());
        match lane.start_refresher(kv, &name, IDLE_INTERVAL_S).await {
            Ok(server) => running.push((lane, server)),
            Err(e) => {
                result.insert(lane.mode, Err(format!("{e:#}")));
            }
        }
    }
    tokio::time::sleep(SETTLE).await;
    let before = statements::by_user(admin, users).await?;
    let started = Instant::now();
    tokio::time::sleep(window).await;
    let after = statements::by_user(admin, users).await?;
    let seconds = started.elapsed().as_secs_f64();
    for (lane, mut server) in running {
        let user = &lane.ctx.db_user;
        let counts = match server.exited() {
            Some(status) => Err(format!(
                "the refresher exited during the window ({})",
                describe_status(status)
            )),
            None => Ok(statements::between(&before, &after, user)),
        };
        result.insert(lane.mode, counts);
    }
    Ok((result, seconds))
}
