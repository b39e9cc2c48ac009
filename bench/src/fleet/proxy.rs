//! A counting TCP proxy between the refresher and Redis: the bytes the refresher sends
//! (its commands, with every value it writes) and receives (replies, with every value it
//! reads), exactly and for this refresher alone. Redis's own `INFO stats`
//! (`total_net_input_bytes`) counts every client of the server, and the local Redis is
//! shared with other people's tests; Redis 7.0's `CLIENT LIST` has no per-client byte
//! counts.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context as _, bail};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// Bytes through the proxy so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Bytes {
    /// Refresher → Redis: commands and the values they write.
    pub to_redis: u64,
    /// Redis → refresher: replies and the values read.
    pub from_redis: u64,
}

impl Bytes {
    pub fn since(self, before: Bytes) -> Bytes {
        Bytes {
            to_redis: self.to_redis.saturating_sub(before.to_redis),
            from_redis: self.from_redis.saturating_sub(before.from_redis),
        }
    }
}

#[derive(Default)]
struct Counters {
    to_redis: AtomicU64,
    from_redis: AtomicU64,
}

/// The listening proxy; stops (with its connections) when dropped.
pub struct Proxy {
    pub addr: SocketAddr,
    counters: Arc<Counters>,
    task: JoinHandle<()>,
}

impl Proxy {
    /// Listens on a loopback port and forwards every connection to `redis`.
    pub async fn start(redis: SocketAddr) -> anyhow::Result<Proxy> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .context("opening the Redis proxy")?;
        let addr = listener.local_addr()?;
        let counters = Arc::new(Counters::default());
        let shared = counters.clone();
        let task = tokio::spawn(async move {
            let mut connections = tokio::task::JoinSet::new();
            while let Ok((client, _)) = listener.accept().await {
                connections.spawn(forward(client, redis, shared.clone()));
            }
        });
        Ok(Proxy {
            addr,
            counters,
            task,
        })
    }

    pub fn bytes(&self) -> Bytes {
        Bytes {
            to_redis: self.counters.to_redis.load(Ordering::Relaxed),
            from_redis: self.counters.from_redis.load(Ordering::Relaxed),
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        // The accept task owns the connections' set: aborting it closes them all.
        self.task.abort();
    }
}

/// One client connection: both directions copied and counted until either side closes.
async fn forward(client: TcpStream, redis: SocketAddr, counters: Arc<Counters>) {
    let Ok(server) = TcpStream::connect(redis).await else {
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    let up = copy(client_read, server_write, counters.clone(), true);
    let down = copy(server_read, client_write, counters, false);
    // Either direction ending ends the connection (the other half is dropped with it).
    tokio::select! {
        _ = up => {}
        _ = down => {}
    }
}

async fn copy(
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    counters: Arc<Counters>,
    up: bool,
) -> std::io::Result<()> {
    let counter = if up {
        &counters.to_redis
    } else {
        &counters.from_redis
    };
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = from.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        counter.fetch_add(n as u64, Ordering::Relaxed);
        to.write_all(&buf[..n]).await?;
    }
}

/// `url` (a `redis://` URL) with its host and port replaced by `proxy`: user, password and
/// database number stay.
pub fn via(url: &str, proxy: SocketAddr) -> anyhow::Result<String> {
    let Some((scheme, rest)) = url.split_once("://") else {
        bail!("{url} is not a redis:// URL");
    };
    if scheme != "redis" {
        bail!("the fleet bench proxies plain redis:// only, not {scheme}://");
    }
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let user = authority.rsplit_once('@').map(|(user, _)| user);
    let mut out = format!("{scheme}://");
    if let Some(user) = user {
        out.push_str(user);
        out.push('@');
    }
    out.push_str(&proxy.to_string());
    if !path.is_empty() {
        out.push('/');
        out.push_str(path);
    }
    Ok(out)
}

/// The `host:port` a `redis://` URL points at (port 6379 when it names none).
pub fn target(url: &str) -> anyhow::Result<SocketAddr> {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split('/').next().unwrap_or(rest);
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    let with_port = if host.contains(':') {
        host.to_owned()
    } else {
        format!("{host}:6379")
    };
    std::net::ToSocketAddrs::to_socket_addrs(&with_port)
        .with_context(|| format!("resolving Redis at {with_port}"))?
        .next()
        .with_context(|| format!("no address for Redis at {with_port}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_go_through_the_proxy() {
        let proxy: SocketAddr = "127.0.0.1:4000".parse().unwrap();
        assert_eq!(
            via("redis://127.0.0.1:6379", proxy).unwrap(),
            "redis://127.0.0.1:4000"
        );
        assert_eq!(
            via("redis://u:p@10.0.0.1:6380/2", proxy).unwrap(),
            "redis://u:p@127.0.0.1:4000/2"
        );
        assert!(via("rediss://h:1", proxy).is_err());
        assert_eq!(
            target("redis://u:p@127.0.0.1/3").unwrap(),
            "127.0.0.1:6379".parse().unwrap()
        );
    }

    #[tokio::test]
    async fn the_proxy_counts_both_directions() {
        let echo = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let echo_addr = echo.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut s, _) = echo.accept().await.unwrap();
            let mut buf = [0u8; 5];
            s.read_exact(&mut buf).await.unwrap();
            s.write_all(b"ok").await.unwrap();
        });
        let proxy = Proxy::start(echo_addr).await.unwrap();
        let mut client = TcpStream::connect(proxy.addr).await.unwrap();
        client.write_all(b"hello").await.unwrap();
        let mut reply = [0u8; 2];
        client.read_exact(&mut reply).await.unwrap();
        assert_eq!(
            proxy.bytes(),
            Bytes {
                to_redis: 5,
                from_redis: 2
            }
        );
    }
}
