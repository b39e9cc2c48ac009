//! A TCP listener that stands in for the game server the refresher probes, for the tests
//! that need the game server to go away and come back (the probe's own tests, the history's
//! and the notifications'), and the refresher and database those tests start it with.

use std::io::ErrorKind;
use std::net::{SocketAddr, TcpListener};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::binaries::{refresher_bin, refresher_for};
use crate::db::{TestDb, constant};
use crate::reader::reader_wasm;
use crate::redis::TestRedis;

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

/// What a probe test starts from, with the binaries built before any clock starts: the
/// switched-on database, this test's Redis keys and a stand-in game server.
pub async fn probe_scene() -> (TestDb, TestRedis, GameServer) {
    prebuild().await;
    (switched_on_db(), TestRedis::new(), GameServer::start())
}

/// The database of the probe tests: the server switched on in the table, so what the
/// website sees follows the probe alone.
pub fn switched_on_db() -> TestDb {
    TestDb::with_constants(
        "DOUBLE",
        &[
            constant("ServerStatus", 1.0, Some("Сервер включён")),
            constant("RateExp", 2.0, Some("Рейт опыта")),
        ],
    )
}

/// The refresher of the probe tests: the database read only every ten minutes, so every
/// change a test sees comes from the probe, which connects to `addrs` every `interval`
/// (each connect bounded by half a second) and calls the game server down after `failures`
/// failed probes. Health and metrics on a free port.
pub fn probed_refresher(
    database_url: &str,
    redis: &TestRedis,
    addrs: &str,
    interval: Duration,
    failures: u32,
) -> Command {
    let mut cmd = refresher_for(database_url, &redis.url(), redis);
    cmd.env("STATUS_UPDATE_INTERVAL", "600")
        .env("STATUS_TIMEOUT", "2")
        .env("STATUS_METRICS_ADDR", "127.0.0.1:0")
        .env("GAME_SERVER_ADDR", addrs)
        .env("STATUS_PROBE_INTERVAL", interval.as_secs().to_string())
        .env("STATUS_PROBE_TIMEOUT", "0.5")
        .env("STATUS_PROBE_FAILURES", failures.to_string());
    cmd
}

/// Builds the refresher and the reader before any clock starts, so build time never counts
/// as delay.
pub async fn prebuild() {
    tokio::task::spawn_blocking(|| {
        refresher_bin();
        reader_wasm();
    })
    .await
    .expect("building the binaries panicked");
}

/// What most game-server tests start from: the binaries built, the switched-on database,
/// and a Redis of their own.
pub async fn set_up() -> (TestDb, TestRedis) {
    prebuild().await;
    (switched_on_db(), TestRedis::new())
}

/// A servers file (`STATUS_SERVERS_FILE`) with `text`, in a directory of its own that is
/// removed when this is dropped.
pub struct ServersFile {
    pub path: std::path::PathBuf,
    _dir: crate::temp::TempDir,
}

impl ServersFile {
    pub fn new(text: &str) -> ServersFile {
        let dir = crate::temp::TempDir::new("servers-file");
        let path = dir.path().join("servers.toml");
        std::fs::write(&path, text).expect("cannot write the servers file");
        ServersFile { path, _dir: dir }
    }
}
