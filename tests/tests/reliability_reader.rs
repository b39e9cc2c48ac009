//! Reliability of the public side and of the whole pipeline, against the real services:
//! least-privilege Redis users (the exact lines of README.md's "Least privilege", applied as
//! written), a Redis restart with both halves running, and a bounded chaos run that kills and
//! restarts everything while requests flow.
//!
//! Redis restarts use a throwaway `redis-server` on a free port (`REDIS_SERVER_BIN`, default
//! `redis-server` from `PATH`), never the shared one. ACL users get unique names and are
//! deleted on drop; keys live under the test's own prefix. Every wait is bounded.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use dev_support::servers::{Server, Throwaway};
use integration_tests::acl::test_name;
use integration_tests::binaries::{Child, Signal, refresher_command, run, workspace_root};
use integration_tests::db::{self, TestDb, constant};
use integration_tests::fault::{FaultProxy, Mode};
use integration_tests::reader::{
    Reply, http_request, listening_addr, reader_host_command, try_http_request,
};
use integration_tests::redis::{TestRedis, server_url};
use integration_tests::wait::wait_until;
use redis::{Commands, Connection, RedisError, RedisResult, Value};
use status_document::{DocumentView, StatusDocument};

const ONCE_LIMIT: Duration = Duration::from_secs(30);
/// Bound on one request in the restart and chaos tests (the host's Redis timeout is 1 s; a
/// request makes at most a connect and two commands).
const REQUEST_LIMIT: Duration = Duration::from_secs(5);

// ---------------------------------------------------------------------------------------
// The documented ACL lines, applied to the real Redis
// ---------------------------------------------------------------------------------------

/// The document whose `ACL SETUSER` lines the tests apply.
fn acl_doc() -> PathBuf {
    workspace_root().join("README.md")
}

/// The tokens of the documented `ACL SETUSER <role> ...` line (exactly one must exist).
fn documented_acl(role: &str) -> Vec<String> {
    let path = acl_doc();
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let prefix = format!("ACL SETUSER {role} ");
    let lines: Vec<&str> = text.lines().filter(|l| l.starts_with(&prefix)).collect();
    assert_eq!(
        lines.len(),
        1,
        "{} must have exactly one `{prefix}...` line",
        path.display()
    );
    lines[0].split_whitespace().map(str::to_owned).collect()
}

/// A Redis ACL user made from the documented line for `role`, with its user name, password
/// and key names replaced by the test's own; deleted on drop.
struct AclUser {
    name: String,
    password: String,
    admin: TestRedisAdmin,
}

/// A default-user connection factory (the same server as [`TestRedis`]).
#[derive(Clone)]
struct TestRedisAdmin(redis::Client);

impl TestRedisAdmin {
    fn new() -> TestRedisAdmin {
        TestRedisAdmin(redis::Client::open(server_url()).expect("SERVER_STATUS_TEST_REDIS"))
    }

    fn conn(&self) -> Connection {
        timed(&self.0)
    }
}

/// A connection with connect/read/write timeouts.
fn timed(client: &redis::Client) -> Connection {
    let limit = Duration::from_secs(5);
    let conn = client
        .get_connection_with_timeout(limit)
        .expect("cannot connect to Redis");
    conn.set_read_timeout(Some(limit)).unwrap();
    conn.set_write_timeout(Some(limit)).unwrap();
    conn
}

impl AclUser {
    fn create(redis: &TestRedis, role: &str, password: &str) -> AclUser {
        let tokens = documented_acl(role);
        let name = format!("ss-{role}-{:012x}", fastrand::u64(..) >> 16);
        let mut cmd = redis::cmd("ACL");
        cmd.arg("SETUSER");
        for token in &tokens[2..] {
            let token = if token == role {
                name.clone()
            } else if let Some(placeholder) = token.strip_prefix('>') {
                assert!(
                    placeholder.ends_with("_PASSWORD"),
                    "documented password should be a placeholder: {token}"
                );
                format!(">{password}")
            } else if let Some(channel) = token.strip_prefix('&') {
                format!("&{}", test_name(redis, channel))
            } else if let Some(tilde) = token.find('~') {
                let (permission, pattern) = (&token[..tilde], &token[tilde + 1..]);
                format!("{permission}~{}", test_name(redis, pattern))
            } else {
                token.clone()
            };
            cmd.arg(token);
        }
        let admin = TestRedisAdmin::new();
        let () = cmd
            .query(&mut admin.conn())
            .unwrap_or_else(|e| panic!("documented {role} line refused: {e}"));
        AclUser {
            name,
            password: password.to_owned(),
            admin,
        }
    }

    /// `redis://<name>:<password>@host:port/0` for the test server.
    fn url(&self) -> String {
        with_userinfo(&server_url(), &self.name, &self.password)
    }

    fn conn(&self) -> Connection {
        timed(&redis::Client::open(self.url()).expect("user URL"))
    }

    /// `ACL DRYRUN <user> <args...>`: `Ok(())` if permitted, else Redis' explanation. Used
    /// for commands that must not actually run on the shared server if the ACL were wrong.
    fn dry_run(&self, args: &[&str]) -> Result<(), String> {
        let mut cmd = redis::cmd("ACL");
        cmd.arg("DRYRUN").arg(&self.name).arg(args);
        match cmd.query::<Value>(&mut self.admin.conn()) {
            Ok(Value::Okay) => Ok(()),
            Ok(Value::SimpleString(s)) if s == "OK" => Ok(()),
            Ok(other) => Err(text(&other).join(" ")),
            Err(e) => Err(e.to_string()),
        }
    }

