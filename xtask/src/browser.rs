//! What the browser tests need: Debian's `chromium`, `node` and `npm`, and the npm packages
//! of `tests/browser/` (only `playwright-core`) installed into `target/browser/`.
//!
//! Idempotent and quick when done: packages are installed only when missing (as root, like
//! the database servers), and `npm ci` runs only when `package-lock.json` changed since the
//! last install. Playwright never downloads a browser here: `playwright-core` has no install
//! script, and `PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD` is set anyway.

use std::fs;
use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result};

use crate::child::run_step;
use crate::services::{Program, require};
use crate::shutdown::Shutdown;
use crate::workspace::Workspace;

const CHROMIUM: Program = Program {
    names: &["chromium"],
    package: "chromium",
};
const NODE: Program = Program {
    names: &["node", "nodejs"],
    package: "nodejs",
};
const NPM: Program = Program {
    names: &["npm"],
    package: "npm",
};

/// Where the tests find their tools (passed to `cargo test` as environment variables).
pub struct BrowserTools {
    pub chromium: PathBuf,
    pub node_modules: PathBuf,
}

/// Installs what is missing and returns where it is.
pub fn ensure(ws: &Workspace, shutdown: &Shutdown) -> Result<BrowserTools> {
    let skip = "or run `cargo test` without the browser tests";
    let chromium = require(&CHROMIUM, skip, shutdown)?;
    require(&NODE, skip, shutdown)?;
    let npm = require(&NPM, skip, shutdown)?;

    let source = ws.root().join("tests/browser");
    let dir = ws.browser_dir();
    fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let lock = fs::read(source.join("package-lock.json"))
        .context("cannot read tests/browser/package-lock.json")?;
    let stamp = dir.join("installed-lock.json");
    let node_modules = dir.join("node_modules");
    let installed = fs::read(&stamp).is_ok_and(|s| s == lock)
        && node_modules.join("playwright-core/package.json").is_file();
    if installed {
        println!(
            "xtask: playwright-core already installed in {}",
            dir.display()
        );
    } else {
        for file in ["package.json", "package-lock.json"] {
            fs::copy(source.join(file), dir.join(file))
                .with_context(|| format!("cannot copy tests/browser/{file}"))?;
        }
        run_step(
            Command::new(npm)
                .current_dir(&dir)
                .args(["ci", "--ignore-scripts", "--no-audit", "--no-fund"])
                .env("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1"),
            shutdown,
        )?;
        fs::write(&stamp, &lock).with_context(|| format!("cannot write {}", stamp.display()))?;
    }
    Ok(BrowserTools {
        chromium,
        node_modules,
    })
}
