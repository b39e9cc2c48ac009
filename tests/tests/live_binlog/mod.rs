//! Live changes on change: the real refresher with `STATUS_WATCH=binlog` and
//! `poll:<s>` against a throwaway MariaDB started with `--log-bin --binlog-format=ROW`,
//! the real reader `.wasm` (in-process `reader-host`) serving what it wrote to the real
//! Redis.
//!
//! - an `UPDATE constants` is served by the reader within 1 s of its commit;
//! - changes to another table (and to `constants` in another database) cost no `SELECT`
//!   and no nudge;
//! - a killed stream reconnects from the last position it saw, so a change committed while
//!   it was down is still seen; `FLUSH BINARY LOGS` is followed (the next reconnect starts
//!   in the new file);
//! - a user without the replication grants gets one message naming both, `/health` says
//!   `unavailable`, and the refresher keeps refreshing on nudges and on the interval;
//! - `poll:1` sees a change within its period and runs no full `SELECT` while nothing
//!   changes.
//!
//! Statements are counted honestly from the throwaway server's general log
//! (`--general-log --log-output=TABLE`), by the refresher's own user (one per test), so the
//! tests sharing the server do not disturb each other's counts.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use dev_support::servers::{Server, Throwaway, WATCHED_MARIADB};
use integration_tests::binaries::Child;
use integration_tests::db::TestDb;
use integration_tests::live::{
    self, GAP, WITHIN, past_the_gap, publish, sample, set_exp, subscribed,
};
use integration_tests::probe::{health, health_when, metrics_addr, sample_when};
use integration_tests::reader::{ReaderConfig, ReaderServer};
use integration_tests::redis::TestRedis;
use integration_tests::wait::wait_until;

/// The refresher's one query.
mod poll;

const FULL_SELECT: &str = "SELECT Name, Value, Description FROM constants";
/// The poll watcher's probe.
const PROBE: &str = "CHECKSUM TABLE constants";
/// How long a wait for something that should happen at once may take on a loaded machine.
const PATIENCE: Duration = Duration::from_secs(20);

/// The throwaway server, shared by the tests of this file that run at the same time and
/// stopped when the last of them drops it.
fn server() -> Arc<Server> {
    static SHARED: Mutex<Weak<Server>> = Mutex::new(Weak::new());
    let mut shared = SHARED.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(server) = shared.upgrade() {
        return server;
    }
    let server = Throwaway::mariadb_in_temp_dir()
        .args(WATCHED_MARIADB)
        .timeout(Duration::from_secs(120))
        .start()
        .unwrap_or_else(|e| panic!("cannot start a throwaway mariadbd with a binlog: {e:#}"));
    let server = Arc::new(server);
    *shared = Arc::downgrade(&server);
    server
}

/// A database on the throwaway server with the seeded `constants`, and a user of the
/// refresher's own with `SELECT` on that table plus `global` privileges (`*.*`).
struct Fixture {
    db: TestDb,
    user: String,
    url: String,
    _server: Arc<Server>,
}

impl Fixture {
    fn new(global: &[&str]) -> Fixture {
        let server = server();
        let db = TestDb::on(&server.url());
        live::seed(&db);
        let user = format!("rf_{:012x}", fastrand::u64(..1 << 48));
        let password = format!("{:016x}", fastrand::u64(..));
        db.exec(&format!(
            "CREATE USER '{user}'@'%' IDENTIFIED BY '{password}'"
        ));
        // The grants of docs/deploy.md, exactly.
        db.exec(&format!(
            "GRANT SELECT ON `{}`.constants TO '{user}'@'%'",
            db.name()
        ));
        if !global.is_empty() {
            db.exec(&format!(
                "GRANT {} ON *.* TO '{user}'@'%'",
                global.join(", ")
            ));
        }
        let url = format!(
            "mysql://{user}:{password}@127.0.0.1:{}/{}",
            server.port(),
            db.name()
        );
        Fixture {
            db,
            user,
            url,
            _server: server,
        }
    }

    /// Commands of `command_type` (`Query`, `Binlog Dump`, ...) the refresher's user sent
    /// whose text starts with `text`.
    fn sent(&self, command_type: &str, text: &str) -> u64 {
        let rows = self.db.query(&format!(
            "SELECT COUNT(*) FROM mysql.general_log WHERE user_host LIKE '{}[%' \
             AND command_type = '{command_type}' AND argument LIKE '{text}%'",
            self.user
        ));
        rows[0][0].as_deref().unwrap_or("0").parse().unwrap()
    }

