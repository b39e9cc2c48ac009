//! The Spin 4 glue (WASIp3, spin-sdk 7; the `spin4` feature, wasm32 only): the same jobs as
//! `component.rs` — request head in, variables, Redis through the shared [`SpinStore`]
//! (here over Spin 4's calls, `api.rs`), [`Response`] out, no decision made here — with the
//! one difference that is the reason for this build: Spin 4's Redis interfaces are async,
//! so every Redis open and read is raced against a `wasi:clocks` timer (`deadline.rs`) and
//! a stalled Redis costs a request at most `redis_timeout_ms` before the same 503
//! `redis_unavailable` a refused connection gets. Under WASIp2 the host call blocks the
//! guest and nothing can bound it.
//!
//! The export awaits the request flow ([`crate::serve::answer`]); nothing here blocks.
//! That matters because Spin 4 serves up to 16 requests of one instance at once. A Rust
//! async export is lifted with the stackless `callback` ABI, under which the component
//! instance's implicit lock is held whenever its core wasm runs and released each time the
//! task returns to the event loop (Component Model concurrency explainer, "Backpressure").
//! An earlier version drove each Redis call with `wit_bindgen::block_on`, which waits in
//! `waitable-set.wait` *inside* the core wasm call without returning to the event loop: the
//! lock stayed held for the whole Redis round trip, so the instance's other requests could
//! neither start nor resume until it ended — a stalled Redis held all 16 for up to
//! `redis_timeout_ms` each, one after the other. Awaited, a request waiting on Redis
//! returns `WAIT` to the event loop and the others run.
//!
//! The handler takes the raw `wasi:http@0.3.0` request (its body, a stream, is never read)
//! and builds the raw response: the SDK's `http` conversions are not linked in.

mod api;
mod deadline;
mod variables;

use std::rc::Rc;

use spin_sdk_7::wasip3::http::types::{ErrorCode, Fields, Method, Request, Response as Wasi};
use spin_sdk_7::wasip3::{self, wit_bindgen, wit_future, wit_stream};

use self::api::Spin4;
use self::variables::Variables;
use crate::config::Config;
use crate::request::RequestHead;
use crate::respond::Response;
use crate::spin_store::{Instance, SpinStore};

struct Reader;

wasip3::http::service::export!(Reader);

thread_local! {
    /// The handles this instance keeps for all the requests it serves (see
    /// [`crate::spin_store::kept`]). Shared by `Rc`: a request holds it across awaits. On
    /// wasm32 without threads a `thread_local!` is a plain static in linear memory, so every
    /// task of the instance sees the one value (it is not the Component Model's per-task
    /// `context.get`/`set` storage, which starts empty for each export call).
    static INSTANCE: Rc<Instance<Spin4>> = Rc::default();
}

impl wasip3::exports::http::handler::Guest for Reader {
    async fn handle(request: Request) -> Result<Wasi, ErrorCode> {
        let headers = request.get_headers();
        let head = RequestHead::bounded(
            method_name(request.get_method()),
            request.get_path_with_query(),
            |name| headers.get(name),
        );
        drop((headers, request)); // the body is never read
        let variables = if crate::serve::reads_config(&head) {
            Variables::read().await
        } else {
            Variables::none()
        };
        let config = Config::from_lookup(|name| variables.get(name));
        let instance = INSTANCE.with(Rc::clone);
        let store = SpinStore::new(Spin4::new(variables.timeout_ms), &config, &instance);
        let now = crate::serve::unix_now();
        let response = crate::serve::answer(&head, &config, &store, now).await;
        Ok(send(response))
    }
}

fn method_name(method: Method) -> String {
    let name = match method {
        Method::Get => "GET",
        Method::Head => "HEAD",
        Method::Post => "POST",
        Method::Put => "PUT",
        Method::Delete => "DELETE",
        Method::Connect => "CONNECT",
        Method::Options => "OPTIONS",
        Method::Trace => "TRACE",
        Method::Patch => "PATCH",
        Method::Other(other) => return other,
    };
    name.to_owned()
}

/// Builds the `wasi:http` response: head now, body written by a spawned task after the
/// handler has returned it.
fn send(response: Response) -> Wasi {
    let (headers, status, body) = response.for_host(Fields::from_list, Fields::new);
    let (mut body_tx, body_rx) = wit_stream::new::<u8>();
    let (trailers_tx, trailers_rx) = wit_future::new(|| Ok(None));
    let (outgoing, _sent) = Wasi::new(headers, Some(body_rx), trailers_rx);
    if outgoing.set_status_code(status).is_err() {
        eprintln!("status-reader: host refused status {status}");
    }
    wit_bindgen::spawn(async move {
        let unwritten = body_tx.write_all(body).await;
        if !unwritten.is_empty() {
            eprintln!("status-reader: the client went away before the body was written");
        }
        drop(body_tx);
        let _ = trailers_tx.write(Ok(None)).await;
    });
    outgoing
}
