use super::*;
use crate::store::StoreError;
use crate::store::memory::MemoryStore;
use crate::testing::{T0, ask, config, config_with_cors, live, live_document, probe};
use proptest::prelude::*;
use serde_json::Value;
use status_document::{BuildOptions, ConstantRow, MAX_DOCUMENT_BYTES, RowValue, build};

/// The tag the reader must give `stored`.
fn etag_of(stored: &[u8]) -> String {
    let v = status_document::DocumentView::parse(stored).unwrap();
    cache::etag(
        v.schema_version,
        v.updated_at,
        stored.len(),
        v.live_stamps(),
    )
}

fn doc_at(updated_at: f64) -> Vec<u8> {
    let rows = vec![ConstantRow {
        name: "RateExp".into(),
        value: RowValue::Int(3),
        description: Some("Опыт \"x\"".into()),
    }];
    build(&rows, &BuildOptions::default(), updated_at)
        .unwrap()
        .json
}

fn get(path: &str) -> RequestHead {
    RequestHead::new("GET", path)
}

fn json(r: &Response) -> Value {
    serde_json::from_slice(&r.body).unwrap()
}

#[test]
fn fresh_document_with_cache_headers() {
    let stored = doc_at(T0);
    let s = MemoryStore::default().with("k", &stored, 900);
    let r = ask(&s, "GET", "/server/status", T0 + 100.5);
    assert_eq!(r.status, 200);
    assert_eq!(s.calls(), ["GET k"], "happy path is exactly one GET");
    assert_eq!(
        r.header("content-type"),
        Some("application/json; charset=utf-8")
    );
    assert_eq!(
        r.header("cache-control"),
        Some("public, max-age=499, stale-while-revalidate=600, stale-if-error=86400")
    );
    assert_eq!(r.header("etag").unwrap(), etag_of(&stored));
    assert_eq!(
        r.header("last-modified"),
        Some("Tue, 14 Nov 2023 22:13:20 GMT")
    );
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    assert_eq!(
        r.header("content-length").unwrap(),
        r.body.len().to_string()
    );
    // The stored bytes are served verbatim, with `_cache` spliced in.
    assert_eq!(&r.body[..stored.len() - 1], &stored[..stored.len() - 1]);
    let v = json(&r);
    assert_eq!(
        v["_cache"],
        serde_json::json!({"cached": true, "age_seconds": 100, "fresh": true,
                           "stale": false, "source": "primary", "state": "unknown",
                           "last_known_state": "unknown"}),
        "no ServerStatus row: unknown, never online"
    );
    assert_eq!(v["rates"]["exp"], 3.0);
}

#[test]
fn with_a_probe_max_age_follows_the_next_probe() {
    // Table read at T0 (next refresh due at T0 + 600); the probe wrote at T0 + 50, every
    // 10 s: a cache may keep the answer until T0 + 60, when the state may have changed.
    let stored = live_document(State::Online, &live(probe(true, T0 + 50.0, 10), Some(150)));
    let s = MemoryStore::default().with("k", &stored, 900);
    let want = "public, max-age=7, stale-while-revalidate=10, stale-if-error=86400";
    for target in [
        "/server/status",
        "/server/status/simple",
        "/server/status/badge.svg?show=players",
        "/server/status/shields.json",
    ] {
        let r = ask(&s, "GET", target, T0 + 53.0);
        assert_eq!(r.status, 200, "{target}");
        assert_eq!(r.header("cache-control"), Some(want), "{target}");
    }
    let shields = json(&ask(&s, "GET", "/server/status/shields.json", T0 + 53.0));
    assert_eq!(shields["cacheSeconds"], 7);
    let r = ask(&s, "GET", "/server/status", T0 + 53.5);
    assert!(
        r.header("cache-control")
            .unwrap()
            .starts_with("public, max-age=6, stale-while-revalidate=10,"),
        "whole seconds, rounded down"
    );
    // The 304 says the same.
    let mut req = get("/server/status");
    req.if_none_match = vec![etag_of(&stored).into_bytes()];
    let r = handle(&req, &config(), &s, T0 + 53.0);
    assert_eq!((r.status, r.header("cache-control")), (304, Some(want)));
    // Once the next probe is due, a cache keeps it only for the overdue minimum.
    let r = ask(&s, "GET", "/server/status", T0 + 61.0);
    assert!(
        r.header("cache-control")
            .unwrap()
            .starts_with("public, max-age=5, stale-while-revalidate=10,")
    );
}

