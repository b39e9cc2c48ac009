//! Building, locating and running the project's binaries.
//!
//! Tests exercise the real binaries, built by `cargo build` once per test process (the
//! `OnceLock`s below). `cargo` is the one that runs the tests (the `CARGO` variable), so the
//! same toolchain and target directory are used; artifacts are located from cargo's JSON
//! messages rather than guessed. CI can pre-build and point `STATUS_REFRESHER_BIN` at the
//! binary instead.
//!
//! [`Child`] runs a binary with its output captured and kills it when dropped, so a failing
//! test never leaves a process behind. Every wait is bounded.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The workspace root (the parent of this crate).
pub fn workspace_root() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.parent().unwrap_or(here).to_path_buf()
}

/// One artifact reported by `cargo build --message-format=json`.
#[derive(Debug, Clone)]
pub struct Artifact {
    /// The target's name, e.g. `status-refresher` or `status_reader`.
    pub target: String,
    /// The target's kinds, e.g. `["bin"]` or `["cdylib", "rlib"]`.
    pub kinds: Vec<String>,
    /// Every file produced (for a cdylib on wasm32-wasip2, the `.wasm`).
    pub filenames: Vec<PathBuf>,
    /// The executable, for binaries.
    pub executable: Option<PathBuf>,
}

/// Runs `cargo build <args>` in the workspace root and returns the workspace's artifacts
/// (dependencies' artifacts are left out). Panics with cargo's output if the build fails.
///
/// E.g. `cargo_build(&["--release", "--target", "wasm32-wasip2", "-p", "status-reader"])`.
pub fn cargo_build(args: &[&str]) -> Vec<Artifact> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let root = workspace_root();
    let output = Command::new(cargo)
        .arg("build")
        .args(args)
        .arg("--message-format=json-render-diagnostics")
        .current_dir(&root)
        .stdin(Stdio::null())
        .output()
        .expect("cannot run cargo");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "cargo build {args:?} failed:\n{}\n{stdout}",
        String::from_utf8_lossy(&output.stderr)
    );
    let root = root.to_string_lossy().into_owned();
    stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|m| m["reason"] == "compiler-artifact")
        .filter(|m| {
            m["manifest_path"]
                .as_str()
                .is_some_and(|p| p.starts_with(&root))
        })
        .map(|m| Artifact {
            target: m["target"]["name"].as_str().unwrap_or("").to_owned(),
            kinds: strings(&m["target"]["kind"]),
            filenames: strings(&m["filenames"])
                .into_iter()
                .map(PathBuf::from)
                .collect(),
            executable: m["executable"].as_str().map(PathBuf::from),
        })
        .collect()
}

fn strings(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The `status-refresher` binary: `STATUS_REFRESHER_BIN` if set, else built with
/// `cargo build -p status-refresher` (once per test process).
pub fn refresher_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(bin) = std::env::var_os("STATUS_REFRESHER_BIN") {
            return PathBuf::from(bin);
        }
        cargo_build(&["-p", "status-refresher", "--bin", "status-refresher"])
            .into_iter()
            .find_map(|a| a.executable.filter(|_| a.target == "status-refresher"))
            .expect("cargo build reported no status-refresher executable")
    })
}

/// A `status-refresher` command with a clean environment: only `PATH`, `RUST_LOG` (if set)
/// and `RUST_BACKTRACE` are inherited, so a variable set in the test runner's environment
/// (`DB_HOST`, `REDIS_URL`, ...) cannot change what a test means.
pub fn refresher_command() -> Command {
    let mut cmd = Command::new(refresher_bin());
    cmd.env_clear();
    for keep in ["PATH", "RUST_LOG", "RUST_BACKTRACE"] {
        if let Some(v) = std::env::var_os(keep) {
            cmd.env(keep, v);
        }
    }
    cmd.stdin(Stdio::null());
    cmd
}

/// A running child process whose stdout and stderr are collected (interleaved, by line) and
/// which is killed when dropped.
pub struct Child {
    child: std::process::Child,
    output: Arc<Mutex<String>>,
    readers: Vec<std::thread::JoinHandle<()>>,
}

impl Child {
    /// Spawns `cmd` with both output streams captured.
    pub fn spawn(mut cmd: Command) -> Child {
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot spawn {cmd:?}: {e}"));
        let output = Arc::new(Mutex::new(String::new()));
        let mut readers = Vec::new();
        let streams: [Option<Box<dyn Read + Send>>; 2] = [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn Read + Send>),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn Read + Send>),
        ];
        for stream in streams.into_iter().flatten() {
            let output = Arc::clone(&output);
            readers.push(std::thread::spawn(move || {
                let mut reader = BufReader::new(stream);
                let mut line = Vec::new();
                // Bounded per line (lines are log lines), unbounded in count: the process
                // lives only as long as its test.
                while reader
                    .read_until(b'\n', &mut line)
                    .map(|n| n > 0)
                    .unwrap_or(false)
                {
                    let text = String::from_utf8_lossy(&line);
                    if let Ok(mut out) = output.lock() {
                        out.push_str(&text);
                        if !text.ends_with('\n') {
                            out.push('\n');
                        }
                    }
                    line.clear();
                }
            }));
        }
        Child {
            child,
            output,
            readers,
        }
    }

    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Everything the process has written so far.
    pub fn output(&self) -> String {
        self.output.lock().map(|o| o.clone()).unwrap_or_default()
    }

    /// Waits up to `limit` for the process to exit. Once it has, its output is complete.
    pub fn wait_timeout(&mut self, limit: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + limit;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                for reader in self.readers.drain(..) {
                    let _ = reader.join();
                }
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits up to `limit` for the process to exit, panicking with its output if it does not.
    pub fn wait(&mut self, limit: Duration) -> ExitStatus {
        match self.wait_timeout(limit) {
            Some(status) => status,
            None => panic!(
                "process {} still running after {limit:?}; output:\n{}",
                self.id(),
                self.output()
            ),
        }
    }

    /// Polls the output until it contains `needle` (true) or `limit` passes (false).
    pub fn wait_for_output(&self, needle: &str, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if self.output().contains(needle) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.output().contains(needle)
    }

    /// Sends a signal by name (`TERM`, `INT`, `KILL`, `STOP`, `CONT`) with `kill(1)`.
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.id().to_string())
            .status()
            .expect("cannot run kill");
        assert!(status.success(), "kill -{name} {} failed", self.id());
    }

    /// Kills the process (SIGKILL) and reaps it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Runs `cmd` to completion (at most `limit`) and returns its status and combined output.
pub fn run(cmd: Command, limit: Duration) -> (ExitStatus, String) {
    let mut child = Child::spawn(cmd);
    let status = child.wait(limit);
    (status, child.output())
}
