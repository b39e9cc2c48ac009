//! The Spin glue, compiled for wasm32 only: variables in (lazily, see [`Config`]), Redis
//! through the [`Store`] seam — outbound Redis or the key-value store, as `redis_api` says
//! (`outbound.rs`, `key_value.rs`) — request head in, [`Response`] out. No decision is
//! made here.
//!
//! The handler takes the raw `wasi:http` request rather than `spin_sdk::http::Request`
//! because the latter buffers the whole request body, unbounded, before the handler runs;
//! no endpoint reads a body, so this one never touches it.

mod key_value;
mod outbound;

use std::cell::OnceCell;
use std::time::{SystemTime, UNIX_EPOCH};

use spin_sdk::http::{Fields, IncomingRequest, OutgoingResponse, ResponseOutparam};
use spin_sdk::http_component;

use crate::config::{Config, RedisApi};
use crate::request::{MAX_CONDITIONAL_BYTES, MAX_TARGET_BYTES, RequestHead};
use crate::respond::Response;
use crate::store::{Store, StoreError};

#[http_component]
async fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
    let head = request_head(&request);
    drop(request); // the body is never read
    let config = Config::from_lookup(|name| spin_sdk::variables::get(name).ok());
    let store = SpinStore {
        config: &config,
        backend: OnceCell::new(),
    };
    let response = crate::serve::handle(&head, &config, &store, unix_now());
    send(response_out, response).await;
}

/// Copies the method, target and the two inspected headers. Oversized values are not
/// copied whole: a placeholder of just over the limit keeps routing's 414/431 decision.
fn request_head(request: &IncomingRequest) -> RequestHead {
    let mut target = request.path_with_query().unwrap_or_default();
    if target.len() > MAX_TARGET_BYTES {
        target = "/".repeat(MAX_TARGET_BYTES + 1);
    }
    let headers = request.headers();
    let mut if_none_match = headers.get("if-none-match");
    if if_none_match.iter().map(Vec::len).sum::<usize>() > MAX_CONDITIONAL_BYTES {
        if_none_match = vec![vec![b' '; MAX_CONDITIONAL_BYTES + 1]];
    }
    let origin = headers.get("origin").into_iter().next();
    RequestHead {
        method: request.method().to_string(),
        path_with_query: target,
        if_none_match,
        origin,
    }
}

/// Writes a [`Response`] to the host. A header the host refuses (none should be: every
/// value is visible ASCII) degrades to a bare 500 rather than no answer at all.
async fn send(response_out: ResponseOutparam, response: Response) {
    let fields: Vec<(String, Vec<u8>)> = response
        .headers
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value.into_bytes()))
        .collect();
    let (outgoing, body) = match Fields::from_list(&fields) {
        Ok(headers) => {
            let outgoing = OutgoingResponse::new(headers);
            if outgoing.set_status_code(response.status).is_err() {
                eprintln!("status-reader: host refused status {}", response.status);
            }
            (outgoing, response.body)
        }
        Err(e) => {
            eprintln!("status-reader: host refused response headers: {e:?}");
            let outgoing = OutgoingResponse::new(Fields::new());
            let _ = outgoing.set_status_code(500);
            (outgoing, Vec::new())
        }
    };
    if let Err(e) = response_out.set_with_body(outgoing, body).await {
        eprintln!("status-reader: writing the response body failed: {e:?}");
    }
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// The store `redis_api` names, chosen and opened on first use: OPTIONS, 404, 405 and the
/// static assets never open one, and a request that reads opens exactly one.
struct SpinStore<'c, 'l> {
    config: &'c Config<'l>,
    backend: OnceCell<Backend>,
}

enum Backend {
    Outbound(outbound::Outbound),
    KeyValue(key_value::KeyValue),
    /// `redis_api` holds an unknown value (logged once per request).
    Misconfigured,
}

impl SpinStore<'_, '_> {
    fn backend(&self) -> &Backend {
        self.backend.get_or_init(|| match self.config.redis_api() {
            Some(RedisApi::Outbound) => {
                Backend::Outbound(outbound::Outbound::open(self.config.redis_url()))
            }
            Some(RedisApi::KeyValue) => Backend::KeyValue(key_value::KeyValue::open()),
            None => {
                eprintln!(
                    "status-reader: redis_api must be `outbound` or `key_value`; \
                         answering redis_unavailable"
                );
                Backend::Misconfigured
            }
        })
    }
}

impl Store for SpinStore<'_, '_> {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        match self.backend() {
            Backend::Outbound(b) => b.get(key),
            Backend::KeyValue(b) => b.get(key),
            Backend::Misconfigured => Err(StoreError::Unavailable),
        }
    }

    fn ttl(&self, key: &str) -> Result<Option<i64>, StoreError> {
        match self.backend() {
            Backend::Outbound(b) => b.ttl(key).map(Some),
            // Spin's key-value interface has get/set/delete/exists/get-keys: no TTL.
            Backend::KeyValue(_) => Ok(None),
            Backend::Misconfigured => Err(StoreError::Unavailable),
        }
    }
}
