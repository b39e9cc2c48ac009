//! The Spin manifest that `cargo xtask up` serves: spin.toml, with the component's `source`
//! pointed at the `.wasm` this run built.
//!
//! spin.toml names `target/wasm32-wasip2/release/status_reader.wasm`, relative to itself, as
//! `spin build && spin up` needs in a checkout with the default target directory. With
//! `CARGO_TARGET_DIR` set (a shared build cache) cargo builds the `.wasm` elsewhere, and Spin,
//! reading spin.toml, exits with "failed to read component source from disk". Rather than
//! edit the checked-in manifest, `up` writes a copy beside the build
//! (`<target dir>/xtask/spin/spin.toml`) whose `source` is the built file and whose build
//! `workdir` is the workspace, each written relative to the copy, which is how Spin (and
//! `reader-host`) resolve them. Routes, variables and the allow-list stay spin.toml's. Both
//! servers run on that copy, so a run without Spin exercises the same path as one with it.
//!
//! The edit is textual (no TOML writer among the workspace's dependencies, and the copy keeps
//! spin.toml's comments): exactly one `source = "…"` line in `[component.reader]`, or the
//! copy is refused rather than served with the wrong component.

use std::path::{Component, Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::workspace::Workspace;

/// The component whose source is rewritten (spin.toml's only one).
const COMPONENT: &str = "reader";

/// Writes the manifest for `wasm` under the target directory and returns its path.
pub fn write(ws: &Workspace, wasm: &Path) -> Result<PathBuf> {
    write_copy(
        &ws.spin_manifest(),
        &ws.xtask_dir().join("spin"),
        wasm,
        ws.root(),
    )
}

/// Writes `original` (spin.toml) to `dir/spin.toml` with its source `wasm` and its build in
/// `workspace`; the copy's path.
fn write_copy(original: &Path, dir: &Path, wasm: &Path, workspace: &Path) -> Result<PathBuf> {
    let text = std::fs::read_to_string(original)
        .with_context(|| format!("cannot read {}", original.display()))?;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let manifest = dir.join("spin.toml");
    // Relative paths are resolved by the OS, `..` after any symbolic link: computed between
    // the real locations, they hold when CARGO_TARGET_DIR is (or lies under) a link.
    let real = |path: &Path| {
        std::fs::canonicalize(path).with_context(|| format!("cannot resolve {}", path.display()))
    };
    let copy = rewrite(&text, &real(dir)?, &real(wasm)?, &real(workspace)?)
        .with_context(|| format!("cannot point {} at {}", original.display(), wasm.display()))?;
    std::fs::write(&manifest, copy)
        .with_context(|| format!("cannot write {}", manifest.display()))?;
    Ok(manifest)
}

/// `spin` (the text of spin.toml) for a copy in `dir`: the component's `source` is `wasm`
/// and its build runs in `workspace`, both relative to `dir`.
fn rewrite(spin: &str, dir: &Path, wasm: &Path, workspace: &Path) -> Result<String> {
    let source = toml_string(&relative(dir, wasm)?)?;
    let workdir = toml_string(&relative(dir, workspace)?)?;
    let component = format!("[component.{COMPONENT}]");
    let build = format!("[component.{COMPONENT}.build]");
    let mut out = String::from(
        "# Written by `cargo xtask up` from spin.toml, with the component's source pointed at\n\
         # the .wasm it built (see xtask/src/spin_manifest.rs). Edit spin.toml, not this.\n",
    );
    let mut section = String::new();
    let mut sources = 0;
    for line in spin.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('[') {
            section = trimmed.to_owned();
        }
        if section == component && trimmed.starts_with("source") && trimmed.contains('=') {
            sources += 1;
            out.push_str(&format!("source = {source}\n"));
            continue;
        }
        if section == build && trimmed.starts_with("workdir") && trimmed.contains('=') {
            // Replaced by ours, written under the table header.
            continue;
        }
        out.push_str(line);
        out.push('\n');
        if trimmed == build {
            out.push_str(&format!("workdir = {workdir}\n"));
        }
    }
    if sources != 1 {
        bail!("expected one `source = …` line in {component}, found {sources}");
    }
    Ok(out)
}

