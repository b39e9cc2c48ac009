//! `fermyon:spin/redis@2.0.0` on a real Redis, the way Spin implements it
//! (crate `spin-factor-outbound-redis`):
//!
//! * `open` checks the address against the component's `allowed_outbound_hosts` first and
//!   answers `invalid-address` when it is not allowed — no connection is attempted; an
//!   address the `redis` crate cannot parse is `invalid-address` too;
//! * every `open` makes a new multiplexed connection (Spin keeps no pool), which lives until
//!   the guest drops the resource or the store is dropped (the request's for WASIp2; for
//!   WASIp3 the reused instance's, so a connection the guest keeps serves later requests);
//! * command failures are `other(<redis error text>)` — including a `WRONGTYPE` reply to
//!   `GET`, exactly as Spin reports it; only `sadd` maps a type error to `type-error`.
//!
//! `rediss://` addresses connect over TLS (rustls), checked against the system trust store
//! (which honours `SSL_CERT_FILE`, as Spin's OpenSSL does) or the `--redis-ca-cert` bundle;
//! the allow-list must name the `rediss` scheme, as Spin's does.
//!
//! What Spin does not do and this host adds: every connect and every command has a timeout
//! (default 1 s), so a Redis that accepts and then stalls turns into `other("... timed
//! out ...")` within that bound instead of hanging the request; a host-wide bound on open
//! connections (`too-many-connections` beyond it); and a bound on a value read into the
//! host.

use std::sync::Arc;
use std::time::{Duration, Instant};

use redis::aio::MultiplexedConnection;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use wasmtime::component::Resource;

use crate::bindings::redis::{self as wit, Error, RedisParameter, RedisResult};
use crate::limits::{Call, Event, Stats};
use crate::outbound::{AllowedHosts, OutboundUrl};
use crate::view::RequestView;

/// Default timeout of a connect and of each command.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1);

/// Default bound on Redis connections open at once across all requests.
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;

/// Largest reply the host buffers for the guest (Spin's bound is larger; the reader's own
/// bound on a document is 256 KiB).
pub const MAX_REPLY_BYTES: usize = 16 * 1024 * 1024;

/// Host-wide Redis settings and state shared by every request's store.
#[derive(Debug)]
pub struct RedisOutbound {
    allowed: AllowedHosts,
    timeout: Duration,
    permits: Arc<Semaphore>,
    stats: Arc<Stats>,
    /// PEM CA bundle trusted for `rediss://` instead of the system store.
    ca_cert: Option<Vec<u8>>,
}

impl RedisOutbound {
    pub fn new(
        allowed: AllowedHosts,
        timeout: Duration,
        max_connections: usize,
        stats: Arc<Stats>,
    ) -> RedisOutbound {
        RedisOutbound {
            allowed,
            timeout,
            permits: Arc::new(Semaphore::new(max_connections)),
            stats,
            ca_cert: None,
        }
    }

    /// Trust only these PEM certificates for `rediss://` (`--redis-ca-cert`).
    pub fn with_ca_cert(mut self, pem: Vec<u8>) -> RedisOutbound {
        self.ca_cert = Some(pem);
        self
    }

    /// Opens a connection if `address` is allowed.
    pub(crate) async fn open(&self, address: &str) -> Result<RedisConnection, Error> {
        let Some(url) = OutboundUrl::parse(address, "redis") else {
            self.stats.count(Event::RedisRefused);
            tracing::warn!("redis open refused: the address does not parse");
            return Err(Error::InvalidAddress);
        };
        if !self.allowed.allows(&url) {
            self.stats.count(Event::RedisRefused);
            tracing::warn!(
                destination = %url,
                "redis open refused: destination is not in allowed_outbound_hosts"
            );
            return Err(Error::InvalidAddress);
        }
        let permit = self
            .permits
            .clone()
            .try_acquire_owned()
            .map_err(|_| Error::TooManyConnections)?;
        let client = client(address, self.ca_cert.as_deref()).ok_or(Error::InvalidAddress)?;
        let started = Instant::now();
        // redis-rs has its own connect (1 s) and response (500 ms) defaults underneath ours;
        // set both to the configured timeout so that the one bound operators set is the one
        // that applies, and a slow-but-alive Redis under load is not cut off early.
        let config = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(self.timeout))
            .set_response_timeout(Some(self.timeout));
        let connection = tokio::time::timeout(
            self.timeout,
            client.get_multiplexed_async_connection_with_config(&config),
        )
        .await;
        self.stats.redis_time(started.elapsed());
        match connection {
            Ok(Ok(connection)) => {
                self.stats.count(Event::RedisOpened);
                Ok(RedisConnection {
                    connection,
                    _permit: permit,
                })
            }
            Ok(Err(e)) if !e.is_timeout() => {
                self.stats.count(Event::RedisError);
                tracing::warn!(destination = %url, error = %e, "redis connect failed{}", tls_hint(&e));
                Err(Error::Other(e.to_string()))
            }
            Ok(Err(_)) | Err(_) => {
                self.stats.count(Event::RedisTimeout);
                tracing::warn!(destination = %url, timeout = ?self.timeout, "redis connect timed out");
                Err(Error::Other(format!(
                    "connect timed out after {} ms",
                    self.timeout.as_millis()
                )))
            }
        }
    }

    /// Runs one command with the timeout, mapping failures the way Spin does.
    pub(crate) async fn run<T, F>(
        &self,
        operation: &'static str,
        future: F,
        map_error: fn(redis::RedisError) -> Error,
    ) -> Result<T, Error>
    where
        F: Future<Output = redis::RedisResult<T>>,
    {
        let (stats, timeout) = (&self.stats, self.timeout);
        run_bounded(
            "redis",
            operation,
            future,
            stats,
            Some(timeout),
            map_error,
            Error::Other,
        )
        .await
    }
}

