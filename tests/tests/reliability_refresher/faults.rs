//! Network and process faults: a stalled database, MariaDB and Redis restarted under the
//! refresher, and SIGKILL in the middle of a write.

use std::time::{Duration, Instant};

use integration_tests::binaries::{Child, run};
use integration_tests::db::{self, TestDb, constant};
use integration_tests::fault::{FaultProxy, Mode};
use integration_tests::probe::{health, health_when, http_get, metric, metrics_addr};
use integration_tests::redis::TestRedis;
use integration_tests::wait::{SETTLE, wait_until};
use status_document::DocumentView;

use super::{ONCE_LIMIT, command, logged_numbers, updated_at};

#[test]
fn database_stall_times_out_keeps_document_backs_off_and_recovers() {
    let db = TestDb::with_constants("DOUBLE", &[constant("RateExp", 3.0, None)]);
    let redis = TestRedis::new();
    // The previous document, written directly.
    let mut first = command(&db.url(), &redis.url(), &redis);
    first.arg("--once");
    let (status, out) = run(first, ONCE_LIMIT);
    assert_eq!(status.code(), Some(0), "{out}");
    let previous = redis.get(&redis.status_key()).unwrap();

    let proxy = FaultProxy::for_url(&db::server_url());
    proxy.set_mode(Mode::Stall);
    let mut cmd = command(&proxy.rewrite_url(&db.url()), &redis.url(), &redis);
    // A long interval, so the backoff (1 s, 2 s, 4 s, ... with jitter) has room to grow.
    cmd.env("STATUS_UPDATE_INTERVAL", "30");
    let child = Child::spawn(cmd);
    let addr = metrics_addr(&child);
    assert!(
        wait_until(SETTLE * 2, || child
            .output()
            .matches("retrying with backoff")
            .count()
            >= 3),
        "{}",
        child.output()
    );
    let out = child.output();
    let durations = logged_numbers(&out, "result=\"error\"", "duration_ms");
    assert!(durations.len() >= 3, "{out}");
    // The timeout, plus slack for a busy machine's late wake-up; without the timeout a
    // stalled refresh would last until the proxy heals, minutes later.
    for d in &durations {
        assert!(
            *d <= 2_000,
            "a stalled refresh took {d} ms (timeout 1 s):\n{out}"
        );
    }
    assert!(out.contains("timed out after 1s"), "{out}");
    let delays = logged_numbers(&out, "retrying with backoff", "retry_in_ms");
    assert!(
        delays[0] <= delays[1] && delays[1] <= delays[2] && delays[0] < delays[2],
        "backoff does not grow: {delays:?}"
    );
    assert_eq!(redis.get(&redis.status_key()), Some(previous.clone()));
    assert_eq!(redis.get(&redis.last_good_key()), Some(previous.clone()));
    let (code, h) = health(addr);
    assert_eq!(
        (code, &h["status"]),
        (503, &serde_json::json!("error")),
        "{h}"
    );
    assert!(h["consecutive_failures"].as_u64().unwrap() >= 3, "{h}");
    let m = http_get(addr, "/metrics").1;
    assert!(
        metric(&m, "status_refresher_consecutive_failures") >= 3.0,
        "{m}"
    );
    assert!(metric(&m, "status_refresher_refresh_total{result=\"error\"}") >= 3.0);

    // Heal: the next retry succeeds without a restart.
    let pid = child.pid();
    proxy.set_mode(Mode::Pass);
    // The next retry may be a grown backoff away (capped at the 30 s interval).
    assert!(
        wait_until(SETTLE * 2, || redis.get(&redis.status_key())
            != Some(previous.clone())),
        "no recovery:\n{}",
        child.output()
    );
    assert_eq!(child.pid(), pid);
    // The document is in Redis a moment before /health counts the refresh that wrote it.
    let (code, h) = health_when(addr, SETTLE, |code, _| code == 200);
    assert_eq!((code, &h["status"]), (200, &serde_json::json!("ok")), "{h}");
    assert_eq!(h["consecutive_failures"], 0);
    let m = http_get(addr, "/metrics").1;
    assert_eq!(metric(&m, "status_refresher_consecutive_failures"), 0.0);
    assert!(metric(&m, "status_refresher_last_success_timestamp_seconds") > 0.0);
    assert!(metric(&m, "status_refresher_refresh_duration_seconds_count") >= 4.0);
}

