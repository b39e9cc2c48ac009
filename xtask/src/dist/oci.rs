//! The reader as an OCI image layout: the artifact `spin registry push` would put in a
//! registry, written to disk with no registry and no network, for `skopeo copy oci:…` or
//! `oras cp --from-oci-layout …` to push, and SpinKube to run from there.
//!
//! The artifact is the one Spin's `spin-oci` crate (`Client::push_locked_core`) assembles and
//! the SpinKube shim (`containerd-shim-spin`, `Source::from_ctx`) reads:
//!
//! - an image manifest (`application/vnd.oci.image.manifest.v1+json`) whose layers are the
//!   component's `.wasm` (`application/vnd.wasm.content.layer.v1+wasm`, Spin composes a
//!   component without dependencies to its own bytes) and then the locked app
//!   (`application/vnd.fermyon.spin.application.v1+config`, dist/locked_app/), whose
//!   component source is that layer's digest;
//! - as its config, a plain OCI image config (`application/vnd.oci.image.config.v1+json`):
//!   architecture `wasm`, os `Wasip1`, no rootfs layers, and the label
//!   `com.fermyon.spin.lockedAppDigest` = the locked app's digest, so two apps never share a
//!   config. (Spin apps pushed before Spin 2 had the locked app *as* the config; Spin still
//!   reads those, but containerd hands the shim only layers, so SpinKube needs this form.)
//! - the annotations Spin infers: `org.opencontainers.image.title`, `.description`,
//!   `.version` from the app's metadata and `.created`, here the commit's time rather than
//!   the moment of the build, so the layout is the same for one commit.
//!
//! Spin's archive-layer variant (`application/vnd.wasm.content.bundle.v1.tar+gzip`) and data
//! layers (`application/vnd.wasm.content.layer.v1+data`) carry `files` mounts; the reader has
//! none, so they do not occur.
//!
//! On disk it is an OCI image layout (image-spec `image-layout.md`): `oci-layout`,
//! `index.json` naming the manifest with `org.opencontainers.image.ref.name` = the version
//! (the tag to copy: `oci:<dir>:<version>`), and every blob under `blobs/sha256/<hex>`. The
//! JSON documents are serialised with sorted keys, so their digests are reproducible.

use std::collections::HashMap;
use std::fs;
use std::path::Path;
use std::str::FromStr;

use anyhow::{Context, Result};
use oci_spec::image::{
    ANNOTATION_CREATED, ANNOTATION_DESCRIPTION, ANNOTATION_REF_NAME, ANNOTATION_TITLE,
    ANNOTATION_VERSION, Arch, ConfigBuilder, Descriptor, DescriptorBuilder, Digest,
    ImageConfigurationBuilder, ImageIndexBuilder, ImageManifestBuilder, MediaType,
    OciLayoutBuilder, Os, RootFs, SCHEMA_VERSION, Sha256Digest,
};
use serde::Serialize;
use sha2::{Digest as _, Sha256};

use super::locked_app::{self, WasmContent};

/// The locked app's layer (`spin_oci::client::SPIN_APPLICATION_MEDIA_TYPE`).
pub const SPIN_APPLICATION_MEDIA_TYPE: &str = "application/vnd.fermyon.spin.application.v1+config";
/// A component's Wasm layer (`spin-oci`'s and the shim's `WASM_LAYER_MEDIA_TYPE`).
pub const WASM_LAYER_MEDIA_TYPE: &str = "application/vnd.wasm.content.layer.v1+wasm";
/// The image config's label carrying the locked app's digest.
pub const LOCKED_APP_DIGEST_LABEL: &str = "com.fermyon.spin.lockedAppDigest";
/// The image config's `os` (Spin writes `Os::Other("Wasip1")`).
const OS: &str = "Wasip1";
/// image-spec's layout version.
const LAYOUT_VERSION: &str = "1.0.0";

/// What [`write`] wrote: the digests, for the caller's summary.
#[derive(Debug, Clone)]
pub struct Layout {
    /// The manifest's digest (`sha256:<hex>`): what a registry reports after the push.
    pub manifest_digest: String,
    /// The tag `index.json` gives the manifest.
    pub tag: String,
}