/// Runs one command of either Redis interface (`interface` names it in the log) within
/// `timeout` (`None`: for as long as it takes, as Spin's key-value store does), counting its time and any failure in `stats`. A failure Redis or redis-rs
/// reports is `map_error(e)`; running out of time is `timed_out(text)`, and so is
/// redis-rs's own response timeout (set to the same bound when connecting), which fires
/// first at times: it is the same event and is reported the same way.
pub(crate) async fn run_bounded<T, E>(
    interface: &'static str,
    operation: &'static str,
    future: impl Future<Output = redis::RedisResult<T>>,
    stats: &Stats,
    timeout: Option<Duration>,
    map_error: impl FnOnce(redis::RedisError) -> E,
    timed_out: impl FnOnce(String) -> E,
) -> Result<T, E> {
    let started = Instant::now();
    let result = match timeout {
        Some(timeout) => tokio::time::timeout(timeout, future).await,
        None => Ok(future.await),
    };
    stats.redis_time(started.elapsed());
    match result {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) if !e.is_timeout() => {
            stats.count(Event::RedisError);
            tracing::debug!(operation, error = %e, "{interface} command failed");
            Err(map_error(e))
        }
        Ok(Err(_)) | Err(_) => {
            stats.count(Event::RedisTimeout);
            let ms = timeout.map_or(0, |t| t.as_millis());
            tracing::warn!(operation, timeout_ms = ms, "{interface} command timed out");
            Err(timed_out(format!("{operation} timed out after {ms} ms")))
        }
    }
}

/// A client for `address` (with the `--redis-ca-cert` bundle for `rediss://`), connecting exactly as Spin's outbound Redis does
/// (`Client::open(address)` and a multiplexed connection with redis-rs' defaults): the
/// handshake includes the `CLIENT SETINFO LIB-NAME/LIB-VER` pair redis-rs pipelines onto
/// every new connection, one round trip per request that Spin pays and so the benchmarks
/// charge too (Redis < 7.2 answers it with an error, which redis-rs ignores).
fn client(address: &str, ca_cert: Option<&[u8]>) -> Option<redis::Client> {
    match ca_cert {
        Some(ca) if address.starts_with("rediss://") => {
            let certificates = redis::TlsCertificates {
                client_tls: None,
                root_cert: Some(ca.to_vec()),
            };
            redis::Client::build_with_tls(address, certificates).ok()
        }
        _ => redis::Client::open(address).ok(),
    }
}

/// Reads `--redis-ca-cert`, refusing a file without a PEM certificate (so a wrong path is a
/// start-up error, not a failed handshake per request).
pub fn read_ca_cert(path: &std::path::Path) -> anyhow::Result<Vec<u8>> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject as _;
    let pem = std::fs::read(path)
        .map_err(|e| anyhow::anyhow!("--redis-ca-cert {}: {e}", path.display()))?;
    if CertificateDer::pem_slice_iter(&pem).next().is_none() {
        anyhow::bail!(
            "--redis-ca-cert {}: no PEM certificate in it",
            path.display()
        );
    }
    Ok(pem)
}

/// A pointer for the log when a connect failed in TLS (the reader itself only sees Spin's
/// `other(...)` text).
fn tls_hint(e: &redis::RedisError) -> &'static str {
    let text = e.to_string();
    if text.contains("UnknownIssuer") {
        "; TLS: the certificate's CA is not trusted (--redis-ca-cert / SSL_CERT_FILE)"
    } else if text.contains("NotValidForName") {
        "; TLS: the certificate does not name the host in redis_address"
    } else if text.contains("Expired") {
        "; TLS: the certificate has expired"
    } else {
        ""
    }
}

