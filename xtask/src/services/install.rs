//! Finding a server binary, and installing its Debian package when it is missing.
//!
//! Installing system packages is only done as root (a fresh CI machine, a container); a normal
//! user gets the exact command to run instead, since xtask must never ask for a password.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Result, bail};

use crate::child::run_step;
use crate::shutdown::Shutdown;

/// A server program and the Debian package that provides it.
pub struct Program {
    /// Candidate executable names, preferred first (`mariadbd`, then the older `mysqld`).
    pub names: &'static [&'static str],
    pub package: &'static str,
}

/// Directories searched besides `PATH`: server binaries live in `sbin`, which a normal user's
/// `PATH` often lacks.
const EXTRA_DIRS: &[&str] = &["/usr/sbin", "/usr/local/sbin", "/sbin", "/usr/bin"];

pub fn find(program: &Program) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = env::var_os("PATH")
        .map(|p| env::split_paths(&p).collect())
        .unwrap_or_default();
    dirs.extend(EXTRA_DIRS.iter().map(PathBuf::from));
    program.names.iter().find_map(|name| {
        dirs.iter()
            .map(|dir| dir.join(name))
            .find(|candidate| is_executable(candidate))
    })
}

/// Whether a program is on `PATH` (for optional tools such as `spin`).
pub fn on_path(name: &str) -> Option<PathBuf> {
    env::var_os("PATH").and_then(|p| {
        env::split_paths(&p)
            .map(|dir| dir.join(name))
            .find(|candidate| is_executable(candidate))
    })
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

pub fn is_root() -> bool {
    // SAFETY: geteuid(2) has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// The program's path, installing its package first when it is missing and we are root.
/// `alternative` tells the user how to use an existing server instead (e.g. an env var).
pub fn require(program: &Program, alternative: &str, shutdown: &Shutdown) -> Result<PathBuf> {
    if let Some(path) = find(program) {
        return Ok(path);
    }
    let name = program.names[0];
    let package = program.package;
    if !is_root() {
        bail!(
            "{name} is not installed, and only root can install it. Run:\n\n    \
             sudo apt-get install -y {package}\n\nthen run this command again \
             (or {alternative})."
        );
    }
    println!("xtask: {name} is not installed; installing the Debian package {package}");
    let install = |shutdown: &Shutdown| {
        run_step(
            Command::new("apt-get")
                .args(["install", "-y", "--no-install-recommends", package])
                .env("DEBIAN_FRONTEND", "noninteractive"),
            shutdown,
        )
    };
    if install(shutdown).is_err() {
        if shutdown.requested() {
            bail!("interrupted");
        }
        // A fresh machine may have no package lists yet.
        run_step(Command::new("apt-get").arg("update"), shutdown)?;
        install(shutdown)?;
    }
    match find(program) {
        Some(path) => Ok(path),
        None => bail!("installed {package}, but still cannot find {name}"),
    }
}
