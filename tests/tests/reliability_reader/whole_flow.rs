//! The whole flow under the documented ACL users: the refresher writes (`--once` with and
//! without the lease, the daemon), the publisher nudges, the reader reads, and no password
//! shows in any output or response.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;

use bytes::Bytes;
use integration_tests::binaries::{Child, Signal, refresher_command, refresher_for, run};
use integration_tests::db::{TestDb, constant};
use integration_tests::reader::{Reply, http_request};
use integration_tests::redis::TestRedis;
use integration_tests::wait::{SETTLE, wait_until};
use status_document::{DocumentView, StatusDocument};

use super::acl::{AclUser, assert_dry_run_denied};
use integration_tests::percent_encode;

use super::spawn_reader;

const ONCE_LIMIT: Duration = Duration::from_secs(30);

fn stored(redis: &TestRedis) -> Option<StatusDocument> {
    redis
        .get(&redis.status_key())
        .map(|raw| serde_json::from_slice(&raw).expect("stored value is not a document"))
}

/// The forms a secret could take in output: as is, and percent-encoded.
fn secret_forms(secret: &str) -> Vec<String> {
    let mut forms = vec![secret.to_owned(), percent_encode(secret)];
    forms.dedup();
    forms
}

fn assert_no_secret(haystack: &str, secret: &str, whose: &str) {
    for form in secret_forms(secret) {
        assert!(
            !haystack.contains(&form),
            "{whose} contains the password ({form}):\n{haystack}"
        );
    }
}

fn assert_reply_has_no_secret(reply: &Reply, secret: &str) {
    let mut all = String::from_utf8_lossy(&reply.body).into_owned();
    for (name, value) in &reply.headers {
        all.push_str(&format!(
            "\n{name}: {}",
            String::from_utf8_lossy(value.as_bytes())
        ));
    }
    assert_no_secret(&all, secret, "a reader response");
}

/// Starts the `reader-host` binary for `redis`'s status key as `user`, with the password in
/// `SPIN_VARIABLE_REDIS_PASSWORD` (as an operator should pass it) and debug logging.
fn spawn_reader_host(redis: &TestRedis, user: &str, password: &str) -> (Child, SocketAddr) {
    spawn_reader(
        &redis.url(),
        &redis.status_key(),
        &[("redis_user", user)],
        &[("SPIN_VARIABLE_REDIS_PASSWORD", password)],
        // Each answer below is judged once, so a Redis call that a busy machine keeps waiting
        // on the CPU past reader-host's 1 s default must not turn into a 503 here.
        &["--redis-timeout-ms", "5000"],
    )
}

