//! The refresher binary against real MariaDB and real Redis.
//!
//! Every test has its own database (`TestDb`) and its own Redis keys (`TestRedis`, passed
//! through STATUS_KEY and STATUS_INTERVAL_KEY), so the tests run in parallel. The binary runs
//! as a child process with a clean environment; every wait is bounded.

use std::collections::BTreeMap;
use std::process::{Command, ExitStatus};
use std::time::{Duration, Instant};

use integration_tests::binaries::{Child, Signal, refresher_command, refresher_for, run};
use integration_tests::db::{SqlValue, TestDb, constant};
use integration_tests::redis::TestRedis;
use integration_tests::unix_now;
use integration_tests::wait::{SETTLE, wait_until};
use status_document::{Field, StatusDocument};

/// Bound on a `--once` run (its calls time out after STATUS_TIMEOUT = 3 s each).
const ONCE_LIMIT: Duration = Duration::from_secs(30);

/// A refresher command for this test's database and keys.
fn command(db: &TestDb, redis: &TestRedis) -> Command {
    let mut cmd = refresher_for(&db.url(), &redis.url(), redis);
    cmd.env("STATUS_TIMEOUT", "3");
    cmd
}

fn once(mut cmd: Command) -> (ExitStatus, String) {
    cmd.arg("--once");
    run(cmd, ONCE_LIMIT)
}

fn once_ok(db: &TestDb, redis: &TestRedis) -> String {
    let (status, output) = once(command(db, redis));
    assert_eq!(status.code(), Some(0), "refresher failed:\n{output}");
    output
}

fn document(redis: &TestRedis) -> StatusDocument {
    let raw = redis
        .get(&redis.status_key())
        .expect("no document under the status key");
    serde_json::from_slice(&raw).expect("stored value is not a status document")
}

/// A port with nothing listening on it.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("local addr").port();
    drop(listener);
    port
}

