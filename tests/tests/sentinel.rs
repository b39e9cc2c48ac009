//! The refresher behind Redis Sentinel, with real processes: a throwaway primary,
//! a replica of it, three `redis-server --sentinel` on loopback ports (quorum 2,
//! `down-after-milliseconds 1000`), the refresher ACL line of docs/deploy.md applied to both data nodes
//! (ACLs are not replicated), and two real refreshers given `REDIS_SENTINELS` and
//! `REDIS_SENTINEL_MASTER` instead of `REDIS_URL`.
//!
//! `refreshers_follow_a_sentinel_failover_with_one_writer`: through Sentinel the lease
//! still means one writer (one `SELECT` per interval between the two, the standby writes
//! nothing); then the primary is SIGKILLed, the Sentinels promote the replica, and the
//! refreshers' next write lands on the new primary without a restart (its `updated_at`
//! moves), still one writer. The gap between the last write before the kill and the first
//! after it is printed (`sentinel: failover gap ...`): docs/operations.md quotes it.
//!
//! `cargo test -p integration-tests --test integration sentinel:: -- --nocapture` prints the timings.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use dev_support::net::free_port;
use dev_support::servers::{Server, Throwaway};
use integration_tests::acl::DocumentedUser;
use integration_tests::binaries::{Child, refresher_command};
use integration_tests::db::{TestDb, constant};
use integration_tests::probe::{http_get, metric, metrics_addr, scans};
use integration_tests::redis::TestRedis;
use integration_tests::temp::TempDir;
use integration_tests::wait::{SETTLE, wait_until};

const MASTER: &str = "status";
const INTERVAL: f64 = 1.0;
const LEASE: f64 = 2.0;
/// Rows in the test's `constants` (a refresh reads them all: scans = SELECTs).
const ROWS: u64 = 2;

fn conn(url: &str) -> redis::Connection {
    redis::Client::open(url)
        .expect("redis URL")
        .get_connection_with_timeout(Duration::from_secs(2))
        .expect("connect")
}

/// `updated_at` of the document at `key` on the server at `url` (`None` if missing or the
/// server is down).
fn updated_at(url: &str, key: &str) -> Option<f64> {
    let client = redis::Client::open(url).ok()?;
    let mut conn = client
        .get_connection_with_timeout(Duration::from_millis(500))
        .ok()?;
    let raw: Option<Vec<u8>> = redis::cmd("GET").arg(key).query(&mut conn).ok()?;
    let doc: serde_json::Value = serde_json::from_slice(&raw?).ok()?;
    doc["updated_at"].as_f64()
}

/// The port the Sentinel at `port` names for [`MASTER`].
fn named_primary(port: u16) -> Option<u16> {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}")).ok()?;
    let mut conn = client
        .get_connection_with_timeout(Duration::from_millis(500))
        .ok()?;
    let addr: Option<(String, u16)> = redis::cmd("SENTINEL")
        .arg("GET-MASTER-ADDR-BY-NAME")
        .arg(MASTER)
        .query(&mut conn)
        .ok()?;
    addr.map(|(_, port)| port)
}

/// Three Sentinels monitoring `primary` (quorum 2), each told of the others and of the
/// replica up front (`sentinel myid` / `known-sentinel` / `known-replica`), so none has to
/// wait for the hello messages to find them.
fn sentinels(dir: &Path, primary: &Server, replica: &Server) -> Vec<Server> {
    let ports: Vec<u16> = (0..3).map(|_| free_port().expect("free port")).collect();
    let id = |i: usize| format!("{:040x}", 0x5e47_0000 + i);
    ports
        .iter()
        .enumerate()
        .map(|(i, port)| {
            let mut conf = format!(
                "sentinel myid {}\n\
                 sentinel monitor {MASTER} 127.0.0.1 {} 2\n\
                 sentinel down-after-milliseconds {MASTER} 1000\n\
                 sentinel failover-timeout {MASTER} 5000\n\
                 sentinel resolve-hostnames no\n\
                 sentinel known-replica {MASTER} 127.0.0.1 {}\n",
                id(i),
                primary.port(),
                replica.port()
            );
            for (j, other) in ports.iter().enumerate().filter(|(j, _)| *j != i) {
                conf.push_str(&format!(
                    "sentinel known-sentinel {MASTER} 127.0.0.1 {other} {}\n",
                    id(j)
                ));
            }
            let own = dir.join(format!("sentinel-{i}"));
            std::fs::create_dir_all(&own).expect("sentinel dir");
            let file = own.join("sentinel.conf");
            std::fs::write(&file, conf).expect("sentinel.conf");
            Throwaway::redis(&own)
                .config_file(&file)
                .port(*port)
                .arg("--sentinel")
                .start()
                .expect("redis-server --sentinel")
        })
        .collect()
}