/// The refresher on `db`, connecting to Redis with `redis_url` (a user's), under `redis`'s keys.
fn refresher(db: &TestDb, redis_url: &str, redis: &TestRedis) -> Command {
    let mut cmd = refresher_for(&db.url(), redis_url, redis);
    cmd.env("STATUS_METRICS_ADDR", "")
        .env("STATUS_TIMEOUT", "2");
    cmd
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whole_flow_runs_under_the_acl_users() {
    let db = TestDb::with_constants(
        "DOUBLE",
        &[
            constant("RateExp", 4.0, Some("Рейт опыта")),
            constant("ServerStatus", 1.0, None),
        ],
    );
    let redis = TestRedis::new();
    // The live override (not the daemon's 1 s, so reading it shows), long enough that the
    // document stays fresh through the reader's start-up below on a busy machine: /health
    // is 200 only while it is.
    redis.set(&redis.interval_key(), "300");
    let reader_pw = format!("Rd-{:016x}:p@ss/w%rd", fastrand::u64(..));
    let refresher_pw = format!("Wr-{:016x}", fastrand::u64(..));
    let reader_user = AclUser::create(&redis, "status-reader", &reader_pw);
    let refresher_user = AclUser::create(&redis, "status-refresher", &refresher_pw);
    let refresher_url = refresher_user.url();
    assert!(refresher_url.ends_with("/0"), "{refresher_url}");

    // 1.–2. `--once`, with and without the lease.
    let mut outputs = once_writes(&db, &refresher_url, &redis);
    // 3. The daemon, and the publisher's nudge.
    outputs.push(daemon_writes_and_hears_the_publisher(
        &db,
        &refresher_url,
        &redis,
    ));
    for out in &outputs {
        assert_no_secret(out, &refresher_pw, "refresher output");
        assert!(!out.contains("NOPERM"), "{out}");
    }

    // 4. The reader, as the reader user.
    reader_reads_as_the_reader_user(&redis, &reader_user, &reader_pw).await;

    // Neither half had a command denied along the way.
    assert_eq!(reader_user.acl_log(), Vec::<BTreeMap<_, _>>::new());
    assert_eq!(refresher_user.acl_log(), Vec::<BTreeMap<_, _>>::new());

    // 5. A wrong password.
    wrong_password_is_a_clean_503(&redis, &reader_user, &reader_pw).await;
}

/// Steps 1 and 2: `--once` with the lease on (the default: the guarded-write script), then
/// without it (MULTI/SET/SET/EXEC); each must store the table's current rate. Returns both
/// outputs, for the secret check.
fn once_writes(db: &TestDb, refresher_url: &str, redis: &TestRedis) -> Vec<String> {
    let mut outputs = Vec::new();
    let mut cmd = refresher(db, refresher_url, redis);
    cmd.arg("--once");
    let (status, out) = tokio::task::block_in_place(|| run(cmd, ONCE_LIMIT));
    assert_eq!(status.code(), Some(0), "{out}");
    assert_eq!(stored(redis).unwrap().rates.unwrap().exp, 4.0);
    outputs.push(out);

    db.exec("UPDATE constants SET Value = 5 WHERE Name = 'RateExp'");
    let mut cmd = refresher(db, refresher_url, redis);
    cmd.env("STATUS_LEASE", "0").arg("--once");
    let (status, out) = tokio::task::block_in_place(|| run(cmd, ONCE_LIMIT));
    assert_eq!(status.code(), Some(0), "{out}");
    assert_eq!(stored(redis).unwrap().rates.unwrap().exp, 5.0);
    outputs.push(out);
    outputs
}

/// Step 3: the daemon acquires the lease, reads the interval override, writes, hears the
/// publisher's nudge, and releases the lease on SIGTERM. Returns its output.
fn daemon_writes_and_hears_the_publisher(
    db: &TestDb,
    refresher_url: &str,
    redis: &TestRedis,
) -> String {
    db.exec("UPDATE constants SET Value = 6 WHERE Name = 'RateExp'");
    let lock = status_document::keys::lock_key(&redis.status_key());
    let mut cmd = refresher(db, refresher_url, redis);
    cmd.env("STATUS_UPDATE_INTERVAL", "1");
    let mut daemon = Child::spawn(cmd);
    let wrote = tokio::task::block_in_place(|| {
        wait_until(SETTLE, || {
            stored(redis).is_some_and(|d| d.rates.unwrap().exp == 6.0) && redis.get(&lock).is_some()
        })
    });
    assert!(
        wrote,
        "daemon did not write under the ACL:\n{}",
        daemon.output()
    );
    assert!(
        daemon.wait_for_output("refresh interval changed", SETTLE),
        "the interval override was not read:\n{}",
        daemon.output()
    );
    publisher_is_heard_and_confined(redis, &daemon);
    daemon.signal(Signal::Term).expect("kill");
    let status = tokio::task::block_in_place(|| daemon.wait(SETTLE));
    assert!(status.success(), "{status:?}\n{}", daemon.output());
    assert!(
        redis.get(&lock).is_none(),
        "lease not released:\n{}",
        daemon.output()
    );
    daemon.output()
}

/// The daemon subscribes to the refresh channel; the publisher user's `refresh-now
/// --wait` is heard (one subscriber) and sees the document move, without its password
/// in the output, and the publisher may do nothing else.
fn publisher_is_heard_and_confined(redis: &TestRedis, daemon: &Child) {
    let publisher_pw = format!("Pb-{:016x}", fastrand::u64(..));
    let publisher = AclUser::create(redis, "status-publisher", &publisher_pw);
    let mut cmd = refresher_command();
    cmd.env("REDIS_URL", publisher.url())
        .env("STATUS_KEY", redis.status_key())
        .args(["refresh-now", "--wait"]);
    let (status, out) = tokio::task::block_in_place(|| run(cmd, ONCE_LIMIT));
    assert!(status.success(), "{out}\n{}", daemon.output());
    assert!(out.contains("refreshed: updated_at="), "{out}");
    assert_no_secret(&out, &publisher_pw, "refresh-now output");
    let other_channel = format!("{}:other", redis.status_key());
    assert_dry_run_denied(&publisher, &["PUBLISH", &other_channel, "x"]);
    assert_dry_run_denied(&publisher, &["SET", &redis.status_key(), "x"]);
    assert_dry_run_denied(
        &publisher,
        &["SUBSCRIBE", &format!("{}:refresh", redis.status_key())],
    );
    assert_eq!(publisher.acl_log(), Vec::<BTreeMap<_, _>>::new());
}

/// Step 4: reader-host as the reader user serves the primary document, its debug view (TTL
/// allowed) and a healthy /health, then the last-good copy once the primary is gone;
/// neither its replies nor its output show the password.
async fn reader_reads_as_the_reader_user(
    redis: &TestRedis,
    reader_user: &AclUser,
    reader_pw: &str,
) {
    let (host, addr) =
        tokio::task::block_in_place(|| spawn_reader_host(redis, &reader_user.name, reader_pw));
    let reply = http_request(addr, "GET", "/server/status", &[], Bytes::new()).await;
    assert_eq!(reply.status, 200, "{:?}\n{}", reply.body, host.output());
    let view = DocumentView::parse(&reply.body).expect("a valid document");
    assert_eq!(view.rates.unwrap().exp, 6.0);
    assert_eq!(reply.json()["_cache"]["source"], "primary");
    assert_reply_has_no_secret(&reply, reader_pw);

    let debug = http_request(addr, "GET", "/server/status/debug", &[], Bytes::new()).await;
    assert_eq!(debug.status, 200, "{:?}", debug.body);
    let ttl = debug.json()["ttl"].as_i64();
    assert!(ttl.is_some_and(|t| t > 0), "TTL denied? {:?}", debug.body);
    assert_reply_has_no_secret(&debug, reader_pw);

    let health = http_request(addr, "GET", "/health", &[], Bytes::new()).await;
    assert_eq!(health.status, 200, "{:?}", health.body);
    assert_eq!(health.json()["status"], "ok");

    // The last-good copy, read only when the primary is gone.
    redis.del(&redis.status_key());
    let reply = http_request(addr, "GET", "/server/status", &[], Bytes::new()).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(reply.json()["_cache"]["source"], "last_good");
    let debug = http_request(addr, "GET", "/server/status/debug", &[], Bytes::new()).await;
    assert_eq!(debug.json()["ttl"], -1, "{:?}", debug.body);
    let mut host = host;
    host.signal(Signal::Int).expect("kill");
    tokio::task::block_in_place(|| host.wait(Duration::from_secs(10)));
    assert_no_secret(&host.output(), reader_pw, "reader-host output");
}

/// Step 5: a wrong password is a clean 503, Redis saw a failed AUTH, the failure is logged,
/// and neither the wrong nor the right password is anywhere.
async fn wrong_password_is_a_clean_503(redis: &TestRedis, reader_user: &AclUser, reader_pw: &str) {
    let wrong_pw = format!("Bad-{:016x}/x", fastrand::u64(..));
    let (mut wrong, addr) =
        tokio::task::block_in_place(|| spawn_reader_host(redis, &reader_user.name, &wrong_pw));
    let reply = http_request(addr, "GET", "/server/status", &[], Bytes::new()).await;
    assert_eq!(reply.status, 503, "{:?}", reply.body);
    assert_eq!(reply.json()["error"], "redis_unavailable");
    assert_reply_has_no_secret(&reply, &wrong_pw);
    let log = reader_user.acl_log();
    assert!(
        !log.is_empty() && log.iter().all(|e| e["reason"] == "auth"),
        "{log:?}"
    );
    wrong.signal(Signal::Int).expect("kill");
    tokio::task::block_in_place(|| wrong.wait(Duration::from_secs(10)));
    let out = wrong.output();
    assert!(
        out.contains("redis"),
        "the failure should be logged:\n{out}"
    );
    assert_no_secret(&out, &wrong_pw, "reader-host output");
    assert_no_secret(&out, reader_pw, "reader-host output");
}
