//! Redis down or stalled, and values that are not a document: each a defined 5xx.

use std::time::{Duration, Instant};

use integration_tests::reader::{ReaderConfig, ReaderServer};
use integration_tests::redis::TestRedis;
use integration_tests::{document, unix_now};
use redis::Commands;
use status_document::MAX_DOCUMENT_BYTES;

use super::{CountingListener, assert_error, assert_status_error};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_down_is_a_quick_503() {
    let _timed = integration_tests::load::timed().await;
    let redis = TestRedis::new();
    // A port nobody listens on; allowed, since the allow-list follows redis_address.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let reader = ReaderServer::start(
        ReaderConfig::new(&redis.url(), &redis.status_key())
            .variable("redis_address", &format!("redis://127.0.0.1:{closed}")),
    )
    .await;
    let started = Instant::now();
    let reply = reader.get("/server/status").await;
    let took = started.elapsed();
    assert_error(&reply, 503, "redis_unavailable");
    assert!(reply.header("retry-after").is_some());
    let stats = reader.settled_stats().await;
    assert_eq!(stats.redis_open_refused, 0, "allowed, just down");
    assert_eq!(stats.redis_errors, 1);
    // Quick means it did not wait for the host's Redis timeout (1 s): the refused connect
    // is an error at once, not a timeout. The host's own count says so whatever the
    // machine's load; the wall clock only guards against a hang.
    assert_eq!(
        stats.redis_timeouts, 0,
        "a refused connection is not waited for"
    );
    assert!(took < Duration::from_secs(5), "{took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_stall_is_a_503_within_the_timeout() {
    let _timed = integration_tests::load::timed().await;
    let redis = TestRedis::new();
    let stalled = CountingListener::start().await;
    let reader = ReaderServer::start(
        ReaderConfig::new(&redis.url(), &redis.status_key())
            .variable("redis_address", &format!("redis://{}", stalled.addr))
            .redis_timeout(Duration::from_millis(500)),
    )
    .await;
    let started = Instant::now();
    let reply = reader.get("/server/status").await;
    let took = started.elapsed();
    assert_error(&reply, 503, "redis_unavailable");
    assert!(
        took >= Duration::from_millis(450),
        "{took:?}: did it really stall?"
    );
    assert!(took < Duration::from_secs(2), "{took:?}");
    assert_eq!(stalled.accepted(), 1);
    assert_eq!(reader.settled_stats().await.redis_timeouts, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupt_json_is_502() {
    let redis = TestRedis::new();
    redis.set(&redis.status_key(), b"{\"schema_version\": 1, \"rates\": {");
    assert_status_error(&redis, 502, "invalid_json").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_shape_is_502() {
    let redis = TestRedis::new();
    redis.set(
        &redis.status_key(),
        br#"{"schema_version":1,"server_status":"up"}"#,
    );
    assert_status_error(&redis, 502, "invalid_document").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_redis_type_is_502() {
    let redis = TestRedis::new();
    let _: i64 = redis
        .conn()
        .lpush(redis.status_key(), "not a string")
        .unwrap();
    assert_status_error(&redis, 502, "wrong_type").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_value_is_502() {
    let redis = TestRedis::new();
    // A valid-looking document padded past the bound.
    let mut big = String::from_utf8(document::at(unix_now())).unwrap();
    let pad = format!(",\"pad\":\"{}\"}}", "x".repeat(MAX_DOCUMENT_BYTES));
    big.truncate(big.len() - 1);
    big.push_str(&pad);
    assert!(big.len() > MAX_DOCUMENT_BYTES);
    redis.set(&redis.status_key(), big);
    assert_status_error(&redis, 502, "document_too_large").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_schema_version_is_502() {
    let redis = TestRedis::new();
    let doc = String::from_utf8(document::at(unix_now())).unwrap();
    assert!(doc.contains("\"schema_version\":1"));
    redis.set(
        &redis.status_key(),
        doc.replace("\"schema_version\":1", "\"schema_version\":2"),
    );
    assert_status_error(&redis, 502, "unsupported_schema_version").await;
}
