//! SIGTERM and SIGINT, as one future.
//!
//! The handlers are installed once at start-up, before the first refresh, so a signal that
//! arrives during a slow first cycle is not lost (nor does it kill the process with the
//! default action, which could cut a write short).

use tokio::signal::unix::{Signal, SignalKind, signal};

pub struct Shutdown {
    term: Signal,
    int: Signal,
}

impl Shutdown {
    pub fn install() -> std::io::Result<Shutdown> {
        Ok(Shutdown {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
        })
    }

    /// Resolves with the signal's name when SIGTERM or SIGINT arrives.
    pub async fn recv(&mut self) -> &'static str {
        tokio::select! {
            _ = self.term.recv() => "SIGTERM",
            _ = self.int.recv() => "SIGINT",
        }
    }
}
