//! The Spin 4 glue (WASIp3, spin-sdk 7; the `spin4` feature, wasm32 only): the same jobs as
//! `component.rs` — variables in, Redis through the [`Store`] seam, request head in,
//! [`Response`] out, no decision made here — with one difference that is the reason for
//! this build: Spin 4's Redis interfaces are async, so every Redis open and read is raced
//! against a `wasi:clocks` timer (`deadline.rs`) and a stalled Redis costs a request at most
//! `redis_timeout_ms` before the same 503 `redis_unavailable` a refused connection gets.
//! Under WASIp2 the host call blocks the guest and nothing can bound it.
//!
//! The handler takes the raw `wasi:http@0.3.0` request (its body, a stream, is never read)
//! and builds the raw response: the SDK's `http` conversions are not linked in.

mod deadline;
mod key_value;
mod outbound;

use std::cell::{Cell, OnceCell};
use std::time::{SystemTime, UNIX_EPOCH};

use spin_sdk_7::wasip3::http::types::{ErrorCode, Fields, Method, Request, Response as Wasi};
use spin_sdk_7::wasip3::{self, wit_bindgen, wit_future, wit_stream};

use self::deadline::Deadline;
use crate::config::{self, Config, RedisApi, var};
use crate::request::{MAX_CONDITIONAL_BYTES, MAX_TARGET_BYTES, RequestHead};
use crate::respond::Response;
use crate::store::{Store, StoreError};

struct Reader;

wasip3::http::service::export!(Reader);

impl wasip3::exports::http::handler::Guest for Reader {
    async fn handle(request: Request) -> Result<Wasi, ErrorCode> {
        let head = request_head(&request);
        drop(request); // the body is never read
        let timeout_ms = Cell::new(None);
        let config = Config::from_lookup(|name| lookup(name, &timeout_ms));
        let store = SpinStore {
            config: &config,
            timeout_ms: &timeout_ms,
            deadline: OnceCell::new(),
            backend: OnceCell::new(),
        };
        let response = crate::serve::handle(&head, &config, &store, unix_now());
        Ok(send(response))
    }
}

/// A variable lookup for [`Config`]. Asked for [`var::CONFIG`], it reads
/// [`var::CONFIG_TIMED`] first (deploy/spin/spin4.toml), keeps its timeout line in
/// `timeout_ms` and hands the rest on: the timeout costs no lookup of its own.
fn lookup(name: &str, timeout_ms: &Cell<Option<u64>>) -> Option<String> {
    if name == var::CONFIG
        && let Some(timed) = variable(var::CONFIG_TIMED)
    {
        let (timeout, rest) = config::split_timed(&timed);
        timeout_ms.set(Some(parse_timeout(timeout)));
        return Some(rest.to_owned());
    }
    variable(name)
}

/// One `spin:variables@3.0.0` lookup (async in the interface; local, so not raced).
fn variable(name: &str) -> Option<String> {
    wit_bindgen::block_on(spin_sdk_7::variables::get(name)).ok()
}

fn parse_timeout(value: &str) -> u64 {
    config::redis_timeout_ms(value).unwrap_or_else(|default| {
        eprintln!("status-reader: redis_timeout_ms must be a whole number >= 1; using {default}");
        default
    })
}

/// Copies the method, target and the two inspected headers. Oversized values are not
/// copied whole: a placeholder of just over the limit keeps routing's 414/431 decision.
fn request_head(request: &Request) -> RequestHead {
    let mut target = request.get_path_with_query().unwrap_or_default();
    if target.len() > MAX_TARGET_BYTES {
        target = "/".repeat(MAX_TARGET_BYTES + 1);
    }
    let headers = request.get_headers();
    let mut if_none_match = headers.get("if-none-match");
    if if_none_match.iter().map(Vec::len).sum::<usize>() > MAX_CONDITIONAL_BYTES {
        if_none_match = vec![vec![b' '; MAX_CONDITIONAL_BYTES + 1]];
    }
    let origin = headers.get("origin").into_iter().next();
    RequestHead {
        method: method_name(request.get_method()),
        path_with_query: target,
        if_none_match,
        origin,
    }
}

fn method_name(method: Method) -> String {
    match method {
        Method::Get => "GET".to_owned(),
        Method::Head => "HEAD".to_owned(),
        Method::Post => "POST".to_owned(),
        Method::Put => "PUT".to_owned(),
        Method::Delete => "DELETE".to_owned(),
        Method::Connect => "CONNECT".to_owned(),
        Method::Options => "OPTIONS".to_owned(),
        Method::Trace => "TRACE".to_owned(),
        Method::Patch => "PATCH".to_owned(),
        Method::Other(other) => other,
    }
}

/// Builds the `wasi:http` response: head now, body written by a spawned task after the
/// handler has returned it. A header the host refuses (none should be: every value is
/// visible ASCII) degrades to a bare 500 rather than no answer at all.
fn send(response: Response) -> Wasi {
    let fields: Vec<(String, Vec<u8>)> = response
        .headers
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value.into_bytes()))
        .collect();
    let (headers, status, body) = match Fields::from_list(&fields) {
        Ok(headers) => (headers, response.status, response.body),
        Err(e) => {
            eprintln!("status-reader: host refused response headers: {e:?}");
            (Fields::new(), 500, Vec::new())
        }
    };
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

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// The store `redis_api` names, chosen and opened on first use (OPTIONS, 404, 405 and the
/// static assets never open one), with the request's [`Deadline`] set at that moment.
struct SpinStore<'c, 'l> {
    config: &'c Config<'l>,
    /// `redis_timeout_ms` from the timed settings, once they were read.
    timeout_ms: &'c Cell<Option<u64>>,
    deadline: OnceCell<Deadline>,
    backend: OnceCell<Backend>,
}

enum Backend {
    Outbound(outbound::Outbound),
    KeyValue(key_value::KeyValue),
    /// `redis_api` holds an unknown value (logged once per request).
    Misconfigured,
}

impl SpinStore<'_, '_> {
    fn deadline(&self) -> &Deadline {
        self.deadline.get_or_init(|| {
            // The settings were read before any Redis call (they name the API); a manifest
            // without the timed settings names the timeout on its own.
            let ms = self.timeout_ms.get().unwrap_or_else(|| {
                parse_timeout(&variable(var::REDIS_TIMEOUT_MS).unwrap_or_default())
            });
            Deadline::after_ms(ms)
        })
    }

    fn backend(&self) -> &Backend {
        self.backend.get_or_init(|| match self.config.redis_api() {
            Some(RedisApi::Outbound) => {
                let url = self.config.redis_url();
                Backend::Outbound(outbound::Outbound::open(url, self.deadline()))
            }
            Some(RedisApi::KeyValue) => {
                Backend::KeyValue(key_value::KeyValue::open(self.deadline()))
            }
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
            Backend::Outbound(b) => b.get(key, self.deadline()),
            Backend::KeyValue(b) => b.get(key, self.deadline()),
            Backend::Misconfigured => Err(StoreError::Unavailable),
        }
    }

    fn ttl(&self, key: &str) -> Result<Option<i64>, StoreError> {
        match self.backend() {
            Backend::Outbound(b) => b.ttl(key, self.deadline()).map(Some),
            // Spin's key-value interface has get/set/delete/exists/get-keys: no TTL.
            Backend::KeyValue(_) => Ok(None),
            Backend::Misconfigured => Err(StoreError::Unavailable),
        }
    }
}