/// A refresher reaching Redis through the Sentinels only (no `REDIS_URL`).
fn refresher(
    db: &TestDb,
    keys: &TestRedis,
    sentinels: &[Server],
    user: &DocumentedUser,
) -> Command {
    let list: Vec<String> = sentinels
        .iter()
        .map(|s| format!("127.0.0.1:{}", s.port()))
        .collect();
    let mut cmd = refresher_command();
    cmd.env("DATABASE_URL", db.url())
        .env("REDIS_SENTINELS", list.join(","))
        .env("REDIS_SENTINEL_MASTER", MASTER)
        .env("REDIS_USERNAME", &user.name)
        .env("REDIS_PASSWORD", &user.password)
        .env("STATUS_KEY", keys.status_key())
        .env("STATUS_INTERVAL_KEY", keys.interval_key())
        .env("STATUS_UPDATE_INTERVAL", "1")
        .env("STATUS_LEASE", LEASE.to_string())
        .env("STATUS_TIMEOUT", "0.5")
        .env("STATUS_METRICS_ADDR", "127.0.0.1:0");
    cmd
}

/// The distinct `updated_at`s seen on `url` during `window` and until there are at least
/// `least` of them (a busy machine may space refreshes wider than the interval; SETTLE
/// bounds the wait), polling every 25 ms, and the `SELECT`s run meanwhile.
fn writes_during(
    url: &str,
    key: &str,
    db: &TestDb,
    window: Duration,
    least: usize,
) -> (Vec<f64>, u64, f64) {
    let started = Instant::now();
    let before = scans(db, ROWS);
    let mut writes: Vec<f64> = Vec::new();
    while (started.elapsed() < window || writes.len() < least) && started.elapsed() < SETTLE {
        if let Some(t) = updated_at(url, key)
            && writes.last() != Some(&t)
        {
            writes.push(t);
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    let selects = scans(db, ROWS) - before;
    (writes, selects, started.elapsed().as_secs_f64())
}

/// At most one `SELECT` per interval, and no two writes within one.
fn one_writer(writes: &[f64], selects: u64, elapsed: f64, least: u64) {
    let most = (elapsed / INTERVAL).floor() as u64 + 1;
    assert!(
        (least..=most).contains(&selects),
        "{selects} SELECTs in {elapsed:.2} s at a 1 s interval (two writers would make twice that)"
    );
    for pair in writes.windows(2) {
        assert!(
            pair[1] - pair[0] >= INTERVAL * 0.9,
            "two writes within one interval: {writes:?}"
        );
    }
}

#[test]
fn refreshers_follow_a_sentinel_failover_with_one_writer() {
    let started = Instant::now();
    let dir = TempDir::new("sentinel-test");
    let mut primary = Throwaway::redis_in_temp_dir()
        .start()
        .expect("primary redis-server");
    let replica = Throwaway::redis_in_temp_dir()
        .args(["--replicaof", "127.0.0.1", &primary.port().to_string()])
        .start()
        .expect("replica redis-server");
    let keys = TestRedis::on(&primary.url());
    let nodes = [primary.url(), replica.url()];
    let nodes: Vec<&str> = nodes.iter().map(String::as_str).collect();
    let user = DocumentedUser::create_on(&keys, &nodes, "status-refresher", "refresher-pw");
    let sentinels = sentinels(dir.path(), &primary, &replica);
    assert!(
        wait_until(SETTLE, || sentinels
            .iter()
            .all(|s| named_primary(s.port()) == Some(primary.port()))),
        "the Sentinels do not name the primary"
    );
    let db = TestDb::with_constants(
        "DOUBLE",
        &[
            constant("RateExp", 2.0, None),
            constant("ServerStatus", 1.0, None),
        ],
    );
    let key = keys.status_key();

    let a = Child::spawn(refresher(&db, &keys, &sentinels, &user));
    a.expect_output("lease acquired", SETTLE);
    a.expect_output("Sentinel names the primary", Duration::ZERO);
    let b = Child::spawn(refresher(&db, &keys, &sentinels, &user));
    b.expect_output("standby", SETTLE);
    let (a_addr, b_addr) = (metrics_addr(&a), metrics_addr(&b));
    one_writer_through_sentinel(&primary, &replica, &key, &db, [a_addr, b_addr]);
    failover(&mut primary, &replica, &sentinels[0], &key, [&a, &b]);
    still_one_writer_on_the_new_primary(&replica, &key, &db, [(&a, a_addr), (&b, b_addr)]);
    eprintln!(
        "sentinel: refreshers_follow_a_sentinel_failover_with_one_writer took {} ms",
        started.elapsed().as_millis()
    );
    // The keys and the user go with the throwaway servers; the old primary is dead, so skip
    // cleaning it (and the warnings).
    std::mem::forget((keys, user));
}

/// 1 while the refresher serving `/metrics` on `addr` holds the lease.
fn holder(addr: SocketAddr) -> f64 {
    metric(
        &http_get(addr, "/metrics").1,
        "status_refresher_lease_holder",
    )
}

/// One writer through Sentinel: one SELECT per interval between the two refreshers, the
/// first the holder, and the replica in sync.
fn one_writer_through_sentinel(
    primary: &Server,
    replica: &Server,
    key: &str,
    db: &TestDb,
    [a_addr, b_addr]: [SocketAddr; 2],
) {
    let (writes, selects, elapsed) =
        writes_during(&primary.url(), key, db, Duration::from_secs(3), 2);
    one_writer(&writes, selects, elapsed, 2);
    assert_eq!((holder(a_addr), holder(b_addr)), (1.0, 0.0));
    let ok = "status_refresher_refresh_total{result=\"ok\"}";
    assert_eq!(metric(&http_get(b_addr, "/metrics").1, ok), 0.0);
    assert!(
        wait_until(SETTLE, || updated_at(&replica.url(), key)
            == updated_at(&primary.url(), key)),
        "the replica is not in sync"
    );
}

/// SIGKILL the primary; the Sentinels promote the replica, and the refreshers write there.
fn failover(
    primary: &mut Server,
    replica: &Server,
    sentinel: &Server,
    key: &str,
    [a, b]: [&Child; 2],
) {
    let last_before = updated_at(&primary.url(), key).expect("a document on the primary");
    primary.kill();
    let killed = Instant::now();
    assert!(
        wait_until(SETTLE, || named_primary(sentinel.port())
            == Some(replica.port())),
        "no failover within {SETTLE:?}"
    );
    let promoted = killed.elapsed();
    let mut first_after = None;
    assert!(
        wait_until(SETTLE, || {
            first_after = updated_at(&replica.url(), key).filter(|t| *t > last_before);
            first_after.is_some()
        }),
        "no write on the new primary:\nA:\n{}\nB:\n{}",
        a.output(),
        b.output()
    );
    let written = killed.elapsed();
    let gap = first_after.unwrap_or(last_before) - last_before;
    eprintln!(
        "sentinel: failover gap {gap:.3} s between the last write before the kill and the first \
         after it (promoted {:.3} s after the kill, first write seen {:.3} s after it)",
        promoted.as_secs_f64(),
        written.as_secs_f64()
    );
    let info: String = redis::cmd("INFO")
        .arg("replication")
        .query(&mut conn(&replica.url()))
        .expect("INFO replication");
    assert!(
        info.contains("role:master"),
        "the replica was not promoted:\n{info}"
    );
}

/// Still one writer, on the new primary, with both processes the ones started before.
fn still_one_writer_on_the_new_primary(
    replica: &Server,
    key: &str,
    db: &TestDb,
    children: [(&Child, SocketAddr); 2],
) {
    let (writes, selects, elapsed) =
        writes_during(&replica.url(), key, db, Duration::from_secs(2), 2);
    one_writer(&writes, selects, elapsed, 1);
    // Each replica records whether it holds the lease at the end of its cycle: one that lost
    // it in the failover may say so a cycle after the other took it.
    let mut holders = 0.0;
    wait_until(SETTLE, || {
        holders = children.iter().map(|&(_, addr)| holder(addr)).sum();
        holders == 1.0
    });
    assert_eq!(holders, 1.0, "one lease holder after the failover");
    assert!(
        writes.len() >= 2,
        "the new primary is written every interval: {writes:?}"
    );
    for (name, (child, _)) in ["A", "B"].into_iter().zip(children) {
        assert!(
            !child.output().contains("status-refresher stopped"),
            "{name} stopped:\n{}",
            child.output()
        );
    }
}
