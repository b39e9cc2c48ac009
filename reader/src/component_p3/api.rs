//! Spin 4's Redis calls as the shared glue's [`SpinApi`]: `spin:redis/redis@3.0.0`
//! (outbound; multiplexed, so the one connection an instance keeps serves its concurrent
//! requests; no timeout of Spin's own) and `spin:key-value/key-value@3.0.0` (store
//! `default`, as in Spin 3: raw keys, no TTL). Every call is async and raced against the
//! request's [`Deadline`], set by its first Redis call.

use std::cell::OnceCell;
use std::future::Future;

use spin_sdk_7::key_value::{Error as KeyValueError, Store};
use spin_sdk_7::redis::{Connection, Error as RedisError, RedisParameter, RedisResult};

use super::deadline::{Deadline, TimedOut};
use crate::spin_store::{Failure, SpinApi};

/// Spin 4's calls for one request, bounded by its deadline.
pub struct Spin4 {
    timeout_ms: u64,
    deadline: OnceCell<Deadline>,
}

impl Spin4 {
    pub fn new(timeout_ms: u64) -> Spin4 {
        Spin4 {
            timeout_ms,
            deadline: OnceCell::new(),
        }
    }

    /// Runs `call` within the request's deadline (starting it on the first call).
    async fn bounded<T, E>(
        &self,
        call: impl Future<Output = Result<T, E>>,
        failure: fn(E) -> Failure,
    ) -> Result<T, Failure> {
        let deadline = *self
            .deadline
            .get_or_init(|| Deadline::after_ms(self.timeout_ms));
        match deadline.run(call).await {
            Ok(outcome) => outcome.map_err(failure),
            Err(TimedOut) => Err(Failure::TimedOut),
        }
    }
}

impl SpinApi for Spin4 {
    type Connection = Connection;
    type KeyValue = Store;

    async fn connect(&self, url: &str) -> Result<Connection, Failure> {
        self.bounded(Connection::open(url), redis_failure).await
    }

    async fn get(&self, connection: &Connection, key: &str) -> Result<Option<Vec<u8>>, Failure> {
        self.bounded(connection.get(key), redis_failure).await
    }

    async fn ttl(&self, connection: &Connection, key: &str) -> Result<i64, Failure> {
        let arguments = [RedisParameter::Binary(key.as_bytes().to_vec())];
        let results = self
            .bounded(connection.execute("TTL", arguments), redis_failure)
            .await?;
        match results.first() {
            Some(RedisResult::Int64(ttl)) => Ok(*ttl),
            _ => Err(Failure::Other("TTL answered with no integer".into())),
        }
    }

    async fn open_key_value(&self, label: &str) -> Result<Store, Failure> {
        self.bounded(Store::open(label), key_value_failure).await
    }

    async fn key_value_get(&self, store: &Store, key: &str) -> Result<Option<Vec<u8>>, Failure> {
        self.bounded(store.get(key), key_value_failure).await
    }
}

crate::spin_store::failure_from!(RedisError, KeyValueError);
