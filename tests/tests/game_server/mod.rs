//! The game-server probe, with every part real: a TCP listener that stands in
//! for the game server (closed and reopened by the test), the refresher binary probing it,
//! MariaDB, Redis, and the reader `.wasm` in reader-host answering as the website sees it.
//!
//! - over ten flips, `offline` (reason `unreachable`) reaches the reader within the probe's
//!   bound, `interval × (failures + 1)`, and `online` comes back within one interval plus
//!   the refresh gap; the median and max of both are printed (`--nocapture`, lines
//!   starting with `game_server:`);
//! - a refused connection and a connect that is never answered both count as failures,
//!   and every address must answer;
//! - the probe costs MariaDB no statement, and a standby does not probe;
//! - after a kill -9 of the holder, the new holder carries on from the published word:
//!   the reader never says `unknown` in between, and `since` stays;
//! - the public answers never carry the game server's address;
//! - through the shipped nginx front cache, the website sees `offline` within the bound
//!   plus the `max-age` of its cached copy (which follows the probe, not the refresh).
//!
//! Bounds that are the product's promise are measured from the moment the test changed the
//! game server, with [`SLACK`] on top for a busy two-core machine.

use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::time::{Duration, Instant};

use integration_tests::game_server::probed_refresher;
use integration_tests::reader::ReaderServer;
use integration_tests::redis::TestRedis;
use status_document::StatusDocument;

mod flips;
mod nginx;
mod page;
mod probe;
mod query;
mod servers;

/// Room for scheduling noise on a busy two-core machine, on top of what the design promises.
const SLACK: Duration = Duration::from_millis(1500);
/// The probe settings of these tests: a 1-second probe, down after two failures.
const INTERVAL: Duration = Duration::from_secs(1);
const FAILURES: u32 = 2;
/// `STATUS_MIN_REFRESH_GAP`'s default.
const GAP: Duration = Duration::from_secs(2);
const FLIPS: usize = 10;
/// Bound on start-up until the first document.
const FIRST_DOCUMENT_WITHIN: Duration = Duration::from_secs(15);

/// A listener that completes no handshake: its accept queue is full (backlog 0 and one
/// connection never accepted), so the kernel drops further SYNs and a connect hangs until
/// the client gives up. What a game server behind a cut link or a hung host looks like,
/// without sending anything off this machine.
struct SilentServer {
    addr: SocketAddr,
    _listener: socket2::Socket,
    _filler: Vec<TcpStream>,
}

impl SilentServer {
    fn start() -> SilentServer {
        use socket2::{Domain, Socket, Type};
        let socket = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
        socket
            .bind(&SocketAddr::from(([127, 0, 0, 1], 0)).into())
            .expect("bind");
        socket.listen(0).expect("listen");
        let addr = socket
            .local_addr()
            .expect("local_addr")
            .as_socket()
            .expect("an IP address");
        // Fill the accept queue; connects that no longer complete are what we want.
        let mut filler = Vec::new();
        for _ in 0..8 {
            match TcpStream::connect_timeout(&addr, Duration::from_millis(300)) {
                Ok(conn) => filler.push(conn),
                Err(_) => break,
            }
        }
        assert!(
            TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_err(),
            "the kernel still completes handshakes on a full accept queue; this machine \
             cannot play an unanswering server"
        );
        SilentServer {
            addr,
            _listener: socket,
            _filler: filler,
        }
    }
}

/// `interval × (failures + 1)`: how long the reader may go on believing one probe.
fn bound() -> Duration {
    INTERVAL * (FAILURES + 1)
}

fn document(redis: &TestRedis) -> Option<StatusDocument> {
    redis
        .get(&redis.status_key())
        .map(|raw| serde_json::from_slice(&raw).expect("the stored value is a document"))
}

/// The state the reader vouches for, as `/server/status/simple` says it.
async fn simple(reader: &ReaderServer) -> String {
    let reply = reader.get("/server/status/simple").await;
    String::from_utf8_lossy(&reply.body).trim().to_owned()
}

/// Polls the reader until it says `want`; returns how long that took from `since`.
async fn reader_says(
    reader: &ReaderServer,
    want: &str,
    since: Instant,
    limit: Duration,
) -> Duration {
    loop {
        if simple(reader).await == want {
            return since.elapsed();
        }
        if since.elapsed() > limit {
            let body = reader.get("/server/status").await.json();
            panic!("the reader did not say {want} within {limit:?}; /server/status: {body:#}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn median_and_max(mut samples: Vec<Duration>) -> (Duration, Duration) {
    samples.sort();
    (samples[samples.len() / 2], samples[samples.len() - 1])
}

/// The refresher with the probe on `addrs`: a 1-second probe, down after two failures.
fn refresher(database_url: &str, redis: &TestRedis, addrs: &str) -> Command {
    probed_refresher(database_url, redis, addrs, INTERVAL, FAILURES)
}
