//! The lease that lets two (or more) refresher replicas share one job: only the holder reads
//! the database and writes the document.
//!
//! The lease is one Redis key, `<status key>:lock`, holding the holder's token (random per
//! process, see [`replica_token`]) with a time to live:
//!
//! - **acquire**: `SET <lock> <token> NX PX <lease_ms>`; it succeeds only if nobody holds it.
//! - **renew**: a compare-and-extend script (`PEXPIRE` only if the value is still our token),
//!   run every third of the lease, so the lease survives a holder that is only slow.
//! - **write**: the document is written by a script that checks the token and sets both the
//!   document and its `:last_good` copy in one atomic step (see [`crate::write::document`]), so a holder
//!   that was paused past its lease (GC, SIGSTOP, a slow disk) cannot overwrite what the new
//!   holder wrote.
//! - **release**: a compare-and-delete script at shutdown, so a holder never deletes a lease
//!   that has meanwhile passed to another replica.
//!
//! A replica that is not the holder waits until the lease's remaining time has run out (at
//! most a third of the lease between looks) and tries again, so when the holder dies the
//! other takes over within one lease period of the holder's last renewal.

use std::time::{Duration, Instant};

use redis::Script;
use status_document::keys::lock_key;

use crate::redis_call::RedisCallError;
use crate::replicas::guard::{WriteGuard, millis};
use crate::replicas::target::Primary;

/// Renews only if the lease is still ours: `1` if extended, `0` if not ours any more.
const EXTEND: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
";

/// Deletes the lease only if it is still ours.
const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
";

/// Extra wait after the lease's remaining time, so a look lands after the expiry.
const EXPIRY_SLACK: Duration = Duration::from_millis(20);
/// Shortest wait between looks at a held lease (keeps a bad clock from spinning).
const MIN_RETRY: Duration = Duration::from_millis(50);

/// What a look at the lease found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeaseState {
    /// We hold it; `acquired` if we just took it over (rather than renewed it).
    Held { acquired: bool },
    /// Another replica holds it; look again after `retry_in`.
    Standby {
        holder: Option<String>,
        retry_in: Duration,
    },
}

pub struct Lease {
    /// The document's Redis (its calls carry the configured timeout).
    primary: Primary,
    key: String,
    token: String,
    duration: Duration,
    /// Until when we hold it, as far as we know (measured from before the last renewal).
    held_until: Option<Instant>,
    extend: Script,
    release: Script,
}

impl Lease {
    pub fn new(primary: Primary, status_key: &str, token: String, duration: Duration) -> Lease {
        Lease {
            primary,
            key: lock_key(status_key),
            token,
            duration,
            held_until: None,
            extend: Script::new(EXTEND),
            release: Script::new(RELEASE),
        }
    }

    pub fn key(&self) -> &str {
        &self.key
    }

    pub fn token(&self) -> &str {
        &self.token
    }

    /// How often the holder renews.
    pub fn renew_every(&self) -> Duration {
        self.duration / 3
    }

    /// Whether we hold the lease right now, as far as we know.
    pub fn held(&self) -> bool {
        self.held_until.is_some_and(|t| Instant::now() < t)
    }

    /// The guard for a write by the holder.
    pub fn guard(&self) -> WriteGuard {
        WriteGuard {
            lock_key: self.key.clone(),
            token: self.token.clone(),
            lease: self.duration,
            allow_unheld: false,
        }
    }

    /// A guarded write was refused: the lease is not ours any more.
    pub fn lost(&mut self) {
        self.held_until = None;
    }

    /// A successful guarded write also extended the lease.
    pub fn extended_at(&mut self, started: Instant) {
        self.held_until = Some(started + self.duration);
    }

    /// Renews the lease if we hold it, else tries to acquire it. A Redis failure leaves what
    /// we know unchanged: if we held the lease, we still do until it would have run out.
    pub async fn ensure(&mut self) -> Result<LeaseState, RedisCallError> {
        let started = Instant::now();
        let lease_ms = millis(self.duration);
        if self.held_until.is_some() {
            let mut call = self.extend.key(&self.key);
            call.arg(&self.token).arg(lease_ms);
            let extended: i64 = self.primary.run_script("lease renew", &call).await?;
            if extended == 1 {
                self.held_until = Some(started + self.duration);
                return Ok(LeaseState::Held { acquired: false });
            }
            self.held_until = None;
        }
        let mut pipe = redis::pipe();
        pipe.cmd("SET")
            .arg(&self.key)
            .arg(&self.token)
            .arg("NX")
            .arg("PX")
            .arg(lease_ms)
            .cmd("GET")
            .arg(&self.key)
            .cmd("PTTL")
            .arg(&self.key);
        let (set, holder, pttl): (Option<String>, Option<String>, i64) = self
            .primary
            .call("lease acquire", async |mut conn| {
                pipe.query_async(&mut conn).await
            })
            .await?;
        if set.is_some() {
            self.held_until = Some(started + self.duration);
            return Ok(LeaseState::Held { acquired: true });
        }
        // PTTL is -2 if the lease vanished between the calls, -1 if someone set it without
        // expiry (not us): look again soon, or after a full lease.
        let remaining = match pttl {
            ms if ms >= 0 => Duration::from_millis(ms.unsigned_abs()) + EXPIRY_SLACK,
            -2 => MIN_RETRY,
            _ => self.duration,
        };
        Ok(LeaseState::Standby {
            holder,
            retry_in: remaining.clamp(MIN_RETRY, self.renew_every().max(MIN_RETRY)),
        })
    }

    /// Gives the lease up if we hold it (at shutdown), so the other replica need not wait
    /// for it to expire.
    pub async fn release(&mut self) -> Result<bool, RedisCallError> {
        if self.held_until.take().is_none() {
            return Ok(false);
        }
        let mut call = self.release.key(&self.key);
        call.arg(&self.token);
        let deleted: i64 = self.primary.run_script("lease release", &call).await?;
        Ok(deleted == 1)
    }
}

/// This process's identity in the lease: `<host>-<pid>-<random>`. The host and pid are
/// there for the operator reading `GET <key>:lock`; the random part makes it unique even
/// when a pid is reused.
pub fn replica_token() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let host: String = host
        .trim()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.'))
        .take(64)
        .collect();
    let host = if host.is_empty() { "host".into() } else { host };
    format!("{host}-{}-{:016x}", std::process::id(), fastrand::u64(..))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_unique_and_printable() {
        let a = replica_token();
        let b = replica_token();
        assert_ne!(a, b);
        assert!(a.contains(&format!("-{}-", std::process::id())), "{a}");
        assert!(a.chars().all(|c| c.is_ascii_graphic()), "{a}");
    }
}
