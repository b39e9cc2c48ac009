//! A TCP listener that stands in for the game server the refresher probes (issue 21), for
//! the tests that need the game server to go away and come back: the probe's own tests
//! (`tests/game_server.rs`) and the notifications' (`tests/notify.rs`).

use std::io::ErrorKind;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A TCP listener standing in for the game server: accepts and drops connections, counts
/// them, and can be closed (connections refused) and reopened on the same port.
pub struct GameServer {
    pub addr: SocketAddr,
    accepted: Arc<AtomicU64>,
    running: Option<(Arc<AtomicBool>, JoinHandle<()>)>,
}

impl GameServer {
    pub fn start() -> GameServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the stand-in game server");
        let addr = listener.local_addr().expect("local_addr");
        let mut server = GameServer {
            addr,
            accepted: Arc::default(),
            running: None,
        };
        server.serve(listener);
        server
    }

    fn serve(&mut self, listener: TcpListener) {
        listener.set_nonblocking(true).expect("nonblocking");
        let stop = Arc::new(AtomicBool::new(false));
        let accepted = Arc::clone(&self.accepted);
        let stopping = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            while !stopping.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((conn, _)) => {
                        accepted.fetch_add(1, Ordering::Relaxed);
                        drop(conn);
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(5));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        self.running = Some((stop, thread));
    }

    /// Closes the listening socket: from now on connections are refused.
    pub fn stop(&mut self) {
        if let Some((stop, thread)) = self.running.take() {
            stop.store(true, Ordering::Relaxed);
            thread.join().expect("the accept thread panicked");
        }
    }

    /// Listens again on the same port.
    pub fn restart(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        let listener = loop {
            match TcpListener::bind(self.addr) {
                Ok(l) => break l,
                Err(e) if Instant::now() < deadline => {
                    eprintln!(
                        "game server stand-in: rebinding {}: {e}; retrying",
                        self.addr
                    );
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(e) => panic!("cannot listen on {} again: {e}", self.addr),
            }
        };
        self.serve(listener);
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> u64 {
        self.accepted.load(Ordering::Relaxed)
    }
}

impl Drop for GameServer {
    fn drop(&mut self) {
        self.stop();
    }
}