    /// The `ACL LOG` entries of this user, as key=value maps.
    fn acl_log(&self) -> Vec<BTreeMap<String, String>> {
        let log: Value = redis::cmd("ACL")
            .arg("LOG")
            .arg(256)
            .query(&mut self.admin.conn())
            .expect("ACL LOG");
        let Value::Array(entries) = log else {
            panic!("ACL LOG is not an array: {log:?}")
        };
        entries
            .iter()
            .map(|entry| {
                let fields = text(entry);
                fields
                    .chunks(2)
                    .filter_map(|kv| Some((kv.first()?.clone(), kv.get(1)?.clone())))
                    .collect::<BTreeMap<_, _>>()
            })
            .filter(|e| e.get("username") == Some(&self.name))
            .collect()
    }
}

impl Drop for AclUser {
    fn drop(&mut self) {
        let deleted: RedisResult<i64> = redis::cmd("ACL")
            .arg("DELUSER")
            .arg(&self.name)
            .query(&mut self.admin.conn());
        if deleted.is_err() {
            eprintln!("warning: could not delete ACL user {}", self.name);
        }
    }
}

/// `scheme://user:password@host:port/0` from `scheme://host:port[/db]` (both percent-encoded).
fn with_userinfo(url: &str, user: &str, password: &str) -> String {
    let (scheme, rest) = url.split_once("://").expect("URL with a scheme");
    let authority = rest.split('/').next().unwrap_or(rest);
    let host = authority.rsplit('@').next().unwrap_or(authority);
    format!(
        "{scheme}://{}:{}@{host}/0",
        percent_encode(user),
        percent_encode(password)
    )
}

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Every string in a reply, depth first (for ACL LOG entries and DRYRUN answers).
fn text(v: &Value) -> Vec<String> {
    let mut out = Vec::new();
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::BulkString(b) => out.push(String::from_utf8_lossy(b).into_owned()),
            Value::SimpleString(s) => out.push(s.clone()),
            Value::Okay => out.push("OK".into()),
            Value::Int(i) => out.push(i.to_string()),
            Value::Double(d) => out.push(d.to_string()),
            Value::Array(items) | Value::Set(items) => items.iter().for_each(|i| walk(i, out)),
            Value::Map(pairs) => pairs.iter().for_each(|(k, v)| {
                walk(k, out);
                walk(v, out);
            }),
            Value::VerbatimString { text, .. } => out.push(text.clone()),
            Value::Nil => out.push(String::new()),
            other => out.push(format!("{other:?}")),
        }
    }
    walk(v, &mut out);
    out
}

fn is_noperm(e: &RedisError) -> bool {
    e.code() == Some("NOPERM") || e.to_string().contains("NOPERM")
}

/// Runs `cmd` as `conn`'s user and asserts Redis refused it for lack of permission.
fn assert_denied(conn: &mut Connection, cmd: &redis::Cmd, what: &str) {
    match cmd.query::<Value>(conn) {
        Err(e) if is_noperm(&e) => {}
        other => panic!("{what}: expected NOPERM, got {other:?}"),
    }
}

fn assert_dry_run_denied(user: &AclUser, args: &[&str]) {
    if let Ok(()) = user.dry_run(args) {
        panic!("{} may run {args:?}", user.name);
    }
}

fn cmd(args: &[&str]) -> redis::Cmd {
    let mut c = redis::cmd(args[0]);
    c.arg(&args[1..]);
    c
}

