//! The servers under test and how to start each one on its own loopback port.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::bail;

use crate::context::Context;
use crate::load::which;
use crate::process::{self, Server, free_port};
use dev_support::nginx::{self, Rendered};

/// The path every target is measured on (but `reader-history`).
pub const PATH: &str = "/server/status";
/// The history endpoint, measured beside [`PATH`] on the same reader.
pub const HISTORY_PATH: &str = "/server/status/history";
/// The servers index, measured beside [`PATH`] on the same reader.
pub const SERVERS_PATH: &str = "/servers";
/// The status page, measured beside [`PATH`] on the same reader.
pub const PAGE_PATH: &str = "/status";

const START_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    DirectFresh,
    DirectPooled,
    Reader,
    /// The reader's WASIp3 build (deploy/spin/spin4.toml) on the outbound API, its instances
    /// reused as Spin 4 reuses them (128 requests, 16 at a time), so one Redis connection
    /// kept in an instance serves many requests: beside the WASIp2 rows.
    ReaderP3,
    /// The same reader serving `/server/status/history` from a full-size
    /// history: its req/s as a share of `/server/status`'s, same run.
    ReaderHistory,
    /// The same reader serving `/servers` from an index of [`INDEX_SERVERS`](crate::seed::INDEX_SERVERS) servers: its
    /// req/s as a share of `/server/status`'s, same run.
    ReaderServers,
    /// The same reader rendering `/status` from a page of [`PAGE_SERVERS`](crate::seed::PAGE_SERVERS) servers with 30
    /// days of history each: its req/s as a share of `/server/status`'s (goal ≥ 0.5×).
    ReaderPage,
    /// The reader of an older checkout (`--reader-before DIR`), same host, same load: the
    /// "p99 no worse than before" comparison.
    ReaderBefore,
    Control,
    ReaderKv,
    ControlKv,
    Spin,
    NginxCache,
    Static,
}

impl Kind {
    pub const ALL: [Kind; 14] = [
        Kind::DirectFresh,
        Kind::DirectPooled,
        Kind::Reader,
        Kind::ReaderP3,
        Kind::ReaderHistory,
        Kind::ReaderServers,
        Kind::ReaderPage,
        Kind::ReaderBefore,
        Kind::Control,
        Kind::ReaderKv,
        Kind::ControlKv,
        Kind::Spin,
        Kind::NginxCache,
        Kind::Static,
    ];

    /// Name on the command line (`--targets reader,control`).
    pub fn key(self) -> &'static str {
        match self {
            Kind::DirectFresh => "db-fresh",
            Kind::DirectPooled => "db-pooled",
            Kind::Reader => "reader",
            Kind::ReaderP3 => "reader-p3",
            Kind::ReaderHistory => "reader-history",
            Kind::ReaderServers => "reader-servers",
            Kind::ReaderPage => "reader-page",
            Kind::ReaderBefore => "reader-before",
            Kind::Control => "control",
            Kind::ReaderKv => "reader-kv",
            Kind::ControlKv => "control-kv",
            Kind::Spin => "spin",
            Kind::NginxCache => "nginx-cache",
            Kind::Static => "static",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Kind::DirectFresh => "direct-DB, fresh conn (today's site)",
            Kind::DirectPooled => "direct-DB, pooled conn",
            Kind::Reader => "reader in reader-host, outbound Redis",
            Kind::ReaderP3 => {
                "reader's WASIp3 build in reader-host, outbound Redis, kept connection"
            }
            Kind::ReaderHistory => "reader's /server/status/history, outbound Redis",
            Kind::ReaderServers => "reader's /servers (1,000 servers), outbound Redis",
            Kind::ReaderPage => "reader's /status page (5 servers), outbound Redis",
            Kind::ReaderBefore => "reader of the --reader-before checkout, outbound Redis",
            Kind::Control => "control component in reader-host, outbound Redis",
            Kind::ReaderKv => "reader in reader-host, key-value API",
            Kind::ControlKv => "control component in reader-host, key-value API",
            Kind::Spin => "reader under `spin up`",
            Kind::NginxCache => "reader behind nginx front cache",
            Kind::Static => "static ceiling",
        }
    }

    pub fn from_key(key: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.key() == key)
    }
}

/// A started target: its processes, the URL to load, and what served it.
pub struct Running {
    pub url: String,
    /// Label detail, e.g. which static server was used.
    pub detail: String,
    pub servers: Vec<Server>,
    /// Set for the front cache: counts requests that reached the reader.
    pub nginx: Option<Rendered>,
}

