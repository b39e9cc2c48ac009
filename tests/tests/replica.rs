//! The reader on a Redis replica: a throwaway primary and a throwaway
//! `redis-server --replicaof` it, the ACL lines of docs/deploy.md applied to both (ACLs are not
//! replicated), the real refresher writing to the primary as `status-refresher` and the real
//! reader `.wasm` (in `reader-host`) reading the replica as `status-reader`.
//!
//! `reader_on_a_replica_serves_through_a_primary_outage`: the reader serves what the
//! refresher wrote (200, fresh). Then the primary and the refresher are killed, and the
//! replica (with `replica-serve-stale-data yes`, Redis's default) keeps answering, so the
//! reader goes on serving 200s, judged by the document's own clock: fresh, then overdue
//! (`fresh: false`, still the primary key and its state), then, once the key's TTL has run
//! out on the replica, the `:last_good` copy (`stale: true`, `state: unknown`). Never an
//! error while the replica holds a copy. Last, `replica-serve-stale-data no` turns the
//! same replica into a 503 `redis_unavailable` (it answers `MASTERDOWN`), which is why
//! docs/operations.md says to keep the default.
//!
//! `cargo test -p integration-tests --test integration replica:: -- --nocapture` prints the timings.

use std::process::Command;
use std::time::{Duration, Instant};

use dev_support::servers::{Server, Throwaway};
use integration_tests::acl::DocumentedUser;
use integration_tests::binaries::{Child, refresher_for};
use integration_tests::db::{TestDb, constant};
use integration_tests::reader::{ReaderConfig, ReaderServer, Reply};
use integration_tests::redis::TestRedis;
use integration_tests::wait::{SETTLE, wait_until};

const EXP: f64 = 3.0;
/// The refresher's interval and the document's TTL: short, so the outage plays out in
/// seconds.
const INTERVAL_S: u64 = 1;
const TTL_S: u64 = 3;

/// `INFO replication` of the server at `url`, as the `default` user.
fn replication(url: &str) -> String {
    let client = redis::Client::open(url).expect("redis URL");
    let mut conn = client
        .get_connection_with_timeout(Duration::from_secs(2))
        .expect("connect");
    redis::cmd("INFO")
        .arg("replication")
        .query(&mut conn)
        .expect("INFO replication")
}

/// A throwaway replica of `primary`, synced (its link to the primary is up).
fn replica_of(primary: &Server) -> Server {
    let replica = Throwaway::redis_in_temp_dir()
        .args(["--replicaof", "127.0.0.1", &primary.port().to_string()])
        .start()
        .expect("replica redis-server");
    assert!(
        wait_until(Duration::from_secs(10), || replication(&replica.url())
            .contains("master_link_status:up")),
        "the replica did not sync:\n{}",
        replication(&replica.url())
    );
    replica
}

/// The refresher writing `keys` on the primary at `redis_url` (its user's URL), at the
/// interval and TTL of this test.
fn refresher(db: &TestDb, keys: &TestRedis, redis_url: &str) -> Command {
    let mut cmd = refresher_for(&db.url(), &format!("{redis_url}/0"), keys);
    cmd.env("STATUS_UPDATE_INTERVAL", INTERVAL_S.to_string())
        .env("STATUS_CACHE_TTL", TTL_S.to_string())
        .env("STATUS_TIMEOUT", "1")
        .env("STATUS_METRICS_ADDR", "");
    cmd
}

fn body(reply: &Reply) -> String {
    String::from_utf8_lossy(&reply.body).into_owned()
}

