//! The control component: the least a Spin HTTP component can do to serve the status document.
//!
//! It reads two variables, opens a Redis connection (one per request, as Spin does), `GET`s
//! the key and returns the bytes unchanged — no validation, no freshness, no headers beyond
//! `Content-Type`. Benchmarked in the same host as the reader, the gap between the two is
//! the cost of the reader's own logic; everything else (instantiation, the Redis round trip,
//! HTTP) is the runtime's floor.
//!
//! Bench code only: it is never deployed.

#[cfg(target_arch = "wasm32")]
mod handler {
    use spin_sdk::http::{IntoResponse, Request, Response};
    use spin_sdk::http_component;
    use spin_sdk::redis::Connection;

    #[http_component]
    fn handle(_request: Request) -> anyhow::Result<impl IntoResponse> {
        let address = spin_sdk::variables::get("redis_address")?;
        let key = spin_sdk::variables::get("status_key")?;
        let connection = Connection::open(&address)?;
        let response = match connection.get(&key)? {
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
