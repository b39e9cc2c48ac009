//! `cargo xtask up`: the whole stack on this machine, stopped cleanly by Ctrl-C.
//!
//! MariaDB → refresher → Redis → reader → HTTP on 127.0.0.1:3000, the same flow as production,
//! with a stand-in for the game server (`game_server.rs`) that the refresher probes and
//! `cargo xtask game-server stop|start` closes and reopens, and a demo `characters` table
//! whose online rows the refresher counts as players.
//! Order matters twice: at start (services and demo data before the refresher, the refresher
//! before the reader, so the first request already finds a document) and at stop (reader, then
//! refresher, then throwaway services, so nothing logs errors about a peer that vanished first).

use std::env;
use std::net::{SocketAddr, TcpListener};
use std::process::{Command, ExitCode};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use dev_support::http;

use crate::build;
use crate::child::{self, Managed, Output, POLL, STOP_GRACE, describe_status};
use crate::demo::{self, DEMO_DATABASE, MAX_PLAYERS_CONSTANT, PLAYERS_QUERY, Seeded};
use crate::endpoint::ServiceUrl;
use crate::game_server::{self, Control, StandIn};
use crate::services::{Services, Wanted, on_path};
use crate::shutdown::Shutdown;
use crate::spin_manifest;
use crate::workspace::Workspace;

/// Refresh interval for local runs, unless `STATUS_UPDATE_INTERVAL` says otherwise: short
/// enough to watch a change arrive, long enough not to flood the log.
const LOCAL_INTERVAL_S: &str = "30";

/// Probe interval for local runs, unless `STATUS_PROBE_INTERVAL` says otherwise: with the
/// default two failures, a stopped stand-in shows as offline within about six seconds.
const LOCAL_PROBE_INTERVAL_S: &str = "2";

/// Players interval for local runs, unless `STATUS_PLAYERS_INTERVAL` says otherwise.
const LOCAL_PLAYERS_INTERVAL_S: &str = "5";

/// How long to wait for the first `200` from `/server/status` (the host compiles the
/// component at start, the refresher does its first read).
const READY_TIMEOUT: Duration = Duration::from_secs(120);

#[derive(Debug, clap::Args)]
pub struct UpArgs {
    /// Address the reader listens on.
    #[arg(long, default_value = "127.0.0.1:3000")]
    listen: SocketAddr,
    /// Do not create the demo database/table, even when absent.
    #[arg(long)]
    no_demo: bool,
    /// Start throwaway MariaDB/Redis under target/ even when local ones are running
    /// (DATABASE_URL/REDIS_URL, when set, still win).
    #[arg(long)]
    throwaway: bool,
    /// Serve with the project's wasmtime host even when the `spin` CLI is on PATH.
    #[arg(long)]
    no_spin: bool,
    /// Where the game server's stand-in listens (the refresher's GAME_SERVER_ADDR);
    /// `cargo xtask game-server stop|start` closes and reopens it.
    #[arg(long, default_value = game_server::DEFAULT_ADDR)]
    game_server: SocketAddr,
}

#[derive(Debug, clap::Args)]
pub struct ServicesArgs {
    /// Start throwaway MariaDB/Redis under target/ even when local ones are running.
    #[arg(long)]
    throwaway: bool,
    /// Do not create the demo database/table, even when absent.
    #[arg(long)]
    no_demo: bool,
}

/// `cargo xtask services`: steps 2 and 3 of `up`, then wait for Ctrl-C.
pub fn services_only(args: ServicesArgs) -> Result<ExitCode> {
    let shutdown = Shutdown::install()?;
    let ws = Workspace::locate();
    let (mut services, database) = services_and_data(&ws, args.throwaway, args.no_demo, &shutdown)?;
    println!();
    println!(
        "  export DATABASE_URL='{}'",
        services.mysql.url.with_path(&database)
    );
    println!("  export REDIS_URL='{}'", services.redis.url);
    println!(
        "  export SERVER_STATUS_TEST_MYSQL='{}'",
        services.mysql.url.with_path("")
    );
    println!("  export SERVER_STATUS_TEST_REDIS='{}'", services.redis.url);
    println!();
    println!(
        "  (passwords shown as ***). Ctrl-C stops the throwaway services and removes their data."
    );
    let result = supervise(&mut [], &mut services, &shutdown);
    services.stop();
    result?;
    Ok(ExitCode::SUCCESS)
}

