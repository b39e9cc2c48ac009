//! The component runtime: compile once, link once, pre-instantiate once; then a fresh store
//! and instance for every request, as Spin does.
//!
//! A fresh instance per request is what makes a WebAssembly handler safe to share: no state
//! survives from one request to the next. What keeps it cheap is that everything that does
//! not depend on the request — compiling, type-checking imports, resolving the linker — is
//! done once in [`Runtime::new`] (`ProxyPre`), and that with the pooling allocator an
//! instance's memory and tables come from pre-reserved slots instead of fresh `mmap`s.
//!
//! Two kinds of component run here, told apart by their HTTP export: the reader's WASIp2
//! build (`wasi:http/incoming-handler@0.2`, Spin 3's Spin interfaces) and its WASIp3 build
//! (`wasi:http/handler@0.3.0`, Spin 4's async interfaces in `p3.rs`), each on an engine set
//! up for it: only the WASIp3 one pays for wasmtime's concurrent-task runtime.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use bytes::Bytes;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};
use tokio::sync::Semaphore;
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::p2::bindings::ProxyPre;
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;
use wasmtime_wasi_http::p3::bindings::ServicePre;
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpHooks, WasiHttpView};

use crate::bindings;
use crate::key_value::KeyValueStores;
use crate::limits::{Event, MemoryLimiter, RequestCounters, Stats};
use crate::p3::SpinView;
use crate::redis::RedisOutbound;
use crate::variables::ResolvedVariables;
use crate::view::{Interface, RequestView};

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
}

/// What every request's store shares.
pub(crate) struct Shared {
    /// The component's `environment` from the manifest.
    pub(crate) environment: Vec<(String, String)>,
    pub(crate) variables: Arc<ResolvedVariables>,
    pub(crate) redis: Arc<RedisOutbound>,
    pub(crate) key_value: Arc<KeyValueStores>,
    pub(crate) stats: Arc<Stats>,
}

/// The store data of one request.
pub struct RequestState {
    pub(crate) table: ResourceTable,
    wasi: WasiCtx,
    http: WasiHttpCtx,
    hooks: DenyOutgoingHttp,
    pub(crate) redis: Arc<RedisOutbound>,
    pub(crate) key_value: Arc<KeyValueStores>,
    pub(crate) variables: Arc<ResolvedVariables>,
    pub(crate) limiter: MemoryLimiter,
    /// What this request asked the host for (the host-call budget).
    pub(crate) counters: RequestCounters,
}

impl WasiView for RequestState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for RequestState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.hooks,
        }
    }
}

impl SpinView for RequestState {
    fn redis(&mut self) -> RequestView<'_, RedisOutbound> {
        RequestView::new(&mut self.table, &self.redis, &mut self.counters)
    }
    fn key_value(&mut self) -> RequestView<'_, KeyValueStores> {
        RequestView::new(&mut self.table, &self.key_value, &mut self.counters)
    }
    fn variables(&mut self) -> RequestView<'_, ResolvedVariables> {
        RequestView::new(&mut self.table, &self.variables, &mut self.counters)
    }
}

/// Outgoing HTTP (`wasi:http/outgoing-handler`): the reader's allow-list names Redis only, so
/// every outgoing request is denied, as Spin denies a host that is not allowed.
struct DenyOutgoingHttp {
    stats: Arc<Stats>,
}

type SendFuture = Box<
    dyn Future<
            Output = Result<
                (
                    http::Response<ResponseBody>,
                    Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>,
                ),
                wasmtime_wasi_http::Error,
            >,
        > + Send,
>;

impl WasiHttpHooks for DenyOutgoingHttp {
    fn send_request(
        &mut self,
        request: http::Request<ResponseBody>,
        _options: Option<wasmtime_wasi_http::RequestOptions>,
        _io: Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>,
    ) -> SendFuture {
        self.stats.count(Event::OutgoingHttpRefused);
        tracing::warn!(
            host = request.uri().host().unwrap_or(""),
            "outgoing HTTP refused: not in allowed_outbound_hosts"
        );
        Box::new(async { Err(wasmtime_wasi_http::Error::HttpRequestDenied) })
    }
}

