//! `GAME_SERVER_QUERY=tcp`: one TCP connect, dropped at once (the connection closes before
//! any byte is sent).

use std::io::ErrorKind;
use std::time::Duration;

use status_document::StateReason;
use tokio::net::TcpStream;
use tokio::time::timeout;

use super::Failure;

/// Connects to `addr` within `limit`.
pub(super) async fn connect(addr: &str, limit: Duration) -> Result<(), Failure> {
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
