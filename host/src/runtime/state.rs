//! A store's data and how stores are made: WASI, `wasi:http` (outgoing requests denied),
//! the Spin interfaces' views, the memory limiter and the host-call tally.

use std::sync::Arc;

use wasmtime::Store;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpHooks, WasiHttpView};

use super::{EPOCH_TICK, ResponseBody, RuntimeOptions, Shared};
use crate::key_value::KeyValueStores;
use crate::limits::{CallTally, Event, MemoryLimiter, Stats};
use crate::p3::SpinView;
use crate::redis::RedisOutbound;
use crate::variables::ResolvedVariables;
use crate::view::RequestView;

/// The data of one store: one request's (WASIp2), or a reused instance's (WASIp3).
pub struct RequestState {
    pub(crate) table: ResourceTable,
    wasi: WasiCtx,
    http: WasiHttpCtx,
    hooks: DenyOutgoingHttp,
    pub(crate) redis: Arc<RedisOutbound>,
    pub(crate) key_value: Arc<KeyValueStores>,
    pub(crate) variables: Arc<ResolvedVariables>,
    pub(crate) limiter: MemoryLimiter,
    /// What the store's requests asked the host for (the host-call budget); shared with
    /// the end of each request, which reports its part.
    pub(crate) counters: Arc<CallTally>,
}

impl RequestState {
    /// The `wasi:http` view, as a plain function (what wasmtime-wasi-http's handler takes).
    pub(crate) fn http_view(&mut self) -> WasiHttpCtxView<'_> {
        self.http()
    }
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

/// Both versions of the Spin interfaces take their views from here (the WASIp2 linker in
/// `runtime.rs`, the WASIp3 one in `p3.rs`).
impl SpinView for RequestState {
    fn redis(&mut self) -> RequestView<'_, RedisOutbound> {
        RequestView::new(&mut self.table, &self.redis, &self.counters)
    }
    fn key_value(&mut self) -> RequestView<'_, KeyValueStores> {
        RequestView::new(&mut self.table, &self.key_value, &self.counters)
    }
    fn variables(&mut self) -> RequestView<'_, ResolvedVariables> {
        RequestView::new(&mut self.table, &self.variables, &self.counters)
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

/// How a store's guest is stopped when it runs too long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Deadline {
    /// One request per store (WASIp2): trap when the request's time is up.
    Trap,
    /// A reused store (WASIp3): yield to the executor at every epoch tick, so the worker
    /// that owns the store can see its request time out and drop the whole instance, as
    /// wasmtime-wasi-http's handler asks.
    Yield,
}

/// Makes stores: what every store shares, and the engine.
pub(crate) struct Stores {
    pub(crate) engine: wasmtime::Engine,
    pub(crate) shared: Shared,
    pub(crate) options: RuntimeOptions,
}

impl Stores {
    pub(crate) fn new_store(&self, deadline: Deadline) -> Store<RequestState> {
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
            counters: Arc::new(CallTally::default()),
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limiter);
        match deadline {
            Deadline::Trap => {
                let ticks = self.options.request_timeout.as_millis() / EPOCH_TICK.as_millis();
                store.set_epoch_deadline(u64::try_from(ticks).unwrap_or(u64::MAX).max(1));
                store.epoch_deadline_trap();
            }
            Deadline::Yield => {
                store.set_epoch_deadline(1);
                store.epoch_deadline_async_yield_and_update(1);
            }
        }
        store
    }
}