/// Writes the OCI image layout of the app `manifest` (the text of the bundle's spin.toml)
/// into the empty or missing `dir`: its one component's source is `wasm`, read from the
/// file the manifest names as `source`. `tag` names the manifest in `index.json`; `created`
/// (RFC 3339) is the `created` annotation.
pub fn write(
    dir: &Path,
    manifest: &str,
    source: &str,
    wasm: &[u8],
    tag: &str,
    created: &str,
) -> Result<Layout> {
    let wasm_digest = sha256_digest(wasm);
    let locked = locked_app::lock(
        manifest,
        &[WasmContent {
            source,
            digest: &wasm_digest,
            size: wasm.len(),
        }],
    )
    .context("writing spin.toml as a locked app")?;
    let locked_json = locked.to_json()?;

    let mut blobs = Blobs::new(dir)?;
    let wasm_layer = blobs.add(WASM_LAYER_MEDIA_TYPE.into(), wasm)?;
    let locked_layer = blobs.add(SPIN_APPLICATION_MEDIA_TYPE.into(), &locked_json)?;

    let config = blobs.add(
        MediaType::ImageConfig,
        &image_config(locked_layer.digest())?,
    )?;
    let image_manifest = ImageManifestBuilder::default()
        .schema_version(SCHEMA_VERSION)
        .media_type(MediaType::ImageManifest)
        .config(config)
        .layers(vec![wasm_layer, locked_layer])
        .annotations(annotations(&locked, created))
        .build()?;
    let manifest_blob = blobs.add(MediaType::ImageManifest, &canonical_json(&image_manifest)?)?;
    write_index(dir, &manifest_blob, tag)?;
    Ok(Layout {
        manifest_digest: manifest_blob.digest().to_string(),
        tag: tag.to_owned(),
    })
}

/// The image configuration: a Wasm "image" whose label names the locked app's layer.
fn image_config(locked_app: &Digest) -> Result<Vec<u8>> {
    let labels = HashMap::from([(LOCKED_APP_DIGEST_LABEL.to_owned(), locked_app.to_string())]);
    let image_config = ImageConfigurationBuilder::default()
        .architecture(Arch::Wasm)
        .os(Os::Other(OS.into()))
        .config(ConfigBuilder::default().labels(labels).build()?)
        .rootfs(RootFs::default())
        .build()?;
    canonical_json(&image_config)
}

/// The manifest's annotations: the app's name, description and version as title,
/// description and version (those it has), and `created`.
fn annotations(locked: &locked_app::LockedApp, created: &str) -> HashMap<String, String> {
    let mut annotations = HashMap::new();
    for (key, value) in [
        (ANNOTATION_TITLE, locked.metadata_str("name")),
        (ANNOTATION_DESCRIPTION, locked.metadata_str("description")),
        (ANNOTATION_VERSION, locked.metadata_str("version")),
        (ANNOTATION_CREATED, Some(created)),
    ] {
        if let Some(value) = value {
            annotations.insert(key.to_owned(), value.to_owned());
        }
    }
    annotations
}

/// `index.json`, naming the manifest by `tag`, and `oci-layout`.
fn write_index(dir: &Path, manifest_blob: &Descriptor, tag: &str) -> Result<()> {
    let tagged = DescriptorBuilder::default()
        .media_type(MediaType::ImageManifest)
        .digest(manifest_blob.digest().clone())
        .size(manifest_blob.size())
        .annotations(HashMap::from([(
            ANNOTATION_REF_NAME.to_owned(),
            tag.to_owned(),
        )]))
        .build()?;
    let index = ImageIndexBuilder::default()
        .schema_version(SCHEMA_VERSION)
        .media_type(MediaType::ImageIndex)
        .manifests(vec![tagged])
        .build()?;
    write_file(&dir.join("index.json"), &canonical_json(&index)?)?;
    let layout = OciLayoutBuilder::default()
        .image_layout_version(LAYOUT_VERSION)
        .build()?;
    write_file(&dir.join("oci-layout"), &canonical_json(&layout)?)
}

/// `blobs/sha256/` of a layout being written.
struct Blobs<'a> {
    dir: &'a Path,
}

impl<'a> Blobs<'a> {
    fn new(dir: &'a Path) -> Result<Self> {
        let blobs = dir.join("blobs/sha256");
        fs::create_dir_all(&blobs).with_context(|| format!("creating {}", blobs.display()))?;
        Ok(Self { dir })
    }

    /// Stores `data` by its digest; its descriptor.
    fn add(&mut self, media_type: MediaType, data: &[u8]) -> Result<Descriptor> {
        let hex = sha256_hex(data);
        write_file(&self.dir.join("blobs/sha256").join(&hex), data)?;
        let digest = Digest::from(Sha256Digest::from_str(&hex)?);
        Ok(Descriptor::new(media_type, data.len() as u64, digest))
    }
}

