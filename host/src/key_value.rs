//! `fermyon:spin/key-value@2.0.0` on Redis, the way Spin 4.1 implements a store with
//! `type = "redis"` in the runtime config (crates `spin-factor-key-value`,
//! `spin-key-value-redis`):
//!
//! * one connection per store for the whole host, made on the first `open` and shared by
//!   every request: a multiplexed redis-rs `ConnectionManager` **without a response
//!   timeout**, which reconnects by itself after an I/O error (Redis restarted: a call
//!   during the outage fails; a later one succeeds) — and only then. A reply that never
//!   comes (a black-holed connection, a failed-over address, a proxy that lost the bytes)
//!   is no I/O error: that call waits for ever, and every later call of every request waits
//!   behind it on the same connection, until the process restarts. This is Spin's failure
//!   mode on the key-value backend, and this host keeps it so that the tests show it
//!   (`tests/tests/stalled_redis.rs`; docs/deploy.md says how an operator gets the restart);
//! * `open` of a label the component's `key_value_stores` does not list is `access-denied`;
//!   every other `open` sends a `PING` and ignores its answer, as Spin's `after_open` does —
//!   so a least-privilege user without `+ping` still works (its `PING` is refused, not the
//!   open), and a request costs a `PING` plus its `GET`;
//! * keys are raw Redis keys (no prefix), so the refresher's `server:status` reads as is;
//! * errors are `other(<redis error text>)`, a `WRONGTYPE` reply included.
//!
//! What Spin does not do and this host adds: the first connect and each reconnect attempt are
//! bounded by the host's Redis timeout (default 1 s), reconnects retry twice rather than six
//! times, and a reply read into the host is bounded. Commands are not: that is the point.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::sync::OnceCell;
use wasmtime::component::Resource;

use crate::bindings::key_value::{self as wit, Error};
use crate::limits::{Call, Event, Stats};
use crate::redis::{reply_size, reply_within_limit, run_bounded};
use crate::view::RequestView;

/// Connect attempts after the first, on the first connect and on every reconnect.
const RECONNECT_RETRIES: usize = 2;

/// Every store the component may open, with its backend.
#[derive(Debug)]
pub struct KeyValueStores {
    /// The component's `key_value_stores`.
    allowed: BTreeSet<String>,
    backends: HashMap<String, Arc<RedisStore>>,
    stats: Arc<Stats>,
}

impl KeyValueStores {
    /// `allowed` from the manifest, `redis` (label → URL) from the runtime config. An
    /// allowed label without a backend fails at `open` (Spin would use a SQLite file under
    /// `.spin/`, which holds no document: the reader must not read from it either).
    pub fn new(
        allowed: &[String],
        redis: &BTreeMap<String, String>,
        timeout: Duration,
        stats: Arc<Stats>,
    ) -> anyhow::Result<KeyValueStores> {
        let mut backends = HashMap::new();
        for (label, url) in redis {
            let client = redis::Client::open(url.as_str()).map_err(|e| {
                anyhow::anyhow!(
                    "key_value_store.{label}: not a valid Redis URL ({:?})",
                    e.kind()
                )
            })?;
            backends.insert(
                label.clone(),
                Arc::new(RedisStore {
                    client,
                    connection: OnceCell::new(),
                    timeout,
                    stats: stats.clone(),
                }),
            );
        }
        for label in allowed {
            if !backends.contains_key(label) {
                tracing::info!(
                    store = label,
                    "key-value store has no backend (no --runtime-config-file entry); opening it fails"
                );
            }
        }
        Ok(KeyValueStores {
            allowed: allowed.iter().cloned().collect(),
            backends,
            stats,
        })
    }
}

impl KeyValueStores {
    /// Opens `label` as Spin does: refused unless the component's `key_value_stores` names
    /// it, an error without a backend, then the shared connection (made on first use) and
    /// Spin's `after_open` PING, whose failure is ignored (the connection manager reconnects
    /// in the background after an I/O error). On success the PING was sent: one command.
    pub(crate) async fn open(&self, label: &str) -> Result<OpenStore, Error> {
        if !self.allowed.contains(label) {
            self.stats.count(Event::RedisRefused);
            tracing::warn!(
                store = label,
                "key-value open refused: not in key_value_stores"
            );
            return Err(Error::AccessDenied);
        }
        let Some(store) = self.backends.get(label).cloned() else {
            return Err(Error::Other(format!(
                "reader-host has no backend for key-value store {label:?}: pass \
                 --runtime-config-file with [key_value_store.{label}] type = \"redis\""
            )));
        };
        let connection = store.connection().await?;
        let _ = store
            .command::<()>(connection.clone(), "PING", |_| {})
            .await;
        Ok(OpenStore { store, connection })
    }
}

/// One Redis-backed store: the shared connection, made on first use.
#[derive(Debug)]
pub struct RedisStore {
    client: redis::Client,
    connection: OnceCell<ConnectionManager>,
    timeout: Duration,
    stats: Arc<Stats>,
}

