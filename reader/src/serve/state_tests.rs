//! The freshness × state × source table, over every endpoint that shows a state: the
//! document's `_cache.state`, `/server/status/debug`, `/health`, `/server/status/simple`,
//! `shields.json` and `badge.svg` all say the same word, and none ever says `online` for a
//! document past its TTL or served from the last-good copy — nor, with a game-server probe,
//! once the probe is past its deadline.
//!
//! The expected word is worked out here from the table in the issue, not by calling
//! `vouched_state`, so a mistake in that function shows up as a disagreement.

use super::*;
use crate::store::memory::MemoryStore;
use crate::testing::{T0, ask, document, live, live_document, probe};
use proptest::prelude::*;
use serde_json::Value;
use status_document::{BuildOptions, DocumentView, RowValue};

/// A document written at `T0` with this interval, TTL and state.
fn doc(interval: u64, ttl: u64, state: State) -> Vec<u8> {
    let options = BuildOptions {
        refresh_interval_s: interval,
        ttl_s: ttl,
        ..BuildOptions::default()
    };
    document(RowValue::Int(2), &options, state.as_str())
}

fn store(bytes: &[u8], source: Source) -> MemoryStore {
    match source {
        Source::Primary => MemoryStore::default().with("k", bytes, -1),
        Source::LastGood => MemoryStore::default().with("k:last_good", bytes, -1),
    }
}

fn get(s: &MemoryStore, path: &str, now: f64) -> Response {
    ask(s, "GET", path, now)
}

fn json(r: &Response) -> Value {
    serde_json::from_slice(&r.body).unwrap()
}

/// What every endpoint must say, from the table.
fn expected(state: State, age: f64, ttl: u64, source: Source) -> State {
    let believed = source == Source::Primary && age <= ttl as f64;
    if believed { state } else { State::Unknown }
}

/// The state each endpoint shows, in the order document, debug, health, simple, shields,
/// badge.
fn shown(s: &MemoryStore, now: f64) -> [String; 6] {
    let doc = json(&get(s, "/server/status", now));
    let debug = json(&get(s, "/server/status/debug", now));
    let health = json(&get(s, "/health", now));
    let simple = get(s, "/server/status/simple", now);
    let shields = json(&get(s, "/server/status/shields.json", now));
    let badge = String::from_utf8(get(s, "/server/status/badge.svg", now).body).unwrap();
    let word = |v: &Value| v.as_str().unwrap_or("<missing>").to_owned();
    assert_eq!(
        simple.status == 200,
        simple.body == b"online",
        "simple: 200 exactly when online"
    );
    [
        word(&doc["_cache"]["state"]),
        word(&debug["state"]),
        word(&health["state"]),
        String::from_utf8(simple.body).unwrap(),
        word(&shields["message"]),
        badge_word(&badge),
    ]
}

/// The state a badge's `<title>` (`server: <state>`) says.
fn badge_word(svg: &str) -> String {
    svg.split_once("<title>server: ")
        .and_then(|(_, rest)| rest.split_once("</title>"))
        .map_or("<missing>", |(word, _)| word)
        .to_owned()
}

const ENDPOINTS: [&str; 6] = ["document", "debug", "health", "simple", "shields", "badge"];

fn any_state() -> impl Strategy<Value = State> {
    prop::sample::select(State::ALL.to_vec())
}

fn any_source() -> impl Strategy<Value = Source> {
    prop::sample::select(vec![Source::Primary, Source::LastGood])
}

