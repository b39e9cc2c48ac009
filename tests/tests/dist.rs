//! The release bundles of `cargo xtask dist` (issue 26), used as an operator would: the
//! archive checked against `SHA256SUMS`, unpacked into an empty directory outside the
//! workspace, the refresher started from there against the real MariaDB and Redis, and the
//! bundle's own `reader/spin.toml` and `.wasm` served by reader-host (standing in for Spin),
//! answering with the document. The Linux bundle natively, the Windows one under Wine.
//!
//! The reader's OCI image layout (`reader/oci/` in a bundle) is read as a registry client and
//! SpinKube would: every digest and size checked, Spin's media types, the locked app checked
//! against the bundle's spin.toml, and the component, found by the locked app's digest, served
//! by reader-host from a manifest written from the locked app alone. Debian's skopeo, where
//! installed (`.ci/run` installs it), reads and copies the layout as an independent check.
//!
//! `cargo xtask test` builds the bundles and passes `STATUS_DIST_DIR` (and, for Windows, the
//! Wine prefix); without them these tests print why and pass.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use integration_tests::binaries::{Child, run};
use integration_tests::bundle::{dist_dir, unpack_tar_gz, unpack_zip, verified_archive};
use integration_tests::db::TestDb;
use integration_tests::live::{self, exp};
use integration_tests::reader::{listening_addr, reader_host_bin};
use integration_tests::redis::TestRedis;
use integration_tests::temp::TempDir;
use integration_tests::wait::wait_until;
use integration_tests::wine::Wine;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use status_document::StatusDocument;

const LIMIT: Duration = Duration::from_secs(60);

/// The refresher in `cmd` (a bundle's, run from the bundle's folder) refreshes once.
fn refresh_once(mut cmd: Command, folder: &Path, db: &TestDb, redis: &TestRedis) {
    cmd.current_dir(folder)
        .env("DATABASE_URL", db.url())
        .env("REDIS_URL", redis.url())
        .env("STATUS_KEY", redis.status_key())
        .env("STATUS_INTERVAL_KEY", redis.interval_key())
        .env("STATUS_METRICS_ADDR", "")
        .arg("--once");
    let (status, output) = run(cmd, LIMIT);
    assert_eq!(
        status.code(),
        Some(0),
        "--once from the bundle failed:\n{output}"
    );
    assert_eq!(exp(redis), Some(1.0), "{output}");
}

/// The bundle's reader (its own spin.toml and .wasm) in reader-host, run from the bundle's
/// `reader/` folder: GET /server/status answers with the document the refresher wrote.
fn reader_serves_the_document(dist: &Path, folder: &Path, redis: &TestRedis) {
    let reader = folder.join("reader");
    for file in ["spin.toml", "status_reader.wasm", "runtime-config.toml"] {
        assert!(
            reader.join(file).is_file(),
            "the bundle has no reader/{file}"
        );
    }
    let mut cmd = Command::new(reader_host_bin());
    cmd.env_clear()
        .current_dir(&reader)
        .args(["--manifest", "spin.toml", "--listen", "127.0.0.1:0"])
        // The host's compiled-code cache of the other reader tests (target/reader-host-cache):
        // the bundle's .wasm is the same file, and compiling it again takes minutes in a
        // debug build of the host.
        .arg("--cache-dir")
        .arg(dist.parent().unwrap_or(dist).join("reader-host-cache"))
        .arg("--variable")
        .arg(format!("status_key={}", redis.status_key()))
        .arg("--variable")
        .arg(format!("redis_address={}", redis.url()));
    let child = Child::spawn(cmd);
    assert!(
        wait_until(LIMIT, || listening_addr(&child.output()).is_some()),
        "reader-host did not start from the bundle:\n{}",
        child.output()
    );
    let addr = listening_addr(&child.output()).expect("an address");
    let reply = dev_support::http::get(addr, "/server/status", Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("GET /server/status: {e}\n{}", child.output()));
    assert_eq!(reply.status, 200, "{}", reply.text());
    let doc: StatusDocument =
        serde_json::from_slice(&reply.body).unwrap_or_else(|e| panic!("{e}: {}", reply.text()));
    assert_eq!(doc.rates.exp, 1.0);
}

/// `--version` of a bundled refresher: the package version and a commit.
fn assert_version(mut cmd: Command) {
    cmd.arg("--version");
    let (status, output) = run(cmd, LIMIT);
    assert!(status.success(), "{output}");
    assert!(
        output.trim().starts_with(&format!(
            "status-refresher {} (commit ",
            env!("CARGO_PKG_VERSION")
        )),
        "{output}"
    );
}

