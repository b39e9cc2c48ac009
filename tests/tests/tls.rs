//! TLS end to end, with certificates made by the test (dev-support's `certs`) and
//! throwaway TLS-only servers (`servers::tls`): a MariaDB with `require_secure_transport=ON`
//! and a `redis-server --tls-port P --port 0`, so nothing can quietly go over plaintext.
//!
//! - `tls_only_end_to_end_and_database_errors`: MariaDB (TLS) → refresher (`verify_identity`,
//!   `DB_SSL_CA`) → Redis (TLS, `REDIS_CA_CERT` and a client certificate) → reader
//!   (`reader-host`, `rediss://`, `--redis-ca-cert`) → HTTP 200; then the database errors:
//!   an untrusted CA and a plaintext client against that server, and `required` against a
//!   server without TLS (the shared one), in the variable and in the URL form.
//! - one test per Redis error: plaintext client to a TLS port, TLS client to a plaintext
//!   port, unknown CA, wrong host name, expired certificate, unreadable key file, and a
//!   server demanding a client certificate that was not given. Each asserts the message
//!   names the setting to fix and never shows a key.
//!
//! `cargo test -p integration-tests --test integration tls:: -- --nocapture` prints each test's time.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use dev_support::certs::{Pair, TestPki};
use dev_support::servers::tls::{self, ClientAuth};
use integration_tests::binaries::{refresher_for, run};
use integration_tests::db::TestDb;
use integration_tests::reader::{ReaderConfig, ReaderServer, Reply};
use integration_tests::redis::TestRedis;
use mysql_async::prelude::Queryable;

/// A `--once` refresher ends within this (a few timeouts of 2 s at most).
const ONCE_WITHIN: Duration = Duration::from_secs(20);
const EXP: f64 = 2.5;

/// Certificates in a fresh directory, removed at the end.
struct Pki {
    pki: TestPki,
}

impl Pki {
    fn new() -> Pki {
        let dir = std::env::temp_dir().join(format!(
            "tls-test-{}-{}",
            std::process::id(),
            fastrand::u64(..)
        ));
        Pki {
            pki: TestPki::generate(&dir).expect("generating certificates"),
        }
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.pki.dir);
    }
}

impl std::ops::Deref for Pki {
    type Target = TestPki;
    fn deref(&self) -> &TestPki {
        &self.pki
    }
}

/// A `--once` refresher writing to `redis_url` under fresh keys; the database is the shared
/// plaintext one unless the caller sets `DATABASE_URL` again.
fn once(redis_url: &str, keys: &TestRedis, db: &TestDb) -> Command {
    let mut cmd = refresher_for(&db.url(), redis_url, keys);
    cmd.arg("--once")
        .env("STATUS_TIMEOUT", "2")
        .env("STATUS_LEASE", "0")
        .env("STATUS_METRICS_ADDR", "");
    cmd
}

/// Runs `cmd`, expects it to fail, and returns its output.
fn fails(cmd: Command) -> String {
    let (status, output) = run(cmd, ONCE_WITHIN);
    assert!(
        !status.success(),
        "expected a failure, got {status}:\n{output}"
    );
    output
}

fn succeeds(cmd: Command) -> String {
    let (status, output) = run(cmd, ONCE_WITHIN);
    assert!(
        status.success(),
        "expected success, got {status}:\n{output}"
    );
    output
}

/// `output` contains every one of `needles`, and nothing from a key file.
fn says(output: &str, needles: &[&str], pki: &TestPki) {
    for needle in needles {
        assert!(output.contains(needle), "no {needle:?} in:\n{output}");
    }
    for pair in [&pki.client, &pki.server] {
        let key = std::fs::read_to_string(&pair.key).expect("key file");
        let body = key.lines().nth(1).expect("a PEM body line");
        assert!(
            !output.contains(body),
            "a private key leaked into:\n{output}"
        );
    }
}

/// The reply has HTTP status `status` (its body, as text, when not).
fn assert_status(reply: &Reply, status: u16) {
    assert_eq!(
        reply.status,
        status,
        "{:?}",
        String::from_utf8_lossy(&reply.body)
    );
}

