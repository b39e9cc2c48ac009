//! The component runtime: compile once, link once, pre-instantiate once; then stores and
//! instances as Spin makes them.
//!
//! Two kinds of component run here, told apart by their HTTP export, each on an engine set
//! up for it (`engine.rs`: only the WASIp3 one pays for wasmtime's concurrent-task runtime):
//!
//! * the reader's WASIp2 build (`wasi:http/incoming-handler@0.2`, Spin 3's interfaces): a
//!   fresh store and instance for every request (`wasip2.rs`), as Spin does. No state
//!   survives from one request to the next;
//! * its WASIp3 build (`wasi:http/handler@0.3.0`, Spin 4's async interfaces in `p3.rs`):
//!   instances reused for up to 128 requests, 16 at a time (`wasip3.rs`), as Spin 4 does,
//!   so what the guest keeps in an instance (its outbound Redis connection) is kept here too.
//!
//! What keeps a fresh instance cheap is that everything that does not depend on the request
//! — compiling, type-checking imports, resolving the linker — is done once in
//! [`Runtime::new`], and that with the pooling allocator an instance's memory and tables
//! come from pre-reserved slots instead of fresh `mmap`s. `state.rs` is a store's data.

mod engine;
mod state;
mod wasip2;
mod wasip3;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use bytes::Bytes;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};
use tokio::sync::Semaphore;
use wasmtime::Engine;
use wasmtime::component::{Component, Linker};
use wasmtime_wasi_http::p2::bindings::ProxyPre;
use wasmtime_wasi_http::p3::bindings::ServicePre;

use crate::bindings;
use crate::key_value::KeyValueStores;
use crate::limits::Stats;
use crate::p3::SpinView;
use crate::redis::RedisOutbound;
use crate::variables::ResolvedVariables;
use crate::view::Interface;

pub use state::RequestState;
pub use wasip3::InstanceReuse;

use engine::spawn_epoch_ticker;
use state::Stores;
use wasip3::Wasip3;

/// The body type of every response the host sends.
pub type ResponseBody = UnsyncBoxBody<Bytes, wasmtime_wasi_http::Error>;

/// How often the epoch advances; the request deadline is counted in these ticks.
const EPOCH_TICK: Duration = Duration::from_millis(50);

/// Engine-level options.
#[derive(Debug, Clone)]
pub struct RuntimeOptions {
    /// Use the pooling instance allocator (falls back to on-demand if the pool cannot be
    /// reserved, e.g. under a tight virtual-memory limit).
    pub pooling: bool,
    /// Cap on one request's linear memory.
    pub max_memory_bytes: usize,
    /// Requests running in the component at once; further requests wait. Also the size of
    /// the instance pool.
    pub max_concurrent_requests: u32,
    /// Wall-clock bound on guest execution (CPU loops included, via epoch interruption).
    pub request_timeout: Duration,
    /// Pass the guest's stdout/stderr through to the host's (Spin logs them too).
    pub inherit_stdio: bool,
    /// Keep compiled code in this directory (wasmtime's cache), so that a restart or a
    /// second host in the same process loads the component instead of recompiling it.
    pub compile_cache_dir: Option<PathBuf>,
    /// How a WASIp3 component's instances are reused (a WASIp2 one gets a fresh instance
    /// per request, as under Spin).
    pub reuse: InstanceReuse,
}

/// What every store shares.
pub(crate) struct Shared {
    /// The component's `environment` from the manifest.
    pub(crate) environment: Vec<(String, String)>,
    pub(crate) variables: Arc<ResolvedVariables>,
    pub(crate) redis: Arc<RedisOutbound>,
    pub(crate) key_value: Arc<KeyValueStores>,
    pub(crate) stats: Arc<Stats>,
}

/// The pre-instantiated component, of either kind.
enum Handler {
    /// WASIp2: `wasi:http/incoming-handler@0.2`, an instance per request.
    P2(ProxyPre<RequestState>),
    /// WASIp3: `wasi:http/handler@0.3.0`, reused instances.
    P3(Wasip3),
}

/// Whether `wasm` is a WASIp3 HTTP component: its exports are named by plain strings in the
/// component's export section, and only a WASIp3 one exports `wasi:http/handler@0.3`.
fn exports_wasip3_handler(wasm: &[u8]) -> bool {
    const EXPORT: &[u8] = b"wasi:http/handler@0.3";
    wasm.windows(EXPORT.len()).any(|w| w == EXPORT)
}

/// The compiled, linked, pre-instantiated component.
pub struct Runtime {
    stores: Arc<Stores>,
    component: Component,
    handler: Handler,
    concurrency: Arc<Semaphore>,
    pooling: bool,
}