#[test]
fn acl_reader_user_reads_only_the_status_keys() {
    let redis = TestRedis::new();
    let (status, last_good) = (redis.status_key(), redis.last_good_key());
    let (interval, lock, other) = (
        redis.interval_key(),
        status_document::keys::lock_key(&status),
        redis.key("other"),
    );
    redis.set(&status, "primary-bytes");
    redis.set(&last_good, "last-good-bytes");
    redis.set(&interval, "600");
    redis.set(&lock, "token");
    redis.set(&other, "someone else's");

    let user = AclUser::create(
        &redis,
        "status-reader",
        &format!("Rd-{:016x}:p@ss/w%rd", fastrand::u64(..)),
    );
    let mut c = user.conn();

    // What the reader does: GET both keys, TTL (debug endpoint).
    let got: Option<String> = c.get(&status).unwrap();
    assert_eq!(got.as_deref(), Some("primary-bytes"));
    let got: Option<String> = c.get(&last_good).unwrap();
    assert_eq!(got.as_deref(), Some("last-good-bytes"));
    let ttl: i64 = c.ttl(&status).unwrap();
    assert_eq!(ttl, -1);

    // Writes to its own keys.
    for (args, what) in [
        (vec!["SET", &status, "x"], "SET status"),
        (vec!["SET", &last_good, "x"], "SET last_good"),
        (vec!["DEL", &status], "DEL status"),
        (vec!["EXPIRE", &status, "1"], "EXPIRE status"),
        (vec!["GETDEL", &status], "GETDEL status"),
        (vec!["APPEND", &status, "x"], "APPEND status"),
    ] {
        assert_denied(&mut c, &cmd(&args), what);
    }
    // Reads of anything else, enumeration, scripting, pub/sub, admin.
    for (args, what) in [
        (vec!["GET", &interval], "GET interval key"),
        (vec!["GET", &lock], "GET lock"),
        (vec!["GET", &other], "GET another key"),
        (vec!["GET", "server:status"], "GET the production key"),
        (vec!["KEYS", "*"], "KEYS"),
        (vec!["SCAN", "0"], "SCAN"),
        (vec!["EVAL", "return 1", "0"], "EVAL"),
        (vec!["PUBLISH", "channel", "x"], "PUBLISH"),
        (vec!["CONFIG", "GET", "maxmemory"], "CONFIG GET"),
        (vec!["SELECT", "1"], "SELECT"),
        (vec!["INFO"], "INFO"),
        (vec!["CLIENT", "LIST"], "CLIENT LIST"),
    ] {
        assert_denied(&mut c, &cmd(&args), what);
    }
    // Destructive commands are only dry-run: a wrong ACL must not wipe the shared server.
    for args in [
        vec!["FLUSHALL"],
        vec!["FLUSHDB"],
        vec!["CONFIG", "SET", "maxmemory", "1"],
        vec!["SCRIPT", "FLUSH"],
        vec!["SHUTDOWN"],
        vec!["SUBSCRIBE", "channel"],
        vec!["ACL", "SETUSER", "x"],
        vec!["SET", &status, "x"],
    ] {
        assert_dry_run_denied(&user, &args);
    }
    assert_eq!(user.dry_run(&["GET", &status]), Ok(()));

    // Nothing changed, and Redis recorded the denials under this user.
    assert_eq!(redis.get_string(&status).as_deref(), Some("primary-bytes"));
    assert_eq!(redis.ttl(&status), -1);
    assert_eq!(
        redis.get_string(&last_good).as_deref(),
        Some("last-good-bytes")
    );
    let log = user.acl_log();
    assert!(
        log.iter()
            .any(|e| e.get("reason").map(String::as_str) == Some("command")),
        "{log:?}"
    );
    assert!(
        log.iter()
            .any(|e| e.get("reason").map(String::as_str) == Some("key")),
        "{log:?}"
    );
}

#[test]
fn acl_refresher_user_writes_only_its_keys() {
    let redis = TestRedis::new();
    let (status, last_good) = (redis.status_key(), redis.last_good_key());
    let (interval, lock, other) = (
        redis.interval_key(),
        status_document::keys::lock_key(&status),
        redis.key("other"),
    );
    redis.set(&interval, "600");
    redis.set(&other, "someone else's");

    let user = AclUser::create(
        &redis,
        "status-refresher",
        &format!("Wr-{:016x}", fastrand::u64(..)),
    );
    let mut c = user.conn();

    // The plain write (STATUS_LEASE=0): MULTI / SET EX / SET / EXEC.
    let () = redis::pipe()
        .atomic()
        .cmd("SET")
        .arg(&status)
        .arg("v1")
        .arg("EX")
        .arg(900)
        .ignore()
        .cmd("SET")
        .arg(&last_good)
        .arg("v1")
        .ignore()
        .query(&mut c)
        .expect("MULTI/SET/SET/EXEC");
    assert_eq!(redis.get_string(&last_good).as_deref(), Some("v1"));
    // The interval override: read.
    let got: Option<String> = c.get(&interval).unwrap();
    assert_eq!(got.as_deref(), Some("600"));
    // Lease acquire: SET NX PX, GET, PTTL.
    let (set, holder, pttl): (Option<String>, Option<String>, i64) = redis::pipe()
        .cmd("SET")
        .arg(&lock)
        .arg("tok")
        .arg("NX")
        .arg("PX")
        .arg(30_000)
        .cmd("GET")
        .arg(&lock)
        .cmd("PTTL")
        .arg(&lock)
        .query(&mut c)
        .expect("lease acquire");
    assert_eq!(
        (set.as_deref(), holder.as_deref()),
        (Some("OK"), Some("tok"))
    );
    assert!(pttl > 0, "{pttl}");
    // The refresher's own guarded-write script, unknown to the server until now (a unique
    // comment changes its SHA), so this goes EVALSHA -> NOSCRIPT -> SCRIPT LOAD -> EVALSHA.
    let fresh = format!(
        "-- {:016x}\n{}",
        fastrand::u64(..),
        status_refresher::sink::GUARDED_WRITE
    );
    let written: i64 = redis::Script::new(&fresh)
        .key(&status)
        .key(&last_good)
        .key(&lock)
        .arg("tok")
        .arg("v2")
        .arg(900)
        .arg(30_000)
        .arg("0")
        .invoke(&mut c)
        .expect("guarded write under the ACL");
    assert_eq!(written, 1);
    assert_eq!(redis.get_string(&status).as_deref(), Some("v2"));
    assert_eq!(redis.get_string(&last_good).as_deref(), Some("v2"));
    // Lease release (the compare-and-delete script's DEL).
    let released: i64 = redis::Script::new(&format!(
        "-- {:016x}\nif redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0",
        fastrand::u64(..)
    ))
    .key(&lock)
    .arg("tok")
    .invoke(&mut c)
    .expect("lease release under the ACL");
    assert_eq!(released, 1);

    // Outside its keys, directly...
    for (args, what) in [
        (vec!["SET", &interval, "10"], "SET interval key"),
        (vec!["DEL", &interval], "DEL interval key"),
        (vec!["GET", &other], "GET another key"),
        (vec!["SET", &other, "x"], "SET another key"),
        (vec!["DEL", &other], "DEL another key"),
        (vec!["GET", "server:status"], "GET the production key"),
        (vec!["KEYS", "*"], "KEYS"),
        (vec!["EVAL", "return 1", "0"], "EVAL"),
        (vec!["CONFIG", "GET", "maxmemory"], "CONFIG GET"),
        (vec!["SELECT", "1"], "SELECT"),
        (vec!["HSET", &status, "f", "v"], "HSET"),
    ] {
        assert_denied(&mut c, &cmd(&args), what);
    }
    // ...or from a script: another key declared in KEYS, or reached through ARGV.
    let sneaky_read = redis::Script::new(&format!(
        "-- {:016x}\nreturn redis.call('GET', KEYS[1])",
        fastrand::u64(..)
    ));
    match sneaky_read.key(&other).invoke::<Value>(&mut c) {
        Err(e) if is_noperm(&e) => {}
        other => panic!("script read another key: {other:?}"),
    }
    let sneaky_write = redis::Script::new(&format!(
        "-- {:016x}\nredis.call('SET', ARGV[1], 'x') return 1",
        fastrand::u64(..)
    ));
    match sneaky_write
        .key(&status)
        .arg(&other)
        .invoke::<Value>(&mut c)
    {
        // Inside a script Redis words the key denial differently.
        Err(e)
            if is_noperm(&e)
                || e.to_string()
                    .contains("can't access at least one of the keys") => {}
        other => panic!("script wrote an undeclared key: {other:?}"),
    }
    for args in [
        vec!["FLUSHALL"],
        vec!["FLUSHDB"],
        vec!["SCRIPT", "FLUSH"],
        vec!["SCRIPT", "KILL"],
        vec!["CONFIG", "SET", "maxmemory", "1"],
        vec!["SHUTDOWN"],
        vec!["ACL", "SETUSER", "x"],
        vec!["SET", &interval, "10"],
    ] {
        assert_dry_run_denied(&user, &args);
    }
    assert_eq!(redis.get_string(&other).as_deref(), Some("someone else's"));
    assert_eq!(redis.get_string(&interval).as_deref(), Some("600"));
    assert!(!user.acl_log().is_empty());
}

