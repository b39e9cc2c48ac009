//! A guard for a child process the tools start: a server, the refresher, a one-shot helper.
//!
//! The child is stopped when its [`Child`] is dropped, so a failed test, a bench error or a
//! Ctrl-C never leaves a process behind. Stopping goes by the child's own pid — or, for a
//! child started in its own process group, that group — never by name, so nothing the tool
//! did not start is ever touched. Every wait is bounded.
//!
//! [`Launch`] says how to start one: where its output goes ([`Output`]), whether it gets its
//! own process group (so a terminal's Ctrl-C reaches only the tool, which then stops its
//! children in order), whether it dies with its parent (`PR_SET_PDEATHSIG`, so even a
//! `kill -9` of the tool takes a throwaway MariaDB with it), and how long it gets between
//! SIGTERM and SIGKILL when dropped (zero: SIGKILL at once, as a test wants).

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// Longest line read from a child's output at once; a longer one is split.
const MAX_LINE: u64 = 16 * 1024;
/// How often waits look at the child.
const POLL: Duration = Duration::from_millis(20);

/// Where a child's stdout and stderr go.
#[derive(Debug, Clone, Copy)]
pub enum Output<'a> {
    /// Collected in memory, interleaved by line: [`Child::output`].
    Captured,
    /// Forwarded to our stdout/stderr, each line prefixed with `[name] `.
    Prefixed,
    /// Appended to a log file (noisy servers; see [`log_tail`]).
    File(&'a Path),
    /// Discarded.
    Null,
}

/// The signals the tools send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    Term,
    Int,
    Kill,
    Stop,
    Cont,
}

impl Signal {
    fn number(self) -> libc::c_int {
        match self {
            Signal::Term => libc::SIGTERM,
            Signal::Int => libc::SIGINT,
            Signal::Kill => libc::SIGKILL,
            Signal::Stop => libc::SIGSTOP,
            Signal::Cont => libc::SIGCONT,
        }
    }
}

/// How to start a [`Child`]. Defaults: output captured, same process group, not tied to the
/// parent's death, SIGKILL at once on drop.
#[derive(Debug, Clone)]
pub struct Launch<'a> {
    name: String,
    output: Output<'a>,
    own_group: bool,
    die_with_parent: bool,
    drop_grace: Duration,
}

impl<'a> Launch<'a> {
    /// `name` labels messages and prefixed output.
    pub fn new(name: &str) -> Launch<'a> {
        Launch {
            name: name.to_owned(),
            output: Output::Captured,
            own_group: false,
            die_with_parent: false,
            drop_grace: Duration::ZERO,
        }
    }

    pub fn output(mut self, output: Output<'a>) -> Self {
        self.output = output;
        self
    }

    /// Starts the child as the leader of a new process group; signals then go to the group.
    pub fn own_group(mut self) -> Self {
        self.own_group = true;
        self
    }

    /// `PR_SET_PDEATHSIG`: the child gets SIGTERM when the *thread* that spawned it exits, so
    /// use it only from a thread that lives as long as the tool (xtask's main thread).
    pub fn die_with_parent(mut self) -> Self {
        self.die_with_parent = true;
        self
    }

    /// On drop: SIGTERM, up to `grace` for the child to exit, then SIGKILL.
    pub fn drop_grace(mut self, grace: Duration) -> Self {
        self.drop_grace = grace;
        self
    }

    /// Spawns `cmd` (stdin is always null).
    pub fn spawn(self, cmd: &mut Command) -> Result<Child> {
        let line = describe(cmd);
        cmd.stdin(Stdio::null());
        if self.own_group {
            cmd.process_group(0);
        }
        if self.die_with_parent {
            let parent = libc::pid_t::try_from(std::process::id()).unwrap_or(0);
            // SAFETY: the closure runs between fork and exec and only calls prctl(2) and
            // getppid(2), both async-signal-safe; it allocates nothing on the success path.
            unsafe {
                cmd.pre_exec(move || {
                    if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                        return Err(io::Error::last_os_error());
                    }
                    // The parent may have died before prctl took effect.
                    if libc::getppid() != parent {
                        return Err(io::Error::other("parent exited"));
                    }
                    Ok(())
                });
            }
        }
        match self.output {
            Output::Captured | Output::Prefixed => {
                cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
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
            Output::Null => {
                cmd.stdout(Stdio::null()).stderr(Stdio::null());
            }
        }
        let mut child = cmd
            .spawn()
            .with_context(|| format!("could not start {}: `{line}`", self.name))?;
        let captured = matches!(self.output, Output::Captured).then(Default::default);
        let mut readers = Vec::new();
        let streams: [(Option<Box<dyn Read + Send>>, bool); 2] = [
            (child.stdout.take().map(|s| Box::new(s) as _), false),
            (child.stderr.take().map(|s| Box::new(s) as _), true),
        ];
        for (stream, is_stderr) in streams {
            let Some(stream) = stream else { continue };
            let sink = match &captured {
                Some(buffer) => Sink::Buffer(Arc::clone(buffer)),
                None => Sink::Prefixed {
                    prefix: format!("[{}] ", self.name),
                    stderr: is_stderr,
                },
            };
            readers.push(forward_lines(&self.name, stream, sink)?);
        }
        Ok(Child {
            name: self.name,
            child,
            exited: None,
            captured,
            readers,
            group: self.own_group,
            drop_grace: self.drop_grace,
        })
    }
}

