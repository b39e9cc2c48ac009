//! Compacts the widget script for embedding: the readable `src/embed/widget.js` keeps its
//! comments and indentation, the served copy drops whole-line comments and leading
//! whitespace (about 2 KB of its ~11 KB). Line breaks stay, so automatic semicolon insertion
//! and the multi-line CSS template read exactly as in the source.

use std::path::PathBuf;

fn main() {
    let source = "src/embed/widget.js";
    println!("cargo::rerun-if-changed={source}");
    let text = std::fs::read_to_string(source).expect("cannot read src/embed/widget.js");
    let compact: String = text
        .lines()
        .map(str::trim_start)
        .filter(|line| !line.is_empty() && !line.starts_with("//"))
        .flat_map(|line| [line, "\n"])
        .collect();
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    std::fs::write(out.join("widget.min.js"), compact).expect("cannot write widget.min.js");
}
