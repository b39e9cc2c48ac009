//! What the reader's unit tests share: the instant their documents are written at, a
//! document of one constant in a chosen state, the configuration they serve it under and
//! one request against a [`MemoryStore`]. Test-only (`cfg(test)`), so none of it reaches
//! the `.wasm`.

use crate::config::{Config, Settings};
use crate::request::RequestHead;
use crate::respond::Response;
use crate::serve::handle;
use crate::store::memory::MemoryStore;
use status_document::{
    BuildOptions, ConstantRow, GameServer, Live, PlayerCount, RowValue, State, build,
};

/// When the test documents are written: Tue, 14 Nov 2023 22:13:20 GMT.
pub(crate) const T0: f64 = 1_700_000_000.0;

/// A document written at [`T0`] with `options` from the one constant `RateExp = rate_exp`
/// (a table with no rows at all is refused by the builder), its `state` then set to
/// `state`: the builder works the state out from `ServerStatus`, and the tests want each
/// word whatever the rows say.
pub(crate) fn document(rate_exp: RowValue, options: &BuildOptions, state: &str) -> Vec<u8> {
    let rows = [ConstantRow {
        name: "RateExp".into(),
        value: rate_exp,
        description: None,
    }];
    let json = build(&rows, options, T0).unwrap().json;
    let mut v: serde_json::Value = serde_json::from_slice(&json).unwrap();
    v["state"] = state.into();
    serde_json::to_vec(&v).unwrap()
}

/// A document written at [`T0`] (interval 600 s, TTL 900 s) whose constant says
/// `constant`, with what the refresher learnt since (`live`) applied the way the refresher
/// applies it, so `state` and `state_reason` follow the one precedence rule.
pub(crate) fn live_document(constant: State, live: &Live) -> Vec<u8> {
    let rows = [ConstantRow {
        name: "RateExp".into(),
        value: RowValue::Int(2),
        description: None,
    }];
    let mut document = build(&rows, &BuildOptions::default(), T0).unwrap().document;
    document.apply_live(constant, live);
    document.to_json()
}

/// A game-server probe's word: `reachable` as of `checked_at`, probing every `interval_s`,
/// believed for `deadline_s` (with 2 failures to go down: three intervals).
pub(crate) fn probe(reachable: bool, checked_at: f64, interval_s: u64) -> GameServer {
    GameServer {
        reachable,
        checked_at,
        latency_ms: reachable.then_some(1.5),
        since: T0 - 3600.0,
        addr_count: 1,
        interval_s,
        deadline_s: interval_s * 3,
        failure: None,
    }
}

/// [`Live`] with a probe and, when `players` is given, a count taken at `checked_at`.
pub(crate) fn live(game_server: GameServer, players: Option<u64>) -> Live {
    Live {
        game_server: Some(game_server),
        players: players.map(|count| PlayerCount {
            count,
            at: game_server.checked_at,
        }),
        ..Live::default()
    }
}

/// The reader under test: status key `k`, CORS for any origin, a Redis it never dials.
pub(crate) fn config() -> Config<'static> {
    config_with_cors("*")
}

/// [`config`] with another CORS setting.
pub(crate) fn config_with_cors(cors: &str) -> Config<'static> {
    Config::resolved(
        Settings::new("", "k", cors),
        Some("redis://127.0.0.1:6379".into()),
    )
}

/// The answer to a plain `method target` request (no conditional or CORS headers) at `now`,
/// served under [`config`] from `store`.
pub(crate) fn ask(store: &MemoryStore, method: &str, target: &str, now: f64) -> Response {
    handle(&RequestHead::new(method, target), &config(), store, now)
}
