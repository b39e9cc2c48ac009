//! Reliability of the refresher against the real services, with faults injected by the
//! test fault proxy (`integration_tests::fault`): two replicas and their lease, stalls,
//! restarts, SIGKILL mid-write, least privilege, hostile table contents, and the health
//! and metrics listener read over real HTTP.
//!
//! Every test has its own database, Redis keys, MySQL users and ports, cleans up after
//! itself, and bounds every wait. See docs/reliability.md for what each test proves.

use std::process::Command;
use std::time::Duration;

use integration_tests::binaries::refresher_for;
use integration_tests::redis::TestRedis;
use status_document::StatusDocument;

mod faults;
mod lease;
mod tables;

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
