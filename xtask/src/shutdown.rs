//! SIGINT/SIGTERM as a flag.
//!
//! xtask never does work inside a signal handler: the handler only sets a flag, and the
//! supervision loops (waiting for a build, a readiness probe, the running stack) poll it and
//! then stop their children in order. That is what lets Ctrl-C remove throwaway data instead of
//! leaving a MariaDB running under `target/`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

use anyhow::{Context, Result};
use signal_hook::consts::{SIGINT, SIGTERM};

#[derive(Debug, Clone)]
pub struct Shutdown {
    requested: Arc<AtomicBool>,
    signal: Arc<AtomicI32>,
}

impl Shutdown {
    /// Installs the handlers. From here on SIGINT and SIGTERM no longer kill xtask outright.
    pub fn install() -> Result<Shutdown> {
        let shutdown = Shutdown {
            requested: Arc::new(AtomicBool::new(false)),
            signal: Arc::new(AtomicI32::new(0)),
        };
        for sig in [SIGINT, SIGTERM] {
            // Record which signal came, then raise the flag (order matters for `signal()`).
            let record = Arc::clone(&shutdown.signal);
            // SAFETY: the action only stores to an atomic, which is async-signal-safe.
            unsafe {
                signal_hook::low_level::register(sig, move || {
                    record.store(sig, Ordering::SeqCst);
                })
            }
            .with_context(|| format!("installing the handler for signal {sig}"))?;
            signal_hook::flag::register(sig, Arc::clone(&shutdown.requested))
                .with_context(|| format!("installing the handler for signal {sig}"))?;
        }
        Ok(shutdown)
    }

    pub fn requested(&self) -> bool {
        self.requested.load(Ordering::SeqCst)
    }

    /// The signal that asked us to stop (0 when none did).
    pub fn signal(&self) -> i32 {
        self.signal.load(Ordering::SeqCst)
    }

    /// The conventional exit status after being stopped by the signal: 128 + signal number.
    pub fn exit_status(&self) -> u8 {
        u8::try_from(128 + self.signal().clamp(0, 127)).unwrap_or(1)
    }
}