impl RedisStore {
    /// The shared connection; the first caller connects (bounded by the timeout), and a
    /// failed first connect is retried by the next `open`.
    async fn connection(&self) -> Result<ConnectionManager, Error> {
        let connect = || async {
            // Spin keeps redis-rs' default of 6 retries with exponential backoff (about 6 s
            // of retrying behind a refused connect); two keep a refused or restarting Redis
            // a quick, truthful error ("Connection refused") within the host's timeout.
            let config = ConnectionManagerConfig::new()
                .set_connection_timeout(Some(self.timeout))
                // Spin's store sets none: a lost reply waits for ever (see the module docs).
                .set_response_timeout(None)
                .set_number_of_retries(RECONNECT_RETRIES);
            let started = Instant::now();
            let made = tokio::time::timeout(
                self.timeout,
                self.client.get_connection_manager_with_config(config),
            )
            .await;
            self.stats.redis_time(started.elapsed());
            match made {
                Ok(Ok(c)) => {
                    self.stats.count(Event::RedisOpened);
                    Ok(c)
                }
                Ok(Err(e)) => {
                    self.stats.count(Event::RedisError);
                    tracing::warn!(error = %e, "key-value store: redis connect failed");
                    Err(Error::Other(e.to_string()))
                }
                Err(_) => {
                    self.stats.count(Event::RedisTimeout);
                    tracing::warn!(timeout = ?self.timeout, "key-value store: redis connect timed out");
                    Err(Error::Other(format!(
                        "connect timed out after {} ms",
                        self.timeout.as_millis()
                    )))
                }
            }
        };
        self.connection.get_or_try_init(connect).await.cloned()
    }

    /// Runs one command (`name` with `arguments`) on the shared connection, as both
    /// interface versions do: with no timeout, as Spin's store has none; every failure is
    /// `other(<text>)`; a reply over the host's bound is refused.
    pub(crate) async fn command<T: redis::FromRedisValue>(
        &self,
        mut c: ConnectionManager,
        name: &'static str,
        arguments: impl FnOnce(&mut redis::Cmd),
    ) -> Result<T, Error> {
        let other = |e: redis::RedisError| Error::Other(e.to_string());
        let mut cmd = redis::cmd(name);
        arguments(&mut cmd);
        let value = run_bounded(
            "key-value",
            name,
            cmd.query_async::<redis::Value>(&mut c),
            &self.stats,
            None,
            other,
            Error::Other,
        )
        .await?;
        reply_within_limit(reply_size(&value)).map_err(Error::Other)?;
        T::from_redis_value(value).map_err(|e| other(e.into()))
    }
}

/// Every command of the key-value interface but `get-keys` (whose result each version hands
/// over differently), the same in both versions (`fermyon:spin/key-value@2.0.0` here,
/// `spin:key-value@3.0.0` in `p3/key_value.rs`): the method, the Redis command, its
/// arguments in order, its result and how the budget counts it. `$generate` writes one
/// version's method per row (see `crate::redis::redis_commands`).
macro_rules! key_value_commands {
    ($generate:ident) => {
        $generate! {
            get "GET"(key: String) -> Option<Vec<u8>> = Read;
            set "SET"(key: String, value: Vec<u8>) -> () = Command;
            delete "DEL"(key: String) -> () = Command;
            exists "EXISTS"(key: String) -> bool = Read;
        }
    };
}
pub(crate) use key_value_commands;

/// The host side of a guest's `store` resource: a handle on the shared connection.
pub struct OpenStore {
    store: Arc<RedisStore>,
    connection: ConnectionManager,
}

impl OpenStore {
    /// The store and a cheap handle on its connection, so a command can run without holding
    /// a borrow of the resource table.
    pub(crate) fn handles(&self) -> (Arc<RedisStore>, ConnectionManager) {
        (self.store.clone(), self.connection.clone())
    }
}

/// The key-value interface's view of a request.
type View<'a> = RequestView<'a, KeyValueStores>;

impl View<'_> {
    /// Counts `call` and hands out the store and a handle on its connection, so the command
    /// can run without holding a borrow of the resource table. Both interface versions use
    /// it.
    pub(crate) fn command(
        &self,
        handle: &Resource<OpenStore>,
        call: Call,
    ) -> Result<(Arc<RedisStore>, ConnectionManager), Error> {
        self.command_on(handle, call, |store, _| store.handles())
            .ok_or_else(|| Error::Other("could not find store for resource".into()))
    }

    /// An opened store (its `PING` counted) pushed into the request's table.
    pub(crate) fn opened(&mut self, store: OpenStore) -> Result<Resource<OpenStore>, Error> {
        self.counters.count(Call::Command); // the PING
        self.table.push(store).map_err(|_| Error::StoreTableFull)
    }
}

/// Writes `fermyon:spin/key-value@2.0.0`'s method for each row of [`key_value_commands`].
macro_rules! v2_methods {
    ($($name:ident $command:literal($($arg:ident: $ty:ty),*) -> $ret:ty = $call:ident;)*) => {$(
        async fn $name(
            &mut self,
            handle: Resource<OpenStore>,
            $($arg: $ty),*
        ) -> Result<$ret, Error> {
            let (store, c) = self.command(&handle, Call::$call)?;
            let arguments = |cmd: &mut redis::Cmd| {
                $(cmd.arg(&$arg);)*
            };
            store.command(c, $command, arguments).await
        }
    )*};
}

impl wit::Host for View<'_> {}

impl wit::HostStore for View<'_> {
    async fn open(&mut self, label: String) -> Result<Resource<OpenStore>, Error> {
        let store = self.opening().open(&label).await?;
        self.opened(store)
    }

    key_value_commands!(v2_methods);

    async fn get_keys(&mut self, handle: Resource<OpenStore>) -> Result<Vec<String>, Error> {
        let (store, c) = self.command(&handle, Call::Read)?;
        store.keys(c).await
    }

    async fn drop(&mut self, handle: Resource<OpenStore>) -> wasmtime::Result<()> {
        self.table.delete(handle)?;
        Ok(())
    }
}

impl RedisStore {
    /// `get-keys`: every key, as `KEYS *` (Spin's way), for both interface versions.
    pub(crate) async fn keys(&self, c: ConnectionManager) -> Result<Vec<String>, Error> {
        self.command(c, "KEYS", |cmd| {
            cmd.arg("*");
        })
        .await
    }
}
