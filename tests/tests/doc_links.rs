//! Every relative link and `#anchor` in README.md, ARCHITECTURE.md and docs/*.md resolves.
//!
//! The manual is split over several pages that link to each other's sections; a
//! renamed heading or a moved file would otherwise leave a newcomer at a dead link, which no
//! other test notices. Anchors are GitHub's: the heading's rendered text, lower-cased, with
//! everything but letters, digits, spaces, `-` and `_` dropped and spaces turned into `-`; a
//! repeated heading gets `-1`, `-2`, …. Links inside code (fenced blocks and inline spans)
//! are not links and are skipped, as are absolute URLs (`https:`, `mailto:`, …).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use dev_support::workspace::lexically_normal;
use integration_tests::binaries::workspace_root;

/// The pages checked, relative to the workspace root: README.md, ARCHITECTURE.md, docs/*.md.
fn pages(root: &Path) -> Vec<PathBuf> {
    let mut pages = vec![PathBuf::from("README.md"), PathBuf::from("ARCHITECTURE.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .expect("read docs/")
        .map(|entry| entry.expect("a docs/ entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "md"))
        .map(|path| PathBuf::from("docs").join(path.file_name().expect("a file name in docs/")))
        .collect();
    docs.sort();
    pages.extend(docs);
    pages
}

/// GitHub's anchor for a heading's markdown text.
fn slug(heading: &str) -> String {
    rendered(heading)
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// The text a heading renders to, as far as anchors care: code-span backticks dropped,
/// `[text](target)` reduced to its text.
fn rendered(heading: &str) -> String {
    let mut out = String::new();
    let mut rest = heading.trim();
    while let Some(open) = rest.find('[') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find("](").and_then(|close| {
            let target = &after[close + 2..];
            target.find(')').map(|end| (close, close + 2 + end + 1))
        }) {
            Some((close, next)) => {
                out.push_str(&after[..close]);
                rest = &after[next..];
            }
            None => {
                out.push('[');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out.replace('`', "")
}

/// Whether `line` opens or closes a fenced code block.
fn is_fence(line: &str) -> bool {
    let line = line.trim_start();
    line.starts_with("```") || line.starts_with("~~~")
}

/// The anchors a page's headings make, repeats numbered as GitHub numbers them.
fn anchors(text: &str) -> BTreeSet<String> {
    let mut seen: Vec<String> = Vec::new();
    let mut anchors = BTreeSet::new();
    let mut in_fence = false;
    for line in text.lines() {
        if is_fence(line) {
            in_fence = !in_fence;
            continue;
        }
        if in_fence {
            continue;
        }
        let level = line.chars().take_while(|&c| c == '#').count();
        if !(1..=6).contains(&level) || !line[level..].starts_with(' ') {
            continue;
        }
        let base = slug(line[level..].trim().trim_end_matches('#').trim());
        let repeats = seen.iter().filter(|s| **s == base).count();
        anchors.insert(if repeats == 0 {
            base.clone()
        } else {
            format!("{base}-{repeats}")
        });
        seen.push(base);
    }
    anchors
}

/// `line` without its inline code spans (`` `…` ``), which hold no links.
fn without_code_spans(line: &str) -> String {
    line.split('`').step_by(2).collect::<Vec<_>>().join(" ")
}

/// The `(line number, target)` of every inline link and image outside code.
fn links(text: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    let mut in_fence = false;
    for (number, line) in text.lines().enumerate() {
        if is_fence(line) {
            in_fence = !in_fence;
            continue;
        }
        if in_fence {
            continue;
        }
        let line = without_code_spans(line);
        let mut rest = line.as_str();
        while let Some(at) = rest.find("](") {
            let target = &rest[at + 2..];
            let end = target.find(')').unwrap_or(target.len());
            let target = target[..end].split_whitespace().next().unwrap_or("");
            found.push((number + 1, target.to_owned()));
            rest = &rest[at + 2..];
        }
    }
    found
}

/// Whether a link target is an absolute URL (`https:`, `mailto:`, …), which is not ours to check.
fn is_absolute_url(target: &str) -> bool {
    target.split_once(':').is_some_and(|(scheme, _)| {
        !scheme.is_empty() && scheme.chars().all(|c| c.is_ascii_alphabetic())
    })
}

/// `base` joined with `relative`, `..` resolved lexically (the file need not exist).
fn join(base: &Path, relative: &str) -> PathBuf {
    lexically_normal(&base.join(relative))
}

/// Every broken link of `page` (relative to the root), as `page:line: target (why)`.
/// `read` returns a file's text, `exists` whether a path (file or directory) is there.
fn broken_links(
    page: &Path,
    text: &str,
    read: &dyn Fn(&Path) -> Option<String>,
    exists: &dyn Fn(&Path) -> bool,
) -> Vec<String> {
    let dir = page.parent().unwrap_or(Path::new(""));
    let mut broken = Vec::new();
    for (line, target) in links(text) {
        if target.is_empty() || is_absolute_url(&target) {
            continue;
        }
        let (path, anchor) = target.split_once('#').unwrap_or((&target, ""));
        let at = format!("{}:{line}: {target}", page.display());
        if path.is_empty() {
            if !anchors(text).contains(anchor) {
                broken.push(format!("{at} (no heading on this page makes #{anchor})"));
            }
            continue;
        }
        let file = join(dir, path);
        if !exists(&file) {
            broken.push(format!("{at} (no such file: {})", file.display()));
            continue;
        }
        if anchor.is_empty() || file.extension().is_none_or(|ext| ext != "md") {
            continue;
        }
        match read(&file) {
            Some(linked) if anchors(&linked).contains(anchor) => {}
            Some(_) => broken.push(format!(
                "{at} (no heading in {} makes #{anchor})",
                file.display()
            )),
            None => broken.push(format!("{at} (cannot read {})", file.display())),
        }
    }
    broken
}

#[test]
fn every_relative_link_and_anchor_in_the_docs_resolves() {
    let root = workspace_root();
    let read = |path: &Path| std::fs::read_to_string(root.join(path)).ok();
    let exists = |path: &Path| root.join(path).exists();
    let pages = pages(&root);
    assert!(
        pages.iter().any(|p| p.ends_with("configuration.md")),
        "docs/ lost its pages: {pages:?}"
    );
    let mut broken = Vec::new();
    let mut checked = 0;
    for page in &pages {
        let text = read(page).unwrap_or_else(|| panic!("cannot read {}", page.display()));
        checked += links(&text).len();
        broken.extend(broken_links(page, &text, &read, &exists));
    }
    assert!(
        checked > 50,
        "only {checked} links found: is the parser blind?"
    );
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

#[test]
fn anchors_are_githubs() {
    let page = "# Configuration\n## Refresher (`status-refresher`)\n## TLS and managed services\n\
                ### `reader-host` (tests and local runs only)\n## Live changes (mode 2)\n\
                ## Why \"≥ 5× direct-DB\" is missed\n## Summary\n## Summary\n\
                ## See [the reader](#x)\n```sh\n# refresher\n```\n";
    let got = anchors(page);
    for want in [
        "configuration",
        "refresher-status-refresher",
        "tls-and-managed-services",
        "reader-host-tests-and-local-runs-only",
        "live-changes-mode-2",
        "why--5-direct-db-is-missed",
        "summary",
        "summary-1",
        "see-the-reader",
    ] {
        assert!(got.contains(want), "{want} missing from {got:?}");
    }
    assert!(
        !got.contains("refresher"),
        "a `#` line in a code block is not a heading"
    );
}

#[test]
fn the_check_finds_each_kind_of_broken_link() {
    let other = "# Other page\n## Kept\n";
    let read = |path: &Path| (path == Path::new("docs/other.md")).then(|| other.to_owned());
    let exists = |path: &Path| path == Path::new("docs/other.md") || path == Path::new("README.md");
    let page = "# Here\n\
                [fine](other.md#kept) [fine](../README.md) [fine](#here) [web](https://x.org/#y)\n\
                `[in code](nowhere.md)`\n```\n[in a fence](nowhere.md)\n```\n\
                [gone](missing.md) [bad anchor](other.md#lost) [bad self](#nowhere)\n";
    let broken = broken_links(Path::new("docs/here.md"), page, &read, &exists);
    assert_eq!(broken.len(), 3, "{broken:#?}");
    assert!(
        broken[0].contains("missing.md (no such file"),
        "{}",
        broken[0]
    );
    assert!(
        broken[1].contains("other.md#lost (no heading"),
        "{}",
        broken[1]
    );
    assert!(
        broken[2].contains("#nowhere (no heading on this page"),
        "{}",
        broken[2]
    );
}

/// The cells of the markdown table row that begins with `` | `name` | `` in `page`.
fn row<'a>(page: &'a str, name: &str) -> Option<Vec<&'a str>> {
    let start = format!("| `{name}` |");
    page.lines().find(|l| l.starts_with(&start)).map(|l| {
        l.trim()
            .trim_matches('|')
            .split('|')
            .map(str::trim)
            .collect()
    })
}

/// README's "five settings" are a newcomer's view of docs/configuration.md: each is a row
/// there, with the same default, so the short page cannot drift from the manual.
#[test]
fn readmes_five_settings_are_the_configuration_pages() {
    let root = workspace_root();
    let read = |page: &str| std::fs::read_to_string(root.join(page)).expect(page);
    let (readme, manual) = (read("README.md"), read("docs/configuration.md"));
    let table: Vec<&str> = readme
        .lines()
        .skip_while(|l| !l.starts_with("| Setting | Half | Default |"))
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .collect();
    assert_eq!(table.len(), 5, "README's five settings: {table:?}");
    for line in table {
        let cells: Vec<&str> = line
            .trim()
            .trim_matches('|')
            .split('|')
            .map(str::trim)
            .collect();
        let name = cells[0].trim_matches('`');
        let documented = row(&manual, name)
            .unwrap_or_else(|| panic!("{name} is in README but not in docs/configuration.md"));
        // The refresher's table has a flag column before the default; the reader's does not.
        let default = if documented[1].starts_with("`--") {
            documented[2]
        } else {
            documented[1]
        };
        assert_eq!(
            cells[2], default,
            "{name}: README says the default is {}, docs/configuration.md {default}",
            cells[2]
        );
    }
}