/// Steps 2 and 3 of `up` (shared with `services`): MariaDB and Redis from DATABASE_URL /
/// REDIS_URL, the local ones or throwaway ones, reported; then the database to serve.
fn services_and_data(
    ws: &Workspace,
    throwaway: bool,
    no_demo: bool,
    shutdown: &Shutdown,
) -> Result<(Services, String)> {
    let services = Services::ensure(
        ws,
        Wanted::from_env("DATABASE_URL", "REDIS_URL", throwaway)?,
        shutdown,
    )?;
    services.report();
    let database = prepare_database(&services, no_demo)?;
    Ok((services, database))
}

/// The database to serve (from the MySQL URL's path, else the demo one), seeded from the
/// fixtures when it has no `constants` (or `characters`) table — unless `no_demo`.
fn prepare_database(services: &Services, no_demo: bool) -> Result<String> {
    let database = services
        .mysql
        .url
        .path()
        .unwrap_or(DEMO_DATABASE)
        .to_owned();
    if no_demo {
        println!("xtask: --no-demo: serving {database}.constants as it is");
        return Ok(database);
    }
    let demo = demo::ensure(&services.mysql.url, &database)
        .with_context(|| format!("preparing the demo database {database}"))?;
    let tables = [
        ("constants", Some(demo.constants)),
        ("characters", demo.characters),
    ];
    for (table, seeded) in tables {
        match seeded {
            Some(Seeded::Created { rows }) => {
                println!("xtask: created {database}.{table} with {rows} demo rows")
            }
            Some(Seeded::Existing { rows }) => {
                println!("xtask: {database}.{table} exists ({rows} rows); left as it is")
            }
            None => {}
        }
    }
    Ok(database)
}

/// Which program serves the reader component.
enum Server {
    Spin(std::path::PathBuf),
    Host(std::path::PathBuf),
}