/// The compiled, linked, pre-instantiated component, of either kind.
enum Handler {
    /// WASIp2: `wasi:http/incoming-handler@0.2`.
    P2(ProxyPre<RequestState>),
    /// WASIp3: `wasi:http/handler@0.3.0`.
    P3(ServicePre<RequestState>),
}

impl Handler {
    fn instance_pre(&self) -> &wasmtime::component::InstancePre<RequestState> {
        match self {
            Handler::P2(pre) => pre.instance_pre(),
            Handler::P3(pre) => pre.instance_pre(),
        }
    }
}

/// Largest response body the host takes from a WASIp3 component (it is collected before it
/// is sent: the reader's largest answer, the widget's demo page, is a few KiB).
const MAX_P3_RESPONSE_BYTES: usize = 4 * 1024 * 1024;

/// Whether `wasm` is a WASIp3 HTTP component: its exports are named by plain strings in the
/// component's export section, and only a WASIp3 one exports `wasi:http/handler@0.3`.
fn exports_wasip3_handler(wasm: &[u8]) -> bool {
    const EXPORT: &[u8] = b"wasi:http/handler@0.3";
    wasm.windows(EXPORT.len()).any(|w| w == EXPORT)
}

/// The compiled, linked, pre-instantiated component.
pub struct Runtime {
    engine: Engine,
    pre: Handler,
    shared: Shared,
    options: RuntimeOptions,
    concurrency: Arc<Semaphore>,
    pooling: bool,
}

impl Runtime {
    /// Compiles `wasm`, links WASI (p2), `wasi:http` and the Spin interfaces, and checks
    /// that every import of the component is satisfied.
    pub(crate) fn new(
        wasm: &Path,
        options: RuntimeOptions,
        shared: Shared,
    ) -> anyhow::Result<Runtime> {
        let bytes = std::fs::read(wasm)
            .with_context(|| format!("cannot read component {}", wasm.display()))?;
        let wasip3 = exports_wasip3_handler(&bytes);
        let (engine, pooling) = engine(&options, wasip3)?;
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

        // Both builds' standard library speaks WASIp2 (stderr, clocks, environment).
        let mut linker: Linker<RequestState> = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        if wasip3 {
            wasmtime_wasi::p3::add_to_linker(&mut linker)?;
            wasmtime_wasi_http::p3::add_to_linker(&mut linker)?;
            crate::p3::add_to_linker(&mut linker)?;
        } else {
            wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
            // Each Spin interface gets its own view of the request's state (see `view.rs`).
            bindings::redis::add_to_linker::<_, Interface<RedisOutbound>>(&mut linker, |s| {
                RequestView::new(&mut s.table, &s.redis, &mut s.counters)
            })?;
            bindings::key_value::add_to_linker::<_, Interface<KeyValueStores>>(&mut linker, |s| {
                RequestView::new(&mut s.table, &s.key_value, &mut s.counters)
            })?;
            bindings::variables::add_to_linker::<_, Interface<ResolvedVariables>>(
                &mut linker,
                |s| RequestView::new(&mut s.table, &s.variables, &mut s.counters),
            )?;
        }

        let component_type = component.component_type();
        for (name, _) in component_type.imports(&engine) {
            tracing::debug!(import = name, "component import");
        }
        let instance_pre = linker
            .instantiate_pre(&component)
            .map_err(anyhow::Error::from)
            .context(
                "the component imports something this host does not provide \
             (reader-host implements WASI p2 and p3, wasi:http, \
             fermyon:spin/{redis,key-value,variables}@2.0.0 and \
             spin:{redis,key-value,variables}@3.0.0)",
            )?;
        let pre = if wasip3 {
            Handler::P3(
                ServicePre::new(instance_pre)
                    .map_err(anyhow::Error::from)
                    .context("the component does not export wasi:http/handler@0.3.0")?,
            )
        } else {
            Handler::P2(
                ProxyPre::new(instance_pre)
                    .map_err(anyhow::Error::from)
                    .context("the component does not export wasi:http/incoming-handler")?,
            )
        };

        spawn_epoch_ticker(&engine);
        Ok(Runtime {
            concurrency: Arc::new(Semaphore::new(options.max_concurrent_requests as usize)),
            engine,
            pre,
            shared,
            options,
            pooling,
        })
    }

