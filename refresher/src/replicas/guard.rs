//! The parameters of a guarded write, apart from the lease that hands them out.
//!
//! [`crate::replicas::lease`] makes a [`WriteGuard`] for the holder and
//! [`crate::write::document`] passes it to the `GUARDED_WRITE` script; both only need this
//! small piece, so the writer does not sit above the lease's whole protocol (and the lease
//! does not reach into `write/`).

use std::time::Duration;

/// The parameters of a guarded write: the lock key, our token, and the lease length.
#[derive(Debug, Clone)]
pub struct WriteGuard {
    pub lock_key: String,
    pub token: String,
    pub lease: Duration,
    /// Write also when nobody holds the lease (`--once`, which never holds one itself).
    pub allow_unheld: bool,
}

/// `d` in whole milliseconds for `PX`/`PEXPIRE`, never 0 (`SET ... PX 0` is an error and
/// `PEXPIRE 0` deletes the key).
pub fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn millis_never_zero() {
        assert_eq!(millis(Duration::ZERO), 1);
        assert_eq!(millis(Duration::from_secs(30)), 30_000);
    }
}
