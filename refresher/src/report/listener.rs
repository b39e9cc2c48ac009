//! The internal health and metrics listener: `GET /health` and `GET /metrics`.
//!
//! A deliberately tiny HTTP/1.1 server on a plain Tokio socket: probes and Prometheus send
//! one short request per connection, so the server reads one bounded request head, answers,
//! and closes (`Connection: close`). Everything is bounded: the head's size, the time to
//! read it and to write the answer, and the number of connections served at once. Nothing
//! here can slow the refresher down: the listener only reads [`Metrics`].
//!
//! It is meant for a private address (default `127.0.0.1:9464`); it serves no secrets, but
//! there is no reason to expose it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::time::timeout;

use crate::report::metrics::Metrics;

/// Largest request head read; anything longer gets 431.
const MAX_HEAD: usize = 8 * 1024;
/// Time a client has to send its request head, and to take the answer.
const IO_TIMEOUT: Duration = Duration::from_secs(5);
/// Connections served at once; more wait in the kernel's backlog.
const MAX_CONNECTIONS: usize = 32;

/// Binds `addr` (port 0 picks a free port; the bound address is returned).
pub async fn bind(addr: SocketAddr) -> std::io::Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    Ok((listener, bound))
}

/// Serves until the task is dropped.
pub async fn serve(listener: TcpListener, metrics: Arc<Metrics>) {
    let permits = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let Ok(permit) = Arc::clone(&permits).acquire_owned().await else {
            return;
        };
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Out of file descriptors and the like: wait instead of spinning.
                tracing::debug!(error = %e, "accepting a metrics connection");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let metrics = Arc::clone(&metrics);
        tokio::spawn(async move {
            let _ = timeout(IO_TIMEOUT * 2, handle(stream, &metrics)).await;
            drop(permit);
        });
    }
}

async fn handle(mut stream: TcpStream, metrics: &Metrics) -> std::io::Result<()> {
    let head = match timeout(IO_TIMEOUT, read_head(&mut stream)).await {
        Ok(Ok(Some(head))) => head,
        Ok(Ok(None)) => {
            return respond(
                &mut stream,
                431,
                "text/plain",
                "request head too large\n",
                false,
            )
            .await;
        }
        Ok(Err(e)) => return Err(e),
        Err(_) => return Ok(()),
    };
    let request_line = head.lines().next().unwrap_or("");
    let mut parts = request_line.split(' ');
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let path = target.split('?').next().unwrap_or("");
    let head_only = method == "HEAD";
    if method != "GET" && !head_only {
        return respond(
            &mut stream,
            405,
            "text/plain",
            "method not allowed\n",
            false,
        )
        .await;
    }
    match path {
        "/health" => {
            let (status, body) = metrics.health();
            respond(
                &mut stream,
                status.http_code(),
                "application/json",
                &body,
                head_only,
            )
            .await
        }
        "/metrics" => {
            let body = metrics.render();
            respond(
                &mut stream,
                200,
                "text/plain; version=0.0.4; charset=utf-8",
                &body,
                head_only,
            )
            .await
        }
        _ => respond(&mut stream, 404, "text/plain", "not found\n", head_only).await,
    }
}

/// Reads up to the blank line ending the head; `None` if it exceeds [`MAX_HEAD`].
async fn read_head(stream: &mut TcpStream) -> std::io::Result<Option<String>> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
        if buf.windows(4).any(|w| w == b"\r\n\r\n") || buf.windows(2).any(|w| w == b"\n\n") {
            break;
        }
        if buf.len() > MAX_HEAD {
            return Ok(None);
        }
    }
    Ok(Some(String::from_utf8_lossy(&buf).into_owned()))
}

async fn respond(
    stream: &mut TcpStream,
    code: u16,
    content_type: &str,
    body: &str,
    head_only: bool,
) -> std::io::Result<()> {
    let reason = match code {
        200 => "OK",
        404 => "Not Found",
        405 => "Method Not Allowed",
        431 => "Request Header Fields Too Large",
        _ => "Service Unavailable",
    };
    let mut out = format!(
        "HTTP/1.1 {code} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         Cache-Control: no-store\r\nConnection: close\r\n",
        body.len()
    );
    if code == 405 {
        out.push_str("Allow: GET, HEAD\r\n");
    }
    out.push_str("\r\n");
    if !head_only {
        out.push_str(body);
    }
    timeout(IO_TIMEOUT, async {
        stream.write_all(out.as_bytes()).await?;
        stream.shutdown().await
    })
    .await
    .unwrap_or(Ok(()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::metrics::Outcome;

    async fn get(addr: SocketAddr, request: &str) -> String {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(request.as_bytes()).await.unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).await.unwrap();
        out
    }

    #[tokio::test]
    async fn routes_and_bounds() {
        let metrics = Arc::new(Metrics::new(Duration::from_secs(60), Duration::ZERO));
        let (listener, addr) = bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let server = tokio::spawn(serve(listener, Arc::clone(&metrics)));

        let r = get(addr, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n").await;
        assert!(r.starts_with("HTTP/1.1 503 "), "{r}");
        assert!(r.ends_with("\"interval_s\":60}\n"), "{r}");
        metrics.record(Outcome::Ok {
            duration: Duration::from_millis(2),
        });
        let r = get(addr, "GET /health HTTP/1.1\r\n\r\n").await;
        assert!(r.starts_with("HTTP/1.1 200 OK\r\n"), "{r}");
        assert!(r.contains("\"status\":\"ok\""), "{r}");

        let r = get(addr, "GET /metrics HTTP/1.1\r\n\r\n").await;
        assert!(r.contains("text/plain; version=0.0.4"), "{r}");
        assert!(
            r.contains("status_refresher_refresh_total{result=\"ok\"} 1"),
            "{r}"
        );

        let r = get(addr, "HEAD /metrics HTTP/1.1\r\n\r\n").await;
        assert!(
            r.starts_with("HTTP/1.1 200 ") && r.ends_with("\r\n\r\n"),
            "{r}"
        );
        let r = get(addr, "POST /health HTTP/1.1\r\n\r\n").await;
        assert!(r.starts_with("HTTP/1.1 405 "), "{r}");
        let r = get(addr, "GET /nope HTTP/1.1\r\n\r\n").await;
        assert!(r.starts_with("HTTP/1.1 404 "), "{r}");
        // One byte past the bound, so the server has consumed all of it and closes
        // without a reset.
        let huge = format!("GET /health HTTP/1.1\r\nX: {}", "a".repeat(MAX_HEAD + 1000));
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(&huge.as_bytes()[..MAX_HEAD + 1]).await.unwrap();
        let mut r = Vec::new();
        let _ = s.read_to_end(&mut r).await;
        let r = String::from_utf8_lossy(&r);
        assert!(r.starts_with("HTTP/1.1 431 "), "{r}");
        server.abort();
    }
}
