//! The per-request host-call budget, held against the real `.wasm` in `reader-host`
//! through its counters (`reader-host --stats`, `RunningHost::stats`): under Spin every
//! variable lookup is a host call that resolves its expression again, and every outbound
//! Redis open is a new connection, so what a request asks for is what it costs.
//!
//! Each case is one request; the counters are read before and after it (once its store is
//! dropped) and must match the budget exactly, so a lookup or a Redis call that creeps back
//! fails here. Both backends: `redis_api=outbound` and `redis_api=key_value`; both builds:
//! WASIp2 (`spin.toml`) and WASIp3 (`deploy/spin/spin4.toml`), whose `redis_timeout_ms`
//! rides in the packed settings and so costs no lookup of its own. A WASIp3 instance serves
//! many requests and keeps its Redis handle, so there only the first request opens one
//! ([`Instance`]).

use std::time::{SystemTime, UNIX_EPOCH};

use integration_tests::reader::{Build, ReaderConfig, ReaderServer};
use integration_tests::redis::TestRedis;
use reader_host::StatsSnapshot;
use status_document::{
    BuildOptions, ConstantRow, GameServer, Live, PlayerCount, RowValue, State, build,
};

/// A document with everything a request may have to judge: the state, and the
/// game-server probe (its deadline, its next write) and players count, all of which must
/// come from the one read.
fn document() -> Vec<u8> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let rows = vec![ConstantRow {
        name: "ServerStatus".into(),
        value: RowValue::Int(1),
        description: None,
    }];
    let mut document = build(&rows, &BuildOptions::default(), now)
        .unwrap()
        .document;
    document.apply_live(
        State::Online,
        &Live {
            game_server: Some(GameServer {
                reachable: true,
                checked_at: now,
                latency_ms: Some(0.5),
                since: now - 60.0,
                addr_count: 1,
                interval_s: 10,
                deadline_s: 30,
                failure: None,
            }),
            players: Some(PlayerCount {
                count: 150,
                at: now,
            }),
            ..Live::default()
        },
    );
    document.to_json()
}

/// What one request may ask the host for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Budget {
    lookups: u64,
    opens: u64,
    commands: u64,
    reads: u64,
}

const fn budget(lookups: u64, opens: u64, commands: u64, reads: u64) -> Budget {
    Budget {
        lookups,
        opens,
        commands,
        reads,
    }
}

fn spent(before: &StatsSnapshot, after: &StatsSnapshot) -> Budget {
    Budget {
        lookups: after.variable_lookups - before.variable_lookups,
        opens: after.redis_opens - before.redis_opens,
        commands: after.redis_commands - before.redis_commands,
        reads: after.redis_reads - before.redis_reads,
    }
}

/// (method, path, Origin, expected status, budget).
type Case = (
    &'static str,
    &'static str,
    Option<&'static str>,
    u16,
    Budget,
);

/// No host call at all.
const NOTHING: Budget = budget(0, 0, 0, 0);
/// The settings' one variable lookup, and no Redis.
const LOOKUP: Budget = budget(1, 0, 0, 0);

/// Nothing but routing: no lookup without an `Origin`, the settings with one.
const ROUTING: [Case; 6] = [
    ("GET", "/nope", None, 404, NOTHING),
    ("POST", "/server/status", None, 405, NOTHING),
    ("GET", "/nope", Some("https://site.example"), 404, LOOKUP),
    ("OPTIONS", "/server/status", None, 204, LOOKUP),
    ("GET", "/server/status/widget.js", None, 200, LOOKUP),
    ("GET", "/server/status/widget", None, 200, LOOKUP),
];

/// A document endpoint on the outbound API: the one packed variable (it was two, the
/// settings and the connection), one open (a new connection) and one `GET`.
const OUTBOUND_GET: Budget = budget(1, 1, 1, 1);
/// The same on the key-value API: the one variable, one store open, which Spin follows
/// with a `PING`, and one `GET`.
const KEY_VALUE_GET: Budget = budget(1, 1, 2, 1);