pub fn run(args: UpArgs) -> Result<ExitCode> {
    let shutdown = Shutdown::install()?;
    let ws = Workspace::locate();
    check_listen_free(args.listen)?;
    // The stand-in holds its port from now on, so a clash is reported before any build.
    let stand_in = StandIn::start(args.game_server, Control::of(&ws))?;

    // 1. Build: the shipped component, the refresher, and our host unless Spin serves.
    build::ensure_wasm_target(&shutdown)?;
    let wasm = build::reader_wasm(&ws, &shutdown)?;
    let spin = if args.no_spin { None } else { on_path("spin") };
    let (refresher_bin, server) = match spin {
        Some(spin) => {
            let bins = build::native(&ws, &["status-refresher"], &shutdown)?;
            (bins[0].clone(), Server::Spin(spin))
        }
        None => {
            let bins = build::native(&ws, &["status-refresher", "reader-host"], &shutdown)?;
            (bins[0].clone(), Server::Host(bins[1].clone()))
        }
    };
    // spin.toml's copy whose component source is the `.wasm` just built, wherever the
    // target directory is (CARGO_TARGET_DIR): both servers run on it.
    let manifest = spin_manifest::write(&ws, &wasm)?;

    // 2. Services (dropping `services` stops throwaway ones and removes their data), and
    // 3. demo data, only where there is none.
    let (mut services, database) = services_and_data(&ws, args.throwaway, args.no_demo, &shutdown)?;
    if shutdown.requested() {
        return Ok(ExitCode::SUCCESS);
    }

    // 4. The refresher.
    let database_url = services.mysql.url.with_path(&database);
    let interval = env::var("STATUS_UPDATE_INTERVAL").unwrap_or_else(|_| LOCAL_INTERVAL_S.into());
    let live = LiveSettings::from_env(stand_in.addr(), args.no_demo);
    let mut refresher_cmd = Command::new(&refresher_bin);
    refresher_cmd
        .current_dir(ws.root())
        .env("DATABASE_URL", database_url.expose())
        .env("REDIS_URL", services.redis.url.expose())
        .env("STATUS_UPDATE_INTERVAL", &interval)
        .envs(live.vars());
    let mut refresher = child::spawn("refresher", &mut refresher_cmd, Output::Prefixed)?;

    // 5. The reader, on the address we checked is free.
    check_listen_free(args.listen)?;
    let mut reader_cmd = match &server {
        Server::Spin(spin) => {
            let mut cmd = Command::new(spin);
            cmd.arg("up").arg("--from").arg(&manifest);
            cmd.arg("--listen").arg(args.listen.to_string());
            cmd
        }
        Server::Host(host) => {
            let mut cmd = Command::new(host);
            cmd.arg("--manifest").arg(&manifest);
            cmd.arg("--listen").arg(args.listen.to_string());
            cmd
        }
    };
    // Variables go through the environment, the Spin way, which also keeps a Redis password
    // out of `ps`.
    reader_cmd
        .current_dir(ws.root())
        .envs(reader_redis_variables(&services.redis.url));
    if let Ok(key) = env::var("STATUS_KEY") {
        reader_cmd.env("SPIN_VARIABLE_STATUS_KEY", key);
    }
    let reader_name = match server {
        Server::Spin(_) => "spin",
        Server::Host(_) => "reader-host",
    };
    let mut reader = child::spawn(reader_name, &mut reader_cmd, Output::Prefixed)?;

    // 6. Ready when the whole chain answers.
    let outcome = wait_for_document(
        args.listen,
        &mut [&mut refresher, &mut reader],
        &mut services,
        &shutdown,
    );
    let result = match outcome {
        Ok(Some(body)) => {
            print_banner(args.listen, &interval, &body, &services, &database);
            print_live_banner(args.listen, &live);
            supervise(&mut [&mut reader, &mut refresher], &mut services, &shutdown)
        }
        Ok(None) => supervise(&mut [&mut reader, &mut refresher], &mut services, &shutdown),
        Err(err) => Err(err),
    };

    // 7. Stop in order: reader, refresher, then (on drop) throwaway services.
    println!("xtask: stopping");
    reader.stop(STOP_GRACE);
    refresher.stop(STOP_GRACE);
    println!(
        "xtask: the game server stand-in answered {} probes",
        stand_in.accepted()
    );
    drop(stand_in);
    services.stop();
    result?;
    println!("xtask: everything `up` started has stopped");
    Ok(ExitCode::SUCCESS)
}

/// What `up` gives the refresher besides the database and Redis: the stand-in to probe and
/// the players query (the demo's, unless `--no-demo`). A setting in the environment wins,
/// as `STATUS_UPDATE_INTERVAL` does.
#[derive(Debug, Clone, PartialEq)]
struct LiveSettings {
    game_server: String,
    probe_interval: String,
    probe_failures: String,
    /// `None`: no players query (`--no-demo` and none in the environment).
    players_query: Option<String>,
    players_interval: String,
    max_players_constant: Option<String>,
}

impl LiveSettings {
    fn from_env(stand_in: SocketAddr, no_demo: bool) -> LiveSettings {
        LiveSettings::from(
            |var| env::var(var).ok().filter(|v| !v.is_empty()),
            stand_in,
            no_demo,
        )
    }

