//! The game's own query protocol against a real game server: Debian's OpenArena
//! (ioquake3), asked with Quake 3's `getstatus` through gamedig (`GAME_SERVER_QUERY=q3a`),
//! with bots on the server.
//!
//! - its player limit, name (colour codes removed), map, game and version reach the stored
//!   document and the reader's answer; no player's name does, and no player count: gamedig
//!   0.9.0's Quake client drops the player lines, so a count would be a wrong 0 (the
//!   refresher's `read/probe/game/tests.rs` holds a canary that fails once gamedig reads
//!   them, and this test then expects the bots, which have a ping of 0);
//! - killed (SIGKILL: the UDP port falls silent), it is `offline` with the reason `timeout`
//!   at the reader within the probe's bound, and the game's texts and counts are gone.
//!
//! - without MySQL (no database setting at all), the game server alone gives the state,
//!   and the document has no constants.
//!
//! The stand-ins for Valve's A2S and Minecraft's Server List Ping, and the malformed answers,
//! are the refresher's own tests (`read/probe/game/tests.rs`): gamedig over real sockets.

use std::time::{Duration, Instant};

use integration_tests::binaries::Child;
use integration_tests::game_server::{GameServer, prebuild, probed_refresher, set_up};
use integration_tests::openarena::{self, OpenArena};
use integration_tests::reader::{ReaderConfig, ReaderServer};
use integration_tests::redis::TestRedis;
use integration_tests::wait::{SETTLE, wait_until};

use super::{FAILURES, INTERVAL, SLACK, bound, document, reader_says};

/// ioquake3 adds one bot every ten seconds or so until `bot_minplayers` are on.
const BOTS_JOIN_WITHIN: Duration = Duration::from_secs(60);
const BOTS: u64 = 1;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_quake3_server_is_asked_in_its_own_protocol() {
    let Some(server) = openarena::available() else {
        return;
    };
    let (db, redis) = set_up().await;
    let mut arena = OpenArena::start(server, "^1Test ^7Arena", BOTS, 12);
    let mut cmd = probed_refresher(
        &db.url(),
        &redis,
        &arena.addr.to_string(),
        INTERVAL,
        FAILURES,
    );
    cmd.env("GAME_SERVER_QUERY", "q3a");
    let child = Child::spawn(cmd);
    // A bot on the server, so that there is a player's name not to publish.
    arena.expect_output("entered the game", BOTS_JOIN_WITHIN);
    assert!(
        wait_until(SETTLE, || {
            document(&redis).is_some_and(|d| d.server.is_some() && d.state.as_str() == "online")
        }),
        "the game's answer never reached the document: {:?}\n{}",
        document(&redis),
        child.output()
    );
    the_game_speaks_for_itself(&redis, &arena).await;

    let reader = ReaderServer::start(ReaderConfig::new(&redis.url(), &redis.status_key())).await;
    let _timed = integration_tests::load::timed().await;
    arena.kill();
    let took = reader_says(&reader, "offline", Instant::now(), bound() + SLACK).await;
    eprintln!("game_server::query: killed -> offline in {took:?}");
    let body = reader.get("/server/status").await.json();
    assert_eq!(body["state_reason"], "timeout", "{body:#}");
    assert!(
        body.get("server").is_none() && body.get("bots").is_none(),
        "{body:#}"
    );
    child.expect_output("timeout", SETTLE);
}

/// What the game said reaches the document and the reader, and no player's name does.
async fn the_game_speaks_for_itself(redis: &TestRedis, arena: &OpenArena) {
    let d = document(redis).expect("a document");
    assert_eq!(d.state.as_str(), "online");
    assert_eq!(d.max_players, Some(arena.max_players));
    assert_eq!(
        (d.players, d.bots),
        (None, None),
        "no count rather than a wrong 0"
    );
    let server = d.server.expect("the game's own texts");
    assert_eq!(server.name.as_deref(), Some("Test Arena"));
    assert_eq!(server.map.as_deref(), Some("oa_dm1"));
    assert_eq!(server.game.as_deref(), Some("Quake 3 Arena"));
    assert!(server.version.is_some_and(|v| v.starts_with("ioq3")));

    let reader = ReaderServer::start(ReaderConfig::new(&redis.url(), &redis.status_key())).await;
    let body = reader.get("/server/status").await.json();
    assert_eq!(body["max_players"], arena.max_players, "{body:#}");
    assert_eq!(body["server"]["map"], "oa_dm1", "{body:#}");

    // The bots' names, as the server announced them: "Rai^7 entered the game".
    let stored =
        String::from_utf8(redis.get(&redis.status_key()).expect("a document")).expect("UTF-8");
    let log = arena.output();
    let names: Vec<&str> = log
        .lines()
        .filter_map(|l| {
            l.split("print \"")
                .nth(1)?
                .split("^7 entered the game")
                .next()
        })
        .filter(|n| !n.is_empty() && !n.contains(' '))
        .collect();
    assert!(!names.is_empty(), "no bot entered the game:\n{log}");
    for name in names {
        assert!(!stored.contains(name), "{name} published: {stored}");
    }
}

/// A community without MySQL: the refresher with Redis and a game server only. The
/// document has no constants (absent, never zeros), its state follows the game server, and
/// the reader serves it like any other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_mysql_the_game_server_alone_gives_the_state() {
    prebuild().await;
    let redis = TestRedis::new();
    let mut game = GameServer::start();
    // The probe tests' refresher, with no database setting at all.
    let mut cmd = probed_refresher("", &redis, &game.addr.to_string(), INTERVAL, FAILURES);
    cmd.env_remove("DATABASE_URL");
    let child = Child::spawn(cmd);
    let reader = ReaderServer::start(ReaderConfig::new(&redis.url(), &redis.status_key())).await;
    reader_says(&reader, "online", Instant::now(), SETTLE).await;
    let body = reader.get("/server/status").await.json();
    for absent in ["server_status", "rates", "client_status"] {
        assert!(body.get(absent).is_none(), "{absent}: {body:#}");
    }
    assert_eq!(body["game_server"]["reachable"], true, "{body:#}");
    child.expect_output("none (the game server alone)", SETTLE);

    let _timed = integration_tests::load::timed().await;
    game.stop();
    reader_says(&reader, "offline", Instant::now(), bound() + SLACK).await;
    let body = reader.get("/server/status").await.json();
    assert_eq!(body["state_reason"], "unreachable", "{body:#}");
}
