//! Several game servers from one refresher: a servers file of two, one a real Quake 3 server
//! (Debian's OpenArena, asked with `getstatus`), one the TCP stand-in with the database's
//! constants.
//!
//! - each server has its own document (`<key>` for `default`, `<key>:servers:<id>` for the
//!   others) and the index (`<key>:servers`) lists both in the file's order;
//! - the Quake server killed turns `offline` (reason `timeout`) within its probe's bound,
//!   in its document, the index and the reader's `/servers/{id}`, while the other stays
//!   `online`;
//! - a servers file whose `constants` table does not exist stops the start with exit 2,
//!   naming the file, the line and the field, and nothing is written.

use std::process::Command;
use std::time::{Duration, Instant};

use integration_tests::binaries::{Child, run};
use integration_tests::game_server::{GameServer, ServersFile, probed_refresher, set_up};
use integration_tests::openarena::{self, OpenArena};
use integration_tests::reader::{ReaderConfig, ReaderServer};
use integration_tests::redis::TestRedis;
use integration_tests::wait::{SETTLE, wait_until};
use status_document::{History, ServerIndex, StatusDocument};

use super::{FAILURES, INTERVAL, SLACK, bound};

/// The probe tests' refresher, with `file` as its servers file instead of one address.
pub(super) fn fleet_refresher(
    database_url: &str,
    redis: &TestRedis,
    file: &std::path::Path,
) -> Command {
    let mut cmd = probed_refresher(database_url, redis, "", INTERVAL, FAILURES);
    cmd.env_remove("GAME_SERVER_ADDR")
        .env("STATUS_SERVERS_FILE", file);
    cmd
}

fn stored(redis: &TestRedis, id: &str) -> Option<StatusDocument> {
    let key = format!("{}:servers:{id}", redis.status_key());
    let raw = redis.get(&key)?;
    Some(serde_json::from_slice(&raw).expect("the stored value is a document"))
}

fn index(redis: &TestRedis) -> Option<ServerIndex> {
    let raw = redis.get(&format!("{}:servers", redis.status_key()))?;
    Some(serde_json::from_slice(&raw).expect("the stored index is an index"))
}