fn rediss(server: &dev_support::servers::Server) -> String {
    format!("rediss://127.0.0.1:{}", server.port())
}

fn plain_db() -> TestDb {
    TestDb::with_constants(
        "DOUBLE",
        &[integration_tests::db::constant("RateExp", EXP, None)],
    )
}

fn timed(name: &str, started: Instant) {
    eprintln!("tls: {name} took {} ms", started.elapsed().as_millis());
}

/// Creates database `game` with the constants table on the TLS MariaDB, over TLS.
async fn seed_tls_db(port: u16, ca: &Path) {
    let ssl = mysql_async::SslOpts::default()
        .with_root_certs(vec![ca.to_owned().into()])
        .with_disable_built_in_roots(true);
    let opts = mysql_async::OptsBuilder::default()
        .ip_or_hostname("127.0.0.1")
        .tcp_port(port)
        .user(Some("root"))
        .ssl_opts(Some(ssl));
    let mut conn = mysql_async::Conn::new(opts)
        .await
        .expect("TLS login as root");
    conn.query_drop("CREATE DATABASE game")
        .await
        .expect("create database");
    conn.query_drop(format!(
        "USE game; {};",
        dev_support::constants::Columns::value("DOUBLE").create_table()
    ))
    .await
    .expect("create table");
    conn.query_drop(format!(
        "INSERT INTO game.constants VALUES ('ServerStatus', 1, 'on'), ('RateExp', {EXP}, 'Рейт')"
    ))
    .await
    .expect("insert");
    conn.disconnect().await.expect("disconnect");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_only_end_to_end_and_database_errors() {
    let started = Instant::now();
    let pki = Pki::new();
    let (mariadb, redis) = {
        let pki = pki.pki.clone();
        tokio::task::spawn_blocking(move || {
            let mariadb = tls::mariadb(&pki, &pki.server).expect("TLS MariaDB");
            let redis = tls::redis(&pki, &pki.server, ClientAuth::Optional).expect("TLS Redis");
            (mariadb, redis)
        })
        .await
        .expect("starting servers")
    };
    seed_tls_db(mariadb.port(), &pki.ca).await;
    let keys = TestRedis::new();
    let db_url = format!("mysql://root@127.0.0.1:{}/game", mariadb.port());
    let shared = plain_db();

    // The whole flow over TLS only, with the strictest mode and mutual TLS to Redis.
    let mut cmd = once(&rediss(&redis), &keys, &shared);
    cmd.env("DATABASE_URL", &db_url)
        .env("DB_SSL_MODE", "verify_identity")
        .env("DB_SSL_CA", &pki.ca)
        .env("REDIS_CA_CERT", &pki.ca)
        .env("REDIS_CLIENT_CERT", &pki.client.cert)
        .env("REDIS_CLIENT_KEY", &pki.client.key);
    let out = tokio::task::spawn_blocking(move || succeeds(cmd))
        .await
        .unwrap();
    assert!(out.contains("db_ssl_mode=verify_identity"), "{out}");
    let reader = ReaderServer::start(
        ReaderConfig::new(&rediss(&redis), &keys.status_key()).redis_ca_cert(&pki.ca),
    )
    .await;
    let reply = reader.get("/server/status").await;
    assert_status(&reply, 200);
    assert_eq!(reply.json()["rates"]["exp"], EXP);
    assert_eq!(reply.json()["_cache"]["source"], "primary");

    // The reader without the CA: the system store does not know the test CA.
    let untrusting =
        ReaderServer::start(ReaderConfig::new(&rediss(&redis), &keys.status_key())).await;
    let reply = untrusting.get("/server/status").await;
    assert_status(&reply, 503);

    // The URL form, verify_ca: same result.
    let mut cmd = once(&rediss(&redis), &keys, &shared);
    cmd.env(
        "DATABASE_URL",
        format!("{db_url}?ssl-mode=VERIFY_CA&ssl-ca={}", pki.ca.display()),
    )
    .env("REDIS_CA_CERT", &pki.ca);
    tokio::task::spawn_blocking(move || succeeds(cmd))
        .await
        .unwrap();

    let checks = database_checks(&db_url, &pki, &shared);
    for (what, env, needles) in checks {
        let mut cmd = once(&rediss(&redis), &keys, &shared);
        cmd.env("REDIS_CA_CERT", &pki.ca);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = tokio::task::spawn_blocking(move || fails(cmd))
            .await
            .unwrap();
        eprintln!("tls: {what}: {}", last_error(&out));
        says(&out, &needles, &pki);
    }
    drop((mariadb, redis));
    timed("tls_only_end_to_end_and_database_errors", started);
}

/// The database's TLS failures: what each sets (with `db_url` of the TLS-only server and
/// `shared`, a server without TLS) and what its error must say.
fn database_checks(db_url: &str, pki: &Pki, shared: &TestDb) -> Vec<DbCheck<'static>> {
    vec![
        (
            "unknown CA for the database",
            vec![
                ("DATABASE_URL", db_url.to_owned()),
                ("DB_SSL_MODE", "verify_identity".into()),
                ("DB_SSL_CA", pki.other_ca.display().to_string()),
            ],
            vec![
                "DB_SSL_MODE=verify_identity",
                "DB_SSL_CA=",
                "not signed by a trusted CA",
            ],
        ),
        (
            "plaintext client to a server requiring TLS",
            vec![
                ("DATABASE_URL", db_url.to_owned()),
                ("DB_SSL_MODE", "disabled".into()),
            ],
            vec!["DB_SSL_MODE=disabled", "require_secure_transport"],
        ),
        (
            "required against a server without TLS",
            vec![("DB_SSL_MODE", "required".into())],
            vec!["offers no TLS", "DB_SSL_MODE=required refuses plaintext"],
        ),
        (
            "required in the URL against a server without TLS",
            vec![(
                "DATABASE_URL",
                format!("{}?ssl-mode=required", shared.url()),
            )],
            vec!["offers no TLS", "DB_SSL_MODE=required"],
        ),
    ]
}