    fn from(
        var: impl Fn(&str) -> Option<String>,
        stand_in: SocketAddr,
        no_demo: bool,
    ) -> LiveSettings {
        let demo = |value: &str| (!no_demo).then(|| value.to_owned());
        LiveSettings {
            game_server: var("GAME_SERVER_ADDR").unwrap_or_else(|| stand_in.to_string()),
            probe_interval: var("STATUS_PROBE_INTERVAL")
                .unwrap_or_else(|| LOCAL_PROBE_INTERVAL_S.into()),
            probe_failures: var("STATUS_PROBE_FAILURES").unwrap_or_else(|| "2".into()),
            players_query: var("STATUS_PLAYERS_QUERY").or_else(|| demo(PLAYERS_QUERY)),
            players_interval: var("STATUS_PLAYERS_INTERVAL")
                .unwrap_or_else(|| LOCAL_PLAYERS_INTERVAL_S.into()),
            max_players_constant: var("STATUS_MAX_PLAYERS_CONSTANT")
                .or_else(|| demo(MAX_PLAYERS_CONSTANT)),
        }
    }

    fn vars(&self) -> Vec<(&'static str, String)> {
        let mut vars = vec![
            ("GAME_SERVER_ADDR", self.game_server.clone()),
            ("STATUS_PROBE_INTERVAL", self.probe_interval.clone()),
            ("STATUS_PROBE_FAILURES", self.probe_failures.clone()),
        ];
        if let Some(query) = &self.players_query {
            vars.push(("STATUS_PLAYERS_QUERY", query.clone()));
            vars.push(("STATUS_PLAYERS_INTERVAL", self.players_interval.clone()));
        }
        if let Some(constant) = &self.max_players_constant {
            vars.push(("STATUS_MAX_PLAYERS_CONSTANT", constant.clone()));
        }
        vars
    }

    /// Seconds from "the game server stops" to "offline" at most: the probe's interval
    /// times (failures + 1), the reader's own deadline for the word.
    fn offline_within_s(&self) -> Option<u64> {
        let interval: u64 = self.probe_interval.trim().parse().ok()?;
        let failures: u64 = self.probe_failures.trim().parse().ok()?;
        Some(interval * (failures + 1))
    }
}

fn print_live_banner(addr: SocketAddr, live: &LiveSettings) {
    let within = live
        .offline_within_s()
        .map_or_else(|| "a few".to_owned(), |s| s.to_string());
    println!(
        "  The game server's stand-in listens on {}; the refresher probes it every {}s.",
        live.game_server, live.probe_interval
    );
    println!("    stop it:   cargo xtask game-server stop");
    println!(
        "               within {within}s: \"state\":\"offline\",\"state_reason\":\"unreachable\""
    );
    println!("    start it:  cargo xtask game-server start");
    println!("    watch:     watch -n1 curl -s http://{addr}/server/status/simple");
    if let Some(query) = &live.players_query {
        println!();
        println!(
            "  Players: {query}, every {}s{}.",
            live.players_interval,
            live.max_players_constant
                .as_deref()
                .map_or_else(String::new, |c| format!(" (max_players from {c})"))
        );
        println!("    try:     UPDATE characters SET online = 1;");
    }
    println!();
}

/// Fails early, before any build, when the reader's address is taken.
fn check_listen_free(addr: SocketAddr) -> Result<()> {
    match TcpListener::bind(addr) {
        Ok(listener) => {
            drop(listener);
            Ok(())
        }
        Err(err) if err.kind() == std::io::ErrorKind::AddrInUse => bail!(
            "{addr} is already in use (another `cargo xtask up`, or another server?).\n\
             See what holds it: ss -ltnp 'sport = :{port}'\n\
             Or serve elsewhere: cargo xtask up --listen 127.0.0.1:{next}",
            port = addr.port(),
            next = addr.port().wrapping_add(1).max(1024),
        ),
        Err(err) => Err(err).with_context(|| format!("cannot listen on {addr}")),
    }
}

