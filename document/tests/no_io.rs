//! Two rules ARCHITECTURE.md states, checked against the source tree itself.
//!
//! The document crate is the schema both halves share; it stays pure so that the reader (a
//! Wasm component with no ambient authority) and the refresher (a native daemon) can both
//! link it, and so that every decision it makes is testable without a server. And no
//! shipped crate may come to depend on the tooling (`dev-support`, `reader-host`, `xtask`,
//! `bench`), which is built for tests and local runs only.

use std::path::{Path, PathBuf};

fn crate_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn workspace_root() -> PathBuf {
    crate_dir()
        .parent()
        .expect("document/ has a parent")
        .to_path_buf()
}

/// The dependency names of every `[dependencies]`-like section of a manifest (plain,
/// target-specific; not dev-dependencies, which never reach a build of the crate).
fn dependencies(manifest: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut in_deps = false;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_deps = line.ends_with("dependencies]") && !line.contains("dev-dependencies");
            continue;
        }
        if in_deps && let Some((name, _)) = line.split_once('=') {
            let name = name.trim();
            if !name.is_empty() && !name.starts_with('#') {
                names.push(name.split('.').next().unwrap_or(name).to_owned());
            }
        }
    }
    names
}

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable source directory") {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn the_document_crate_does_no_io() {
    let manifest = std::fs::read_to_string(crate_dir().join("Cargo.toml")).unwrap();
    let mut deps = dependencies(&manifest);
    deps.sort();
    assert_eq!(
        deps,
        // simdutf8: the UTF-8 check of stored documents, pure computation like the others.
        ["serde", "serde_json", "simdutf8", "thiserror"],
        "document/Cargo.toml"
    );

    let mut files = Vec::new();
    sources(&crate_dir().join("src"), &mut files);
    assert!(!files.is_empty());
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for api in [
            "std::fs",
            "std::net",
            "std::process",
            "std::env",
            "std::io",
            "std::thread",
            "SystemTime",
            "Instant",
            "tokio",
        ] {
            assert!(
                !text.contains(api),
                "{} uses {api}: the document crate does no I/O (it is handed the time and \
                 the rows by its callers)",
                file.display()
            );
        }
    }
}

#[test]
fn shipped_crates_use_no_tooling() {
    for shipped in ["document", "refresher", "reader"] {
        let manifest =
            std::fs::read_to_string(workspace_root().join(shipped).join("Cargo.toml")).unwrap();
        let deps = dependencies(&manifest);
        assert!(!deps.is_empty(), "{shipped} has dependencies");
        for tooling in [
            "dev-support",
            "reader-host",
            "xtask",
            "bench",
            "integration-tests",
        ] {
            assert!(
                !deps.iter().any(|d| d == tooling),
                "{shipped} depends on the tooling crate {tooling}"
            );
        }
    }
}