// ---------------------------------------------------------------------------------------
// The whole flow under the ACL users
// ---------------------------------------------------------------------------------------

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
    )
}

/// Starts the `reader-host` binary (a separate process, as in production; its output, the
/// component's included, is captured) for `redis_address` and `status_key`.
fn spawn_reader(
    redis_address: &str,
    status_key: &str,
    variables: &[(&str, &str)],
    env: &[(&str, &str)],
) -> (Child, SocketAddr) {
    let mut cmd = reader_host_command();
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
    let child = Child::spawn(cmd);
    assert!(
        child.wait_for_output("listening on http://", Duration::from_secs(120)),
        "reader-host did not start:\n{}",
        child.output()
    );
    let addr = listening_addr(&child.output()).expect("listening address");
    (child, addr)
}

fn refresher_env(cmd: &mut Command, db: &TestDb, redis_url: &str, redis: &TestRedis) {
    cmd.env("DATABASE_URL", db.url())
        .env("REDIS_URL", redis_url)
        .env("STATUS_KEY", redis.status_key())
        .env("STATUS_INTERVAL_KEY", redis.interval_key())
        .env("STATUS_METRICS_ADDR", "")
        .env("STATUS_TIMEOUT", "2");
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
    redis.set(&redis.interval_key(), "20");
    let reader_pw = format!("Rd-{:016x}:p@ss/w%rd", fastrand::u64(..));
    let refresher_pw = format!("Wr-{:016x}", fastrand::u64(..));
    let reader_user = AclUser::create(&redis, "status-reader", &reader_pw);
    let refresher_user = AclUser::create(&redis, "status-refresher", &refresher_pw);
    let refresher_url = refresher_user.url();
    assert!(refresher_url.ends_with("/0"), "{refresher_url}");

    // 1. `--once` with the lease on (the default): the guarded-write script.
    let mut outputs = Vec::new();
    let mut cmd = refresher_command();
    refresher_env(&mut cmd, &db, &refresher_url, &redis);
    cmd.arg("--once");
    let (status, out) = tokio::task::block_in_place(|| run(cmd, ONCE_LIMIT));
    assert_eq!(status.code(), Some(0), "{out}");
    assert_eq!(stored(&redis).unwrap().rates.exp, 4.0);
    outputs.push(out);

    // 2. `--once` without the lease: MULTI/SET/SET/EXEC.
    db.exec("UPDATE constants SET Value = 5 WHERE Name = 'RateExp'");
    let mut cmd = refresher_command();
    refresher_env(&mut cmd, &db, &refresher_url, &redis);
    cmd.env("STATUS_LEASE", "0").arg("--once");
    let (status, out) = tokio::task::block_in_place(|| run(cmd, ONCE_LIMIT));
    assert_eq!(status.code(), Some(0), "{out}");
    assert_eq!(stored(&redis).unwrap().rates.exp, 5.0);
    outputs.push(out);

    // 3. The daemon: acquires the lease, reads the interval override, writes, and releases
    //    the lease on SIGTERM.
    db.exec("UPDATE constants SET Value = 6 WHERE Name = 'RateExp'");
    let lock = status_document::keys::lock_key(&redis.status_key());
    let mut cmd = refresher_command();
    refresher_env(&mut cmd, &db, &refresher_url, &redis);
    cmd.env("STATUS_UPDATE_INTERVAL", "1");
    let mut daemon = Child::spawn(cmd);
    let wrote = tokio::task::block_in_place(|| {
        wait_until(Duration::from_secs(15), || {
            stored(&redis).is_some_and(|d| d.rates.exp == 6.0) && redis.get(&lock).is_some()
        })
    });
    assert!(
        wrote,
        "daemon did not write under the ACL:\n{}",
        daemon.output()
    );
    assert!(
        daemon.wait_for_output("refresh interval changed", Duration::from_secs(5)),
        "the interval override was not read:\n{}",
        daemon.output()
    );
    // The daemon subscribes to the refresh channel; the publisher user's `refresh-now
    // --wait` is heard (one subscriber) and sees the document move.
    let publisher_pw = format!("Pb-{:016x}", fastrand::u64(..));
    let publisher = AclUser::create(&redis, "status-publisher", &publisher_pw);
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
    daemon.signal(Signal::Term).expect("kill");
    let status = tokio::task::block_in_place(|| daemon.wait(Duration::from_secs(10)));
    assert!(status.success(), "{status:?}\n{}", daemon.output());
    assert!(
        redis.get(&lock).is_none(),
        "lease not released:\n{}",
        daemon.output()
    );
    outputs.push(daemon.output());
    for out in &outputs {
        assert_no_secret(out, &refresher_pw, "refresher output");
        assert!(!out.contains("NOPERM"), "{out}");
    }

    // 4. The reader, as the reader user.
    let (host, addr) =
        tokio::task::block_in_place(|| spawn_reader_host(&redis, &reader_user.name, &reader_pw));
    let reply = http_request(addr, "GET", "/server/status", &[], Bytes::new()).await;
    assert_eq!(reply.status, 200, "{:?}\n{}", reply.body, host.output());
    let view = DocumentView::parse(&reply.body).expect("a valid document");
    assert_eq!(view.rates.exp, 6.0);
    assert_eq!(reply.json()["_cache"]["source"], "primary");
    assert_reply_has_no_secret(&reply, &reader_pw);

    let debug = http_request(addr, "GET", "/server/status/debug", &[], Bytes::new()).await;
    assert_eq!(debug.status, 200, "{:?}", debug.body);
    let ttl = debug.json()["ttl"].as_i64();
    assert!(ttl.is_some_and(|t| t > 0), "TTL denied? {:?}", debug.body);
    assert_reply_has_no_secret(&debug, &reader_pw);

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
    assert_no_secret(&host.output(), &reader_pw, "reader-host output");

    // Neither half had a command denied along the way.
    assert_eq!(reader_user.acl_log(), Vec::<BTreeMap<_, _>>::new());
    assert_eq!(refresher_user.acl_log(), Vec::<BTreeMap<_, _>>::new());

    // 5. A wrong password: a clean 503, Redis saw a failed AUTH, the password is nowhere.
    let wrong_pw = format!("Bad-{:016x}/x", fastrand::u64(..));
    let (mut wrong, addr) =
        tokio::task::block_in_place(|| spawn_reader_host(&redis, &reader_user.name, &wrong_pw));
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
    assert_no_secret(&out, &reader_pw, "reader-host output");
}

