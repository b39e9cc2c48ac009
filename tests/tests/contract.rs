//! Issue 11's contract, `reader/openapi.json`: the served copy is the repository's,
//! docs/website.md's endpoint table names exactly the spec's paths, every endpoint in every state of the store
//! answers as the spec says (each reply goes through `integration_tests::contract::check`,
//! as every reply of every reader test does), and the check itself fails on replies that
//! depart from the spec.

use std::collections::BTreeSet;
use std::time::{SystemTime, UNIX_EPOCH};

use integration_tests::binaries::workspace_root;
use integration_tests::contract;
use integration_tests::docs;
use integration_tests::reader::{ReaderConfig, ReaderServer};
use integration_tests::redis::TestRedis;
use redis::Commands;
use serde_json::{Value, json};
use status_document::{
    BuildOptions, ConstantRow, GameServer, Live, PlayerCount, RowValue, State, build,
};

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// A document as the refresher writes it, read at `updated_at`, with `ServerStatus` = `status`.
fn document(updated_at: f64, status: i64) -> Vec<u8> {
    let rows = vec![
        ConstantRow {
            name: "ServerStatus".into(),
            value: RowValue::Int(status),
            description: Some("Сервер включён".into()),
        },
        ConstantRow {
            name: "RateExp".into(),
            value: RowValue::Bytes(b"3.5".to_vec()),
            description: Some("Рейт опыта".into()),
        },
    ];
    build(&rows, &BuildOptions::default(), updated_at)
        .expect("the fixture document builds")
        .json
}

/// [`document`] as the refresher rewrites it with a game-server probe (every 10 s, checked
/// `since_check` seconds ago, `reachable` or not) and a players count: issue 21's fields.
fn probed(updated_at: f64, reachable: bool, since_check: f64) -> Vec<u8> {
    let mut doc: status_document::StatusDocument =
        serde_json::from_slice(&document(updated_at, 1)).expect("the fixture parses");
    let checked_at = now() - since_check;
    doc.max_players = Some(1000);
    doc.apply_live(
        State::Online,
        &Live {
            game_server: Some(GameServer {
                reachable,
                checked_at,
                latency_ms: reachable.then_some(0.7),
                since: updated_at - 3600.0,
                addr_count: 2,
                interval_s: 10,
                deadline_s: 30,
            }),
            players: Some(PlayerCount {
                count: 150,
                at: checked_at,
            }),
        },
    );
    doc.to_json()
}

fn repository_spec() -> Value {
    let text = std::fs::read_to_string(workspace_root().join("reader/openapi.json"))
        .expect("reader/openapi.json");
    serde_json::from_str(&text).expect("reader/openapi.json is JSON")
}

#[test]
fn documented_endpoint_table_names_the_specs_paths() {
    let page = docs::read(docs::WEBSITE);
    let table: Vec<&str> = page
        .lines()
        .skip_while(|l| !l.starts_with("| Request | Answer |"))
        .take_while(|l| l.starts_with('|'))
        .collect();
    assert!(
        table.len() > 2,
        "{} has no `| Request | Answer |` table",
        docs::WEBSITE
    );
    let mut documented = BTreeSet::new();
    for row in &table[2..] {
        let first_cell = row.split('|').nth(1).unwrap_or("");
        // `GET`/`HEAD /server/status` -> /server/status
        for code in first_cell.split('`').skip(1).step_by(2) {
            if let Some(path) = code.split_whitespace().find(|w| w.starts_with('/')) {
                documented.insert(path.to_owned());
            }
        }
    }
    let spec: BTreeSet<String> = contract::paths().into_iter().collect();
    assert_eq!(
        documented,
        spec,
        "{}'s endpoint table and reader/openapi.json name different paths",
        docs::WEBSITE
    );
}

