//! HTTP semantics: conditional requests, HEAD, CORS preflight and origins, 405 and 404.

use integration_tests::reader::{ReaderConfig, ReaderServer, Reply};
use integration_tests::redis::TestRedis;

use super::{assert_error, serving_fresh, start, store_fresh};

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
