//! `reader-host`: serve a Spin HTTP component (the status reader) with wasmtime.
//!
//! ```text
//! reader-host --manifest spin.toml --listen 127.0.0.1:3000 \
//!     [--wasm PATH] [--variable name=value]... [--runtime-config-file FILE] \
//!     [--redis-timeout-ms 1000] [--redis-ca-cert FILE] [--stats N] \
//!     [--max-instance-reuse-count 128] [--max-instance-concurrent-reuse-count 16]
//! ```
//!
//! Variables also come from `SPIN_VARIABLE_<NAME>`, as with `spin up`. Ctrl-C (or SIGTERM)
//! stops accepting and lets in-flight requests finish.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use reader_host::{Host, HostOptions};
use tracing_subscriber::EnvFilter;

#[derive(Debug, Parser)]
#[command(name = "reader-host", version, about)]
struct Cli {
    /// The Spin manifest (spin.toml).
    #[arg(long, default_value = "spin.toml")]
    manifest: PathBuf,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:3000")]
    listen: SocketAddr,
    /// Serve this .wasm instead of the component's `source`.
    #[arg(long)]
    wasm: Option<PathBuf>,
    /// The component to serve, if the manifest has several.
    #[arg(long)]
    component: Option<String>,
    /// Set an application variable: name=value (repeatable; beats SPIN_VARIABLE_*).
    #[arg(long = "variable", value_name = "NAME=VALUE")]
    variables: Vec<String>,
    /// A Spin runtime-config file: `[key_value_store.<label>] type = "redis", url = ...`.
    #[arg(long, value_name = "FILE")]
    runtime_config_file: Option<PathBuf>,
    /// Timeout of each outbound Redis connect and command, and of a key-value store's
    /// connects, in milliseconds (a key-value command has none, as under Spin).
    #[arg(long, default_value_t = 1000)]
    redis_timeout_ms: u64,
    /// PEM CA bundle to trust for rediss:// (default: the system store, or SSL_CERT_FILE).
    #[arg(long, value_name = "FILE")]
    redis_ca_cert: Option<PathBuf>,
    /// Cap on one request's linear memory, in MiB.
    #[arg(long, default_value_t = 64)]
    max_memory_mib: usize,
    /// Requests running in the component at once (also the instance pool size).
    #[arg(long, default_value_t = 256)]
    max_concurrent_requests: u32,
    /// Wall-clock bound on one request in the component, in milliseconds.
    #[arg(long, default_value_t = 10_000)]
    request_timeout_ms: u64,
    /// A WASIp3 component's instance serves this many requests in all, as with Spin 4's flag
    /// of the same name (1: a fresh instance per request). A WASIp2 one always gets a fresh
    /// instance per request, as under Spin.
    #[arg(long, default_value_t = 128)]
    max_instance_reuse_count: usize,
    /// A WASIp3 component's instance serves this many requests at once (Spin 4's flag).
    #[arg(long, default_value_t = 16)]
    max_instance_concurrent_reuse_count: usize,
    /// How long a WASIp3 instance without requests is kept for the next one, in ms.
    #[arg(long, default_value_t = 1000)]
    idle_instance_timeout_ms: u64,
    /// Allocate instances on demand instead of from a pre-reserved pool.
    #[arg(long)]
    no_pooling: bool,
    /// Cache compiled code in this directory (faster restarts).
    #[arg(long, value_name = "DIR")]
    cache_dir: Option<PathBuf>,
    /// Print the component's imports and exit.
    #[arg(long)]
    print_imports: bool,
    /// Print statistics (one JSON line) every N seconds and at exit; 0 = only at exit.
    /// Besides timings it counts what requests asked the host for — variable lookups,
    /// Redis opens, commands and reads — in total and the most any one request made.
    #[arg(long, value_name = "SECONDS")]
    stats: Option<u64>,
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            ExitCode::from(2)
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let variables = cli
        .variables
        .iter()
        .map(|v| reader_host::variables::Overrides::parse_flag(v))
        .collect::<Result<Vec<_>, _>>()?;
    let mut options = HostOptions {
        wasm: cli.wasm,
        component: cli.component,
        variables,
        runtime_config: cli.runtime_config_file,
        redis_timeout: Duration::from_millis(cli.redis_timeout_ms),
        redis_ca_cert: cli.redis_ca_cert,
        ..HostOptions::default()
    };
    options.runtime.pooling = !cli.no_pooling;
    options.runtime.max_memory_bytes = cli.max_memory_mib.saturating_mul(1024 * 1024);
    options.runtime.max_concurrent_requests = cli.max_concurrent_requests.max(1);
    options.runtime.request_timeout = Duration::from_millis(cli.request_timeout_ms);
    options.runtime.compile_cache_dir = cli.cache_dir;
    options.runtime.reuse = reader_host::InstanceReuse {
        max_requests: cli.max_instance_reuse_count.max(1),
        max_concurrent: cli.max_instance_concurrent_reuse_count.max(1),
        idle_timeout: Duration::from_millis(cli.idle_instance_timeout_ms),
    };

    let host = Host::from_manifest(&cli.manifest, options)?;
    if cli.print_imports {
        for import in host.imports() {
            println!("{import}");
        }
        return Ok(());
    }
    let running = host.spawn(cli.listen).await?;
    println!("reader-host listening on http://{}", running.addr());

    let stats_every = cli.stats.filter(|s| *s > 0).map(Duration::from_secs);
    let mut ticker = tokio::time::interval(stats_every.unwrap_or(Duration::from_secs(3600)));
    ticker.tick().await;
    loop {
        tokio::select! {
            () = shutdown_signal() => break,
            _ = ticker.tick(), if stats_every.is_some() => {
                println!("{}", serde_json::to_string(&running.stats())?);
            }
        }
    }
    tracing::info!("signal received, shutting down");
    let stats = running.stats();
    running.shutdown().await;
    if cli.stats.is_some() {
        println!("{}", serde_json::to_string(&stats)?);
    }
    Ok(())
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