#[test]
fn linux_bundle_unpacked_into_an_empty_directory_refreshes_and_serves_the_document() {
    let Some(dist) = dist_dir() else { return };
    let archive = verified_archive(&dist, "-linux-x86_64.tar.gz").expect("no Linux archive");
    let dir = TempDir::new("ss-dist-linux");
    let folder = unpack_tar_gz(&archive, dir.path());
    for file in [
        "INSTALL.md",
        "CHANGELOG.md",
        "deploy/systemd/status-refresher.service",
    ] {
        assert!(folder.join(file).is_file(), "the bundle has no {file}");
    }
    let exe = folder.join("status-refresher");
    assert_version(bundled(&exe));

    let db = TestDb::new();
    live::seed(&db);
    let redis = TestRedis::new();
    refresh_once(bundled(&exe), &folder, &db, &redis);
    reader_serves_the_document(&dist, &folder, &redis);
}

#[test]
fn windows_bundle_unpacked_into_an_empty_directory_refreshes_under_wine_and_serves_the_document() {
    let Some(dist) = dist_dir() else { return };
    let Some(archive) = verified_archive(&dist, "-windows-x86_64.zip") else {
        eprintln!("skipped: no Windows bundle (cargo xtask test builds it where mingw-w64 is)");
        return;
    };
    let Some(wine) = Wine::from_env() else { return };
    let dir = TempDir::new("ss-dist-windows");
    let folder = unpack_zip(&archive, dir.path());
    for file in [
        "INSTALL.md",
        "CHANGELOG.md",
        "deploy/systemd/refresher.env.example",
        "reader/oci/index.json",
    ] {
        assert!(folder.join(file).is_file(), "the bundle has no {file}");
    }
    let exe = folder.join("status-refresher.exe");
    assert_version(wine.command(&exe));

    let db = TestDb::new();
    live::seed(&db);
    let redis = TestRedis::new();
    refresh_once(wine.command(&exe), &folder, &db, &redis);
    reader_serves_the_document(&dist, &folder, &redis);
}

/// The bundle's refresher with a clean environment (`PATH`, `RUST_LOG` kept), as the other
/// refresher tests run theirs.
fn bundled(program: &Path) -> Command {
    let mut cmd = Command::new(program);
    cmd.env_clear();
    for keep in ["PATH", "RUST_LOG", "RUST_BACKTRACE"] {
        if let Some(v) = std::env::var_os(keep) {
            cmd.env(keep, v);
        }
    }
    cmd.stdin(std::process::Stdio::null());
    cmd
}

// ---- the reader as an OCI image layout ----

/// Media types as Spin's `spin-oci` crate and SpinKube's shim name them.
const SPIN_APPLICATION: &str = "application/vnd.fermyon.spin.application.v1+config";
const WASM_LAYER: &str = "application/vnd.wasm.content.layer.v1+wasm";
const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
const LOCKED_APP_DIGEST_LABEL: &str = "com.fermyon.spin.lockedAppDigest";
const REF_NAME: &str = "org.opencontainers.image.ref.name";

fn sha256(data: &[u8]) -> String {
    let hex: String = Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256:{hex}")
}