#[test]
fn the_table_at_its_edges() {
    let online = doc(600, 900, State::Online);
    let primary = store(&online, Source::Primary);
    assert_eq!(shown(&primary, T0 + 10.0), all("online"), "fresh");
    assert_eq!(
        shown(&primary, T0 + 700.0),
        all("online"),
        "overdue, within TTL"
    );
    assert_eq!(shown(&primary, T0 + 900.0), all("online"), "at the TTL");
    assert_eq!(
        shown(&primary, T0 + 900.001),
        all("unknown"),
        "past the TTL"
    );
    let last_good = store(&online, Source::LastGood);
    assert_eq!(
        shown(&last_good, T0 + 1.0),
        all("unknown"),
        "last-good copy"
    );

    // The last known state stays visible beside the vouched one.
    let v = json(&get(&last_good, "/server/status", T0 + 1.0));
    assert_eq!(v["_cache"]["last_known_state"], "online");
    assert_eq!(
        v["state"], "online",
        "the stored document is served as stored"
    );
    let d = json(&get(&primary, "/server/status/debug", T0 + 901.0));
    assert_eq!(
        (d["state"].as_str(), d["last_known_state"].as_str()),
        (Some("unknown"), Some("online"))
    );
    let h = json(&get(&primary, "/health", T0 + 901.0));
    assert_eq!(
        (h["status"].as_str(), h["last_known_state"].as_str()),
        (Some("stale"), Some("online"))
    );
}

#[test]
fn no_document_means_unknown_everywhere() {
    let empty = MemoryStore::default();
    let h = get(&empty, "/health", T0);
    assert_eq!(h.status, 503);
    assert_eq!(json(&h)["state"], "unknown");
    assert_eq!(json(&h)["error"], "status_unavailable");
    assert_eq!(get(&empty, "/server/status/simple", T0).body, b"unknown");
}

#[test]
fn a_document_without_state_is_unknown() {
    // Written before `state` existed: the reader must not guess from server_status 1.0.
    let json_doc = document(RowValue::Int(2), &BuildOptions::default(), "unknown");
    let mut v: Value = serde_json::from_slice(&json_doc).unwrap();
    v.as_object_mut().unwrap().remove("state");
    let s = store(&serde_json::to_vec(&v).unwrap(), Source::Primary);
    let served = json(&get(&s, "/server/status", T0 + 1.0));
    assert_eq!(served["_cache"]["state"], "unknown");
    assert_eq!(served["_cache"]["last_known_state"], "unknown");
}

fn all(word: &str) -> [String; 6] {
    std::array::from_fn(|_| word.to_owned())
}

#[test]
fn a_probe_past_its_deadline_is_unknown_everywhere() {
    // The table was read at T0 (TTL 900 s); the probe last wrote at T0 + 100, every 10 s,
    // believed for 30 s: from T0 + 130 on the refresher has stopped probing.
    let checked_at = T0 + 100.0;
    let online = store(
        &live_document(State::Online, &live(probe(true, checked_at, 10), None)),
        Source::Primary,
    );
    assert_eq!(shown(&online, checked_at + 1.0), all("online"));
    assert_eq!(
        shown(&online, checked_at + 30.0),
        all("online"),
        "at the deadline"
    );
    assert_eq!(
        shown(&online, checked_at + 30.5),
        all("unknown"),
        "past the probe's deadline, though the document is within its TTL"
    );
    let v = json(&get(&online, "/server/status", checked_at + 31.0));
    assert_eq!(
        (v["state"].as_str(), v["_cache"]["fresh"].as_bool()),
        (Some("online"), Some(true)),
        "the document is served as stored, and is fresh: only the state is not vouched for"
    );
    assert_eq!(v["_cache"]["last_known_state"], "online");
    let d = json(&get(&online, "/server/status/debug", checked_at + 31.0));
    assert_eq!(
        (d["state"].as_str(), d["last_known_state"].as_str()),
        (Some("unknown"), Some("online"))
    );
    let h = json(&get(&online, "/health", checked_at + 31.0));
    assert_eq!(h["last_known_state"], "online");
    let simple = get(&online, "/server/status/simple", checked_at + 31.0);
    assert_eq!((simple.status, &simple.body[..]), (503, &b"unknown"[..]));

    // A probe that has not stopped cannot save a document past its TTL.
    let late = store(
        &live_document(State::Online, &live(probe(true, T0 + 895.0, 10), None)),
        Source::Primary,
    );
    assert_eq!(shown(&late, T0 + 900.0), all("online"));
    assert_eq!(shown(&late, T0 + 901.0), all("unknown"));

    // Nor a last-good copy.
    let last_good = store(
        &live_document(State::Online, &live(probe(true, checked_at, 10), None)),
        Source::LastGood,
    );
    assert_eq!(shown(&last_good, checked_at + 1.0), all("unknown"));
}

