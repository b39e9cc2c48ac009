//! The stand-in game server the bench stops and starts: a TCP listener on a fixed port that
//! accepts and closes while open, so the refresher's probe succeeds, and refuses connects
//! while closed, as a stopped game server does.

use std::net::SocketAddr;

use anyhow::Context as _;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// The stand-in game server: accepts and closes while open; closed, connects are refused.
pub(super) struct GameServer {
    pub(super) addr: SocketAddr,
    task: Option<JoinHandle<()>>,
}

impl GameServer {
    pub(super) async fn open_on(addr: SocketAddr) -> anyhow::Result<GameServer> {
        let mut server = GameServer { addr, task: None };
        server.open().await?;
        Ok(server)
    }

    pub(super) async fn open(&mut self) -> anyhow::Result<()> {
        let listener = TcpListener::bind(self.addr)
            .await
            .with_context(|| format!("listening on {}", self.addr))?;
        self.addr = listener.local_addr()?;
        self.task = Some(tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                drop(stream);
            }
        }));
        Ok(())
    }

    /// Closes the port: the listener goes with its task.
    pub(super) async fn close(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    pub(super) async fn the_stand_in_closes_and_reopens_its_port() {
        let mut game = GameServer::open_on("127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let addr = game.addr;
        assert!(tokio::net::TcpStream::connect(addr).await.is_ok());
        game.close().await;
        assert!(tokio::net::TcpStream::connect(addr).await.is_err());
        game.open().await.unwrap();
        assert_eq!(game.addr, addr, "the same port again");
        assert!(tokio::net::TcpStream::connect(addr).await.is_ok());
    }
}