/// The reader on the replica serves the primary's copy fresh, online.
async fn assert_serves_fresh(reader: &ReaderServer) {
    // At a 1 s interval a document is overdue for the moment each refresh takes, which a
    // busy machine stretches: wait for a fresh answer rather than judge whichever comes.
    let fresh_deadline = Instant::now() + SETTLE;
    let reply = loop {
        let reply = reader.get("/server/status").await;
        assert_eq!(reply.status, 200, "{}", body(&reply));
        if reply.json()["_cache"]["fresh"] == true || Instant::now() > fresh_deadline {
            break reply;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let doc = reply.json();
    assert_eq!(doc["rates"]["exp"], EXP);
    let cache = &doc["_cache"];
    assert_eq!(
        (&cache["source"], &cache["fresh"], &cache["stale"]),
        (
            &serde_json::json!("primary"),
            &serde_json::json!(true),
            &serde_json::json!(false)
        ),
        "{doc}"
    );
    assert_eq!(cache["state"], "online", "{doc}");
}

/// Polls the reader from `outage` on until its last-good copy has been served for a second:
/// every reply a 200 with the document, and each stage it went through, in order seen.
async fn stages_through_the_outage(reader: &ReaderServer, outage: Instant) -> Vec<&'static str> {
    let mut stages: Vec<&'static str> = Vec::new();
    let mut last_good_since = None;
    // Generous: every answer on the way is checked; only the order and the end matter.
    let deadline = Duration::from_secs(TTL_S) + SETTLE;
    loop {
        let reply = reader.get("/server/status").await;
        assert_eq!(
            reply.status,
            200,
            "{:.1} s into the outage: {}",
            outage.elapsed().as_secs_f64(),
            body(&reply)
        );
        let doc = reply.json();
        let cache = &doc["_cache"];
        assert_eq!(doc["rates"]["exp"], EXP, "{doc}");
        assert_eq!(cache["last_known_state"], "online", "{doc}");
        let stage = stage_of(&doc);
        if stages.last() != Some(&stage) {
            eprintln!(
                "replica: {stage} from {:.2} s into the outage (age {} s)",
                outage.elapsed().as_secs_f64(),
                cache["age_seconds"]
            );
            stages.push(stage);
        }
        if stage == "last_good" {
            let since = *last_good_since.get_or_insert_with(Instant::now);
            if since.elapsed() >= Duration::from_secs(1) {
                break;
            }
        }
        assert!(
            outage.elapsed() < deadline,
            "no last_good copy served within {deadline:?}: {stages:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stages
}

/// Which stage of the outage a reply's document shows, checked to vouch for the state only
/// while the primary's copy is within its interval.
fn stage_of(doc: &serde_json::Value) -> &'static str {
    let cache = &doc["_cache"];
    let stage = match (
        cache["source"].as_str(),
        cache["fresh"].as_bool(),
        cache["stale"].as_bool(),
    ) {
        (Some("primary"), Some(true), Some(false)) => "fresh",
        (Some("primary"), Some(false), Some(false)) => "overdue",
        // Past its TTL by the document's clock, before the replica's clock drops the key.
        (Some("primary"), Some(false), Some(true)) => "expired",
        (Some("last_good"), Some(false), Some(true)) => "last_good",
        _ => panic!("unexpected _cache: {doc}"),
    };
    let vouched = if stage == "fresh" || stage == "overdue" {
        "online"
    } else {
        "unknown"
    };
    assert_eq!(cache["state"], vouched, "{stage}: {doc}");
    stage
}

/// The stages came in their order, and the copy was seen overdue and then last-good.
fn assert_stages_in_order(stages: &[&str]) {
    let order = ["fresh", "overdue", "expired", "last_good"];
    let positions: Vec<usize> = stages
        .iter()
        .map(|s| order.iter().position(|o| o == s).unwrap_or(usize::MAX))
        .collect();
    assert!(
        positions.windows(2).all(|w| w[0] < w[1]),
        "stages out of order: {stages:?}"
    );
    for needed in ["overdue", "last_good"] {
        assert!(stages.contains(&needed), "never {needed}: {stages:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reader_on_a_replica_serves_through_a_primary_outage() {
    let started = Instant::now();
    let (mut primary, replica) = tokio::task::spawn_blocking(|| {
        let primary = Throwaway::redis_in_temp_dir()
            .start()
            .expect("primary redis-server");
        let replica = replica_of(&primary);
        (primary, replica)
    })
    .await
    .expect("starting servers");
    let keys = TestRedis::on(&primary.url());
    let servers = [primary.url(), replica.url()];
    let servers: Vec<&str> = servers.iter().map(String::as_str).collect();
    let reader_user = DocumentedUser::create_on(&keys, &servers, "status-reader", "reader-pw");
    let refresher_user =
        DocumentedUser::create_on(&keys, &servers, "status-refresher", "refresher-pw");
    let db = TestDb::with_constants(
        "DOUBLE",
        &[
            constant("ServerStatus", 1.0, None),
            constant("RateExp", EXP, None),
        ],
    );

    let mut refresher = Child::spawn(refresher(&db, &keys, &refresher_user.url(&primary.url())));
    assert!(
        wait_until(SETTLE, || both_keys_on(&replica.url(), &keys)),
        "the document never reached the replica:\n{}",
        refresher.output()
    );

    let reader = ReaderServer::start(
        ReaderConfig::new(&replica.url(), &keys.status_key())
            .variable("redis_user", &reader_user.name)
            .variable("redis_password", &reader_user.password),
    )
    .await;
    assert_serves_fresh(&reader).await;

    // The primary and the refresher go; the replica keeps its copy.
    refresher.kill();
    primary.kill();
    let outage = Instant::now();
    assert!(
        wait_until(SETTLE, || replication(&replica.url())
            .contains("master_link_status:down")),
        "the replica did not notice the primary's death"
    );

    let stages = stages_through_the_outage(&reader, outage).await;
    assert_stages_in_order(&stages);
    let health = reader.get("/health").await;
    assert_eq!(health.status, 503, "{}", body(&health));
    assert_eq!(health.json()["status"], "stale");

    without_serve_stale_data_the_store_is_unavailable(&replica.url(), &reader).await;
    eprintln!(
        "replica: reader_on_a_replica_serves_through_a_primary_outage took {} ms",
        started.elapsed().as_millis()
    );
    // The keys and users go with the throwaway servers; the primary cannot be cleaned any
    // more (it was killed), so skip the attempt and its warnings.
    std::mem::forget((keys, reader_user, refresher_user));
}

/// A connection to the replica at `url`.
fn replica_conn(url: &str) -> redis::Connection {
    redis::Client::open(url)
        .expect("replica URL")
        .get_connection_with_timeout(Duration::from_secs(2))
        .expect("connect to the replica")
}

/// Whether the status key and its `:last_good` copy are both on the server at `url`.
fn both_keys_on(url: &str, keys: &TestRedis) -> bool {
    redis::cmd("EXISTS")
        .arg(keys.status_key())
        .arg(keys.last_good_key())
        .query::<i64>(&mut replica_conn(url))
        .expect("EXISTS")
        == 2
}

/// Without serve-stale-data a replica cut off from its primary refuses reads: the reader
/// can then only say the store is unavailable.
async fn without_serve_stale_data_the_store_is_unavailable(replica: &str, reader: &ReaderServer) {
    let () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("replica-serve-stale-data")
        .arg("no")
        .query(&mut replica_conn(replica))
        .expect("CONFIG SET");
    let reply = reader.get("/server/status").await;
    assert_eq!(reply.status, 503, "{}", body(&reply));
    assert_eq!(
        reply.json()["error"],
        "redis_unavailable",
        "{}",
        body(&reply)
    );
}
