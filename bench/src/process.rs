//! Child processes the harness starts (servers, the refresher) and a tiny HTTP probe.
//!
//! Every child is stopped by its own pid when its guard drops — never by name — so a failed
//! run cannot leave servers behind or touch anything the harness did not start.

use std::fs::File;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// A running child; SIGTERM (then SIGKILL) on drop.
pub struct Server {
    pub name: String,
    child: Child,
}

impl Server {
    /// Starts `command` with stdout and stderr appended to `log`.
    pub fn spawn(name: &str, mut command: Command, log: &Path) -> anyhow::Result<Server> {
        let out = File::create(log).with_context(|| format!("creating {}", log.display()))?;
        let err = out.try_clone()?;
        // A developer shell's RUST_BACKTRACE=1 makes every `anyhow`/wasmtime error capture
        // a backtrace. reader-host builds no error on the happy path any more (it used to,
        // on every store drop: +14 % instructions), but error paths and the baselines
        // should not be measured with a debugging aid on either. Panics still print
        // backtraces.
        command.env("RUST_LIB_BACKTRACE", "0");
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err))
            .spawn()
            .with_context(|| format!("starting {name}"))?;
        Ok(Server {
            name: name.to_owned(),
            child,
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `Some(status)` if the child has already exited.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Polls `url_path` on `addr` until it answers `expect` (or any status if `None`),
    /// failing early if the child exits.
    pub fn wait_ready(
        &mut self,
        addr: SocketAddr,
        path: &str,
        expect: Option<u16>,
        timeout: Duration,
    ) -> anyhow::Result<()> {
        let deadline = Instant::now() + timeout;
        let mut last = String::from("no answer");
        while Instant::now() < deadline {
            if let Some(status) = self.exited() {
                bail!("{} exited during start-up ({status})", self.name);
            }
            match get(addr, path) {
                Ok((status, _)) if expect.is_none_or(|e| e == status) => return Ok(()),
                Ok((status, body)) => {
                    last = format!("HTTP {status}: {}", String::from_utf8_lossy(&body))
                }
                Err(e) => last = e.to_string(),
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        bail!("{} not ready within {timeout:?}: {last}", self.name)
    }

    /// Sends `signal` (a `kill` name such as `INT`) to this child only.
    pub fn signal(&self, signal: &str) {
        let _ = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.pid().to_string())
            .status();
    }

    /// Stops the child: SIGTERM, then SIGKILL after `grace`. Returns its exit status.
    pub fn stop(mut self, grace: Duration) -> Option<ExitStatus> {
        self.stop_inner(grace)
    }

    fn stop_inner(&mut self, grace: Duration) -> Option<ExitStatus> {
        if let Some(status) = self.exited() {
            return Some(status);
        }
        self.signal("TERM");
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if let Some(status) = self.exited() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        self.child.wait().ok()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop_inner(Duration::from_secs(3));
    }
}

/// A free loopback port (bound and released; the harness starts its servers one by one).
pub fn free_port() -> anyhow::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?)
}

/// Most bytes a probe reads; the status document is bounded at 256 KiB.
const MAX_PROBE_BYTES: u64 = 1 << 20;

/// `GET path` over HTTP/1.0 (no keep-alive) with a 2 s timeout: `(status, body)`.
pub fn get(addr: SocketAddr, path: &str) -> anyhow::Result<(u16, Vec<u8>)> {
    let timeout = Duration::from_secs(2);
    let mut stream = TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")?;
    let mut raw = Vec::new();
    stream.take(MAX_PROBE_BYTES).read_to_end(&mut raw)?;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .context("no end of headers")?;
    let head = std::str::from_utf8(&raw[..split])?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .context("no status code")?;
    Ok((status, raw[split + 4..].to_vec()))
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
