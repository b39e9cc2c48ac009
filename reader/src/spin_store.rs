//! The [`Store`] over Spin's two Redis interfaces, written once for both builds.
//!
//! Spin 3 (WASIp2, spin-sdk 5) and Spin 4 (WASIp3, spin-sdk 7) offer the same calls — open
//! an outbound connection, `GET`, `TTL`; open the key-value store, `get` — under different
//! types, blocking in the one and async in the other. Each build describes its calls by
//! implementing [`SpinApi`] (`component/`, `component_p3/`); everything the reader decides
//! about them is here: which interface `redis_api` names, when to open, which connection to
//! reuse and when to drop it ([`kept`]), what to log, and how a failure is classified for
//! the response. A change to how the reader talks to Redis is made here, for both builds.
//!
//! Plain Rust, so the policy is unit-tested natively against a fake [`SpinApi`].

pub mod kept;

use std::cell::OnceCell;
use std::rc::Rc;

use crate::config::{Config, RedisApi};
use crate::store::{Store, StoreError, classify};

use self::kept::Kept;

/// The label the manifests grant (`key_value_stores = ["default"]`).
pub const STORE_LABEL: &str = "default";

/// Why a Spin call failed, with what the operator log says about it. Both SDKs' error
/// enums map onto this one-to-one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Outbound Redis: the address is malformed or not in `allowed_outbound_hosts`.
    InvalidAddress,
    TooManyConnections,
    /// Outbound Redis: the value has the wrong type for the command.
    TypeError,
    /// Key-value: the host has no more store handles to give.
    StoreTableFull,
    NoSuchStore,
    AccessDenied,
    /// Anything else, in the host's words (Spin reports `WRONGTYPE` replies here).
    Other(String),
    /// The WASIp3 build's `redis_timeout_ms` passed before the call ended.
    TimedOut,
}

/// Both SDKs' error enums have the same variants under their own types: one mapping for
/// each build's `api.rs`, written once. Each variant keeps its name; `Other` keeps the
/// host's words.
#[cfg_attr(not(target_arch = "wasm32"), allow(unused_macros))]
macro_rules! failure_from {
    ($redis:ident, $key_value:ident) => {
        $crate::spin_store::failure_from!(
            redis_failure: $redis => InvalidAddress, TooManyConnections, TypeError
        );
        $crate::spin_store::failure_from!(
            key_value_failure: $key_value => StoreTableFull, NoSuchStore, AccessDenied
        );
    };
    ($name:ident: $error:ident => $($variant:ident),*) => {
        fn $name(error: $error) -> $crate::spin_store::Failure {
            use $crate::spin_store::Failure;
            match error {
                $($error::$variant => Failure::$variant,)*
                $error::Other(message) => Failure::Other(message),
            }
        }
    };
}
#[cfg_attr(not(target_arch = "wasm32"), allow(unused_imports))]
pub(crate) use failure_from;

impl Failure {
    /// The log line's words. Never the address, which may carry credentials.
    fn message(&self) -> &str {
        match self {
            Failure::InvalidAddress => "invalid or not allowed address",
            Failure::TooManyConnections => "too many connections",
            Failure::TypeError => "value of the wrong type",
            Failure::StoreTableFull => "too many stores open",
            Failure::NoSuchStore => "no such store: the host defines no `default` key-value store",
            Failure::AccessDenied => {
                "access denied: the component's key_value_stores does not name `default`"
            }
            Failure::Other(message) => message,
            Failure::TimedOut => "timed out (redis_timeout_ms)",
        }
    }

    /// Logs the failure of `operation` on `interface` and classifies it for the response.
    fn log(&self, interface: &str, operation: &str) -> StoreError {
        let message = self.message();
        if *self == Failure::TimedOut {
            eprintln!("status-reader: {interface} {operation} {message}");
        } else {
            eprintln!("status-reader: {interface} {operation} failed: {message}");
        }
        classify(*self == Failure::TypeError, message)
    }
}

/// One build's Redis calls. The futures of the WASIp2 build are ready when first polled
/// (its calls block the guest); the WASIp3 build's race each call against the request's
/// deadline and fail with [`Failure::TimedOut`] when it passes.
#[allow(async_fn_in_trait)] // single-threaded guest: no caller needs `Send` futures
pub trait SpinApi {
    /// An outbound Redis connection (`spin:redis` / `fermyon:spin/redis`).
    type Connection;
    /// An open key-value store.
    type KeyValue;

    async fn connect(&self, url: &str) -> Result<Self::Connection, Failure>;
    async fn get(
        &self,
        connection: &Self::Connection,
        key: &str,
    ) -> Result<Option<Vec<u8>>, Failure>;
    /// `TTL key`; a reply that is not an integer is a [`Failure::Other`].
    async fn ttl(&self, connection: &Self::Connection, key: &str) -> Result<i64, Failure>;
    async fn open_key_value(&self, label: &str) -> Result<Self::KeyValue, Failure>;
    async fn key_value_get(
        &self,
        store: &Self::KeyValue,
        key: &str,
    ) -> Result<Option<Vec<u8>>, Failure>;
}

