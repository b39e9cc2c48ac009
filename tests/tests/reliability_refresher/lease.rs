//! Two replicas and their Redis lease: one writer at a time, a takeover after a kill, and
//! a holder that outlived its lease kept from overwriting the new one.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use integration_tests::binaries::{Child, Signal};
use integration_tests::db::{TestDb, constant};
use integration_tests::probe::{health, http_get, metric, metrics_addr, sample_when, scans};
use integration_tests::redis::TestRedis;
use integration_tests::wait::{SETTLE, wait_until};

use super::{command, logged_numbers, stored, updated_at};

#[test]
fn two_replicas_one_writer_and_takeover_after_kill() {
    let _timed = integration_tests::load::timed_blocking();
    let db = TestDb::with_constants(
        "DOUBLE",
        &[
            constant("RateExp", 2.0, None),
            constant("ServerStatus", 1.0, None),
        ],
    );
    let redis = TestRedis::new();
    let replica = || {
        let mut cmd = command(&db.url(), &redis.url(), &redis);
        cmd.env("STATUS_UPDATE_INTERVAL", "1")
            .env("STATUS_LEASE", LEASE.to_string())
            .env("STATUS_TIMEOUT", "0.5");
        Child::spawn(cmd)
    };
    let mut a = replica();
    assert!(
        a.wait_for_output("lease acquired", SETTLE),
        "{}",
        a.output()
    );
    let mut b = replica();
    assert!(b.wait_for_output("standby", SETTLE), "{}", b.output());
    let (a_addr, b_addr) = (metrics_addr(&a), metrics_addr(&b));

    one_writer_between_two(&db, &redis, a_addr, b_addr);
    the_standby_takes_over(&db, &redis, &mut a, &b, b_addr);

    // A graceful stop releases the lease (compare-and-delete).
    b.signal(Signal::Term).expect("kill");
    assert_eq!(b.wait(SETTLE).code(), Some(0));
    assert!(b.output().contains("lease released"), "{}", b.output());
    assert!(
        wait_until(Duration::from_secs(5), || redis
            .get(&status_document::keys::lock_key(&redis.status_key()))
            .is_none()),
        "lease not released"
    );
}

/// The two replicas' refresh interval and lease, in seconds.
const INTERVAL: f64 = 1.0;
const LEASE: f64 = 2.0;

