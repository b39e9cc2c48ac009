//! One platform's bundle folder: the refresher, the reader's `.wasm` with the bundle's own
//! `spin.toml` (its source beside it, no build table), the reader as an OCI image layout,
//! `deploy/`, CHANGELOG.md and an INSTALL.md cut to the platform from the template.
//!
//! The bundle's spin.toml is derived from the repository's rather than kept as a second copy,
//! so the two cannot drift apart; a change that breaks the derivation fails loudly here.

use std::fs;
use std::path::Path;

use anyhow::{Context, Result, bail};

use super::files::{copy, copy_tree};
use super::stamp::rfc3339;
use super::{Platform, oci};
use crate::workspace::Workspace;

const INSTALL_TEMPLATE: &str = include_str!("INSTALL.md");

/// The component's `source` in the bundle's spin.toml: the `.wasm` beside it.
const BUNDLED_SOURCE: &str = "status_reader.wasm";

/// The reader's OCI image layout in `dir`, from the bundle's spin.toml and `wasm`, tagged
/// with `version` and stamped with the commit's time.
pub(super) fn write_oci_layout(
    ws: &Workspace,
    wasm: &Path,
    version: &str,
    mtime: u64,
    dir: &Path,
) -> Result<oci::Layout> {
    let manifest = fs::read_to_string(ws.spin_manifest()).context("reading spin.toml")?;
    let bundled = bundled_manifest(&manifest)?;
    let bytes = fs::read(wasm).with_context(|| format!("reading {}", wasm.display()))?;
    let layout = oci::write(
        dir,
        &bundled,
        BUNDLED_SOURCE,
        &bytes,
        version,
        &rfc3339(mtime),
    )
    .context("writing the reader's OCI image layout")?;
    println!(
        "xtask: the reader as an OCI image layout: {} (manifest {})",
        dir.display(),
        layout.manifest_digest
    );
    Ok(layout)
}

/// Fills `folder` with one platform's bundle.
pub(super) fn lay_out(
    ws: &Workspace,
    platform: Platform,
    binary: &Path,
    wasm: &Path,
    version: &str,
    folder: &Path,
) -> Result<()> {
    fs::create_dir_all(folder.join("reader"))
        .with_context(|| format!("creating {}", folder.display()))?;
    copy(binary, &folder.join(platform.refresher()))?;
    copy(wasm, &folder.join("reader").join(BUNDLED_SOURCE))?;
    let manifest = fs::read_to_string(ws.spin_manifest()).context("reading spin.toml")?;
    fs::write(
        folder.join("reader/spin.toml"),
        bundled_manifest(&manifest)?,
    )
    .context("writing the bundle's spin.toml")?;
    copy(
        &ws.root().join("deploy/spin/runtime-config.toml"),
        &folder.join("reader/runtime-config.toml"),
    )?;
    copy_tree(&ws.root().join("deploy"), &folder.join("deploy"))?;
    copy(
        &ws.root().join("CHANGELOG.md"),
        &folder.join("CHANGELOG.md"),
    )?;
    fs::write(folder.join("INSTALL.md"), install_md(platform, version))
        .context("writing INSTALL.md")?;
    Ok(())
}

