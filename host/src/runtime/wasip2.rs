//! A WASIp2 request (`wasi:http/incoming-handler@0.2`): a fresh store and instance for every
//! request, as Spin does for a WASIp2 component, dropped when the guest is done.

use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, oneshot};
use tokio::task::JoinHandle;
use wasmtime_wasi_http::WasiHttpView;
use wasmtime_wasi_http::p2::bindings::ProxyPre;
use wasmtime_wasi_http::p2::bindings::http::types::{ErrorCode, Scheme};

use super::state::{Deadline, RequestState, Stores};
use super::{ResponseBody, plain};
use crate::limits::{Event, RequestCounters, Stats};

/// Runs `request` through a fresh instance of `pre`. The permit lives as long as the store
/// (it moves into the guest's task): the pool has exactly `max_concurrent_requests` slots.
pub(super) async fn handle(
    stores: &Stores,
    pre: &ProxyPre<RequestState>,
    permit: OwnedSemaphorePermit,
    request: http::Request<ResponseBody>,
) -> http::Response<ResponseBody> {
    let stats = stores.shared.stats.clone();
    let timeout = stores.options.request_timeout;
    let started = Instant::now();
    stats.request_started();
    let mut store = stores.new_store(Deadline::Trap);
    let proxy = match pre.instantiate_async(&mut store).await {
        Ok(proxy) => proxy,
        Err(e) => {
            stats.request_finished(&RequestCounters::default(), 0);
            stats.count(Event::GuestFailure);
            tracing::error!(error = %format!("{e:#}"), "instantiation failed");
            return plain(500, "Internal Server Error\n");
        }
    };
    stats.instantiated(started.elapsed());

    let (sender, receiver) = oneshot::channel();
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
            stats.request_finished(&RequestCounters::default(), 0);
            tracing::warn!(error = %e, "request refused before reaching the component");
            return plain(400, "Bad Request\n");
        }
    };

    // The guest runs in its own task: it may keep streaming the body after it has handed
    // over the response head, and the store must live until it is done.
    let task_stats = stats.clone();
    let task = tokio::spawn(async move {
        let result = proxy
            .wasi_http_incoming_handler()
            .call_handle(&mut store, req, out)
            .await;
        let data = store.data();
        let peak = data.limiter.peak_memory_bytes();
        task_stats.request_finished(&data.counters.since_last_report(), peak);
        task_stats.store_dropped(&store.data().limiter);
        drop(store);
        drop(permit);
        result
    });

    head_within(timeout, receiver, task, &stats, started).await
}

/// The response head the guest hands over within `timeout`, or a 500 whose reason goes to
/// the log (and counts as a guest failure).
async fn head_within(
    timeout: Duration,
    receiver: oneshot::Receiver<Result<http::Response<ResponseBody>, ErrorCode>>,
    task: JoinHandle<wasmtime::Result<()>>,
    stats: &Stats,
    started: Instant,
) -> http::Response<ResponseBody> {
    // Guest CPU is bounded by the epoch deadline and every host call by its own timeout;
    // this bounds the wait for the response head whatever else happens.
    let Ok(head) = tokio::time::timeout(timeout, receiver).await else {
        task.abort();
        stats.count(Event::GuestFailure);
        tracing::error!(timeout = ?timeout, "component timed out");
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
