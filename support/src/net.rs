//! Free loopback ports.

use std::io;
use std::net::{SocketAddr, TcpListener};

/// A loopback address whose port the kernel just handed out as free (bound, then released).
/// Another process could take it before the caller binds it; a server started on it then
/// fails to start and says so, which is rare enough for tooling.
pub fn free_addr() -> io::Result<SocketAddr> {
    TcpListener::bind("127.0.0.1:0")?.local_addr()
}

/// The port of [`free_addr`].
pub fn free_port() -> io::Result<u16> {
    Ok(free_addr()?.port())
}

#[cfg(test)]
mod tests {
    #[test]
    fn free_ports_are_bindable() {
        let port = super::free_port().unwrap();
        assert_ne!(port, 0);
        std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    }
}
