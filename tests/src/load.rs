//! Keeping timed tests apart from the tests that load the machine.
//!
//! Every integration test runs in one binary, on parallel threads, beside tests of other
//! modules. Most wait for the condition they assert and do not mind a busy machine; a few
//! time something against a bound the product promises (a 503 within the Redis timeout, the
//! website seeing `offline` within the probe's bound), and one floods the host with ten
//! thousand requests. A timed test holds [`timed`] and a flood holds [`saturating`]: timed
//! tests run beside each other and beside everything else, never beside a flood.

use tokio::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

static LOAD: RwLock<()> = RwLock::const_new(());

/// Held for the whole of a test that times something against a bound.
pub async fn timed() -> RwLockReadGuard<'static, ()> {
    LOAD.read().await
}

/// [`timed`] for a plain `#[test]` (outside any async runtime).
pub fn timed_blocking() -> RwLockReadGuard<'static, ()> {
    LOAD.blocking_read()
}

/// Held for the whole of a test that saturates the CPU: no timed test runs meanwhile.
pub async fn saturating() -> RwLockWriteGuard<'static, ()> {
    LOAD.write().await
}
