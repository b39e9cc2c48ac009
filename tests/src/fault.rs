//! A TCP fault proxy: a fake for network faults only, never for the services behind it.
//!
//! [`FaultProxy::start`] listens on `127.0.0.1:0` and forwards every connection to a real
//! upstream (MariaDB, Redis, ...). Its [`Mode`] can be switched at any time:
//!
//! - [`Mode::Pass`]: bytes flow both ways untouched.
//! - [`Mode::Delay`]: every chunk waits the given time before it is forwarded.
//! - [`Mode::Stall`]: connections are accepted but nothing is forwarded or answered (a
//!   server that hangs, or a partition). Data is held, not lost: when the mode returns to
//!   `Pass`, held connections carry on. A connection accepted during the stall whose client
//!   gives up (closes) is let go, so a stall does not fill the proxy with abandoned ones.
//! - [`Mode::Reset`]: every open connection is aborted with a TCP RST, and new ones are
//!   accepted and reset at once (a server that crashed and restarted, as its clients see it).
//! - [`Mode::Refuse`]: open connections are reset and the listener is closed, so connects
//!   are refused; when the mode leaves `Refuse` the proxy listens again on the *same* port.
//!
//! Everything runs on a small runtime owned by the proxy, so plain `#[test]`s can use it and
//! async tests can too. Connections are bounded ([`FaultProxy::with_max_connections`]), and
//! dropping the proxy stops every task and closes every socket.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// Bound on connecting to the upstream.
const UPSTREAM_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Default bound on simultaneous proxied connections.
pub const DEFAULT_MAX_CONNECTIONS: usize = 64;
/// Size of the forwarding buffer per direction.
const CHUNK: usize = 16 * 1024;
/// How long re-listening on the old port may keep failing before the proxy gives up.
const RELISTEN_FOR: Duration = Duration::from_secs(5);

/// What the proxy does to traffic right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Pass,
    Delay(Duration),
    Stall,
    Reset,
    Refuse,
}

impl Mode {
    /// Modes in which open connections are torn down.
    fn kills(self) -> bool {
        matches!(self, Mode::Reset | Mode::Refuse)
    }
}

struct Shared {
    upstream: SocketAddr,
    max_connections: usize,
    active: AtomicUsize,
    accepted: AtomicU64,
    rejected: AtomicU64,
}

