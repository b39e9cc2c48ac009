//! One Redis call under a deadline: what both the [`crate::write::document`] and the [`crate::replicas::lease`]
//! make of every command they send.
//!
//! The connection manager has its own timeouts, but its reconnect loop can outlast them;
//! wrapping each call in the configured STATUS_TIMEOUT is what keeps a refresh cycle (or a
//! lease renewal) to a known length. The error names the step, so a log line says which
//! call failed without quoting anything that could hold a secret.

use std::sync::OnceLock;
use std::time::Duration;

use tokio::time::timeout;

/// A Redis call that failed or ran out of time.
#[derive(Debug, thiserror::Error)]
pub enum RedisCallError {
    #[error("redis {step} timed out after {after:?}{}", timeout_hint())]
    Timeout { step: &'static str, after: Duration },
    #[error("redis {step} failed: {error}{}", hint(error))]
    Redis {
        step: &'static str,
        error: redis::RedisError,
    },
    /// No Sentinel named the primary (see [`crate::replicas::target`]); `detail` says what each
    /// one answered.
    #[error("no Sentinel named a primary for {master:?} (REDIS_SENTINEL_MASTER): {detail}")]
    NoPrimary { master: String, detail: String },
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

/// What to fix, for the errors whose cause is a setting: a TLS failure names the TLS
/// setting; a connection the server closed at once may be a TLS port spoken to in
/// plaintext (Redis closes those without a word).
fn hint(error: &redis::RedisError) -> String {
    let failure = crate::tls::rustls_cause(error)
        .map(crate::tls::Failure::of)
        .or_else(|| crate::tls::Failure::from_text(&error.to_string()));
    if let Some(failure) = failure {
        let why = failure.explain(
            "REDIS_CA_CERT, or the system store when it is not set",
            "REDIS_URL",
            "REDIS_CLIENT_CERT/REDIS_CLIENT_KEY",
        );
        return format!(" (TLS: {why})");
    }
    if error.is_connection_dropped() {
        return " (the server closed the connection; a Redis with TLS does so to plaintext \
                 clients: REDIS_URL must then be rediss://)"
            .to_owned();
    }
    String::new()
}

/// Whether this process's `REDIS_URL` is `rediss://` (set once at start by [`note_tls`]).
static TLS_URL: OnceLock<bool> = OnceLock::new();

/// Records whether Redis is spoken to in TLS, for [`timeout_hint`].
pub fn note_tls(redis_url: &str) {
    let _ = TLS_URL.set(redis_url.starts_with("rediss://"));
}

/// A TLS handshake with a plaintext port gets no answer at all (Redis waits for the end of
/// what it takes for an inline command), so it ends as a time-out: say so when TLS is on.
fn timeout_hint() -> &'static str {
    if TLS_URL.get().copied().unwrap_or(false) {
        " (REDIS_URL is rediss://: a TLS handshake with a plaintext port waits like this; \
         is the port in REDIS_URL a plaintext port?)"
    } else {
        ""
    }
}