#[test]
fn every_probe_write_has_its_own_tag() {
    // Two probe writes after the same read of the table: same `updated_at`, and the same
    // length (the latency and the stamp change, not their width).
    let write = |checked_at: f64, latency_ms: f64, players: u64, players_at: f64| {
        let mut g = probe(true, checked_at, 10);
        g.latency_ms = Some(latency_ms);
        let mut l = live(g, None);
        l.players = Some(status_document::PlayerCount {
            count: players,
            at: players_at,
        });
        live_document(State::Online, &l)
    };
    let first = write(T0 + 50.0, 1.5, 150, T0 + 5.0);
    let second = write(T0 + 60.0, 2.5, 150, T0 + 5.0);
    // The players query's own write, between two probes.
    let third = write(T0 + 60.0, 2.5, 151, T0 + 65.0);
    assert_eq!(first.len(), second.len());
    assert_eq!(second.len(), third.len());
    assert_ne!(first, second);
    let tags = [&first, &second, &third].map(|d| etag_of(d));
    assert_ne!(tags[0], tags[1]);
    assert_ne!(tags[1], tags[2], "a new players count (players_at moved)");

    for target in [
        "/server/status",
        "/server/status/simple",
        "/server/status/badge.svg?show=players",
        "/server/status/shields.json?show=players",
    ] {
        let before = MemoryStore::default().with("k", &first, 900);
        let old = ask(&before, "GET", target, T0 + 51.0);
        let old_tag = old.header("etag").unwrap().to_owned();
        let mut again = get(target);
        again.if_none_match = vec![old_tag.clone().into_bytes()];
        assert_eq!(
            handle(&again, &config(), &before, T0 + 52.0).status,
            304,
            "{target}: unchanged"
        );
        let after = MemoryStore::default().with("k", &second, 900);
        let r = handle(&again, &config(), &after, T0 + 61.0);
        assert_eq!(r.status, 200, "{target}: the probe wrote again");
        assert_ne!(r.header("etag"), Some(old_tag.as_str()), "{target}");
        assert!(!r.body.is_empty());
    }
}

#[test]
fn overdue_primary_is_not_fresh() {
    let s = MemoryStore::default().with("k", &doc_at(T0), 100);
    let r = ask(&s, "GET", "/server/status", T0 + 700.0);
    assert_eq!(r.status, 200);
    let v = json(&r);
    assert_eq!(v["_cache"]["fresh"], false);
    assert_eq!(v["_cache"]["stale"], false);
    assert!(
        r.header("cache-control")
            .unwrap()
            .starts_with("public, max-age=5,")
    );
}

#[test]
fn stale_from_last_good() {
    let s = MemoryStore::default().with("k:last_good", &doc_at(T0), -1);
    let r = ask(&s, "GET", "/server/status", T0 + 5000.0);
    assert_eq!(r.status, 200);
    assert_eq!(s.calls(), ["GET k", "GET k:last_good"]);
    let v = json(&r);
    assert_eq!(v["_cache"]["source"], "last_good");
    assert_eq!(v["_cache"]["stale"], true);
    assert_eq!(v["_cache"]["fresh"], false);
    assert_eq!(v["_cache"]["age_seconds"], 5000);
    assert!(r.header("cache-control").unwrap().contains("max-age=5,"));
}

#[test]
fn conditional_requests() {
    let stored = doc_at(T0);
    let s = MemoryStore::default().with("k", &stored, 900);
    let etag = etag_of(&stored);
    for inm in [
        etag.clone(),
        format!("W/{etag}"),
        "*".into(),
        format!("\"x\", {etag}"),
    ] {
        let mut req = get("/server/status");
        req.if_none_match = vec![inm.into_bytes()];
        let r = handle(&req, &config(), &s, T0 + 1.0);
        assert_eq!(r.status, 304);
        assert!(r.body.is_empty());
        assert_eq!(r.header("etag"), Some(etag.as_str()));
        assert!(r.header("cache-control").is_some());
        assert_eq!(r.header("content-length"), None);
        assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    }
    let mut req = get("/server/status");
    req.if_none_match = vec![b"\"other\"".to_vec()];
    assert_eq!(handle(&req, &config(), &s, T0).status, 200);
    req.method = "HEAD".into();
    req.if_none_match = vec![etag.into_bytes()];
    assert_eq!(handle(&req, &config(), &s, T0).status, 304);
}