#[test]
fn an_unreachable_game_server_is_offline_with_its_reason() {
    let checked_at = T0 + 100.0;
    let stored = live_document(State::Online, &live(probe(false, checked_at, 10), Some(7)));
    let s = store(&stored, Source::Primary);
    assert_eq!(shown(&s, checked_at + 2.0), all("offline"));
    let v = json(&get(&s, "/server/status", checked_at + 2.0));
    assert_eq!(
        (v["state"].as_str(), v["state_reason"].as_str()),
        (Some("offline"), Some("unreachable"))
    );
    assert_eq!(v["game_server"]["reachable"], false);
    assert_eq!(v["game_server"]["latency_ms"], Value::Null);
    assert_eq!(v["_cache"]["state"], "offline");
    let simple = get(&s, "/server/status/simple", checked_at + 2.0);
    assert_eq!((simple.status, &simple.body[..]), (503, &b"offline"[..]));
    let badge = get(
        &s,
        "/server/status/badge.svg?show=players",
        checked_at + 2.0,
    );
    let badge = String::from_utf8(badge.body).unwrap();
    assert!(badge.contains("<title>server: offline</title>"), "{badge}");
    assert!(!badge.contains("players"), "no count beside offline");
    // Past the deadline, "offline" is not vouched for either: nobody knows any more.
    assert_eq!(shown(&s, checked_at + 31.0), all("unknown"));

    // The operator's maintenance stands whatever the probe says, without a reason.
    let planned = live_document(
        State::Maintenance,
        &live(probe(false, checked_at, 10), None),
    );
    let s = store(&planned, Source::Primary);
    assert_eq!(shown(&s, checked_at + 2.0), all("maintenance"));
    let v = json(&get(&s, "/server/status", checked_at + 2.0));
    assert_eq!(v.get("state_reason"), None);
}

/// What every endpoint must say with a probe: the table's rule, and unknown past the
/// probe's deadline.
fn expected_with_probe(
    state: State,
    age: f64,
    ttl: u64,
    source: Source,
    probe_age: f64,
    deadline: u64,
) -> State {
    let believed = source == Source::Primary && age <= ttl as f64 && probe_age <= deadline as f64;
    if believed { state } else { State::Unknown }
}

proptest! {
    #[test]
    fn with_a_probe_every_endpoint_agrees_and_none_vouches_past_the_deadline(
        constant in any_state(),
        reachable in any::<bool>(),
        source in any_source(),
        interval in 1u64..60,
        checked in 0.0f64..900.0,
        since_check in 0.0f64..400.0,
    ) {
        let game_server = probe(reachable, T0 + checked, interval);
        let stored = live_document(constant, &live(game_server, Some(3)));
        let state = DocumentView::parse(&stored).unwrap().state;
        let s = store(&stored, source);
        let now = T0 + checked + since_check;
        let want = expected_with_probe(
            state, now - T0, 900, source, now - (T0 + checked), game_server.deadline_s,
        );
        let words = shown(&s, now);
        for (endpoint, word) in ENDPOINTS.iter().zip(&words) {
            prop_assert_eq!(word.as_str(), want.as_str(), "{} {:?} at {} after the probe", endpoint, source, since_check);
        }
    }
}

proptest! {
    #[test]
    fn every_endpoint_agrees_and_none_vouches_for_a_stale_online(
        state in any_state(),
        source in any_source(),
        interval in 1u64..1200,
        ttl in 1u64..2400,
        age in 0.0f64..5000.0,
    ) {
        let s = store(&doc(interval, ttl, state), source);
        let now = T0 + age;
        // The age the reader sees (`now - updated_at` rounds at this magnitude).
        let age = now - T0;
        let want = expected(state, age, ttl, source);
        let words = shown(&s, now);
        for (endpoint, word) in ENDPOINTS.iter().zip(&words) {
            prop_assert_eq!(word.as_str(), want.as_str(), "{} at age {} (ttl {}, {:?})", endpoint, age, ttl, source);
        }
        if age > ttl as f64 || source == Source::LastGood {
            prop_assert!(words.iter().all(|w| w != "online"));
        }
    }
}
