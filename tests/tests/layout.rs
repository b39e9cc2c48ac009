//! A rule of ARCHITECTURE.md's, checked against the source tree itself: no import circle
//! between a crate's modules, except through `reader-host`'s generated bindings.
//!
//! A circle (`a` uses `b`, `b` uses `a`) means neither module can be read, tested or moved
//! without the other; the cure is almost always a small third module both use. The graph is
//! built from the crate's module tree (following `mod x;` from each crate root) at the
//! granularity of top-level modules: `crate::a::b::C` named anywhere in the non-test code of
//! any file under `a/` is an edge from that file's top-level module to `a`. Test-only code
//! (whatever a `#[cfg(test)]` gates: a `mod x;`, an inline `mod x { … }`, a `use`) is left
//! out: a test helper that calls the handler it tests is not a design circle.
//!
//! `bindings` is exempt: wasmtime's `bindgen!` names the host's resource types (`with:`),
//! and the modules implementing the interfaces import the generated traits.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use dev_support::workspace::workspace_root;

/// Module names exempt from the rule (see the module docs).
const EXEMPT: &[&str] = &["bindings"];

/// One file of a crate's non-test module tree: its top-level module ("" for the root) and
/// its text with comments and test code removed.
struct Source {
    top: String,
    code: String,
}

/// A file's code without `//` comment lines and without what `#[cfg(test)]` gates: the
/// next item's line (`mod x;`, a `use`), or an inline module up to its closing brace, which
/// rustfmt puts alone on a line at the module's own indentation.
fn non_test_code(text: &str) -> String {
    let mut code = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("//") {
            continue;
        }
        if trimmed != "#[cfg(test)]" {
            code.push(line);
            continue;
        }
        let Some(item) = lines.by_ref().find(|l| !l.trim_start().starts_with("#[")) else {
            break;
        };
        if item.trim_end().ends_with('{') {
            let close = format!("{}}}", &item[..item.len() - item.trim_start().len()]);
            lines.by_ref().find(|l| l.trim_end() == close);
        }
    }
    code.join("\n")
}

/// `mod name;` declarations of a file's non-test code.
fn declared_modules(code: &str) -> Vec<String> {
    code.lines()
        .filter_map(|l| {
            let l = l.trim();
            let l = l
                .strip_prefix("pub(crate) ")
                .or_else(|| l.strip_prefix("pub "))
                .unwrap_or(l);
            let name = l.strip_prefix("mod ")?.strip_suffix(';')?;
            Some(name.trim().to_owned())
        })
        .collect()
}

/// The file of module `name` declared in `parent` (`x.rs` beside a root or `mod.rs`, else in
/// the parent's own folder).
fn module_file(parent: &Path, name: &str) -> Option<PathBuf> {
    let stem = parent.file_stem()?.to_str()?;
    let dir = match stem {
        "lib" | "main" | "mod" => parent.parent()?.to_path_buf(),
        _ => parent.with_extension(""),
    };
    [
        dir.join(format!("{name}.rs")),
        dir.join(name).join("mod.rs"),
    ]
    .into_iter()
    .find(|p| p.is_file())
}

/// Every non-test file reachable from `root` by `mod` declarations.
fn module_tree(root: &Path) -> Vec<Source> {
    let mut out = Vec::new();
    let mut pending = vec![(root.to_path_buf(), String::new())];
    while let Some((file, top)) = pending.pop() {
        let text = fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let code = non_test_code(&text);
        for name in declared_modules(&code) {
            let child = module_file(&file, &name)
                .unwrap_or_else(|| panic!("{}: no file for `mod {name};`", file.display()));
            let child_top = if top.is_empty() { name } else { top.clone() };
            pending.push((child, child_top));
        }
        out.push(Source { top, code });
    }
    out
}

