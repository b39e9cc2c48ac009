//! Every endpoint in every state of the store answers as the spec says, and the probe's
//! fields are held to their types.

use integration_tests::contract;
use integration_tests::reader::{ReaderConfig, ReaderServer};
use integration_tests::redis::TestRedis;
use redis::Commands;
use serde_json::{Value, json};

use super::{document, now, probed};

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

/// Every request the spec describes (and the 404/405/414/431 it promises for the rest),
/// against `reader`; each reply is checked against the spec by the fixture.
async fn exercise(reader: &ReaderServer) -> usize {
    let mut sent = 0;
    for path in contract::paths() {
        // A server's paths with the one server every deployment has (its key is the status
        // key), so they go through the same states as `/server/status`.
        let path = path.replace("{id}", "default");
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
        "/servers/EU:1",
        "/servers/no-such-server",
        "/servers/no-such-server/simple",
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
    for (what, which, value) in &stored_states(t) {
        let _: () = conn.del(&[&key, &last_good]).unwrap();
        if let Some(value) = value {
            let target = if *which == 0 { &key } else { &last_good };
            let _: () = conn.set(target, value).unwrap();
        }
        eprintln!("state: {what}");
        sent += exercise(&reader).await;
    }
    // The history: a real one with flaps and players, then a corrupt one.
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

    sent += exercise_without_redis(&key).await;

    let checked = contract::counts().0 - before;
    assert!(
        checked >= sent,
        "{sent} requests sent, only {checked} replies checked against the spec"
    );
}

/// The stored states at `t`: (what, which key: 0 primary / 1 last-good, stored value);
/// `None`: nothing stored.
fn stored_states(t: f64) -> [(&'static str, usize, Option<Vec<u8>>); 12] {
    [
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
    ]
}

/// Redis unreachable: a reader pointed at a port nobody listens on. Returns the requests
/// sent.
async fn exercise_without_redis(key: &str) -> usize {
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let down = ReaderServer::start(ReaderConfig::new(
        &format!("redis://127.0.0.1:{closed}"),
        key,
    ))
    .await;
    exercise(&down).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probe_fields_are_held_to_their_types() {
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
