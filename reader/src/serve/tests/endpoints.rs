//! `/server/status/debug`, `/health`, OPTIONS/405/404 and CORS.

use super::*;

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
fn debug_shows_what_the_state_was_judged_from() {
    let checked_at = T0 + 100.0;
    let stored = live_document(State::Online, &live(probe(true, checked_at, 10), Some(150)));
    let s = MemoryStore::default().with("k", &stored, 900);
    let v = json(&ask(&s, "GET", "/server/status/debug", checked_at + 5.0));
    assert_eq!(
        v["game_server"],
        serde_json::json!({
            "reachable": true,
            "checked_at": checked_at,
            "latency_ms": 1.5,
            "since": T0 - 3600.0,
            "addr_count": 1,
            "interval_s": 10,
            "deadline_s": 30,
        })
    );
    assert_eq!(
        (v["players"].as_u64(), v["players_at"].as_f64()),
        (Some(150), Some(checked_at))
    );
    assert!(v.get("max_players").is_some(), "present, null when unknown");

    // A document without a probe or a count says so with nulls.
    let s = MemoryStore::default().with("k", &doc_at(T0), 900);
    let v = json(&ask(&s, "GET", "/server/status/debug", T0));
    for field in [
        "game_server",
        "players",
        "max_players",
        "bots",
        "players_at",
    ] {
        assert_eq!(v[field], Value::Null, "{field}");
    }
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
