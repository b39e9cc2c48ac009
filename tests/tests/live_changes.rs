//! Live changes on demand (issue 13): the real refresher, subscribed to its refresh channel
//! on the real Redis, against the real MariaDB.
//!
//! - a `PUBLISH` shows a changed constant within 1 s;
//! - 1,000 `PUBLISH`es in one second cost at most 2 `SELECT`s, and the change made during
//!   the flood is served at the end (the "one more" refresh);
//! - a standby is not subscribed and ignores nudges; after a takeover the new holder is;
//! - `refresh-now --wait` publishes, waits for the document to move and prints it;
//! - the `poll:<seconds>` watcher refreshes on a change and not without one.
//!
//! `SELECT`s are counted from MariaDB's per-table statistics of the test's own database
//! (see `integration_tests::probe::scans`), so parallel tests do not disturb the counts.

use std::process::Command;
use std::time::{Duration, Instant};

use integration_tests::binaries::{Child, refresher_command, run};
use integration_tests::db::TestDb;
use integration_tests::live::{
    self, GAP, WITHIN, channel, document, exp, publish, sample, set_exp, subscribed,
};
use integration_tests::probe::{health, metrics_addr, scans};
use integration_tests::redis::TestRedis;
use integration_tests::wait::wait_until;

const ROWS: u64 = live::ROWS;

fn table() -> TestDb {
    let db = TestDb::new();
    live::seed(&db);
    db
}

fn daemon(db: &TestDb, redis: &TestRedis) -> Command {
    live::daemon(&db.url(), redis)
}

const NUDGES: &str = "status_refresher_nudges_total{source=\"channel\"}";

/// Changes RateExp to `value`, nudges, and returns how long until the document showed it,
/// and the SELECTs that took (counted after the UPDATE, which reads the table too).
fn nudged_change(db: &TestDb, redis: &TestRedis, value: f64) -> (Duration, u64) {
    set_exp(db, value);
    let before = scans(db, ROWS);
    let sent = Instant::now();
    assert_eq!(publish(redis), 1, "exactly one subscriber (the holder)");
    assert!(
        wait_until(WITHIN * 3, || exp(redis) == Some(value)),
        "the change never showed"
    );
    let took = sent.elapsed();
    (took, scans(db, ROWS) - before)
}

#[test]
fn publish_refreshes_within_a_second_and_a_flood_costs_at_most_two_selects() {
    let db = table();
    let redis = TestRedis::new();
    let child = subscribed(daemon(&db, &redis), &redis);
    let addr = metrics_addr(&child);
    let (code, body) = health(addr);
    assert_eq!((code, &body["channel"]), (200, &serde_json::json!("up")));

    // Past the start-up refresh's gap, a nudge is answered at once.
    std::thread::sleep(GAP);
    let (took, selects) = nudged_change(&db, &redis, 2.0);
    eprintln!("PUBLISH -> new document: {took:?}");
    assert!(took < WITHIN, "{took:?}:\n{}", child.output());
    assert_eq!(selects, 1);

    // 1,000 PUBLISHes spread over one second, with a change in the middle of the flood.
    std::thread::sleep(GAP);
    let before = scans(&db, ROWS);
    let mut conn = redis.conn();
    let start = Instant::now();
    for batch in 0..20 {
        if batch == 10 {
            set_exp(&db, 3.0);
        }
        let mut pipe = redis::pipe();
        for _ in 0..50 {
            pipe.cmd("PUBLISH").arg(channel(&redis)).arg("now").ignore();
        }
        let () = pipe.query(&mut conn).expect("PUBLISH flood");
        let next = start + Duration::from_millis(50 * (batch + 1));
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
    }
    let flood = start.elapsed();
    assert!(
        flood < Duration::from_millis(1500),
        "the flood took {flood:?}"
    );
    // The last refresh the flood earns runs one gap after the first.
    assert!(
        wait_until(GAP + WITHIN, || exp(&redis) == Some(3.0)),
        "the change made during the flood was not served:\n{}",
        child.output()
    );
    std::thread::sleep(GAP);
    // The UPDATE made during the flood read the table once too.
    let selects = scans(&db, ROWS) - before - 1;
    eprintln!("1,000 PUBLISHes in {flood:?}: {selects} SELECTs");
    assert!(
        (1..=2).contains(&selects),
        "{selects} SELECTs for 1,000 nudges:\n{}",
        child.output()
    );
    assert_eq!(sample(addr, NUDGES), 1001.0);
    assert_eq!(
        sample(addr, "status_refresher_source_up{source=\"channel\"}"),
        1.0
    );
}