/// `to` relative to the directory `from` (both absolute), e.g. `../../wasm32-wasip2/…`.
fn relative(from: &Path, to: &Path) -> Result<PathBuf> {
    if !from.is_absolute() || !to.is_absolute() {
        bail!(
            "{} and {} must be absolute paths",
            from.display(),
            to.display()
        );
    }
    let from: Vec<Component> = from.components().collect();
    let to: Vec<Component> = to.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut path: PathBuf = from[common..].iter().map(|_| "..").collect();
    path.extend(&to[common..]);
    if path.as_os_str().is_empty() {
        path.push(".");
    }
    Ok(path)
}

/// `path` as a TOML basic string.
fn toml_string(path: &Path) -> Result<String> {
    let text = path
        .to_str()
        .with_context(|| format!("{} is not valid UTF-8", path.display()))?;
    let mut quoted = String::with_capacity(text.len() + 2);
    quoted.push('"');
    for c in text.chars() {
        match c {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            c if c.is_control() => quoted.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    Ok(quoted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use dev_support::workspace::lexically_normal;

    /// What Spin does with a manifest's `source`: the value of the `source = "…"` line of
    /// `[component.reader]`, joined to the manifest's directory (no escapes in these tests).
    fn resolved(manifest: &str, dir: &Path, key: &str, table: &str) -> PathBuf {
        let mut section = "";
        for line in manifest.lines() {
            let line = line.trim();
            if line.starts_with('[') {
                section = line;
            } else if section == table
                && let Some(value) = line.strip_prefix(key)
                && let Some(value) = value.trim_start().strip_prefix('=')
            {
                return lexically_normal(&dir.join(value.trim().trim_matches('"')));
            }
        }
        panic!("no {key} in {table}:\n{manifest}")
    }

    fn spin_toml() -> String {
        std::fs::read_to_string(Workspace::locate().spin_manifest()).expect("spin.toml")
    }

    #[test]
    fn relative_paths_between_directories() {
        let rel = |from: &str, to: &str| relative(Path::new(from), Path::new(to)).unwrap();
        assert_eq!(
            rel(
                "/w/target/xtask/spin",
                "/w/target/wasm32-wasip2/release/r.wasm"
            ),
            Path::new("../../wasm32-wasip2/release/r.wasm")
        );
        assert_eq!(rel("/w/target/xtask/spin", "/w"), Path::new("../../.."));
        assert_eq!(
            rel("/cache/t/xtask/spin", "/home/me/w"),
            Path::new("../../../../home/me/w")
        );
        assert_eq!(rel("/a/b", "/a/b"), Path::new("."));
        assert!(relative(Path::new("target"), Path::new("/w")).is_err());
    }

    /// The trap: a target directory outside the checkout. The copy's `source`
    /// resolves to the built `.wasm` and its build `workdir` to the workspace, wherever the
    /// target directory is; the checked-in spin.toml's would not.
    #[test]
    fn the_copy_points_at_the_build_wherever_the_target_directory_is() {
        let spin = spin_toml();
        let workspace = Path::new("/home/me/server-status");
        for target in ["/home/me/server-status/target", "/var/cache/cargo-target"] {
            let target = Path::new(target);
            let dir = target.join("xtask/spin");
            let wasm = target.join("wasm32-wasip2/release/status_reader.wasm");
            let copy = rewrite(&spin, &dir, &wasm, workspace).unwrap();
            assert_eq!(
                resolved(&copy, &dir, "source", "[component.reader]"),
                wasm,
                "{copy}"
            );
            assert_eq!(
                resolved(&copy, &dir, "workdir", "[component.reader.build]"),
                workspace,
                "{copy}"
            );
            // Everything else is spin.toml's, line for line, after the two-line header.
            let kept: Vec<&str> = spin
                .lines()
                .filter(|l| !l.trim_start().starts_with("source ="))
                .collect();
            let copied: Vec<&str> = copy
                .lines()
                .skip(2)
                .filter(|l| !l.starts_with("source =") && !l.starts_with("workdir ="))
                .collect();
            assert_eq!(copied, kept);
        }
        // The checked-in manifest is right only for the default target directory.
        let shared = Path::new("/var/cache/cargo-target/wasm32-wasip2/release/status_reader.wasm");
        assert_ne!(
            resolved(&spin, workspace, "source", "[component.reader]"),
            shared
        );
    }

    /// CARGO_TARGET_DIR behind a symbolic link, elsewhere than the checkout: the written copy's
    /// paths, opened the way Spin opens them (the OS resolving `..` after the link), reach
    /// the `.wasm` and the workspace.
    #[test]
    fn the_written_copy_resolves_through_a_linked_target_directory() {
        let base = std::env::temp_dir().join(format!("xtask-spin-{}", std::process::id()));
        let (workspace, real_target) = (base.join("checkout"), base.join("disk/cache/target"));
        let wasm_dir = real_target.join("wasm32-wasip2/release");
        std::fs::create_dir_all(&workspace).unwrap();
        std::fs::create_dir_all(&wasm_dir).unwrap();
        std::fs::write(wasm_dir.join("status_reader.wasm"), b"\0asm").unwrap();
        let spin = workspace.join("spin.toml");
        std::fs::write(&spin, spin_toml()).unwrap();
        let linked = base.join("target-link");
        std::os::unix::fs::symlink(&real_target, &linked).unwrap();

        let wasm = linked.join("wasm32-wasip2/release/status_reader.wasm");
        let written = write_copy(&spin, &linked.join("xtask/spin"), &wasm, &workspace);
        let opened = |key: &str, table: &str| {
            let copy = std::fs::read_to_string(written.as_ref().unwrap()).unwrap();
            let dir = written.as_ref().unwrap().parent().unwrap();
            let mut section = "";
            let value = copy
                .lines()
                .find_map(|line| {
                    let line = line.trim();
                    if line.starts_with('[') {
                        section = line;
                        return None;
                    }
                    let value = line.strip_prefix(key)?.trim_start().strip_prefix('=')?;
                    (section == table).then(|| value.trim().trim_matches('"').to_owned())
                })
                .unwrap_or_else(|| panic!("no {key} in {table}:\n{copy}"));
            std::fs::canonicalize(dir.join(value))
        };
        let source = opened("source", "[component.reader]");
        let workdir = opened("workdir", "[component.reader.build]");
        let want = (
            std::fs::canonicalize(wasm_dir.join("status_reader.wasm")),
            std::fs::canonicalize(&workspace),
        );
        let _ = std::fs::remove_dir_all(&base);
        assert_eq!(source.unwrap(), want.0.unwrap());
        assert_eq!(workdir.unwrap(), want.1.unwrap());
    }

    #[test]
    fn a_manifest_without_exactly_one_source_is_refused() {
        let dir = Path::new("/t/xtask/spin");
        let wasm = Path::new("/t/r.wasm");
        let ws = Path::new("/w");
        let none = "[component.reader]\nallowed_outbound_hosts = []\n";
        assert!(rewrite(none, dir, wasm, ws).is_err());
        let two = "[component.reader]\nsource = \"a\"\nsource = \"b\"\n";
        assert!(rewrite(two, dir, wasm, ws).is_err());
        // A `source` elsewhere is not the component's.
        let other = "[component.other]\nsource = \"a\"\n[component.reader]\nsource = \"b\"\n";
        let copy = rewrite(other, dir, wasm, ws).unwrap();
        assert!(
            copy.contains("[component.other]\nsource = \"a\"\n"),
            "{copy}"
        );
    }

    #[test]
    fn paths_are_quoted_for_toml() {
        assert_eq!(
            toml_string(Path::new("../a \"b\"\\c")).unwrap(),
            r#""../a \"b\"\\c""#
        );
    }
}