/// What the component instance keeps between requests: the outbound connection and the
/// key-value store, each opened by the first request that needs it (see [`kept`]).
pub struct Instance<A: SpinApi> {
    pub connection: Kept<A::Connection>,
    pub key_value: Kept<A::KeyValue>,
}

impl<A: SpinApi> Default for Instance<A> {
    fn default() -> Self {
        Instance {
            connection: Kept::default(),
            key_value: Kept::default(),
        }
    }
}

/// One request's [`Store`]: the interface `redis_api` names, its handle taken from the
/// instance (or opened) on the first read, so OPTIONS, 404, 405 and the static assets
/// never open one.
pub struct SpinStore<'r, 'l, A: SpinApi> {
    api: A,
    config: &'r Config<'l>,
    instance: &'r Instance<A>,
    backend: OnceCell<Backend<A>>,
}

enum Backend<A: SpinApi> {
    Outbound(Rc<A::Connection>),
    KeyValue(Rc<A::KeyValue>),
    /// Nothing to read through: `redis_api` is unknown, `redis_address` empty or the open
    /// failed (each logged once).
    Unavailable,
}

impl<A: SpinApi> Clone for Backend<A> {
    fn clone(&self) -> Self {
        match self {
            Backend::Outbound(c) => Backend::Outbound(Rc::clone(c)),
            Backend::KeyValue(s) => Backend::KeyValue(Rc::clone(s)),
            Backend::Unavailable => Backend::Unavailable,
        }
    }
}

impl<'r, 'l, A: SpinApi> SpinStore<'r, 'l, A> {
    pub fn new(api: A, config: &'r Config<'l>, instance: &'r Instance<A>) -> Self {
        SpinStore {
            api,
            config,
            instance,
            backend: OnceCell::new(),
        }
    }

    /// The request's backend, opened on first use. A request's reads run one after the
    /// other, so two opens for one request cannot overlap.
    async fn backend(&self) -> Backend<A> {
        if let Some(backend) = self.backend.get() {
            return backend.clone();
        }
        let backend = self.open().await;
        let _ = self.backend.set(backend.clone());
        backend
    }

    async fn open(&self) -> Backend<A> {
        match self.config.redis_api() {
            Some(RedisApi::Outbound) => {
                let Some(url) = self.config.redis_url() else {
                    eprintln!("status-reader: redis_address is empty; answering redis_unavailable");
                    return Backend::Unavailable;
                };
                let connection = &self.instance.connection;
                let opened = connection.get_or_open(url, || self.api.connect(url));
                settle_open(opened.await, "redis", "connect")
                    .map_or(Backend::Unavailable, Backend::Outbound)
            }
            Some(RedisApi::KeyValue) => {
                let store = &self.instance.key_value;
                let opened =
                    store.get_or_open(STORE_LABEL, || self.api.open_key_value(STORE_LABEL));
                settle_open(opened.await, "key-value", "open")
                    .map_or(Backend::Unavailable, Backend::KeyValue)
            }
            None => {
                eprintln!(
                    "status-reader: redis_api must be `outbound` or `key_value`; \
                     answering redis_unavailable"
                );
                Backend::Unavailable
            }
        }
    }
}

/// An open's outcome, its failure logged (nothing was kept, so nothing to drop).
fn settle_open<H>(
    opened: Result<Rc<H>, Failure>,
    interface: &str,
    operation: &str,
) -> Option<Rc<H>> {
    opened.map_err(|e| e.log(interface, operation)).ok()
}

/// A call's outcome: a failure is logged, classified, and takes the handle it was made on
/// out of the instance, so the next request opens a fresh one (a timed-out call may have
/// left the connection with an answer still to come, or wedged).
fn settle<T, H>(
    kept: &Kept<H>,
    handle: &Rc<H>,
    interface: &str,
    operation: &str,
    outcome: Result<T, Failure>,
) -> Result<T, StoreError> {
    outcome.map_err(|e| {
        kept.forget(handle);
        e.log(interface, operation)
    })
}

impl<A: SpinApi> Store for SpinStore<'_, '_, A> {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        match self.backend().await {
            Backend::Outbound(c) => {
                let outcome = self.api.get(&c, key).await;
                settle(&self.instance.connection, &c, "redis", "GET", outcome)
            }
            Backend::KeyValue(s) => {
                let outcome = self.api.key_value_get(&s, key).await;
                settle(&self.instance.key_value, &s, "key-value", "get", outcome)
            }
            Backend::Unavailable => Err(StoreError::Unavailable),
        }
    }

    async fn ttl(&self, key: &str) -> Result<Option<i64>, StoreError> {
        match self.backend().await {
            Backend::Outbound(c) => {
                let outcome = self.api.ttl(&c, key).await;
                settle(&self.instance.connection, &c, "redis", "TTL", outcome).map(Some)
            }
            // Spin's key-value interface has get/set/delete/exists/get-keys: no TTL.
            Backend::KeyValue(_) => Ok(None),
            Backend::Unavailable => Err(StoreError::Unavailable),
        }
    }
}

#[cfg(test)]
mod tests;