#[test]
fn head_matches_get_without_body() {
    let s = MemoryStore::default().with("k", &doc_at(T0), 900);
    let g = ask(&s, "GET", "/server/status", T0);
    let h = ask(&s, "HEAD", "/server/status", T0);
    assert_eq!(h.status, 200);
    assert!(h.body.is_empty());
    let without_length = |r: &Response| {
        r.headers
            .iter()
            .filter(|(n, _)| *n != "content-length")
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(without_length(&g), without_length(&h));
    assert_eq!(h.header("content-length"), None);
}

#[test]
fn missing_unavailable_and_bad_values() {
    let cases: Vec<(MemoryStore, u16, &str)> = vec![
        (MemoryStore::default(), 503, "status_unavailable"),
        (
            MemoryStore::default().failing("k", StoreError::Unavailable),
            503,
            "redis_unavailable",
        ),
        (
            MemoryStore::default().failing("k", StoreError::WrongType),
            502,
            "wrong_type",
        ),
        (
            MemoryStore::default().with("k", b"{not json", 9),
            502,
            "invalid_json",
        ),
        (
            MemoryStore::default().with("k", b"{\"schema_version\":1}", 9),
            502,
            "invalid_document",
        ),
        (
            MemoryStore::default().with(
                "k",
                &String::from_utf8(doc_at(T0))
                    .unwrap()
                    .replace("\"schema_version\":1", "\"schema_version\":7")
                    .into_bytes(),
                9,
            ),
            502,
            "unsupported_schema_version",
        ),
        (
            MemoryStore::default().with("k", &vec![b' '; MAX_DOCUMENT_BYTES + 1], 9),
            502,
            "document_too_large",
        ),
    ];
    for (store, status, code) in cases {
        let r = ask(&store, "GET", "/server/status", T0);
        assert_eq!(r.status, status, "{code}");
        let v = json(&r);
        assert_eq!(v["error"], code);
        assert!(v["message"].is_string());
        assert_eq!(r.header("cache-control"), Some("no-store"));
        assert_eq!(r.header("access-control-allow-origin"), Some("*"));
        assert_eq!(r.header("retry-after").is_some(), status == 503, "{code}");
        let text = String::from_utf8(r.body.clone()).unwrap();
        assert!(!text.contains("127.0.0.1") && !text.contains("redis://"));
    }
}

#[test]
fn corrupt_primary_does_not_fall_back() {
    let s = MemoryStore::default()
        .with("k", b"garbage", 9)
        .with("k:last_good", &doc_at(T0), -1);
    let r = ask(&s, "GET", "/server/status", T0);
    assert_eq!(r.status, 502);
    assert_eq!(s.calls(), ["GET k"]);
}

#[test]
fn debug_endpoint() {
    let s = MemoryStore::default().with("k", &doc_at(T0), 777);
    let r = ask(&s, "GET", "/server/status/debug", T0 + 30.0);
    assert_eq!(r.status, 200);
    assert_eq!(s.calls(), ["GET k", "TTL k"]);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let v = json(&r);
    assert_eq!(v["cached"], true);
    assert_eq!(v["key"], "k");
    assert_eq!(v["ttl"], 777);
    assert_eq!(v["age_seconds"], 30);
    assert_eq!(v["is_fresh"], true);
    assert_eq!(v["updated_at"], T0);
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["defaulted"].as_array().unwrap().len(), 6);

    let s = MemoryStore::default().with("k:last_good", &doc_at(T0), -1);
    let v = json(&ask(&s, "GET", "/server/status/debug", T0 + 1e4));
    assert_eq!(v["key"], "k:last_good");
    assert_eq!(v["ttl"], -1);
    assert_eq!(v["is_fresh"], false);
    assert_eq!(v["stale"], true);

    let s = MemoryStore::default().failing("k", StoreError::Unavailable);
    let r = ask(&s, "GET", "/server/status/debug", T0);
    assert_eq!(
        (r.status, json(&r)["error"].clone()),
        (503, "redis_unavailable".into())
    );
}

#[test]
fn health_endpoint() {
    let fresh = MemoryStore::default().with("k", &doc_at(T0), 900);
    let r = ask(&fresh, "GET", "/health", T0 + 10.0);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert_eq!(json(&r)["status"], "ok");
    assert_eq!(json(&r)["age_seconds"], 10);

    let r = ask(&fresh, "GET", "/health", T0 + 601.0);
    assert_eq!(
        (r.status, json(&r)["status"].clone()),
        (503, "stale".into())
    );

    let lg = MemoryStore::default().with("k:last_good", &doc_at(T0), -1);
    let r = ask(&lg, "GET", "/health", T0 + 10.0);
    assert_eq!(
        (r.status, json(&r)["status"].clone()),
        (503, "stale".into())
    );

    for s in [
        MemoryStore::default(),
        MemoryStore::default().failing("k", StoreError::Unavailable),
        MemoryStore::default().with("k", b"[]", 1),
    ] {
        let r = ask(&s, "GET", "/health", T0);
        assert_eq!(r.status, 503);
        assert_eq!(json(&r)["status"], "error");
        assert!(json(&r)["error"].is_string());
    }
}

