//! Child processes the harness starts (servers, the refresher) and a tiny HTTP probe, on
//! `dev_support`'s guard and raw GET.
//!
//! Every child is stopped by its own pid when its guard drops — never by name — so a failed
//! run cannot leave servers behind or touch anything the harness did not start.

use std::io::Read;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
pub use dev_support::net::free_addr as free_port;
use dev_support::process::{Child, Launch, Output};

/// A running server the harness started: `dev_support`'s guard, SIGTERM (then SIGKILL
/// after 3 s) on drop.
pub type Server = Child;

/// Starts `command` with stdout and stderr appended to `log`.
pub fn spawn(name: &str, mut command: Command, log: &Path) -> anyhow::Result<Server> {
    // A developer shell's RUST_BACKTRACE=1 makes every `anyhow`/wasmtime error capture
    // a backtrace. reader-host builds no error on the happy path any more (it used to,
    // on every store drop: +14 % instructions), but error paths and the baselines
    // should not be measured with a debugging aid on either. Panics still print
    // backtraces.
    command.env("RUST_LIB_BACKTRACE", "0");
    Launch::new(name)
        .output(Output::File(log))
        .drop_grace(Duration::from_secs(3))
        .spawn(&mut command)
}

/// `GET path` with a 2 s timeout: `(status, body)`.
pub fn get(addr: SocketAddr, path: &str) -> anyhow::Result<(u16, Vec<u8>)> {
    let response = dev_support::http::get(addr, path, Duration::from_secs(2))?;
    Ok((response.status, response.body))
}

/// Runs `command` to completion with a bound, returning its output.
pub fn run_bounded(
    mut command: Command,
    timeout: Duration,
) -> anyhow::Result<std::process::Output> {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    // Drain pipes on threads so a chatty child cannot block on a full pipe.
    let mut stdout = child.stdout.take().context("stdout")?;
    let mut stderr = child.stderr.take().context("stderr")?;
    let out = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stdout.read_to_end(&mut buf);
        buf
    });
    let err = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stderr.read_to_end(&mut buf);
        buf
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            bail!("timed out after {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Ok(std::process::Output {
        status,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    })
}

/// Polls `GET <path>` on `addr` every `poll` until a 200 whose JSON body `matches`: the
/// time from `since` to that response, or `None` once `bound` has passed. What every
/// "change → visible" measurement of the bench waits for.
pub async fn poll_until(
    addr: std::net::SocketAddr,
    path: &'static str,
    since: std::time::Instant,
    bound: std::time::Duration,
    poll: std::time::Duration,
    matches: impl Fn(&serde_json::Value) -> bool,
) -> anyhow::Result<Option<std::time::Duration>> {
    let deadline = since + bound;
    loop {
        // A blocking GET with its own timeout on each step.
        let reply = tokio::task::spawn_blocking(move || get(addr, path)).await?;
        let seen = std::time::Instant::now();
        if let Ok((200, body)) = reply
            && serde_json::from_slice::<serde_json::Value>(&body)
                .ok()
                .is_some_and(|json| matches(&json))
        {
            return Ok(Some(seen - since));
        }
        if seen >= deadline {
            return Ok(None);
        }
        tokio::time::sleep(poll).await;
    }
}