fn json_file(path: &Path) -> Value {
    let data = fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_slice(&data).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// An OCI image layout read as a registry client reads one: every blob by its descriptor,
/// its digest and size checked.
struct OciLayout {
    dir: PathBuf,
    /// Digests of the blobs read so far.
    read: std::cell::RefCell<BTreeSet<String>>,
}

impl OciLayout {
    fn open(dir: &Path) -> OciLayout {
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

    fn blob_path(&self, digest: &str) -> PathBuf {
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
struct SpinArtifact {
    tag: String,
    manifest_digest: String,
    wasm: Vec<u8>,
    wasm_digest: String,
    locked_app: Value,
}

/// Reads the layout as SpinKube's shim and `spin registry pull` would, checking it on the way.
fn read_spin_artifact(dir: &Path) -> SpinArtifact {
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

/// The locked app describes the app of the bundle's spin.toml: the same variables, routes to
/// the one component, its allow-list, stores and variables, and its source by the wasm
/// layer's digest (no path or URL of the build machine).
fn assert_locked_app_is_the_bundles_app(locked: &Value, spin_toml: &Path, wasm_digest: &str) {
    let text = fs::read_to_string(spin_toml).expect("the bundle's spin.toml");
    let manifest: toml::Table = toml::from_str(&text).expect("spin.toml parses");
    let to_json = |v: &toml::Value| serde_json::to_value(v).expect("TOML as JSON");

    assert!(
        matches!(locked["spin_lock_version"].as_u64(), Some(0 | 1)),
        "{locked}"
    );
    let metadata = &locked["metadata"];
    assert_eq!(metadata["name"], to_json(&manifest["application"]["name"]));
    assert_eq!(
        metadata["version"],
        to_json(&manifest["application"]["version"])
    );
    assert!(
        metadata.get("origin").is_none(),
        "spin registry push drops `origin`"
    );
    assert_eq!(metadata["trigger"], json!({"type": "http"}));

    let variables = manifest["variables"].as_table().expect("[variables]");
    let locked_vars = locked["variables"].as_object().expect("variables");
    assert_eq!(
        locked_vars.keys().collect::<BTreeSet<_>>(),
        variables.keys().collect::<BTreeSet<_>>()
    );
    for (name, decl) in variables {
        assert_eq!(
            locked_vars[name]["default"],
            to_json(&decl["default"]),
            "{name}"
        );
        let secret = decl
            .get("secret")
            .and_then(toml::Value::as_bool)
            .unwrap_or(false);
        assert_eq!(locked_vars[name].get("secret").is_some(), secret, "{name}");
    }

    let routes: Vec<Value> = manifest["trigger"]["http"]
        .as_array()
        .expect("[[trigger.http]]")
        .iter()
        .map(|t| to_json(&t["route"]))
        .collect();
    let triggers = locked["triggers"].as_array().expect("triggers");
    let locked_routes: Vec<Value> = triggers
        .iter()
        .map(|t| t["trigger_config"]["route"].clone())
        .collect();
    assert_eq!(locked_routes, routes);
    let ids: BTreeSet<&str> = triggers.iter().filter_map(|t| t["id"].as_str()).collect();
    assert_eq!(ids.len(), triggers.len(), "trigger IDs are unique");
    for t in triggers {
        assert_eq!(t["trigger_type"], "http");
        assert_eq!(t["trigger_config"]["component"], "reader");
    }

    let components = locked["components"].as_array().expect("components");
    assert_eq!(components.len(), 1);
    let component = &components[0];
    let declared = &manifest["component"]["reader"];
    assert_eq!(component["id"], "reader");
    assert_eq!(
        component["source"],
        json!({"content_type": "application/wasm", "digest": wasm_digest})
    );
    assert_eq!(
        component["metadata"]["allowed_outbound_hosts"],
        to_json(&declared["allowed_outbound_hosts"])
    );
    assert_eq!(
        component["metadata"]["key_value_stores"],
        to_json(&declared["key_value_stores"])
    );
    assert_eq!(component["config"], to_json(&declared["variables"]));
}

/// A spin.toml for reader-host written from the locked app alone (what Spin would run), its
/// component's source the wasm blob in the layout.
fn manifest_from_locked_app(locked: &Value, wasm_blob: &Path) -> String {
    let to_toml = |v: &Value| toml::Value::try_from(v).expect("JSON as TOML");
    let mut app = toml::Table::new();
    app.insert("spin_manifest_version".into(), 2.into());
    let mut application = toml::Table::new();
    application.insert("name".into(), to_toml(&locked["metadata"]["name"]));
    app.insert("application".into(), application.into());

    let mut variables = toml::Table::new();
    for (name, v) in locked["variables"].as_object().expect("variables") {
        let mut decl = toml::Table::new();
        match v.get("default") {
            Some(default) => decl.insert("default".into(), to_toml(default)),
            None => decl.insert("required".into(), true.into()),
        };
        if v.get("secret") == Some(&Value::Bool(true)) {
            decl.insert("secret".into(), true.into());
        }
        variables.insert(name.clone(), decl.into());
    }
    app.insert("variables".into(), variables.into());

    let http: Vec<toml::Value> = locked["triggers"]
        .as_array()
        .expect("triggers")
        .iter()
        .map(|t| to_toml(&t["trigger_config"]))
        .collect();
    let mut trigger = toml::Table::new();
    trigger.insert("http".into(), http.into());
    app.insert("trigger".into(), trigger.into());

    let mut components = toml::Table::new();
    for c in locked["components"].as_array().expect("components") {
        let mut component = toml::Table::new();
        component.insert(
            "source".into(),
            wasm_blob.to_string_lossy().into_owned().into(),
        );
        for key in ["allowed_outbound_hosts", "key_value_stores"] {
            if let Some(v) = c["metadata"].get(key) {
                component.insert(key.into(), to_toml(v));
            }
        }
        for (from, to) in [("config", "variables"), ("env", "environment")] {
            if let Some(v) = c.get(from) {
                component.insert(to.into(), to_toml(v));
            }
        }
        components.insert(c["id"].as_str().expect("an id").into(), component.into());
    }
    app.insert("component".into(), components.into());
    toml::to_string(&app).expect("a manifest")
}

/// The layout's component, found by the locked app's digest, in reader-host from a
/// manifest written from the locked app: GET /server/status answers with the document.
fn layout_reader_serves_the_document(
    dist: &Path,
    layout: &Path,
    artifact: &SpinArtifact,
    work: &Path,
) {
    let digest = artifact.locked_app["components"][0]["source"]["digest"]
        .as_str()
        .expect("the component's digest");
    let blob = OciLayout::open(layout).blob_path(digest);
    let app_dir = work.join("from-locked-app");
    fs::create_dir_all(&app_dir).expect("create the app dir");
    fs::write(
        app_dir.join("spin.toml"),
        manifest_from_locked_app(&artifact.locked_app, &blob),
    )
    .expect("write the manifest");

    let redis = TestRedis::new();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("time")
        .as_secs_f64();
    redis.set(&redis.status_key(), integration_tests::document::at(now));

    let mut cmd = Command::new(reader_host_bin());
    cmd.env_clear()
        .current_dir(&app_dir)
        .args(["--manifest", "spin.toml", "--listen", "127.0.0.1:0"])
        .arg("--cache-dir")
        .arg(dist.parent().unwrap_or(dist).join("reader-host-cache"))
        .arg("--variable")
        .arg(format!("status_key={}", redis.status_key()))
        .arg("--variable")
        .arg(format!("redis_address={}", redis.url()));
    let child = Child::spawn(cmd);
    assert!(
        wait_until(LIMIT, || listening_addr(&child.output()).is_some()),
        "reader-host did not start from the OCI layout:\n{}",
        child.output()
    );
    let addr = listening_addr(&child.output()).expect("an address");
    let reply = dev_support::http::get(addr, "/server/status", Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("GET /server/status: {e}\n{}", child.output()));
    assert_eq!(reply.status, 200, "{}", reply.text());
    let doc: StatusDocument =
        serde_json::from_slice(&reply.body).unwrap_or_else(|e| panic!("{e}: {}", reply.text()));
    assert_eq!(doc.rates.exp, 3.5);
}

/// Debian's skopeo reads the layout (`oci:` transport) and copies it to a `dir:` unchanged:
/// the same manifest bytes and the same blobs. `None` with the reason when skopeo is missing.
fn skopeo_reads_and_copies(layout: &Path, artifact: &SpinArtifact, work: &Path) -> Option<()> {
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
    let mut inspect = Command::new("skopeo");
    inspect.args(["inspect", &source]);
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

    let copy_dir = work.join("skopeo-dir");
    let mut copy = Command::new("skopeo");
    copy.args(["--insecure-policy", "copy", &source])
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

    // And it is a check: one byte changed in the wasm blob, skopeo refuses the copy.
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
    Some(())
}

#[test]
fn the_bundles_oci_layout_is_spins_artifact_and_its_component_serves_the_document() {
    let Some(dist) = dist_dir() else { return };
    let archive = verified_archive(&dist, "-linux-x86_64.tar.gz").expect("no Linux archive");
    let dir = TempDir::new("ss-dist-oci");
    let folder = unpack_tar_gz(&archive, &dir.path().join("bundle"));
    let layout = folder.join("reader/oci");
    let artifact = read_spin_artifact(&layout);

    assert_eq!(artifact.tag, env!("CARGO_PKG_VERSION"));
    let bundled_wasm =
        fs::read(folder.join("reader/status_reader.wasm")).expect("the bundle's .wasm");
    assert!(
        artifact.wasm == bundled_wasm,
        "the wasm layer is the bundle's status_reader.wasm"
    );
    assert_eq!(sha256(&artifact.wasm), artifact.wasm_digest);
    assert_locked_app_is_the_bundles_app(
        &artifact.locked_app,
        &folder.join("reader/spin.toml"),
        &artifact.wasm_digest,
    );

    // The layout beside the archives is the same one.
    let standalone = dist.join(format!("server-status-{}-reader-oci", artifact.tag));
    assert_eq!(
        read_spin_artifact(&standalone).manifest_digest,
        artifact.manifest_digest
    );

    layout_reader_serves_the_document(&dist, &layout, &artifact, dir.path());
    skopeo_reads_and_copies(&layout, &artifact, dir.path());
}