/// What a database check sets and what its failure must say.
type DbCheck<'a> = (&'a str, Vec<(&'a str, String)>, Vec<&'a str>);

/// The line that says why, for the log of what each error looks like.
fn last_error(output: &str) -> &str {
    output
        .lines()
        .rev()
        .find(|l| l.contains("failed") || l.contains("error"))
        .unwrap_or("")
}

/// One Redis error: a refresher (trusting the test CA if `trust_ca`) against a TLS Redis
/// serving `pair`.
fn redis_error(
    pair: impl Fn(&TestPki) -> &Pair,
    auth: ClientAuth,
    redis_url: impl Fn(&dev_support::servers::Server) -> String,
    trust_ca: bool,
    needles: &[&str],
) {
    let started = Instant::now();
    let pki = Pki::new();
    let redis = tls::redis(&pki, pair(&pki), auth).expect("TLS Redis");
    let keys = TestRedis::new();
    let db = plain_db();
    let mut cmd = once(&redis_url(&redis), &keys, &db);
    if trust_ca {
        cmd.env("REDIS_CA_CERT", &pki.ca);
    }
    let out = fails(cmd);
    eprintln!("tls: {}", last_error(&out));
    says(&out, needles, &pki);
    timed(needles[0], started);
}

#[test]
fn plaintext_client_to_a_tls_port_names_rediss() {
    redis_error(
        |p| &p.server,
        ClientAuth::Optional,
        |s| s.url(),
        false,
        &["REDIS_URL must then be rediss://"],
    );
}

#[test]
fn tls_client_to_a_plaintext_port_names_the_port() {
    let started = Instant::now();
    let pki = Pki::new();
    let keys = TestRedis::new();
    let db = plain_db();
    let plain = keys.url().replacen("redis://", "rediss://", 1);
    let mut cmd = once(&plain, &keys, &db);
    cmd.env("REDIS_CA_CERT", &pki.ca);
    let out = fails(cmd);
    eprintln!("tls: {}", last_error(&out));
    says(&out, &["REDIS_URL", "a plaintext port"], &pki);
    timed("tls client to a plaintext port", started);
}

