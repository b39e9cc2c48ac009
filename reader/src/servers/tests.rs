//! `/servers` and `/servers/{id}/...` against an in-memory store: which keys each reads,
//! what an unknown or malformed id gets, and that a server's pages answer as the default
//! server's do.

use serde_json::Value;
use status_document::{IndexEntry, Live, ServerId, ServerIndex, ServerInfo, State};

use crate::request::RequestHead;
use crate::respond::{JSON, Response};
use crate::route::ALLOW;
use crate::serve::handle;
use crate::store::StoreError;
use crate::store::memory::MemoryStore;
use crate::testing::{T0, ask, config, live, live_document, probe};

/// The key of server `eu-1`'s document under the test configuration's status key `k`.
const EU1: &str = "k:servers:eu-1";

fn index() -> Vec<u8> {
    let entry = |id: &str, updated_at: u64, order: u32| IndexEntry {
        id: ServerId::parse(id).unwrap(),
        name: format!("Realm {id}"),
        state: State::Online,
        state_reason: None,
        players: Some(3),
        max_players: None,
        updated_at,
        group: "main".into(),
        order,
    };
    serde_json::to_vec(&ServerIndex {
        schema_version: 1,
        servers: vec![
            entry("default", 1_700_000_000, 0),
            entry("eu-1", 1_700_000_090, 1),
        ],
    })
    .unwrap()
}

fn online() -> Vec<u8> {
    live_document(State::Online, &live(probe(true, T0, 10), Some(7)))
}

/// An online document whose game server calls itself `name`.
fn named(name: Option<&str>) -> Vec<u8> {
    let mut l: Live = live(probe(true, T0, 10), None);
    l.server = Some(ServerInfo {
        name: name.map(str::to_owned),
        ..ServerInfo::default()
    });
    live_document(State::Online, &l)
}

fn json(r: &Response) -> Value {
    serde_json::from_slice(&r.body).unwrap()
}

fn text(r: &Response) -> &str {
    std::str::from_utf8(&r.body).unwrap()
}

#[test]
fn the_index_is_served_as_stored_for_one_get() {
    let stored = index();
    let s = MemoryStore::default().with("k:servers", &stored, -1);
    let r = ask(&s, "GET", "/servers", T0);
    assert_eq!(r.status, 200);
    assert_eq!(r.body, stored, "byte for byte");
    assert_eq!(s.calls(), ["GET k:servers"]);
    assert_eq!(r.header("content-type"), Some(JSON));
    assert_eq!(
        r.header("cache-control"),
        Some("public, max-age=30, stale-while-revalidate=30, stale-if-error=86400")
    );
    // The newest entry's updated_at (T0 + 90 s).
    assert_eq!(
        r.header("last-modified"),
        Some("Tue, 14 Nov 2023 22:14:50 GMT")
    );
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    let etag = r.header("etag").unwrap().to_owned();
    assert!(etag.starts_with("\"i-"), "{etag}");

    let mut again = RequestHead::new("GET", "/servers");
    again.if_none_match = vec![etag.clone().into_bytes()];
    let r = handle(&again, &config(), &s, T0);
    assert_eq!((r.status, r.body.len()), (304, 0));

    // Any rewrite changes the tag, even one of the same length.
    let rewritten = String::from_utf8(stored)
        .unwrap()
        .replace("Realm eu-1", "Realm eu-2");
    let s = MemoryStore::default().with("k:servers", rewritten.as_bytes(), -1);
    assert_ne!(
        ask(&s, "GET", "/servers", T0).header("etag"),
        Some(etag.as_str())
    );
}

#[test]
fn a_missing_or_bad_index_is_a_json_error() {
    let r = ask(&MemoryStore::default(), "GET", "/servers", T0);
    assert_eq!(
        (r.status, json(&r)["error"].clone()),
        (503, "index_unavailable".into())
    );
    assert_eq!(r.header("retry-after"), Some("30"));
    assert_eq!(r.header("cache-control"), Some("no-store"));

    let too_large = {
        let mut v: Value = serde_json::from_slice(&index()).unwrap();
        v["padding"] = "x".repeat(status_document::servers::MAX_INDEX_BYTES).into();
        serde_json::to_vec(&v).unwrap()
    };
    for bad in [
        b"not json".to_vec(),
        b"[]".to_vec(),
        br#"{"schema_version":1}"#.to_vec(),
        String::from_utf8(index())
            .unwrap()
            .replace("eu-1", "EU:1")
            .into_bytes(),
        too_large,
    ] {
        let s = MemoryStore::default().with("k:servers", &bad, -1);
        let r = ask(&s, "GET", "/servers", T0);
        assert_eq!(
            r.status,
            502,
            "{}",
            String::from_utf8_lossy(&bad[..bad.len().min(80)])
        );
        assert_eq!(json(&r)["error"], "invalid_index");
    }
    let s = MemoryStore::default().failing("k:servers", StoreError::Unavailable);
    assert_eq!(ask(&s, "GET", "/servers", T0).status, 503);
}

