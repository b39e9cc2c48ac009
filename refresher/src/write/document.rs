//! The sink: the status document in Redis.
//!
//! One connection manager is kept for the process's life ([`Primary`]): it reconnects by
//! itself after Redis restarts, and it connects lazily, so a refresher started while Redis
//! is down keeps retrying instead of exiting; behind Sentinel it follows the primary across
//! failovers. Every call is additionally wrapped in the configured timeout, because a
//! manager's own reconnect loop must not be able to outlast a refresh cycle.
//!
//! The write is one `MULTI`/`EXEC` transaction: `SET <key> <json> EX <ttl>` and
//! `SET <key>:last_good <json>`. Redis applies a transaction whole or not at all, and
//! discards a `MULTI` block whose connection drops before `EXEC`, so neither a timeout nor a
//! kill can leave one key updated without the other, or a half-written value.
//!
//! With a lease (two replicas, see [`crate::replicas::lease`]) the write is instead one Lua script,
//! [`GUARDED_WRITE`]: it checks that the lease still holds our token, extends it, and sets
//! both keys. A script runs atomically too, and it closes the gap a `MULTI` would leave
//! between checking the lease and writing (a `WATCH` on the lock would also do, at the cost
//! of a round-trip and a retry loop). Either the check passes and both keys are written, or
//! nothing is.
//!
//! The history ([`crate::write::history`]) rides along: when the caller passes its
//! bytes, the same transaction or script sets `<key>:history` too.

use redis::Script;
use status_document::keys::{history_key, last_good_key};

use crate::redis_call::RedisCallError;
use crate::replicas::guard::{WriteGuard, millis};
use crate::replicas::target::Primary;

/// Writes the document only if the lease allows it. KEYS: status, last_good, lock, and
/// optionally history. ARGV: token, json, ttl_s, lease_ms, allow_unheld ("1": a free lease
/// is fine too), and optionally the history's json. Returns 1 if written, 0 if another
/// replica holds the lease (or ours ran out).
pub const GUARDED_WRITE: &str = r"
local holder = redis.call('GET', KEYS[3])
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[3], ARGV[4])
elseif holder or ARGV[5] ~= '1' then
  return 0
end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
redis.call('SET', KEYS[2], ARGV[2])
if KEYS[4] and ARGV[6] then
  redis.call('SET', KEYS[4], ARGV[6])
end
return 1
";

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
    pub history: String,
}

impl Keys {
    pub fn new(status: &str, interval: &str) -> Keys {
        Keys {
            status: status.to_owned(),
            last_good: last_good_key(status),
            history: history_key(status),
            interval: interval.to_owned(),
        }
    }
}

pub struct Sink {
    primary: Primary,
    keys: Keys,
    guarded_write: Script,
}

impl Sink {
    /// Writes through `primary` (whose calls carry the configured timeout).
    pub fn new(primary: Primary, keys: Keys) -> Sink {
        Sink {
            primary,
            keys,
            guarded_write: Script::new(GUARDED_WRITE),
        }
    }

    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    /// The shared connection (for the lease, which lives on the same Redis).
    pub fn primary(&self) -> Primary {
        self.primary.clone()
    }

    /// The raw value of the interval override key, if set.
    pub async fn interval_override(&self) -> Result<Option<String>, RedisCallError> {
        let mut get = redis::cmd("GET");
        get.arg(&self.keys.interval);
        let raw = self
            .primary
            .call("GET interval", async |mut conn| {
                get.query_async::<Option<Vec<u8>>>(&mut conn).await
            })
            .await?;
        Ok(raw.map(|b| String::from_utf8_lossy(&b).into_owned()))
    }

    /// The document as stored now (`None` when the key is missing).
    pub async fn current(&self) -> Result<Option<Vec<u8>>, RedisCallError> {
        let mut get = redis::cmd("GET");
        get.arg(&self.keys.status);
        self.primary
            .call("GET status", async |mut conn| {
                get.query_async::<Option<Vec<u8>>>(&mut conn).await
            })
            .await
    }

    /// Writes the document and its last-known-good copy (and the history, when given) in
    /// one atomic step: a transaction, or with a lease, the [`GUARDED_WRITE`] script.
    pub async fn publish(
        &self,
        json: &[u8],
        ttl_s: u64,
        guard: Option<&WriteGuard>,
        history: Option<&[u8]>,
    ) -> Result<Published, RedisCallError> {
        if let Some(guard) = guard {
            let mut call = self.guarded_write.key(&self.keys.status);
            call.key(&self.keys.last_good)
                .key(&guard.lock_key)
                .arg(&guard.token)
                .arg(json)
                .arg(ttl_s)
                .arg(millis(guard.lease))
                .arg(if guard.allow_unheld { "1" } else { "0" });
            if let Some(history) = history {
                call.key(&self.keys.history).arg(history);
            }
            let written: i64 = self.primary.run_script("guarded write", &call).await?;
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
        if let Some(history) = history {
            write
                .cmd("SET")
                .arg(&self.keys.history)
                .arg(history)
                .ignore();
        }
        self.primary
            .call("MULTI/SET/SET/EXEC", async |mut conn| {
                write.query_async::<()>(&mut conn).await
            })
            .await?;
        Ok(Published::Written)
    }
}