    /// Whether the pooling allocator is in use.
    pub fn pooling(&self) -> bool {
        self.pooling
    }

    /// Names of the component's imports (for `--print-imports` and tests).
    pub fn imports(&self) -> Vec<String> {
        self.pre
            .instance_pre()
            .component()
            .component_type()
            .imports(&self.engine)
            .map(|(name, _)| name.to_owned())
            .collect()
    }

    fn new_store(&self) -> Store<RequestState> {
        let mut wasi = WasiCtx::builder();
        wasi.envs(&self.shared.environment);
        if self.options.inherit_stdio {
            wasi.inherit_stdout().inherit_stderr();
        }
        let state = RequestState {
            table: ResourceTable::new(),
            wasi: wasi.build(),
            http: WasiHttpCtx::new(),
            hooks: DenyOutgoingHttp {
                stats: self.shared.stats.clone(),
            },
            redis: self.shared.redis.clone(),
            key_value: self.shared.key_value.clone(),
            variables: self.shared.variables.clone(),
            limiter: MemoryLimiter::new(self.options.max_memory_bytes),
            counters: RequestCounters::default(),
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limiter);
        let ticks = self.options.request_timeout.as_millis() / EPOCH_TICK.as_millis();
        store.set_epoch_deadline(u64::try_from(ticks).unwrap_or(u64::MAX).max(1));
        store.epoch_deadline_trap();
        store
    }

    /// Runs one request through a fresh instance of the component.
    pub async fn handle<B>(&self, request: http::Request<B>) -> http::Response<ResponseBody>
    where
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<wasmtime_wasi_http::Error>,
    {
        let stats = self.shared.stats.clone();
        // The permit lives as long as the store (it moves into the guest's task below): the
        // pool has exactly `max_concurrent_requests` instance slots.
        let Ok(permit) = self.concurrency.clone().acquire_owned().await else {
            return plain(503, "Service Unavailable\n");
        };
        let started = Instant::now();
        let mut store = self.new_store();
        let pre = match &self.pre {
            Handler::P2(pre) => pre,
            Handler::P3(pre) => {
                return self.handle_p3(pre, store, permit, started, request).await;
            }
        };
        let proxy = match pre.instantiate_async(&mut store).await {
            Ok(proxy) => proxy,
            Err(e) => {
                stats.count(Event::GuestFailure);
                tracing::error!(error = %format!("{e:#}"), "instantiation failed");
                return plain(500, "Internal Server Error\n");
            }
        };
        stats.instantiated(started.elapsed());

        let (sender, receiver) = tokio::sync::oneshot::channel();
        let prepared = (|| -> wasmtime::Result<_> {
            let req = store
                .data_mut()
                .http()
                .new_incoming_request(Scheme::Http, request)?;
            let out = store.data_mut().http().new_response_outparam(sender)?;
            Ok((req, out))
        })();
        let (req, out) = match prepared {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!(error = %e, "request refused before reaching the component");
                return plain(400, "Bad Request\n");
            }
        };

        // The guest runs in its own task: it may keep streaming the body after it has
        // handed over the response head, and the store must live until it is done.
        let task_stats = stats.clone();
        let task = tokio::spawn(async move {
            let result = proxy
                .wasi_http_incoming_handler()
                .call_handle(&mut store, req, out)
                .await;
            task_stats.store_finished(&store.data().limiter, &store.data().counters);
            drop(store);
            drop(permit);
            result
        });

        // Guest CPU is bounded by the epoch deadline and every host call by its own timeout;
        // this bounds the wait for the response head whatever else happens.
        let Ok(head) = tokio::time::timeout(self.options.request_timeout, receiver).await else {
            task.abort();
            stats.count(Event::GuestFailure);
            tracing::error!(timeout = ?self.options.request_timeout, "component timed out");
            return plain(500, "Internal Server Error\n");
        };
        match head {
            Ok(Ok(response)) => {
                stats.handled(started.elapsed());
                response
            }
            Ok(Err(code)) => {
                stats.count(Event::GuestFailure);
                tracing::warn!(error = ?code, "component answered with an error code");
                plain(500, "Internal Server Error\n")
            }
            Err(_) => {
                // The guest returned or trapped without setting a response.
                stats.count(Event::GuestFailure);
                match task.await {
                    Ok(Err(e)) => {
                        tracing::error!(error = %format!("{e:#}"), "component failed")
                    }
                    Ok(Ok(())) => tracing::error!("component did not set a response"),
                    Err(e) => tracing::error!(error = %e, "component task failed"),
                }
                plain(500, "Internal Server Error\n")
            }
        }
    }
}

