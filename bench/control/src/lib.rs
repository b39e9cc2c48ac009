//! The control component: the least a Spin HTTP component can do to serve the status document.
//!
//! Two flavours, chosen by the path so that choosing costs no host call:
//!
//! * any path but `/kv/...`: reads two variables, opens an outbound Redis connection (one
//!   per request, as Spin does), `GET`s the key and returns the bytes unchanged;
//! * `/kv/...`: reads one variable and `GET`s the key through Spin's key-value API (store
//!   `default`, on Redis through the runtime config: one shared connection per app).
//!
//! No validation, no freshness, no headers beyond `Content-Type`. Benchmarked in the same
//! host as the reader, the gap between the two is the cost of the reader's own logic;
//! everything else (instantiation, the Redis round trips, HTTP) is the runtime's floor.
//!
//! Bench code only: it is never deployed.

#[cfg(target_arch = "wasm32")]
mod handler {
    use spin_sdk::http::{IntoResponse, Request, Response};
    use spin_sdk::http_component;
    use spin_sdk::key_value::Store;
    use spin_sdk::redis::Connection;

    #[http_component]
    fn handle(request: Request) -> anyhow::Result<impl IntoResponse> {
        let body = if request.path().starts_with("/kv/") {
            let key = spin_sdk::variables::get("status_key")?;
            Store::open_default()?.get(&key)?
        } else {
            let address = spin_sdk::variables::get("redis_address")?;
            let key = spin_sdk::variables::get("status_key")?;
            Connection::open(&address)?.get(&key)?
        };
        let response = match body {
            Some(body) => Response::builder()
                .status(200)
                .header("content-type", "application/json; charset=utf-8")
                .body(body)
                .build(),
            None => Response::builder().status(503).body(Vec::new()).build(),
        };
        Ok(response)
    }
}
