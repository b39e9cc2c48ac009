//! Child processes: foreground steps (cargo) and supervised background processes (services,
//! refresher, reader).
//!
//! A background child gets its own process group, so the terminal's Ctrl-C reaches only xtask,
//! which then stops the children in order (reader, refresher, services) instead of all of them
//! dying at once mid-write. It also gets `PR_SET_PDEATHSIG`, so even a `kill -9` of xtask does
//! not leave a throwaway MariaDB running. Stopping is SIGTERM to the group, a grace period,
//! then SIGKILL — and only ever to process groups xtask created itself. The guard itself is
//! `dev_support::process`, shared with the bench and the tests.

use std::io::{IsTerminal, Write};
use std::process::{Command, Stdio};
use std::thread;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use dev_support::process::Launch;
pub use dev_support::process::{Child as Managed, Output, describe, describe_status, log_tail};

use crate::shutdown::Shutdown;

/// How long a background child gets between SIGTERM and SIGKILL.
pub const STOP_GRACE: Duration = Duration::from_secs(5);

/// How often supervision loops look at children and the shutdown flag.
pub const POLL: Duration = Duration::from_millis(100);

/// Runs a foreground step (a cargo command) to completion in xtask's own process group, so a
/// terminal Ctrl-C reaches it directly. A SIGTERM sent to xtask alone is forwarded.
pub fn run_step(cmd: &mut Command, shutdown: &Shutdown) -> Result<()> {
    let line = describe(cmd);
    println!("$ {line}");
    let _ = std::io::stdout().flush();
    let mut child = cmd
        .stdin(Stdio::null())
        .spawn()
        .with_context(|| format!("could not start `{line}`"))?;
    let mut forwarded = false;
    let status = loop {
        if let Some(status) = child.try_wait().context("waiting for a child process")? {
            break status;
        }
        if shutdown.requested() && !forwarded {
            signal_pid(child.id(), libc::SIGTERM);
            forwarded = true;
        }
        thread::sleep(POLL);
    };
    if shutdown.requested() {
        bail!("interrupted while running `{line}`");
    }
    if !status.success() {
        bail!("`{line}` failed ({})", describe_status(status));
    }
    Ok(())
}

/// Starts a supervised background child: its own process group (so a terminal Ctrl-C
/// reaches only xtask, which then stops the children in order), `PR_SET_PDEATHSIG` (so even
/// a `kill -9` of xtask stops it), SIGTERM then SIGKILL after [`STOP_GRACE`] when dropped.
pub fn spawn(name: &str, cmd: &mut Command, output: Output<'_>) -> Result<Managed> {
    // Children see a pipe, not our terminal; colour codes only help on a terminal.
    if matches!(output, Output::Prefixed) && !std::io::stdout().is_terminal() {
        cmd.env("NO_COLOR", "1");
    }
    Launch::new(name)
        .output(output)
        .own_group()
        .die_with_parent()
        .drop_grace(STOP_GRACE)
        .spawn(cmd)
}

fn signal_pid(pid: u32, sig: i32) {
    if let Ok(pid) = libc::pid_t::try_from(pid) {
        // SAFETY: kill(2) with a pid of a child we spawned and have not reaped.
        unsafe {
            libc::kill(pid, sig);
        }
    }
}
