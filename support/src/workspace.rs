//! Where the workspace is, for tools that run from any directory, and `..`/`.` resolved
//! lexically in paths that need not exist.

use std::path::{Component, Path, PathBuf};

/// The workspace root: the parent of this crate's directory (`support/`), as an absolute
/// path (cargo sets `CARGO_MANIFEST_DIR` absolute).
pub fn workspace_root() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.parent().unwrap_or(here).to_path_buf()
}

/// `path` with `..` and `.` resolved lexically, as for a path that need not exist.
pub fn lexically_normal(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn root_holds_the_workspace_manifest() {
        let root = super::workspace_root();
        let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
        assert!(manifest.contains("[workspace]"), "{}", root.display());
    }
}