/// The reader's Redis settings as Spin variables: `redis_address` is only
/// `redis://host[:port]` (it doubles as the allow-list entry, which takes neither
/// credentials nor a path), credentials go in `redis_user`/`redis_password`. The reader always
/// uses database 0.
pub(crate) fn reader_redis_variables(url: &ServiceUrl) -> Vec<(&'static str, String)> {
    if let Some(db) = url.path().filter(|db| *db != "0") {
        eprintln!(
            "xtask: warning: the reader always uses Redis database 0, but REDIS_URL selects \
             database {db}; the refresher writes there, so the reader will not find the document"
        );
    }
    let mut vars = vec![("SPIN_VARIABLE_REDIS_ADDRESS", url.origin().expose())];
    if let Some(user) = url.user() {
        vars.push(("SPIN_VARIABLE_REDIS_USER", user));
    }
    if let Some(password) = url.password() {
        vars.push(("SPIN_VARIABLE_REDIS_PASSWORD", password));
    }
    vars
}

/// Polls `GET /server/status` until it answers 200. Returns `None` when it is still not ready
/// after [`READY_TIMEOUT`] (the stack keeps running; the logs above say why).
fn wait_for_document(
    addr: SocketAddr,
    children: &mut [&mut Managed],
    services: &mut Services,
    shutdown: &Shutdown,
) -> Result<Option<String>> {
    let started = Instant::now();
    loop {
        if shutdown.requested() {
            return Ok(None);
        }
        check_children(children, services)?;
        let last = match http::get(addr, "/server/status", Duration::from_secs(2)) {
            Ok(resp) if resp.status == 200 => return Ok(Some(resp.text())),
            Ok(resp) => format!("HTTP {}: {}", resp.status, first_line(&resp.text())),
            Err(err) => format!("{err}"),
        };
        if started.elapsed() > READY_TIMEOUT {
            eprintln!(
                "xtask: warning: http://{addr}/server/status did not answer 200 within {}s \
                 (last: {last}). The stack keeps running; see the logs above.",
                READY_TIMEOUT.as_secs()
            );
            return Ok(None);
        }
        thread::sleep(Duration::from_millis(250));
    }
}

/// Runs until Ctrl-C/SIGTERM (Ok) or until any child dies (Err).
fn supervise(
    children: &mut [&mut Managed],
    services: &mut Services,
    shutdown: &Shutdown,
) -> Result<()> {
    while !shutdown.requested() {
        check_children(children, services)?;
        thread::sleep(POLL);
    }
    Ok(())
}

fn check_children(children: &mut [&mut Managed], services: &mut Services) -> Result<()> {
    for child in children.iter_mut() {
        if let Some(status) = child.exited() {
            bail!(
                "{} exited unexpectedly ({})",
                child.name(),
                describe_status(status)
            );
        }
    }
    if let Some(what) = services.exited() {
        bail!("throwaway {what} unexpectedly");
    }
    Ok(())
}

fn print_banner(addr: SocketAddr, interval: &str, body: &str, services: &Services, database: &str) {
    let summary = [
        "state",
        "server_status",
        "exp",
        "players",
        "max_players",
        "updated_at",
    ]
    .iter()
    .filter_map(|key| json_scalar(body, key).map(|v| format!("{key}={v}")))
    .collect::<Vec<_>>()
    .join(" ");
    println!();
    println!("  server-status is up ({summary})");
    println!();
    println!("    status   http://{addr}/server/status");
    println!("    debug    http://{addr}/server/status/debug");
    println!("    health   http://{addr}/health");
    println!();
    println!("    try:     curl -s http://{addr}/server/status");
    println!();
    println!(
        "  The refresher re-reads {database}.constants on {} every {interval}s; \
         change a row and watch it arrive.",
        services.mysql.url.with_path("")
    );
    println!("  Ctrl-C stops everything `up` started.");
    println!();
}

