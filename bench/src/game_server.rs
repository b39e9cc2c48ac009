//! `bench --game-server [N]`: the game server's reachability proven in numbers, beside the
//! `--changes` table — how long from "the game server stops" (a TCP listener this harness
//! closes) to "the website sees `offline`" (the first `GET /server/status` through the reader
//! in reader-host whose `state` is `offline`), and back, median and max over N flips, with
//! what the refresher costs MySQL per hour at its default settings (probe every 10 s, 2
//! failures; players query every 60 s; refresh every 600 s).
//!
//! Like `--changes` it runs against a throwaway MariaDB with the general log in a table
//! ([`Setup`]), so the refresher's own MySQL user's statements are counted
//! exactly: full refreshes, players-query runs, and everything else (the probe's share,
//! which must be zero).

use std::net::SocketAddr;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::bail;
use dev_support::process::{describe_status, log_tail};

use crate::context::Context;
use crate::costs_and_freshness::{refresher, refresher_keys};
use crate::kv::Kv;
use crate::live_bench::{Request, Setup, start_reader};
use crate::mysql::Admin;
use crate::process;
use crate::targets;

mod render;
mod stand_in;
mod statements;

pub use render::GameServerReport;
use stand_in::GameServer;
pub use statements::Statements;

/// The demo `characters` table `cargo xtask up` serves (5 of 8 online).
const CHARACTERS_SQL: &str = include_str!("../../xtask/fixtures/demo_characters.sql");
/// The players query of the demo (and of the feature's documented example).
pub const PLAYERS_QUERY: &str = "SELECT COUNT(*) FROM characters WHERE online = 1";
/// The refresher's defaults, which this bench keeps: `STATUS_PROBE_INTERVAL`,
/// `STATUS_PROBE_FAILURES`, `STATUS_PLAYERS_INTERVAL`, `STATUS_UPDATE_INTERVAL`.
pub const PROBE_INTERVAL_S: u64 = 10;
pub const PROBE_FAILURES: u64 = 2;
pub const PLAYERS_INTERVAL_S: u64 = 60;
pub const INTERVAL_S: u64 = 600;
/// The promised bound for `offline`: the probe's interval × (failures + 1).
pub const OFFLINE_BOUND_S: u64 = PROBE_INTERVAL_S * (PROBE_FAILURES + 1);
/// How long the refresher may take to have the reader serve its first document.
const START_LIMIT: Duration = Duration::from_secs(60);
/// The reader is asked this often while a flip is awaited.
const POLL: Duration = Duration::from_millis(5);

/// Runs the whole bench, `flips` stop/start flips; the throwaway server, processes, user and
/// keys are gone when it returns, whatever happened.
pub async fn run(flips: u32, request: Request) -> anyhow::Result<GameServerReport> {
    let mut setup = Setup::start("game-server", "the general log in a table", request).await?;
    let ctx = &mut setup.ctx;
    ctx.status_key = format!("{}:game-server", ctx.status_key);
    ctx.interval_key = format!("{}:interval", ctx.status_key);
    let mut keys = refresher_keys(&ctx.status_key);
    keys.push(ctx.interval_key.clone());

    let measured = measure(&setup.ctx, &mut setup.admin, &mut setup.kv, flips).await;

    let _ = setup.kv.del(&keys).await;
    setup.admin.drop_user(&setup.ctx.db_user).await;
    let _ = setup.admin.drop_database(&setup.ctx.database).await;
    let run = setup.finish().await?;
    let measured = measured?;
    Ok(GameServerReport {
        run,
        flips,
        measured,
    })
}

/// What the flips measured.
#[derive(Debug, Clone, Default)]
pub struct Flips {
    /// Stop → `offline` served.
    pub offline: Served,
    /// Start → `online` served.
    pub online: Served,
    pub statements: Statements,
    pub run_s: f64,
}

/// One direction of the flips: the latency of each flip that showed, and how many did not
/// within the bound.
#[derive(Debug, Clone, Default)]
pub struct Served {
    pub latencies: Vec<Duration>,
    pub failures: u32,
}

/// Sets up the demo tables, the refresher's user and a fresh key, starts the stand-in, the
/// refresher and the reader, waits for `online`, then flips the stand-in `flips` times.
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
    let log = ctx.log("refresher-game-server");
    let mut refresher = process::spawn(
        "refresher-game-server",
        refresher_at_defaults(ctx, game.addr),
        &log,
    )?;
    let (reader, addr) = start_reader(ctx)?;
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

    let before = statements::statements(admin, &ctx.db_user).await?;
    let started = Instant::now();
    let mut out = Flips::default();
    for i in 1..=flips {
        flip(&mut game, addr, i, &mut out).await?;
    }
    out.run_s = started.elapsed().as_secs_f64();
    out.statements = statements::statements(admin, &ctx.db_user)
        .await?
        .since(before);
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

/// The refresher probing `game` and counting the demo's players, every other setting at its
/// default (whatever the environment says).
fn refresher_at_defaults(ctx: &Context, game: SocketAddr) -> Command {
    let mut command = refresher(ctx, &ctx.database_url(), &ctx.status_key, INTERVAL_S, "all");
    command
        .env("GAME_SERVER_ADDR", game.to_string())
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
    command
}

/// Flip number `i`: after a pause the stand-in closes and `offline` is awaited, after
/// another it opens again and `online` is awaited; each outcome goes into `out`.
async fn flip(
    game: &mut GameServer,
    addr: SocketAddr,
    i: u32,
    out: &mut Flips,
) -> anyhow::Result<()> {
    let bound = Duration::from_secs(OFFLINE_BOUND_S + 30);
    // A uniform share of the probe interval, so the stops fall at every phase of it.
    pause().await;
    game.close().await;
    let took = served(addr, "offline", Instant::now(), bound).await?;
    out.offline.record(i, "offline", bound, took);
    pause().await;
    game.open().await?;
    let took = served(addr, "online", Instant::now(), bound).await?;
    out.online.record(i, "online", bound, took);
    Ok(())
}

impl Served {
    /// One awaited state of flip `i`: its latency, or a failure when it was not served in
    /// time.
    fn record(&mut self, i: u32, state: &str, bound: Duration, took: Option<Duration>) {
        match took {
            Some(took) => {
                eprintln!(
                    "bench:   flip {i}: {state} after {:.2} s",
                    took.as_secs_f64()
                );
                self.latencies.push(took);
            }
            None => {
                eprintln!("bench:   flip {i}: {state} not served within {bound:?}");
                self.failures += 1;
            }
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_characters_fixture_splits_into_statements() {
        let statements = script_statements(CHARACTERS_SQL);
        assert_eq!(statements.len(), 2, "{statements:?}");
        assert!(statements[0].starts_with("CREATE TABLE characters"));
        assert!(statements[1].starts_with("INSERT INTO characters"));
    }
}
