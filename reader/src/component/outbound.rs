//! `fermyon:spin/redis@2.0.0`: Spin opens a new connection for every `open` (a connect and
//! a handshake per request), and sets no timeout on it.

use spin_sdk::redis::{Connection, Error as RedisError, RedisParameter, RedisResult};

use crate::store::{StoreError, classify};

/// One request's outbound connection; `None` when the open failed (already logged).
pub struct Outbound(Option<Connection>);

impl Outbound {
    /// Opens a connection to `url` (`None`: no `redis_address` configured).
    pub fn open(url: Option<&str>) -> Outbound {
        let Some(url) = url else {
            eprintln!("status-reader: redis_address is empty; answering redis_unavailable");
            return Outbound(None);
        };
        Outbound(
            Connection::open(url)
                .map_err(|e| log_redis_error("connect", &e))
                .ok(),
        )
    }

    fn connection(&self) -> Result<&Connection, StoreError> {
        self.0.as_ref().ok_or(StoreError::Unavailable)
    }

    pub fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.connection()?
            .get(key)
            .map_err(|e| log_redis_error("GET", &e))
    }

    pub fn ttl(&self, key: &str) -> Result<i64, StoreError> {
        let results = self
            .connection()?
            .execute("TTL", &[RedisParameter::Binary(key.as_bytes().to_vec())])
            .map_err(|e| log_redis_error("TTL", &e))?;
        match results.first() {
            Some(RedisResult::Int64(ttl)) => Ok(*ttl),
            _ => Err(StoreError::Unavailable),
        }
    }
}

/// Logs a Redis failure (never the address, which may carry credentials) and classifies
/// it for the response.
fn log_redis_error(operation: &str, error: &RedisError) -> StoreError {
    let (type_error, message) = match error {
        RedisError::InvalidAddress => (false, "invalid or not allowed address"),
        RedisError::TooManyConnections => (false, "too many connections"),
        RedisError::TypeError => (true, "value of the wrong type"),
        RedisError::Other(message) => (false, message.as_str()),
    };
    eprintln!("status-reader: redis {operation} failed: {message}");
    classify(type_error, message)
}
