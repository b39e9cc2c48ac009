//! The refresher binary against real MariaDB and real Redis.
//!
//! Every test has its own database (`TestDb`) and its own Redis keys (`TestRedis`, passed
//! through STATUS_KEY and STATUS_INTERVAL_KEY), so the tests run in parallel. The binary runs
//! as a child process with a clean environment; every wait is bounded.

use std::collections::BTreeMap;
use std::process::{Command, ExitStatus};
use std::time::Duration;

use integration_tests::binaries::{refresher_for, run};
use integration_tests::db::TestDb;
use integration_tests::redis::TestRedis;
use status_document::StatusDocument;

mod columns;
mod configuration;
mod interval;
mod writes;

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