#[test]
fn spec_is_openapi_3_1_with_an_operation_per_route() {
    let spec = repository_spec();
    assert!(spec["openapi"].as_str().unwrap().starts_with("3.1."));
    let paths: BTreeSet<String> = contract::paths().into_iter().collect();
    // Both builds' manifests: the WASIp2 one at the root and Spin 4's (issue 25).
    for manifest_path in ["spin.toml", "deploy/spin/spin4.toml"] {
        let manifest = std::fs::read_to_string(workspace_root().join(manifest_path))
            .unwrap_or_else(|e| panic!("{manifest_path}: {e}"));
        let routes: BTreeSet<String> = manifest
            .lines()
            .filter_map(|l| l.strip_prefix("route = \""))
            .map(|r| r.trim_end_matches('"').to_owned())
            .filter(|r| r != "/...")
            .collect();
        assert_eq!(
            routes, paths,
            "{manifest_path}'s routes and the spec's paths differ"
        );
    }
    for path in &paths {
        for method in ["get", "options"] {
            assert!(
                spec["paths"][path][method].is_object(),
                "{path} has no {method}"
            );
        }
    }
}

#[test]
fn examples_are_real_responses_that_validate() {
    let checked = contract::check_examples().unwrap_or_else(|e| panic!("{e}"));
    assert!(checked >= 10, "only {checked} examples in the spec");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn served_spec_is_the_repository_file() {
    let redis = TestRedis::new();
    let reader = ReaderServer::start(ReaderConfig::new(&redis.url(), &redis.status_key())).await;
    let reply = reader.get("/server/status/openapi.json").await;
    assert_eq!(reply.status, 200);
    // Compared as parsed values: the served copy has no whitespace, and both sides go
    // through the same parser, so no float is judged by its spelling.
    assert_eq!(reply.json(), repository_spec());
    assert!(
        reply.body.len() * 10
            < std::fs::metadata(workspace_root().join("reader/openapi.json"))
                .unwrap()
                .len() as usize
                * 7,
        "the served copy is compacted ({} bytes)",
        reply.body.len()
    );
    let etag = reply.header("etag").unwrap().to_owned();
    let again = reader
        .request(
            "GET",
            "/server/status/openapi.json",
            &[("if-none-match", &etag)],
        )
        .await;
    assert_eq!((again.status, again.body.len()), (304, 0));
}

/// `value` percent-encoded for a query string (every byte but the unreserved ones).
fn query_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The spec's limits are the reader's (issue 22): for values at and past each edge, the
/// spec's own parameter schema and the real `.wasm` agree. A value the schema accepts is
/// answered (200, or 304 for a matching tag), one it rejects gets a 4xx — so a client
/// generated from the spec is never refused, and schemathesis' negative data never served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_specs_parameter_limits_are_the_readers() {
    let redis = TestRedis::new();
    let key = redis.status_key();
    let mut conn = redis.conn();
    let _: () = conn
        .set(&key, document(now(), 1))
        .expect("store a fresh document");
    let reader = ReaderServer::start(ReaderConfig::new(&redis.url(), &key)).await;
    let mut disagreements = Vec::new();
    let mut judge = |what: String, accepted: bool, status: u16| {
        let answered = status == 200 || status == 304;
        let refused = (400..500).contains(&status);
        if !(accepted && answered || !accepted && refused) {
            disagreements.push(format!(
                "{what}: the spec {} it, the reader answered {status}",
                if accepted { "accepts" } else { "rejects" }
            ));
        }
    };

    let long = |n: usize, c: char| c.to_string().repeat(n);
    let samples: Vec<(&str, Vec<String>)> = vec![
        (
            "label",
            vec![
                String::new(),
                "My Realm".into(),
                "<script>".into(),
                long(64, 'a'),
                long(65, 'a'),
                long(64, 'ж'),
                long(65, 'ж'),
                "x\ny".into(),
                "x\u{7f}".into(),
                "x\u{85}".into(),
                "x\u{202e}y".into(),
                "x\u{2066}".into(),
                "x\u{fffe}".into(),
                "x\n".into(),
            ],
        ),
        (
            "style",
            [
                "flat",
                "flat-square",
                "for-the-badge",
                "plastic",
                "",
                "FLAT",
            ]
            .map(String::from)
            .to_vec(),
        ),
        (
            "lang",
            ["en", "ru", "de", "", "EN"].map(String::from).to_vec(),
        ),
        (
            "show",
            [
                "",
                "exp",
                "exp,pvp",
                "color_mob,skill,pve",
                "exp,exp",
                "exp,",
                ",exp",
                ",",
                "exp,,pvp",
                "EXP",
                "gold",
                "exp,gold",
                " exp",
                "exp pvp",
                "exp;pvp",
            ]
            .map(String::from)
            .to_vec(),
        ),
    ];
    for (name, values) in &samples {
        for value in values {
            let accepted = contract::parameter_accepts(name, value);
            for endpoint in ["badge.svg", "shields.json"] {
                let target = format!("/server/status/{endpoint}?{name}={}", query_encode(value));
                let status = reader.get(&target).await.status;
                judge(format!("{name}={value:?} on {endpoint}"), accepted, status);
            }
        }
    }

    // If-None-Match: the spec's maxLength is the reader's bound, to the byte.
    let bound = spec_max_length("If-None-Match");
    for value in [
        "*".to_owned(),
        "\"no-such-tag\"".to_owned(),
        long(bound, 'x'),
        long(bound + 1, 'x'),
    ] {
        let accepted = contract::parameter_accepts("If-None-Match", &value);
        for path in [
            "/server/status",
            "/server/status/simple",
            "/server/status/badge.svg",
            "/server/status/shields.json",
            "/server/status/widget.js",
            "/server/status/widget",
            "/server/status/openapi.json",
        ] {
            let status = reader
                .request("GET", path, &[("if-none-match", value.as_str())])
                .await
                .status;
            judge(
                format!("If-None-Match of {} bytes on {path}", value.len()),
                accepted,
                status,
            );
        }
    }
    assert!(
        disagreements.is_empty(),
        "the spec and the reader disagree:\n{}",
        disagreements.join("\n")
    );
}

