//! `reader-host`: a small wasmtime host that runs the status reader component the way Spin
//! runs it, for machines without the Spin CLI (tests, benchmarks, the local stack).
//!
//! It implements exactly what the reader imports: WASI p2 (from `wasmtime-wasi`),
//! `wasi:http` (from `wasmtime-wasi-http`; outgoing requests are denied) and Spin's
//! `fermyon:spin/redis@2.0.0`, `fermyon:spin/key-value@2.0.0` and
//! `fermyon:spin/variables@2.0.0` on a real Redis; for the reader's WASIp3 build (Spin 4),
//! WASI p3, `wasi:http@0.3.0` and the async `spin:redis@3.0.0`, `spin:key-value@3.0.0` and
//! `spin:variables@3.0.0` ([`p3`]). From the manifest it honours what
//! matters for behaving like Spin: variables and their `SPIN_VARIABLE_*` overrides,
//! `allowed_outbound_hosts`, `key_value_stores` and the HTTP routes; from a Spin runtime
//! config (`--runtime-config-file`), key-value stores on Redis.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use reader_host::{Host, HostOptions};
//! let host = Host::from_manifest("spin.toml".as_ref(), HostOptions::default())?;
//! let running = host.spawn("127.0.0.1:0".parse()?).await?;
//! println!("serving on http://{}", running.addr());
//! running.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! Modules: [`manifest`] (spin.toml), [`variables`] (resolution and the variables
//! interface), [`outbound`] (the allow-list), [`redis`] (the Redis interface),
//! [`key_value`] (the key-value interface on Redis), [`runtime_config`], [`routes`],
//! [`runtime`] (engine, pre-instantiation, stores: per request for WASIp2, reused for WASIp3), [`server`] (hyper),
//! [`limits`] (memory limiter and stats).

pub mod bindings;
pub mod key_value;
pub mod limits;
pub mod manifest;
pub mod outbound;
pub mod p3;
pub mod redis;
pub mod routes;
pub mod runtime;
pub mod runtime_config;
pub mod server;
pub mod variables;
pub mod view;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

pub use limits::{RequestCounters, Stats, StatsSnapshot};
pub use runtime::{InstanceReuse, RuntimeOptions};
pub use server::ServerOptions;

use crate::key_value::KeyValueStores;
use crate::manifest::AppManifest;
use crate::outbound::AllowedHosts;
use crate::redis::RedisOutbound;
use crate::runtime::{Runtime, Shared};
use crate::runtime_config::RuntimeConfig;
use crate::server::App;
use crate::variables::{Overrides, Template};

/// Everything configurable about a host. `Default` is what the binary uses without flags.
#[derive(Debug, Clone)]
pub struct HostOptions {
    /// Serve this `.wasm` instead of the component's `source`.
    pub wasm: Option<PathBuf>,
    /// The component to serve, when the manifest has several with HTTP triggers.
    pub component: Option<String>,
    /// `--variable name=value` overrides (highest precedence).
    pub variables: Vec<(String, String)>,
    /// `SPIN_VARIABLE_*` values as (upper-case name, value). `None` reads the process
    /// environment; tests pass `Some(..)` to stay independent of it.
    pub env: Option<HashMap<String, String>>,
    /// A Spin runtime-config file (`--runtime-config-file`): key-value stores on Redis.
    pub runtime_config: Option<PathBuf>,
    /// Timeout of each outbound Redis connect and command, and of a key-value store's
    /// connects (a key-value command has none, as under Spin).
    pub redis_timeout: Duration,
    /// Bound on Redis connections open at once across all requests.
    pub max_redis_connections: usize,
    /// PEM CA bundle trusted for `rediss://` instead of the system store (which honours
    /// `SSL_CERT_FILE`, as Spin's OpenSSL does).
    pub redis_ca_cert: Option<PathBuf>,
    pub runtime: RuntimeOptions,
    pub server: ServerOptions,
}

impl Default for HostOptions {
    fn default() -> Self {
        HostOptions {
            wasm: None,
            component: None,
            variables: Vec::new(),
            env: None,
            runtime_config: None,
            redis_timeout: redis::DEFAULT_TIMEOUT,
            max_redis_connections: redis::DEFAULT_MAX_CONNECTIONS,
            redis_ca_cert: None,
            runtime: RuntimeOptions {
                pooling: true,
                max_memory_bytes: limits::DEFAULT_MAX_MEMORY_BYTES,
                max_concurrent_requests: 256,
                request_timeout: Duration::from_secs(10),
                inherit_stdio: true,
                compile_cache_dir: None,
                reuse: runtime::InstanceReuse::default(),
            },
            server: ServerOptions::default(),
        }
    }
}

