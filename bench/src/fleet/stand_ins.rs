//! The fleet's game servers: N TCP listeners on loopback ports of the bench's own process,
//! each accepting and closing at once, so the refresher's `query = "tcp"` probe (a connect)
//! succeeds. They cost the refresher what real servers' TCP probes cost it; their own CPU is
//! the bench's, not the refresher's.

use std::net::SocketAddr;

use anyhow::Context as _;
use tokio::net::TcpListener;
use tokio::task::JoinSet;

/// N listening stand-ins; closed when dropped (their tasks are aborted with the set).
pub struct StandIns {
    pub addrs: Vec<SocketAddr>,
    _tasks: JoinSet<()>,
}

impl StandIns {
    /// Opens `n` listeners on `127.0.0.1:0` (the kernel picks the ports).
    pub async fn open(n: usize) -> anyhow::Result<StandIns> {
        let mut tasks = JoinSet::new();
        let mut addrs = Vec::with_capacity(n);
        for i in 0..n {
            let listener = TcpListener::bind("127.0.0.1:0").await.with_context(|| {
                format!("opening stand-in {} of {n} (file descriptors?)", i + 1)
            })?;
            addrs.push(listener.local_addr()?);
            tasks.spawn(async move {
                while let Ok((stream, _)) = listener.accept().await {
                    drop(stream);
                }
            });
        }
        Ok(StandIns {
            addrs,
            _tasks: tasks,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_stand_in_accepts() {
        let stand_ins = StandIns::open(3).await.unwrap();
        assert_eq!(stand_ins.addrs.len(), 3);
        for addr in &stand_ins.addrs {
            assert!(tokio::net::TcpStream::connect(addr).await.is_ok());
        }
    }
}
