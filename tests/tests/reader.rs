//! The real release reader `.wasm`, hosted in `reader-host` (wasmtime) as Spin would host it,
//! configured from the repository's `spin.toml`, reading the real Redis.
//!
//! Every test has its own status key (`test:<random>:server:status`) through the
//! `status_key` variable, so the tests run in parallel. Documents are built with
//! `status_document::build`, the refresher's own builder.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use integration_tests::binaries::{Child, Signal};
use integration_tests::reader::{
    Build, ReaderConfig, ReaderServer, Reply, http_request, listening_addr, reader_host_command,
};
use integration_tests::redis::TestRedis;
use integration_tests::{document, unix_now};
use redis::Commands;
use status_document::MAX_DOCUMENT_BYTES;

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_down_is_a_quick_503() {
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn if_none_match_gives_304_without_body() {
    let (_redis, reader) = serving_fresh().await;
    let first = reader.get("/server/status").await;
    assert_eq!(first.status, 200);
    let etag = first.header("etag").unwrap().to_owned();

    let again = reader
        .request("GET", "/server/status", &[("if-none-match", &etag)])
        .await;
    assert_eq!(again.status, 304);
    assert!(again.body.is_empty());
    assert_eq!(again.header("etag"), Some(etag.as_str()));
    assert!(again.header("cache-control").is_some());

    let other = reader
        .request("GET", "/server/status", &[("if-none-match", "\"nope\"")])
        .await;
    assert_eq!(other.status, 200);
    assert!(!other.body.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn head_has_get_headers_and_no_body() {
    let (_redis, reader) = serving_fresh().await;
    let get = reader.get("/server/status").await;
    let head = reader.request("HEAD", "/server/status", &[]).await;
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    // Framing headers and Date may differ; everything else must be the same.
    let framing = ["content-length", "transfer-encoding", "date"];
    let comparable = |r: &Reply| {
        let mut v: Vec<(String, String)> = r
            .headers
            .iter()
            .filter(|(n, _)| !framing.contains(&n.as_str()))
            .map(|(n, v)| (n.to_string(), v.to_str().unwrap().to_owned()))
            .collect();
        v.sort();
        v
    };
    let (g, h) = (comparable(&get), comparable(&head));
    // Cache-Control's max-age counts down: it may differ by a second between the two.
    let strip_age = |v: Vec<(String, String)>| {
        v.into_iter()
            .filter(|(n, _)| n != "cache-control")
            .collect::<Vec<_>>()
    };
    assert_eq!(strip_age(g), strip_age(h));
    assert!(head.header("cache-control").is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn options_preflight() {
    let redis = TestRedis::new();
    let reader = start(&redis).await;
    let reply = reader
        .request(
            "OPTIONS",
            "/server/status",
            &[
                ("origin", "https://example.org"),
                ("access-control-request-method", "GET"),
            ],
        )
        .await;
    assert_eq!(reply.status, 204);
    assert!(reply.body.is_empty());
    assert_eq!(reply.header("access-control-allow-origin"), Some("*"));
    let methods = reply.header("access-control-allow-methods").unwrap();
    assert!(
        methods.contains("GET") && methods.contains("HEAD"),
        "{methods}"
    );
    assert!(reply.header("access-control-max-age").is_some());
    // A preflight needs no Redis.
    assert_eq!(reader.stats().redis_connections_opened, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_methods_are_405_with_allow() {
    let redis = TestRedis::new();
    let reader = start(&redis).await;
    for method in ["POST", "PUT", "DELETE", "PATCH", "FOO"] {
        let reply = reader.request(method, "/server/status", &[]).await;
        assert_error(&reply, 405, "method_not_allowed");
        let allow = reply.header("allow").unwrap();
        assert!(allow.contains("GET") && allow.contains("HEAD") && allow.contains("OPTIONS"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_paths_are_json_404() {
    let redis = TestRedis::new();
    let reader = start(&redis).await;
    for path in ["/", "/server", "/server/status/x", "/nope?x=1"] {
        assert_error(&reader.get(path).await, 404, "not_found");
    }
    // The catch-all route sends them to the component, which answers without Redis.
    let stats = reader.settled_stats().await;
    assert_eq!(stats.not_found, 0);
    assert_eq!(stats.component_requests, 4);
    assert_eq!(stats.redis_connections_opened, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_origin_comes_from_the_variable() {
    let redis = TestRedis::new();
    store_fresh(&redis);
    let reader = ReaderServer::start(
        ReaderConfig::new(&redis.url(), &redis.status_key())
            .variable("cors_allow_origin", "https://status.example.org"),
    )
    .await;
    let reply = reader
        .request(
            "GET",
            "/server/status",
            &[("origin", "https://status.example.org")],
        )
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.header("access-control-allow-origin"),
        Some("https://status.example.org")
    );
    // Errors carry it too, for a cross-origin request; a routing error (no-store) to a
    // request without Origin costs no variable lookup and carries none.
    let missing = reader
        .request("GET", "/nope", &[("origin", "https://status.example.org")])
        .await;
    assert_eq!(
        missing.header("access-control-allow-origin"),
        Some("https://status.example.org")
    );
    let missing = reader.get("/nope").await;
    assert_eq!(missing.header("access-control-allow-origin"), None);
    assert_eq!(missing.header("cache-control"), Some("no-store"));
}

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
    // Issue 5's budget for the reader: at most 2 MiB of linear memory per request.
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_takes_spin_variables_from_env_and_flags_and_stops_on_sigint() {
    let redis = TestRedis::new();
    store_fresh(&redis);
    let mut cmd = reader_host_command();
    cmd.env("SPIN_VARIABLE_REDIS_ADDRESS", redis.url())
        .env("SPIN_VARIABLE_STATUS_KEY", redis.status_key())
        .env("SPIN_VARIABLE_CORS_ALLOW_ORIGIN", "https://env.example")
        .args(["--variable", "cors_allow_origin=https://flag.example"])
        .args(["--stats", "0"]);
    let mut child = Child::spawn(cmd);
    assert!(
        child.wait_for_output("reader-host listening on", Duration::from_secs(120)),
        "reader-host did not start:\n{}",
        child.output()
    );
    let addr = listening_addr(&child.output()).expect("no listening address in the output");

    let reply = http_request(addr, "GET", "/server/status", &[], Bytes::new()).await;
    assert_eq!(reply.status, 200, "{}", child.output());
    assert_eq!(reply.json()["_cache"]["source"], "primary");
    // --variable beats SPIN_VARIABLE_*, as with `spin up`.
    assert_eq!(
        reply.header("access-control-allow-origin"),
        Some("https://flag.example")
    );

    child.signal(Signal::Int).expect("kill");
    let status = child.wait(Duration::from_secs(15));
    assert!(status.success(), "exit {status:?}:\n{}", child.output());
    let output = child.output();
    assert!(output.contains("\"component_requests\":1"), "{output}");
}

#[test]
fn binary_refuses_bad_configuration_before_listening() {
    let mut cmd = reader_host_command();
    cmd.args(["--variable", "no_such_variable=1"]);
    let (status, output) = integration_tests::binaries::run(cmd, Duration::from_secs(60));
    assert_eq!(status.code(), Some(2), "{output}");
    assert!(output.contains("no_such_variable"), "{output}");
    assert!(!output.contains("listening on"), "{output}");
}
