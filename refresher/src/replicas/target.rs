//! The refresher's way to its Redis primary, shared by the document's writes
//! ([`crate::write::document`]), the lease ([`crate::replicas::lease`]), the refresh channel
//! ([`crate::replicas::subscription`]) and `refresh-now`: a fixed `REDIS_URL`, or the primary that
//! Redis Sentinel names (`REDIS_SENTINELS` + `REDIS_SENTINEL_MASTER`), looked up again
//! whenever a call says the primary may have moved.
//!
//! With a URL, [`Primary`] is one lazily connecting [`ConnectionManager`], as before. With
//! Sentinel it keeps the manager for the primary last named and forgets it after a call
//! that failed the way a moved primary makes calls fail: the connection refused, dropped,
//! or not answering within `STATUS_TIMEOUT`, or the server answering `READONLY` (a demoted
//! primary, now a replica) or `MASTERDOWN`. The next call asks the Sentinels again. A
//! failed call is not retried here: the refresh, lease look or subscription that made it
//! fails as it would with a URL, and its next attempt (the refresher's own backoff, 1 s at
//! first) goes to whichever primary the Sentinels name by then. During a failover they go
//! on naming the old primary until they have promoted a replica (`down-after-milliseconds`
//! plus an election), so the attempts in that window fail first; README gives the measured
//! gap.
//!
//! Why not redis-rs's `sentinel` feature: a [`ConnectionManager`] reconnects to the address
//! it was built with, so following a failover needs this layer above it either way; and
//! redis-rs's `SentinelClient` confirms a primary with `ROLE` (one more command on README's
//! ACL lines, on every node) and opens its connections without our deadline. The lookup here
//! is one command, `SENTINEL GET-MASTER-ADDR-BY-NAME`, asked of each Sentinel in turn (the
//! last one that answered first), each within its share of `STATUS_TIMEOUT`, so a lookup
//! never takes longer than one timeout however many Sentinels are down.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, ConnectionAddr, IntoConnectionInfo, RedisConnectionInfo, RedisResult};
use tokio::sync::Mutex;
use tracing::{info, warn};

use crate::config::{Redis, RedisTarget, RedisTls, SentinelSettings};
use crate::redis_call::{RedisCallError, bounded};

/// Reconnection attempts the manager makes per failed call; our own backoff does the rest.
const MANAGER_RETRIES: usize = 2;
/// Shortest time one Sentinel is given to answer a lookup.
const MIN_PER_SENTINEL: Duration = Duration::from_millis(100);

/// The Redis client for `url`: the one place connection settings are made. With a CA or a
/// client certificate (`rediss://` only, checked by the configuration) it is built with
/// them; otherwise a `rediss://` URL trusts the system's store (`SSL_CERT_FILE` /
/// `/etc/ssl/certs`).
pub fn client(url: &str, tls: &RedisTls) -> Result<Client, redis::RedisError> {
    match tls.certificates() {
        Some(certificates) => Client::build_with_tls(url, certificates),
        None => Client::open(url),
    }
}

fn new_manager(client: Client, timeout: Duration) -> RedisResult<ConnectionManager> {
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(timeout))
        .set_response_timeout(Some(timeout))
        .set_number_of_retries(MANAGER_RETRIES)
        .set_max_delay(Duration::from_secs(1));
    ConnectionManager::new_lazy_with_config(client, config)
}

/// The Redis primary, cheap to clone (every clone shares the connection and what Sentinel
/// said).
#[derive(Clone)]
pub struct Primary {
    inner: Arc<Inner>,
    timeout: Duration,
}

enum Inner {
    Fixed {
        client: Client,
        manager: ConnectionManager,
    },
    Sentinel(Followed),
}

/// The primary named by Sentinel, as far as we know.
struct Followed {
    settings: SentinelSettings,
    state: Mutex<Known>,
    /// Which Sentinel to ask first: the last one that answered.
    first: AtomicUsize,
}

#[derive(Default)]
struct Known {
    /// The primary's address and its connection, until a call says it moved.
    current: Option<(String, ConnectionManager)>,
    /// The address last named, to log a move once.
    last: Option<String>,
}