/// The host side of a guest's `connection` resource.
pub struct RedisConnection {
    connection: MultiplexedConnection,
    /// Held for the connection's lifetime: the host-wide connection bound.
    _permit: OwnedSemaphorePermit,
}

impl RedisConnection {
    /// A cheap handle on the same socket, so a command can run without holding a borrow
    /// of the resource table.
    pub(crate) fn handle(&self) -> MultiplexedConnection {
        self.connection.clone()
    }
}

pub(crate) fn other(e: redis::RedisError) -> Error {
    Error::Other(e.to_string())
}

pub(crate) fn type_or_other(e: redis::RedisError) -> Error {
    if e.kind() == redis::ErrorKind::UnexpectedReturnType || e.code() == Some("WRONGTYPE") {
        Error::TypeError
    } else {
        Error::Other(e.to_string())
    }
}

/// Refuses a reply of `size` bytes over [`MAX_REPLY_BYTES`], with the text both Redis
/// interfaces (this one and `key_value`) give as their `other(...)` error.
pub(crate) fn reply_within_limit(size: usize) -> Result<(), String> {
    if size > MAX_REPLY_BYTES {
        Err(format!(
            "query result of {size} bytes exceeds the host's limit of {MAX_REPLY_BYTES} bytes"
        ))
    } else {
        Ok(())
    }
}

/// Every typed command of the outbound Redis interface, the same in both versions
/// (`fermyon:spin/redis@2.0.0` here, `spin:redis@3.0.0` in `p3/redis.rs`): the method, the
/// Redis command it sends (`INCR` for `incr`, which Spin sends as `INCRBY key 1`), its
/// arguments in order, its result, how the budget counts it ([`Call`]) and how its failure maps.
/// `$generate` is the macro that writes one version's method for each row, so a command is
/// listed once and its two implementations cannot drift apart.
macro_rules! redis_commands {
    ($generate:ident) => {
        $generate! {
            publish "PUBLISH"(channel: String, payload: Vec<u8>) -> () = Command, other;
            get "GET"(key: String) -> Option<Vec<u8>> = Read, other;
            set "SET"(key: String, value: Vec<u8>) -> () = Command, other;
            incr "INCR"(key: String) -> i64 = Command, other;
            del "DEL"(keys: Vec<String>) -> u32 = Command, other;
            sadd "SADD"(key: String, values: Vec<String>) -> u32 = Command, type_or_other;
            smembers "SMEMBERS"(key: String) -> Vec<String> = Read, other;
            srem "SREM"(key: String, values: Vec<String>) -> u32 = Command, other;
        }
    };
}
pub(crate) use redis_commands;

impl RedisOutbound {
    /// One typed command (a row of [`redis_commands`]) on the guest's connection, as both
    /// interface versions run it: `name` is the Redis command, and a reply over [`MAX_REPLY_BYTES`] is refused before it is converted for the guest.
    pub(crate) async fn command<T: redis::FromRedisValue>(
        &self,
        mut c: MultiplexedConnection,
        name: &'static str,
        arguments: impl FnOnce(&mut redis::Cmd),
        map_error: fn(redis::RedisError) -> Error,
    ) -> Result<T, Error> {
        let mut cmd = redis::cmd(name);
        arguments(&mut cmd);
        let value = self
            .run(name, cmd.query_async::<redis::Value>(&mut c), map_error)
            .await?;
        reply_within_limit(reply_size(&value)).map_err(Error::Other)?;
        T::from_redis_value(value).map_err(|e| map_error(e.into()))
    }
}

/// The bytes a reply carries (strings, nested ones included).
pub(crate) fn reply_size(value: &redis::Value) -> usize {
    use redis::Value;
    match value {
        Value::BulkString(b) => b.len(),
        Value::SimpleString(s) => s.len(),
        Value::Array(items) | Value::Set(items) => items.iter().map(reply_size).sum(),
        _ => 0,
    }
}

/// The outbound Redis interface's view of a request.
type View<'a> = RequestView<'a, RedisOutbound>;

