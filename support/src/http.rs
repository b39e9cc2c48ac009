//! One raw HTTP `GET` over a `TcpStream`, for readiness checks and probes of servers the
//! tools started themselves (loopback only).
//!
//! Raw on purpose: a probe must see exactly what the server sent, and must not pull an HTTP
//! client into xtask. The request is HTTP/1.0, so the answer is never chunked and the server
//! closes the connection after it; a timeout on every step and a cap on the bytes read keep
//! it bounded.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use anyhow::{Context, Result};

/// Most bytes read from one response (the status document is bounded at 256 KiB).
pub const MAX_RESPONSE_BYTES: u64 = 1 << 20;

/// A response: its status code and body (everything after the head).
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Response {
    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// `GET path` on `addr` with `timeout` on connecting, writing and each read.
pub fn get(addr: SocketAddr, path: &str, timeout: Duration) -> Result<Response> {
    let mut stream = TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    // One buffer, one write_all: `write!` on a socket may send the request in pieces, and a
    // strict server reading once would see half a request line.
    let request =
        format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\nAccept: application/json\r\n\r\n");
    stream.write_all(request.as_bytes())?;
    let mut raw = Vec::new();
    stream.take(MAX_RESPONSE_BYTES).read_to_end(&mut raw)?;
    parse(&raw)
}

fn parse(raw: &[u8]) -> Result<Response> {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .context("not an HTTP response: no end of headers")?;
    let head = String::from_utf8_lossy(&raw[..split]);
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .context("not an HTTP response: no status code")?;
    Ok(Response {
        status,
        body: raw[split + 4..].to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_status_and_body() {
        let r = parse(b"HTTP/1.1 503 Service Unavailable\r\nA: b\r\n\r\n{\"x\":1}").unwrap();
        assert_eq!((r.status, r.text().as_str()), (503, "{\"x\":1}"));
        assert!(parse(b"HTTP/1.1 200 OK\r\n").is_err());
        assert!(parse(b"garbage\r\n\r\n").is_err());
    }

    #[test]
    fn gets_from_a_real_socket() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            // Read the whole head: TCP may deliver it in more than one segment.
            let mut head = Vec::new();
            let mut buf = [0u8; 1024];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = s.read(&mut buf).unwrap();
                assert!(n > 0, "client closed before the end of its request head");
                head.extend_from_slice(&buf[..n]);
            }
            assert!(head.starts_with(b"GET /health HTTP/1.0\r\n"));
            s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                .unwrap();
        });
        let r = get(addr, "/health", Duration::from_secs(5)).unwrap();
        assert_eq!((r.status, r.text().as_str()), (200, "ok"));
        server.join().unwrap();
    }
}
