//! `/server/status/history` natively: the view, the cache headers, and every way the key can
//! be wrong (a 502 here, nothing on `/server/status`).

use status_document::history::{History, MAX_HISTORY_BYTES, Observation};
use status_document::{BuildOptions, RowValue, State};

use crate::request::RequestHead;
use crate::serve::handle;
use crate::store::StoreError;
use crate::store::memory::MemoryStore;
use crate::testing::{T0, ask, config, document};

const PATH: &str = "/server/status/history";

/// A history of 100 s online, 60 s offline, then online to 299 s, one probe a second.
fn flapping() -> Vec<u8> {
    let mut h = History::new();
    for s in 0u32..300 {
        let state = if (100..160).contains(&s) {
            State::Offline
        } else {
            State::Online
        };
        h.record(&Observation {
            at: T0 + f64::from(s),
            state,
            reason: None,
            players: Some(10 + u64::from(s % 7)),
            vouch_s: 3,
            maintenance_until: None,
        });
    }
    h.to_json()
}

fn store(history: &[u8]) -> MemoryStore {
    let doc = document(RowValue::Int(2), &BuildOptions::default(), "online");
    MemoryStore::default()
        .with("k", &doc, 900)
        .with("k:history", history, -1)
}

fn json(r: &crate::Response) -> serde_json::Value {
    serde_json::from_slice(&r.body).unwrap()
}

#[test]
fn one_get_serves_uptime_seconds_incidents_and_series() {
    let stored = flapping();
    let s = store(&stored);
    let r = ask(&s, "GET", PATH, T0 + 300.0);
    assert_eq!(r.status, 200);
    assert_eq!(s.calls(), ["GET k:history"]);
    // Served as stored, with `_cache` spliced in before the final brace.
    assert!(r.body.starts_with(&stored[..stored.len() - 1]));
    let v = json(&r);
    assert_eq!(v["since"], T0 as i64);
    assert_eq!(v["seconds"]["24h"]["online"], 239);
    assert_eq!(v["seconds"]["24h"]["offline"], 60);
    assert_eq!(v["uptime"]["24h"], 79.93); // 239 / 299, rounded down
    assert_eq!(v["uptime"]["30d"], 79.93);
    let incidents = v["incidents"].as_array().unwrap();
    assert_eq!(incidents.len(), 2);
    assert_eq!(incidents[0]["to"], "online");
    assert_eq!(incidents[0]["at"], T0 as i64 + 160);
    assert_eq!(incidents[1]["from"], "online");
    assert_eq!(incidents[1]["duration_s"], 100);
    assert_eq!(v["series"]["5m"]["width_s"], 300);
    assert_eq!(v["series"]["1d"]["width_s"], 86_400);
    assert_eq!(v["_cache"]["fresh"], true);
    assert_eq!(v["_cache"]["state"], "online");
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    assert_eq!(
        r.header("cache-control"),
        Some("public, max-age=2, stale-while-revalidate=60, stale-if-error=86400"),
        "never past vouched_until (T0 + 302)"
    );
    assert!(r.header("last-modified").is_some());
}

#[test]
fn the_tag_names_the_write_and_gets_a_304() {
    let s = store(&flapping());
    let first = ask(&s, "GET", PATH, T0 + 300.0);
    let tag = first.header("etag").unwrap().to_owned();
    let mut again = RequestHead::new("GET", PATH);
    again.if_none_match = vec![tag.as_bytes().to_vec()];
    let r = handle(&again, &config(), &s, T0 + 301.0);
    assert_eq!((r.status, r.body.len()), (304, 0));
    // One more observation: a new tag.
    let mut h = History::parse(&flapping()).unwrap();
    h.record(&Observation {
        at: T0 + 300.0,
        state: State::Online,
        reason: None,
        players: None,
        vouch_s: 3,
        maintenance_until: None,
    });
    let s = store(&h.to_json());
    assert_ne!(ask(&s, "GET", PATH, T0 + 301.0).header("etag"), Some(&*tag));
}