// ---------------------------------------------------------------------------------------
// A throwaway redis-server
// ---------------------------------------------------------------------------------------

/// A `redis-server` without persistence on a free port (dev-support's throwaway starter,
/// `REDIS_SERVER_BIN` or `redis-server` from `PATH`), stopped and its directory removed on
/// drop. `restart` brings it back on the same port, empty, as a crashed cache-only Redis
/// comes back.
struct RedisServer(Server);

impl RedisServer {
    fn start() -> RedisServer {
        let bin = std::env::var("REDIS_SERVER_BIN")
            .ok()
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "redis-server".to_owned());
        let server = Throwaway::redis_in_temp_dir()
            .bin(&bin)
            .args(["--protected-mode", "no"])
            .start()
            .unwrap_or_else(|e| panic!("could not start {bin}: {e:#}"));
        RedisServer(server)
    }

    fn url(&self) -> String {
        self.0.url()
    }

    fn is_up(&self) -> bool {
        self.0.is_up()
    }

    /// SIGKILL, as a crash.
    fn kill(&mut self) {
        self.0.kill();
    }

    fn restart(&mut self) {
        if let Err(e) = self.0.restart() {
            panic!("redis-server did not come back on {}: {e:#}", self.0.port());
        }
    }

    fn get(&self, key: &str) -> Option<Vec<u8>> {
        let client = redis::Client::open(self.url()).ok()?;
        timed(&client).get(key).ok()?
    }
}