#[test]
fn a_standby_ignores_nudges_and_the_new_holder_subscribes_after_a_takeover() {
    let db = table();
    let redis = TestRedis::new();
    let replica = || {
        let mut cmd = daemon(&db, &redis);
        cmd.env("STATUS_LEASE", "2");
        cmd
    };
    let mut a = subscribed(replica(), &redis);
    let b = Child::spawn(replica());
    assert!(
        b.wait_for_output("standby", Duration::from_secs(10)),
        "{}",
        b.output()
    );
    let b_addr = metrics_addr(&b);
    std::thread::sleep(GAP);
    // One subscriber: the holder. It refreshes, the standby does nothing.
    let (took, selects) = nudged_change(&db, &redis, 5.0);
    assert!(took < WITHIN, "{took:?}");
    assert_eq!(selects, 1, "one SELECT, by the holder");
    let (_, body) = health(b_addr);
    assert_eq!(body["channel"], "standby", "{body}");
    assert_eq!(sample(b_addr, NUDGES), 0.0);
    assert_eq!(
        sample(b_addr, "status_refresher_refresh_total{result=\"ok\"}"),
        0.0
    );

    // The holder dies: the standby takes over and subscribes.
    a.kill();
    assert!(
        b.wait_for_output("subscribed to the refresh channel", Duration::from_secs(10)),
        "{}",
        b.output()
    );
    std::thread::sleep(GAP);
    let (took, _) = nudged_change(&db, &redis, 6.0);
    assert!(took < WITHIN, "{took:?}:\n{}", b.output());
    assert_eq!(health(b_addr).1["channel"], "up");
}

#[test]
fn refresh_now_waits_for_the_new_document_and_prints_it() {
    let db = table();
    let redis = TestRedis::new();
    let child = subscribed(daemon(&db, &redis), &redis);
    set_exp(&db, 7.5);
    let mut cmd = refresher_command();
    cmd.env("REDIS_URL", redis.url())
        .env("STATUS_KEY", redis.status_key())
        .args(["refresh-now", "--wait"]);
    let started = Instant::now();
    let (status, out) = run(cmd, Duration::from_secs(20));
    assert!(status.success(), "{out}\n{}", child.output());
    assert!(out.contains("rates.exp=7.5"), "{out}");
    // The start-up refresh was moments ago: the nudge waits out the gap at most.
    assert!(
        started.elapsed() < GAP + WITHIN * 2,
        "{:?}",
        started.elapsed()
    );
    drop(child);

    // Nobody listening: a clear error and exit 1.
    let mut cmd = refresher_command();
    cmd.env("REDIS_URL", redis.url())
        .env("STATUS_KEY", redis.status_key())
        .arg("refresh-now");
    let (status, out) = run(cmd, Duration::from_secs(20));
    assert_eq!(status.code(), Some(1), "{out}");
    assert!(out.contains("no refresher is subscribed"), "{out}");
}

#[test]
fn poll_watch_refreshes_on_a_change_only() {
    let db = table();
    let redis = TestRedis::new();
    let mut cmd = daemon(&db, &redis);
    cmd.env("STATUS_WATCH", "poll:1");
    let child = subscribed(cmd, &redis);
    assert!(
        child.wait_for_output("probing `constants` for changes", Duration::from_secs(5)),
        "{}",
        child.output()
    );
    // No change for three probes: no refresh (the probe reads the table, so count
    // documents written rather than scans).
    let first = document(&redis).unwrap().updated_at;
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        document(&redis).unwrap().updated_at,
        first,
        "refreshed without a change"
    );
    set_exp(&db, 9.0);
    let changed = Instant::now();
    assert!(
        wait_until(Duration::from_secs(4), || exp(&redis) == Some(9.0)),
        "{}",
        child.output()
    );
    // At most one probe period plus a refresh.
    assert!(
        changed.elapsed() < Duration::from_millis(1500),
        "{:?}",
        changed.elapsed()
    );
    let addr = metrics_addr(&child);
    let (_, body) = health(addr);
    assert_eq!(
        (&body["watch"], &body["watch_state"]),
        (&"poll".into(), &"up".into())
    );
}