    /// Full `SELECT`s of `constants` the refresher ran so far.
    fn selects(&self) -> u64 {
        self.sent("Query", FULL_SELECT)
    }

    /// Binlog streams the refresher asked for so far.
    fn dumps(&self) -> u64 {
        self.sent("Binlog Dump", "")
    }

    /// The server's current binlog file and position (`SHOW MASTER STATUS`).
    fn master_position(&self) -> String {
        let rows = self.db.query("SHOW MASTER STATUS");
        let row = rows.first().expect("SHOW MASTER STATUS returned nothing");
        format!(
            "{}:{}",
            row[0].as_deref().unwrap_or(""),
            row[1].as_deref().unwrap_or("")
        )
    }

    /// Kills the refresher's binlog dump connection.
    fn kill_stream(&self) {
        let rows = self.db.query(&format!(
            "SELECT ID FROM information_schema.PROCESSLIST \
             WHERE USER = '{}' AND COMMAND = 'Binlog Dump'",
            self.user
        ));
        assert_eq!(rows.len(), 1, "one binlog dump connection: {rows:?}");
        let id = rows[0][0].as_deref().unwrap_or("0");
        self.db.exec(&format!("KILL {id}"));
    }

    fn account(&self, lock: bool) {
        let what = if lock { "LOCK" } else { "UNLOCK" };
        self.db
            .exec(&format!("ALTER USER '{}'@'%' ACCOUNT {what}", self.user));
    }
}