impl Runtime {
    /// Runs one request through a fresh instance of a WASIp3 component: the guest's
    /// `handle` and its body run as concurrent tasks in the store's event loop, which also
    /// drives the Spin 4 host calls (and cancels those the guest abandons). The whole of it,
    /// body included, is bounded by the request timeout; the store is dropped at the end,
    /// with whatever the guest left behind.
    async fn handle_p3<B>(
        &self,
        pre: &ServicePre<RequestState>,
        mut store: Store<RequestState>,
        permit: tokio::sync::OwnedSemaphorePermit,
        started: Instant,
        request: http::Request<B>,
    ) -> http::Response<ResponseBody>
    where
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<wasmtime_wasi_http::Error>,
    {
        let stats = self.shared.stats.clone();
        let service = match pre.instantiate_async(&mut store).await {
            Ok(service) => service,
            Err(e) => {
                stats.count(Event::GuestFailure);
                tracing::error!(error = %format!("{e:#}"), "instantiation failed");
                return plain(500, "Internal Server Error\n");
            }
        };
        stats.instantiated(started.elapsed());
        // The reader never reads a request body; its transfer (`_body`) is left undriven.
        let (request, _body) =
            wasmtime_wasi_http::p3::Request::from_http(&mut store.data_mut().hooks, request);

        let task_stats = stats.clone();
        let task = tokio::spawn(async move {
            let outcome = store
                .run_concurrent(async |store| {
                    let response = match service.handle(store, request).await? {
                        Ok(response) => response,
                        Err(code) => return wasmtime::Result::Ok(Err(code)),
                    };
                    let response =
                        store.with(|store| response.into_http(store, async { Ok(()) }))?;
                    let (parts, body) = response.into_parts();
                    let body = http_body_util::Limited::new(body, MAX_P3_RESPONSE_BYTES)
                        .collect()
                        .await
                        .map_err(|e| wasmtime::Error::msg(format!("response body: {e}")))?
                        .to_bytes();
                    Ok(Ok(http::Response::from_parts(parts, body)))
                })
                .await;
            task_stats.store_finished(&store.data().limiter, &store.data().counters);
            drop(store);
            drop(permit);
            outcome
        });

        // Guest CPU is bounded by the epoch deadline and every host call by its own timeout;
        // this bounds the whole request whatever else happens.
        let abort = task.abort_handle();
        let Ok(joined) = tokio::time::timeout(self.options.request_timeout, task).await else {
            abort.abort();
            stats.count(Event::GuestFailure);
            tracing::error!(timeout = ?self.options.request_timeout, "component timed out");
            return plain(500, "Internal Server Error\n");
        };
        match joined {
            Ok(Ok(Ok(Ok(response)))) => {
                stats.handled(started.elapsed());
                response.map(|body| {
                    Full::new(body)
                        .map_err(|never| match never {})
                        .boxed_unsync()
                })
            }
            Ok(Ok(Ok(Err(code)))) => {
                stats.count(Event::GuestFailure);
                tracing::warn!(error = ?code, "component answered with an error code");
                plain(500, "Internal Server Error\n")
            }
            Ok(Ok(Err(e)) | Err(e)) => {
                stats.count(Event::GuestFailure);
                tracing::error!(error = %format!("{e:#}"), "component failed");
                plain(500, "Internal Server Error\n")
            }
            Err(e) => {
                stats.count(Event::GuestFailure);
                tracing::error!(error = %e, "component task failed");
                plain(500, "Internal Server Error\n")
            }
        }
    }
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

/// How much of each pooled linear memory (and table) stays resident between requests: the
/// pages a request dirtied below this bound are reset to the module's initial image in
/// place instead of being handed back to the kernel. The reader peaks at ~1.1 MiB, so 2 MiB
/// (the per-request budget the benchmarks hold it to) covers all of it.
const KEEP_RESIDENT_BYTES: usize = 2 * 1024 * 1024;

fn engine(options: &RuntimeOptions, wasip3: bool) -> anyhow::Result<(Engine, bool)> {
    let mut config = Config::new();
    config.wasm_component_model(true);
    config.epoch_interruption(true);
    if wasip3 {
        // The WASIp3 build needs what the next comment explains the WASIp2 one does without.
        config.wasm_component_model_async(true);
        config.concurrency_support(true);
    } else {
        // The reader is a WASIp2 component: it needs no component-model-async. With concurrency
        // support on (wasmtime's default) every store carries the concurrent-task machinery —
        // a task per host call, a worker fiber — and dropping a store disposes that still
        // suspended fiber by resuming it with a "future dropped" error: one error built per
        // request, which captures a full backtrace whenever RUST_BACKTRACE=1 is set. Off, the
        // store drop builds nothing (measured with callgrind: the same instruction count with
        // and without RUST_BACKTRACE) and each request runs ~6 % fewer instructions.
        config.concurrency_support(false);
    }
    if let Some(dir) = &options.compile_cache_dir {
        // wasmtime wants an absolute directory.
        let dir = std::path::absolute(dir)
            .with_context(|| format!("bad cache directory {}", dir.display()))?;
        let mut cache = wasmtime::CacheConfig::new();
        cache.with_directory(dir);
        config.cache(Some(
            wasmtime::Cache::new(cache).map_err(anyhow::Error::from)?,
        ));
    }
    if options.pooling {
        let n = options.max_concurrent_requests.max(1);
        let mut pool = PoolingAllocationConfig::new();
        // A Rust wasip2 component is one core module plus a few small wit-component shim
        // modules: one memory, a handful of core instances and tables.
        pool.total_component_instances(n)
            .total_core_instances(n.saturating_mul(8))
            .total_memories(n.saturating_mul(2))
            .total_tables(n.saturating_mul(8))
            // A WASIp2 request runs on one fiber; a WASIp3 one on several (its handler task,
            // the task that writes the body, a blocking wait): room for four each.
            .total_stacks(if wasip3 { n.saturating_mul(4) } else { n })
            .max_memory_size(options.max_memory_bytes)
            // By default a slot's memory is returned to the kernel with `madvise` when its
            // store is dropped, so the next request page-faults every page it touches back
            // in: per request that was hundreds of faults plus a TLB shootdown across cores,
            // invisible in instruction counts but the largest single cost in wall time
            // (c=50: ~2,500 -> ~9,000 requests/s with this on). Keeping the low pages
            // resident and resetting only the dirty ones (found with the PAGEMAP_SCAN ioctl
            // where the kernel has it, Linux >= 6.7) gives every request the same fresh,
            // initial-image memory without a syscall or a fault.
            .linear_memory_keep_resident(KEEP_RESIDENT_BYTES)
            .table_keep_resident(KEEP_RESIDENT_BYTES)
            .pagemap_scan(wasmtime::Enabled::Auto);
        let mut pooled = config.clone();
        pooled.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        match Engine::new(&pooled) {
            Ok(engine) => return Ok((engine, true)),
            Err(e) => tracing::warn!(
                error = %format!("{e:#}"),
                "pooling allocator unavailable; using on-demand allocation"
            ),
        }
    }
    Ok((Engine::new(&config)?, false))
}

/// Advances the engine's epoch every [`EPOCH_TICK`] until the engine is dropped, so a guest
/// stuck in a loop hits its deadline. A plain thread: it must tick even when every tokio
/// worker is busy running guests.
fn spawn_epoch_ticker(engine: &Engine) {
    let weak = engine.weak();
    let spawned = std::thread::Builder::new()
        .name("reader-host-epoch".into())
        .spawn(move || {
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(EPOCH_TICK);
            }
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "cannot start the epoch thread; guest CPU time is unbounded");
    }
}
