//! `GAME_SERVER_QUERY=tcp`: one TCP connect, dropped at once (the connection closes before
//! any byte is sent).

use std::io::ErrorKind;
use std::time::Duration;

use status_document::StateReason;
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio::time::timeout;

use super::Failure;

/// Most connects under way at once. A servers file of a thousand servers probes them all
/// in the same second; each connect holds a socket, and a service's default limit of open
/// files (systemd's 1024) must not turn a probe round into "unreachable" everywhere.
pub const MAX_CONNECTS: usize = 256;

static CONNECTS: Semaphore = Semaphore::const_new(MAX_CONNECTS);

/// Connects to `addr` within `limit` (waiting for a turn is the refresher's load, not the
/// game server's: it is not timed).
pub(super) async fn connect(addr: &str, limit: Duration) -> Result<(), Failure> {
    let Ok(_turn) = CONNECTS.acquire().await else {
        unreachable!("the connect semaphore is never closed");
    };
    match timeout(limit, TcpStream::connect(addr)).await {
        Ok(Ok(_stream)) => Ok(()),
        // A connect that the network drops on the floor ends in the OS's own time-out.
        Ok(Err(e)) if e.kind() == ErrorKind::TimedOut => {
            Err(Failure::new(StateReason::Timeout, addr, e))
        }
        Ok(Err(e)) => Err(Failure::new(StateReason::Unreachable, addr, e)),
        Err(_) => Err(Failure::new(
            StateReason::Timeout,
            addr,
            format!("no answer within {limit:?}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    #[tokio::test]
    async fn accepted_or_refused() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let limit = Duration::from_secs(5);
        assert_eq!(connect(&addr, limit).await, Ok(()));
        drop(listener);
        let why = connect(&addr, limit).await.unwrap_err();
        assert_eq!(why.reason, StateReason::Unreachable);
        assert!(why.detail.starts_with(&addr), "{why:?}");
    }
}
