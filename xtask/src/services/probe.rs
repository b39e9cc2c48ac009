//! Is a MariaDB/MySQL or Redis server answering at an address?
//!
//! The probes tell three cases apart, because each calls for a different action: nothing is
//! listening (start a throwaway instance), the right server answers (use it), or something else
//! answers or refuses us (stop with a message that says what to fix).

use std::future::Future;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use mysql_async::prelude::Queryable;

use crate::endpoint::ServiceUrl;

/// Bound on every probe step (connect, each read and write, a login).
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

pub enum Probe {
    /// Nothing listens there (connection refused).
    Absent,
    /// The expected server answered; for MySQL the string is its version.
    Ready(String),
    /// Something answered, or the address cannot be reached, but it is not usable as is.
    Unusable(anyhow::Error),
}

fn resolve(host: &str, port: u16) -> Result<SocketAddr> {
    (host, port)
        .to_socket_addrs()
        .with_context(|| format!("cannot resolve {host}"))?
        .next()
        .ok_or_else(|| anyhow!("{host} resolves to no address"))
}

fn connect(host: &str, port: u16) -> std::result::Result<TcpStream, Probe> {
    let addr = resolve(host, port).map_err(Probe::Unusable)?;
    match TcpStream::connect_timeout(&addr, PROBE_TIMEOUT) {
        Ok(stream) => Ok(stream),
        Err(err) if err.kind() == ErrorKind::ConnectionRefused => Err(Probe::Absent),
        Err(err) => Err(Probe::Unusable(
            anyhow!(err).context(format!("cannot connect to {addr}")),
        )),
    }
}

/// Sends an inline `PING`. Any RESP reply means a Redis is there: `+PONG`, or an error such as
/// `-NOAUTH` when it wants credentials (which the URL carries to the refresher and reader).
pub fn redis(url: &ServiceUrl) -> Probe {
    let mut stream = match connect(url.host(), url.port_or(6379)) {
        Ok(s) => s,
        Err(probe) => return probe,
    };
    let mut exchange = || -> std::io::Result<Vec<u8>> {
        stream.set_read_timeout(Some(PROBE_TIMEOUT))?;
        stream.set_write_timeout(Some(PROBE_TIMEOUT))?;
        stream.write_all(b"PING\r\n")?;
        let mut buf = [0u8; 256];
        let n = stream.read(&mut buf)?;
        Ok(buf[..n].to_vec())
    };
    match exchange() {
        Ok(reply) if reply.starts_with(b"+PONG") => Probe::Ready("PONG".to_owned()),
        Ok(reply) if reply.starts_with(b"-") => {
            Probe::Ready(String::from_utf8_lossy(&reply).trim().to_owned())
        }
        Ok(_) => Probe::Unusable(anyhow!(
            "something listens on {} but does not answer like Redis",
            url.host()
        )),
        Err(err) => Probe::Unusable(anyhow!(err).context("no answer to PING")),
    }
}

/// Connects and logs in with the URL's credentials, then asks for the version: a server we
/// cannot log in to is no more use than none, but it needs a different fix.
pub fn mysql(url: &ServiceUrl) -> Probe {
    match connect(url.host(), url.port_or(3306)) {
        Ok(stream) => drop(stream),
        Err(probe) => return probe,
    }
    match block_on(mysql_version(url)).and_then(|r| r) {
        Ok(version) => Probe::Ready(version),
        Err(err) => Probe::Unusable(err),
    }
}

async fn mysql_version(url: &ServiceUrl) -> Result<String> {
    let opts = mysql_async::Opts::from_url(&url.expose())
        .map_err(|e| anyhow!("the MySQL URL is not valid: {e}"))?;
    let version = tokio::time::timeout(PROBE_TIMEOUT, async {
        let mut conn = mysql_async::Conn::new(opts).await?;
        let version: Option<String> = conn.query_first("SELECT VERSION()").await?;
        conn.disconnect().await?;
        Ok::<_, mysql_async::Error>(version.unwrap_or_default())
    })
    .await
    .map_err(|_| anyhow!("no login within {}s", PROBE_TIMEOUT.as_secs()))?
    .context("login failed")?;
    Ok(version)
}

/// Runs one async driver call to completion on a fresh single-threaded runtime: xtask is
/// synchronous everywhere else.
pub fn block_on<F: Future>(fut: F) -> Result<F::Output> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting a tokio runtime")?;
    Ok(runtime.block_on(fut))
}
