//! WASIp3 requests (`wasi:http/handler@0.3.0`) on reused instances, as Spin 4 runs them: an
//! instance serves up to `--max-instance-reuse-count` requests (128), up to
//! `--max-instance-concurrent-reuse-count` of them at once (16), and is dropped after that,
//! after a request of it timed out, or after it sat idle for `--idle-instance-timeout-ms`.
//!
//! What lives in an instance lives across its requests: the guest's kept outbound Redis
//! connection (opened by the first request, shared by the later and concurrent ones) is
//! what this is for, and the tests and benchmarks see it through this host as they would
//! through Spin. The scheduling is wasmtime-wasi-http's [`ProxyHandler`]: each instance is
//! a worker task that owns its store and runs the guest's tasks in the store's event loop;
//! this module says when a worker takes another request, when it is done, and what each
//! request cost (the host-call tally is reported when the request's body is done).

use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use wasmtime::component::GuestTaskId;
use wasmtime::{Store, StoreContextMut};
use wasmtime_wasi_http::handler::{
    ExpirationError, HandlerState, Instance, InstantiationError, Proxy, ProxyHandler, ShouldAccept,
    WorkerExpiration, WorkerState, WorkerStatus,
};
use wasmtime_wasi_http::p3::bindings::ServicePre;

use super::state::{Deadline, RequestState, Stores};
use super::{ResponseBody, plain};
use crate::limits::{CallTally, Event, RequestCounters, Stats};

/// How WASIp3 instances are reused (Spin 4's `spin up` flags of the same names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InstanceReuse {
    /// Requests one instance serves in all (`--max-instance-reuse-count`; 1 is a fresh
    /// instance per request).
    pub max_requests: usize,
    /// Requests one instance serves at once (`--max-instance-concurrent-reuse-count`).
    pub max_concurrent: usize,
    /// How long an instance without requests is kept for the next one.
    pub idle_timeout: Duration,
}

impl Default for InstanceReuse {
    /// Spin 4.1's defaults.
    fn default() -> Self {
        InstanceReuse {
            max_requests: 128,
            max_concurrent: 16,
            idle_timeout: Duration::from_secs(1),
        }
    }
}

/// The WASIp3 side of the runtime: the handler that hands requests to instances.
pub(super) struct Wasip3 {
    handler: ProxyHandler<Instances>,
}

/// What the handler makes instances from.
struct Instances {
    pre: ServicePre<RequestState>,
    stores: Arc<Stores>,
    /// One permit per live instance: the pooling allocator has `max_concurrent_requests`
    /// instance slots, and an instance may outlive its requests (idle, or finishing work
    /// after its last response), so a new one waits for a slot instead of failing.
    slots: Arc<Semaphore>,
}

/// Where the end of a request finds the call tally and the memory peak of the store that
/// served it (filled in when an instance takes the request).
type TallySlot = Arc<OnceLock<(Arc<CallTally>, Arc<AtomicUsize>)>>;

impl HandlerState for Instances {
    type StoreData = RequestState;
    type WorkerExpiration = Expiration;
    type WorkerState = Worker;

    async fn instantiate(&self) -> wasmtime::Result<Instance<RequestState, Expiration, Worker>> {
        let slot = self.slots.clone().acquire_owned().await?;
        let started = Instant::now();
        let mut store = self.stores.new_store(Deadline::Yield);
        let service = self.pre.instantiate_async(&mut store).await?;
        let stats = self.stores.shared.stats.clone();
        stats.instantiated(started.elapsed());
        let options = &self.stores.options;
        Ok(Instance {
            store,
            proxy: Proxy::P3(service),
            view: RequestState::http_view,
            expiration: Expiration {
                sleep: Mutex::new(Box::pin(tokio::time::sleep(Duration::ZERO))),
                request_timeout: options.request_timeout,
                idle_timeout: options.reuse.idle_timeout,
            },
            state: Worker {
                reuse: options.reuse,
                request_timeout: options.request_timeout,
                stats,
                _slot: slot,
            },
        })
    }
}

/// One instance's policy: how many requests it takes, and its accounting.
struct Worker {
    reuse: InstanceReuse,
    request_timeout: Duration,
    stats: Arc<Stats>,
    /// Released when the worker is gone, its store dropped.
    _slot: OwnedSemaphorePermit,
}

impl WorkerState for Worker {
    type StoreData = RequestState;
    type RequestData = TallySlot;

    fn should_accept_request(&self, concurrent: usize, total: usize) -> ShouldAccept {
        if total >= self.reuse.max_requests {
            ShouldAccept::Never
        } else if concurrent >= self.reuse.max_concurrent {
            ShouldAccept::No
        } else {
            ShouldAccept::Yes
        }
    }

