//! The reader's contract, `reader/openapi.json`: the served copy is the repository's,
//! docs/website.md's endpoint table names exactly the spec's paths, every endpoint in every state of the store
//! answers as the spec says (each reply goes through `integration_tests::contract::check`,
//! as every reply of every reader test does), and the check itself fails on replies that
//! depart from the spec.

use std::time::{SystemTime, UNIX_EPOCH};

use integration_tests::binaries::workspace_root;
use serde_json::Value;
use status_document::{
    BuildOptions, ConstantRow, GameServer, Live, PlayerCount, RowValue, State, build,
};

mod limits;
mod spec;
mod states;

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
/// `since_check` seconds ago, `reachable` or not) and a players count: the probe's fields.
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
                failure: None,
            }),
            players: Some(PlayerCount {
                count: 150,
                at: checked_at,
            }),
            ..Live::default()
        },
    );
    doc.to_json()
}

fn repository_spec() -> Value {
    let text = std::fs::read_to_string(workspace_root().join("reader/openapi.json"))
        .expect("reader/openapi.json");
    serde_json::from_str(&text).expect("reader/openapi.json is JSON")
}
