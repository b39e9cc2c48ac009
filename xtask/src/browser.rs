//! What the browser tests need: Debian's `chromium`, `node`, `npm` and `java` (for the Nu
//! HTML Checker), and the npm packages of `tests/browser/` (`playwright-core`, `lighthouse`,
//! `axe-core`, `vnu-jar`) installed into `target/browser/`.
//!
//! Idempotent and quick when done: packages are installed only when missing (as root, like
//! the database servers), and `npm ci` runs only when `package-lock.json` changed since the
//! last install. Nothing downloads a browser here: `npm ci --ignore-scripts` runs no install
//! script (none of the packages needs one: `vnu-jar` ships its jar, Lighthouse uses the
//! system Chromium through `CHROME_PATH`), and `PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD` is set
//! anyway.

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
const JAVA: Program = Program {
    names: &["java"],
    package: "default-jre-headless",
};

/// A file of every package installed (checked besides the lock's stamp).
const INSTALLED: [&str; 4] = [
    "playwright-core/package.json",
    "lighthouse/cli/index.js",
    "axe-core/axe.min.js",
    "vnu-jar/build/dist/vnu.jar",
];

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
    require(&JAVA, skip, shutdown)?;

    let source = ws.root().join("tests/browser");
    let dir = ws.browser_dir();
    fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let lock = fs::read(source.join("package-lock.json"))
        .context("cannot read tests/browser/package-lock.json")?;
    let stamp = dir.join("installed-lock.json");
    let node_modules = dir.join("node_modules");
    let installed = fs::read(&stamp).is_ok_and(|s| s == lock)
        && INSTALLED.iter().all(|f| node_modules.join(f).is_file());
    if installed {
        println!(
            "xtask: the browser tests' packages are installed in {}",
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