/// A history of 400 one-second probes up to `now`: 80 s online, 20 s offline (unreachable),
/// with players, and a maintenance in the middle.
fn flapping_history(now: f64) -> Vec<u8> {
    use status_document::history::{History, Observation};
    use status_document::{State, StateReason};
    let mut h = History::new();
    for s in 0..400u32 {
        let (state, reason) = match s % 100 {
            0..80 => (State::Online, None),
            _ if s > 300 => (State::Maintenance, None),
            _ => (State::Offline, Some(StateReason::Unreachable)),
        };
        h.record(&Observation {
            at: now - 400.0 + f64::from(s),
            state,
            reason,
            players: Some(u64::from(s % 50)),
            vouch_s: 2,
            maintenance_until: (state == State::Maintenance).then_some(now + 600.0),
        });
    }
    h.to_json()
}

/// `maxLength` of a parameter's schema in the repository's spec.
fn spec_max_length(parameter: &str) -> usize {
    let spec = repository_spec();
    let length = spec["components"]["parameters"][parameter]["schema"]["maxLength"]
        .as_u64()
        .unwrap_or_else(|| panic!("{parameter} has no maxLength"));
    usize::try_from(length).expect("a maxLength that fits in usize")
}

/// Every request the spec describes (and the 404/405/414/431 it promises for the rest),
/// against `reader`; each reply is checked against the spec by the fixture.
async fn exercise(reader: &ReaderServer) -> usize {
    let mut sent = 0;
    for path in contract::paths() {
        for method in ["GET", "HEAD", "OPTIONS", "POST"] {
            reader.request(method, &path, &[]).await;
            sent += 1;
        }
        let first = reader.get(&path).await;
        sent += 1;
        if let Some(etag) = first.header("etag") {
            let etag = etag.to_owned();
            reader
                .request("GET", &path, &[("if-none-match", &etag)])
                .await;
            sent += 1;
        }
    }
    for target in [
        "/server/status/badge.svg?style=flat-square&label=realm&lang=ru&show=exp,pvp",
        "/server/status/badge.svg?lang=ru&show=players,exp",
        "/server/status/shields.json?show=players",
        "/server/status/shields.json?style=plastic",
        "/server/status/badge.svg?label=%E2%80%AEx",
        "/nope",
        &format!("/server/status?{}", "a".repeat(3000)),
    ] {
        reader.get(target).await;
        sent += 1;
    }
    let huge = format!("\"{}\"", "x".repeat(9000));
    reader
        .request("GET", "/server/status", &[("if-none-match", &huge)])
        .await;
    sent + 1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_endpoint_in_every_state_answers_as_the_spec_says() {
    let redis = TestRedis::new();
    let key = redis.status_key();
    let last_good = redis.last_good_key();
    let reader = ReaderServer::start(ReaderConfig::new(&redis.url(), &key)).await;
    let mut conn = redis.conn();
    let before = contract::counts().0;
    let mut sent = 0;

    let t = now();
    // (what, which key: 0 primary / 1 last-good, stored value); `None`: nothing stored.
    let states: [(&str, usize, Option<Vec<u8>>); 12] = [
        ("nothing published", 0, None),
        ("fresh, online", 0, Some(document(t, 1))),
        ("fresh, offline", 0, Some(document(t, 0))),
        (
            "probed, online, with players",
            0,
            Some(probed(t - 100.0, true, 3.0)),
        ),
        (
            "probed, unreachable",
            0,
            Some(probed(t - 100.0, false, 3.0)),
        ),
        (
            "probe past its deadline",
            0,
            Some(probed(t - 100.0, true, 45.0)),
        ),
        ("overdue", 0, Some(document(t - 700.0, 1))),
        ("past the TTL", 0, Some(document(t - 1000.0, 1))),
        ("last-good only", 1, Some(document(t - 5000.0, 1))),
        ("not JSON", 0, Some(b"{not json".to_vec())),
        ("not a document", 0, Some(b"{\"a\":1}".to_vec())),
        ("schema 9", 0, Some(b"{\"schema_version\":9}".to_vec())),
    ];
    for (what, which, value) in &states {
        let _: () = conn.del(&[&key, &last_good]).unwrap();
        if let Some(value) = value {
            let target = if *which == 0 { &key } else { &last_good };
            let _: () = conn.set(target, value).unwrap();
        }
        eprintln!("state: {what}");
        sent += exercise(&reader).await;
    }
    // The history (issue 23): a real one with flaps and players, then a corrupt one.
    let history = status_document::keys::history_key(&key);
    let _: () = conn.del(&[&key, &last_good]).unwrap();
    let _: () = conn.set(&key, document(t, 1)).unwrap();
    let _: () = conn.set(&history, flapping_history(t)).unwrap();
    eprintln!("state: with a history");
    sent += exercise(&reader).await;
    let _: () = conn.set(&history, b"{not json").unwrap();
    eprintln!("state: corrupt history");
    sent += exercise(&reader).await;
    let _: () = conn.del(&history).unwrap();

    // A Redis value of the wrong type.
    let _: () = conn.del(&[&key, &last_good]).unwrap();
    let _: () = conn.rpush(&key, "x").unwrap();
    sent += exercise(&reader).await;
    let _: () = conn.del(&key).unwrap();

    // Redis unreachable: a reader pointed at a port nobody listens on.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let down = ReaderServer::start(ReaderConfig::new(
        &format!("redis://127.0.0.1:{closed}"),
        &key,
    ))
    .await;
    sent += exercise(&down).await;

    let checked = contract::counts().0 - before;
    assert!(
        checked >= sent,
        "{sent} requests sent, only {checked} replies checked against the spec"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_21_fields_are_held_to_their_types() {
    let redis = TestRedis::new();
    let key = redis.status_key();
    redis.set(&key, probed(now() - 100.0, false, 2.0));
    let reader = ReaderServer::start(ReaderConfig::new(&redis.url(), &key)).await;
    let reply = reader.get("/server/status").await;
    assert_eq!(reply.status, 200);
    let served = reply.json();
    assert_eq!(served["state_reason"], "unreachable");
    assert_eq!(served["game_server"]["latency_ms"], Value::Null);
    assert_eq!(
        contract::check("GET", "/server/status", 200, &reply.headers, &reply.body),
        Ok(())
    );
    // The same reply with one field out of its type or range is refused.
    for (pointer, bad) in [
        ("/players", json!(-1)),
        ("/players", json!(4_294_967_297_u64)),
        ("/players", json!(1.5)),
        ("/max_players", json!("1000")),
        ("/players_at", json!("now")),
        ("/state_reason", json!(1)),
        ("/game_server/reachable", json!("no")),
        ("/game_server/latency_ms", json!(-1.0)),
        ("/game_server/addr_count", json!(0)),
        ("/game_server/interval_s", json!(0)),
        ("/game_server/checked_at", Value::Null),
    ] {
        let mut body = served.clone();
        *body.pointer_mut(pointer).expect("the field is served") = bad.clone();
        let bytes = serde_json::to_vec(&body).unwrap();
        let err = contract::check("GET", "/server/status", 200, &reply.headers, &bytes)
            .expect_err(&format!("{pointer} = {bad} passed"));
        assert!(err.contains("body"), "{err}");
    }
    let mut body = served.clone();
    body["game_server"]
        .as_object_mut()
        .unwrap()
        .remove("deadline_s");
    let bytes = serde_json::to_vec(&body).unwrap();
    assert!(contract::check("GET", "/server/status", 200, &reply.headers, &bytes).is_err());
}

/// A reply the spec does not allow: method, target, status, headers, body, and a word the
/// check's complaint must contain.
type Departure<'a> = (
    &'a str,
    &'a str,
    u16,
    &'a http::HeaderMap,
    &'a [u8],
    &'a str,
);