fn meta(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The seven mapped constants, with values of the Rust type that suits `value_type`.
fn full_table(values: [SqlValue; 7]) -> Vec<integration_tests::db::Constant> {
    let mut rows: Vec<_> = Field::ALL
        .map(Field::default_constant)
        .into_iter()
        .zip(values)
        .map(|(name, value)| constant(name, value, Some(&format!("about {name}"))))
        .collect();
    rows.push(constant("MaxPlayers", SqlValue::NULL, None));
    rows
}

/// Fills a `constants` table whose Value column is `value_type`, refreshes once, and checks
/// every field against `expected` (server_status, exp, pvp, pve, color_mob, skill, client).
fn check_column_type(value_type: &str, values: [SqlValue; 7], expected: [f64; 7]) {
    let db = TestDb::with_constants(value_type, &full_table(values));
    let redis = TestRedis::new();
    once_ok(&db, &redis);
    let d = document(&redis);
    let got = [
        d.server_status,
        d.rates.exp,
        d.rates.pvp,
        d.rates.pve,
        d.rates.color_mob,
        d.rates.skill,
        d.client_status,
    ];
    assert_eq!(got, expected, "{value_type}");
    assert!(d.defaulted.is_empty(), "{value_type}: {:?}", d.defaulted);
    assert_eq!(d.schema_version, 1);
    assert_eq!(d.meta.len(), 8);
    assert_eq!(d.meta["RateExp"], "about RateExp");
    assert_eq!(
        d.meta["MaxPlayers"], "",
        "NULL description is published as empty"
    );
}

#[test]
fn double_column() {
    check_column_type(
        "DOUBLE",
        [1.0, 2.5, 3.0, 0.25, 1.75, 10.0, 512.0].map(SqlValue::from),
        [1.0, 2.5, 3.0, 0.25, 1.75, 10.0, 512.0],
    );
}

#[test]
fn int_column() {
    check_column_type(
        "INT",
        [0i64, 2, 3, 4, 5, -6, 512].map(SqlValue::from),
        [0.0, 2.0, 3.0, 4.0, 5.0, -6.0, 512.0],
    );
}

#[test]
fn decimal_column() {
    check_column_type(
        "DECIMAL(10,2)",
        ["1", "2.50", "3.25", "0.10", "1.75", "100", "512"].map(SqlValue::from),
        [1.0, 2.5, 3.25, 0.1, 1.75, 100.0, 512.0],
    );
}

#[test]
fn varchar_number_column() {
    check_column_type(
        "VARCHAR(64)",
        ["1", " 2.5 ", "3e0", "+4", "-0.5", "1e2", "512.000"].map(SqlValue::from),
        [1.0, 2.5, 3.0, 4.0, -0.5, 100.0, 512.0],
    );
}

#[test]
fn varchar_text_and_null_keep_defaults_and_say_so() {
    let db = TestDb::with_constants(
        "VARCHAR(64)",
        &[
            constant("ServerStatus", "включен", Some("Статус")),
            constant("RateExp", "fast", None),
            constant("RatePvp", None::<&str>, None),
            constant("RatePve", "", None),
            constant("RateColorMob", "2", None),
        ],
    );
    let redis = TestRedis::new();
    let output = once_ok(&db, &redis);
    let d = document(&redis);
    assert_eq!(d.server_status, 1.0);
    assert_eq!(d.rates.exp, 1.0);
    assert_eq!(d.rates.pvp, 1.0);
    assert_eq!(d.rates.pve, 1.0);
    assert_eq!(d.rates.color_mob, 2.0, "the numeric row still counts");
    assert_eq!(d.client_status, 256.0);
    // Every mapped constant but RateColorMob, in the document's order.
    let defaulted: Vec<&str> = Field::ALL
        .into_iter()
        .filter(|f| *f != Field::RateColorMob)
        .map(Field::default_constant)
        .collect();
    assert_eq!(d.defaulted, defaulted);
    // One warning per unusable value, naming the constant.
    for name in ["ServerStatus", "RateExp", "RatePvp", "RatePve"] {
        assert!(
            output
                .lines()
                .any(|l| l.contains("WARN") && l.contains(&format!("{name:?}"))),
            "no warning for {name}:\n{output}"
        );
    }
    assert!(!output.contains("\"RateColorMob\" (field"), "{output}");
}

#[test]
fn null_only_column() {
    let db = TestDb::with_constants(
        "DOUBLE",
        &[constant("ServerStatus", SqlValue::NULL, Some("s"))],
    );
    let redis = TestRedis::new();
    once_ok(&db, &redis);
    let d = document(&redis);
    assert_eq!(d.defaulted.len(), 7);
    assert_eq!((d.server_status, d.client_status), (1.0, 256.0));
    assert_eq!(d.meta, meta(&[("ServerStatus", "s")]));
}

#[test]
fn cyrillic_and_emoji_round_trip() {
    let texts = [
        ("ServerStatus", "Статус сервера: включён ✅"),
        ("RateExp", "Рейт опыта 🐉🔥 ×2"),
        ("Привет", "emoji only: 👩‍💻🏳️‍🌈"),
        ("CJK", "服务器状态"),
    ];
    let rows: Vec<_> = texts
        .iter()
        .map(|(n, d)| constant(n, 1.0, Some(d)))
        .collect();
    let db = TestDb::with_constants("DOUBLE", &rows);
    let redis = TestRedis::new();
    once_ok(&db, &redis);
    assert_eq!(document(&redis).meta, meta(&texts));
    let raw = redis.get_string(&redis.status_key()).expect("document");
    assert!(
        raw.contains("Рейт опыта 🐉🔥 ×2"),
        "stored as UTF-8, not escaped: {raw}"
    );
}

#[test]
fn ttl_is_set_and_last_good_never_expires() {
    let db = TestDb::with_constants("DOUBLE", &[constant("RateExp", 3.0, None)]);
    let redis = TestRedis::new();
    let (host, port) = db.host_port();
    // Also covers the DB_* form of the configuration.
    let mut cmd = command(&db, &redis);
    cmd.env_remove("DATABASE_URL")
        .env("DB_HOST", host)
        .env("DB_PORT", port.to_string())
        .env("DB_USER", "root")
        .env("DB_NAME", db.name())
        .env("STATUS_CACHE_TTL", "120")
        .env("STATUS_UPDATE_INTERVAL", "60");
    let (status, output) = once(cmd);
    assert_eq!(status.code(), Some(0), "{output}");
    let ttl = redis.ttl(&redis.status_key());
    assert!((110..=120).contains(&ttl), "ttl {ttl}");
    assert_eq!(
        redis.ttl(&redis.last_good_key()),
        -1,
        "last_good has no TTL"
    );
    assert_eq!(
        redis.get(&redis.status_key()),
        redis.get(&redis.last_good_key()),
        "both keys hold the same document"
    );
    let d = document(&redis);
    assert_eq!((d.ttl_s, d.refresh_interval_s), (120, 60));
    assert_eq!(d.rates.exp, 3.0);
    assert!(
        (unix_now() - d.updated_at).abs() < 30.0,
        "updated_at {}",
        d.updated_at
    );
    assert!(output.contains("result=\"ok\""), "{output}");
    assert!(output.contains("rates.exp=3"), "{output}");
}

#[test]
fn missing_table_exits_non_zero_and_writes_nothing() {
    let db = TestDb::new();
    let redis = TestRedis::new();
    let (status, output) = once(command(&db, &redis));
    assert_eq!(status.code(), Some(1), "{output}");
    assert!(
        output.contains("`constants` table does not exist"),
        "{output}"
    );
    assert_eq!(redis.get(&redis.status_key()), None);
    assert_eq!(redis.get(&redis.last_good_key()), None);

    // With a previous document in place, the failure leaves it exactly as it was.
    redis.set_ex(&redis.status_key(), b"previous", 500);
    redis.set(&redis.last_good_key(), b"previous-good");
    let (status, output) = once(command(&db, &redis));
    assert_eq!(status.code(), Some(1), "{output}");
    assert_eq!(
        redis.get(&redis.status_key()).as_deref(),
        Some(&b"previous"[..])
    );
    assert_eq!(
        redis.get(&redis.last_good_key()).as_deref(),
        Some(&b"previous-good"[..])
    );
}

#[test]
fn empty_table_is_an_error_not_a_document_of_defaults() {
    let db = TestDb::new();
    db.create_constants("DOUBLE");
    let redis = TestRedis::new();
    let (status, output) = once(command(&db, &redis));
    assert_eq!(status.code(), Some(1), "{output}");
    assert!(output.contains("no rows"), "{output}");
    assert_eq!(redis.get(&redis.status_key()), None);
}

#[test]
fn unreachable_database_keeps_the_previous_document() {
    let db = TestDb::with_constants("DOUBLE", &[constant("RateExp", 7.0, Some("x"))]);
    let redis = TestRedis::new();
    once_ok(&db, &redis);
    let before = redis.get(&redis.status_key()).expect("first document");
    let ttl_before = redis.ttl(&redis.status_key());

    let unreachable = format!("mysql://root@127.0.0.1:{}/{}", closed_port(), db.name());
    let mut cmd = command(&db, &redis);
    cmd.env("DATABASE_URL", &unreachable);
    let (status, output) = once(cmd);
    assert_eq!(status.code(), Some(1), "{output}");
    assert!(output.contains("previous document is kept"), "{output}");
    assert_eq!(redis.get(&redis.status_key()), Some(before.clone()));
    assert_eq!(redis.get(&redis.last_good_key()), Some(before.clone()));
    assert!(
        redis.ttl(&redis.status_key()) <= ttl_before,
        "TTL not renewed"
    );

    // The daemon keeps retrying with backoff, still without touching the document, and
    // stops cleanly.
    let mut cmd = command(&db, &redis);
    cmd.env("DATABASE_URL", &unreachable)
        .env("STATUS_UPDATE_INTERVAL", "2");
    let mut child = Child::spawn(cmd);
    let deadline = Instant::now() + SETTLE;
    while child.output().matches("refresh failed").count() < 3 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let output = child.output();
    assert!(
        output.matches("refresh failed").count() >= 3,
        "expected retries:\n{output}"
    );
    assert!(output.contains("retrying with backoff"), "{output}");
    assert_eq!(redis.get(&redis.status_key()), Some(before));
    child.signal(Signal::Term).expect("kill");
    assert_eq!(child.wait(SETTLE).code(), Some(0));
}

/// The distinct `updated_at` values seen while polling the document until there are
/// `want` of them, or for `window`, whichever comes first.
fn observe_updates_until(redis: &TestRedis, want: usize, window: Duration) -> Vec<f64> {
    let mut seen: Vec<f64> = Vec::new();
    let deadline = Instant::now() + window;
    while Instant::now() < deadline && seen.len() < want {
        if let Some(raw) = redis.get(&redis.status_key())
            && let Ok(d) = serde_json::from_slice::<StatusDocument>(&raw)
            && seen.last() != Some(&d.updated_at)
        {
            seen.push(d.updated_at);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    seen
}

/// The distinct `updated_at` values seen while polling the document for `window`.
fn observe_updates(redis: &TestRedis, window: Duration) -> Vec<f64> {
    let mut seen: Vec<f64> = Vec::new();
    let deadline = Instant::now() + window;
    while Instant::now() < deadline {
        if let Some(raw) = redis.get(&redis.status_key())
            && let Ok(d) = serde_json::from_slice::<StatusDocument>(&raw)
            && seen.last() != Some(&d.updated_at)
        {
            seen.push(d.updated_at);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    seen
}

#[test]
fn live_interval_override_is_honoured() {
    let db = TestDb::with_constants("DOUBLE", &[constant("RateExp", 1.0, None)]);
    let redis = TestRedis::new();
    // Out of range (10..=86400): ignored with a warning, the configured 1 s stays.
    redis.set(&redis.interval_key(), "5");
    let mut cmd = command(&db, &redis);
    cmd.env("STATUS_UPDATE_INTERVAL", "1");
    let child = Child::spawn(cmd);
    // Three refreshes, then their spacing by the refresher's own clock: 1 s (plus each
    // refresh's own time), not the ignored 5 s. Counting refreshes in a fixed window would
    // count a busy machine's slow start-up too.
    let fast = observe_updates_until(&redis, 3, SETTLE);
    assert!(
        fast.len() >= 3,
        "1 s cadence expected, saw {fast:?}\n{}",
        child.output()
    );
    for pair in fast.windows(2) {
        assert!(
            pair[1] - pair[0] < 4.0,
            "1 s cadence expected, not the ignored 5 s: {fast:?}\n{}",
            child.output()
        );
    }
    child.expect_output("interval override ignored", Duration::ZERO);
    assert_eq!(document(&redis).refresh_interval_s, 1);

    // In range: the next cycle (within ~1 s) adopts 10 s, then the document stays put.
    redis.set(&redis.interval_key(), "10");
    child.expect_output("refresh interval changed", SETTLE);
    // The change is logged when the cycle reads it; the document carrying it follows.
    assert!(
        wait_until(SETTLE, || document(&redis).refresh_interval_s == 10),
        "the document carries the live interval:\n{}",
        child.output()
    );
    let d = document(&redis);
    let slow = observe_updates(&redis, Duration::from_millis(3000));
    assert_eq!(
        slow,
        [d.updated_at],
        "no refresh within 3 s of a 10 s interval"
    );
}

#[test]
fn bad_configuration_exits_2_naming_the_variable() {
    let secret = "Sup3r-S3cret-Pw";
    let bad_url = format!("postgres://u:{secret}@h/db");
    let db_url_without_db = format!("mysql://root:{secret}@127.0.0.1:3306");
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "STATUS_UPDATE_INTERVAL",
            "abc".into(),
            "STATUS_UPDATE_INTERVAL",
        ),
        (
            "STATUS_UPDATE_INTERVAL",
            "0".into(),
            "STATUS_UPDATE_INTERVAL",
        ),
        ("STATUS_CACHE_TTL", "-5".into(), "STATUS_CACHE_TTL"),
        ("STATUS_TIMEOUT", "0".into(), "STATUS_TIMEOUT"),
        ("STATUS_KEY", "has space".into(), "STATUS_KEY"),
        (
            "STATUS_MAPPING",
            "rates.speed=Speed".into(),
            "STATUS_MAPPING",
        ),
        ("STATUS_META", ",".into(), "STATUS_META"),
        ("REDIS_URL", format!("http://:{secret}@h"), "REDIS_URL"),
        ("DATABASE_URL", bad_url, "DATABASE_URL"),
        ("DATABASE_URL", db_url_without_db, "DATABASE_URL"),
        ("DB_PORT", "70000".into(), "DB_PORT"),
    ];
    let db = TestDb::new();
    let redis = TestRedis::new();
    for (variable, value, named) in cases {
        let mut cmd = command(&db, &redis);
        cmd.env(variable, &value);
        let (status, output) = run(cmd, ONCE_LIMIT);
        assert_eq!(status.code(), Some(2), "{variable}={value}: {output}");
        assert!(output.contains(named), "{variable}={value}: {output}");
        assert!(!output.contains(secret), "password leaked: {output}");
    }

    // No database configured at all.
    let mut cmd = refresher_command();
    cmd.env("REDIS_URL", redis.url());
    let (status, output) = run(cmd, ONCE_LIMIT);
    assert_eq!(status.code(), Some(2), "{output}");
    assert!(
        output.contains("DB_HOST") && output.contains("DATABASE_URL"),
        "{output}"
    );

    // clap's own usage errors use the same code.
    let mut cmd = command(&db, &redis);
    cmd.arg("--no-such-flag");
    assert_eq!(run(cmd, ONCE_LIMIT).0.code(), Some(2));
    assert_eq!(redis.keys(), Vec::<String>::new(), "nothing was written");
}

#[test]
fn passwords_never_appear_in_output() {
    let db = TestDb::with_constants("DOUBLE", &[constant("RateExp", 1.0, None)]);
    let redis = TestRedis::new();
    let db_secret = "Db-Pw-8c1f5e";
    let redis_secret = "Redis-Pw-77aa0b";
    let (host, port) = db.host_port();

    // DATABASE_URL with a wrong password: the server refuses, and the error is logged.
    let mut cmd = command(&db, &redis);
    cmd.env(
        "DATABASE_URL",
        format!("mysql://root:{db_secret}@{host}:{port}/{}", db.name()),
    )
    .env(
        "REDIS_URL",
        format!("redis://:{redis_secret}@127.0.0.1:{}/0", closed_port()),
    )
    .env("RUST_LOG", "trace");
    let (status, output) = once(cmd);
    assert_eq!(status.code(), Some(1), "{output}");
    assert!(output.contains("Access denied"), "{output}");
    assert!(output.contains("mysql://root:***@"), "{output}");
    assert!(output.contains("redis://:***@"), "{output}");

    // DB_PASSWORD form.
    let mut cmd2 = command(&db, &redis);
    cmd2.env_remove("DATABASE_URL")
        .env("DB_HOST", &host)
        .env("DB_PORT", port.to_string())
        .env("DB_USER", "root")
        .env("DB_PASSWORD", db_secret)
        .env("DB_NAME", db.name());
    let (status2, output2) = once(cmd2);
    assert_eq!(status2.code(), Some(1), "{output2}");

    // --help shows the variables but hides their values.
    let mut help = command(&db, &redis);
    help.env("DB_PASSWORD", db_secret)
        .env("REDIS_URL", format!("redis://:{redis_secret}@h"))
        .arg("--help");
    let (status3, output3) = run(help, ONCE_LIMIT);
    assert_eq!(status3.code(), Some(0));
    assert!(output3.contains("DB_PASSWORD"), "{output3}");

    for text in [&output, &output2, &output3] {
        assert!(
            !text.contains(db_secret),
            "database password leaked:\n{text}"
        );
        assert!(
            !text.contains(redis_secret),
            "redis password leaked:\n{text}"
        );
    }
}

#[test]
fn signals_stop_the_daemon_within_5s_with_exit_0() {
    let db = TestDb::with_constants("DOUBLE", &[constant("ServerStatus", 1.0, None)]);
    for (signal, name) in [(Signal::Term, "TERM"), (Signal::Int, "INT")] {
        let redis = TestRedis::new();
        let mut child = Child::spawn(command(&db, &redis));
        child.expect_output("result=\"ok\"", SETTLE);
        let sent = Instant::now();
        child.signal(signal).expect("kill");
        let status = child.wait(Duration::from_secs(5));
        assert_eq!(status.code(), Some(0), "SIG{name}: {}", child.output());
        assert!(sent.elapsed() < Duration::from_secs(5));
        child.expect_output("stopping", Duration::ZERO);
        // The start line carries the effective configuration.
        let out = child.output();
        assert!(out.contains("status-refresher starting"), "{out}");
        assert!(
            out.contains(&format!("key={}", redis.status_key())),
            "{out}"
        );
        assert!(out.contains("interval_s=600"), "{out}");
        assert!(document(&redis).server_status == 1.0);
    }
}

#[test]
fn mapping_and_meta_policy_are_applied() {
    let db = TestDb::with_constants(
        "DOUBLE",
        &[
            constant("ExpRate", 4.0, Some("exp")),
            constant("RateExp", 9.0, Some("old name")),
            constant("Online", 0.0, Some("online")),
            constant("AdminSecret", 1.0, Some("internal")),
        ],
    );
    let redis = TestRedis::new();
    let mut cmd = command(&db, &redis);
    cmd.env("STATUS_MAPPING", "rates.exp=ExpRate,server_status=Online")
        .env("STATUS_META", "mapped");
    let (status, output) = once(cmd);
    assert_eq!(status.code(), Some(0), "{output}");
    let d = document(&redis);
    assert_eq!((d.rates.exp, d.server_status), (4.0, 0.0));
    assert_eq!(d.meta, meta(&[("ExpRate", "exp"), ("Online", "online")]));
}