/// `value` as JSON with every object's keys sorted (serde_json's map is ordered by key), so
/// the `HashMap`s of `oci-spec` serialise the same way every time.
fn canonical_json(value: &impl Serialize) -> Result<Vec<u8>> {
    let value = serde_json::to_value(value).context("serialising an OCI document")?;
    serde_json::to_vec(&value).context("serialising an OCI document")
}

fn write_file(path: &Path, data: &[u8]) -> Result<()> {
    fs::write(path, data).with_context(|| format!("writing {}", path.display()))
}

fn sha256_hex(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `sha256:<hex>` of `data`.
pub fn sha256_digest(data: &[u8]) -> String {
    format!("sha256:{}", sha256_hex(data))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn spin_toml() -> String {
        let ws = crate::workspace::Workspace::locate();
        let manifest = fs::read_to_string(ws.spin_manifest()).unwrap();
        crate::dist::bundle::bundled_manifest(&manifest).unwrap()
    }

    fn read_json(path: &Path) -> Value {
        serde_json::from_slice(&fs::read(path).unwrap()).unwrap()
    }

    fn temp(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("xtask-oci-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    /// Every blob the documents name is there, with its digest and size; the manifest is
    /// Spin's shape; the same input gives the same bytes (the annotations and labels are
    /// `HashMap`s, so an unsorted serialisation would show here).
    #[test]
    fn the_layout_is_spins_artifact_and_reproducible() {
        let wasm: Vec<u8> = (0..5000u32).map(|i| (i % 251) as u8).collect();
        let (a, b) = (temp("a"), temp("b"));
        let created = "2026-12-07T02:41:42Z";
        let write_to = |dir: &Path| {
            write(
                dir,
                &spin_toml(),
                "status_reader.wasm",
                &wasm,
                "0.1.0",
                created,
            )
        };
        let (la, lb) = (write_to(&a).unwrap(), write_to(&b).unwrap());
        assert_eq!(la.manifest_digest, lb.manifest_digest);
        for file in ["index.json", "oci-layout"] {
            assert_eq!(
                fs::read(a.join(file)).unwrap(),
                fs::read(b.join(file)).unwrap()
            );
        }

        let blob = |digest: &str| {
            let hex = digest.strip_prefix("sha256:").unwrap();
            let data = fs::read(a.join("blobs/sha256").join(hex)).unwrap();
            assert_eq!(sha256_digest(&data), digest);
            data
        };
        let check = |d: &Value| {
            let data = blob(d["digest"].as_str().unwrap());
            assert_eq!(d["size"].as_u64().unwrap(), data.len() as u64);
            data
        };
        assert_eq!(
            read_json(&a.join("oci-layout")),
            serde_json::json!({"imageLayoutVersion": "1.0.0"})
        );
        let index = read_json(&a.join("index.json"));
        let entry = &index["manifests"][0];
        assert_eq!(entry["annotations"][ANNOTATION_REF_NAME], "0.1.0");
        assert_eq!(entry["digest"], la.manifest_digest.as_str());
        let manifest: Value = serde_json::from_slice(&check(entry)).unwrap();
        assert_eq!(manifest["schemaVersion"], 2);
        assert_eq!(
            manifest["mediaType"],
            "application/vnd.oci.image.manifest.v1+json"
        );
        assert_eq!(manifest["annotations"][ANNOTATION_TITLE], "server-status");
        assert_eq!(manifest["annotations"][ANNOTATION_CREATED], created);
        let layers = manifest["layers"].as_array().unwrap();
        assert_eq!(layers.len(), 2);
        assert_eq!(layers[0]["mediaType"], WASM_LAYER_MEDIA_TYPE);
        assert_eq!(check(&layers[0]), wasm);
        assert_eq!(layers[1]["mediaType"], SPIN_APPLICATION_MEDIA_TYPE);
        let locked: Value = serde_json::from_slice(&check(&layers[1])).unwrap();
        assert_eq!(
            locked["components"][0]["source"]["digest"],
            layers[0]["digest"]
        );
        let config: Value = serde_json::from_slice(&check(&manifest["config"])).unwrap();
        assert_eq!(
            config,
            serde_json::json!({
                "architecture": "wasm",
                "os": "Wasip1",
                "config": {"Labels": {LOCKED_APP_DIGEST_LABEL: layers[1]["digest"]}},
                "rootfs": {"type": "layers", "diff_ids": []},
            })
        );
        let _ = fs::remove_dir_all(&a);
        let _ = fs::remove_dir_all(&b);
    }
}
