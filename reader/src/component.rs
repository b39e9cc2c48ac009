//! The Spin 3 glue (WASIp2, spin-sdk 5; the default `spin3` feature, wasm32 only): the
//! request head in, the variables (lazily, see [`Config`]), Redis through the shared
//! [`SpinStore`] over Spin 3's calls (`api.rs`), the [`Response`] out. No decision is made
//! here, and nothing about Redis beyond the calls themselves.
//!
//! Spin 3's Redis calls block the guest until the host answers, so the store's futures are
//! ready when first polled and [`crate::serve::handle`] drives the request flow with one
//! poll. The handler takes the raw `wasi:http` request rather than
//! `spin_sdk::http::Request` because the latter buffers the whole request body, unbounded,
//! before the handler runs; no endpoint reads a body, so this one never touches it.

mod api;

use spin_sdk::http::{Fields, IncomingRequest, OutgoingResponse, ResponseOutparam};
use spin_sdk::http_component;

use crate::config::Config;
use crate::request::RequestHead;
use crate::respond::Response;
use crate::spin_store::{Instance, SpinStore};

#[http_component]
async fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
    let headers = request.headers();
    let head = RequestHead::bounded(
        request.method().to_string(),
        request.path_with_query(),
        |name| headers.get(name),
    );
    drop((headers, request)); // the body is never read
    let config = Config::from_lookup(|name| spin_sdk::variables::get(name).ok());
    // Spin 3 makes a fresh instance for every request: what it would keep lives exactly
    // as long as the request, so it is kept on the request's stack (no thread-local).
    let instance = Instance::default();
    let store = SpinStore::new(api::Spin3, &config, &instance);
    let response = crate::serve::handle(&head, &config, &store, crate::serve::unix_now());
    send(response_out, response).await;
}

/// Writes a [`Response`] to the host.
async fn send(response_out: ResponseOutparam, response: Response) {
    let (headers, status, body) = response.for_host(Fields::from_list, Fields::new);
    let outgoing = OutgoingResponse::new(headers);
    if outgoing.set_status_code(status).is_err() {
        eprintln!("status-reader: host refused status {status}");
    }
    if let Err(e) = response_out.set_with_body(outgoing, body).await {
        eprintln!("status-reader: writing the response body failed: {e:?}");
    }
}
