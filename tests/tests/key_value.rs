//! `redis_api=key_value`: the real `.wasm` reading through Spin's key-value API, which
//! `reader-host` implements on Redis like Spin 4.1 (one shared, auto-reconnecting connection
//! for the whole host, raw keys, a `PING` on every open), against real Redis — and the
//! outbound API beside it for comparison.
//!
//! Restarts and refusals use a throwaway `redis-server` (dev-support), never the shared one.

use std::time::{Duration, Instant};

use integration_tests::acl::DocumentedUser;
use integration_tests::reader::{ReaderConfig, ReaderServer, Reply};
use integration_tests::redis::{RedisServer, TestRedis};
use integration_tests::unix_now;
use redis::Commands;

/// The outbound address when the key-value store is the one in use: nothing listens there,
/// so a read that went the outbound way would fail.
const NOWHERE: &str = "redis://127.0.0.1:1";

/// The fixture document, written now.
fn document() -> Vec<u8> {
    integration_tests::document::at(unix_now())
}

/// The body without `_cache` (its age moves between two reads).
fn without_cache(reply: &Reply) -> serde_json::Value {
    let mut v = reply.json();
    v.as_object_mut().unwrap().remove("_cache");
    v
}

fn set(url: &str, key: &str, value: &[u8]) {
    let mut c = redis::Client::open(url)
        .unwrap()
        .get_connection_with_timeout(Duration::from_secs(5))
        .unwrap();
    let () = c.set(key, value).unwrap();
}

#[tokio::test]
async fn both_backends_serve_the_same_document_from_the_raw_key() {
    let redis = TestRedis::new();
    let key = redis.status_key();
    redis.set(&key, document());
    let outbound = ReaderServer::start(ReaderConfig::new(&redis.url(), &key)).await;
    let kv =
        ReaderServer::start(ReaderConfig::new(&redis.url(), &key).key_value(&redis.url())).await;

    let a = outbound.get("/server/status").await;
    let b = kv.get("/server/status").await;
    assert_eq!((a.status, b.status), (200, 200), "{:?}", b.body);
    assert_eq!(without_cache(&a), without_cache(&b));
    assert_eq!(a.header("etag"), b.header("etag"));
    assert_eq!(b.json()["_cache"]["source"], "primary");

    // Only the last-good copy: the key-value path falls back the same way.
    redis.del(&key);
    redis.set(&redis.last_good_key(), document());
    let b = kv.get("/server/status").await;
    assert_eq!(b.status, 200);
    assert_eq!(b.json()["_cache"]["source"], "last_good");

    // Debug says honestly that there is no TTL through this API.
    let d = kv.get("/server/status/debug").await;
    assert_eq!(d.status, 200);
    let v = d.json();
    assert!(v["ttl"].is_null(), "{v}");
    assert!(
        v["ttl_unavailable"].as_str().unwrap().contains("key_value"),
        "{v}"
    );
    let d = outbound.get("/server/status/debug").await.json();
    assert_eq!(d["ttl"], -1, "the outbound API still reads the TTL");
    assert!(d.get("ttl_unavailable").is_none());

    // A key of the wrong type is named as such, not as an outage.
    redis.del(&redis.last_good_key());
    let _: () = redis.conn().hset(&key, "f", "v").unwrap();
    let w = kv.get("/server/status").await;
    assert_eq!(
        (w.status, w.json()["error"].clone()),
        (502, "wrong_type".into())
    );
    redis.del(&key);
}

#[tokio::test]
async fn the_shared_connection_survives_a_redis_restart() {
    let mut server = RedisServer::start();
    let key = "server:status";
    set(&server.url(), key, &document());
    let reader =
        ReaderServer::start(ReaderConfig::new(&server.url(), key).key_value(&server.url())).await;
    assert_eq!(reader.get("/server/status").await.status, 200);

    server.kill();
    let started = Instant::now();
    let r = reader.get("/server/status").await;
    assert_eq!(r.status, 503, "{:?}", r.body);
    assert_eq!(r.json()["error"], "redis_unavailable");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "an outage is a quick 503, took {:?}",
        started.elapsed()
    );

    server.restart();
    set(&server.url(), key, &document());
    // The connection manager reconnects by itself; no reader restart.
    let deadline = Instant::now() + integration_tests::wait::SETTLE;
    let mut last = 0;
    while Instant::now() < deadline {
        last = reader.get("/server/status").await.status;
        if last == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(last, 200, "the shared connection did not recover");
    let recovered = Instant::now();
    for _ in 0..20 {
        assert_eq!(reader.get("/server/status").await.status, 200);
    }
    eprintln!("recovered; 20 more requests in {:?}", recovered.elapsed());
}

#[tokio::test]
async fn a_redis_refusing_connections_is_a_quick_503_and_then_recovers() {
    let mut server = RedisServer::start();
    let url = server.url();
    server.kill(); // nothing listens on the port now: connections are refused
    let reader =
        ReaderServer::start(ReaderConfig::new(&url, "server:status").key_value(&url)).await;
    for _ in 0..3 {
        let started = Instant::now();
        let r = reader.get("/server/status").await;
        assert_eq!(r.status, 503);
        assert_eq!(r.json()["error"], "redis_unavailable");
        assert_eq!(r.header("retry-after"), Some("5"));
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
    }
    let h = reader.get("/health").await;
    assert_eq!(
        (h.status, h.json()["status"].clone()),
        (503, "error".into())
    );

    // The first connect failed; a later open tries again.
    server.restart();
    set(&url, "server:status", &document());
    assert_eq!(reader.get("/server/status").await.status, 200);
}

#[tokio::test]
async fn the_documented_reader_user_works_on_the_key_value_backend() {
    let redis = TestRedis::new();
    let key = redis.status_key();
    redis.set(&key, document());
    let password = format!("Rd-{:016x}", fastrand::u64(..));
    let user = DocumentedUser::create(&redis, "status-reader", &password);
    let url = user.url(&redis.url());

    // Spin's store sends PING on every open; the documented user is refused it, which Spin
    // (and reader-host) ignore: the open and the GET still work.
    let mut c = redis::Client::open(url.as_str())
        .unwrap()
        .get_connection_with_timeout(Duration::from_secs(5))
        .unwrap();
    let ping: redis::RedisResult<String> = redis::cmd("PING").query(&mut c);
    assert!(
        ping.as_ref().is_err_and(|e| e.code() == Some("NOPERM")),
        "the documented line grants PING now ({ping:?}): update this test and docs/deploy.md"
    );

    // No credentials reach the component: redis_address/user/password stay unset.
    let reader = ReaderServer::start(ReaderConfig::new(NOWHERE, &key).key_value(&url)).await;
    for _ in 0..3 {
        let r = reader.get("/server/status").await;
        assert_eq!(r.status, 200, "{:?}", r.body);
    }
    // The last-good fallback reads the second documented key.
    redis.del(&key);
    redis.set(&redis.last_good_key(), document());
    let r = reader.get("/server/status").await;
    assert_eq!(
        (r.status, r.json()["_cache"]["source"].clone()),
        (200, "last_good".into())
    );
    // Any other key is refused by Redis, and the reader says so as an outage, not a 404.
    let other =
        ReaderServer::start(ReaderConfig::new(NOWHERE, &redis.key("other")).key_value(&url)).await;
    redis.set(&redis.key("other"), document());
    assert_eq!(other.get("/server/status").await.status, 503);
}
