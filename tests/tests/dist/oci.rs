//! The reader as an OCI image layout, read as a registry client would: the index, the
//! manifest, every blob by digest and size, and Spin's media types.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

// ---- the reader as an OCI image layout ----

/// Media types as Spin's `spin-oci` crate and SpinKube's shim name them.
pub(super) const SPIN_APPLICATION: &str = "application/vnd.fermyon.spin.application.v1+config";
pub(super) const WASM_LAYER: &str = "application/vnd.wasm.content.layer.v1+wasm";
pub(super) const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub(super) const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub(super) const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub(super) const LOCKED_APP_DIGEST_LABEL: &str = "com.fermyon.spin.lockedAppDigest";
pub(super) const REF_NAME: &str = "org.opencontainers.image.ref.name";

pub(super) fn sha256(data: &[u8]) -> String {
    let hex: String = Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256:{hex}")
}

pub(super) fn json_file(path: &Path) -> Value {
    let data = fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_slice(&data).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// An OCI image layout read as a registry client reads one: every blob by its descriptor,
/// its digest and size checked.
pub(super) struct OciLayout {
    dir: PathBuf,
    /// Digests of the blobs read so far.
    read: std::cell::RefCell<BTreeSet<String>>,
}

impl OciLayout {
    pub(super) fn open(dir: &Path) -> OciLayout {
        assert_eq!(
            json_file(&dir.join("oci-layout")),
            json!({"imageLayoutVersion": "1.0.0"}),
            "oci-layout"
        );
        OciLayout {
            dir: dir.to_owned(),
            read: Default::default(),
        }
    }

    pub(super) fn blob_path(&self, digest: &str) -> PathBuf {
        let hex = digest
            .strip_prefix("sha256:")
            .unwrap_or_else(|| panic!("{digest} is not a sha256 digest"));
        assert!(
            hex.len() == 64
                && hex
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()),
            "{digest} is not a canonical sha256 digest"
        );
        self.dir.join("blobs/sha256").join(hex)
    }

    /// The blob a descriptor names, checked against its digest and size, and its media type
    /// checked against `media_type`.
    fn blob(&self, descriptor: &Value, media_type: &str) -> Vec<u8> {
        assert_eq!(descriptor["mediaType"], media_type, "{descriptor}");
        let digest = descriptor["digest"].as_str().expect("a digest");
        let data = fs::read(self.blob_path(digest)).unwrap_or_else(|e| panic!("{digest}: {e}"));
        assert_eq!(sha256(&data), digest, "the blob does not match its digest");
        assert_eq!(
            descriptor["size"].as_u64(),
            Some(data.len() as u64),
            "{digest}: size"
        );
        self.read.borrow_mut().insert(digest.to_owned());
        data
    }

    fn json_blob(&self, descriptor: &Value, media_type: &str) -> Value {
        serde_json::from_slice(&self.blob(descriptor, media_type))
            .unwrap_or_else(|e| panic!("{descriptor}: {e}"))
    }

    /// Every file under `blobs/sha256/`.
    fn stored(&self) -> BTreeSet<String> {
        fs::read_dir(self.dir.join("blobs/sha256"))
            .expect("blobs/sha256")
            .map(|e| {
                format!(
                    "sha256:{}",
                    e.expect("an entry").file_name().to_string_lossy()
                )
            })
            .collect()
    }
}

/// What the layout holds for Spin, all checked.
pub(super) struct SpinArtifact {
    pub(super) tag: String,
    pub(super) manifest_digest: String,
    pub(super) wasm: Vec<u8>,
    pub(super) wasm_digest: String,
    pub(super) locked_app: Value,
}

/// Reads the layout as SpinKube's shim and `spin registry pull` would, checking it on the way.
pub(super) fn read_spin_artifact(dir: &Path) -> SpinArtifact {
    let layout = OciLayout::open(dir);
    let index = json_file(&dir.join("index.json"));
    assert_eq!(index["schemaVersion"], 2);
    assert_eq!(index["mediaType"], OCI_INDEX);
    let manifests = index["manifests"].as_array().expect("manifests");
    assert_eq!(manifests.len(), 1, "{index}");
    let entry = &manifests[0];
    let tag = entry["annotations"][REF_NAME]
        .as_str()
        .expect("a ref.name")
        .to_owned();
    let manifest = layout.json_blob(entry, OCI_MANIFEST);
    let manifest_digest = entry["digest"].as_str().expect("a digest").to_owned();
    assert_eq!(manifest["schemaVersion"], 2);
    assert_eq!(manifest["mediaType"], OCI_MANIFEST);

    let layers = manifest["layers"].as_array().expect("layers");
    let types: Vec<&str> = layers
        .iter()
        .filter_map(|l| l["mediaType"].as_str())
        .collect();
    assert_eq!(types, [WASM_LAYER, SPIN_APPLICATION], "{manifest}");
    let wasm = layout.blob(&layers[0], WASM_LAYER);
    let wasm_digest = layers[0]["digest"].as_str().expect("a digest").to_owned();
    let locked_app = layout.json_blob(&layers[1], SPIN_APPLICATION);

    let config = layout.json_blob(&manifest["config"], OCI_CONFIG);
    assert_eq!(config["architecture"], "wasm", "{config}");
    assert_eq!(config["os"], "Wasip1", "{config}");
    assert_eq!(config["rootfs"], json!({"type": "layers", "diff_ids": []}));
    assert_eq!(
        config["config"]["Labels"][LOCKED_APP_DIGEST_LABEL], layers[1]["digest"],
        "the config's label names the locked app"
    );

    let annotations = &manifest["annotations"];
    let metadata = &locked_app["metadata"];
    for (annotation, key) in [
        ("title", "name"),
        ("description", "description"),
        ("version", "version"),
    ] {
        assert_eq!(
            annotations[format!("org.opencontainers.image.{annotation}")],
            metadata[key],
            "{annotation}"
        );
    }
    let created = annotations["org.opencontainers.image.created"]
        .as_str()
        .expect("created");
    assert!(created.len() == 20 && created.ends_with('Z'), "{created}");

    assert_eq!(
        layout.stored(),
        *layout.read.borrow(),
        "blobs/sha256 holds exactly the blobs the manifest names"
    );
    SpinArtifact {
        tag,
        manifest_digest,
        wasm,
        wasm_digest,
        locked_app,
    }
}