impl Primary {
    /// Prepares the connection without opening it (that happens on first use). Must be
    /// called inside the Tokio runtime. Fails only on a URL that does not parse, which the
    /// configuration has already ruled out.
    pub fn new(redis: &Redis, timeout: Duration) -> Result<Primary, redis::RedisError> {
        let inner = match &redis.target {
            RedisTarget::Url(url) => {
                let client = client(url, &redis.tls)?;
                let manager = new_manager(client.clone(), timeout)?;
                Inner::Fixed { client, manager }
            }
            RedisTarget::Sentinel(settings) => Inner::Sentinel(Followed {
                settings: settings.clone(),
                state: Mutex::new(Known::default()),
                first: AtomicUsize::new(0),
            }),
        };
        Ok(Primary {
            inner: Arc::new(inner),
            timeout,
        })
    }

    /// Runs one call on the primary within `STATUS_TIMEOUT` (a Sentinel lookup first, when
    /// one is needed, has a timeout of its own), naming `step` in the error.
    pub async fn call<T>(
        &self,
        step: &'static str,
        call: impl AsyncFnOnce(ConnectionManager) -> RedisResult<T>,
    ) -> Result<T, RedisCallError> {
        match &*self.inner {
            Inner::Fixed { manager, .. } => {
                bounded(self.timeout, step, call(manager.clone())).await
            }
            Inner::Sentinel(followed) => {
                let (addr, manager) = followed.current(self.timeout).await?;
                let result = bounded(self.timeout, step, call(manager)).await;
                if let Err(e) = &result
                    && moved(e)
                {
                    followed.forget(&addr, e).await;
                }
                result
            }
        }
    }

    /// Runs one Lua script call ([`redis::Script`] with its keys and arguments) as
    /// [`Primary::call`] does: the lease's renewal and release, the guarded write and the
    /// outbox's save all check and change keys in one atomic step this way.
    pub async fn run_script<T: redis::FromRedisValue>(
        &self,
        step: &'static str,
        script: &redis::ScriptInvocation<'_>,
    ) -> Result<T, RedisCallError> {
        self.call(step, async |mut conn| script.invoke_async(&mut conn).await)
            .await
    }

    /// A client for a connection of its own (the refresh channel's subscription,
    /// `refresh-now`): with Sentinel, for the primary named now (asked afresh each time, as
    /// such a connection is opened only after the last one was lost).
    pub async fn client(&self) -> Result<Client, RedisCallError> {
        match &*self.inner {
            Inner::Fixed { client, .. } => Ok(client.clone()),
            Inner::Sentinel(followed) => {
                let (host, port) = followed.lookup(self.timeout).await?;
                followed
                    .node_client(host, port)
                    .map_err(|error| RedisCallError::Redis {
                        step: "connect to the primary",
                        error,
                    })
            }
        }
    }
}

impl Followed {
    /// The primary's address and connection: the known one, or the one Sentinel names now.
    async fn current(
        &self,
        timeout: Duration,
    ) -> Result<(String, ConnectionManager), RedisCallError> {
        let mut known = self.state.lock().await;
        if let Some(current) = &known.current {
            return Ok(current.clone());
        }
        let (host, port) = self.lookup(timeout).await?;
        let addr = format!("{host}:{port}");
        let manager = self
            .node_client(host, port)
            .and_then(|client| new_manager(client, timeout))
            .map_err(|error| RedisCallError::Redis {
                step: "connect to the primary",
                error,
            })?;
        if known.last.as_deref() != Some(addr.as_str()) {
            info!(
                master = %self.settings.master,
                primary = %addr,
                previous = known.last.as_deref().unwrap_or(""),
                "Sentinel names the primary"
            );
            known.last = Some(addr.clone());
        }
        known.current = Some((addr.clone(), manager.clone()));
        Ok((addr, manager))
    }

    /// After a call to `addr` failed with `error`: ask Sentinel again on the next call
    /// (unless another call has already done so).
    async fn forget(&self, addr: &str, error: &RedisCallError) {
        let mut known = self.state.lock().await;
        if known.current.as_ref().is_some_and(|(a, _)| a == addr) {
            known.current = None;
            warn!(primary = %addr, error = %error, "the primary may have moved; asking Sentinel again");
        }
    }

