//! Bounded waits for a starting server: until its port accepts connections, or until a
//! one-shot helper has exited successfully.

use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};

use super::Interrupted;
use crate::process::{Child, describe_status, log_tail};

/// Waits until `addr` accepts connections, the process exits, time runs out or we are
/// interrupted; the log's tail goes into any error.
pub(super) fn wait_listening(
    child: &mut Child,
    addr: SocketAddr,
    log: &Path,
    timeout: Duration,
    interrupted: Interrupted<'_>,
) -> Result<()> {
    let listening = |_: &mut Child| -> Result<bool> {
        Ok(TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok())
    };
    wait(
        child,
        log,
        timeout,
        interrupted,
        listening,
        "was not listening",
    )
}

/// Waits for a one-shot helper (`mariadb-install-db`) to finish successfully.
pub fn wait_exit(
    child: &mut Child,
    log: &Path,
    timeout: Duration,
    interrupted: Interrupted<'_>,
) -> Result<()> {
    let finished = |child: &mut Child| -> Result<bool> {
        match child.exited() {
            Some(status) if status.success() => Ok(true),
            Some(status) => bail!(
                "{} failed ({}). Last lines of {}:\n{}",
                child.name(),
                describe_status(status),
                log.display(),
                log_tail(log, 15)
            ),
            None => Ok(false),
        }
    };
    wait(child, log, timeout, interrupted, finished, "did not finish")
}

/// Polls `done` until it says so, failing when we are interrupted, when the child exits
/// without `done` having seen it, or after `timeout` (`late` says what did not happen).
fn wait(
    child: &mut Child,
    log: &Path,
    timeout: Duration,
    interrupted: Interrupted<'_>,
    mut done: impl FnMut(&mut Child) -> Result<bool>,
    late: &str,
) -> Result<()> {
    let started = Instant::now();
    loop {
        if interrupted() {
            bail!("interrupted while starting {}", child.name());
        }
        if done(child)? {
            return Ok(());
        }
        if let Some(status) = child.exited() {
            bail!(
                "{} exited during start-up ({}). Last lines of {}:\n{}",
                child.name(),
                describe_status(status),
                log.display(),
                log_tail(log, 15)
            );
        }
        if started.elapsed() > timeout {
            bail!(
                "{} {late} within {}s. Last lines of {}:\n{}",
                child.name(),
                timeout.as_secs(),
                log.display(),
                log_tail(log, 15)
            );
        }
        thread::sleep(Duration::from_millis(50));
    }
}