// ---------------------------------------------------------------------------------------
// Requests that report failures instead of panicking
// ---------------------------------------------------------------------------------------

/// One GET on a fresh connection, bounded by `limit`; transport failures are `Err`.
async fn try_get(addr: SocketAddr, path: &str, limit: Duration) -> Result<Reply, String> {
    try_http_request(addr, "GET", path, &[], Bytes::new(), limit).await
}

/// What one response was, for the tally; `Err` is a violation of the reader's contract.
fn judge(path: &str, result: Result<Reply, String>) -> Result<String, String> {
    let reply = result?;
    let body = String::from_utf8_lossy(&reply.body);
    let json: serde_json::Value = serde_json::from_slice(&reply.body).map_err(|e| {
        format!(
            "GET {path}: {} with a non-JSON body ({e}): {body:?}",
            reply.status
        )
    })?;
    if reply.header("content-type") != Some("application/json; charset=utf-8") {
        return Err(format!(
            "GET {path}: content-type {:?}",
            reply.header("content-type")
        ));
    }
    let code = json["error"].as_str().unwrap_or("");
    match (path, reply.status) {
        ("/server/status", 200) => {
            DocumentView::parse(&reply.body)
                .map_err(|e| format!("GET {path}: 200 with an invalid document ({e}): {body:?}"))?;
            if !json["_cache"].is_object() {
                return Err(format!("GET {path}: 200 without _cache: {body:?}"));
            }
            Ok("200 document".into())
        }
        ("/server/status", 503) if matches!(code, "redis_unavailable" | "status_unavailable") => {
            Ok(format!("503 {code}"))
        }
        ("/health", 200) if json["status"] == "ok" => Ok("health 200 ok".into()),
        ("/health", 503) if json["status"] == "stale" => Ok("health 503 stale".into()),
        ("/health", 503)
            if json["status"] == "error"
                && matches!(
                    json["error"].as_str(),
                    Some("redis_unavailable" | "status_unavailable")
                ) =>
        {
            Ok(format!(
                "health 503 {}",
                json["error"].as_str().unwrap_or("")
            ))
        }
        _ => Err(format!("GET {path}: unexpected {}: {body:?}", reply.status)),
    }
}

/// The last `n` lines of `text`.
fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
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

// ---------------------------------------------------------------------------------------
// Redis restart with both halves running
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_restart_with_both_halves_running() {
    let db = TestDb::with_constants(
        "DOUBLE",
        &[
            constant("RateExp", 2.0, None),
            constant("ServerStatus", 1.0, None),
        ],
    );
    let mut redis = tokio::task::block_in_place(RedisServer::start);
    let key = unique_key();
    // The default lease (30 s): after the restart the lock is gone with everything else.
    let refresher = Child::spawn(daemon_command(&db.url(), &redis.url(), &key, "30"));
    let (reader, addr) = tokio::task::block_in_place(|| spawn_reader(&redis.url(), &key, &[], &[]));
    wait_for_fresh(addr, 0.0, Duration::from_secs(15))
        .await
        .unwrap_or_else(|last| panic!("never served: {last}\n{}", refresher.output()));

    // Cycle 1, refresher held across the restart so the empty phase is observed for sure.
    redis.kill();
    for _ in 0..3 {
        let started = Instant::now();
        let reply = try_get(addr, "/server/status", REQUEST_LIMIT)
            .await
            .unwrap();
        let took = started.elapsed();
        assert_eq!(reply.status, 503, "{:?}", reply.body);
        assert_eq!(reply.json()["error"], "redis_unavailable");
        assert_eq!(reply.header("retry-after"), Some("5"));
        assert!(took < Duration::from_millis(500), "{took:?}");
    }
    refresher.signal(Signal::Stop).expect("kill");
    let restarted_at = unix_now();
    tokio::task::block_in_place(|| redis.restart());
    let reply = try_get(addr, "/server/status", REQUEST_LIMIT)
        .await
        .unwrap();
    refresher.signal(Signal::Cont).expect("kill");
    assert_eq!(reply.status, 503, "{:?}", reply.body);
    assert_eq!(
        reply.json()["error"],
        "status_unavailable",
        "Redis restarted empty"
    );
    assert_eq!(reply.header("retry-after"), Some("30"));
    wait_for_fresh(addr, restarted_at, Duration::from_secs(15))
        .await
        .unwrap_or_else(|last| {
            panic!(
                "no recovery after the restart: {last}\n{}",
                refresher.output()
            )
        });

    // Cycle 2, nothing held: the answers only move forward, down -> empty -> fresh.
    // The restart happens in the background 1.5 s after the kill while the reader is polled.
    redis.kill();
    let down_at = unix_now();
    let restart = tokio::task::spawn_blocking(move || {
        std::thread::sleep(Duration::from_millis(1500));
        redis.restart();
        redis
    });
    let mut seen: Vec<String> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        assert!(
            Instant::now() < deadline,
            "no recovery: {seen:?}\n{}",
            refresher.output()
        );
        let reply = try_get(addr, "/server/status", REQUEST_LIMIT)
            .await
            .unwrap();
        let phase = match reply.status {
            200 => {
                let v = reply.json();
                assert!(v["updated_at"].as_f64().unwrap() >= down_at, "{v}");
                "fresh".to_owned()
            }
            503 => reply.json()["error"].as_str().unwrap().to_owned(),
            other => panic!("unexpected {other}: {:?}", reply.body),
        };
        if seen.last() != Some(&phase) {
            seen.push(phase.clone());
        }
        if phase == "fresh" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let _redis = restart.await.expect("restart failed");
    assert_eq!(seen.first().map(String::as_str), Some("redis_unavailable"));
    let order = ["redis_unavailable", "status_unavailable", "fresh"];
    let ranks: Vec<usize> = seen
        .iter()
        .map(|p| order.iter().position(|o| o == p).unwrap())
        .collect();
    assert!(ranks.windows(2).all(|w| w[0] < w[1]), "went back: {seen:?}");

    // Both recovered without a restart: the same refresher process is still running.
    let mut refresher = refresher;
    assert!(
        refresher.wait_timeout(Duration::ZERO).is_none(),
        "the refresher exited:\n{}",
        refresher.output()
    );
    eprintln!("restart cycle 2 phases: {seen:?}");
    drop(reader);
}

