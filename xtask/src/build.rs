//! Building what `up` runs and `test` hands to the tests.
//!
//! The reader is built exactly as shipped (release profile, `wasm32-wasip2`), because that is
//! the artifact `spin.toml` points at and the one the tests must exercise. Native binaries use
//! the dev profile: they are the same ones `cargo test` builds, so nothing compiles twice.

use std::env;
use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::child::run_step;
use crate::shutdown::Shutdown;
use crate::workspace::{WASM_TARGET, Workspace};

/// The cargo that runs us (set by `cargo run`), so a pinned toolchain stays pinned.
pub fn cargo() -> Command {
    let mut cmd = Command::new(env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    // xtask runs through `cargo run`, whose environment describes the xtask package; the
    // child cargo must not inherit that as if it were building xtask.
    for var in [
        "CARGO_MANIFEST_DIR",
        "CARGO_PKG_NAME",
        "CARGO_PRIMARY_PACKAGE",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

/// Adds the wasm target through rustup when the toolchain lacks it.
pub fn ensure_wasm_target(shutdown: &Shutdown) -> Result<()> {
    ensure_target(WASM_TARGET, shutdown)
}

/// Adds a compilation target (the reader's wasm target, the image's musl target) through
/// rustup when the toolchain lacks it.
pub fn ensure_target(target: &str, shutdown: &Shutdown) -> Result<()> {
    if target_installed(target)? {
        return Ok(());
    }
    println!("xtask: the {target} target is missing; adding it with rustup");
    let mut rustup = Command::new("rustup");
    rustup.args(["target", "add", target]);
    run_step(&mut rustup, shutdown).with_context(|| {
        format!(
            "could not add the {target} target. With rustup run `rustup target add \
             {target}`; without rustup install your toolchain's rust-std for {target}"
        )
    })?;
    if !target_installed(target)? {
        bail!("rustup added {target}, but this toolchain still does not have it");
    }
    Ok(())
}

/// Looks in the active toolchain's sysroot, which works with or without rustup.
fn target_installed(target: &str) -> Result<bool> {
    let rustc = env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let out = Command::new(rustc)
        .args(["--print", "sysroot"])
        .output()
        .context("running `rustc --print sysroot`")?;
    if !out.status.success() {
        bail!("`rustc --print sysroot` failed");
    }
    let sysroot = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    Ok(sysroot
        .join("lib/rustlib")
        .join(target)
        .join("lib")
        .is_dir())
}

/// `cargo build --release --target wasm32-wasip2 -p status-reader`.
pub fn reader_wasm(ws: &Workspace, shutdown: &Shutdown) -> Result<PathBuf> {
    release_for_target(ws, WASM_TARGET, "status-reader", ws.reader_wasm(), shutdown)
}

/// The reader's WASIp3 build for Spin 4: `cargo build --release --target
/// wasm32-wasip2 -p status-reader --no-default-features --features spin4` into
/// `<target>/spin4`, exactly as `deploy/spin/spin4.toml`'s build command.
pub fn reader_wasm_p3(ws: &Workspace, shutdown: &Shutdown) -> Result<PathBuf> {
    let artifact = ws.reader_wasm_p3();
    let mut cmd = cargo();
    cmd.current_dir(ws.root())
        .args([
            "build",
            "--release",
            "--target",
            WASM_TARGET,
            "-p",
            "status-reader",
        ])
        .args([
            "--no-default-features",
            "--features",
            "spin4",
            "--target-dir",
        ])
        .arg(ws.spin4_target());
    run_step(&mut cmd, shutdown)?;
    if !artifact.is_file() {
        bail!("the build succeeded but {} is missing", artifact.display());
    }
    Ok(artifact)
}

/// `cargo build --release --target <target> -p <package>` (the shipped profile); returns
/// `artifact`, the file that build must have produced.
pub fn release_for_target(
    ws: &Workspace,
    target: &str,
    package: &str,
    artifact: PathBuf,
    shutdown: &Shutdown,
) -> Result<PathBuf> {
    let mut cmd = cargo();
    cmd.current_dir(ws.root())
        .args(["build", "--release", "--target", target, "-p", package]);
    run_step(&mut cmd, shutdown)?;
    if !artifact.is_file() {
        bail!("the build succeeded but {} is missing", artifact.display());
    }
    Ok(artifact)
}

/// `cargo build -p <package>...` (dev profile); returns the paths of the packages' binaries,
/// in order (each package's binary has the package's name).
pub fn native(ws: &Workspace, packages: &[&str], shutdown: &Shutdown) -> Result<Vec<PathBuf>> {
    let mut cmd = cargo();
    cmd.current_dir(ws.root()).arg("build");
    for package in packages {
        cmd.args(["-p", package]);
    }
    run_step(&mut cmd, shutdown)?;
    packages
        .iter()
        .map(|name| {
            let path = ws.debug_bin(name);
            if path.is_file() {
                Ok(path)
            } else {
                bail!("the build succeeded but {} is missing", path.display())
            }
        })
        .collect()
}
