//! Child processes: foreground steps (cargo) and supervised background processes (services,
//! refresher, reader).
//!
//! A background child gets its own process group, so the terminal's Ctrl-C reaches only xtask,
//! which then stops the children in order (reader, refresher, services) instead of all of them
//! dying at once mid-write. It also gets `PR_SET_PDEATHSIG`, so even a `kill -9` of xtask does
//! not leave a throwaway MariaDB running. Stopping is SIGTERM to the group, a grace period,
//! then SIGKILL — and only ever to process groups xtask created itself.

use std::ffi::OsStr;
use std::fs::File;
use std::io::{BufRead, BufReader, IsTerminal, Read, Write};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::shutdown::Shutdown;

/// How long a background child gets between SIGTERM and SIGKILL.
pub const STOP_GRACE: Duration = Duration::from_secs(5);

/// How often supervision loops look at children and the shutdown flag.
pub const POLL: Duration = Duration::from_millis(100);

/// Longest line forwarded from a child's output at once; a longer one is split.
const MAX_LINE: u64 = 16 * 1024;

/// The command line as a person would type it (program and arguments; never the environment,
/// which is where secrets go).
pub fn describe(cmd: &Command) -> String {
    // `cargo` rather than the toolchain's full path to it: shorter, and what a person types.
    let program = cmd.get_program();
    let program = match Path::new(program).file_name() {
        Some(name) if name == "cargo" => name,
        _ => program,
    };
    let mut parts = vec![display_arg(program)];
    parts.extend(cmd.get_args().map(display_arg));
    parts.join(" ")
}

fn display_arg(arg: &OsStr) -> String {
    let s = arg.to_string_lossy();
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,@+".contains(c))
    {
        s.into_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

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

/// Where a background child's output goes.
pub enum Output<'a> {
    /// Forwarded to our stdout/stderr, each line prefixed with `[name]`.
    Prefixed,
    /// Appended to a log file (noisy servers; the tail is shown if they fail to start).
    File(&'a Path),
}

/// A background child that is stopped when this value is dropped.
pub struct Managed {
    name: String,
    child: Child,
    exited: Option<ExitStatus>,
}

impl Managed {
    pub fn spawn(name: &str, cmd: &mut Command, output: Output<'_>) -> Result<Managed> {
        let line = describe(cmd);
        cmd.stdin(Stdio::null()).process_group(0);
        let parent = libc::pid_t::try_from(std::process::id()).unwrap_or(0);
        // SAFETY: the closure runs between fork and exec and only calls prctl(2) and
        // getppid(2), both async-signal-safe; it allocates nothing on the success path.
        unsafe {
            cmd.pre_exec(move || {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                // The parent may have died before prctl took effect.
                if libc::getppid() != parent {
                    return Err(std::io::Error::other("parent exited"));
                }
                Ok(())
            });
        }
        match output {
            Output::Prefixed => {
                cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
                // Children see a pipe, not our terminal; colour codes only help on a terminal.
                if !std::io::stdout().is_terminal() {
                    cmd.env("NO_COLOR", "1");
                }
            }
            Output::File(path) => {
                let log = File::options()
                    .create(true)
                    .append(true)
                    .open(path)
                    .with_context(|| format!("opening the log file {}", path.display()))?;
                let log2 = log.try_clone().context("duplicating a log file handle")?;
                cmd.stdout(log).stderr(log2);
            }
        }
        let mut child = cmd
            .spawn()
            .with_context(|| format!("could not start {name}: `{line}`"))?;
        if let Some(out) = child.stdout.take() {
            forward_lines(name, out, false);
        }
        if let Some(err) = child.stderr.take() {
            forward_lines(name, err, true);
        }
        Ok(Managed {
            name: name.to_owned(),
            child,
            exited: None,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `Some(status)` once the child has exited (on its own or because it was stopped).
    pub fn exited(&mut self) -> Option<ExitStatus> {
        if self.exited.is_none() {
            // An error here means the child was already reaped; treat it as gone.
            match self.child.try_wait() {
                Ok(Some(status)) => self.exited = Some(status),
                Ok(None) => {}
                Err(_) => self.exited = Some(ExitStatus::default()),
            }
        }
        self.exited
    }

    /// SIGTERM to the child's process group, then SIGKILL after `grace`.
    pub fn stop(&mut self, grace: Duration) {
        if self.exited().is_some() {
            return;
        }
        let pgid = self.pid();
        signal_group(pgid, libc::SIGTERM);
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if self.exited().is_some() {
                return;
            }
            thread::sleep(Duration::from_millis(50));
        }
        eprintln!(
            "xtask: {} did not stop within {}s; killing it",
            self.name,
            grace.as_secs()
        );
        signal_group(pgid, libc::SIGKILL);
        if let Ok(status) = self.child.wait() {
            self.exited = Some(status);
        }
    }
}

impl Drop for Managed {
    fn drop(&mut self) {
        self.stop(STOP_GRACE);
    }
}

pub fn describe_status(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit status {code}"),
        (None, Some(sig)) => format!("killed by signal {sig}"),
        _ => "unknown exit status".to_owned(),
    }
}

fn signal_pid(pid: u32, sig: i32) {
    if let Ok(pid) = libc::pid_t::try_from(pid) {
        // SAFETY: kill(2) with a pid of a child we spawned and have not reaped.
        unsafe {
            libc::kill(pid, sig);
        }
    }
}

fn signal_group(pgid: u32, sig: i32) {
    if let Ok(pgid) = libc::pid_t::try_from(pgid)
        && pgid > 1
    {
        // SAFETY: killpg(2) on a process group we created (process_group(0) makes the child
        // its leader, and the unreaped leader keeps the id from being reused).
        unsafe {
            libc::killpg(pgid, sig);
        }
    }
}

/// Copies a child's output to ours line by line with a `[name]` prefix, in a thread that ends
/// when the child closes the pipe.
fn forward_lines(name: &str, stream: impl Read + Send + 'static, to_stderr: bool) {
    let prefix = format!("[{name}] ");
    let spawned = thread::Builder::new()
        .name(format!("{name}-output"))
        .spawn(move || {
            let mut reader = BufReader::new(stream);
            let mut line = Vec::new();
            loop {
                line.clear();
                match (&mut reader).take(MAX_LINE).read_until(b'\n', &mut line) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
                let text = String::from_utf8_lossy(&line);
                let text = text.trim_end_matches(['\n', '\r']);
                if to_stderr {
                    eprintln!("{prefix}{text}");
                } else {
                    println!("{prefix}{text}");
                }
            }
        });
    if let Err(err) = spawned {
        eprintln!("xtask: cannot forward the output of {name}: {err}");
    }
}

/// The last `max_lines` lines of a log file, for error messages.
pub fn log_tail(path: &Path, max_lines: usize) -> String {
    let Ok(text) = std::fs::read(path) else {
        return String::new();
    };
    // Bounded: only the last 64 KiB are looked at.
    let start = text.len().saturating_sub(64 * 1024);
    let text = String::from_utf8_lossy(&text[start..]);
    let lines: Vec<&str> = text.lines().collect();
    let from = lines.len().saturating_sub(max_lines);
    lines[from..].join("\n")
}