/// The text of a top-level-ish JSON scalar `"key":value` (for the banner only, no parsing
/// guarantees needed).
fn json_scalar<'a>(body: &'a str, key: &str) -> Option<&'a str> {
    let needle = format!("\"{key}\":");
    let start = body.find(&needle)? + needle.len();
    let rest = &body[start..];
    let end = rest.find([',', '}']).unwrap_or(rest.len());
    Some(rest[..end].trim())
}

fn first_line(body: &str) -> &str {
    let line = body.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    match line.char_indices().nth(160) {
        Some((i, _)) => &line[..i],
        None => line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reader_variables_split_credentials_from_the_address() {
        let url = ServiceUrl::parse("redis://status-reader:s%3Acret@127.0.0.1:6379/0").unwrap();
        assert_eq!(
            reader_redis_variables(&url),
            vec![
                (
                    "SPIN_VARIABLE_REDIS_ADDRESS",
                    "redis://127.0.0.1:6379".to_owned()
                ),
                ("SPIN_VARIABLE_REDIS_USER", "status-reader".to_owned()),
                ("SPIN_VARIABLE_REDIS_PASSWORD", "s:cret".to_owned()),
            ]
        );
        let plain = ServiceUrl::parse("redis://127.0.0.1:6390").unwrap();
        assert_eq!(
            reader_redis_variables(&plain),
            vec![(
                "SPIN_VARIABLE_REDIS_ADDRESS",
                "redis://127.0.0.1:6390".to_owned()
            )]
        );
    }

    #[test]
    fn live_settings_point_at_the_stand_in_and_the_environment_wins() {
        let stand_in: SocketAddr = "127.0.0.1:7777".parse().unwrap();
        let none = |_: &str| None;
        let demo = LiveSettings::from(none, stand_in, false);
        let vars = demo.vars();
        let get = |name: &str| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("GAME_SERVER_ADDR"), Some("127.0.0.1:7777"));
        assert_eq!(get("STATUS_PROBE_INTERVAL"), Some("2"));
        assert_eq!(
            get("STATUS_PLAYERS_QUERY"),
            Some("SELECT COUNT(*) FROM characters WHERE online = 1")
        );
        assert_eq!(get("STATUS_MAX_PLAYERS_CONSTANT"), Some("MaxOnline"));
        assert_eq!(demo.offline_within_s(), Some(6));

        // --no-demo: the stand-in is still probed, but there is no demo table to count.
        let bare = LiveSettings::from(none, stand_in, true).vars();
        assert!(bare.iter().all(|(n, _)| !n.starts_with("STATUS_PLAYERS")));
        assert!(
            bare.iter()
                .all(|(n, _)| *n != "STATUS_MAX_PLAYERS_CONSTANT")
        );

        let env = |var: &str| match var {
            "STATUS_PROBE_INTERVAL" => Some("10".to_owned()),
            "STATUS_PLAYERS_QUERY" => Some("SELECT 150".to_owned()),
            _ => None,
        };
        let mine = LiveSettings::from(env, stand_in, true);
        assert_eq!(mine.players_query.as_deref(), Some("SELECT 150"));
        assert_eq!(mine.offline_within_s(), Some(30));
    }

    #[test]
    fn banner_scalars() {
        let body = r#"{"schema_version":1,"server_status":1.0,"rates":{"exp":2.5,"pvp":1.5}}"#;
        assert_eq!(json_scalar(body, "server_status"), Some("1.0"));
        assert_eq!(json_scalar(body, "exp"), Some("2.5"));
        assert_eq!(json_scalar(body, "missing"), None);
    }

    #[test]
    fn a_taken_port_is_reported_with_a_way_out() {
        let taken = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = taken.local_addr().unwrap();
        let err = check_listen_free(addr).unwrap_err().to_string();
        assert!(err.contains("already in use"), "{err}");
        assert!(err.contains("--listen"), "{err}");
        drop(taken);
        check_listen_free(addr).unwrap();
    }
}
