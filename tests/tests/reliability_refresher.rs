//! Reliability of the refresher against the real services, with faults injected by the
//! test fault proxy (`integration_tests::fault`): two replicas and their lease, stalls,
//! restarts, SIGKILL mid-write, least privilege, hostile table contents, and the health
//! and metrics listener read over real HTTP.
//!
//! Every test has its own database, Redis keys, MySQL users and ports, cleans up after
//! itself, and bounds every wait. See docs/reliability.md for what each test proves.

use std::process::Command;
use std::time::{Duration, Instant};

use integration_tests::binaries::{Child, Signal, refresher_for, run};
use integration_tests::db::{self, Columns, TestDb, constant};
use integration_tests::fault::{FaultProxy, Mode};
use integration_tests::probe::{
    health, health_when, http_get, metric, metrics_addr, sample_when, scans,
};
use integration_tests::redis::TestRedis;
use integration_tests::wait::{SETTLE, wait_until};
use status_document::{DocumentView, StatusDocument};

const ONCE_LIMIT: Duration = Duration::from_secs(30);

/// A refresher command for `db_url` and this test's Redis keys, listening for health and
/// metrics on a free port (found in the log with [`metrics_addr`]).
fn command(db_url: &str, redis_url: &str, redis: &TestRedis) -> Command {
    let mut cmd = refresher_for(db_url, redis_url, redis);
    cmd.env("STATUS_METRICS_ADDR", "127.0.0.1:0")
        .env("STATUS_TIMEOUT", "1");
    cmd
}

fn stored(redis: &TestRedis) -> Option<StatusDocument> {
    redis
        .get(&redis.status_key())
        .map(|raw| serde_json::from_slice(&raw).expect("stored value is not a document"))
}

fn updated_at(redis: &TestRedis) -> Option<f64> {
    stored(redis).map(|d| d.updated_at)
}

