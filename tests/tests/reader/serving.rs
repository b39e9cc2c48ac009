//! A document in Redis served: fresh with its cache metadata and headers, stale from
//! `:last_good`, health and debug, and a missing one.

use integration_tests::redis::TestRedis;
use integration_tests::{document, unix_now};

use super::{assert_error, start};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fresh_document_is_served_with_cache_metadata_and_headers() {
    let redis = TestRedis::new();
    let updated_at = unix_now() - 10.0;
    let stored = document::at(updated_at);
    redis.set_ex(&redis.status_key(), &stored, 900);
    let reader = start(&redis).await;

    let reply = reader.get("/server/status").await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(
        reply.header("content-type"),
        Some("application/json; charset=utf-8")
    );
    let v = reply.json();
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["server_status"], 1.0);
    assert_eq!(v["rates"]["exp"], 3.5);
    assert_eq!(v["client_status"], 2.0);
    assert_eq!(v["_meta"]["RateExp"], "Рейт опыта");
    assert_eq!(v["_cache"]["cached"], true);
    assert_eq!(v["_cache"]["fresh"], true);
    assert_eq!(v["_cache"]["stale"], false);
    assert_eq!(v["_cache"]["source"], "primary");
    let age = v["_cache"]["age_seconds"].as_u64().unwrap();
    assert!((9..=15).contains(&age), "age {age}");
    // The stored document is served as stored (plus `_cache`).
    let stored_doc: serde_json::Value = serde_json::from_slice(&stored).unwrap();
    let mut served = v.clone();
    served.as_object_mut().unwrap().remove("_cache");
    assert_eq!(served, stored_doc);

    let cache_control = reply.header("cache-control").unwrap();
    assert!(
        cache_control.starts_with("public, max-age="),
        "{cache_control}"
    );
    let max_age: u64 = cache_control["public, max-age=".len()..]
        .split(',')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!((580..=590).contains(&max_age), "{cache_control}");
    assert!(cache_control.contains("stale-while-revalidate="));
    assert!(cache_control.contains("stale-if-error="));
    assert!(!cache_control.contains("s-maxage"));
    let etag = reply.header("etag").unwrap();
    assert!(
        etag.starts_with('"') && etag.ends_with('"'),
        "strong ETag: {etag}"
    );
    assert!(reply.header("last-modified").unwrap().ends_with(" GMT"));
    assert_eq!(reply.header("access-control-allow-origin"), Some("*"));
    assert_eq!(
        reply.header("content-length"),
        Some(reply.body.len().to_string().as_str())
    );

    // One request, one Redis connection (Spin's model), through a pre-instantiated component.
    // (Its peak memory is counted when its store is dropped, which may be after the reply.)
    let stats = reader.settled_stats().await;
    assert_eq!(stats.component_requests, 1);
    assert_eq!(stats.redis_connections_opened, 1);
    assert_eq!(stats.redis_open_refused, 0);
    assert!(stats.peak_memory_bytes_max > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_document_comes_from_last_good() {
    let redis = TestRedis::new();
    redis.set(&redis.last_good_key(), document::at(unix_now() - 5000.0));
    let reader = start(&redis).await;

    let reply = reader.get("/server/status").await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let v = reply.json();
    assert_eq!(v["_cache"]["source"], "last_good");
    assert_eq!(v["_cache"]["stale"], true);
    assert_eq!(v["_cache"]["fresh"], false);
    assert!(v["_cache"]["age_seconds"].as_u64().unwrap() >= 5000);
    assert!(reply.header("etag").is_some());
    assert!(
        reply
            .header("cache-control")
            .unwrap()
            .starts_with("public, max-age=")
    );

    // Health says stale, and so does the debug view.
    let health = reader.get("/health").await;
    assert_eq!(health.status, 503);
    assert_eq!(health.json()["status"], "stale");
    let debug = reader.get("/server/status/debug").await;
    assert_eq!(debug.status, 200);
    let d = debug.json();
    assert_eq!(d["key"], redis.last_good_key());
    assert_eq!(d["source"], "last_good");
    assert_eq!(d["ttl"], -1, "last_good never expires");
    assert_eq!(d["is_fresh"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_debug_for_a_fresh_document() {
    let redis = TestRedis::new();
    redis.set_ex(&redis.status_key(), document::at(unix_now() - 1.0), 900);
    let reader = start(&redis).await;

    let health = reader.get("/health").await;
    assert_eq!(health.status, 200);
    let h = health.json();
    assert_eq!(h["status"], "ok");
    assert!(h["age_seconds"].as_u64().unwrap() <= 5);

    let debug = reader.get("/server/status/debug").await;
    assert_eq!(debug.status, 200);
    assert_eq!(debug.header("cache-control"), Some("no-store"));
    let d = debug.json();
    assert_eq!(d["cached"], true);
    assert_eq!(d["key"], redis.status_key());
    assert_eq!(d["schema_version"], 1);
    assert_eq!(d["is_fresh"], true);
    let ttl = d["ttl"].as_i64().unwrap();
    assert!((890..=900).contains(&ttl), "ttl {ttl}");
    assert!(d["defaulted"].is_array());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_document_is_503_with_retry_after() {
    let redis = TestRedis::new();
    let reader = start(&redis).await;
    let reply = reader.get("/server/status").await;
    assert_error(&reply, 503, "status_unavailable");
    let retry: u64 = reply.header("retry-after").unwrap().parse().unwrap();
    assert!(retry > 0);
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    let health = reader.get("/health").await;
    assert_eq!(health.status, 503);
    assert_eq!(health.json()["status"], "error");
}