// ---------------------------------------------------------------------------------------
// Chaos
// ---------------------------------------------------------------------------------------

#[derive(Debug, Default)]
struct Tally {
    outcomes: BTreeMap<String, u64>,
    violations: Vec<String>,
    slowest: Duration,
    /// Requests slower than a second (the host's Redis timeout), with when they started.
    over_1s: u32,
}

#[derive(Debug, Default)]
struct Faults {
    refresher_sigkill: u32,
    refresher_sigterm: u32,
    refresher_start: u32,
    redis_kill: u32,
    redis_restart: u32,
    db_refuse: u32,
    db_stall: u32,
    db_heal: u32,
    table_updates: u32,
}

/// Chaos duration: `RELIABILITY_CHAOS_SECS` (15..=3600), default 20.
fn chaos_duration() -> Duration {
    let secs = std::env::var("RELIABILITY_CHAOS_SECS")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or(20)
        .clamp(15, 3600);
    Duration::from_secs(secs)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_every_response_is_a_document_or_a_clean_503() {
    let run_for = chaos_duration();
    let db = TestDb::with_constants(
        "DOUBLE",
        &[
            constant("RateExp", 1.0, Some("Рейт")),
            constant("ServerStatus", 1.0, None),
        ],
    );
    let proxy = FaultProxy::for_url(&db::server_url());
    let db_url = proxy.rewrite_url(&db.url());
    let redis = tokio::task::block_in_place(RedisServer::start);
    let key = unique_key();
    let (reader, addr) = tokio::task::block_in_place(|| spawn_reader(&redis.url(), &key, &[], &[]));
    let spawn_refresher = {
        let (db_url, redis_url, key) = (db_url.clone(), redis.url(), key.clone());
        move || Child::spawn(daemon_command(&db_url, &redis_url, &key, "2"))
    };
    let first = spawn_refresher();
    wait_for_fresh(addr, 0.0, Duration::from_secs(15))
        .await
        .unwrap_or_else(|last| panic!("never served: {last}\n{}", first.output()));

    // Load: four clients, a request every few ms each, mostly /server/status.
    let t0 = Instant::now();
    let events: Arc<Mutex<Vec<(f64, String)>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let tally = Arc::new(Mutex::new(Tally::default()));
    let mut clients = Vec::new();
    for _ in 0..4 {
        let (stop, tally) = (Arc::clone(&stop), Arc::clone(&tally));
        clients.push(tokio::spawn(async move {
            let mut rng = fastrand::Rng::new();
            while !stop.load(Ordering::Relaxed) {
                let path = if rng.u8(..5) == 0 {
                    "/health"
                } else {
                    "/server/status"
                };
                let started = Instant::now();
                let verdict = judge(path, try_get(addr, path, REQUEST_LIMIT).await);
                let took = started.elapsed();
                {
                    let mut t = tally.lock().unwrap();
                    t.slowest = t.slowest.max(took);
                    if took > Duration::from_secs(1) {
                        t.over_1s += 1;
                    }
                    let at = (started - t0).as_secs_f64();
                    match verdict {
                        Ok(outcome) => *t.outcomes.entry(outcome).or_default() += 1,
                        Err(v) => t.violations.push(format!("+{at:.2}s took {took:?}: {v}")),
                    }
                }
                tokio::time::sleep(Duration::from_millis(rng.u64(2..20))).await;
            }
        }));
    }

    // How late this process's own timers run: a stalled test process (an overloaded
    // machine) is told apart from a slow reader.
    let lag = {
        let stop = Arc::clone(&stop);
        tokio::spawn(async move {
            let mut worst = (Duration::ZERO, 0.0);
            while !stop.load(Ordering::Relaxed) {
                let before = Instant::now();
                tokio::time::sleep(Duration::from_millis(100)).await;
                let late = before.elapsed().saturating_sub(Duration::from_millis(100));
                if late > worst.0 {
                    worst = (late, (before - t0).as_secs_f64());
                }
            }
            worst
        })
    };

    // The driver: in shuffled rounds, toggle one part at a time at random intervals.
    let log = Arc::clone(&events);
    let event = move |what: &str| {
        log.lock()
            .unwrap()
            .push(((Instant::now() - t0).as_secs_f64(), what.to_owned()));
    };
    let driver = tokio::task::spawn_blocking(move || {
        let mut rng = fastrand::Rng::new();
        let mut faults = Faults::default();
        let mut refresher = Some(first);
        let mut redis = redis;
        let deadline = Instant::now() + run_for;
        let mut parts = [0u8, 1, 2];
        'run: loop {
            rng.shuffle(&mut parts);
            for part in parts {
                if Instant::now() >= deadline {
                    break 'run;
                }
                std::thread::sleep(Duration::from_millis(rng.u64(150..900)));
                match part {
                    0 => match refresher.take() {
                        Some(mut child) if rng.bool() => {
                            child.kill();
                            event("refresher SIGKILL");
                            faults.refresher_sigkill += 1;
                        }
                        Some(mut child) => {
                            child.signal(Signal::Term).expect("kill");
                            event("refresher SIGTERM");
                            let status = child.wait(Duration::from_secs(8));
                            // A TERM that lands before the handlers are installed kills it.
                            assert!(
                                status.success() || status.signal() == Some(15),
                                "refresher after SIGTERM: {status:?}\n{}",
                                child.output()
                            );
                            faults.refresher_sigterm += 1;
                        }
                        None => {
                            refresher = Some(spawn_refresher());
                            event("refresher started");
                            faults.refresher_start += 1;
                        }
                    },
                    1 if redis.is_up() => {
                        redis.kill();
                        event("redis SIGKILL");
                        faults.redis_kill += 1;
                    }
                    1 => {
                        event("redis restarting");
                        redis.restart();
                        event("redis up");
                        faults.redis_restart += 1;
                    }
                    _ => match proxy.mode() {
                        Mode::Pass if rng.bool() => {
                            proxy.set_mode(Mode::Refuse);
                            event("db refuse");
                            faults.db_refuse += 1;
                        }
                        Mode::Pass => {
                            proxy.set_mode(Mode::Stall);
                            event("db stall");
                            faults.db_stall += 1;
                        }
                        _ => {
                            proxy.set_mode(Mode::Pass);
                            event("db pass");
                            faults.db_heal += 1;
                        }
                    },
                }
                if rng.u8(..4) == 0 {
                    db.exec("UPDATE constants SET Value = Value + 1 WHERE Name = 'RateExp'");
                    faults.table_updates += 1;
                }
            }
        }
        // Heal everything.
        proxy.set_mode(Mode::Pass);
        if !redis.is_up() {
            redis.restart();
        }
        let refresher = refresher.unwrap_or_else(&spawn_refresher);
        (faults, refresher, redis, proxy, db)
    });
    let (faults, refresher, redis, _proxy, _db) = driver.await.expect("chaos driver failed");
    let healed_at = unix_now();
    let recovered = wait_for_fresh(addr, healed_at - 1.0, Duration::from_secs(20)).await;
    stop.store(true, Ordering::Relaxed);
    for client in clients {
        client.await.expect("load client panicked");
    }
    let (worst_lag, worst_lag_at) = lag.await.expect("lag monitor");
    let tally = std::mem::take(&mut *tally.lock().unwrap());
    let total: u64 = tally.outcomes.values().sum::<u64>() + tally.violations.len() as u64;
    eprintln!(
        "chaos {run_for:?}: {total} responses {:?}; slowest {:?}, {} over 1 s; \
         test-process timer lag up to {worst_lag:?} (at +{worst_lag_at:.1}s); faults {faults:?}",
        tally.outcomes, tally.slowest, tally.over_1s
    );
    if !tally.violations.is_empty() {
        let timeline: Vec<String> = events
            .lock()
            .unwrap()
            .iter()
            .map(|(at, what)| format!("+{at:.2}s {what}"))
            .collect();
        eprintln!("chaos timeline:\n{}", timeline.join("\n"));
        eprintln!("reader-host output (tail):\n{}", tail(&reader.output(), 60));
    }
    if let Err(last) = recovered {
        panic!(
            "no fresh document after healing: {last}\nrefresher:\n{}",
            refresher.output()
        );
    }
    assert!(
        tally.violations.is_empty(),
        "{} of {total} responses broke the contract, e.g.:\n{}",
        tally.violations.len(),
        tally
            .violations
            .iter()
            .take(10)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    // The run must have exercised what it claims.
    let count = |k: &str| tally.outcomes.get(k).copied().unwrap_or(0);
    assert!(count("200 document") > 0, "{:?}", tally.outcomes);
    assert!(count("503 redis_unavailable") > 0, "{:?}", tally.outcomes);
    assert!(
        faults.refresher_sigkill + faults.refresher_sigterm >= 2,
        "{faults:?}"
    );
    assert!(faults.redis_kill >= 2, "{faults:?}");
    assert!(faults.db_refuse + faults.db_stall >= 2, "{faults:?}");
    assert!(tally.slowest < REQUEST_LIMIT);
    // The reader process rode it all out.
    let mut reader = reader;
    assert!(
        reader.wait_timeout(Duration::ZERO).is_none() && !reader.output().contains("panicked"),
        "reader-host:\n{}",
        reader.output()
    );
    // The last document in Redis is whole and current.
    let raw = redis.get(&key).expect("a document after recovery");
    DocumentView::parse(&raw).expect("the stored document is valid");
}
