//! Running the Windows refresher under Wine (tests/tests/windows.rs, tests/tests/dist/bundles.rs).
//!
//! `cargo xtask test` builds `status-refresher.exe` (in the Windows release bundle) and a Wine
//! prefix under `target/wine/` with the test-only `bcryptprimitives.dll` stand-in
//! (xtask/src/wine.rs), and passes them in `STATUS_REFRESHER_EXE`, `WINE` and `WINEPREFIX`.
//! Without them these tests print why and pass, as the container tests do without podman.
//!
//! Wine shows a Unix file as `Z:\` plus its path ([`windows_path`]). It turns a SIGINT to the
//! Wine process into a `CTRL_C_EVENT` for the program's console handlers, which is how a test
//! presses Ctrl-C.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::binaries::run;

/// A Wine prefix made by xtask.
#[derive(Debug, Clone)]
pub struct Wine {
    pub loader: PathBuf,
    pub prefix: PathBuf,
}

impl Wine {
    /// The prefix xtask prepared, or `None` with the reason printed.
    pub fn from_env() -> Option<Wine> {
        let loader = std::env::var_os("WINE").filter(|v| !v.is_empty());
        let prefix = std::env::var_os("WINEPREFIX").filter(|v| !v.is_empty());
        match (loader, prefix) {
            (Some(loader), Some(prefix)) => Some(Wine {
                loader: loader.into(),
                prefix: prefix.into(),
            }),
            _ => {
                eprintln!(
                    "skipped: WINE and WINEPREFIX are not set; `cargo xtask test` prepares a Wine \
                     prefix and sets them where wine64 and mingw-w64 are installed"
                );
                None
            }
        }
    }

    /// `wine64 <program>` in this prefix, with a clean environment (`PATH`, `HOME`, `USER`
    /// kept: Wine needs them) and Wine's own settings: the program sees only what the test
    /// sets with `.env()`.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = Command::new(&self.loader);
        cmd.env_clear();
        for keep in ["PATH", "HOME", "USER", "RUST_LOG", "RUST_BACKTRACE"] {
            if let Some(v) = std::env::var_os(keep) {
                cmd.env(keep, v);
            }
        }
        cmd.env("WINEPREFIX", &self.prefix)
            .env("WINEDEBUG", "-all")
            .env("WINEDLLOVERRIDES", "mscoree,mshtml=")
            .arg(program)
            .stdin(Stdio::null());
        cmd
    }

    /// Keeps this prefix's Wine session up until the returned guard drops.
    ///
    /// Wine ends its system processes — `services.exe` and every service it runs — as soon as
    /// the last ordinary Wine process exits. A test that starts a service with `sc start` and
    /// then talks to it from Linux has no Wine process of its own left, so without this the
    /// service is shut down a moment after `sc` exits (seen: the document written, then
    /// "connection refused" on `/health`, with no Wine process left). Wine's `cmd` waiting
    /// on a stdin that never closes is that ordinary process.
    pub fn keep_session(&self) -> WineSession {
        let child = self
            .command("cmd")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {} cmd: {e}", self.loader.display()));
        WineSession { child }
    }

    /// Runs Wine's own `program` (e.g. `sc`) to completion: (exit code, output).
    pub fn tool(&self, program: &str, args: &[&str]) -> (Option<i32>, String) {
        let mut cmd = self.command(program);
        cmd.args(args);
        let (status, output) = run(cmd, Duration::from_secs(60));
        (status.code(), output)
    }
}

/// The Windows refresher under test: `STATUS_REFRESHER_EXE`, or `None` with the reason printed.
pub fn refresher_exe() -> Option<PathBuf> {
    crate::given_path(
        "STATUS_REFRESHER_EXE",
        "`cargo xtask test` builds the Windows refresher (x86_64-pc-windows-gnu) and sets it \
         where mingw-w64 is installed",
    )
}

/// `/tmp/x/y` as the Windows program sees it: `Z:\tmp\x\y`.
pub fn windows_path(path: &Path) -> String {
    format!("Z:{}", path.display()).replace('/', "\\")
}

/// An ordinary Wine process that keeps the session (and its services) up: see
/// [`Wine::keep_session`]. Killed on drop.
#[derive(Debug)]
pub struct WineSession {
    child: std::process::Child,
}

impl Drop for WineSession {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