/// The states the index lists, by id, in its order.
fn listed(redis: &TestRedis) -> Vec<(String, String)> {
    index(redis).map_or_else(Vec::new, |i| {
        i.servers
            .iter()
            .map(|s| (s.id.to_string(), s.state.as_str().to_owned()))
            .collect()
    })
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_servers_file_publishes_each_server_and_an_index() {
    let Some(server) = openarena::available() else {
        return;
    };
    let (db, redis) = set_up().await;
    let mut arena = OpenArena::start(server, "^2Arena", 0, 16);
    let main = GameServer::start();
    let file = ServersFile::new(&format!(
        "[[server]]\nid = \"arena\"\nname = \"Arena (Quake 3)\"\naddr = \"{}\"\nquery = \"q3a\"\n\n\
         [[server]]\nid = \"main\"\nname = \"Main realm x5\"\naddr = \"{}\"\nconstants = true\n",
        arena.addr, main.addr
    ));
    let child = Child::spawn(fleet_refresher(&db.url(), &redis, &file.path));

    let both_online = pairs(&[("arena", "online"), ("main", "online")]);
    assert!(
        wait_until(SETTLE * 2, || listed(&redis) == both_online),
        "the index never listed both online: {:?}\n{}",
        index(&redis),
        child.output()
    );
    each_has_its_document(&redis);

    let reader = ReaderServer::start(ReaderConfig::new(&redis.url(), &redis.status_key())).await;
    let _timed = integration_tests::load::timed().await;
    let killed = Instant::now();
    arena.kill();
    let arena_offline = pairs(&[("arena", "offline"), ("main", "online")]);
    assert!(
        wait_until(bound() + SLACK, || listed(&redis) == arena_offline),
        "the index did not follow the killed server within {:?}: {:?}",
        bound() + SLACK,
        listed(&redis)
    );
    eprintln!(
        "game_server::servers: killed -> offline in the index in {:?}",
        killed.elapsed()
    );
    let arena_doc = stored(&redis, "arena").unwrap();
    assert_eq!(arena_doc.state_reason.map(|r| r.as_str()), Some("timeout"));
    assert_eq!(stored(&redis, "main").unwrap().state.as_str(), "online");
    // The history (written at changes, not at every probe) has the outage at once.
    let history_key = format!("{}:servers:arena:history", redis.status_key());
    assert!(
        wait_until(SETTLE, || redis.get(&history_key).is_some_and(|raw| {
            History::parse(&raw)
                .is_ok_and(|h| h.incidents.iter().any(|i| i.to.as_str() == "offline"))
        })),
        "the arena's history never recorded the outage"
    );
    the_reader_serves_each_server(&reader).await;
    // With several servers, each log line of a server's steps names it.
    assert!(
        child
            .output()
            .lines()
            .any(|l| l.contains("server{id=arena}") && l.contains("game server down")),
        "no log line says which server went down:\n{}",
        child.output()
    );
}

/// Each server's own document, the index in the file's order with the names, and no
/// document for a `default` server the file does not list.
fn each_has_its_document(redis: &TestRedis) {
    let arena_doc = stored(redis, "arena").expect("the arena's document");
    assert_eq!(arena_doc.max_players, Some(16));
    assert!(
        arena_doc.server.is_some() && arena_doc.rates.is_none(),
        "{arena_doc:?}"
    );
    let main_doc = stored(redis, "main").expect("the main realm's document");
    assert_eq!(
        main_doc.server_status,
        Some(1.0),
        "the main realm reads the constants"
    );
    assert!(
        redis.get(&redis.status_key()).is_none(),
        "no `default` server in this file"
    );
    let names: Vec<String> = index(redis)
        .unwrap()
        .servers
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(names, ["Arena (Quake 3)", "Main realm x5"]);
}

/// `/servers` is the index, `/servers/{id}` each server's document, and an unknown or
/// malformed id is a 404 in the JSON error shape.
async fn the_reader_serves_each_server(reader: &ReaderServer) {
    let servers = reader.get("/servers").await;
    assert_eq!(servers.status, 200);
    let body = servers.json();
    assert_eq!(body["servers"][0]["id"], "arena", "{body:#}");
    assert_eq!(body["servers"][0]["state"], "offline", "{body:#}");
    assert_eq!(body["servers"][1]["state"], "online", "{body:#}");
    let arena = reader.get("/servers/arena").await.json();
    assert_eq!(arena["state"], "offline", "{arena:#}");
    assert_eq!(arena["state_reason"], "timeout", "{arena:#}");
    let simple = reader.get("/servers/main/simple").await;
    assert_eq!(
        (simple.status, String::from_utf8_lossy(&simple.body).trim()),
        (200, "online")
    );
    for missing in ["/servers/nope", "/servers/Main", "/servers/a:b"] {
        let reply = reader.get(missing).await;
        assert_eq!(reply.status, 404, "{missing}");
        assert!(
            reply.json()["error"].is_string(),
            "{missing}: the JSON error shape"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_constants_table_stops_the_start_naming_the_line() {
    let (db, redis) = set_up().await;
    let game = GameServer::start();
    let file = ServersFile::new(&format!(
        "[[server]]\nid = \"main\"\naddr = \"{}\"\nconstants = true\n\n\
         [[server]]\nid = \"test\"\naddr = \"{}\"\nconstants = \"test_constants\"\n",
        game.addr, game.addr
    ));
    let (status, output) = run(
        fleet_refresher(&db.url(), &redis, &file.path),
        Duration::from_secs(60),
    );
    assert_eq!(status.code(), Some(2), "{output}");
    let expected = format!(
        "{}:9: constants: the table `test_constants` of server \"test\" does not exist",
        file.path.display()
    );
    assert!(
        output.contains(&expected),
        "expected {expected:?} in:\n{output}"
    );
    assert_eq!(redis.keys(), Vec::<String>::new(), "nothing is written");
}
