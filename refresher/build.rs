//! Stamps the git commit into `status-refresher --version` (`STATUS_REFRESHER_COMMIT`).
//!
//! The commit comes from `STATUS_BUILD_COMMIT` when set (a build from a source archive, or a
//! packager that knows better), else from `git rev-parse` in this checkout, else it is
//! `unknown` — a build without git or outside a clone still builds. Cargo runs this again
//! when HEAD or the branch it points at moves, not on every source change.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=STATUS_BUILD_COMMIT");
    let commit = match std::env::var("STATUS_BUILD_COMMIT") {
        Ok(commit) if !commit.trim().is_empty() => commit.trim().to_owned(),
        _ => from_git().unwrap_or_else(|| "unknown".to_owned()),
    };
    println!("cargo:rustc-env=STATUS_REFRESHER_COMMIT={commit}");
}

/// The short commit of HEAD, and the files whose change means HEAD moved.
fn from_git() -> Option<String> {
    let commit = git(&["rev-parse", "--short=12", "HEAD"])?;
    // In a worktree HEAD lives in the worktree's git dir, the branches in the common one.
    if let Some(dir) = git(&["rev-parse", "--git-dir"]).map(PathBuf::from) {
        watch(&dir.join("HEAD"));
    }
    if let Some(common) = git(&["rev-parse", "--git-common-dir"]).map(PathBuf::from) {
        watch(&common.join("packed-refs"));
        if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
            watch(&common.join(branch));
        }
    }
    Some(commit)
}

fn watch(path: &Path) {
    if path.exists() {
        println!("cargo:rerun-if-changed={}", path.display());
    }
}

/// One git command's trimmed output, run in this package's directory; `None` when git is
/// missing, this is no clone, or the command fails.
fn git(args: &[&str]) -> Option<String> {
    let dir = std::env::var_os("CARGO_MANIFEST_DIR")?;
    let out = Command::new("git")
        .args(args)
        .current_dir(&dir)
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?.trim().to_owned();
    if text.is_empty() {
        return None;
    }
    // --git-dir and friends may answer relative to the directory they ran in.
    let path = Path::new(&text);
    if args.first() == Some(&"rev-parse") && args.get(1).is_some_and(|a| a.starts_with("--git")) {
        return Some(Path::new(&dir).join(path).display().to_string());
    }
    Some(text)
}
