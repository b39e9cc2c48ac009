//! The stop request, as one future: SIGTERM and SIGINT on Unix; Ctrl-C, Ctrl-Break, console
//! close and system shutdown on Windows; and a stop asked for in-process ([`StopSender`]),
//! which is how the Windows service manager's stop and shutdown reach the daemon
//! (`crate::service`). Every one of them takes the same path: the refresh under way
//! finishes, the lease is released.
//!
//! The handlers are installed once at start-up, before the first refresh, so a signal that
//! arrives during a slow first cycle is not lost (nor does it kill the process with the
//! default action, which could cut a write short).
//!
//! On Windows, returning from the console handler of a close or shutdown event ends the
//! process at once; tokio's handler does not return, so Windows waits for the process to
//! exit by itself, up to about 5 s for a closed console — longer than the
//! [`SHUTDOWN_GRACE`] plus [`CLOSE_WITHIN`] a stop takes. Logoff is not listened
//! to: only services receive it, for any user's logoff, and a service must keep running.

use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::mpsc;

/// How long a cycle that is under way when a signal arrives may still take. Together with
/// [`CLOSE_WITHIN`] this keeps shutdown inside the 5 s a process supervisor allows.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);
/// How long closing database connections may take at exit.
pub const CLOSE_WITHIN: Duration = Duration::from_secs(1);

/// How the process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// `--once` refreshed, or the daemon stopped on a signal.
    Success,
    /// `--once` did not refresh.
    Failure,
}

/// Asks the daemon to stop, from any thread; the reason is what the daemon logs. (Only the
/// Windows service asks so far.)
#[cfg_attr(not(windows), allow(dead_code))]
#[derive(Debug, Clone)]
pub struct StopSender(mpsc::UnboundedSender<&'static str>);

#[cfg_attr(not(windows), allow(dead_code))]
impl StopSender {
    /// Asks for the stop; false when the daemon is gone already.
    pub fn stop(&self, reason: &'static str) -> bool {
        self.0.send(reason).is_ok()
    }
}

/// The receiving end [`stop_channel`] made, taken by the next [`Shutdown::install`]. One
/// process runs one daemon, and the code that asks to stop (the service's control handler)
/// is set up before the daemon that listens, on another thread.
static IN_PROCESS: Mutex<Option<mpsc::UnboundedReceiver<&'static str>>> = Mutex::new(None);

/// A way to stop the daemon from inside the process (call before starting it). A stop
/// asked for before the daemon listens is kept, not lost.
#[cfg_attr(not(windows), allow(dead_code))]
pub fn stop_channel() -> StopSender {
    let (tx, rx) = mpsc::unbounded_channel();
    if let Ok(mut slot) = IN_PROCESS.lock() {
        *slot = Some(rx);
    }
    StopSender(tx)
}

pub struct Shutdown {
    os: OsSignals,
    in_process: Option<mpsc::UnboundedReceiver<&'static str>>,
}

impl Shutdown {
    pub fn install() -> std::io::Result<Shutdown> {
        let in_process = IN_PROCESS.lock().ok().and_then(|mut slot| slot.take());
        Ok(Shutdown {
            os: OsSignals::install()?,
            in_process,
        })
    }

    /// Resolves with the stop's name (a signal's, a console event's, or the in-process
    /// reason) when one arrives.
    pub async fn recv(&mut self) -> &'static str {
        let Shutdown { os, in_process } = self;
        let in_process = async {
            match in_process.as_mut() {
                Some(rx) => match rx.recv().await {
                    Some(reason) => reason,
                    // Every sender is gone: nothing in-process can ask any more.
                    None => std::future::pending().await,
                },
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            name = os.recv() => name,
            reason = in_process => reason,
        }
    }
}

#[cfg(unix)]
struct OsSignals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
}

#[cfg(unix)]
impl OsSignals {
    fn install() -> std::io::Result<OsSignals> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(OsSignals {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
        })
    }

    async fn recv(&mut self) -> &'static str {
        tokio::select! {
            _ = self.term.recv() => "SIGTERM",
            _ = self.int.recv() => "SIGINT",
        }
    }
}

#[cfg(windows)]
struct OsSignals {
    c: tokio::signal::windows::CtrlC,
    brk: tokio::signal::windows::CtrlBreak,
    close: tokio::signal::windows::CtrlClose,
    shutdown: tokio::signal::windows::CtrlShutdown,
}

#[cfg(windows)]
impl OsSignals {
    fn install() -> std::io::Result<OsSignals> {
        use tokio::signal::windows;
        Ok(OsSignals {
            c: windows::ctrl_c()?,
            brk: windows::ctrl_break()?,
            close: windows::ctrl_close()?,
            shutdown: windows::ctrl_shutdown()?,
        })
    }

    async fn recv(&mut self) -> &'static str {
        tokio::select! {
            _ = self.c.recv() => "CTRL_C",
            _ = self.brk.recv() => "CTRL_BREAK",
            _ = self.close.recv() => "CTRL_CLOSE",
            _ = self.shutdown.recv() => "CTRL_SHUTDOWN",
        }
    }
}