impl Runtime {
    /// Compiles `wasm`, links WASI, `wasi:http` and the Spin interfaces of its kind, and
    /// checks that every import of the component is satisfied.
    pub(crate) fn new(
        wasm: &Path,
        options: RuntimeOptions,
        shared: Shared,
    ) -> anyhow::Result<Runtime> {
        let bytes = std::fs::read(wasm)
            .with_context(|| format!("cannot read component {}", wasm.display()))?;
        let wasip3 = exports_wasip3_handler(&bytes);
        let (engine, pooling) = engine::engine(&options, wasip3)?;
        let started = Instant::now();
        let component = Component::new(&engine, &bytes)
            .map_err(anyhow::Error::from)
            .with_context(|| format!("cannot load component {}", wasm.display()))?;
        tracing::info!(
            wasm = %wasm.display(),
            wasip3,
            took_ms = started.elapsed().as_millis() as u64,
            "component compiled"
        );
        for (name, _) in component.component_type().imports(&engine) {
            tracing::debug!(import = name, "component import");
        }
        let instance_pre = linker(&engine, wasip3)?
            .instantiate_pre(&component)
            .map_err(anyhow::Error::from)
            .context(
                "the component imports something this host does not provide \
             (reader-host implements WASI p2 and p3, wasi:http, \
             fermyon:spin/{redis,key-value,variables}@2.0.0 and \
             spin:{redis,key-value,variables}@3.0.0)",
            )?;
        spawn_epoch_ticker(&engine);
        let concurrency = Arc::new(Semaphore::new(options.max_concurrent_requests as usize));
        let stores = Arc::new(Stores {
            engine,
            shared,
            options,
        });
        let handler = if wasip3 {
            let pre = ServicePre::new(instance_pre)
                .map_err(anyhow::Error::from)
                .context("the component does not export wasi:http/handler@0.3.0")?;
            Handler::P3(Wasip3::new(pre, stores.clone()))
        } else {
            Handler::P2(
                ProxyPre::new(instance_pre)
                    .map_err(anyhow::Error::from)
                    .context("the component does not export wasi:http/incoming-handler")?,
            )
        };
        Ok(Runtime {
            stores,
            component,
            handler,
            concurrency,
            pooling,
        })
    }

    /// Whether the pooling allocator is in use.
    pub fn pooling(&self) -> bool {
        self.pooling
    }

    /// Names of the component's imports (for `--print-imports` and tests).
    pub fn imports(&self) -> Vec<String> {
        self.component
            .component_type()
            .imports(&self.stores.engine)
            .map(|(name, _)| name.to_owned())
            .collect()
    }

    /// Runs one request through the component: a fresh instance (WASIp2) or one with room
    /// for it (WASIp3), at most `max_concurrent_requests` at once (further ones wait).
    pub async fn handle<B>(&self, request: http::Request<B>) -> http::Response<ResponseBody>
    where
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<wasmtime_wasi_http::Error>,
    {
        let Ok(permit) = self.concurrency.clone().acquire_owned().await else {
            return plain(503, "Service Unavailable\n");
        };
        let request = request.map(|body| body.map_err(Into::into).boxed_unsync());
        match &self.handler {
            Handler::P2(pre) => wasip2::handle(&self.stores, pre, permit, request).await,
            Handler::P3(wasip3) => wasip3.handle(permit, request).await,
        }
    }
}

/// The linker for a component of either kind. Both builds' standard library speaks WASIp2
/// (stderr, clocks, environment); each Spin interface gets its own view of the store's data
/// (see `view.rs`).
fn linker(engine: &Engine, wasip3: bool) -> anyhow::Result<Linker<RequestState>> {
    let mut linker: Linker<RequestState> = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    if wasip3 {
        wasmtime_wasi::p3::add_to_linker(&mut linker)?;
        wasmtime_wasi_http::p3::add_to_linker(&mut linker)?;
        crate::p3::add_to_linker(&mut linker)?;
    } else {
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
        bindings::redis::add_to_linker::<_, Interface<RedisOutbound>>(
            &mut linker,
            RequestState::redis,
        )?;
        bindings::key_value::add_to_linker::<_, Interface<KeyValueStores>>(
            &mut linker,
            RequestState::key_value,
        )?;
        bindings::variables::add_to_linker::<_, Interface<ResolvedVariables>>(
            &mut linker,
            RequestState::variables,
        )?;
    }
    Ok(linker)
}

/// A small host-generated response (404, 500, 503, ...).
pub fn plain(status: u16, body: &'static str) -> http::Response<ResponseBody> {
    let mut response = http::Response::new(
        Full::new(Bytes::from_static(body.as_bytes()))
            .map_err(|never| match never {})
            .boxed_unsync(),
    );
    *response.status_mut() =
        http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}