#[test]
fn a_server_is_served_like_the_default_one_from_its_own_key() {
    let doc = online();
    let s = MemoryStore::default().with(EU1, &doc, 900);
    let r = ask(&s, "GET", "/servers/eu-1", T0 + 5.0);
    assert_eq!(r.status, 200);
    assert_eq!(
        s.calls(),
        [format!("GET {EU1}")],
        "one GET of the server's key"
    );

    let default = MemoryStore::default().with("k", &doc, 900);
    let same = ask(&default, "GET", "/server/status", T0 + 5.0);
    assert_eq!(r.body, same.body);
    for h in ["etag", "cache-control", "last-modified", "content-type"] {
        assert_eq!(r.header(h), same.header(h), "{h}");
    }
    // The last-good copy when the document is gone, as for the default server.
    let s = MemoryStore::default().with(&format!("{EU1}:last_good"), &doc, -1);
    let r = ask(&s, "GET", "/servers/eu-1", T0 + 5.0);
    assert_eq!(
        (r.status, json(&r)["_cache"]["source"].clone()),
        (200, "last_good".into())
    );
}

#[test]
fn a_server_with_no_document_is_unknown() {
    let s = MemoryStore::default();
    let r = ask(&s, "GET", "/servers/eu-1", T0);
    assert_eq!(r.status, 404);
    assert_eq!(r.header("content-type"), Some(JSON));
    assert_eq!(r.header("retry-after"), None);
    let v = json(&r);
    assert_eq!(v["error"], "unknown_server");
    assert_eq!(v.as_object().unwrap().len(), 2, "the usual error shape");
    assert_eq!(
        s.calls(),
        [format!("GET {EU1}"), format!("GET {EU1}:last_good")]
    );
    assert_eq!(ask(&s, "GET", "/servers/eu-1/debug", T0).status, 404);

    // `default` is the deployment's one server: not published yet, as /server/status says.
    let r = ask(&s, "GET", "/servers/default", T0);
    assert_eq!(
        (r.status, json(&r)["error"].clone()),
        (503, "status_unavailable".into())
    );
    // Redis down is not "no such server".
    let s = MemoryStore::default().failing(EU1, StoreError::Unavailable);
    assert_eq!(
        json(&ask(&s, "GET", "/servers/eu-1", T0))["error"],
        "redis_unavailable"
    );
}

#[test]
fn default_by_id_is_the_status_key() {
    let s = MemoryStore::default().with("k", &online(), 900);
    let by_id = ask(&s, "GET", "/servers/default", T0 + 5.0);
    let plain = ask(&s, "GET", "/server/status", T0 + 5.0);
    assert_eq!((by_id.status, &by_id.body), (200, &plain.body));
    assert_eq!(s.calls(), ["GET k", "GET k"]);
}

#[test]
fn what_is_not_an_id_never_reaches_redis() {
    let s = MemoryStore::default()
        .with("k", &online(), 900)
        .with("k:servers", &index(), -1);
    let long = "a".repeat(33);
    for id in [
        "a:b",
        "a%3Ab",
        "..",
        "%2e%2e",
        "EU-1",
        "Main",
        "-x",
        "a.b",
        "a%2Fb",
        long.as_str(),
    ] {
        for tail in [
            "",
            "/history",
            "/badge.svg",
            "/shields.json",
            "/simple",
            "/debug",
        ] {
            for method in ["GET", "HEAD", "OPTIONS"] {
                let target = format!("/servers/{id}{tail}");
                let r = ask(&s, method, &target, T0);
                assert_eq!(r.status, 404, "{method} {target}");
                if method != "HEAD" {
                    assert_eq!(json(&r)["error"], "unknown_server", "{method} {target}");
                }
            }
        }
    }
    assert!(s.calls().is_empty(), "{:?}", s.calls());
}

