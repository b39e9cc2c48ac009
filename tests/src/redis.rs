//! A private corner of the test Redis per test.
//!
//! [`TestRedis::new`] picks a random prefix `test:<random>:`; every key a test uses is made
//! with [`TestRedis::key`], and all of them are deleted when the value is dropped. The server
//! is `SERVER_STATUS_TEST_REDIS` (default `redis://127.0.0.1:6379`). Calls are synchronous
//! (redis' blocking client) with timeouts, so they work from any test, async or not.

use std::time::Duration;

use ::redis::{Commands, Connection};
use dev_support::servers::{Server, Throwaway};

/// Default server for tests.
pub const DEFAULT_TEST_REDIS: &str = "redis://127.0.0.1:6379";

/// Bound on connecting and on every call.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// The server URL tests use (`SERVER_STATUS_TEST_REDIS`).
pub fn server_url() -> String {
    crate::setting("SERVER_STATUS_TEST_REDIS", DEFAULT_TEST_REDIS)
}

pub struct TestRedis {
    prefix: String,
    url: String,
    client: ::redis::Client,
}

impl TestRedis {
    pub fn new() -> TestRedis {
        TestRedis::on(&server_url())
    }

    /// [`TestRedis::new`] on another server: a throwaway `redis-server` a test restarts.
    pub fn on(url: &str) -> TestRedis {
        let client = ::redis::Client::open(url).expect("not a redis:// URL");
        TestRedis {
            prefix: format!("test:{:016x}:", fastrand::u64(..)),
            url: url.to_owned(),
            client,
        }
    }

    /// The server URL (for `REDIS_URL`).
    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// `test:<random>:`.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// `test:<random>:<name>`.
    pub fn key(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    /// The status key for this test (`test:<random>:server:status`, for `STATUS_KEY`).
    pub fn status_key(&self) -> String {
        self.key("server:status")
    }

    /// Its last-known-good copy.
    pub fn last_good_key(&self) -> String {
        status_document::keys::last_good_key(&self.status_key())
    }

    /// The interval override key for this test (for `STATUS_INTERVAL_KEY`).
    pub fn interval_key(&self) -> String {
        self.key("config:status_interval")
    }

    /// A fresh connection with read/write timeouts.
    pub fn conn(&self) -> Connection {
        connect(&self.client, CALL_TIMEOUT)
    }

    /// `GET key` as bytes.
    pub fn get(&self, key: &str) -> Option<Vec<u8>> {
        self.conn().get(key).expect("GET failed")
    }

    /// `GET key` as a string (panics on invalid UTF-8).
    pub fn get_string(&self, key: &str) -> Option<String> {
        self.get(key)
            .map(|b| String::from_utf8(b).expect("value is not UTF-8"))
    }

    /// `TTL key`: seconds left, -1 without expiry, -2 if missing.
    pub fn ttl(&self, key: &str) -> i64 {
        self.conn().ttl(key).expect("TTL failed")
    }

    /// `SET key value`.
    pub fn set(&self, key: &str, value: impl AsRef<[u8]>) {
        let () = self.conn().set(key, value.as_ref()).expect("SET failed");
    }

    /// `SET key value EX seconds`.
    pub fn set_ex(&self, key: &str, value: impl AsRef<[u8]>, seconds: u64) {
        let () = self
            .conn()
            .set_ex(key, value.as_ref(), seconds)
            .expect("SET EX failed");
    }

    /// `DEL key`.
    pub fn del(&self, key: &str) {
        let _: i64 = self.conn().del(key).expect("DEL failed");
    }

    /// Every key under this prefix.
    pub fn keys(&self) -> Vec<String> {
        let mut conn = self.conn();
        let pattern = format!("{}*", escape_glob(&self.prefix));
        let iter: ::redis::Iter<String> = conn.scan_match(pattern).expect("SCAN failed");
        iter.filter_map(Result::ok).collect()
    }
}

impl Default for TestRedis {
    fn default() -> Self {
        TestRedis::new()
    }
}

impl Drop for TestRedis {
    fn drop(&mut self) {
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let keys = self.keys();
            if !keys.is_empty() {
                let _: i64 = self.conn().del(keys).unwrap_or(0);
            }
        }));
        if result.is_err() {
            eprintln!("warning: could not clean up Redis keys {}*", self.prefix);
        }
    }
}

/// A connection to `client` whose connect, reads and writes each give up after `limit`.
pub fn connect(client: &::redis::Client, limit: Duration) -> Connection {
    let conn = client
        .get_connection_with_timeout(limit)
        .expect("cannot connect to Redis");
    conn.set_read_timeout(Some(limit))
        .expect("cannot set a read timeout");
    conn.set_write_timeout(Some(limit))
        .expect("cannot set a write timeout");
    conn
}

/// A `redis-server` without persistence on a free port (dev-support's throwaway starter,
/// `REDIS_SERVER_BIN` or `redis-server` from `PATH`), stopped and its directory removed on
/// drop. `restart` brings it back on the same port, empty, as a crashed cache-only Redis
/// comes back.
pub struct RedisServer(Server);

impl RedisServer {
    pub fn start() -> RedisServer {
        let bin = crate::setting("REDIS_SERVER_BIN", "redis-server");
        let server = Throwaway::redis_in_temp_dir()
            .bin(&bin)
            .args(["--protected-mode", "no"])
            .start()
            .unwrap_or_else(|e| panic!("could not start {bin}: {e:#}"));
        RedisServer(server)
    }

    pub fn url(&self) -> String {
        self.0.url()
    }

    pub fn is_up(&self) -> bool {
        self.0.is_up()
    }

    /// SIGKILL, as a crash.
    pub fn kill(&mut self) {
        self.0.kill();
    }

    pub fn restart(&mut self) {
        if let Err(e) = self.0.restart() {
            panic!("redis-server did not come back on {}: {e:#}", self.0.port());
        }
    }

    /// `GET key` on a fresh connection (which must connect).
    pub fn get(&self, key: &str) -> Option<Vec<u8>> {
        let client = ::redis::Client::open(self.url()).ok()?;
        connect(&client, Duration::from_secs(5)).get(key).ok()?
    }
}

/// Escapes glob metacharacters so a prefix matches only itself.
fn escape_glob(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
