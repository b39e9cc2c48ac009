//! `deploy/compose/redis-start.sh`, the compose stack's Redis, against a real `redis-server`.
//!
//! No container engine runs the whole compose stack here (its YAML is compared with docs/deploy.md by
//! xtask/checks/deploy_manifests.py), but its Redis start script is plain `sh` around
//! `redis-server`, so it runs for real: on a free port, with its ACL file in a temporary
//! directory. Its ACL rules must be docs/deploy.md's `ACL SETUSER` lines (one source of truth), the
//! default user must be off, the real refresher must be able to write under its user and the
//! reader's user must be able to read and nothing more.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use integration_tests::binaries::{Child, refresher_command, run, workspace_root};
use integration_tests::db::{TestDb, constant};
use integration_tests::docs;
use integration_tests::wait::wait_until;

fn script() -> PathBuf {
    workspace_root().join("deploy/compose/redis-start.sh")
}

/// The rules after the password of docs/deploy.md's `ACL SETUSER <user> reset on >PASSWORD …` line.
fn documented_rules(user: &str) -> String {
    let page = docs::read(docs::DEPLOY);
    let prefix = format!("ACL SETUSER {user} reset on >");
    let line = page
        .lines()
        .find(|l| l.starts_with(&prefix))
        .unwrap_or_else(|| panic!("{} has no `{prefix}…` line", docs::DEPLOY));
    rules_after_password(line)
}

fn rules_after_password(line: &str) -> String {
    let at = line.find('>').expect("a >password rule");
    line[at..]
        .split_once(' ')
        .map(|(_, rules)| rules.trim().to_owned())
        .expect("rules after the password")
}

#[test]
fn script_acl_rules_are_the_documented_ones() {
    let text = std::fs::read_to_string(script()).expect("read redis-start.sh");
    for user in ["status-reader", "status-refresher"] {
        let prefix = format!("user {user} reset on >");
        let line = text
            .lines()
            .find(|l| l.starts_with(&prefix))
            .unwrap_or_else(|| panic!("redis-start.sh has no `{prefix}…` line"));
        assert_eq!(
            rules_after_password(line),
            documented_rules(user),
            "{user}: redis-start.sh and docs/deploy.md's ACL SETUSER differ"
        );
    }
}

/// `redis-server` is where `cargo xtask test` and `.ci/run` make sure it is.
fn redis_server_available() -> bool {
    let ok = Command::new("redis-server")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("skipped: redis-server is not on PATH (Debian package `redis-server`)");
    }
    ok
}

fn connect(url: &str) -> redis::RedisResult<redis::Connection> {
    redis::Client::open(url)?.get_connection_with_timeout(Duration::from_secs(2))
}

#[test]
fn script_starts_redis_with_the_two_users_and_no_default_user() {
    if !redis_server_available() {
        return;
    }
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let dir = std::env::temp_dir().join(format!("ss_t_redis_{:016x}", fastrand::u64(..)));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let reader_pw = format!("r{:016x}", fastrand::u64(..));
    let refresher_pw = format!("w{:016x}", fastrand::u64(..));
    let mut cmd = Command::new("sh");
    cmd.arg(script())
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .arg("--dir")
        .arg(&dir)
        .env("REDIS_ACL_DIR", &dir)
        .env("READER_REDIS_PASSWORD", &reader_pw)
        .env("REFRESHER_REDIS_PASSWORD", &refresher_pw);
    let server = Child::spawn(cmd);

    let reader_url = format!("redis://status-reader:{reader_pw}@127.0.0.1:{port}/0");
    let refresher_url = format!("redis://status-refresher:{refresher_pw}@127.0.0.1:{port}/0");
    assert!(
        wait_until(integration_tests::wait::SETTLE, || connect(&reader_url)
            .is_ok()),
        "Redis from redis-start.sh did not accept the reader's user:\n{}",
        server.output()
    );

    // The default user is off: an unauthenticated command is refused.
    let mut anonymous = connect(&format!("redis://127.0.0.1:{port}/0")).expect("connect");
    let ping: redis::RedisResult<String> = redis::cmd("PING").query(&mut anonymous);
    assert!(ping.is_err(), "the default user answered PING: {ping:?}");

    // The real refresher writes the document under its user (default key names, which are
    // the ones the ACL grants; this Redis is private to the test).
    let db = TestDb::new();
    db.create_constants("DOUBLE");
    db.insert_constants(&[constant("RateExp", 3.0, None)]);
    let mut refresher = refresher_command();
    refresher
        .env("DATABASE_URL", db.url())
        .env("REDIS_URL", &refresher_url)
        .env("STATUS_METRICS_ADDR", "")
        .env("STATUS_TIMEOUT", "3")
        .arg("--once");
    let (status, output) = run(refresher, Duration::from_secs(30));
    assert_eq!(
        status.code(),
        Some(0),
        "refresher under its ACL user:\n{output}"
    );

    let mut reader = connect(&reader_url).expect("reader connects");
    let document: String = redis::cmd("GET")
        .arg("server:status")
        .query(&mut reader)
        .expect("the reader's user can GET the document");
    assert!(document.contains("\"exp\":3.0"), "document: {document}");
    let write: redis::RedisResult<()> = redis::cmd("SET")
        .arg("server:status")
        .arg("x")
        .query(&mut reader);
    assert!(write.is_err(), "the reader's user could SET");

    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}