#[test]
fn options_405_404() {
    let s = MemoryStore::default();
    let r = ask(&s, "OPTIONS", "/server/status", T0);
    assert_eq!(r.status, 204);
    assert!(r.body.is_empty());
    assert_eq!(r.header("allow"), Some(ALLOW));
    assert_eq!(r.header("access-control-allow-methods"), Some(ALLOW));
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    assert_eq!(r.header("access-control-max-age"), Some("86400"));
    assert_eq!(r.header("content-length"), None);

    let r = ask(&s, "DELETE", "/server/status", T0);
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), Some(ALLOW));
    assert_eq!(json(&r)["error"], "method_not_allowed");

    let r = ask(&s, "GET", "/nope", T0);
    assert_eq!(r.status, 404);
    assert_eq!(json(&r)["error"], "not_found");
    assert!(
        s.calls().is_empty(),
        "no Redis call for OPTIONS, 405 or 404"
    );
}

#[test]
fn cors_from_configuration() {
    let s = MemoryStore::default().with("k", &doc_at(T0), 900);
    let c = config_with_cors("https://site.example");
    let r = handle(&get("/server/status"), &c, &s, T0);
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("https://site.example")
    );
    assert_eq!(r.header("vary"), None);
    let c = config_with_cors("");
    let r = handle(&get("/server/status"), &c, &s, T0);
    assert_eq!(r.header("access-control-allow-origin"), None);
}

fn method() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("GET".to_owned()),
        Just("HEAD".to_owned()),
        Just("OPTIONS".to_owned()),
        Just("POST".to_owned()),
        "[A-Za-z-]{0,12}",
        any::<String>(),
    ]
}

fn target() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("/server/status".to_owned()),
        Just("/server/status/debug".to_owned()),
        Just("/health".to_owned()),
        "/server/status[?#/]?[ -~]{0,40}",
        "/[ -~]{0,64}",
        any::<String>(),
        (0usize..5000).prop_map(|n| format!("/server/status?{}", "x".repeat(n))),
    ]
}

fn stored() -> impl Strategy<Value = Option<Result<Vec<u8>, StoreError>>> {
    prop_oneof![
        Just(None),
        Just(Some(Err(StoreError::Unavailable))),
        Just(Some(Err(StoreError::WrongType))),
        (0f64..2e9).prop_map(|t| Some(Ok(doc_at(t)))),
        proptest::collection::vec(any::<u8>(), 0..256).prop_map(|b| Some(Ok(b))),
        (0usize..400, any::<u8>()).prop_map(|(i, b)| {
            let mut d = doc_at(T0);
            let i = i % d.len();
            d[i] = b;
            Some(Ok(d))
        }),
    ]
}

fn put(s: MemoryStore, key: &str, v: Option<Result<Vec<u8>, StoreError>>) -> MemoryStore {
    match v {
        None => s,
        Some(Ok(b)) => s.with(key, &b, 100),
        Some(Err(e)) => s.failing(key, e),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_request_maps_to_a_defined_response(
        method in method(),
        target in target(),
        inm in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..3000), 0..4),
        origin in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..64)),
        primary in stored(),
        last_good in stored(),
        cors in prop_oneof![Just("*"), Just(""), Just("https://a https://b"), Just("https://a")],
        now in prop_oneof![Just(T0), -1e12f64..1e12, Just(f64::NAN)],
    ) {
        let req = RequestHead { method, path_with_query: target, if_none_match: inm, origin };
        let store = put(put(MemoryStore::default(), "k", primary), "k:last_good", last_good);
        let c = config_with_cors(cors);
        let r = handle(&req, &c, &store, now);

        prop_assert!([200, 204, 304, 404, 405, 414, 431, 502, 503].contains(&r.status),
                     "undefined status {}", r.status);
        prop_assert!(store.calls().len() <= 3, "bounded Redis calls: {:?}", store.calls());
        for (name, value) in &r.headers {
            prop_assert!(name.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'));
            prop_assert!(value.bytes().all(|b| (b' '..=b'~').contains(&b)), "{name}: {value:?}");
        }
        let head = req.method == "HEAD";
        if head || matches!(r.status, 204 | 304) {
            prop_assert!(r.body.is_empty());
        } else {
            let v: Value = serde_json::from_slice(&r.body).unwrap();
            prop_assert!(v.is_object());
            let len = r.body.len().to_string();
            prop_assert_eq!(r.header("content-length"), Some(len.as_str()));
            if r.status >= 400 {
                prop_assert!(v["error"].is_string() || v["status"] == "error" || v["status"] == "stale");
            }
        }
    }
}
