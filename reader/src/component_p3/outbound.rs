//! `spin:redis/redis@3.0.0` (async): as in Spin 3, a new connection for every `open` and no
//! timeout of Spin's own; here every call is raced against the request's [`Deadline`].

use spin_sdk_7::redis::{Connection, Error as RedisError, RedisParameter, RedisResult};

use super::deadline::{Deadline, TimedOut};
use crate::store::{StoreError, classify};

/// One request's outbound connection; `None` when the open failed (already logged).
pub struct Outbound(Option<Connection>);

impl Outbound {
    /// Opens a connection to `url` (`None`: no `redis_address` configured).
    pub fn open(url: Option<&str>, deadline: &Deadline) -> Outbound {
        let Some(url) = url else {
            eprintln!("status-reader: redis_address is empty; answering redis_unavailable");
            return Outbound(None);
        };
        let opened = deadline.run(Connection::open(url));
        Outbound(settle("connect", opened).ok())
    }

    fn connection(&self) -> Result<&Connection, StoreError> {
        self.0.as_ref().ok_or(StoreError::Unavailable)
    }

    pub fn get(&self, key: &str, deadline: &Deadline) -> Result<Option<Vec<u8>>, StoreError> {
        let connection = self.connection()?;
        settle("GET", deadline.run(connection.get(key)))
    }

    pub fn ttl(&self, key: &str, deadline: &Deadline) -> Result<i64, StoreError> {
        let connection = self.connection()?;
        let arguments = [RedisParameter::Binary(key.as_bytes().to_vec())];
        let results = settle("TTL", deadline.run(connection.execute("TTL", arguments)))?;
        match results.first() {
            Some(RedisResult::Int64(ttl)) => Ok(*ttl),
            _ => Err(StoreError::Unavailable),
        }
    }
}

/// A raced call's outcome as the store reports it, logged when it failed.
fn settle<T>(
    operation: &str,
    outcome: Result<Result<T, RedisError>, TimedOut>,
) -> Result<T, StoreError> {
    match outcome {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(log_redis_error(operation, &e)),
        Err(TimedOut) => {
            eprintln!("status-reader: redis {operation} timed out (redis_timeout_ms)");
            Err(StoreError::Unavailable)
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