#[test]
fn past_the_vouched_time_it_says_stale_and_unknown() {
    let s = store(&flapping());
    let v = json(&ask(&s, "GET", PATH, T0 + 1000.0));
    assert_eq!(v["_cache"]["stale"], true);
    assert_eq!(v["_cache"]["state"], "unknown");
    assert_eq!(v["_cache"]["last_known_state"], "online");
    assert_eq!(v["_cache"]["age_seconds"], 701);
}

#[test]
fn a_bad_history_is_a_clean_502_and_status_is_unaffected() {
    let mut no_series = serde_json::from_slice::<serde_json::Value>(&flapping()).unwrap();
    no_series.as_object_mut().unwrap().remove("series");
    let cases: [(Vec<u8>, &str); 5] = [
        (b"{not json".to_vec(), "invalid_history"),
        (b"{\"schema_version\":1}".to_vec(), "invalid_history"),
        (b"{\"schema_version\":9}".to_vec(), "invalid_history"),
        (serde_json::to_vec(&no_series).unwrap(), "invalid_history"),
        (vec![b' '; MAX_HISTORY_BYTES + 1], "history_too_large"),
    ];
    for (bytes, code) in cases {
        let s = store(&bytes);
        let r = ask(&s, "GET", PATH, T0 + 10.0);
        assert_eq!(r.status, 502, "{code}");
        assert_eq!(json(&r)["error"], code);
        assert_eq!(r.header("cache-control"), Some("no-store"));
        let status = ask(&s, "GET", "/server/status", T0 + 10.0);
        assert_eq!(status.status, 200);
    }
    let missing = MemoryStore::default();
    let r = ask(&missing, "GET", PATH, T0);
    assert_eq!(
        (r.status, json(&r)["error"].as_str()),
        (503, Some("history_unavailable"))
    );
    let down = MemoryStore::default().failing("k:history", StoreError::Unavailable);
    assert_eq!(ask(&down, "GET", PATH, T0).status, 503);
    let wrong = MemoryStore::default().failing("k:history", StoreError::WrongType);
    assert_eq!(ask(&wrong, "GET", PATH, T0).status, 502);
}

#[test]
fn head_and_options() {
    let s = store(&flapping());
    let r = ask(&s, "HEAD", PATH, T0 + 300.0);
    assert_eq!((r.status, r.body.len()), (200, 0));
    assert_eq!(ask(&s, "OPTIONS", PATH, T0).status, 204);
    assert_eq!(ask(&s, "POST", PATH, T0).status, 405);
}

/// The SVG badge with the uptime shown, and its text.
fn uptime_badge(s: &MemoryStore) -> (crate::Response, String) {
    let r = ask(s, "GET", "/server/status/badge.svg?show=uptime", T0 + 300.0);
    let svg = String::from_utf8(r.body.clone()).unwrap();
    (r, svg)
}

#[test]
fn the_badge_shows_the_30_day_uptime_at_the_cost_of_one_more_get() {
    let s = store(&flapping());
    let (r, svg) = uptime_badge(&s);
    assert!(
        svg.contains("<title>server: online · 79.9% 30d</title>"),
        "{svg}"
    );
    assert_eq!(s.calls(), ["GET k", "GET k:history"]);
    let tag = r.header("etag").unwrap().to_owned();
    let r = ask(
        &s,
        "GET",
        "/server/status/shields.json?lang=ru&show=uptime,exp",
        T0 + 300.0,
    );
    assert_eq!(json(&r)["message"], "онлайн · 79,9% за 30 дн. · Опыт ×2");
    // Without a usable history the badge stands, without the uptime.
    let s = store(b"{broken");
    let (r, svg) = uptime_badge(&s);
    assert!(svg.contains("<title>server: online</title>"), "{svg}");
    assert_ne!(r.header("etag"), Some(&*tag));
    // Without the option, the history is not read.
    let s = store(&flapping());
    ask(&s, "GET", "/server/status/badge.svg?show=exp", T0 + 300.0);
    assert_eq!(s.calls(), ["GET k"]);
}
