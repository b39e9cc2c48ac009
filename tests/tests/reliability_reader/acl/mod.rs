//! The documented ACL lines, applied to the real Redis: docs/deploy.md's `ACL SETUSER` line for each
//! role, with the test's own user name, password and keys, allows exactly what that half
//! does and refuses the rest (destructive commands only dry-run).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use integration_tests::acl::test_name;
use integration_tests::binaries::workspace_root;
use integration_tests::docs;
use integration_tests::redis::{TestRedis, connect, server_url};
use redis::{Commands, Connection, RedisError, RedisResult, Value};

use integration_tests::percent_encode;

/// Connect, read and write bound on every ACL fixture call.
mod refresher;

const CALL_LIMIT: Duration = Duration::from_secs(5);

/// The document whose `ACL SETUSER` lines the tests apply.
fn acl_doc() -> PathBuf {
    workspace_root().join(docs::DEPLOY)
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
pub(super) struct AclUser {
    pub(super) name: String,
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
        connect(&self.0, CALL_LIMIT)
    }
}

impl AclUser {
    pub(super) fn create(redis: &TestRedis, role: &str, password: &str) -> AclUser {
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
    pub(super) fn url(&self) -> String {
        with_userinfo(&server_url(), &self.name, &self.password)
    }

    fn conn(&self) -> Connection {
        connect(
            &redis::Client::open(self.url()).expect("user URL"),
            CALL_LIMIT,
        )
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
    pub(super) fn acl_log(&self) -> Vec<BTreeMap<String, String>> {
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

pub(super) fn assert_dry_run_denied(user: &AclUser, args: &[&str]) {
    if let Ok(()) = user.dry_run(args) {
        panic!("{} may run {args:?}", user.name);
    }
}

/// The test's keys: status, last-good, interval override, lease lock, and one of nobody's.
fn keys(redis: &TestRedis) -> [String; 5] {
    let status = redis.status_key();
    let lock = status_document::keys::lock_key(&status);
    [
        status,
        redis.last_good_key(),
        redis.interval_key(),
        lock,
        redis.key("other"),
    ]
}

/// A Redis of the test's own with the interval override (600) and one of nobody's keys
/// set, its [`keys`], and `role`'s documented ACL user on it with `password`.
fn acl_case(role: &str, password: &str) -> (TestRedis, [String; 5], AclUser) {
    let redis = TestRedis::new();
    let keys = keys(&redis);
    let [_, _, interval, _, other] = &keys;
    redis.set(interval, "600");
    redis.set(other, "someone else's");
    let user = AclUser::create(&redis, role, password);
    (redis, keys, user)
}

fn cmd(args: &[&str]) -> redis::Cmd {
    let mut c = redis::cmd(args[0]);
    c.arg(&args[1..]);
    c
}

#[test]
fn acl_reader_user_reads_only_the_status_keys() {
    let (redis, [status, last_good, interval, lock, other], user) = acl_case(
        "status-reader",
        &format!("Rd-{:016x}:p@ss/w%rd", fastrand::u64(..)),
    );
    redis.set(&status, "primary-bytes");
    redis.set(&last_good, "last-good-bytes");
    redis.set(&lock, "token");
    let mut c = user.conn();

    // What the reader does: GET both keys, TTL (debug endpoint).
    let got: Option<String> = c.get(&status).unwrap();
    assert_eq!(got.as_deref(), Some("primary-bytes"));
    let got: Option<String> = c.get(&last_good).unwrap();
    assert_eq!(got.as_deref(), Some("last-good-bytes"));
    let ttl: i64 = c.ttl(&status).unwrap();
    assert_eq!(ttl, -1);
    // And the history: read, never written.
    let history = status_document::keys::history_key(&status);
    redis.set(&history, "history-bytes");
    let got: Option<String> = c.get(&history).unwrap();
    assert_eq!(got.as_deref(), Some("history-bytes"));
    assert_denied(&mut c, &cmd(&["SET", &history, "x"]), "SET history");

    let keys = [&status, &last_good, &interval, &lock, &other].map(String::as_str);
    the_reader_may_do_nothing_else(&mut c, &user, keys);

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

/// What the reader's user may not do: write its own keys, read anything else, enumerate,
/// script, publish or administer; destructive commands only dry-run.
fn the_reader_may_do_nothing_else(
    c: &mut Connection,
    user: &AclUser,
    [status, last_good, interval, lock, other]: [&str; 5],
) {
    // Writes to its own keys.
    for (args, what) in [
        (vec!["SET", status, "x"], "SET status"),
        (vec!["SET", last_good, "x"], "SET last_good"),
        (vec!["DEL", status], "DEL status"),
        (vec!["EXPIRE", status, "1"], "EXPIRE status"),
        (vec!["GETDEL", status], "GETDEL status"),
        (vec!["APPEND", status, "x"], "APPEND status"),
    ] {
        assert_denied(c, &cmd(&args), what);
    }
    // Reads of anything else, enumeration, scripting, pub/sub, admin.
    for (args, what) in [
        (vec!["GET", interval], "GET interval key"),
        (vec!["GET", lock], "GET lock"),
        (vec!["GET", other], "GET another key"),
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
        assert_denied(c, &cmd(&args), what);
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
        vec!["SET", status, "x"],
    ] {
        assert_dry_run_denied(user, &args);
    }
    assert_eq!(user.dry_run(&["GET", status]), Ok(()));
}