#[test]
fn the_check_fails_replies_that_depart_from_the_spec() {
    let json = |pairs: &[(&str, &str)]| {
        let mut h = http::HeaderMap::new();
        for (n, v) in pairs {
            h.insert(
                http::HeaderName::from_bytes(n.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    };
    let no_store = json(&[
        ("content-type", "application/json; charset=utf-8"),
        ("cache-control", "no-store"),
    ]);
    let ok_health = br#"{"status":"ok","age_seconds":1,"source":"primary","state":"online","last_known_state":"online"}"#;
    assert_eq!(
        contract::check("GET", "/health", 200, &no_store, ok_health),
        Ok(())
    );
    let cases: [Departure; 6] = [
        ("GET", "/health", 418, &no_store, ok_health, "status 418"),
        (
            "GET",
            "/health",
            200,
            &no_store,
            br#"{"status":"fine","state":"online"}"#,
            "body",
        ),
        (
            "GET",
            "/health",
            200,
            &json(&[("content-type", "application/json")]),
            ok_health,
            "Cache-Control missing",
        ),
        (
            "GET",
            "/health",
            200,
            &json(&[("content-type", "text/html"), ("cache-control", "no-store")]),
            ok_health,
            "content-type",
        ),
        (
            "GET",
            "/server/status/simple",
            200,
            &json(&[
                ("content-type", "text/plain; charset=utf-8"),
                ("cache-control", "no-store"),
                ("etag", "\"x\""),
                ("x-content-type-options", "nosniff"),
            ]),
            b"offline",
            "body",
        ),
        (
            "GET",
            "/server/status",
            503,
            &no_store,
            br#"{"error":"invalid_json","message":"x"}"#,
            "Retry-After",
        ),
    ];
    for (method, target, status, headers, body, says) in cases {
        let err = contract::check(method, target, status, headers, body)
            .expect_err(&format!("{target} {status} {says} passed"));
        assert!(err.contains(says), "{err}");
    }
}
