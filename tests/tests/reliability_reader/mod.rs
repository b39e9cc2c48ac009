//! Reliability of the public side and of the whole pipeline, against the real services:
//! least-privilege Redis users (the exact lines of docs/deploy.md's "Least privilege", applied as
//! written), a Redis restart with both halves running, and a bounded chaos run that kills and
//! restarts everything while requests flow.
//!
//! Redis restarts use a throwaway `redis-server` on a free port (`REDIS_SERVER_BIN`, default
//! `redis-server` from `PATH`), never the shared one. ACL users get unique names and are
//! deleted on drop; keys live under the test's own prefix. Every wait is bounded.
//!
//! One module per part: `acl` (the documented users, command by command), `whole_flow` (both
//! halves under those users), `restart` (Redis killed and restarted under both) and `chaos`.
//! What more than one of them uses is here.

mod acl;
mod chaos;
mod restart;
mod whole_flow;

use std::net::SocketAddr;
use std::process::Command;
use std::time::{Duration, Instant};

use bytes::Bytes;
use integration_tests::binaries::{Child, refresher_command};
use integration_tests::reader::{Reply, reader_host_command, spawn_reader_host, try_http_request};

/// Bound on one request in the restart and chaos tests (the host's Redis timeout is 1 s; a
/// request makes at most a connect and two commands).
const REQUEST_LIMIT: Duration = Duration::from_secs(5);

/// Starts the `reader-host` binary (a separate process, as in production; its output, the
/// component's included, is captured) for `redis_address` and `status_key`, with `args`
/// added to its command line.
fn spawn_reader(
    redis_address: &str,
    status_key: &str,
    variables: &[(&str, &str)],
    env: &[(&str, &str)],
    args: &[&str],
) -> (Child, SocketAddr) {
    let mut cmd = reader_host_command();
    cmd.args(args);
    cmd.arg("--variable")
        .arg(format!("redis_address={redis_address}"))
        .arg("--variable")
        .arg(format!("status_key={status_key}"))
        .env("RUST_LOG", "info,reader_host=debug");
    for (name, value) in variables {
        cmd.arg("--variable").arg(format!("{name}={value}"));
    }
    for (name, value) in env {
        cmd.env(name, value);
    }
    spawn_reader_host(cmd, Duration::from_secs(120))
}

/// One GET on a fresh connection, bounded by `limit`; transport failures are `Err`.
async fn try_get(addr: SocketAddr, path: &str, limit: Duration) -> Result<Reply, String> {
    try_http_request(addr, "GET", path, &[], Bytes::new(), limit).await
}

/// Polls the reader until it serves a fresh document from the primary key written after
/// `since` (unix seconds), or `limit` passes. Returns what it last saw on failure.
async fn wait_for_fresh(addr: SocketAddr, since: f64, limit: Duration) -> Result<(), String> {
    let deadline = Instant::now() + limit;
    let mut last = String::new();
    while Instant::now() < deadline {
        match try_get(addr, "/server/status", REQUEST_LIMIT).await {
            Ok(r) if r.status == 200 => {
                let v = r.json();
                if v["_cache"]["fresh"] == true
                    && v["_cache"]["source"] == "primary"
                    && v["updated_at"].as_f64().is_some_and(|t| t >= since)
                {
                    return Ok(());
                }
                last = format!("200 {}", v["_cache"]);
            }
            Ok(r) => last = format!("{} {}", r.status, String::from_utf8_lossy(&r.body)),
            Err(e) => last = e,
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(last)
}

fn daemon_command(db_url: &str, redis_url: &str, key: &str, lease: &str) -> Command {
    let mut cmd = refresher_command();
    cmd.env("DATABASE_URL", db_url)
        .env("REDIS_URL", redis_url)
        .env("STATUS_KEY", key)
        .env("STATUS_INTERVAL_KEY", format!("{key}:interval"))
        .env("STATUS_UPDATE_INTERVAL", "1")
        .env("STATUS_TIMEOUT", "1")
        .env("STATUS_LEASE", lease)
        .env("STATUS_METRICS_ADDR", "");
    cmd
}

fn unique_key() -> String {
    format!("test:{:016x}:server:status", fastrand::u64(..))
}
