//! The website's building blocks that are not the badge: the widget script
//! (`/server/status/widget.js`), its demo page (`/server/status/widget`), and the contract
//! a client can be generated from (`/server/status/openapi.json`).
//!
//! Both are static files compiled into the component: no Redis read, no variable lookup.
//! Their `ETag` is a hash of the bytes computed at compile time, so a browser revalidates
//! them for the price of a 304, and a redeploy with a new widget gets a new tag.

use crate::cache::none_match;
use crate::request::RequestHead;
use crate::respond::Response;

// For WIDGET_JS, DEMO_HTML and OPENAPI_JSON: `<NAME>_PACKED`, the file as one LZ4 block
// packed by `build.rs` with `lz4_flex` (the `.wasm` has a size budget and they are about
// 52 KB as plain text), `<NAME>_LEN` its plain length and `<NAME>_HASH` its FNV-1a hash.
include!(concat!(env!("OUT_DIR"), "/packed.rs"));

/// Longest widget the reader may ship (the history feature's "≤ 12 KB", with the history bar; it was
/// "under ~10 KB" before); a unit test holds it.
pub const MAX_WIDGET_BYTES: usize = 12 * 1024;

/// Browsers may use a copy for an hour, and keep serving it for a day while revalidating:
/// the widget changes only with a redeploy, and an old widget still works.
const ASSET_CACHE_CONTROL: &str = "public, max-age=3600, stale-while-revalidate=86400";

/// The demo page may load only this reader's own script, styles inline in the page and the
/// widget's Shadow DOM, images (the badges) and data from this reader.
const DEMO_CSP: &str = "default-src 'none'; script-src 'self'; connect-src 'self'; img-src 'self'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// A static file of the component.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Asset {
    WidgetJs,
    DemoPage,
    OpenApi,
}

impl Asset {
    /// The served bytes: the served widget (`src/embed/widget.js` compacted by
    /// `build.rs`), the demo page with the snippet to copy, and `reader/openapi.json`
    /// without its whitespace (`build.rs`), each expanded from its packed copy. `None`
    /// only if the block does not expand, which `build.rs` and a unit test rule out.
    fn body(self) -> Option<Vec<u8>> {
        let (packed, len) = match self {
            Asset::WidgetJs => (WIDGET_JS_PACKED, WIDGET_JS_LEN),
            Asset::DemoPage => (DEMO_HTML_PACKED, DEMO_HTML_LEN),
            Asset::OpenApi => (OPENAPI_JSON_PACKED, OPENAPI_JSON_LEN),
        };
        lz4_flex::block::decompress(packed, len).ok()
    }

    fn content_type(self) -> &'static str {
        match self {
            Asset::WidgetJs => "text/javascript; charset=utf-8",
            Asset::DemoPage => "text/html; charset=utf-8",
            Asset::OpenApi => "application/json; charset=utf-8",
        }
    }

    fn etag(self) -> String {
        let hash = match self {
            Asset::WidgetJs => WIDGET_JS_HASH,
            Asset::DemoPage => DEMO_HTML_HASH,
            Asset::OpenApi => OPENAPI_JSON_HASH,
        };
        format!("\"a-{hash:016x}\"")
    }
}

/// 64-bit FNV-1a: the content hash of the `ETag`s. `build.rs` computes it over the plain
/// bytes (the component holds only the packed ones); this copy is the reference a unit
/// test holds it to. Only a cache validator, not a security boundary.
#[cfg(test)]
const fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u64;
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        i += 1;
    }
    hash
}

