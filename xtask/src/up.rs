//! `cargo xtask up`: the whole stack on this machine, stopped cleanly by Ctrl-C.
//!
//! MariaDB → refresher → Redis → reader → HTTP on 127.0.0.1:3000, the same flow as production,
//! with a stand-in for the game server (`game_server.rs`) that the refresher probes and
//! `cargo xtask game-server stop|start` closes and reopens, and a demo `characters` table
//! whose online rows the refresher counts as players. With `--servers FILE` the refresher
//! publishes the servers of that file instead (`up/servers.rs`), each at `/servers/<id>`.
//! Order matters twice: at start (services and demo data before the refresher, the refresher
//! before the reader, so the first request already finds a document) and at stop (reader, then
//! refresher, then throwaway services, so nothing logs errors about a peer that vanished first).
//!
//! `up` says which of its four steps it is in before each one starts, so a first run that
//! spends minutes compiling is never a silent terminal: the modules below hold the steps'
//! parts (the data, the live settings, the servers file, the reader's variables, watching,
//! the banner).

mod banner;
mod data;
mod live;
mod reader;
mod servers;
mod watch;

use std::env;
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Command, ExitCode};

use anyhow::{Context, Result, bail};

use crate::build;
use crate::child::{self, Managed, Output, STOP_GRACE};
use crate::game_server::{self, Control, StandIn};
use crate::services::{Services, on_path};
use crate::shutdown::Shutdown;
use crate::spin_manifest;
use crate::workspace::Workspace;
pub use data::{ServicesArgs, services_only};
use live::LiveSettings;
pub(crate) use reader::reader_redis_variables;
use servers::ServersFile;

/// Refresh interval for local runs, unless `STATUS_UPDATE_INTERVAL` says otherwise: short
/// enough to watch a change arrive, long enough not to flood the log.
const LOCAL_INTERVAL_S: &str = "30";

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
    /// A servers file (the refresher's STATUS_SERVERS_FILE, see docs/servers.md): one
    /// document per server at /servers/<id>; try deploy/servers.example.toml.
    #[arg(long, value_name = "FILE")]
    servers: Option<PathBuf>,
}

/// Which program serves the reader component.
enum Server {
    Spin(PathBuf),
    Host(PathBuf),
}

impl Server {
    /// The name its log lines are prefixed with.
    fn name(&self) -> &'static str {
        match self {
            Server::Spin(_) => "spin",
            Server::Host(_) => "reader-host",
        }
    }
}

/// What step 1 built: the binaries `up` runs, and the spin.toml both servers run on.
struct Built {
    refresher: PathBuf,
    server: Server,
    manifest: PathBuf,
}

/// Prints the step `up` is starting, so a long build or a slow service is never silent.
fn step(n: u8, what: &str) {
    println!("xtask: up: [{n}/4] {what}");
}