#[test]
fn unknown_ca_names_redis_ca_cert() {
    redis_error(
        |p| &p.untrusted,
        ClientAuth::Optional,
        rediss,
        false,
        &["not signed by a trusted CA", "REDIS_CA_CERT"],
    );
}

#[test]
fn wrong_host_name_names_redis_url() {
    redis_error_with_ca(|p| &p.wrong_host, &["does not name the host in REDIS_URL"]);
}

#[test]
fn expired_certificate_is_named() {
    redis_error_with_ca(|p| &p.expired, &["has expired", "REDIS_URL"]);
}

/// [`redis_error`] with the right CA trusted, so only the certificate itself is wrong.
fn redis_error_with_ca(pair: impl Fn(&TestPki) -> &Pair, needles: &[&str]) {
    redis_error(pair, ClientAuth::Optional, rediss, true, needles);
}

#[test]
fn unreadable_key_file_is_a_config_error_naming_redis_client_key() {
    let pki = Pki::new();
    let keys = TestRedis::new();
    let db = plain_db();
    let url = "rediss://127.0.0.1:1";
    // Missing.
    let mut cmd = once(url, &keys, &db);
    cmd.env("REDIS_CLIENT_CERT", &pki.client.cert)
        .env("REDIS_CLIENT_KEY", pki.dir.join("no-such-key.pem"));
    let (status, out) = run(cmd, ONCE_WITHIN);
    assert_eq!(status.code(), Some(2), "{out}");
    says(
        &out,
        &["REDIS_CLIENT_KEY", "cannot read", "no-such-key.pem"],
        &pki,
    );
    // Not a key (a certificate where the key belongs): named, and not quoted.
    let mut cmd = once(url, &keys, &db);
    cmd.env("REDIS_CLIENT_CERT", &pki.client.cert)
        .env("REDIS_CLIENT_KEY", &pki.client.cert);
    let (status, out) = run(cmd, ONCE_WITHIN);
    assert_eq!(status.code(), Some(2), "{out}");
    says(
        &out,
        &["REDIS_CLIENT_KEY", "holds no PEM private key"],
        &pki,
    );
    // A directory.
    let mut cmd = once(url, &keys, &db);
    cmd.env("REDIS_CLIENT_CERT", &pki.client.cert)
        .env("REDIS_CLIENT_KEY", &pki.dir);
    let (status, out) = run(cmd, ONCE_WITHIN);
    assert_eq!(status.code(), Some(2), "{out}");
    says(&out, &["REDIS_CLIENT_KEY", "is not a file"], &pki);
    // TLS settings with a plaintext URL would be silently unused: refused.
    let mut cmd = once("redis://127.0.0.1:1", &keys, &db);
    cmd.env("REDIS_CA_CERT", &pki.ca);
    let (status, out) = run(cmd, ONCE_WITHIN);
    assert_eq!(status.code(), Some(2), "{out}");
    says(&out, &["REDIS_CA_CERT", "not rediss://"], &pki);
}

#[test]
fn missing_client_certificate_is_named_and_mutual_tls_works() {
    let started = Instant::now();
    let pki = Pki::new();
    let redis = tls::redis(&pki, &pki.server, ClientAuth::Required).expect("TLS Redis");
    let keys = TestRedis::new();
    let db = plain_db();
    let mut cmd = once(&rediss(&redis), &keys, &db);
    cmd.env("REDIS_CA_CERT", &pki.ca);
    let out = fails(cmd);
    eprintln!("tls: {}", last_error(&out));
    says(&out, &["REDIS_CLIENT_CERT"], &pki);
    let mut cmd = once(&rediss(&redis), &keys, &db);
    cmd.env("REDIS_CA_CERT", &pki.ca)
        .env("REDIS_CLIENT_CERT", &pki.client.cert)
        .env("REDIS_CLIENT_KEY", &pki.client.key);
    succeeds(cmd);
    timed("mutual TLS", started);
}