/// A loaded, pre-instantiated component with its resolved configuration, ready to serve.
pub struct Host {
    app: Arc<App>,
}

impl Host {
    /// Reads the manifest, resolves variables and the allow-list, compiles and
    /// pre-instantiates the component. Every configuration error surfaces here, before a
    /// port is opened.
    pub fn from_manifest(manifest: &Path, options: HostOptions) -> anyhow::Result<Host> {
        let app = AppManifest::load(manifest, options.component.as_deref())?;
        let overrides = Overrides {
            flags: options.variables.clone(),
            env: match &options.env {
                Some(env) => env.clone(),
                None => Overrides::from_process_env().env,
            },
        };
        let variables = variables::resolve(&app.variables, &app.component_variables, &overrides)?;
        let allowed_entries = app
            .allowed_outbound_hosts
            .iter()
            .map(|entry| {
                let template = Template::parse(entry)?;
                template.render(&variables.application)
            })
            .collect::<Result<Vec<_>, _>>()
            .context("cannot expand allowed_outbound_hosts")?;
        let allowed = AllowedHosts::parse(&allowed_entries)?;
        tracing::info!(
            application = %app.application_name,
            component = %app.component_id,
            allowed_outbound_hosts = ?allowed.entries().collect::<Vec<_>>(),
            routes = ?app.routes.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
            variables = ?variables,
            "manifest loaded"
        );

        let stats = Arc::new(Stats::default());
        let mut redis = RedisOutbound::new(
            allowed,
            options.redis_timeout,
            options.max_redis_connections,
            stats.clone(),
        );
        let runtime_config = match &options.runtime_config {
            Some(path) => RuntimeConfig::load(path)?,
            None => RuntimeConfig::default(),
        };
        let key_value = KeyValueStores::new(
            &app.key_value_stores,
            &runtime_config.redis_stores,
            options.redis_timeout,
            stats.clone(),
        )?;
        if let Some(ca) = &options.redis_ca_cert {
            redis = redis.with_ca_cert(redis::read_ca_cert(ca)?);
        }
        let wasm = options.wasm.clone().unwrap_or(app.source.clone());
        let runtime = Runtime::new(
            &wasm,
            options.runtime.clone(),
            Shared {
                environment: app.environment.clone().into_iter().collect(),
                variables: Arc::new(variables),
                redis: Arc::new(redis),
                key_value: Arc::new(key_value),
                stats: stats.clone(),
            },
        )?;
        tracing::info!(pooling = runtime.pooling(), "component pre-instantiated");
        Ok(Host {
            app: Arc::new(App {
                runtime,
                routes: app.routes,
                stats,
                options: options.server,
            }),
        })
    }

    /// Counters since the host was created.
    pub fn stats(&self) -> StatsSnapshot {
        self.app.stats.snapshot()
    }

    /// The component's import names.
    pub fn imports(&self) -> Vec<String> {
        self.app.runtime.imports()
    }

    /// Whether the pooling allocator is in use.
    pub fn pooling(&self) -> bool {
        self.app.runtime.pooling()
    }

    /// Serves on `listener` until `shutdown` resolves.
    pub async fn serve(
        &self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()>,
    ) -> std::io::Result<()> {
        server::serve(self.app.clone(), listener, shutdown).await
    }

    /// Binds `addr` (port 0 for an ephemeral port) and serves in a background task.
    pub async fn spawn(self, addr: SocketAddr) -> anyhow::Result<RunningHost> {
        let listener = TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr}"))?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel::<()>();
        let app = self.app.clone();
        let task = tokio::spawn(async move {
            let shutdown = async {
                let _ = stopped.await;
            };
            if let Err(e) = server::serve(app, listener, shutdown).await {
                tracing::error!(error = %e, "server failed");
            }
        });
        tracing::info!(%addr, "listening");
        Ok(RunningHost {
            addr,
            app: self.app,
            stop: Some(stop),
            task: Some(task),
        })
    }
}

/// A host serving in the background. Dropping it stops accepting connections.
pub struct RunningHost {
    addr: SocketAddr,
    app: Arc<App>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl RunningHost {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn stats(&self) -> StatsSnapshot {
        self.app.stats.snapshot()
    }

    /// Stops accepting, waits for in-flight requests (bounded by the grace period).
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for RunningHost {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