/// The document endpoints: (path, Origin, outbound budget, key-value budget). Only debug
/// asks for more: `TTL` on top, outbound (the key-value API has no `TTL` to ask for).
const DOCUMENT: [(&str, Option<&str>, Budget, Budget); 11] = [
    ("/server/status", None, OUTBOUND_GET, KEY_VALUE_GET),
    (
        "/server/status",
        Some("https://site.example"),
        OUTBOUND_GET,
        KEY_VALUE_GET,
    ),
    ("/health", None, OUTBOUND_GET, KEY_VALUE_GET),
    (
        "/server/status/badge.svg?show=players",
        None,
        OUTBOUND_GET,
        KEY_VALUE_GET,
    ),
    (
        "/server/status/shields.json",
        None,
        OUTBOUND_GET,
        KEY_VALUE_GET,
    ),
    (
        "/server/status/debug",
        None,
        budget(1, 1, 2, 2),
        KEY_VALUE_GET,
    ),
    // The history: one read of its own key.
    ("/server/status/history", None, OUTBOUND_GET, KEY_VALUE_GET),
    // A server's pages cost what the default server's do (`default`'s key is the status key).
    ("/servers/default", None, OUTBOUND_GET, KEY_VALUE_GET),
    (
        "/servers/default/history",
        None,
        OUTBOUND_GET,
        KEY_VALUE_GET,
    ),
    // The servers index and the status page: one read of their own key each.
    ("/servers", None, OUTBOUND_GET, KEY_VALUE_GET),
    ("/status", None, OUTBOUND_GET, KEY_VALUE_GET),
];

/// The badge's `show=uptime`, the one option that reads a second key: the
/// document and the history, on the same connection.
const UPTIME: [(&str, Option<&str>, Budget, Budget); 1] = [(
    "/server/status/badge.svg?show=uptime",
    None,
    budget(1, 1, 2, 2),
    budget(1, 1, 3, 2),
)];

/// A history of a minute of one-second probes up to now, as the refresher records it.
fn history() -> Vec<u8> {
    use status_document::history::{History, Observation};
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let mut h = History::new();
    for s in 0..60u32 {
        h.record(&Observation {
            at: now - 60.0 + f64::from(s),
            state: State::Online,
            reason: None,
            players: Some(150),
            vouch_s: 30,
            maintenance_until: None,
        });
    }
    h.to_json()
}

/// The keys every budget case reads.
fn seed(redis: &TestRedis) {
    redis.set(&redis.status_key(), document());
    redis.set(
        &status_document::keys::history_key(&redis.status_key()),
        history(),
    );
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let index = serde_json::json!({"schema_version": 1, "servers": [{
        "id": "default", "name": "default", "state": "online", "updated_at": now,
        "group": "all", "order": 0}]});
    redis.set(
        &status_document::servers::index_key(&redis.status_key()),
        index.to_string(),
    );
    let page = status_document::page::PageDocument {
        schema_version: status_document::page::PAGE_VERSION,
        generated_at: now,
        total_servers: 0,
        servers: Vec::new(),
    };
    redis.set(
        &status_document::page::page_key(&redis.status_key()),
        serde_json::to_vec(&page).unwrap(),
    );
}

/// [`DOCUMENT`] (or [`UPTIME`]) as cases for one backend.
fn document_cases(key_value: bool) -> Vec<Case> {
    cases(&DOCUMENT, key_value)
}

fn cases(
    table: &[(&'static str, Option<&'static str>, Budget, Budget)],
    key_value: bool,
) -> Vec<Case> {
    table
        .iter()
        .map(|&(path, origin, outbound, kv)| {
            (
                "GET",
                path,
                origin,
                200,
                if key_value { kv } else { outbound },
            )
        })
        .collect()
}

/// What a reader's instances already hold. Under Spin 4 a WASIp3 instance serves many
/// requests and the reader keeps its Redis handle (the outbound connection or the
/// key-value store) in the instance: only the first request that needs Redis opens one,
/// and the key-value store's `PING` comes with that open. A WASIp2 instance serves one
/// request, so every request opens its own.
struct Instance {
    keeps_its_handle: bool,
    opened: bool,
}

