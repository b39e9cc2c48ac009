//! Where things are: the workspace root, the target directory and the artifacts we build.
//!
//! Every path is absolute, so children can run from any directory and messages point at the
//! exact file.

use std::env;
use std::path::{Path, PathBuf};

/// The wasm target the reader component is built for.
pub const WASM_TARGET: &str = "wasm32-wasip2";

#[derive(Debug, Clone)]
pub struct Workspace {
    root: PathBuf,
    target: PathBuf,
}

impl Workspace {
    /// The workspace this xtask belongs to, honouring
    /// `CARGO_TARGET_DIR` like cargo does.
    pub fn locate() -> Workspace {
        let root = dev_support::workspace::workspace_root();
        let target = match env::var_os("CARGO_TARGET_DIR") {
            Some(dir) if !dir.is_empty() => {
                let dir = PathBuf::from(dir);
                if dir.is_absolute() {
                    dir
                } else {
                    root.join(dir)
                }
            }
            _ => root.join("target"),
        };
        Workspace { root, target }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn spin_manifest(&self) -> PathBuf {
        self.root.join("spin.toml")
    }

    /// The shipped reader component (release profile, as `spin.toml` references it).
    pub fn reader_wasm(&self) -> PathBuf {
        self.target
            .join(WASM_TARGET)
            .join("release")
            .join("status_reader.wasm")
    }

    /// The target directory of the reader's WASIp3 build for Spin 4: a directory of
    /// its own, as `deploy/spin/spin4.toml` builds it, because both builds write a
    /// `status_reader.wasm`.
    pub fn spin4_target(&self) -> PathBuf {
        self.target.join("spin4")
    }

    /// The reader's WASIp3 `.wasm` (release, `--features spin4`).
    pub fn reader_wasm_p3(&self) -> PathBuf {
        self.spin4_target()
            .join(WASM_TARGET)
            .join("release")
            .join("status_reader.wasm")
    }

    /// A native binary of the workspace built with the dev profile.
    pub fn debug_bin(&self, name: &str) -> PathBuf {
        self.target.join("debug").join(name)
    }

    /// A native binary of the workspace built with the release profile for `target`.
    pub fn release_bin(&self, target: &str, name: &str) -> PathBuf {
        self.target.join(target).join("release").join(name)
    }

    /// The target directory (`CARGO_TARGET_DIR` or `<root>/target`).
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Where `cargo xtask dist` writes the release bundles.
    pub fn dist_dir(&self) -> PathBuf {
        self.target.join("dist")
    }

    /// Parent of the per-run directories holding throwaway service data.
    pub fn xtask_dir(&self) -> PathBuf {
        self.target.join("xtask")
    }

    /// Where the browser tests' npm packages are installed, and their screenshots written.
    pub fn browser_dir(&self) -> PathBuf {
        self.target.join("browser")
    }
}