impl Running {
    pub fn pids(&self) -> Vec<u32> {
        self.servers.iter().map(Server::pid).collect()
    }
}

/// The last statistics line `reader-host --stats 0` printed into `log` at exit.
pub fn host_stats(log: &Path) -> Option<serde_json::Value> {
    let text = std::fs::read_to_string(log).ok()?;
    text.lines()
        .rev()
        .filter(|l| l.starts_with('{'))
        .find_map(|l| serde_json::from_str(l).ok())
}

/// Name of the reader-host log of `kind` (None: the target has no reader-host).
pub fn host_log_name(kind: Kind) -> Option<&'static str> {
    match kind {
        Kind::Reader => Some("reader"),
        Kind::ReaderP3 => Some("reader-p3"),
        Kind::ReaderHistory => Some("reader-history"),
        Kind::ReaderServers => Some("reader-servers"),
        Kind::ReaderPage => Some("reader-page"),
        Kind::ReaderBefore => Some("reader-before"),
        Kind::Control => Some("control"),
        Kind::ReaderKv => Some("reader-kv"),
        Kind::ControlKv => Some("control-kv"),
        Kind::NginxCache => Some("nginx-cache-reader"),
        _ => None,
    }
}

/// Which Spin Redis API a reader-host target reads through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Api {
    /// Spin's outbound Redis API.
    Outbound,
    /// Spin's key-value API, its store pointed at the run's Redis by a runtime config. With
    /// `via_variable` the component is also told to use it (`redis_api=key_value`, the
    /// reader); the control component has no such variable — its `/kv/` route is its
    /// key-value flavour — and reader-host refuses a `--variable` its manifest lacks.
    KeyValue { via_variable: bool },
}

/// `reader-host` serving `wasm` with `manifest` on `addr`, reading Redis through `api`, ready
/// when `path` answers 200.
///
/// It charges what Spin 4.1 charges where the numbers depend on it: on the outbound API a
/// new connection per `open` with redis-rs' full handshake (`host/src/redis.rs`: one per
/// request for the WASIp2 build; the WASIp3 build keeps its connection in the instance,
/// which reader-host reuses as Spin 4 does), on the
/// key-value API one shared connection plus Spin's `PING` on every open
/// (`host/src/key_value.rs`), and every variable lookup renders its template again. What it
/// cannot charge is the price of Spin's own host-call machinery per lookup (tracing spans,
/// the async resolver): that was measured under `spin up` only (the two-backend table).
fn reader_host(
    ctx: &Context,
    name: &str,
    manifest: &Path,
    wasm: &Path,
    addr: SocketAddr,
    api: Api,
    path: &str,
) -> anyhow::Result<Server> {
    let mut command = built("reader-host", &ctx.artifacts.reader_host, addr)?;
    if !wasm.is_file() {
        bail!("component not built ({})", wasm.display());
    }
    command
        .arg("--manifest")
        .arg(manifest)
        .arg("--wasm")
        .arg(wasm)
        .arg("--variable")
        .arg(format!("redis_address={}", ctx.redis_url))
        .arg("--variable")
        .arg(format!("status_key={}", ctx.status_key))
        // Per-request statistics (instantiation, handling, peak linear memory) as one
        // JSON line on stdout at exit; the harness reads it from the log.
        .arg("--stats")
        .arg("0")
        .env("RUST_LOG", "warn");
    if let Api::KeyValue { via_variable } = api {
        // deploy/spin/runtime-config.toml, pointed at the run's Redis.
        let config = ctx.run_dir.join("runtime-config.toml");
        std::fs::write(
            &config,
            format!(
                "[key_value_store.default]\ntype = \"redis\"\nurl = \"{}\"\n",
                ctx.redis_url
            ),
        )?;
        command.arg("--runtime-config-file").arg(&config);
        if via_variable {
            command.arg("--variable").arg("redis_api=key_value");
        }
    }
    serve(ctx, name, command, addr, path)
}

/// Spawns `command` as `name` (its log in the run directory) and waits until it answers
/// `path` with a 200.
fn serve(
    ctx: &Context,
    name: &str,
    command: Command,
    addr: SocketAddr,
    path: &str,
) -> anyhow::Result<Server> {
    let mut server = process::spawn(name, command, &ctx.log(name))?;
    server.wait_http(addr, path, Some(200), START_TIMEOUT)?;
    Ok(server)
}