/// A running child process, stopped when dropped (see [`Launch::drop_grace`]).
pub struct Child {
    name: String,
    child: std::process::Child,
    exited: Option<ExitStatus>,
    captured: Option<Arc<Mutex<String>>>,
    readers: Vec<JoinHandle<()>>,
    group: bool,
    drop_grace: Duration,
}

impl Child {
    /// Spawns `cmd` with its output captured, killed (SIGKILL) when dropped: what a test
    /// wants. Panics if it cannot start.
    pub fn spawn(mut cmd: Command) -> Child {
        let name = Path::new(cmd.get_program())
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        Launch::new(&name)
            .spawn(&mut cmd)
            .unwrap_or_else(|e| panic!("{e:#}"))
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

    /// Everything a [`Output::Captured`] child has written so far (empty otherwise).
    pub fn output(&self) -> String {
        self.captured
            .as_ref()
            .and_then(|o| o.lock().ok().map(|o| o.clone()))
            .unwrap_or_default()
    }

    /// Waits up to `limit` for the child to exit. Once it has, its output is complete.
    pub fn wait_timeout(&mut self, limit: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.exited() {
                for reader in self.readers.drain(..) {
                    let _ = reader.join();
                }
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            thread::sleep(POLL);
        }
    }

    /// Waits up to `limit` for the child to exit, panicking with its output if it does not.
    pub fn wait(&mut self, limit: Duration) -> ExitStatus {
        match self.wait_timeout(limit) {
            Some(status) => status,
            None => panic!(
                "{} ({}) still running after {limit:?}; output:\n{}",
                self.name,
                self.pid(),
                self.output()
            ),
        }
    }

    /// Panics, with the whole output, unless it contains `needle` within `limit`
    /// (`Duration::ZERO`: already): the one assertion most process tests make.
    #[track_caller]
    pub fn expect_output(&self, needle: &str, limit: Duration) {
        assert!(
            self.wait_for_output(needle, limit),
            "{} never printed {needle:?} within {limit:?}; output:\n{}",
            self.name,
            self.output()
        );
    }

    /// Polls the captured output until it contains `needle` (true) or `limit` passes (false).
    pub fn wait_for_output(&self, needle: &str, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if self.output().contains(needle) {
                return true;
            }
            thread::sleep(POLL);
        }
        self.output().contains(needle)
    }

