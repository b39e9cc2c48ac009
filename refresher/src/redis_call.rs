//! One Redis call under a deadline: what both the [`crate::sink`] and the [`crate::lease`]
//! make of every command they send.
//!
//! The connection manager has its own timeouts, but its reconnect loop can outlast them;
//! wrapping each call in the configured STATUS_TIMEOUT is what keeps a refresh cycle (or a
//! lease renewal) to a known length. The error names the step, so a log line says which
//! call failed without quoting anything that could hold a secret.

use std::time::Duration;

use tokio::time::timeout;

/// A Redis call that failed or ran out of time.
#[derive(Debug, thiserror::Error)]
pub enum RedisCallError {
    #[error("redis {step} timed out after {after:?}")]
    Timeout { step: &'static str, after: Duration },
    #[error("redis {step} failed: {error}")]
    Redis {
        step: &'static str,
        error: redis::RedisError,
    },
}

/// Runs one Redis call with a timeout, naming the step in the error.
pub async fn bounded<T>(
    limit: Duration,
    step: &'static str,
    call: impl Future<Output = redis::RedisResult<T>>,
) -> Result<T, RedisCallError> {
    match timeout(limit, call).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(error)) => Err(RedisCallError::Redis { step, error }),
        Err(_) => Err(RedisCallError::Timeout { step, after: limit }),
    }
}