impl Instance {
    fn of(build: Build) -> Instance {
        Instance {
            keeps_its_handle: build == Build::Wasip3,
            opened: false,
        }
    }

    /// `expected` as this request costs it: the open (and the key-value `PING`) left out
    /// once the instance holds its handle.
    fn expects(&mut self, expected: Budget, key_value: bool) -> Budget {
        if !self.keeps_its_handle || expected.opens == 0 {
            return expected;
        }
        if !self.opened {
            self.opened = true;
            return expected;
        }
        Budget {
            opens: 0,
            commands: expected.commands - u64::from(key_value),
            ..expected
        }
    }
}

async fn check(reader: &ReaderServer, cases: &[Case], backend: &str, instance: &mut Instance) {
    let key_value = backend.ends_with("key_value");
    for &(method, path, origin, status, expected) in cases {
        let headers: Vec<(&str, &str)> = origin.map(|o| ("origin", o)).into_iter().collect();
        let before = reader.settled_stats().await;
        let reply = reader.request(method, path, &headers).await;
        assert_eq!(reply.status, status, "{backend}: {method} {path}");
        let after = reader.settled_stats().await;
        assert_eq!(
            after.requests_finished,
            before.requests_finished + 1,
            "{backend}: {method} {path}: the request did not finish"
        );
        assert_eq!(
            spent(&before, &after),
            instance.expects(expected, key_value),
            "{backend}: {method} {path} (Origin {origin:?})"
        );
    }
}

#[tokio::test]
async fn every_endpoint_keeps_its_budget_on_the_outbound_api() {
    every_endpoint_keeps_its_budget(false).await;
}

#[tokio::test]
async fn every_endpoint_keeps_its_budget_on_the_key_value_api() {
    every_endpoint_keeps_its_budget(true).await;
}

/// Every case, on the key-value API or the outbound one, under both builds; and the
/// happy path's bound over the document endpoints.
async fn every_endpoint_keeps_its_budget(key_value: bool) {
    for build in [Build::Wasip2, Build::Wasip3] {
        let redis = TestRedis::new();
        seed(&redis);
        let mut config = ReaderConfig::new(&redis.url(), &redis.status_key());
        if key_value {
            config = config.key_value(&redis.url());
        }
        let reader = ReaderServer::start(config.build(build)).await;
        let api = if key_value { "key_value" } else { "outbound" };
        let backend = format!("{build:?} {api}");
        let mut instance = Instance::of(build);
        check(&reader, &ROUTING, &backend, &mut instance).await;
        check(&reader, &document_cases(key_value), &backend, &mut instance).await;
        // The happy path: one variable lookup and one Redis read (outbound: two for debug's
        // `GET` and `TTL`).
        let s = reader.settled_stats().await;
        if key_value {
            assert_eq!(s.redis_reads_max, 1, "{backend}: {s:?}");
            assert_eq!(s.variable_lookups_max, 1, "{backend}: {s:?}");
        } else {
            assert!(
                s.redis_reads_max <= 2 && s.variable_lookups_max <= 1,
                "{backend}: {s:?}"
            );
        }
        check(&reader, &cases(&UPTIME, key_value), &backend, &mut instance).await;
    }
}

/// What the bench's rows depend on: Spin's outbound API connects once per request, its
/// key-value store once per app.
#[tokio::test]
async fn outbound_connects_per_request_key_value_once() {
    let redis = TestRedis::new();
    redis.set(&redis.status_key(), document());
    let outbound = ReaderServer::start(ReaderConfig::new(&redis.url(), &redis.status_key())).await;
    let kv = ReaderServer::start(
        ReaderConfig::new(&redis.url(), &redis.status_key()).key_value(&redis.url()),
    )
    .await;
    for _ in 0..20 {
        assert_eq!(outbound.get("/server/status").await.status, 200);
        assert_eq!(kv.get("/server/status").await.status, 200);
    }
    assert_eq!(outbound.settled_stats().await.redis_connections_opened, 20);
    assert_eq!(kv.settled_stats().await.redis_connections_opened, 1);
}
