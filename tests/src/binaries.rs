//! Building, locating and running the project's binaries.
//!
//! Tests exercise the real binaries, built by `cargo build` once per test process (the
//! `OnceLock`s below). `cargo` is the one that runs the tests (the `CARGO` variable), so the
//! same toolchain and target directory are used; artifacts are located from cargo's JSON
//! messages rather than guessed. CI can pre-build and point `STATUS_REFRESHER_BIN` at the
//! binary instead.
//!
//! [`Child`] (dev-support's guard) runs a binary with its output captured and kills it when
//! dropped, so a failing test never leaves a process behind. Every wait is bounded.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

pub use dev_support::process::{Child, Signal};
pub use dev_support::workspace::workspace_root;

use crate::redis::TestRedis;

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

/// `program` with a clean environment and no stdin: only `PATH`, `RUST_LOG` and
/// `RUST_BACKTRACE` (if set) are inherited, so a variable set in the test runner's
/// environment (`DB_HOST`, `REDIS_URL`, `SPIN_VARIABLE_*`, ...) cannot change what a test
/// means.
pub fn clean_command(program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut cmd = Command::new(program);
    cmd.env_clear();
    for keep in ["PATH", "RUST_LOG", "RUST_BACKTRACE"] {
        if let Some(v) = std::env::var_os(keep) {
            cmd.env(keep, v);
        }
    }
    cmd.stdin(Stdio::null());
    cmd
}

/// A `status-refresher` command with a clean environment ([`clean_command`]).
pub fn refresher_command() -> Command {
    clean_command(refresher_bin())
}

/// [`refresher_command`] for `database_url` and `redis_url`, writing `keys`' status key and
/// reading its interval key: what every test sets. The rest (timeouts, interval, metrics
/// address, lease) is each test's own.
pub fn refresher_for(database_url: &str, redis_url: &str, keys: &TestRedis) -> Command {
    let mut cmd = refresher_command();
    cmd.env("DATABASE_URL", database_url)
        .env("REDIS_URL", redis_url)
        .env("STATUS_KEY", keys.status_key())
        .env("STATUS_INTERVAL_KEY", keys.interval_key());
    cmd
}

/// Runs `cmd` to completion (at most `limit`) and returns its status and combined output.
pub fn run(cmd: Command, limit: Duration) -> (ExitStatus, String) {
    let mut child = Child::spawn(cmd);
    let status = child.wait(limit);
    (status, child.output())
}