/// A running proxy; see the module docs.
pub struct FaultProxy {
    addr: SocketAddr,
    mode: watch::Sender<Mode>,
    shared: Arc<Shared>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl FaultProxy {
    /// Starts a proxy to `upstream` in [`Mode::Pass`].
    pub fn start(upstream: SocketAddr) -> FaultProxy {
        FaultProxy::with_max_connections(upstream, DEFAULT_MAX_CONNECTIONS)
    }

    /// Starts a proxy that holds at most `max_connections` connections at once; further
    /// connections are accepted and closed straight away.
    pub fn with_max_connections(upstream: SocketAddr, max_connections: usize) -> FaultProxy {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("fault-proxy")
            .enable_all()
            .build()
            .expect("cannot build the fault proxy runtime");
        let std_listener =
            std::net::TcpListener::bind("127.0.0.1:0").expect("cannot bind the fault proxy");
        std_listener
            .set_nonblocking(true)
            .expect("cannot make the listener non-blocking");
        let addr = std_listener.local_addr().expect("listener address");
        let shared = Arc::new(Shared {
            upstream,
            max_connections,
            active: AtomicUsize::new(0),
            accepted: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
        });
        let (mode, mode_rx) = watch::channel(Mode::Pass);
        {
            let _guard = runtime.enter();
            let listener =
                TcpListener::from_std(std_listener).expect("cannot register the listener");
            runtime.spawn(accept_loop(listener, addr, Arc::clone(&shared), mode_rx));
        }
        FaultProxy {
            addr,
            mode,
            shared,
            runtime: Some(runtime),
        }
    }

    /// Starts a proxy to a URL's host and port, e.g. `mysql://root@127.0.0.1:3306` or
    /// `redis://127.0.0.1:6379`.
    pub fn for_url(url: &str) -> FaultProxy {
        FaultProxy::start(upstream_of(url))
    }

    /// The address clients should connect to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `url` with its `host:port` replaced by this proxy's (user, password, path kept).
    pub fn rewrite_url(&self, url: &str) -> String {
        let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
        let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(authority_end);
        let userinfo = authority
            .rfind('@')
            .map(|at| &authority[..=at])
            .unwrap_or("");
        format!("{scheme}://{userinfo}{}{tail}", self.addr)
    }

    /// Switches the mode; takes effect on open connections too.
    pub fn set_mode(&self, mode: Mode) {
        self.mode.send_replace(mode);
    }

    pub fn mode(&self) -> Mode {
        *self.mode.borrow()
    }

    /// Connections open right now.
    pub fn active(&self) -> usize {
        self.shared.active.load(Ordering::SeqCst)
    }

    /// Connections accepted so far (including ones reset or rejected).
    pub fn accepted(&self) -> u64 {
        self.shared.accepted.load(Ordering::SeqCst)
    }

    /// Connections closed at once because `max_connections` were open.
    pub fn rejected(&self) -> u64 {
        self.shared.rejected.load(Ordering::SeqCst)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        // Cancels every task; their sockets close as the tasks are dropped. Background
        // shutdown so that dropping inside an async test does not block a runtime thread.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// The `host:port` of a URL (`scheme://[user[:pw]@]host[:port][/...]`), resolved.
pub fn upstream_of(url: &str) -> SocketAddr {
    use std::net::ToSocketAddrs;
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    let host_port = authority.rsplit('@').next().unwrap_or(authority);
    let default_port = if url.starts_with("redis") { 6379 } else { 3306 };
    let with_port = if host_port.contains(':') {
        host_port.to_owned()
    } else {
        format!("{host_port}:{default_port}")
    };
    with_port
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .unwrap_or_else(|| panic!("cannot resolve {with_port}"))
}

async fn accept_loop(
    listener: TcpListener,
    addr: SocketAddr,
    shared: Arc<Shared>,
    mut mode: watch::Receiver<Mode>,
) {
    let mut listener = Some(listener);
    loop {
        let current = *mode.borrow_and_update();
        if current == Mode::Refuse {
            // Closing the listener is what makes connects fail with ECONNREFUSED.
            listener = None;
            if mode.changed().await.is_err() {
                return;
            }
            continue;
        }
        if listener.is_none() {
            match relisten(addr).await {
                Some(l) => listener = Some(l),
                None => return,
            }
        }
        let Some(l) = listener.as_ref() else { return };
        tokio::select! {
            accepted = l.accept() => {
                let Ok((client, _)) = accepted else { continue };
                shared.accepted.fetch_add(1, Ordering::SeqCst);
                if shared.active.load(Ordering::SeqCst) >= shared.max_connections {
                    shared.rejected.fetch_add(1, Ordering::SeqCst);
                    abort(client);
                    continue;
                }
                shared.active.fetch_add(1, Ordering::SeqCst);
                let shared = Arc::clone(&shared);
                let mode = mode.clone();
                tokio::spawn(async move {
                    connection(client, &shared, mode).await;
                    shared.active.fetch_sub(1, Ordering::SeqCst);
                });
            }
            changed = mode.changed() => {
                if changed.is_err() {
                    return;
                }
            }
        }
    }
}

/// Binds the old port again (it may linger briefly after a close).
async fn relisten(addr: SocketAddr) -> Option<TcpListener> {
    let deadline = tokio::time::Instant::now() + RELISTEN_FOR;
    loop {
        match TcpListener::bind(addr).await {
            Ok(l) => return Some(l),
            Err(e) if tokio::time::Instant::now() >= deadline => {
                eprintln!("fault proxy: cannot listen on {addr} again: {e}");
                return None;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
}

/// Closes a socket with a TCP RST rather than a FIN.
fn abort(stream: TcpStream) {
    let _ = stream.set_zero_linger();
    drop(stream);
}

/// One proxied connection, from accept to close.
async fn connection(mut client: TcpStream, shared: &Shared, mut mode: watch::Receiver<Mode>) {
    // A connection accepted during a stall waits (without touching the upstream) until the
    // stall ends; one accepted in Reset is reset. What the client sends meanwhile is held
    // (up to one chunk) and forwarded first; a client that goes away while it waits is let
    // go, so a stall costs the proxy no connection that its client has given up.
    let mut held = Vec::new();
    loop {
        let current = *mode.borrow_and_update();
        match current {
            Mode::Pass | Mode::Delay(_) => break,
            Mode::Stall => {
                let mut buf = [0u8; 1024];
                let room = CHUNK.saturating_sub(held.len()).min(buf.len());
                tokio::select! {
                    changed = mode.changed() => {
                        if changed.is_err() {
                            return;
                        }
                    }
                    read = client.read(&mut buf[..room]), if room > 0 => match read {
                        Ok(0) | Err(_) => return,
                        Ok(n) => held.extend_from_slice(&buf[..n]),
                    },
                }
            }
            Mode::Reset | Mode::Refuse => return abort(client),
        }
    }
    let upstream = match tokio::time::timeout(
        UPSTREAM_CONNECT_TIMEOUT,
        TcpStream::connect(shared.upstream),
    )
    .await
    {
        Ok(Ok(s)) => s,
        _ => return abort(client),
    };
    let _ = client.set_nodelay(true);
    let _ = upstream.set_nodelay(true);
    let mut upstream = upstream;
    if !held.is_empty() && upstream.write_all(&held).await.is_err() {
        return abort(client);
    }
    let (mut client_read, mut client_write) = client.into_split();
    let (mut upstream_read, mut upstream_write) = upstream.into_split();
    let up = pump(&mut client_read, &mut upstream_write, mode.clone());
    let down = pump(&mut upstream_read, &mut client_write, mode.clone());
    let killed = async {
        loop {
            if mode.borrow_and_update().kills() {
                return;
            }
            if mode.changed().await.is_err() {
                return;
            }
        }
    };
    let reset = tokio::select! {
        _ = async { tokio::join!(up, down) } => false,
        _ = killed => true,
    };
    if reset
        && let (Ok(client), Ok(upstream)) = (
            client_read.reunite(client_write),
            upstream_read.reunite(upstream_write),
        )
    {
        abort(client);
        abort(upstream);
    }
}

/// Forwards one direction until EOF or an error, obeying the mode before every chunk.
async fn pump(
    from: &mut tokio::net::tcp::OwnedReadHalf,
    to: &mut tokio::net::tcp::OwnedWriteHalf,
    mut mode: watch::Receiver<Mode>,
) {
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        loop {
            let current = *mode.borrow_and_update();
            match current {
                Mode::Pass => break,
                Mode::Delay(d) => {
                    tokio::time::sleep(d).await;
                    break;
                }
                // Hold the chunk until the stall ends; a kill is handled by the caller.
                Mode::Stall | Mode::Reset | Mode::Refuse => {
                    if mode.changed().await.is_err() {
                        return;
                    }
                }
            }
        }
        if to.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
    let _ = to.shutdown().await;
}

#[cfg(test)]
mod tests;