/// `bin --listen addr`, or "not measured" because `what` is not built.
fn built(what: &str, bin: &Path, addr: SocketAddr) -> anyhow::Result<Command> {
    if !bin.is_file() {
        bail!("{what} not built ({})", bin.display());
    }
    let mut command = Command::new(bin);
    command.arg("--listen").arg(addr.to_string());
    Ok(command)
}

/// The control component's key-value flavour answers under `/kv/` (bench/control/src/lib.rs).
pub const CONTROL_KV_PATH: &str = "/kv/server/status";

/// Starts `kind`; an error means "not measured" and says why.
///
/// Each family of targets is started by its own step below; this only picks the port
/// they all listen on and dispatches.
pub fn start(kind: Kind, ctx: &Context, static_file: &Path) -> anyhow::Result<Running> {
    let addr = free_port()?;
    match kind {
        Kind::DirectFresh | Kind::DirectPooled => start_direct_db(kind, ctx, addr),
        Kind::ReaderBefore => start_reader_before(kind, ctx, addr),
        Kind::Reader
        | Kind::ReaderP3
        | Kind::ReaderHistory
        | Kind::ReaderServers
        | Kind::ReaderPage
        | Kind::ReaderKv
        | Kind::Control
        | Kind::ControlKv => start_component(kind, ctx, addr),
        Kind::Spin => start_spin(kind, ctx, addr),
        Kind::NginxCache => start_nginx_cache(ctx, addr),
        Kind::Static => start_static(ctx, static_file, addr),
    }
}

/// A target of one server loaded on [`PATH`] at `addr`, with no front cache.
fn plain(addr: SocketAddr, server: Server, detail: &str) -> Running {
    Running {
        url: format!("http://{addr}{PATH}"),
        detail: detail.to_owned(),
        servers: vec![server],
        nginx: None,
    }
}

/// The direct-DB server (today's site), opening a fresh connection per request or, for
/// [`Kind::DirectPooled`], drawing from a pool.
fn start_direct_db(kind: Kind, ctx: &Context, addr: SocketAddr) -> anyhow::Result<Running> {
    let mut command = built("direct-db-server", &ctx.artifacts.direct_db_server, addr)?;
    command.env("DATABASE_URL", ctx.database_url());
    if kind == Kind::DirectPooled {
        command.arg("--pooled");
    }
    let server = serve(ctx, kind.key(), command, addr, PATH)?;
    Ok(plain(
        addr,
        server,
        "bench/src/bin/direct_db_server.rs, hyper 1 + mysql_async",
    ))
}

/// The reader of the `--reader-before` checkout, with that checkout's own manifest and
/// release build, so "p99 no worse than before" compares like with like.
fn start_reader_before(kind: Kind, ctx: &Context, addr: SocketAddr) -> anyhow::Result<Running> {
    let Some(before) = &ctx.reader_before else {
        bail!("no --reader-before checkout given");
    };
    let wasm = before.join("target/wasm32-wasip2/release/status_reader.wasm");
    let server = reader_host(
        ctx,
        kind.key(),
        &before.join("spin.toml"),
        &wasm,
        addr,
        Api::Outbound,
        PATH,
    )?;
    Ok(plain(
        addr,
        server,
        "release .wasm of the older checkout, its own spin.toml",
    ))
}

/// A component of this checkout (the reader or the control) in reader-host, loaded on the
/// path [`component_of`] names for `kind`.
fn start_component(kind: Kind, ctx: &Context, addr: SocketAddr) -> anyhow::Result<Running> {
    let (manifest, wasm, path, detail) = component_of(kind, ctx);
    let manifest = ctx.root.join(manifest);
    let server = reader_host(ctx, kind.key(), &manifest, wasm, addr, api_of(kind), path)?;
    Ok(Running {
        url: format!("http://{addr}{path}"),
        ..plain(addr, server, detail)
    })
}

/// The Redis API a reader-host component target reads through: outbound but for the two
/// key-value targets, of which only the reader is told so by a variable (see [`Api`]).
fn api_of(kind: Kind) -> Api {
    let outbound = [
        Kind::Reader,
        Kind::ReaderP3,
        Kind::ReaderHistory,
        Kind::ReaderServers,
        Kind::ReaderPage,
        Kind::Control,
    ];
    if outbound.contains(&kind) {
        Api::Outbound
    } else {
        Api::KeyValue {
            via_variable: kind == Kind::ReaderKv,
        }
    }
}

