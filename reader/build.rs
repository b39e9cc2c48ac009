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

use std::path::{Path, PathBuf};

fn main() {
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    compact_widget(&out);
    compact_openapi(&out);
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
