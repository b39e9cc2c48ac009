//! Wine, for running the Windows refresher in `cargo xtask test` (tests/tests/windows.rs and
//! the Windows bundle in tests/tests/dist/bundles.rs).
//!
//! Debian 12's `wine64` (8.0) runs the mingw-built `status-refresher.exe`, with one gap: it
//! has no `bcryptprimitives.dll`, whose `ProcessPrng` Rust's standard library imports. A
//! test-only stand-in (`tests/wine/bcryptprimitives.c`, one function over `RtlGenRandom`) is
//! built with mingw-w64 into the prefix's `system32`, where Wine loads it as a native DLL for
//! every program of the prefix, the service the tests install included; nothing of it reaches
//! a bundle.
//!
//! The prefix lives under `target/wine/` and is created once (`wineboot --init`, about 10 s);
//! later runs reuse it. Mono and Gecko are not installed (`WINEDLLOVERRIDES`): nothing here
//! needs .NET or a browser engine, and their installers would want the network.

use std::env;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result};

use crate::child::run_step;
use crate::dist::MINGW_GCC;
use crate::shutdown::Shutdown;
use crate::workspace::Workspace;

/// Debian's `wine64` package installs the loader here, without a `wine` on PATH.
const DEBIAN_WINE64: &str = "/usr/lib/wine/wine64";

/// The settings every Wine command of ours runs with: no debug chatter, no Mono or Gecko.
pub const WINEDEBUG: &str = "-all";
pub const WINEDLLOVERRIDES: &str = "mscoree,mshtml=";

/// A ready Wine prefix.
#[derive(Debug, Clone)]
pub struct Wine {
    /// The `wine64` loader.
    pub loader: PathBuf,
    pub prefix: PathBuf,
}

/// The Wine loader: `WINE` if set, else `wine64` or `wine` on PATH, else Debian's path.
fn loader() -> Option<PathBuf> {
    if let Some(wine) = env::var_os("WINE").filter(|w| !w.is_empty()) {
        return Some(PathBuf::from(wine));
    }
    ["wine64", "wine", DEBIAN_WINE64]
        .into_iter()
        .map(PathBuf::from)
        .find(|candidate| {
            Command::new(candidate)
                .arg("--version")
                .env("WINEDEBUG", WINEDEBUG)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })
}

/// Why Wine cannot be used here, if it cannot.
pub fn missing() -> Option<String> {
    loader().is_none().then(|| {
        "Wine is not installed (on Debian: `apt-get install -y wine64`; .ci/run installs it)"
            .to_owned()
    })
}

/// Creates the prefix under `target/wine/` if needed and puts the `ProcessPrng` stand-in into
/// its `system32`.
pub fn prepare(ws: &Workspace, shutdown: &Shutdown) -> Result<Wine> {
    let loader = loader().context("Wine is not installed")?;
    let prefix = ws.target().join("wine").join("prefix");
    if !prefix.join("system.reg").is_file() {
        println!(
            "xtask: creating the Wine prefix {} (once)",
            prefix.display()
        );
        std::fs::create_dir_all(&prefix)
            .with_context(|| format!("creating {}", prefix.display()))?;
        let mut boot = command(&loader, &prefix);
        boot.args(["wineboot", "--init"]);
        run_step(&mut boot, shutdown).context("wineboot --init")?;
    }
    let system32 = prefix.join("drive_c/windows/system32");
    let shim = ws.root().join("tests/wine");
    let mut gcc = Command::new(MINGW_GCC);
    gcc.args(["-O2", "-shared", "-s", "-o"])
        .arg(system32.join("bcryptprimitives.dll"))
        .arg(shim.join("bcryptprimitives.c"))
        .arg(shim.join("bcryptprimitives.def"))
        .arg("-ladvapi32");
    run_step(&mut gcc, shutdown).context("building the bcryptprimitives.dll stand-in")?;
    Ok(Wine { loader, prefix })
}

/// `wine64` for `prefix`, with our settings.
fn command(loader: &Path, prefix: &Path) -> Command {
    let mut cmd = Command::new(loader);
    cmd.env("WINEPREFIX", prefix)
        .env("WINEDEBUG", WINEDEBUG)
        .env("WINEDLLOVERRIDES", WINEDLLOVERRIDES)
        .stdin(Stdio::null());
    cmd
}
