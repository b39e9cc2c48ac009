//! Bad configuration: exit code 2, naming the variable.

use std::time::{Duration, Instant};

use integration_tests::binaries::{Child, Signal, refresher_command, run};
use integration_tests::db::{TestDb, constant};
use integration_tests::redis::TestRedis;
use integration_tests::wait::SETTLE;

use super::{ONCE_LIMIT, closed_port, command, document, meta, once};

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
        assert!(document(&redis).server_status == Some(1.0));
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
    assert_eq!((d.rates.unwrap().exp, d.server_status), (4.0, Some(0.0)));
    assert_eq!(d.meta, meta(&[("ExpRate", "exp"), ("Online", "online")]));
}