/// Manifest (relative to the checkout), component, measured path and label detail of a
/// reader-host component target; anything but the reader targets and `Control` is
/// `ControlKv`.
fn component_of(kind: Kind, ctx: &Context) -> (&'static str, &Path, &'static str, &'static str) {
    match kind {
        Kind::Reader | Kind::ReaderKv => (
            "spin.toml",
            &ctx.artifacts.reader_wasm,
            PATH,
            "release .wasm",
        ),
        Kind::ReaderP3 => (
            "deploy/spin/spin4.toml",
            &ctx.artifacts.reader_wasm_p3,
            PATH,
            "release WASIp3 .wasm, instances reused 128 / 16 at a time",
        ),
        Kind::ReaderHistory => (
            "spin.toml",
            &ctx.artifacts.reader_wasm,
            HISTORY_PATH,
            "release .wasm, a 30-day history with players (seed.rs)",
        ),
        Kind::ReaderServers => (
            "spin.toml",
            &ctx.artifacts.reader_wasm,
            SERVERS_PATH,
            "release .wasm, an index of 1,000 servers (seed.rs)",
        ),
        Kind::ReaderPage => (
            "spin.toml",
            &ctx.artifacts.reader_wasm,
            PAGE_PATH,
            "release .wasm, a page of 5 servers with 30 days each (seed.rs)",
        ),
        Kind::Control => (
            "bench/control/spin.toml",
            &ctx.artifacts.control_wasm,
            PATH,
            "bench/control: GET key, return bytes",
        ),
        _ => (
            "bench/control/spin.toml",
            &ctx.artifacts.control_wasm,
            CONTROL_KV_PATH,
            "bench/control /kv/: key-value GET, return bytes",
        ),
    }
}

/// The reader under the real `spin up`, when the Spin CLI is on this machine.
fn start_spin(kind: Kind, ctx: &Context, addr: SocketAddr) -> anyhow::Result<Running> {
    let Some(spin) = which("spin") else {
        bail!("`spin` is not on PATH (no Spin CLI on this machine)");
    };
    let mut command = Command::new(spin);
    command
        .arg("up")
        .arg("-f")
        .arg(ctx.root.join("spin.toml"))
        .arg("--listen")
        .arg(addr.to_string())
        .env("SPIN_VARIABLE_REDIS_ADDRESS", &ctx.redis_url)
        .env("SPIN_VARIABLE_STATUS_KEY", &ctx.status_key);
    let server = serve(ctx, kind.key(), command, addr, PATH)?;
    Ok(plain(addr, server, "spin up"))
}

/// nginx with the deployed front-cache config on `addr`, in front of a reader on a port
/// of its own; the rendered config is kept so the run can count requests that reached
/// the reader.
fn start_nginx_cache(ctx: &Context, addr: SocketAddr) -> anyhow::Result<Running> {
    let Some(nginx_bin) = nginx_binary() else {
        bail!("nginx is not installed (apt-get install nginx)");
    };
    let reader_addr = free_port()?;
    let reader = reader_host(
        ctx,
        "nginx-cache-reader",
        &ctx.root.join("spin.toml"),
        &ctx.artifacts.reader_wasm,
        reader_addr,
        Api::Outbound,
        PATH,
    )?;
    let rendered = nginx::render_cache(
        &ctx.root.join("deploy/nginx/server-status.conf"),
        &ctx.run_dir.join("nginx-cache"),
        reader_addr,
        addr,
    )?;
    let server = serve(
        ctx,
        "nginx-cache",
        rendered.command(&nginx_bin)?,
        addr,
        PATH,
    )?;
    Ok(Running {
        url: format!("http://{addr}{PATH}"),
        detail: "deploy/nginx/server-status.conf".into(),
        servers: vec![server, reader],
        nginx: Some(rendered),
    })
}

/// The static ceiling: nginx serving `static_file` if installed, else our static-server.
fn start_static(ctx: &Context, static_file: &Path, addr: SocketAddr) -> anyhow::Result<Running> {
    if let Some(nginx_bin) = nginx_binary() {
        let rendered = nginx::render_static(&ctx.run_dir.join("nginx-static"), static_file, addr)?;
        let command = rendered.command(&nginx_bin)?;
        let server = serve(ctx, "nginx-static", command, addr, PATH)?;
        return Ok(plain(addr, server, "nginx static file"));
    }
    let mut command = built("static-server", &ctx.artifacts.static_server, addr)?;
    command.arg("--file").arg(static_file);
    let server = serve(ctx, "static-server", command, addr, PATH)?;
    Ok(plain(addr, server, "static-server (nginx absent)"))
}
pub use dev_support::nginx::binary as nginx_binary;