#[test]
fn every_page_reads_the_servers_keys() {
    let history = format!("{EU1}:history");
    for (page, expected) in [
        ("history", vec![format!("GET {history}")]),
        ("badge.svg", vec![format!("GET {EU1}")]),
        ("shields.json", vec![format!("GET {EU1}")]),
        ("simple", vec![format!("GET {EU1}")]),
        ("debug", vec![format!("GET {EU1}"), format!("TTL {EU1}")]),
        (
            "badge.svg?show=uptime",
            vec![format!("GET {EU1}"), format!("GET {history}")],
        ),
    ] {
        let s = MemoryStore::default().with(EU1, &online(), 900);
        let r = ask(&s, "GET", &format!("/servers/eu-1/{page}"), T0 + 5.0);
        assert_eq!(s.calls(), expected, "{page}");
        assert!(r.status == 200 || page == "history", "{page}: {}", r.status);
    }
    let s = MemoryStore::default().with(EU1, &online(), 900);
    assert_eq!(
        text(&ask(&s, "GET", "/servers/eu-1/simple", T0 + 5.0)),
        "online"
    );
    assert_eq!(
        json(&ask(&s, "GET", "/servers/eu-1/debug", T0 + 5.0))["key"],
        EU1
    );
    let r = ask(&s, "GET", "/servers/eu-1/history", T0);
    assert_eq!(json(&r)["error"], "history_unavailable");

    // No such server: the badge still draws (unknown), simple says 503 unknown.
    let none = MemoryStore::default();
    let r = ask(&none, "GET", "/servers/nope/badge.svg", T0);
    assert_eq!(r.status, 200);
    assert!(text(&r).contains("unknown"));
    let r = ask(&none, "GET", "/servers/nope/simple", T0);
    assert_eq!((r.status, text(&r)), (503, "unknown"));
    assert_eq!(
        r.header("retry-after"),
        None,
        "an unknown server is not retried"
    );
}

#[test]
fn head_and_options_on_the_new_routes() {
    let s = MemoryStore::default()
        .with(EU1, &online(), 900)
        .with("k:servers", &index(), -1);
    for target in [
        "/servers",
        "/servers/eu-1",
        "/servers/eu-1/badge.svg",
        "/servers/eu-1/simple",
    ] {
        let get = ask(&s, "GET", target, T0 + 5.0);
        let head = ask(&s, "HEAD", target, T0 + 5.0);
        assert_eq!((head.status, head.body.len()), (get.status, 0), "{target}");
        assert_eq!(head.header("etag"), get.header("etag"), "{target}");
        assert!(!get.body.is_empty());

        let before = s.calls().len();
        let r = ask(&s, "OPTIONS", target, T0);
        assert_eq!(
            (r.status, r.header("allow")),
            (204, Some(ALLOW)),
            "{target}"
        );
        assert_eq!(r.header("access-control-allow-methods"), Some(ALLOW));
        assert_eq!(s.calls().len(), before, "no Redis call for OPTIONS");

        let r = ask(&s, "DELETE", target, T0);
        assert_eq!(
            (r.status, r.header("allow")),
            (405, Some(ALLOW)),
            "{target}"
        );
    }
}

#[test]
fn the_badge_label_can_be_the_servers_name() {
    let badge = |doc: Vec<u8>, key: &str, target: &str| {
        let s = MemoryStore::default().with(key, &doc, 900);
        let r = ask(&s, "GET", target, T0 + 5.0);
        assert_eq!(r.status, 200, "{target}");
        serde_json::from_slice::<Value>(&r.body).unwrap()["label"].clone()
    };
    let shields = "/servers/eu-1/shields.json?label=$name";
    assert_eq!(
        badge(named(Some("Frag <Zone>")), EU1, shields),
        "Frag <Zone>"
    );
    assert_eq!(badge(named(None), EU1, shields), "eu-1", "no name: the id");
    assert_eq!(badge(online(), EU1, shields), "eu-1");
    let default = "/server/status/shields.json?label=$name";
    assert_eq!(badge(named(Some("Main")), "k", default), "Main");
    assert_eq!(
        badge(online(), "k", default),
        "server",
        "default has no id worth showing"
    );
    // Nothing to read at all: still the id.
    let r = ask(&MemoryStore::default(), "GET", shields, T0);
    assert_eq!(json(&r)["label"], "eu-1");

    let s = MemoryStore::default().with(EU1, &named(Some("Frag <Zone>")), 900);
    let svg = ask(&s, "GET", "/servers/eu-1/badge.svg?label=$name", T0 + 5.0);
    assert!(
        text(&svg).contains("Frag &lt;Zone&gt;"),
        "escaped: {}",
        text(&svg)
    );
}

#[test]
fn fingerprints_tell_rewrites_apart() {
    use crate::servers::fingerprint;
    let base = b"{\"schema_version\":1,\"servers\":[]}".to_vec();
    let mut seen = vec![fingerprint(&base)];
    for changed in [
        [base.as_slice(), b"\0"].concat(), // a trailing zero byte: the length counts
        base[..base.len() - 1].to_vec(),
        base.iter()
            .map(|&b| if b == b'1' { b'2' } else { b })
            .collect(),
        Vec::new(),
    ] {
        let tag = fingerprint(&changed);
        assert!(!seen.contains(&tag), "{changed:?}");
        seen.push(tag);
    }
    assert_eq!(fingerprint(&base), seen[0], "stable");
}
