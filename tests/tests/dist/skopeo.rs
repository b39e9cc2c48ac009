//! Debian's skopeo as an independent reader of the layout.

use std::fs;
use std::path::Path;
use std::process::Command;

use integration_tests::binaries::run;
use serde_json::Value;

use super::LIMIT;
use super::oci::{LOCKED_APP_DIGEST_LABEL, SpinArtifact, sha256};

/// Debian's skopeo reads the layout (`oci:` transport) and copies it to a `dir:` unchanged:
/// the same manifest bytes and the same blobs; and refuses a copy whose wasm blob was
/// changed. `None` with the reason when skopeo is missing.
pub(super) fn skopeo_reads_and_copies(
    layout: &Path,
    artifact: &SpinArtifact,
    work: &Path,
) -> Option<()> {
    let version = Command::new("skopeo").arg("--version").output();
    match version {
        Ok(out) if out.status.success() => {
            eprintln!("{}", String::from_utf8_lossy(&out.stdout).trim());
        }
        _ => {
            eprintln!(
                "skipped the skopeo check: skopeo is not installed (on Debian: `apt-get install \
                 -y skopeo`; .ci/run installs it)"
            );
            return None;
        }
    }
    let source = format!("oci:{}:{}", layout.display(), artifact.tag);
    inspect_names_the_artifact(&source, artifact);
    copy_is_unchanged(&source, artifact, work);
    a_changed_blob_is_refused(layout, artifact, work);
    Some(())
}

/// `skopeo inspect` names the manifest's digest, Spin's platform and the wasm layer.
fn inspect_names_the_artifact(source: &str, artifact: &SpinArtifact) {
    let mut inspect = Command::new("skopeo");
    inspect.args(["inspect", source]);
    let (status, output) = run(inspect, LIMIT);
    assert!(status.success(), "skopeo inspect {source}:\n{output}");
    let (start, end) = match (output.find('{'), output.rfind('}')) {
        (Some(start), Some(end)) if start < end => (start, end),
        _ => panic!("no JSON from skopeo inspect:\n{output}"),
    };
    let inspected: Value =
        serde_json::from_str(&output[start..=end]).unwrap_or_else(|e| panic!("{e}: {output}"));
    assert_eq!(
        inspected["Digest"],
        artifact.manifest_digest.as_str(),
        "{inspected}"
    );
    assert_eq!(inspected["Architecture"], "wasm", "{inspected}");
    assert_eq!(inspected["Os"], "Wasip1", "{inspected}");
    assert_eq!(
        inspected["Layers"][0],
        artifact.wasm_digest.as_str(),
        "{inspected}"
    );
    assert!(
        inspected["Labels"][LOCKED_APP_DIGEST_LABEL].is_string(),
        "{inspected}"
    );
}

/// `skopeo copy` to a `dir:` keeps the manifest bytes and every blob.
fn copy_is_unchanged(source: &str, artifact: &SpinArtifact, work: &Path) {
    let copy_dir = work.join("skopeo-dir");
    let mut copy = Command::new("skopeo");
    copy.args(["--insecure-policy", "copy", source])
        .arg(format!("dir:{}", copy_dir.display()));
    let (status, output) = run(copy, LIMIT);
    assert!(status.success(), "skopeo copy {source} dir:…:\n{output}");
    let copied_manifest = fs::read(copy_dir.join("manifest.json")).expect("manifest.json");
    assert_eq!(
        sha256(&copied_manifest),
        artifact.manifest_digest,
        "skopeo copied the manifest unchanged"
    );
    let manifest: Value = serde_json::from_slice(&copied_manifest).expect("a manifest");
    let mut descriptors = manifest["layers"].as_array().expect("layers").clone();
    descriptors.push(manifest["config"].clone());
    for d in descriptors {
        let digest = d["digest"].as_str().expect("a digest");
        let hex = digest.trim_start_matches("sha256:");
        let copied = fs::read(copy_dir.join(hex)).unwrap_or_else(|e| panic!("{digest}: {e}"));
        assert_eq!(sha256(&copied), digest, "skopeo's copy of {digest}");
    }
}

/// And it is a check: one byte changed in the wasm blob, skopeo refuses the copy.
fn a_changed_blob_is_refused(layout: &Path, artifact: &SpinArtifact, work: &Path) {
    let corrupt = work.join("corrupt-oci");
    fs::create_dir_all(corrupt.join("blobs/sha256")).expect("create the corrupt copy");
    for file in ["oci-layout", "index.json"] {
        fs::copy(layout.join(file), corrupt.join(file)).expect("copy the layout");
    }
    for entry in fs::read_dir(layout.join("blobs/sha256")).expect("blobs") {
        let entry = entry.expect("an entry");
        fs::copy(
            entry.path(),
            corrupt.join("blobs/sha256").join(entry.file_name()),
        )
        .expect("copy a blob");
    }
    let wasm_blob = corrupt
        .join("blobs/sha256")
        .join(artifact.wasm_digest.trim_start_matches("sha256:"));
    let mut bytes = fs::read(&wasm_blob).expect("the wasm blob");
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    fs::write(&wasm_blob, bytes).expect("corrupt the wasm blob");
    let mut copy = Command::new("skopeo");
    copy.args(["--insecure-policy", "copy"])
        .arg(format!("oci:{}:{}", corrupt.display(), artifact.tag))
        .arg(format!("dir:{}", work.join("skopeo-corrupt").display()));
    let (status, output) = run(copy, LIMIT);
    assert!(
        !status.success() && output.contains("Digest did not match"),
        "skopeo copied a layout whose wasm blob does not match its digest:\n{output}"
    );
}
