//! The refresher this bench measures: the shipped `release` profile (size-optimised, fat
//! LTO), built with cargo unless `--no-build`, or `STATUS_REFRESHER_BIN`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::process;

/// `cargo build --release -p status-refresher`: the shipped profile, which this bench
/// measures. Returns a note when it fails.
pub fn build_refresher(root: &Path) -> Option<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    eprintln!("bench: building status-refresher (release)");
    let mut command = Command::new(cargo);
    command
        .args(["build", "--release", "-p", "status-refresher"])
        .current_dir(root);
    match process::run_bounded(command, Duration::from_secs(1800)) {
        Ok(output) if output.status.success() => None,
        Ok(output) => Some(format!(
            "building status-refresher (release) failed: {}",
            log_tail_of(&output.stderr)
        )),
        Err(e) => Some(format!("building status-refresher (release) failed: {e}")),
    }
}

fn log_tail_of(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let tail: Vec<&str> = text.lines().rev().take(5).collect();
    tail.into_iter().rev().collect::<Vec<_>>().join(" / ")
}

/// The release refresher: `STATUS_REFRESHER_BIN`, else `<target>/release/status-refresher`.
pub fn refresher_path(root: &Path) -> PathBuf {
    if let Some(bin) = std::env::var_os("STATUS_REFRESHER_BIN") {
        return PathBuf::from(bin);
    }
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
        .join("release/status-refresher")
}
