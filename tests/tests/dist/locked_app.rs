//! The layout's locked app: the bundle's spin.toml app, and what reader-host serves from a
//! manifest written from it alone.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use integration_tests::bundle::{dist_dir, unpack_tar_gz, verified_archive};
use integration_tests::redis::TestRedis;
use integration_tests::temp::TempDir;
use serde_json::{Value, json};

use super::oci::{OciLayout, SpinArtifact, read_spin_artifact, sha256};
use super::served_document;
use super::skopeo::skopeo_reads_and_copies;

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

    let doc = served_document(dist, &app_dir, &redis);
    assert_eq!(doc.rates.unwrap().exp, 3.5);
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
