//! The locked app against Spin's own snapshot of its loader fixture, the repository's
//! spin.toml, and every manifest feature the writer must refuse rather than drop.

use super::*;

const DIGEST: &str = "sha256:6e3a0d0b2ab6a3a1d7d7a31ed1c95dd08b7bb13c1f8a6d2c0a8c1fd2ba1e3f4c";

fn wasm(source: &str) -> Vec<WasmContent<'_>> {
    vec![WasmContent {
        source,
        digest: DIGEST,
        size: 4096,
    }]
}

/// A manifest shaped like Spin's own loader fixture (crates/loader/tests/ui/
/// service-chaining.toml, without its remote source and service chaining) gives the
/// document Spin's snapshot of it has, with the source by digest and no `origin`, key
/// for key and in the same order.
#[test]
fn a_manifest_locks_as_spins_loader_locks_it() {
    let manifest = include_str!("fixtures/chain-of-command.toml");
    let locked = lock(manifest, &wasm("wasm/dummy.wasm")).unwrap();
    let json = String::from_utf8(serde_json::to_vec_pretty(&locked).unwrap()).unwrap();
    // Spin's snapshot, with the source's digest as `DIGEST`.
    let want = include_str!("fixtures/chain-of-command.lock.json");
    assert!(want.contains(DIGEST));
    assert_eq!(json, want.trim_end());
}

#[test]
fn the_bundles_spin_toml_locks_with_every_route_and_the_wasm_by_digest() {
    let ws = crate::workspace::Workspace::locate();
    let manifest = std::fs::read_to_string(ws.spin_manifest()).unwrap();
    let bundled = crate::dist::bundle::bundled_manifest(&manifest).unwrap();
    let locked = lock(&bundled, &wasm("status_reader.wasm")).unwrap();
    assert_eq!(locked.metadata_str("name"), Some("server-status"));
    assert_eq!(locked.components.len(), 1);
    assert_eq!(locked.components[0].source.digest, DIGEST);
    let routes: Vec<&str> = locked
        .triggers
        .iter()
        .filter_map(|t| t.trigger_config.get("route")?.as_str())
        .collect();
    let in_manifest = bundled.matches("\nroute = ").count();
    assert_eq!(routes.len(), in_manifest);
    assert!(routes.contains(&"/server/status") && routes.contains(&"/..."));
    assert_eq!(locked.triggers[0].id, "reader-http-trigger");
    assert_eq!(locked.triggers[1].id, "http-trigger1");
    assert!(locked.variables["redis_password"].secret);
    assert!(locked.components[0].config.contains_key("reader_config"));
}

#[test]
fn what_the_writer_cannot_carry_over_is_refused_by_name() {
    let base = "spin_manifest_version = 2\n[application]\nname = \"a\"\n\
                [[trigger.http]]\nroute = \"/\"\ncomponent = \"c\"\n[component.c]\n\
                source = \"c.wasm\"\n";
    assert!(lock(base, &wasm("c.wasm")).is_ok());
    for (extra, named) in [
        ("files = [\"static/\"]\n", "`files`"),
        (
            "allowed_http_hosts = [\"example.org\"]\n",
            "allowed_http_hosts",
        ),
        ("[component.c.build]\ncommand = \"make\"\n", "`build`"),
        (
            "[component.c.dependencies]\n\"a:b/c\" = \"1.0\"\n",
            "`dependencies`",
        ),
        ("unheard_of = 1\n", "unheard_of"),
    ] {
        let err = lock(&format!("{base}{extra}"), &wasm("c.wasm")).unwrap_err();
        assert!(format!("{err:#}").contains(named), "{extra}: {err:#}");
    }
    let remote = base.replace(
        "source = \"c.wasm\"",
        "source = { url = \"https://example.org/c.wasm\", digest = \"sha256:00\" }",
    );
    let err = lock(&remote, &wasm("c.wasm")).unwrap_err();
    assert!(format!("{err:#}").contains("not a local file"), "{err:#}");
    let missing = base.replace("component = \"c\"", "component = \"d\"");
    assert!(lock(&missing, &wasm("c.wasm")).is_err());
}
