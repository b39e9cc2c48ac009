//! The Spin glue, compiled for wasm32 only: variables in, Redis through the [`Store`]
//! seam, request head in, [`Response`] out. No decision is made here.
//!
//! The handler takes the raw `wasi:http` request rather than `spin_sdk::http::Request`
//! because the latter buffers the whole request body, unbounded, before the handler runs;
//! no endpoint reads a body, so this one never touches it.

use std::cell::OnceCell;
use std::time::{SystemTime, UNIX_EPOCH};

use spin_sdk::http::{Fields, IncomingRequest, OutgoingResponse, ResponseOutparam};
use spin_sdk::http_component;
use spin_sdk::redis::{Connection, Error as RedisError, RedisParameter, RedisResult};

use crate::config::Config;
use crate::request::{MAX_CONDITIONAL_BYTES, MAX_TARGET_BYTES, RequestHead};
use crate::respond::Response;
use crate::store::{Store, StoreError, classify};

#[http_component]
async fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
    let head = request_head(&request);
    drop(request); // the body is never read
    let config = Config::from_lookup(|name| spin_sdk::variables::get(name).ok());
    let store = SpinRedis {
        url: config.redis_url.as_deref(),
        connection: OnceCell::new(),
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

/// Spin's Redis connection, opened on first use: OPTIONS, 404 and 405 never connect, and a
/// request that needs Redis opens exactly one connection.
struct SpinRedis<'a> {
    url: Option<&'a str>,
    connection: OnceCell<Option<Connection>>,
}

impl SpinRedis<'_> {
    fn connection(&self) -> Result<&Connection, StoreError> {
        let connection = self.connection.get_or_init(|| {
            let url = self.url?;
            Connection::open(url)
                .map_err(|e| log_redis_error("connect", &e))
                .ok()
        });
        connection.as_ref().ok_or(StoreError::Unavailable)
    }
}

impl Store for SpinRedis<'_> {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.connection()?
            .get(key)
            .map_err(|e| log_redis_error("GET", &e))
    }

    fn ttl(&self, key: &str) -> Result<i64, StoreError> {
        let results = self
            .connection()?
            .execute("TTL", &[RedisParameter::Binary(key.as_bytes().to_vec())])
            .map_err(|e| log_redis_error("TTL", &e))?;
        match results.first() {
            Some(RedisResult::Int64(ttl)) => Ok(*ttl),
            _ => Err(StoreError::Unavailable),
        }
    }
}

/// Logs a Redis failure (never the address, which may carry credentials) and classifies
/// it for the response.
fn log_redis_error(operation: &str, error: &RedisError) -> StoreError {
    let (type_error, message) = match error {
        RedisError::InvalidAddress => (false, "invalid or not allowed address"),
        RedisError::TooManyConnections => (false, "too many connections"),
        RedisError::TypeError => (true, "value of the wrong type"),
        RedisError::Other(message) => (false, message.as_str()),
    };
    eprintln!("status-reader: redis {operation} failed: {message}");
    classify(type_error, message)
}
