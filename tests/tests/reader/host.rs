//! What the host enforces: the outbound allow-list, a fresh instance and one connection per
//! request, the host's own 404 and request-size limits.

use std::time::Duration;

use bytes::Bytes;
use integration_tests::reader::{Build, ReaderConfig, ReaderServer, http_request};
use integration_tests::redis::TestRedis;

use super::{CountingListener, assert_error, raw_exchange, serving_fresh, start, store_fresh};

/// A reader whose component asks for `connection` (address, user and password in its
/// packed `reader_config`), outside the allow-list: one request is a 503, refused by the
/// host before any connection is opened.
async fn refused_reader(redis: &TestRedis, connection: &str) -> ReaderServer {
    let config = ReaderConfig::new(&redis.url(), &redis.status_key());
    let packed = format!("outbound\n{}\n*\n{connection}", redis.status_key());
    // The Spin 4 build's manifest packs the timeout in front (deploy/spin/spin4.toml).
    let config = match config.build {
        Build::Wasip2 => config.component_literal("reader_config", &packed),
        Build::Wasip3 => {
            config.component_literal("reader_config_timed", &format!("1000\n{packed}"))
        }
    };
    let reader = ReaderServer::start(config).await;
    let reply = reader.get("/server/status").await;
    assert_error(&reply, 503, "redis_unavailable");
    let stats = reader.settled_stats().await;
    assert_eq!(stats.redis_open_refused, 1);
    assert_eq!(stats.redis_connections_opened, 0);
    reader
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn component_cannot_reach_a_host_outside_its_allow_list() {
    let redis = TestRedis::new();
    store_fresh(&redis);
    let trap = CountingListener::start().await;
    // The application's redis_address (and so allowed_outbound_hosts) stays the real
    // Redis; the component variable is pointed elsewhere, first at a listener of ours...
    let reader = refused_reader(&redis, &format!("redis://{}\n\n", trap.addr)).await;
    // Give a would-be connection time to arrive: none may.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        trap.accepted(),
        0,
        "the host connected to a non-allowed address"
    );
    drop(reader);

    // ... then at MySQL's port, as a compromised component would try.
    let reader = refused_reader(&redis, "redis://127.0.0.1:3306\n\n").await;
    assert_eq!(
        reader.stats().redis_errors,
        0,
        "refused before any connect attempt"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_gets_a_fresh_instance_and_one_connection() {
    let (_redis, reader) = serving_fresh().await;
    for _ in 0..5 {
        assert_eq!(reader.get("/server/status").await.status, 200);
    }
    let stats = reader.settled_stats().await;
    assert_eq!(stats.component_requests, 5);
    assert_eq!(stats.redis_connections_opened, 5);
    assert_eq!(stats.guest_failures, 0);
    // The reader's memory budget: at most 2 MiB of linear memory per request.
    assert!(
        stats.peak_memory_bytes_max <= 2 * 1024 * 1024,
        "peak linear memory {} bytes",
        stats.peak_memory_bytes_max
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paths_outside_every_route_get_the_hosts_404() {
    let redis = TestRedis::new();
    store_fresh(&redis);
    let reader = ReaderServer::start(
        ReaderConfig::new(&redis.url(), &redis.status_key()).without_route("/..."),
    )
    .await;
    let reply = reader.get("/nope").await;
    assert_eq!(reply.status, 404);
    assert_eq!(
        reply.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(reader.get("/health").await.status, 200);
    let stats = reader.settled_stats().await;
    assert_eq!(stats.not_found, 1);
    assert_eq!(
        stats.component_requests, 1,
        "the 404 never instantiated the component"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_requests_get_a_defined_4xx() {
    let redis = TestRedis::new();
    let reader = start(&redis).await;
    // Header section over the host's 16 KiB bound: hyper answers 431.
    let big = "x".repeat(20 * 1024);
    let reply = reader
        .request("GET", "/server/status", &[("x-big", &big)])
        .await;
    assert_eq!(reply.status, 431);
    // A body over the host's 1 MiB bound, announced by Content-Length: 413.
    let body = Bytes::from(vec![b'x'; 1024 * 1024 + 1]);
    let reply = http_request(reader.addr(), "POST", "/server/status", &[], body).await;
    assert_eq!(reply.status, 413);
    // Not HTTP at all: hyper's 400, and the component never sees it.
    let raw = raw_exchange(reader.addr(), b"NOT HTTP\r\n\r\n").await;
    assert!(raw.starts_with("HTTP/1.1 400"), "{raw:?}");
    // A long target within the host's bounds reaches the component, which says 414.
    let path = format!("/server/status?{}", "q".repeat(4096));
    assert_error(&reader.get(&path).await, 414, "uri_too_long");
    assert_eq!(reader.stats().guest_failures, 0);
}