    /// Polls `GET path` on `addr` until it answers `expect` (any status if `None`), failing
    /// early if the child exits.
    pub fn wait_http(
        &mut self,
        addr: SocketAddr,
        path: &str,
        expect: Option<u16>,
        timeout: Duration,
    ) -> Result<()> {
        let deadline = Instant::now() + timeout;
        let mut last = String::from("no answer");
        while Instant::now() < deadline {
            if let Some(status) = self.exited() {
                bail!(
                    "{} exited during start-up ({})",
                    self.name,
                    describe_status(status)
                );
            }
            match crate::http::get(addr, path, Duration::from_secs(2)) {
                Ok(r) if expect.is_none_or(|e| e == r.status) => return Ok(()),
                Ok(r) => last = format!("HTTP {}: {}", r.status, r.text()),
                Err(e) => last = e.to_string(),
            }
            thread::sleep(Duration::from_millis(100));
        }
        bail!("{} not ready within {timeout:?}: {last}", self.name)
    }

    /// Sends `signal` to the child (to its group, if it has its own).
    pub fn signal(&self, signal: Signal) -> io::Result<()> {
        let pid = libc::pid_t::try_from(self.pid()).map_err(io::Error::other)?;
        // SAFETY: kill(2)/killpg(2) on a child we spawned and have not reaped (an unreaped
        // child, even a zombie, keeps its pid and group id from being reused). pid > 1 always
        // holds for a spawned child; the check keeps killpg away from group 0 and 1 anyway.
        let rc = unsafe {
            if self.group && pid > 1 {
                libc::killpg(pid, signal.number())
            } else {
                libc::kill(pid, signal.number())
            }
        };
        if rc == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }

    /// SIGKILL, and reap.
    pub fn kill(&mut self) {
        if self.exited().is_none() {
            let _ = self.signal(Signal::Kill);
            if let Ok(status) = self.child.wait() {
                self.exited = Some(status);
            }
        }
    }

    /// SIGTERM, up to `grace` for the child to exit, then SIGKILL. Returns its exit status.
    pub fn stop(&mut self, grace: Duration) -> Option<ExitStatus> {
        if let Some(status) = self.exited() {
            return Some(status);
        }
        if grace > Duration::ZERO {
            let _ = self.signal(Signal::Term);
            let deadline = Instant::now() + grace;
            while Instant::now() < deadline {
                if let Some(status) = self.exited() {
                    return Some(status);
                }
                thread::sleep(POLL);
            }
            eprintln!(
                "{} did not stop within {:.1}s; killing it",
                self.name,
                grace.as_secs_f64()
            );
        }
        self.kill();
        self.exited
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        self.stop(self.drop_grace);
    }
}

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

fn display_arg(arg: &std::ffi::OsStr) -> String {
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

/// `exit status 1`, `killed by signal 9`.
pub fn describe_status(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit status {code}"),
        (None, Some(sig)) => format!("killed by signal {sig}"),
        _ => "unknown exit status".to_owned(),
    }
}

/// The last `max_lines` lines of a log file, for error messages (only its last 64 KiB are
/// read).
pub fn log_tail(path: &Path, max_lines: usize) -> String {
    let Ok(text) = std::fs::read(path) else {
        return String::new();
    };
    let start = text.len().saturating_sub(64 * 1024);
    let text = String::from_utf8_lossy(&text[start..]);
    let lines: Vec<&str> = text.lines().collect();
    let from = lines.len().saturating_sub(max_lines);
    lines[from..].join("\n")
}

enum Sink {
    Buffer(Arc<Mutex<String>>),
    Prefixed { prefix: String, stderr: bool },
}

/// Copies a child's output line by line into `sink`, in a thread that ends when the child
/// closes the pipe.
fn forward_lines(name: &str, stream: Box<dyn Read + Send>, sink: Sink) -> Result<JoinHandle<()>> {
    thread::Builder::new()
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
                match &sink {
                    Sink::Buffer(buffer) => {
                        if let Ok(mut out) = buffer.lock() {
                            out.push_str(text);
                            out.push('\n');
                        }
                    }
                    Sink::Prefixed { prefix, stderr } => {
                        if *stderr {
                            eprintln!("{prefix}{text}");
                        } else {
                            println!("{prefix}{text}");
                        }
                    }
                }
            }
        })
        .with_context(|| format!("cannot forward the output of {name}"))
}

#[cfg(test)]
mod tests;