/// Values of `key=NUMBER` on log lines containing `marker`.
fn logged_numbers(output: &str, marker: &str, key: &str) -> Vec<u64> {
    output
        .lines()
        .filter(|l| l.contains(marker))
        .filter_map(|l| {
            let at = l.find(&format!("{key}="))? + key.len() + 1;
            l[at..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect::<String>()
                .parse()
                .ok()
        })
        .collect()
}

#[test]
fn two_replicas_one_writer_and_takeover_after_kill() {
    const INTERVAL: f64 = 1.0;
    const LEASE: f64 = 2.0;
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

    // One SELECT per interval between the two, over a 4 s window.
    let window = Duration::from_secs(4);
    let started = Instant::now();
    let before = scans(&db, 2);
    let mut writes = Vec::new();
    while started.elapsed() < window {
        if let Some(t) = updated_at(&redis)
            && writes.last() != Some(&t)
        {
            writes.push(t);
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    let selects = scans(&db, 2) - before;
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

    // SIGKILL the holder: the standby takes over once the lease runs out.
    let last_before_kill = updated_at(&redis).unwrap();
    a.kill();
    let killed_at = Instant::now();
    assert!(
        b.wait_for_output("lease acquired", SETTLE),
        "{}",
        b.output()
    );
    let mut first_after = None;
    assert!(wait_until(SETTLE, || {
        first_after = updated_at(&redis).filter(|t| *t > last_before_kill);
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
    let before = scans(&db, 2);
    std::thread::sleep(Duration::from_secs(2));
    let selects = scans(&db, 2) - before;
    let most = (t.elapsed().as_secs_f64() / INTERVAL).floor() as u64 + 1;
    assert!(
        (1..=most).contains(&selects),
        "{selects} SELECTs in {:?}:\n{}",
        t.elapsed(),
        b.output()
    );

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
    assert!(wait_until(SETTLE, || stored(&redis)
        .is_some_and(|d| d.rates.exp == 1.0)));
    let b = replica(&db_b);
    assert!(b.wait_for_output("standby", SETTLE), "{}", b.output());

    // Lock A's table for 4 s: A's next SELECT (within 1 s) blocks past its 2 s lease but
    // inside its 5 s timeout, then A tries to write.
    let mut seen = Vec::new();
    let refused = std::thread::scope(|scope| {
        scope.spawn(|| db_a.exec("LOCK TABLES constants WRITE; DO SLEEP(4); UNLOCK TABLES"));
        wait_until(SETTLE, || {
            if let Some(d) = stored(&redis)
                && seen.last() != Some(&d.rates.exp)
            {
                seen.push(d.rates.exp);
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
            let exp = stored(&redis).map(|d| d.rates.exp);
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
    seen.push(stored(&redis).unwrap().rates.exp);
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
        let exp = view.rates.exp;
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

/// A MySQL user that exists for the life of this value.
struct TestUser {
    db: TestDb,
    user: String,
    password: String,
}

impl Drop for TestUser {
    fn drop(&mut self) {
        self.db
            .exec(&format!("DROP USER IF EXISTS '{}'@'%'", self.user));
    }
}

#[test]
fn runs_under_exactly_grant_select_on_constants() {
    let db = TestDb::with_constants("DOUBLE", &[constant("RateExp", 6.0, Some("six"))]);
    db.exec("CREATE TABLE secrets (x INT)");
    let user = TestUser {
        user: format!("ss_u_{:012x}", fastrand::u64(..) >> 16),
        password: format!("Pw-{:016x}", fastrand::u64(..)),
        db,
    };
    let (u, pw, name) = (&user.user, &user.password, user.db.name());
    user.db
        .exec(&format!("CREATE USER '{u}'@'%' IDENTIFIED BY '{pw}'"));
    user.db.exec(&format!(
        "GRANT SELECT ON `{name}`.`constants` TO '{u}'@'%'"
    ));
    let grants = user.db.query(&format!("SHOW GRANTS FOR '{u}'@'%'"));
    assert_eq!(grants.len(), 2, "{grants:?}");
    assert!(
        grants[1][0]
            .as_deref()
            .unwrap()
            .starts_with(&format!("GRANT SELECT ON `{name}`.`constants` TO")),
        "{grants:?}"
    );

    let redis = TestRedis::new();
    let (host, port) = user.db.host_port();
    let url = format!("mysql://{u}:{pw}@{host}:{port}/{name}");
    let mut cmd = command(&url, &redis.url(), &redis);
    cmd.arg("--once");
    let (status, out) = run(cmd, ONCE_LIMIT);
    assert_eq!(status.code(), Some(0), "{out}");
    assert!(!out.contains(pw.as_str()), "password leaked:\n{out}");
    assert_eq!(stored(&redis).unwrap().rates.exp, 6.0);
}

/// Runs `--once` against `db` with extra env, returning (exit code, output).
fn once_with(db: &TestDb, redis: &TestRedis, env: &[(&str, &str)]) -> (Option<i32>, String) {
    let mut cmd = command(&db.url(), &redis.url(), redis);
    cmd.arg("--once");
    for (k, v) in env {
        cmd.env(k, v);
    }
    // Bounded by ONCE_LIMIT (the process is killed then, and the exit code is None), not by a
    // tighter wall-clock guess that only a quiet machine would meet.
    let (status, out) = run(cmd, ONCE_LIMIT);
    (status.code(), out)
}

#[test]
fn hundred_thousand_constants_are_refused_whole_or_published_mapped() {
    let db = TestDb::new();
    db.create_constants("DOUBLE");
    db.exec(
        "INSERT INTO constants SELECT CONCAT('Const', seq), seq, CONCAT('about ', seq) \
         FROM seq_1_to_100000",
    );
    db.insert("RateExp", 9.0, Some("exp"));
    let redis = TestRedis::new();
    let (code, out) = once_with(&db, &redis, &[]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("over the 262144-byte bound"), "{out}");
    assert!(
        out.contains("STATUS_META=mapped"),
        "the error says what to do:\n{out}"
    );
    assert_eq!(redis.get(&redis.status_key()), None, "nothing written");

    let (code, out) = once_with(&db, &redis, &[("STATUS_META", "mapped")]);
    assert_eq!(code, Some(0), "{out}");
    let raw = redis.get(&redis.status_key()).unwrap();
    let view = DocumentView::parse(&raw).unwrap();
    assert_eq!(view.rates.exp, 9.0);
    assert!(out.contains("rows=100001"), "{out}");
}

/// [`once_with`] without extra settings, which must succeed; its output.
fn once_ok(db: &TestDb, redis: &TestRedis) -> String {
    let (code, out) = once_with(db, redis, &[]);
    assert_eq!(code, Some(0), "{out}");
    out
}

/// A `DOUBLE`-valued constants table whose `Description` column is `description`.
fn described_as(description: &'static str) -> TestDb {
    TestDb::with_table(Columns {
        description,
        ..Columns::value("DOUBLE")
    })
}

#[test]
fn huge_description_and_control_characters() {
    let db = described_as("MEDIUMTEXT");
    db.exec("INSERT INTO constants VALUES ('Big', 1, REPEAT('x', 1048576))");
    db.exec(
        "INSERT INTO constants VALUES \
         (CONCAT('Ctl', CHAR(9), CHAR(27)), 2, \
          CONCAT('a', CHAR(0), CHAR(1), CHAR(27), '[31m\"\\\\', CHAR(10), CHAR(13), \
                 _utf8mb4 0xE280A8, 'z'))",
    );
    db.insert("RateExp", 5.0, Some("ok"));
    let redis = TestRedis::new();
    let out = once_ok(&db, &redis);
    assert!(out.contains("description of \"Big\" cut"), "{out}");
    let raw = redis.get(&redis.status_key()).unwrap();
    assert!(raw.len() < 256 * 1024);
    DocumentView::parse(&raw).expect("a valid document");
    let doc = stored(&redis).unwrap();
    assert_eq!(doc.rates.exp, 5.0);
    assert!(doc.meta["Big"].len() < 100_000);
    assert_eq!(
        doc.meta["Ctl\t\u{1b}"], "a\u{0}\u{1}\u{1b}[31m\"\\\n\r\u{2028}z",
        "control characters round-trip exactly (escaped in JSON)"
    );
    assert!(
        !raw.iter().any(|b| *b < 0x20),
        "no raw control bytes in the stored JSON"
    );
}

#[test]
fn latin1_and_invalid_utf8_descriptions() {
    let db = described_as("VARCHAR(255) CHARACTER SET latin1");
    // Raw latin1 bytes: "café" and bytes that are not UTF-8 on their own.
    db.exec("INSERT INTO constants VALUES ('RateExp', 2, UNHEX('636166E9'))");
    db.exec("INSERT INTO constants VALUES ('Odd', 1, UNHEX('FF80E9'))");
    let redis = TestRedis::new();
    once_ok(&db, &redis);
    // The server converts latin1 to the connection's utf8mb4: valid text arrives.
    let doc = stored(&redis).unwrap();
    assert_eq!(doc.meta["RateExp"], "café");
    assert_eq!(doc.meta["Odd"].chars().count(), 3);

    // The same bytes in a binary column reach the refresher unconverted: replaced, and
    // reported by name.
    db.exec("ALTER TABLE constants MODIFY Description VARBINARY(255) NULL");
    let out = once_ok(&db, &redis);
    assert!(
        out.contains("Description of constant \"Odd\" is not valid UTF-8"),
        "{out}"
    );
    let raw = redis.get(&redis.status_key()).unwrap();
    DocumentView::parse(&raw).expect("valid document");
    let doc = stored(&redis).unwrap();
    assert_eq!(doc.meta["RateExp"], "caf\u{fffd}");
    assert!(doc.meta["Odd"].contains('\u{fffd}'));
}

#[test]
fn duplicate_names_differing_only_by_case() {
    let db = TestDb::with_table(Columns {
        name: "VARCHAR(64) COLLATE utf8mb4_bin",
        ..Columns::value("DOUBLE")
    });
    db.exec(
        "INSERT INTO constants VALUES ('RateExp', 2, 'first'), ('rateexp', 3, 'lower'), \
         ('RATEEXP', 4, 'upper'), ('RateExp', 5, 'again')",
    );
    let redis = TestRedis::new();
    let out = once_ok(&db, &redis);
    assert!(out.contains("\"RateExp\" appears more than once"), "{out}");
    let doc = stored(&redis).unwrap();
    // Names are case-sensitive, as the table's binary collation says; the mapping takes
    // the exact name, first row wins.
    assert_eq!(doc.rates.exp, 2.0);
    assert_eq!(doc.meta.len(), 3);
    assert_eq!(doc.meta["rateexp"], "lower");
    assert_eq!(doc.meta["RATEEXP"], "upper");
}
