//! Compacts what the component embeds, so the `.wasm` stays within its size budget.
//!
//! * `src/embed/widget.js`: the readable source keeps its comments and indentation; the
//!   served copy drops whole-line comments and leading whitespace (about 2 KB of its
//!   ~11 KB). Line breaks stay, so automatic semicolon insertion and the multi-line CSS
//!   template read exactly as in the source.
//! * `openapi.json`: the contract, kept readable in the repository, is served without the
//!   whitespace between tokens. The bytes of every token are copied as written — numbers
//!   are never parsed and re-printed, so no float can change on the way; `serde_json` only
//!   checks that the file is JSON, failing the build when it is not.
//! * All three served files (the two above and `src/embed/widget.html`) are then stored
//!   LZ4-compressed (`lz4_flex`'s block format, about 52 KB down to 20 KB of the `.wasm`),
//!   each file its own block, and expanded when served. The build fails unless each block
//!   expands back to the exact bytes. `packed.rs` names each file's block, its plain
//!   length and its FNV-1a hash, the `ETag` (computed here since the component no longer
//!   holds the plain bytes as a constant).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    compact_widget(&out);
    compact_openapi(&out);
    let html = "src/embed/widget.html";
    println!("cargo::rerun-if-changed={html}");
    let files = [
        ("WIDGET_JS", out.join("widget.min.js")),
        ("DEMO_HTML", PathBuf::from(html)),
        ("OPENAPI_JSON", out.join("openapi.min.json")),
    ];
    let mut consts = String::new();
    for (name, path) in &files {
        let plain = std::fs::read(path).expect("cannot read a served file");
        let packed = lz4_flex::block::compress(&plain);
        assert!(
            lz4_flex::block::decompress(&packed, plain.len())
                .ok()
                .as_deref()
                == Some(&plain[..]),
            "lz4_flex does not give {name} back"
        );
        let file = format!("{name}.lz4");
        std::fs::write(out.join(&file), &packed).expect("cannot write a packed file");
        let _ = writeln!(
            consts,
            "const {name}_PACKED: &[u8] = include_bytes!(concat!(env!(\"OUT_DIR\"), \"/{file}\"));\n\
             const {name}_LEN: usize = {};\n\
             const {name}_HASH: u64 = {:#018x};",
            plain.len(),
            fnv1a(&plain)
        );
    }
    std::fs::write(out.join("packed.rs"), consts).expect("cannot write packed.rs");
}

/// 64-bit FNV-1a, as `embed::fnv1a` (a unit test there checks the two agree).
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

fn compact_widget(out: &Path) {
    let source = "src/embed/widget.js";
    println!("cargo::rerun-if-changed={source}");
    let text = std::fs::read_to_string(source).expect("cannot read src/embed/widget.js");
    let compact: String = text
        .lines()
        .map(str::trim_start)
        .filter(|line| !line.is_empty() && !line.starts_with("//"))
        .flat_map(|line| [line, "\n"])
        .collect();
    std::fs::write(out.join("widget.min.js"), compact).expect("cannot write widget.min.js");
}

fn compact_openapi(out: &Path) {
    let source = "openapi.json";
    println!("cargo::rerun-if-changed={source}");
    let text = std::fs::read_to_string(source).expect("cannot read reader/openapi.json");
    if let Err(e) = serde_json::from_str::<serde_json::Value>(&text) {
        panic!("reader/openapi.json is not JSON: {e}");
    }
    std::fs::write(out.join("openapi.min.json"), strip_whitespace(&text))
        .expect("cannot write openapi.min.json");
}

/// JSON without the insignificant whitespace: everything outside string literals that is
/// a space, tab or line break goes; string literals (with their escapes) are copied as is.
fn strip_whitespace(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    let mut in_string = false;
    let mut escaped = false;
    for c in json.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if !matches!(c, ' ' | '\t' | '\n' | '\r') {
            out.push(c);
        }
    }
    out
}
