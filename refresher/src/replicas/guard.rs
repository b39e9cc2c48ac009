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

/// A Lua script of ours that writes only while the lease allows: `KEYS[2]` is the lock
/// (absent without a lease), `ARGV[1]` our token and `ARGV[2]` `"1"` when a free lease is
/// fine too; the script returns 0 (nothing written) when another replica holds the lease.
/// `$body` follows, with its own keys and arguments from `KEYS[3]`/`ARGV[3]` on. Pass the
/// arguments with [`lease_args`].
macro_rules! lease_checked {
    ($body:literal) => {
        concat!(
            r"
if KEYS[2] then
  local holder = redis.call('GET', KEYS[2])
  if holder ~= ARGV[1] and (holder or ARGV[2] ~= '1') then
    return 0
  end
end
",
            $body
        )
    };
}
pub(crate) use lease_checked;

/// The lock key and the first two arguments of a [`lease_checked`] script: `guard`'s, or
/// none and "a free lease is fine" without a lease.
pub fn lease_args(call: &mut redis::ScriptInvocation<'_>, guard: Option<&WriteGuard>) {
    match guard {
        Some(guard) => call
            .key(&guard.lock_key)
            .arg(&guard.token)
            .arg(if guard.allow_unheld { "1" } else { "0" }),
        None => call.arg("").arg("1"),
    };
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