/// Top-level module → the top-level modules its code names through `crate::`.
fn graph(sources: &[Source]) -> BTreeMap<String, BTreeSet<String>> {
    let tops: BTreeSet<&str> = sources.iter().map(|s| s.top.as_str()).collect();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for source in sources.iter().filter(|s| !s.top.is_empty()) {
        for (at, _) in source.code.match_indices("crate::") {
            let rest = &source.code[at + "crate::".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if name != source.top && tops.contains(name.as_str()) {
                edges.entry(source.top.clone()).or_default().insert(name);
            }
        }
    }
    edges
}

/// The circles a depth-first walk closes (each back edge gives one, as `a -> b -> a`):
/// empty exactly when the graph has none. Every module is walked once, so the walk is
/// linear in the graph's size.
fn circles(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    fn walk<'a>(
        node: &'a str,
        edges: &'a BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
        found: &mut Vec<String>,
    ) {
        path.push(node);
        for next in edges.get(node).into_iter().flatten().map(String::as_str) {
            if EXEMPT.contains(&next) || done.contains(next) {
                continue;
            }
            if let Some(start) = path.iter().position(|p| *p == next) {
                let mut circle = path[start..].to_vec();
                circle.push(next);
                found.push(circle.join(" -> "));
            } else {
                walk(next, edges, path, done, found);
            }
        }
        path.pop();
        done.insert(node);
    }
    let mut done = BTreeSet::new();
    let mut found = Vec::new();
    for node in edges.keys().map(String::as_str) {
        if !EXEMPT.contains(&node) && !done.contains(node) {
            walk(node, edges, &mut Vec::new(), &mut done, &mut found);
        }
    }
    found
}

/// Crate roots of the workspace: every `src/lib.rs`, `src/main.rs` and `src/bin/*.rs`.
fn crate_roots(root: &Path) -> Vec<PathBuf> {
    let manifest = fs::read_to_string(root.join("Cargo.toml")).expect("workspace Cargo.toml");
    let members = manifest
        .split("members = [")
        .nth(1)
        .and_then(|m| m.split(']').next())
        .expect("a members list");
    let mut roots = Vec::new();
    for member in members.split(',').map(|m| m.trim().trim_matches('"')) {
        if member.is_empty() {
            continue;
        }
        let src = root.join(member).join("src");
        roots.extend(
            ["lib.rs", "main.rs"]
                .iter()
                .map(|f| src.join(f))
                .filter(|p| p.is_file()),
        );
        if let Ok(bins) = fs::read_dir(src.join("bin")) {
            roots.extend(
                bins.flatten()
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|e| e == "rs")),
            );
        }
    }
    roots
}

#[test]
fn no_import_circle_between_modules() {
    let root = workspace_root();
    let roots = crate_roots(&root);
    assert!(roots.len() >= 9, "found only {roots:?}");
    let mut all = Vec::new();
    for crate_root in &roots {
        let sources = module_tree(crate_root);
        let shown = crate_root
            .strip_prefix(&root)
            .unwrap_or(crate_root)
            .display();
        all.extend(
            circles(&graph(&sources))
                .into_iter()
                .map(|c| format!("{shown}: {c}")),
        );
    }
    assert!(all.is_empty(), "import circles:\n{}", all.join("\n"));
}

/// The check finds a circle where there is one, and only there.
#[test]
fn a_circle_is_found_and_the_exemption_holds() {
    let source = |top: &str, code: &str| Source {
        top: top.into(),
        code: non_test_code(code),
    };
    let sources = [
        source("", "mod a;\nmod b;\nmod c;\nmod bindings;"),
        source("a", "use crate::b::Thing;"),
        source(
            "b",
            "// crate::c in a comment is no edge\nfn f() { crate::a::g() }",
        ),
        source(
            "c",
            "use crate::bindings::x;\n#[cfg(test)]\nuse crate::a::T;",
        ),
        source("bindings", "with: { crate::c::R }"),
    ];
    assert_eq!(circles(&graph(&sources)), ["a -> b -> a"]);
    assert_eq!(
        declared_modules("pub mod a;\nmod b;\n    pub(crate) mod c;\nmod d {"),
        ["a", "b", "c"]
    );
    // Only what `#[cfg(test)]` gates is left out, not the rest of the file.
    let code = non_test_code(
        "mod a;\n#[cfg(test)]\nmod tests;\nmod b;\n#[cfg(test)]\npub(crate) mod memory {\n    \
         fn f() {\n        crate::x::y()\n    }\n}\nuse crate::z::W;",
    );
    assert_eq!(declared_modules(&code), ["a", "b"]);
    assert!(
        !code.contains("crate::x") && code.contains("crate::z::W"),
        "{code}"
    );
}