    fn on_request_start(
        &self,
        store: StoreContextMut<'_, RequestState>,
        slot: TallySlot,
        _task: GuestTaskId,
    ) -> Pin<Box<dyn Future<Output = ()> + Send + Sync>> {
        let data = store.data();
        let _ = slot.set((data.counters.clone(), data.limiter.peak_handle()));
        Box::pin(tokio::time::sleep(self.request_timeout))
    }

    fn drop(&self, store: Store<RequestState>, result: wasmtime::Result<()>) {
        if let Err(e) = result {
            tracing::warn!(error = %format!("{e:#}"), "instance dropped after a failure");
        }
        self.stats.store_dropped(&store.data().limiter);
    }
}

/// When a worker gives its instance up, polled from outside the store's event loop (so a
/// guest stuck in a loop cannot keep it): its requests' time is up, or it sat idle or
/// finishing leftover work for the idle time.
struct Expiration {
    sleep: Mutex<Pin<Box<tokio::time::Sleep>>>,
    request_timeout: Duration,
    idle_timeout: Duration,
}

impl WorkerExpiration for Expiration {
    fn poll(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        status: WorkerStatus,
        start: Instant,
    ) -> Poll<()> {
        // After its last response an instance may still run guest tasks (a Redis call the
        // guest abandoned to a stalled server): it gets the idle time for them, not a whole
        // request's, so that its pool slot comes back soon.
        let bound = match status {
            WorkerStatus::Idle | WorkerStatus::PostReturn => self.idle_timeout,
            WorkerStatus::Requests => self.request_timeout,
        };
        let deadline = tokio::time::Instant::from_std(start + bound);
        let mut sleep = self.sleep.lock().unwrap_or_else(|e| e.into_inner());
        if sleep.deadline() != deadline {
            sleep.as_mut().reset(deadline);
        }
        sleep.as_mut().poll(cx)
    }
}

impl Wasip3 {
    pub(super) fn new(pre: ServicePre<RequestState>, stores: Arc<Stores>) -> Wasip3 {
        let slots = Arc::new(Semaphore::new(
            stores.options.max_concurrent_requests as usize,
        ));
        Wasip3 {
            handler: ProxyHandler::new(Instances { pre, stores, slots }),
        }
    }

    /// Runs `request` on an instance that has room for it, or a new one. The permit (the
    /// host's bound on requests in flight) and the request's accounting last until its body
    /// is done.
    pub(super) async fn handle(
        &self,
        permit: OwnedSemaphorePermit,
        request: http::Request<ResponseBody>,
    ) -> http::Response<ResponseBody> {
        let stores = &self.handler.state().stores;
        let stats = stores.shared.stats.clone();
        let timeout = stores.options.request_timeout;
        let started = Instant::now();
        stats.request_started();
        let slot = TallySlot::default();
        let end = RequestEnd {
            stats: stats.clone(),
            slot: slot.clone(),
            _permit: permit,
        };
        // The worker bounds the guest; this bounds the wait whatever else happens (an
        // instantiation that hangs, a worker that never takes the request).
        let outcome = tokio::time::timeout(timeout, self.handler.handle(slot, request)).await;
        let error = match outcome {
            Ok(Ok(response)) => {
                stats.handled(started.elapsed());
                return response.map(|body| Reported { body, _end: end }.boxed_unsync());
            }
            Ok(Err(e)) => e,
            Err(_) => wasmtime::Error::from(ExpirationError),
        };
        stats.count(Event::GuestFailure);
        if error.is::<ExpirationError>() {
            tracing::error!(timeout = ?timeout, "component timed out");
        } else if error.is::<InstantiationError<TallySlot>>() {
            tracing::error!(error = %format!("{error:#}"), "instantiation failed");
        } else {
            tracing::error!(error = %format!("{error:#}"), "component failed");
        }
        plain(500, "Internal Server Error\n")
    }
}

/// The end of one request: reports what it asked the host for (what its store tallied
/// since the last report) and releases its permit, when dropped.
struct RequestEnd {
    stats: Arc<Stats>,
    slot: TallySlot,
    _permit: OwnedSemaphorePermit,
}

impl Drop for RequestEnd {
    fn drop(&mut self) {
        let (counters, peak) = match self.slot.get() {
            Some((tally, peak)) => (tally.since_last_report(), peak.load(Ordering::Relaxed)),
            None => (RequestCounters::default(), 0),
        };
        self.stats.request_finished(&counters, peak);
    }
}

/// A response body that ends its request when it is dropped (sent, or abandoned).
struct Reported {
    body: ResponseBody,
    _end: RequestEnd,
}

impl Body for Reported {
    type Data = Bytes;
    type Error = wasmtime_wasi_http::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