/// With holder `a` and standby `b` running: one SELECT per interval between the two, the
/// holder's refreshes and the standby's skips counted, both healthy.
fn one_writer_between_two(db: &TestDb, redis: &TestRedis, a_addr: SocketAddr, b_addr: SocketAddr) {
    // One SELECT per interval between the two, over a 4 s window.
    let window = Duration::from_secs(4);
    let started = Instant::now();
    let before = scans(db, 2);
    let mut writes = Vec::new();
    while started.elapsed() < window {
        if let Some(t) = updated_at(redis)
            && writes.last() != Some(&t)
        {
            writes.push(t);
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    let selects = scans(db, 2) - before;
    let elapsed = started.elapsed().as_secs_f64();
    let most = (elapsed / INTERVAL).floor() as u64 + 1;
    assert!(
        (3..=most).contains(&selects),
        "{selects} SELECTs in {elapsed:.2} s at a 1 s interval (two writers would make ~8)"
    );
    for pair in writes.windows(2) {
        assert!(
            pair[1] - pair[0] >= INTERVAL * 0.9,
            "two writes within one interval: {writes:?}"
        );
    }
    // A refresh counted by its SELECT above may not be recorded yet: wait for the counts.
    let a_ok = sample_when(
        a_addr,
        "status_refresher_refresh_total{result=\"ok\"}",
        SETTLE,
        |n| n >= 4.0,
    );
    assert!(a_ok >= 4.0, "{a_ok} refreshes recorded by the holder");
    let b_skipped = sample_when(
        b_addr,
        "status_refresher_refresh_total{result=\"skipped_not_leader\"}",
        SETTLE,
        |n| n >= 3.0,
    );
    assert!(
        b_skipped >= 3.0,
        "{b_skipped} cycles skipped by the standby"
    );
    let a_metrics = http_get(a_addr, "/metrics").1;
    let b_metrics = http_get(b_addr, "/metrics").1;
    assert_eq!(metric(&a_metrics, "status_refresher_lease_holder"), 1.0);
    assert_eq!(metric(&b_metrics, "status_refresher_lease_holder"), 0.0);
    assert_eq!(
        metric(&b_metrics, "status_refresher_refresh_total{result=\"ok\"}"),
        0.0
    );
    // Both are healthy: the standby is doing its job.
    assert_eq!(health(a_addr).0, 200);
    let (code, body) = health(b_addr);
    assert_eq!((code, &body["status"]), (200, &serde_json::json!("ok")));
    assert_eq!(body["lease_holder"], false);
}

/// SIGKILL the holder `a`: standby `b` takes over once the lease runs out, within the
/// lease plus an interval, and goes on at one SELECT per interval alone.
fn the_standby_takes_over(
    db: &TestDb,
    redis: &TestRedis,
    a: &mut Child,
    b: &Child,
    b_addr: SocketAddr,
) {
    // SIGKILL the holder: the standby takes over once the lease runs out.
    let last_before_kill = updated_at(redis).unwrap();
    a.kill();
    let killed_at = Instant::now();
    assert!(
        b.wait_for_output("lease acquired", SETTLE),
        "{}",
        b.output()
    );
    let mut first_after = None;
    assert!(wait_until(SETTLE, || {
        first_after = updated_at(redis).filter(|t| *t > last_before_kill);
        first_after.is_some()
    }));
    let gap = first_after.unwrap() - last_before_kill;
    // `updated_at` is stamped once the SELECT is back, so the new holder's first refresh
    // (its logged duration) is not part of the takeover: on a busy machine that SELECT
    // alone can take longer than the slack below.
    assert!(b.wait_for_output("result=\"ok\"", SETTLE), "{}", b.output());
    let first_refresh_s = logged_numbers(&b.output(), "result=\"ok\"", "duration_ms")
        .first()
        .map_or(0.0, |ms| *ms as f64 / 1000.0);
    eprintln!(
        "takeover: document gap {gap:.3} s (bound lease + interval = {} s; the new holder's \
         first refresh took {first_refresh_s:.3} s), {:?} after the kill",
        LEASE + INTERVAL,
        killed_at.elapsed()
    );
    // The bound, plus the new holder's wake-up slack (20 ms) and a little for its clock.
    assert!(
        gap - first_refresh_s <= LEASE + INTERVAL + 0.25,
        "gap {gap:.3} s (of which {first_refresh_s:.3} s the first refresh) > lease + interval"
    );
    assert!(
        wait_until(SETTLE, || {
            metric(
                &http_get(b_addr, "/metrics").1,
                "status_refresher_lease_holder",
            ) == 1.0
        }),
        "the survivor reports holding the lease"
    );
    // Still one SELECT per interval with one replica.
    let t = Instant::now();
    let before = scans(db, 2);
    std::thread::sleep(Duration::from_secs(2));
    let selects = scans(db, 2) - before;
    let most = (t.elapsed().as_secs_f64() / INTERVAL).floor() as u64 + 1;
    assert!(
        (1..=most).contains(&selects),
        "{selects} SELECTs in {:?}:\n{}",
        t.elapsed(),
        b.output()
    );
}

/// A holder that stalls past its lease (here: its SELECT waits on a table lock) must not
/// overwrite what the new holder wrote meanwhile: the write script checks the token.
#[test]
fn a_holder_that_outlived_its_lease_cannot_overwrite_the_new_holder() {
    // The two replicas read different databases, so their documents can be told apart.
    let db_a = TestDb::with_constants("DOUBLE", &[constant("RateExp", 1.0, None)]);
    let db_b = TestDb::with_constants("DOUBLE", &[constant("RateExp", 2.0, None)]);
    let redis = TestRedis::new();
    let replica = |db: &TestDb| {
        let mut cmd = command(&db.url(), &redis.url(), &redis);
        cmd.env("STATUS_UPDATE_INTERVAL", "1")
            .env("STATUS_LEASE", "2")
            .env("STATUS_TIMEOUT", "5")
            .env("STATUS_METRICS_ADDR", "");
        Child::spawn(cmd)
    };
    let a = replica(&db_a);
    assert!(
        a.wait_for_output("lease acquired", SETTLE),
        "{}",
        a.output()
    );
    assert!(wait_until(SETTLE, || stored(&redis).is_some_and(|d| d
        .rates
        .unwrap()
        .exp
        == 1.0)));
    let b = replica(&db_b);
    assert!(b.wait_for_output("standby", SETTLE), "{}", b.output());

    // Lock A's table for 4 s: A's next SELECT (within 1 s) blocks past its 2 s lease but
    // inside its 5 s timeout, then A tries to write.
    let mut seen = Vec::new();
    let refused = std::thread::scope(|scope| {
        scope.spawn(|| db_a.exec("LOCK TABLES constants WRITE; DO SLEEP(4); UNLOCK TABLES"));
        wait_until(SETTLE, || {
            if let Some(d) = stored(&redis)
                && seen.last() != Some(&d.rates.unwrap().exp)
            {
                seen.push(d.rates.unwrap().exp);
            }
            a.output().contains("nothing was written")
        })
    });
    assert!(refused, "A's late write was not refused:\n{}", a.output());
    // A's write is refused once its lease is gone, which may be a moment before B has
    // taken the lease and written: wait for B's document.
    assert!(
        b.wait_for_output("lease acquired", SETTLE),
        "{}",
        b.output()
    );
    assert!(
        wait_until(SETTLE, || {
            let exp = stored(&redis).map(|d| d.rates.unwrap().exp);
            if let Some(exp) = exp
                && seen.last() != Some(&exp)
            {
                seen.push(exp);
            }
            exp == Some(2.0)
        }),
        "B never wrote:\n{}",
        b.output()
    );
    // Keep watching a little: A's refused write must not surface later either.
    std::thread::sleep(Duration::from_millis(500));
    seen.push(stored(&redis).unwrap().rates.unwrap().exp);
    let first_b = seen.iter().position(|e| *e == 2.0).expect("B wrote");
    assert!(
        seen[first_b..].iter().all(|e| *e == 2.0),
        "the old holder overwrote the new one: {seen:?}"
    );
    assert!(
        a.wait_for_output("standby", SETTLE),
        "A steps down:\n{}",
        a.output()
    );
}