#[test]
fn database_and_redis_restarts_are_survived_without_a_restart() {
    let db = TestDb::with_constants("DOUBLE", &[constant("RateExp", 4.0, None)]);
    let redis = TestRedis::new();
    let mysql_proxy = FaultProxy::for_url(&db::server_url());
    let redis_proxy = FaultProxy::for_url(&redis.url());
    let mut cmd = command(
        &mysql_proxy.rewrite_url(&db.url()),
        &redis_proxy.rewrite_url(&redis.url()),
        &redis,
    );
    cmd.env("STATUS_UPDATE_INTERVAL", "1")
        .env("STATUS_LEASE", "3");
    let child = Child::spawn(cmd);
    let addr = metrics_addr(&child);
    let advanced = |from: f64| wait_until(SETTLE, || updated_at(&redis).is_some_and(|t| t > from));
    assert!(advanced(0.0), "{}", child.output());
    // Each fault below must be followed by a refresh.
    let refreshed_after = |fault: &str| {
        let t = updated_at(&redis).unwrap();
        assert!(advanced(t), "no refresh after {fault}:\n{}", child.output());
    };

    // Both servers "restart": every open connection is reset, and for a moment new ones too.
    mysql_proxy.set_mode(Mode::Reset);
    redis_proxy.set_mode(Mode::Reset);
    std::thread::sleep(Duration::from_millis(500));
    mysql_proxy.set_mode(Mode::Pass);
    redis_proxy.set_mode(Mode::Pass);
    refreshed_after("the reset");

    // Redis down for longer (connections refused), then back on the same port.
    redis_proxy.set_mode(Mode::Refuse);
    std::thread::sleep(Duration::from_millis(1500));
    redis_proxy.set_mode(Mode::Pass);
    refreshed_after("Redis came back");
    let t = updated_at(&redis).unwrap();
    assert!(advanced(t), "refreshes continue:\n{}", child.output());
    assert!(
        wait_until(SETTLE, || health(addr).0 == 200),
        "{:?}",
        health(addr)
    );
    // The faults were felt (logged) and survived by reconnecting: new connections through
    // both proxies, same process.
    let out = child.output();
    assert!(out.contains(" WARN ") || out.contains("ERROR"), "{out}");
    assert!(mysql_proxy.accepted() >= 2, "MariaDB was reconnected");
    assert!(redis_proxy.accepted() >= 2, "Redis was reconnected");
}

#[test]
fn sigkill_mid_write_leaves_the_old_or_the_new_document_never_a_partial_one() {
    // ~200 KiB documents (the bound is 256 KiB), so the write takes long enough to be hit.
    let db = TestDb::new();
    db.create_constants("DOUBLE");
    db.exec(
        "INSERT INTO constants SELECT CONCAT('Filler', seq), seq, REPEAT('описание ', 10) \
         FROM seq_1_to_1100",
    );
    db.insert("RateExp", 0.0, Some("exp"));
    let redis = TestRedis::new();
    let lock = status_document::keys::lock_key(&redis.status_key());
    // Kills land in 0..window ms after the spawn. The window starts at 45 ms and widens
    // by half after every kill that came before any write, up to 2 s, so some kills land
    // before, some during and some after the write however loaded the machine is (a fixed
    // 45 ms window missed every write on a machine busy compiling).
    let mut window_ms = 45u64;
    // Generous: on a busy machine the window grows and each iteration takes longer, and the
    // test needs its ten kills more than it needs to be quick.
    let deadline = Instant::now() + Duration::from_secs(60);
    let (mut written, mut kills) = (0, 0);
    let mut last_exp = None;
    for i in 1..=40u32 {
        if Instant::now() > deadline {
            break;
        }
        db.exec(&format!(
            "UPDATE constants SET Value = {i} WHERE Name = 'RateExp'"
        ));
        // A killed holder leaves its lease behind; clear it so the next process can write.
        redis.del(&lock);
        let mut cmd = command(&db.url(), &redis.url(), &redis);
        // Alternate the two write paths: MULTI/EXEC (no lease) and the guarded script.
        cmd.env("STATUS_UPDATE_INTERVAL", "1")
            .env("STATUS_METRICS_ADDR", "")
            .env("STATUS_LEASE", if i % 2 == 0 { "0" } else { "5" });
        let mut child = Child::spawn(cmd);
        std::thread::sleep(Duration::from_millis(fastrand::u64(0..window_ms)));
        child.kill();
        kills += 1;

        let status = redis.get(&redis.status_key());
        let last_good = redis.get(&redis.last_good_key());
        let Some(status) = status else {
            assert_eq!(last_good, None, "last_good without the document");
            window_ms = (window_ms * 3 / 2).min(2_000);
            continue;
        };
        let view = DocumentView::parse(&status)
            .unwrap_or_else(|e| panic!("iteration {i}: partial or invalid document: {e}"));
        assert_eq!(
            last_good.as_deref(),
            Some(&status[..]),
            "iteration {i}: the two keys differ"
        );
        let exp = view.rates.unwrap().exp;
        assert!(
            exp >= 1.0 && exp <= f64::from(i) && exp.fract() == 0.0,
            "iteration {i}: unexpected exp {exp}"
        );
        if exp == f64::from(i) {
            written += 1;
        }
        if written == 0 {
            window_ms = (window_ms * 3 / 2).min(2_000);
        }
        assert!(last_exp.is_none_or(|l| exp >= l), "went back in time");
        last_exp = Some(exp);
    }
    eprintln!("{kills} kills, {written} landed after the write (window at the end {window_ms} ms)");
    assert!(kills >= 10, "only {kills} kills");
    assert!(
        written >= 1,
        "no process got to write; the test proves nothing"
    );
}
