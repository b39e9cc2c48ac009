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

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use status_document::keys::last_good_key;
use tokio::time::timeout;

/// Reconnection attempts the manager makes per failed call; our own backoff does the rest.
const MANAGER_RETRIES: usize = 2;

#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    #[error("redis {step} timed out after {after:?}")]
    Timeout { step: &'static str, after: Duration },
    #[error("redis {step} failed: {error}")]
    Redis {
        step: &'static str,
        error: redis::RedisError,
    },
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
}

impl Sink {
    /// Prepares the connection without opening it (that happens on first use). Must be
    /// called inside the Tokio runtime. Fails only on a URL that does not parse, which the
    /// configuration has already ruled out.
    pub fn new(url: &str, timeout: Duration, keys: Keys) -> Result<Sink, redis::RedisError> {
        let client = redis::Client::open(url)?;
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
        })
    }

    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    /// The raw value of the interval override key, if set.
    pub async fn interval_override(&self) -> Result<Option<String>, SinkError> {
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

    /// Writes the document and its last-known-good copy in one transaction.
    pub async fn publish(&self, json: &[u8], ttl_s: u64) -> Result<(), SinkError> {
        let mut conn = self.manager.clone();
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
            .await
    }

    async fn bounded<T>(
        &self,
        step: &'static str,
        call: impl Future<Output = redis::RedisResult<T>>,
    ) -> Result<T, SinkError> {
        match timeout(self.timeout, call).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(error)) => Err(SinkError::Redis { step, error }),
            Err(_) => Err(SinkError::Timeout {
                step,
                after: self.timeout,
            }),
        }
    }
}
