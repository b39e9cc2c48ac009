//! The sink: the status document in Redis.
//!
//! One [`ConnectionManager`] is kept for the process's life: it reconnects by itself after
//! Redis restarts, and it connects lazily, so a refresher started while Redis is down keeps
//! retrying instead of exiting. Every call is additionally wrapped in the configured timeout,
//! because a manager's own reconnect loop must not be able to outlast a refresh cycle.
//!
//! The write is one `MULTI`/`EXEC` transaction: `SET <key> <json> EX <ttl>` and
//! `SET <key>:last_good <json>`. Redis applies a transaction whole or not at all, and
//! discards a `MULTI` block whose connection drops before `EXEC`, so neither a timeout nor a
//! kill can leave one key updated without the other, or a half-written value.
//!
//! With a lease (two replicas, see [`crate::lease`]) the write is instead one Lua script,
//! [`GUARDED_WRITE`]: it checks that the lease still holds our token, extends it, and sets
//! both keys. A script runs atomically too, and it closes the gap a `MULTI` would leave
//! between checking the lease and writing (a `WATCH` on the lock would also do, at the cost
//! of a round-trip and a retry loop). Either the check passes and both keys are written, or
//! nothing is.

use std::time::Duration;

use redis::Script;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use status_document::keys::last_good_key;

use crate::config::RedisTls;
use crate::lease::{WriteGuard, millis};
use crate::redis_call::{RedisCallError, bounded};

/// Writes the document only if the lease allows it. KEYS: status, last_good, lock. ARGV:
/// token, json, ttl_s, lease_ms, allow_unheld ("1": a free lease is fine too). Returns 1 if
/// written, 0 if another replica holds the lease (or ours ran out).
pub const GUARDED_WRITE: &str = r"
local holder = redis.call('GET', KEYS[3])
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[3], ARGV[4])
elseif holder or ARGV[5] ~= '1' then
  return 0
end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
redis.call('SET', KEYS[2], ARGV[2])
return 1
";

/// Reconnection attempts the manager makes per failed call; our own backoff does the rest.
const MANAGER_RETRIES: usize = 2;

/// What a write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Published {
    Written,
    /// The lease is held by another replica (or ours ran out): nothing was written.
    NotLeaseHolder,
}

/// The Redis keys the refresher writes, and the one it reads.
pub struct Keys {
    pub status: String,
    pub last_good: String,
    pub interval: String,
}

impl Keys {
    pub fn new(status: &str, interval: &str) -> Keys {
        Keys {
            status: status.to_owned(),
            last_good: last_good_key(status),
            interval: interval.to_owned(),
        }
    }
}

pub struct Sink {
    manager: ConnectionManager,
    timeout: Duration,
    keys: Keys,
    guarded_write: Script,
}

impl Sink {
    /// Prepares the connection without opening it (that happens on first use). Must be
    /// called inside the Tokio runtime. Fails only on a URL that does not parse, which the
    /// configuration has already ruled out.
    pub fn new(
        client: redis::Client,
        timeout: Duration,
        keys: Keys,
    ) -> Result<Sink, redis::RedisError> {
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            .set_number_of_retries(MANAGER_RETRIES)
            .set_max_delay(Duration::from_secs(1));
        let manager = ConnectionManager::new_lazy_with_config(client, config)?;
        Ok(Sink {
            manager,
            timeout,
            keys,
            guarded_write: Script::new(GUARDED_WRITE),
        })
    }

    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    /// The shared connection (for the lease, which lives on the same Redis).
    pub fn manager(&self) -> ConnectionManager {
        self.manager.clone()
    }

    /// The raw value of the interval override key, if set.
    pub async fn interval_override(&self) -> Result<Option<String>, RedisCallError> {
        let mut conn = self.manager.clone();
        let mut get = redis::cmd("GET");
        get.arg(&self.keys.interval);
        let raw = self
            .bounded(
                "GET interval",
                get.query_async::<Option<Vec<u8>>>(&mut conn),
            )
            .await?;
        Ok(raw.map(|b| String::from_utf8_lossy(&b).into_owned()))
    }

    /// Writes the document and its last-known-good copy in one atomic step: a transaction,
    /// or with a lease, the [`GUARDED_WRITE`] script.
    pub async fn publish(
        &self,
        json: &[u8],
        ttl_s: u64,
        guard: Option<&WriteGuard>,
    ) -> Result<Published, RedisCallError> {
        let mut conn = self.manager.clone();
        if let Some(guard) = guard {
            let mut call = self.guarded_write.key(&self.keys.status);
            call.key(&self.keys.last_good)
                .key(&guard.lock_key)
                .arg(&guard.token)
                .arg(json)
                .arg(ttl_s)
                .arg(millis(guard.lease))
                .arg(if guard.allow_unheld { "1" } else { "0" });
            let written: i64 = self
                .bounded("guarded write", call.invoke_async(&mut conn))
                .await?;
            return Ok(if written == 1 {
                Published::Written
            } else {
                Published::NotLeaseHolder
            });
        }
        let mut write = redis::pipe();
        write
            .atomic()
            .cmd("SET")
            .arg(&self.keys.status)
            .arg(json)
            .arg("EX")
            .arg(ttl_s)
            .ignore()
            .cmd("SET")
            .arg(&self.keys.last_good)
            .arg(json)
            .ignore();
        self.bounded("MULTI/SET/SET/EXEC", write.query_async::<()>(&mut conn))
            .await?;
        Ok(Published::Written)
    }

    async fn bounded<T>(
        &self,
        step: &'static str,
        call: impl Future<Output = redis::RedisResult<T>>,
    ) -> Result<T, RedisCallError> {
        bounded(self.timeout, step, call).await
    }
}

/// The Redis client for `url`: the one place connection settings are made, shared by the
/// pooled connection (document, lease), the refresh channel's subscription and
/// `refresh-now`. With a CA or a client certificate (`rediss://` only, checked by the
/// configuration) it is built with them; otherwise a `rediss://` URL trusts the system's
/// store (`SSL_CERT_FILE` / `/etc/ssl/certs`).
pub fn client(url: &str, tls: &RedisTls) -> Result<redis::Client, redis::RedisError> {
    match tls.certificates() {
        Some(certificates) => redis::Client::build_with_tls(url, certificates),
        None => redis::Client::open(url),
    }
}
