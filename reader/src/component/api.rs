//! Spin 3's Redis calls as the shared glue's [`SpinApi`]: `fermyon:spin/redis@2.0.0`
//! (outbound; Spin sets no timeout on it) and `fermyon:spin/key-value@2.0.0` (store
//! `default`; with a runtime config pointing it at Redis, Spin keeps one multiplexed,
//! auto-reconnecting connection for the app and reads raw keys). Each call blocks the guest
//! until the host answers, so every future here is ready when first polled.

use spin_sdk::key_value::{Error as KeyValueError, Store};
use spin_sdk::redis::{Connection, Error as RedisError, RedisParameter, RedisResult};

use crate::spin_store::{Failure, SpinApi};

/// Spin 3's calls: nothing per request to carry.
pub struct Spin3;

impl SpinApi for Spin3 {
    type Connection = Connection;
    type KeyValue = Store;

    async fn connect(&self, url: &str) -> Result<Connection, Failure> {
        Connection::open(url).map_err(redis_failure)
    }

    async fn get(&self, connection: &Connection, key: &str) -> Result<Option<Vec<u8>>, Failure> {
        connection.get(key).map_err(redis_failure)
    }

    async fn ttl(&self, connection: &Connection, key: &str) -> Result<i64, Failure> {
        let arguments = [RedisParameter::Binary(key.as_bytes().to_vec())];
        match connection
            .execute("TTL", &arguments)
            .map_err(redis_failure)?
            .first()
        {
            Some(RedisResult::Int64(ttl)) => Ok(*ttl),
            _ => Err(Failure::Other("TTL answered with no integer".into())),
        }
    }

    async fn open_key_value(&self, label: &str) -> Result<Store, Failure> {
        Store::open(label).map_err(key_value_failure)
    }

    async fn key_value_get(&self, store: &Store, key: &str) -> Result<Option<Vec<u8>>, Failure> {
        store.get(key).map_err(key_value_failure)
    }
}

crate::spin_store::failure_from!(RedisError, KeyValueError);
