//! The per-request budget of variable lookups and store calls, natively: what each endpoint
//! asks the host for. (`tests/tests/budget.rs` holds the real `.wasm` in `reader-host` to the
//! same budget through the host's counters.)

use super::handle;
use crate::config::counting::config;
use crate::config::var;
use crate::request::RequestHead;
use crate::store::memory::MemoryStore;
use crate::testing::{T0, live, live_document, probe};
use status_document::{BuildOptions, ConstantRow, RowValue, State, build};

fn store() -> MemoryStore {
    let rows = [ConstantRow {
        name: "ServerStatus".into(),
        value: RowValue::Int(1),
        description: None,
    }];
    let doc = build(&rows, &BuildOptions::default(), T0).unwrap().json;
    MemoryStore::default().with("k", &doc, 900)
}

/// (lookups, store calls) for one request.
fn cost(method: &str, target: &str, origin: Option<&str>, key_value: bool) -> (Vec<String>, usize) {
    cost_with(store(), method, target, origin, key_value)
}

fn cost_with(
    s: MemoryStore,
    method: &str,
    target: &str,
    origin: Option<&str>,
    key_value: bool,
) -> (Vec<String>, usize) {
    let api = if key_value { "key_value" } else { "outbound" };
    let packed = format!("{api}\nk\n*\nredis://127.0.0.1:6379\n\n");
    let (c, asked) = config(&[(var::CONFIG, &packed)]);
    let mut req = RequestHead::new(method, target);
    req.origin = origin.map(|o| o.as_bytes().to_vec());
    let r = handle(&req, &c, &s, T0 + 1.0);
    assert!(r.status < 500, "{method} {target}: {}", r.status);
    let asked = asked.borrow().clone();
    (asked, s.calls().len())
}

#[test]
fn document_endpoints_cost_the_settings_and_one_get() {
    for target in [
        "/server/status",
        "/health",
        "/server/status/badge.svg",
        "/server/status/shields.json",
        "/servers/default",
        "/servers/default/simple",
    ] {
        for origin in [None, Some("https://site.example")] {
            let (asked, calls) = cost("GET", target, origin, false);
            assert_eq!(asked, [var::CONFIG], "{target} {origin:?}");
            assert_eq!(calls, 1, "{target}");
        }
    }
    let (_, calls) = cost("GET", "/server/status/debug", None, false);
    assert_eq!(calls, 2, "debug: GET and TTL");
}

#[test]
fn another_servers_pages_and_the_index_cost_the_same() {
    let doc = live_document(State::Online, &live(probe(true, T0, 10), Some(150)));
    let index = br#"{"schema_version":1,"servers":[]}"#;
    for target in [
        "/servers",
        "/servers/eu-1",
        "/servers/eu-1/simple",
        "/servers/eu-1/badge.svg?label=$name&show=players",
        "/servers/eu-1/shields.json",
    ] {
        let s = MemoryStore::default()
            .with("k:servers:eu-1", &doc, 900)
            .with("k:servers", index, -1);
        let (asked, calls) = cost_with(s, "GET", target, None, false);
        assert_eq!(asked, [var::CONFIG], "{target}");
        assert_eq!(calls, 1, "{target}");
    }
}

#[test]
fn a_probe_and_a_players_count_cost_nothing_more() {
    // Everything the game-server probe adds (its deadline, the next probe, the live stamps
    // in the tag, the count on the badge) comes from the one document read.
    let doc = live_document(State::Online, &live(probe(true, T0, 10), Some(150)));
    for target in [
        "/server/status",
        "/health",
        "/server/status/simple",
        "/server/status/badge.svg?show=players",
        "/server/status/shields.json?show=players",
    ] {
        let s = MemoryStore::default().with("k", &doc, 900);
        let (asked, calls) = cost_with(s, "GET", target, None, false);
        assert_eq!(asked, [var::CONFIG], "{target}");
        assert_eq!(calls, 1, "{target}");
    }
}

#[test]
fn the_status_page_costs_the_settings_and_one_get() {
    let page = crate::page::tests::page(vec![crate::page::tests::server("eu-1", State::Online)]);
    let stored = serde_json::to_vec(&page).unwrap();
    for key_value in [false, true] {
        let s = MemoryStore::default().with("k:page", &stored, -1);
        let (asked, calls) = cost_with(s, "GET", "/status?lang=ru", None, key_value);
        assert_eq!((asked, calls), (vec![var::CONFIG.to_owned()], 1));
    }
}

#[test]
fn routing_answers_cost_nothing_without_an_origin() {
    for (method, target) in [
        ("GET", "/nope"),
        ("POST", "/server/status"),
        ("DELETE", "/health"),
        ("GET", "/servers/EU:1"),
        ("OPTIONS", "/servers/../simple"),
        ("GET", "/servers/eu-1/nope"),
    ] {
        assert_eq!(
            cost(method, target, None, false),
            (vec![], 0),
            "{method} {target}"
        );
        let (asked, calls) = cost(method, target, Some("https://x"), false);
        assert_eq!((asked, calls), (vec![var::CONFIG.to_owned()], 0));
    }
    let (asked, calls) = cost("OPTIONS", "/server/status", None, false);
    assert_eq!((asked, calls), (vec![var::CONFIG.to_owned()], 0));
    let (asked, calls) = cost("GET", "/server/status/widget.js", None, false);
    assert_eq!((asked, calls), (vec![var::CONFIG.to_owned()], 0));
}
