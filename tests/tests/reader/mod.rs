//! The real release reader `.wasm`, hosted in `reader-host` (wasmtime) as Spin would host it,
//! configured from the repository's `spin.toml`, reading the real Redis.
//!
//! Every test has its own status key (`test:<random>:server:status`) through the
//! `status_key` variable, so the tests run in parallel. Documents are built with
//! `status_document::build`, the refresher's own builder.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use integration_tests::reader::{ReaderConfig, ReaderServer, Reply};
use integration_tests::redis::TestRedis;
use integration_tests::{document, unix_now};

mod binary;
mod faults;
mod host;
mod http;
mod serving;

async fn start(redis: &TestRedis) -> ReaderServer {
    ReaderServer::start(ReaderConfig::new(&redis.url(), &redis.status_key())).await
}

/// A fresh document under `redis`'s status key (with the refresher's default TTL, 900 s).
fn store_fresh(redis: &TestRedis) {
    redis.set_ex(&redis.status_key(), document::at(unix_now()), 900);
}

/// A reader on this test's keys, serving [`store_fresh`]'s document.
async fn serving_fresh() -> (TestRedis, ReaderServer) {
    let redis = TestRedis::new();
    store_fresh(&redis);
    let reader = start(&redis).await;
    (redis, reader)
}

/// Asserts a JSON error response with its code and the reader's error headers, and that
/// the body gives nothing away.
fn assert_error(reply: &Reply, status: u16, code: &str) {
    assert_eq!(reply.status, status, "body: {:?}", reply.body);
    assert_eq!(
        reply.header("content-type"),
        Some("application/json; charset=utf-8")
    );
    let v = reply.json();
    assert_eq!(v["error"], code, "{v}");
    assert!(v["message"].is_string(), "{v}");
    let text = String::from_utf8_lossy(&reply.body);
    for secret in ["redis://", "127.0.0.1", "6379", "test:"] {
        assert!(
            !text.contains(secret),
            "error body leaks {secret:?}: {text}"
        );
    }
}

/// Starts a reader on `redis`'s key and asserts [`assert_error`] on its `/server/status`.
async fn assert_status_error(redis: &TestRedis, status: u16, code: &str) {
    let reader = start(redis).await;
    assert_error(&reader.get("/server/status").await, status, code);
}

/// A TCP listener that counts the connections it accepts (and never answers them).
struct CountingListener {
    addr: SocketAddr,
    accepted: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl CountingListener {
    async fn start() -> CountingListener {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        let counter = accepted.clone();
        let task = tokio::spawn(async move {
            let mut held = Vec::new();
            // Bounded: a test opens a handful of connections at most.
            while held.len() < 64 {
                let Ok((stream, _)) = listener.accept().await else {
                    break;
                };
                counter.fetch_add(1, Ordering::SeqCst);
                held.push(stream); // accepted and left silent: a stalled server
            }
        });
        CountingListener {
            addr,
            accepted,
            task,
        }
    }

    fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

impl Drop for CountingListener {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Writes `request` on a fresh connection and reads until the server closes it (bounded).
async fn raw_exchange(addr: SocketAddr, request: &[u8]) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let work = async {
        let mut stream = tokio::net::TcpStream::connect(addr).await?;
        stream.write_all(request).await?;
        let mut out = Vec::new();
        stream.take(64 * 1024).read_to_end(&mut out).await?;
        Ok::<_, std::io::Error>(String::from_utf8_lossy(&out).into_owned())
    };
    tokio::time::timeout(Duration::from_secs(10), work)
        .await
        .expect("raw exchange timed out")
        .expect("raw exchange failed")
}
