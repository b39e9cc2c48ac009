//! The proxy's modes against a local echo server, its connection bound, and URL rewriting.

use super::*;
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream as StdStream;
use std::time::Instant;

/// A tiny echo server on a background thread (one thread per connection).
fn echo_server() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { return };
            std::thread::spawn(move || {
                let mut buf = [0u8; 1024];
                while let Ok(n) = s.read(&mut buf) {
                    if n == 0 || s.write_all(&buf[..n]).is_err() {
                        return;
                    }
                }
            });
        }
    });
    addr
}

fn client(proxy: &FaultProxy) -> StdStream {
    let s = StdStream::connect(proxy.addr()).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    s
}

fn roundtrip(s: &mut StdStream, msg: &[u8]) -> std::io::Result<Vec<u8>> {
    s.write_all(msg)?;
    let mut buf = vec![0u8; msg.len()];
    s.read_exact(&mut buf)?;
    Ok(buf)
}

#[test]
fn modes_behave_as_documented() {
    let proxy = FaultProxy::start(echo_server());
    let mut a = client(&proxy);
    assert_eq!(roundtrip(&mut a, b"ping").unwrap(), b"ping");

    proxy.set_mode(Mode::Delay(Duration::from_millis(150)));
    let t = Instant::now();
    assert_eq!(roundtrip(&mut a, b"slow").unwrap(), b"slow");
    assert!(
        t.elapsed() >= Duration::from_millis(250),
        "{:?}",
        t.elapsed()
    );

    // Stall: accepted, nothing answered; healing delivers what was held.
    proxy.set_mode(Mode::Stall);
    let mut b = client(&proxy);
    let err = roundtrip(&mut b, b"held").unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
        "{err:?}"
    );
    proxy.set_mode(Mode::Pass);
    let mut buf = [0u8; 4];
    b.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"held");

    // Reset: open connections die, new ones are reset.
    proxy.set_mode(Mode::Reset);
    std::thread::sleep(Duration::from_millis(100));
    assert!(roundtrip(&mut a, b"dead").is_err());
    let mut c = client(&proxy);
    assert!(roundtrip(&mut c, b"dead").is_err());

    // Refuse: connects fail; healing listens again on the same port.
    proxy.set_mode(Mode::Refuse);
    std::thread::sleep(Duration::from_millis(100));
    let refused = StdStream::connect(proxy.addr()).unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::ConnectionRefused);
    proxy.set_mode(Mode::Pass);
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut d = loop {
        match StdStream::connect(proxy.addr()) {
            Ok(s) => break s,
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => panic!("not listening again: {e}"),
        }
    };
    d.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
    assert_eq!(roundtrip(&mut d, b"back").unwrap(), b"back");
}

#[test]
fn connections_are_bounded_and_dropped_with_the_proxy() {
    let proxy = FaultProxy::with_max_connections(echo_server(), 2);
    let mut a = client(&proxy);
    let mut b = client(&proxy);
    assert_eq!(roundtrip(&mut a, b"1").unwrap(), b"1");
    assert_eq!(roundtrip(&mut b, b"2").unwrap(), b"2");
    let mut c = client(&proxy);
    assert!(
        roundtrip(&mut c, b"3").is_err(),
        "third connection is over the bound"
    );
    assert_eq!(proxy.rejected(), 1);
    assert_eq!(proxy.active(), 2);
    let addr = proxy.addr();
    drop(proxy);
    std::thread::sleep(Duration::from_millis(100));
    assert!(
        roundtrip(&mut a, b"x").is_err(),
        "connections close with the proxy"
    );
    assert!(StdStream::connect(addr).is_err(), "listener closed");
}

#[test]
fn urls_are_rewritten_to_the_proxy() {
    let proxy = FaultProxy::start(echo_server());
    let p = proxy.addr();
    assert_eq!(
        proxy.rewrite_url("mysql://u:pw@127.0.0.1:3306/db"),
        format!("mysql://u:pw@{p}/db")
    );
    assert_eq!(
        proxy.rewrite_url("redis://127.0.0.1:6379"),
        format!("redis://{p}")
    );
    assert_eq!(
        upstream_of("mysql://root@127.0.0.1:3306"),
        "127.0.0.1:3306".parse().unwrap()
    );
    assert_eq!(
        upstream_of("redis://127.0.0.1"),
        "127.0.0.1:6379".parse().unwrap()
    );
}