pub fn run(args: UpArgs) -> Result<ExitCode> {
    let shutdown = Shutdown::install()?;
    let ws = Workspace::locate();
    check_listen_free(args.listen)?;
    let servers = servers::before_build(args.servers.as_deref())?;
    // The stand-in holds its port from now on, so a clash is reported before any build.
    let stand_in = StandIn::start(args.game_server, Control::of(&ws))?;

    let built = build_all(&ws, args.no_spin, &shutdown)?;

    // Dropping `services` stops throwaway ones and removes their data.
    step(2, "MariaDB, Redis and the demo data");
    let (mut services, database) =
        data::services_and_data(&ws, args.throwaway, args.no_demo, &shutdown)?;
    if shutdown.requested() {
        return Ok(ExitCode::SUCCESS);
    }

    // The refresher first, so the reader's first request finds a document; the reader on
    // the address checked free before the build.
    step(
        3,
        &format!("starting the refresher and {}", built.server.name()),
    );
    let interval = env::var("STATUS_UPDATE_INTERVAL").unwrap_or_else(|_| LOCAL_INTERVAL_S.into());
    let live = LiveSettings::from_env(stand_in.addr(), args.no_demo);
    let refresher_env = RefresherEnv {
        database: &database,
        interval: &interval,
        live: &live,
        servers: servers.as_ref(),
    };
    let mut refresher = start_refresher(&ws, &built, &services, &refresher_env)?;
    check_listen_free(args.listen)?;
    let mut reader = start_reader(&ws, &built, args.listen, &services)?;

    let page = servers::first_page(servers.as_ref());
    step(4, &format!("waiting for http://{}{page}", args.listen));
    let outcome = watch::wait_for_document(
        args.listen,
        &page,
        &mut [&mut refresher, &mut reader],
        &mut services,
        &shutdown,
    );
    let result = match outcome {
        Ok(Some(body)) => {
            banner::print_banner(
                args.listen,
                &interval,
                &body,
                &services,
                &database,
                servers.as_ref(),
            );
            live::print_live_banner(args.listen, &live, stand_in.addr(), servers.as_ref());
            watch::supervise(&mut [&mut reader, &mut refresher], &mut services, &shutdown)
        }
        Ok(None) => watch::supervise(&mut [&mut reader, &mut refresher], &mut services, &shutdown),
        Err(err) => Err(err),
    };

    // Stop in order: reader, refresher, then throwaway services.
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

/// Step 1: the shipped component, the refresher, and our host unless Spin serves.
fn build_all(ws: &Workspace, no_spin: bool, shutdown: &Shutdown) -> Result<Built> {
    let spin = if no_spin { None } else { on_path("spin") };
    let what = match spin {
        Some(_) => "the reader (.wasm, served by spin) and the refresher",
        None => "the reader (.wasm), the refresher and reader-host (the reader's server)",
    };
    step(
        1,
        &format!("building {what}; a first build takes several minutes"),
    );
    build::ensure_wasm_target(shutdown)?;
    let wasm = build::reader_wasm(ws, shutdown)?;
    let (refresher, server) = match spin {
        Some(spin) => {
            let bins = build::native(ws, &["status-refresher"], shutdown)?;
            (bins[0].clone(), Server::Spin(spin))
        }
        None => {
            let bins = build::native(ws, &["status-refresher", "reader-host"], shutdown)?;
            (bins[0].clone(), Server::Host(bins[1].clone()))
        }
    };
    // spin.toml's copy whose component source is the `.wasm` just built, wherever the
    // target directory is (CARGO_TARGET_DIR): both servers run on it.
    let manifest = spin_manifest::write(ws, &wasm)?;
    Ok(Built {
        refresher,
        server,
        manifest,
    })
}

/// What the refresher is given besides the services.
struct RefresherEnv<'a> {
    database: &'a str,
    interval: &'a str,
    live: &'a LiveSettings,
    servers: Option<&'a ServersFile>,
}

/// The refresher on the database to serve, with the live settings (and the servers file,
/// when given), its log prefixed.
fn start_refresher(
    ws: &Workspace,
    built: &Built,
    services: &Services,
    env: &RefresherEnv,
) -> Result<Managed> {
    let database_url = services.mysql.url.with_path(env.database);
    let mut cmd = Command::new(&built.refresher);
    cmd.current_dir(ws.root())
        .env("DATABASE_URL", database_url.expose())
        .env("REDIS_URL", services.redis.url.expose())
        .env("STATUS_UPDATE_INTERVAL", env.interval)
        .envs(env.live.vars(env.servers.is_some()));
    if let Some(file) = env.servers {
        cmd.env("STATUS_SERVERS_FILE", &file.path);
    }
    child::spawn("refresher", &mut cmd, Output::Prefixed)
}

/// The reader, served by Spin or our host on `listen`, its log prefixed.
fn start_reader(
    ws: &Workspace,
    built: &Built,
    listen: SocketAddr,
    services: &Services,
) -> Result<Managed> {
    let mut cmd = match &built.server {
        Server::Spin(spin) => {
            let mut cmd = Command::new(spin);
            cmd.arg("up").arg("--from").arg(&built.manifest);
            cmd
        }
        Server::Host(host) => {
            let mut cmd = Command::new(host);
            cmd.arg("--manifest").arg(&built.manifest);
            cmd
        }
    };
    cmd.arg("--listen").arg(listen.to_string());
    // Variables go through the environment, the Spin way, which also keeps a Redis password
    // out of `ps`.
    cmd.current_dir(ws.root())
        .envs(reader_redis_variables(&services.redis.url));
    if let Ok(key) = env::var("STATUS_KEY") {
        cmd.env("SPIN_VARIABLE_STATUS_KEY", key);
    }
    child::spawn(built.server.name(), &mut cmd, Output::Prefixed)
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

#[cfg(test)]
mod tests {
    use super::*;

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