/// The response for `asset`, or 304 when `If-None-Match` already holds it.
pub fn serve(req: &RequestHead, asset: Asset) -> Response {
    let etag = asset.etag();
    let mut headers = vec![
        ("cache-control", ASSET_CACHE_CONTROL.to_owned()),
        ("x-content-type-options", "nosniff".to_owned()),
    ];
    if asset == Asset::DemoPage {
        headers.push(("content-security-policy", DEMO_CSP.to_owned()));
    }
    let matched = none_match(&req.if_none_match, &etag);
    headers.push(("etag", etag));
    if matched {
        return Response::not_modified(headers);
    }
    let Some(body) = asset.body() else {
        eprintln!("status-reader: a packed static file does not expand");
        return Response {
            status: 500,
            headers: vec![("cache-control", "no-store".to_owned())],
            body: Vec::new(),
        };
    };
    headers.insert(0, ("content-type", asset.content_type().to_owned()));
    Response {
        status: 200,
        headers,
        body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The plain files `build.rs` packs, as they were embedded before packing.
    const WIDGET_JS: &str = include_str!(concat!(env!("OUT_DIR"), "/widget.min.js"));
    const DEMO_HTML: &str = include_str!("widget.html");
    const OPENAPI_JSON: &str = include_str!(concat!(env!("OUT_DIR"), "/openapi.min.json"));

    #[test]
    fn packed_assets_expand_to_the_plain_files_and_keep_their_etags() {
        for (asset, plain) in [
            (Asset::WidgetJs, WIDGET_JS),
            (Asset::DemoPage, DEMO_HTML),
            (Asset::OpenApi, OPENAPI_JSON),
        ] {
            assert_eq!(asset.body().as_deref(), Some(plain.as_bytes()), "{asset:?}");
            assert_eq!(
                asset.etag(),
                format!("\"a-{:016x}\"", fnv1a(plain.as_bytes())),
                "{asset:?}"
            );
        }
        // The packed copies are what saves the bytes: at most 45 % of the plain files.
        let plain = WIDGET_JS.len() + DEMO_HTML.len() + OPENAPI_JSON.len();
        let packed = WIDGET_JS_PACKED.len() + DEMO_HTML_PACKED.len() + OPENAPI_JSON_PACKED.len();
        assert!(packed * 100 <= plain * 45, "{packed} of {plain}");
    }

    #[test]
    fn widget_is_small_and_compacted() {
        assert!(
            WIDGET_JS.len() <= MAX_WIDGET_BYTES,
            "widget.js is {} bytes, over {MAX_WIDGET_BYTES}",
            WIDGET_JS.len()
        );
        assert!(WIDGET_JS.contains("customElements.define(\"server-status\""));
        assert!(
            !WIDGET_JS
                .lines()
                .any(|l| l.starts_with(' ') || l.starts_with("//"))
        );
    }

    #[test]
    fn no_markup_from_data_in_the_widget() {
        // The widget writes what it shows with textContent only; a document string can
        // never become markup.
        for sink in [
            "innerHTML",
            "outerHTML",
            "insertAdjacentHTML",
            "document.write",
            "eval(",
        ] {
            assert!(!WIDGET_JS.contains(sink), "widget.js uses {sink}");
        }
    }

    #[test]
    fn assets_revalidate() {
        let r = serve(
            &RequestHead::new("GET", "/server/status/widget.js"),
            Asset::WidgetJs,
        );
        assert_eq!(r.status, 200);
        assert_eq!(
            r.header("content-type"),
            Some("text/javascript; charset=utf-8")
        );
        assert_eq!(r.body, WIDGET_JS.as_bytes());
        let etag = r.header("etag").unwrap().to_owned();
        let mut again = RequestHead::new("GET", "/server/status/widget.js");
        again.if_none_match = vec![etag.clone().into_bytes()];
        let r = serve(&again, Asset::WidgetJs);
        assert_eq!((r.status, r.body.len()), (304, 0));
        assert_eq!(r.header("etag"), Some(etag.as_str()));
        let page = serve(
            &RequestHead::new("GET", "/server/status/widget"),
            Asset::DemoPage,
        );
        assert_ne!(page.header("etag"), Some(etag.as_str()));
        assert!(
            page.header("content-security-policy")
                .unwrap()
                .contains("script-src 'self'")
        );
    }

    #[test]
    fn demo_page_embeds_the_served_paths() {
        assert!(DEMO_HTML.contains(r#"<script src="/server/status/widget.js" defer>"#));
        assert!(DEMO_HTML.contains(r#"<server-status id="ru" src="/server/status" lang="ru">"#));
        assert!(DEMO_HTML.contains("/server/status/badge.svg"));
    }

    #[test]
    fn the_contract_and_the_routes_agree() {
        use crate::route::{Dispatch, dispatch};
        let spec: serde_json::Value = serde_json::from_str(OPENAPI_JSON).unwrap();
        let paths = spec["paths"].as_object().unwrap();
        // Every path of the contract is served (a server's, with a real id)...
        for (path, item) in paths {
            let target = path.replace("{id}", "eu-1");
            let d = dispatch(&RequestHead::new("GET", &target));
            assert!(matches!(d, Dispatch::Serve { .. }), "{path}: {d:?}");
            // ...and a server's path documents the 404 its id can get, for GET and OPTIONS.
            if path.contains("{id}") {
                for method in ["get", "options"] {
                    let op = &item[method];
                    assert!(op["responses"]["404"].is_object(), "{method} {path}");
                    assert_eq!(
                        op["parameters"][0]["$ref"], "#/components/parameters/ServerId",
                        "{method} {path}"
                    );
                }
            }
        }
        // ...and every route is in the contract.
        for path in [
            "/server/status",
            "/server/status/debug",
            "/health",
            "/server/status/badge.svg",
            "/server/status/shields.json",
            "/server/status/widget.js",
            "/server/status/widget",
            "/server/status/simple",
            "/server/status/openapi.json",
            "/server/status/history",
            "/servers",
            "/servers/{id}",
            "/servers/{id}/debug",
            "/servers/{id}/badge.svg",
            "/servers/{id}/shields.json",
            "/servers/{id}/simple",
            "/servers/{id}/history",
            "/status",
        ] {
            assert!(paths.contains_key(path), "{path} is not in openapi.json");
        }
        assert_eq!(paths.len(), 18, "a path the reader does not serve");
        // The id's rule is the one `ServerId::parse` applies.
        let id = &spec["components"]["parameters"]["ServerId"]["schema"];
        assert_eq!(id["pattern"], "^[a-z0-9][a-z0-9_-]{0,31}$");
        assert_eq!(id["maxLength"], status_document::servers::MAX_ID_CHARS);
        let codes = &spec["components"]["schemas"]["Error"]["properties"]["error"]["enum"];
        for code in ["unknown_server", "index_unavailable", "invalid_index"] {
            assert!(
                codes.as_array().unwrap().iter().any(|c| c == code),
                "{code}"
            );
        }
    }

    #[test]
    fn the_widget_takes_a_server_attribute() {
        // Observed, so a changed id reloads; checked against the id's rule before it is
        // put in a URL, and then only as `/servers/<id>`.
        assert!(
            WIDGET_JS.contains(
                r#"observedAttributes() { return ["src", "lang", "history", "server"]; }"#
            )
        );
        assert!(WIDGET_JS.contains(r#"/^[a-z\d][a-z\d_-]{0,31}$/.test(id) && "#));
        assert!(WIDGET_JS.contains(r#""/servers/" + id"#));
    }

    #[test]
    fn fnv_reference_values() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
