//! `/server/status`: the document, its cache headers and tags, conditional and HEAD
//! requests, and every way the stored value can be missing or bad.

use super::*;

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

/// The answers made from the one stored document, each showing the players where it can:
/// the JSON, the one word, the badge and shields.io's endpoint.
const FROM_THE_DOCUMENT: [&str; 4] = [
    "/server/status",
    "/server/status/simple",
    "/server/status/badge.svg?show=players",
    "/server/status/shields.json?show=players",
];

#[test]
fn with_a_probe_max_age_follows_the_next_probe() {
    // Table read at T0 (next refresh due at T0 + 600); the probe wrote at T0 + 50, every
    // 10 s: a cache may keep the answer until T0 + 60, when the state may have changed.
    let stored = live_document(State::Online, &live(probe(true, T0 + 50.0, 10), Some(150)));
    let s = MemoryStore::default().with("k", &stored, 900);
    let want = "public, max-age=7, stale-while-revalidate=10, stale-if-error=86400";
    for target in FROM_THE_DOCUMENT {
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

    for target in FROM_THE_DOCUMENT {
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