    /// A client for a data node, with `REDIS_USERNAME` / `REDIS_PASSWORD`, database 0.
    fn node_client(&self, host: String, port: u16) -> RedisResult<Client> {
        let mut redis = RedisConnectionInfo::default();
        if let Some(user) = &self.settings.username {
            redis = redis.set_username(user);
        }
        if let Some(password) = &self.settings.password {
            redis = redis.set_password(password);
        }
        let info = ConnectionAddr::Tcp(host, port)
            .into_connection_info()?
            .set_redis_settings(redis);
        Client::open(info)
    }

    /// Asks the Sentinels in turn, each within its share of `timeout`, for the primary.
    async fn lookup(&self, timeout: Duration) -> Result<(String, u16), RedisCallError> {
        let sentinels = &self.settings.sentinels;
        let count = sentinels.len().max(1);
        let each = (timeout / u32::try_from(count).unwrap_or(u32::MAX)).max(MIN_PER_SENTINEL);
        let first = self.first.load(Ordering::Relaxed);
        let mut answers = Vec::with_capacity(count);
        for i in 0..sentinels.len() {
            let index = (first + i) % sentinels.len();
            let (host, port) = &sentinels[index];
            match ask(host, *port, &self.settings.master, each).await {
                Ok(Some(primary)) => {
                    self.first.store(index, Ordering::Relaxed);
                    return Ok(primary);
                }
                Ok(None) => answers.push(format!("{host}:{port} monitors no such master")),
                Err(why) => answers.push(format!("{host}:{port} {why}")),
            }
        }
        Err(RedisCallError::NoPrimary {
            master: self.settings.master.clone(),
            detail: answers.join("; "),
        })
    }
}

/// `SENTINEL GET-MASTER-ADDR-BY-NAME <master>` on one Sentinel, within `limit`: the primary's
/// address, `None` if it monitors no such master, or why it did not answer.
async fn ask(
    host: &str,
    port: u16,
    master: &str,
    limit: Duration,
) -> Result<Option<(String, u16)>, String> {
    let lookup = async {
        let client = Client::open(ConnectionAddr::Tcp(host.to_owned(), port))?;
        let mut conn = client.get_multiplexed_async_connection().await?;
        redis::cmd("SENTINEL")
            .arg("GET-MASTER-ADDR-BY-NAME")
            .arg(master)
            .query_async::<Option<(String, u16)>>(&mut conn)
            .await
    };
    match tokio::time::timeout(limit, lookup).await {
        Err(_) => Err(format!("did not answer within {limit:?}")),
        // A Sentinel's address holds no secret: its error can be shown whole.
        Ok(Err(e)) => Err(format!("failed: {e}")),
        Ok(Ok(answer)) => Ok(answer),
    }
}

/// Whether a failed call suggests the primary is elsewhere now.
fn moved(error: &RedisCallError) -> bool {
    match error {
        RedisCallError::Timeout { .. } => true,
        RedisCallError::Redis { error, .. } => {
            error.is_io_error()
                || error.is_connection_refusal()
                || error.is_connection_dropped()
                || error.is_timeout()
                || matches!(error.code(), Some("READONLY" | "MASTERDOWN"))
                // A script's write on a replica may come back as a script error quoting it.
                || error.to_string().contains("READONLY")
        }
        RedisCallError::NoPrimary { .. } => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redis_error(kind: redis::ErrorKind, text: &'static str) -> RedisCallError {
        RedisCallError::Redis {
            step: "t",
            error: redis::RedisError::from((kind, text)),
        }
    }

    #[test]
    fn what_counts_as_a_moved_primary() {
        let io = RedisCallError::Redis {
            step: "t",
            error: std::io::Error::from(std::io::ErrorKind::ConnectionRefused).into(),
        };
        assert!(moved(&io));
        assert!(moved(&RedisCallError::Timeout {
            step: "t",
            after: Duration::from_secs(1)
        }));
        let readonly = redis::RedisError::from((
            redis::ErrorKind::Server(redis::ServerErrorKind::ReadOnly),
            "You can't write against a read only replica.",
        ));
        assert!(moved(&RedisCallError::Redis {
            step: "t",
            error: readonly
        }));
        assert!(!moved(&redis_error(
            redis::ErrorKind::AuthenticationFailed,
            "WRONGPASS"
        )));
        assert!(!moved(&RedisCallError::NoPrimary {
            master: "m".into(),
            detail: String::new()
        }));
    }
}