/// The repository's `spin.toml` for the bundle: the component's `source` is the `.wasm`
/// beside it, and the build table (a cargo command for a checkout) is left out.
pub fn bundled_manifest(manifest: &str) -> Result<String> {
    const SOURCE: &str = "source = \"target/wasm32-wasip2/release/status_reader.wasm\"";
    if manifest.matches(SOURCE).count() != 1 {
        bail!(
            "spin.toml no longer has exactly one `{SOURCE}` line; update xtask/src/dist/bundle.rs"
        );
    }
    let mut out = String::from(
        "# The reader as bundled by `cargo xtask dist`: its source is status_reader.wasm beside\n\
         # this file. Run it with `spin up` in this folder (see INSTALL.md).\n",
    );
    let mut in_build = false;
    for line in manifest.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with('[') {
            in_build = trimmed.starts_with("[component.reader.build]");
        }
        if in_build {
            continue;
        }
        if trimmed == SOURCE {
            out.push_str(&format!("source = \"{BUNDLED_SOURCE}\"\n"));
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    Ok(out)
}

fn install_md(platform: Platform, version: &str) -> String {
    let start = match platform {
        Platform::Linux => "<!-- linux -->",
        Platform::Windows => "<!-- windows -->",
    };
    // Keep this platform's section, drop the other's and every comment.
    let mut out = String::new();
    let mut keep = true;
    let mut in_comment = false;
    for line in INSTALL_TEMPLATE.lines() {
        let trimmed = line.trim();
        match trimmed {
            "<!-- linux -->" | "<!-- windows -->" => keep = trimmed == start,
            "<!-- /linux -->" | "<!-- /windows -->" => keep = true,
            _ => {}
        }
        if in_comment || trimmed.starts_with("<!--") {
            in_comment = !trimmed.ends_with("-->");
            continue;
        }
        if keep {
            out.push_str(line);
            out.push('\n');
        }
    }
    out.replace("{version}", version)
        .replace("{platform}", platform.name())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_manifest_points_at_the_wasm_beside_it_and_has_no_build_table() {
        let ws = Workspace::locate();
        let manifest = fs::read_to_string(ws.spin_manifest()).unwrap();
        let bundled = bundled_manifest(&manifest).unwrap();
        assert!(bundled.contains("\nsource = \"status_reader.wasm\"\n"));
        assert!(!bundled.contains("target/wasm32-wasip2"));
        assert!(!bundled.contains("[component.reader.build]"));
        assert!(!bundled.contains("cargo build"));
        // The tables before the build table survive.
        assert!(bundled.contains("[component.reader.variables]"));
    }

    #[test]
    fn each_install_md_keeps_its_own_platform_section_only() {
        let linux = install_md(Platform::Linux, "1.2.3");
        let windows = install_md(Platform::Windows, "1.2.3");
        assert!(linux.contains("./status-refresher") && !linux.contains("status-refresher.exe"));
        assert!(windows.contains("status-refresher.exe' service install --config"));
        assert!(!windows.contains("./status-refresher --once"));
        assert!(linux.contains("1.2.3") && !linux.contains("{version}"));
        assert!(!linux.contains("<!--"));
    }

    /// One platform's folder from stand-ins for the two builds: the refresher under its
    /// platform's name, the reader's three files, `deploy/` as in the repository, the
    /// changelog and this platform's INSTALL.md.
    #[test]
    fn a_bundle_folder_has_everything_an_operator_unpacks() {
        let ws = Workspace::locate();
        let dir = std::env::temp_dir().join(format!("xtask-bundle-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let (binary, wasm) = (dir.join("refresher.bin"), dir.join("reader.wasm"));
        fs::write(&binary, b"refresher").unwrap();
        fs::write(&wasm, vec![0u8; 4096]).unwrap();
        let folder = dir.join("server-status-1.2.3-windows-x86_64");
        lay_out(&ws, Platform::Windows, &binary, &wasm, "1.2.3", &folder).unwrap();
        assert_eq!(
            fs::read(folder.join("status-refresher.exe")).unwrap(),
            b"refresher"
        );
        assert_eq!(
            fs::read(folder.join("reader").join(BUNDLED_SOURCE))
                .unwrap()
                .len(),
            4096
        );
        let spin_toml = fs::read_to_string(folder.join("reader/spin.toml")).unwrap();
        assert!(spin_toml.contains("source = \"status_reader.wasm\""));
        assert!(folder.join("reader/runtime-config.toml").is_file());
        assert!(folder.join("deploy/spin/runtime-config.toml").is_file());
        assert!(folder.join("CHANGELOG.md").is_file());
        let install = fs::read_to_string(folder.join("INSTALL.md")).unwrap();
        assert!(install.contains("status-refresher.exe") && install.contains("1.2.3"));

        let layout = write_oci_layout(&ws, &wasm, "1.2.3", 0, &dir.join("oci")).unwrap();
        assert_eq!(layout.tag, "1.2.3");
        assert!(dir.join("oci/index.json").is_file());
        let _ = fs::remove_dir_all(&dir);
    }
}