/// Polls the reader until it serves `rates.exp == value`; how long that took.
async fn served(reader: &ReaderServer, value: f64, limit: Duration) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < limit {
        let reply = reader.get("/server/status").await;
        if reply.status == 200 && reply.json()["rates"]["exp"].as_f64() == Some(value) {
            return Some(start.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    None
}

/// Commits `RateExp = value` and returns how long until the reader served it (panics
/// after `limit`).
async fn change(f: &Fixture, reader: &ReaderServer, value: f64, limit: Duration) -> Duration {
    set_exp(&f.db, value);
    // set_exp returns once the UPDATE (autocommit) is committed.
    served(reader, value, limit)
        .await
        .unwrap_or_else(|| panic!("RateExp = {value} was not served within {limit:?}"))
}

/// The `from=` position of the last "following the binary log" line.
fn followed_from(child: &Child) -> String {
    let out = child.output();
    let line = out
        .lines()
        .rfind(|l| l.contains("following the binary log"))
        .unwrap_or_else(|| panic!("never followed the binary log:\n{out}"));
    let at = line.find("from=").expect("no from= field") + "from=".len();
    line[at..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect()
}

/// `binlog.000002:385` as (2, 385), to compare.
fn position(text: &str) -> (u64, u64) {
    let (file, pos) = text.rsplit_once(':').expect("file:position");
    let number = |s: &str| s.parse::<u64>().unwrap_or_else(|_| panic!("{text}"));
    (number(file.rsplit('.').next().unwrap_or("")), number(pos))
}

fn watch_state(child: &Child) -> String {
    let (_, body) = health(metrics_addr(child));
    body["watch_state"].as_str().unwrap_or("").to_owned()
}

/// A nudged daemon (`live::daemon`) on `f`'s database with `env` (`STATUS_WATCH`, ...), once
/// it is subscribed, has written its first document and has said `says`.
fn watching(f: &Fixture, redis: &TestRedis, env: &[(&str, &str)], says: &str) -> Child {
    let mut cmd = live::daemon(&f.url, redis);
    cmd.envs(env.iter().copied());
    let child = subscribed(cmd, redis);
    assert!(child.wait_for_output(says, PATIENCE), "{}", child.output());
    child
}

const BINLOG_NUDGES: &str = "status_refresher_nudges_total{source=\"binlog\"}";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binlog_changes_are_served_within_a_second_and_survive_kills_and_rotation() {
    let _timed = integration_tests::load::timed().await;
    let f = Fixture::new(&["REPLICATION SLAVE", "REPLICATION CLIENT"]);
    f.db.exec("CREATE TABLE players (id INT PRIMARY KEY, score INT)");
    f.db.exec("INSERT INTO players VALUES (1, 0)");
    let other = TestDb::on(&f._server.url());
    live::seed(&other);
    let redis = TestRedis::new();
    let child = watching(
        &f,
        &redis,
        &[("STATUS_WATCH", "binlog")],
        "following the binary log",
    );
    let addr = metrics_addr(&child);
    let reader = ReaderServer::start(ReaderConfig::new(&redis.url(), &redis.status_key())).await;
    assert!(served(&reader, 1.0, PATIENCE).await.is_some());

    a_change_is_served_within_a_second(&f, &reader, &child).await;
    other_tables_cost_nothing(&f, &other, addr, &child).await;
    let resumed = a_lost_stream_resumes_before_the_change_it_missed(&f, &reader, &child).await;
    rotation_is_followed(&f, &reader, &child, &resumed).await;
    a_stream_lost_right_after_a_change_nudges_for_it(&f, &reader, &child).await;
}

/// A change: served within 1 s of its commit, with one SELECT.
async fn a_change_is_served_within_a_second(f: &Fixture, reader: &ReaderServer, child: &Child) {
    tokio::time::sleep(GAP).await;
    let selects = f.selects();
    let took = change(f, reader, 2.0, PATIENCE).await;
    eprintln!("binlog: UPDATE commit -> served by the reader: {took:?}");
    assert!(took <= WITHIN, "{took:?}:\n{}", child.output());
    assert_eq!(f.selects(), selects + 1);
}

/// Other tables, and `constants` of another database: nothing.
async fn other_tables_cost_nothing(f: &Fixture, other: &TestDb, addr: SocketAddr, child: &Child) {
    tokio::time::sleep(GAP).await;
    let (selects, nudges) = (f.selects(), sample(addr, BINLOG_NUDGES));
    for score in 1..=20 {
        f.db.exec(&format!("UPDATE players SET score = {score} WHERE id = 1"));
    }
    set_exp(other, 42.0);
    f.db.exec("CREATE TABLE scratch (id INT)");
    tokio::time::sleep(GAP + WITHIN).await;
    let extra = f.selects() - selects;
    eprintln!("binlog: 22 statements on other tables -> {extra} SELECTs of constants");
    assert_eq!(extra, 0, "{}", child.output());
    assert_eq!(sample(addr, BINLOG_NUDGES), nudges);
}

/// A lost stream: killed, and kept from reconnecting while a change is committed. It
/// resumes from the last position it saw, before the change, so the change is still seen.
/// Returns the position the new stream followed from.
async fn a_lost_stream_resumes_before_the_change_it_missed(
    f: &Fixture,
    reader: &ReaderServer,
    child: &Child,
) -> String {
    assert_eq!(f.dumps(), 1);
    f.account(true);
    f.kill_stream();
    assert!(
        wait_until(PATIENCE, || watch_state(child) == "down"),
        "{}",
        child.output()
    );
    set_exp(&f.db, 3.0);
    let after_missed_change = f.master_position();
    f.account(false);
    let started = Instant::now();
    assert!(
        served(reader, 3.0, Duration::from_secs(40)).await.is_some(),
        "the change made while the stream was down was not seen:\n{}",
        child.output()
    );
    eprintln!(
        "binlog: reconnected and served the missed change {:?} after the account was unlocked",
        started.elapsed()
    );
    assert_eq!(f.dumps(), 2, "{}", child.output());
    // (The other tests on this server write to the same binlog, so positions are compared,
    // not matched.)
    let resumed = followed_from(child);
    assert!(
        position(&resumed) < position(&after_missed_change),
        "resumed from {resumed}, not before the change (which ended at {after_missed_change})"
    );
    // The new stream's line is logged as it starts; /health follows a moment later.
    assert!(
        wait_until(PATIENCE, || watch_state(child) == "up"),
        "{}",
        child.output()
    );
    resumed
}

/// Rotation: the change in the new file is seen, and the next stream starts there.
async fn rotation_is_followed(f: &Fixture, reader: &ReaderServer, child: &Child, resumed: &str) {
    f.db.exec("FLUSH BINARY LOGS");
    let rotated = f.master_position();
    tokio::time::sleep(GAP).await;
    let took = change(f, reader, 4.0, PATIENCE).await;
    eprintln!("binlog: after FLUSH BINARY LOGS, commit -> served: {took:?}");
    assert!(took <= WITHIN, "{took:?}:\n{}", child.output());
    let after_change = f.master_position();
    let new_file = rotated.split(':').next().unwrap_or_default().to_owned();
    assert!(after_change.starts_with(&new_file), "{after_change}");
    f.kill_stream();
    assert!(
        wait_until(PATIENCE, || f.dumps() == 3),
        "{}",
        child.output()
    );
    assert!(
        wait_until(PATIENCE, || followed_from(child) != resumed),
        "{}",
        child.output()
    );
    let resumed = followed_from(child);
    assert!(
        resumed.starts_with(&new_file) && position(&resumed) >= position(&after_change),
        "resumed from {resumed}, not in {new_file} after {after_change}:\n{}",
        child.output()
    );
    tokio::time::sleep(GAP).await;
    let took = change(f, reader, 5.0, PATIENCE).await;
    assert!(took <= WITHIN, "{took:?}:\n{}", child.output());
}

/// A stream lost right after a change's commit, before its nudge was due (the settle
/// time): the position is past the change, so the stream that ends must nudge for it.
async fn a_stream_lost_right_after_a_change_nudges_for_it(
    f: &Fixture,
    reader: &ReaderServer,
    child: &Child,
) {
    tokio::time::sleep(GAP).await;
    set_exp(&f.db, 6.0);
    f.kill_stream();
    assert!(
        served(reader, 6.0, PATIENCE).await.is_some(),
        "a change seen just before the stream was lost was dropped:\n{}",
        child.output()
    );
    assert!(
        !child.output().contains("binlog position refused"),
        "{}",
        child.output()
    );
}

#[test]
fn without_replication_grants_the_message_names_them_and_the_interval_goes_on() {
    let f = Fixture::new(&[]);
    let redis = TestRedis::new();
    let message = "STATUS_WATCH=binlog cannot follow the binary log";
    let child = watching(
        &f,
        &redis,
        &[("STATUS_WATCH", "binlog"), ("STATUS_UPDATE_INTERVAL", "10")],
        message,
    );
    let out = child.output();
    let line = out.lines().find(|l| l.contains(message)).unwrap();
    eprintln!("binlog without grants: {line}");
    let who = format!("'{}'@'%'", f.user);
    for needle in [
        format!("{who} lacks REPLICATION SLAVE"),
        format!("{who} lacks REPLICATION CLIENT"),
        format!("GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO {who}"),
    ] {
        assert!(line.contains(&needle), "{needle}: {line}");
    }
    // The server has what it needs: only the user's grants are named.
    assert!(!line.contains("binlog_format"), "{line}");
    assert!(!line.contains("binary logging is off"), "{line}");

    let addr = metrics_addr(&child);
    the_binlog_is_unavailable_in_health_and_metrics(addr);
    assert_eq!(f.dumps(), 0, "it never asked for a stream");
    nudges_and_the_interval_go_on(&f, &redis, &child, addr);
}

/// `/health` says why the follower is unavailable, and `/metrics` has its source down.
fn the_binlog_is_unavailable_in_health_and_metrics(addr: SocketAddr) {
    // The first document is in Redis a moment before /health counts the refresh that wrote it.
    let (code, body) = health_when(addr, PATIENCE, |code, body| {
        code == 200 && body["watch_state"] == "unavailable"
    });
    assert_eq!(code, 200, "{body}");
    assert_eq!(
        (&body["watch"], &body["watch_state"]),
        (&"binlog".into(), &"unavailable".into()),
        "{body}"
    );
    assert!(
        body["watch_error"]
            .as_str()
            .is_some_and(|e| e.contains("lacks REPLICATION SLAVE")),
        "{body}"
    );
    assert_eq!(
        sample_when(
            addr,
            "status_refresher_source_up{source=\"binlog\"}",
            PATIENCE,
            |v| v == 0.0
        ),
        0.0
    );
}

/// Without the binary log, a nudge still refreshes within a second, and the interval
/// refreshes one interval after it.
fn nudges_and_the_interval_go_on(f: &Fixture, redis: &TestRedis, child: &Child, addr: SocketAddr) {
    // Nudges still work...
    past_the_gap(addr);
    set_exp(&f.db, 7.0);
    let sent = Instant::now();
    assert_eq!(publish(redis), 1);
    assert!(wait_until(PATIENCE, || live::exp(redis) == Some(7.0)));
    let took = sent.elapsed();
    eprintln!("binlog without grants: PUBLISH -> new document {took:?}");
    assert!(took <= WITHIN, "{took:?}");
    let nudged = live::document(redis)
        .expect("the nudged document")
        .updated_at;
    // ...and so does the interval: the next refresh comes one interval after the nudged one,
    // by the refresher's own clock (`updated_at`), so the test's own pace does not count.
    set_exp(&f.db, 8.0);
    assert!(
        wait_until(Duration::from_secs(60), || live::exp(redis) == Some(8.0)),
        "{}",
        child.output()
    );
    let next = live::document(redis)
        .expect("the interval's document")
        .updated_at;
    let interval = next - nudged;
    eprintln!(
        "binlog without grants: nudged refresh -> next on the 10 s interval: {interval:.3} s"
    );
    assert!(
        (9.5..=10.0 + (WITHIN * 3).as_secs_f64()).contains(&interval),
        "{interval:.3} s between refreshes, interval 10 s:\n{}",
        child.output()
    );
}
