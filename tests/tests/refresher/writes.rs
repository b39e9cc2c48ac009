//! What is written and what is not: the TTL and the never-expiring `:last_good`, nothing
//! for a missing or empty table, the previous document kept while the database is away.

use std::time::{Duration, Instant};

use integration_tests::binaries::{Child, Signal};
use integration_tests::db::{TestDb, constant};
use integration_tests::redis::TestRedis;
use integration_tests::unix_now;
use integration_tests::wait::SETTLE;

use super::{closed_port, command, document, once, once_ok};

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
    assert_eq!(d.rates.unwrap().exp, 3.0);
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