impl View<'_> {
    /// Counts `call` and hands out what running it needs: the app-wide part and a clone of
    /// the guest's connection (a cheap handle on the same socket), so the command can run
    /// without holding a borrow of the resource table. Both interface versions use it.
    pub(crate) fn command(
        &self,
        handle: &Resource<RedisConnection>,
        call: Call,
    ) -> Result<(Arc<RedisOutbound>, MultiplexedConnection), Error> {
        self.command_on(handle, call, |c, app| (app.clone(), c.handle()))
            .ok_or_else(|| Error::Other("could not find connection for resource".into()))
    }

    /// `open`, counted, the connection pushed into the request's table.
    pub(crate) fn opened(
        &mut self,
        connection: RedisConnection,
    ) -> Result<Resource<RedisConnection>, Error> {
        self.table
            .push(connection)
            .map_err(|_| Error::TooManyConnections)
    }
}

/// Writes `fermyon:spin/redis@2.0.0`'s method for each row of [`redis_commands`].
macro_rules! v2_methods {
    ($($name:ident $command:literal($($arg:ident: $ty:ty),*) -> $ret:ty = $call:ident, $map:ident;)*) => {$(
        async fn $name(
            &mut self,
            handle: Resource<RedisConnection>,
            $($arg: $ty),*
        ) -> Result<$ret, Error> {
            let (app, c) = self.command(&handle, Call::$call)?;
            let arguments = |cmd: &mut redis::Cmd| {
                $(cmd.arg(&$arg);)*
            };
            app.command(c, $command, arguments, $map).await
        }
    )*};
}

impl wit::Host for View<'_> {}

impl wit::HostConnection for View<'_> {
    async fn open(&mut self, address: String) -> Result<Resource<RedisConnection>, Error> {
        let connection = self.opening().open(&address).await?;
        self.opened(connection)
    }

    redis_commands!(v2_methods);

    async fn execute(
        &mut self,
        handle: Resource<RedisConnection>,
        command: String,
        arguments: Vec<RedisParameter>,
    ) -> Result<Vec<RedisResult>, Error> {
        let (app, c) = self.command(&handle, Call::Read)?;
        execute(&app, c, &command, arguments).await
    }

    async fn drop(&mut self, handle: Resource<RedisConnection>) -> wasmtime::Result<()> {
        self.table.delete(handle)?;
        Ok(())
    }
}

/// `execute`: any command, its reply flattened as Spin does and bounded in size (both
/// Redis interface versions).
pub(crate) async fn execute(
    app: &RedisOutbound,
    mut c: MultiplexedConnection,
    command: &str,
    arguments: Vec<RedisParameter>,
) -> Result<Vec<RedisResult>, Error> {
    let mut cmd = redis::cmd(command);
    for argument in arguments {
        match argument {
            RedisParameter::Int64(v) => cmd.arg(v),
            RedisParameter::Binary(v) => cmd.arg(v),
        };
    }
    let value = app
        .run("EXECUTE", cmd.query_async::<redis::Value>(&mut c), other)
        .await?;
    let mut results = Vec::new();
    let mut size = 0;
    flatten(value, &mut results, &mut size)?;
    reply_within_limit(size).map_err(Error::Other)?;
    Ok(results)
}

/// Flattens a reply into Spin's `redis-result` list, with the same conversions Spin makes
/// (arrays and sets flattened, doubles and big numbers as text, booleans as 0/1; maps,
/// attributes, verbatim strings and pushes refused).
fn flatten(value: redis::Value, out: &mut Vec<RedisResult>, size: &mut usize) -> Result<(), Error> {
    use redis::Value;
    let unsupported = |what: &str| Err(Error::Other(format!("Redis {what} type is not supported")));
    *size += std::mem::size_of::<RedisResult>();
    match value {
        Value::Nil => out.push(RedisResult::Nil),
        Value::Int(v) => out.push(RedisResult::Int64(v)),
        Value::BulkString(b) => {
            *size += b.len();
            out.push(RedisResult::Binary(b));
        }
        Value::SimpleString(s) => {
            *size += s.len();
            out.push(RedisResult::Status(s));
        }
        Value::Okay => out.push(RedisResult::Status("OK".into())),
        Value::Array(items) | Value::Set(items) => {
            for item in items {
                reply_within_limit(*size).map_err(Error::Other)?;
                flatten(item, out, size)?;
            }
        }
        Value::Double(v) => out.push(RedisResult::Binary(v.to_string().into_bytes())),
        Value::Boolean(v) => out.push(RedisResult::Int64(i64::from(v))),
        Value::BigNumber(v) => out.push(RedisResult::Binary(v.to_vec())),
        Value::Map(_) => return unsupported("Map"),
        Value::Attribute { .. } => return unsupported("Attribute"),
        Value::VerbatimString { .. } => return unsupported("verbatim string"),
        Value::Push { .. } => return unsupported("Pub/Sub"),
        Value::ServerError(e) => return Err(Error::Other(format!("{e:?}"))),
        _ => return unsupported("(unknown)"),
    }
    Ok(())
}
