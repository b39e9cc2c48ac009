//! The spec file itself: the endpoint table names its paths, it is OpenAPI 3.1 with an
//! operation per route, its examples are real replies, the reader serves it unchanged, and the
//! check fails replies that depart from it.

use std::collections::BTreeSet;

use integration_tests::binaries::workspace_root;
use integration_tests::contract;
use integration_tests::docs;
use integration_tests::reader::{ReaderConfig, ReaderServer};
use integration_tests::redis::TestRedis;

use super::repository_spec;

#[test]
fn documented_endpoint_table_names_the_specs_paths() {
    let page = docs::read(docs::WEBSITE);
    let table: Vec<&str> = page
        .lines()
        .skip_while(|l| !l.starts_with("| Request | Answer |"))
        .take_while(|l| l.starts_with('|'))
        .collect();
    assert!(
        table.len() > 2,
        "{} has no `| Request | Answer |` table",
        docs::WEBSITE
    );
    let mut documented = BTreeSet::new();
    for row in &table[2..] {
        let first_cell = row.split('|').nth(1).unwrap_or("");
        // `GET`/`HEAD /server/status` -> /server/status
        for code in first_cell.split('`').skip(1).step_by(2) {
            if let Some(path) = code.split_whitespace().find(|w| w.starts_with('/')) {
                documented.insert(path.to_owned());
            }
        }
    }
    let spec: BTreeSet<String> = contract::paths().into_iter().collect();
    assert_eq!(
        documented,
        spec,
        "{}'s endpoint table and reader/openapi.json name different paths",
        docs::WEBSITE
    );
}

#[test]
fn spec_is_openapi_3_1_with_an_operation_per_route() {
    let spec = repository_spec();
    assert!(spec["openapi"].as_str().unwrap().starts_with("3.1."));
    let paths: BTreeSet<String> = contract::paths().into_iter().collect();
    // Both builds' manifests: the WASIp2 one at the root and Spin 4's.
    for manifest_path in ["spin.toml", "deploy/spin/spin4.toml"] {
        let manifest = std::fs::read_to_string(workspace_root().join(manifest_path))
            .unwrap_or_else(|e| panic!("{manifest_path}: {e}"));
        let routes: BTreeSet<String> = manifest
            .lines()
            .filter_map(|l| l.strip_prefix("route = \""))
            .map(|r| r.trim_end_matches('"').to_owned())
            .filter(|r| r != "/...")
            .collect();
        // A server's paths (`/servers/{id}...`) have no route of their own: the catch-all
        // `/...` hands them to the reader, which validates the id.
        let fixed: BTreeSet<String> = paths.iter().filter(|p| !p.contains('{')).cloned().collect();
        assert_eq!(
            routes, fixed,
            "{manifest_path}'s routes and the spec's paths differ"
        );
        assert!(
            manifest.contains("route = \"/...\""),
            "{manifest_path}: no catch-all"
        );
    }
    for path in &paths {
        for method in ["get", "options"] {
            assert!(
                spec["paths"][path][method].is_object(),
                "{path} has no {method}"
            );
        }
    }
}

#[test]
fn examples_are_real_responses_that_validate() {
    let checked = contract::check_examples().unwrap_or_else(|e| panic!("{e}"));
    assert!(checked >= 10, "only {checked} examples in the spec");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn served_spec_is_the_repository_file() {
    let redis = TestRedis::new();
    let reader = ReaderServer::start(ReaderConfig::new(&redis.url(), &redis.status_key())).await;
    let reply = reader.get("/server/status/openapi.json").await;
    assert_eq!(reply.status, 200);
    // Compared as parsed values: the served copy has no whitespace, and both sides go
    // through the same parser, so no float is judged by its spelling.
    assert_eq!(reply.json(), repository_spec());
    assert!(
        reply.body.len() * 10
            < std::fs::metadata(workspace_root().join("reader/openapi.json"))
                .unwrap()
                .len() as usize
                * 7,
        "the served copy is compacted ({} bytes)",
        reply.body.len()
    );
    let etag = reply.header("etag").unwrap().to_owned();
    let again = reader
        .request(
            "GET",
            "/server/status/openapi.json",
            &[("if-none-match", &etag)],
        )
        .await;
    assert_eq!((again.status, again.body.len()), (304, 0));
}

/// A reply the spec does not allow: method, target, status, headers, body, and a word the
/// check's complaint must contain.
type Departure<'a> = (
    &'a str,
    &'a str,
    u16,
    &'a http::HeaderMap,
    &'a [u8],
    &'a str,
);

#[test]
fn the_check_fails_replies_that_depart_from_the_spec() {
    let json = |pairs: &[(&str, &str)]| {
        let mut h = http::HeaderMap::new();
        for (n, v) in pairs {
            h.insert(
                http::HeaderName::from_bytes(n.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    };
    let no_store = json(&[
        ("content-type", "application/json; charset=utf-8"),
        ("cache-control", "no-store"),
    ]);
    let ok_health = br#"{"status":"ok","age_seconds":1,"source":"primary","state":"online","last_known_state":"online"}"#;
    assert_eq!(
        contract::check("GET", "/health", 200, &no_store, ok_health),
        Ok(())
    );
    let cases: [Departure; 6] = [
        ("GET", "/health", 418, &no_store, ok_health, "status 418"),
        (
            "GET",
            "/health",
            200,
            &no_store,
            br#"{"status":"fine","state":"online"}"#,
            "body",
        ),
        (
            "GET",
            "/health",
            200,
            &json(&[("content-type", "application/json")]),
            ok_health,
            "Cache-Control missing",
        ),
        (
            "GET",
            "/health",
            200,
            &json(&[("content-type", "text/html"), ("cache-control", "no-store")]),
            ok_health,
            "content-type",
        ),
        (
            "GET",
            "/server/status/simple",
            200,
            &json(&[
                ("content-type", "text/plain; charset=utf-8"),
                ("cache-control", "no-store"),
                ("etag", "\"x\""),
                ("x-content-type-options", "nosniff"),
            ]),
            b"offline",
            "body",
        ),
        (
            "GET",
            "/server/status",
            503,
            &no_store,
            br#"{"error":"invalid_json","message":"x"}"#,
            "Retry-After",
        ),
    ];
    for (method, target, status, headers, body, says) in cases {
        let err = contract::check(method, target, status, headers, body)
            .expect_err(&format!("{target} {status} {says} passed"));
        assert!(err.contains(says), "{err}");
    }
}
