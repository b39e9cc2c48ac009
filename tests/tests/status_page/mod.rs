//! `GET /status`, the public status page, in a real browser and through the checkers a
//! visitor's tools would run: Debian's Chromium driven by `playwright-core`, Lighthouse,
//! axe-core, and the Nu HTML Checker (`vnu-jar`), against the real `.wasm` in reader-host
//! over real Redis.
//!
//! * [`status_page_in_chromium`]: two pages made by the document crate's own builder from
//!   recorded histories ([`fleet`]): a fleet in trouble (online; offline, unreachable, with
//!   an ongoing incident; maintenance with a notice) and a quiet one. The script
//!   (`tests/browser/status_page.cjs`) checks the page with JavaScript off and on, English
//!   and Russian (`?lang=ru` and `Accept-Language: ru`), light and dark, at 320 px; runs
//!   axe-core in it (0 violations, light and dark, both languages) and Lighthouse against it
//!   (performance, accessibility, best practices and SEO each at least 0.95, printed);
//!   and writes the screenshots `target/browser/status-page-{light,dark,ru,outage}.png`
//!   (copied to `docs/`).
//! * [`hostile::hostile_pages_are_bounded_valid_html`]: stored pages with hostile values,
//!   rendered by the reader, are bounded, never carry markup from a stored string, and
//!   the Nu HTML Checker finds no error in them.
//!
//! Needs what `tests/tests/browser.rs` needs, plus `lighthouse`, `axe-core` and `vnu-jar`
//! in `target/browser/node_modules` (tests/browser/package.json) and `java` for the checker.
//! Skipped with the reason printed where they are missing, unless
//! `SERVER_STATUS_BROWSER_TESTS=required` (`cargo xtask test`), which fails instead.
//!
//! Cost, measured on a 2-core machine with the `.wasm` built (`cargo test -p
//! integration-tests --test integration -- status_page`): about 29 s of wall time, the two
//! tests side by side; the browser suite 25–29 s (Lighthouse about 13 s of it), the
//! checker's test about 14 s alone. See also docs/status-page.md, "How it is tested".

mod fleet;
mod hostile;

use std::path::PathBuf;
use std::time::Instant;

use integration_tests::binaries::workspace_root;
use integration_tests::reader::{ReaderConfig, ReaderServer};
use integration_tests::redis::TestRedis;
use integration_tests::unix_now;
use serde_json::json;
use status_document::page::page_key;

use crate::browser::{Tools, run_suite, tools, tools_or_skip};

/// The npm packages this suite needs beside playwright-core.
const PACKAGES: [&str; 3] = ["lighthouse", "axe-core", "vnu-jar"];

/// The browser tools and this suite's packages, or why they are not there.
fn page_tools() -> Result<Tools, String> {
    let tools = tools()?;
    for package in PACKAGES {
        if !tools
            .node_modules
            .join(package)
            .join("package.json")
            .is_file()
        {
            return Err(format!(
                "{package} is not installed in {} (cargo xtask test installs it)",
                tools.node_modules.display()
            ));
        }
    }
    Ok(tools)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_page_in_chromium() {
    let Some(tools) = tools_or_skip("the status page's browser tests", page_tools()) else {
        return;
    };
    let started = Instant::now();
    let redis = TestRedis::new();
    let now = unix_now().floor() as i64;
    let pages = [
        ("fleet", fleet::fleet(now)),
        ("operational", fleet::operational(now)),
    ];
    let mut readers = Vec::new();
    for (name, page) in &pages {
        let key = redis.key(&format!("{name}:server:status"));
        redis.set(&page_key(&key), page.to_json());
        let reader = ReaderServer::start(ReaderConfig::new(&redis.url(), &key)).await;
        // The page is served before the browser starts: a wrong seed fails here, plainly.
        let reply = reader.get("/status").await;
        assert_eq!(reply.status, 200, "{name}: {:?}", reply.body);
        readers.push((*name, reader));
    }
    let config = write_config(&tools, &readers);
    let script = workspace_root().join("tests/browser/status_page.cjs");
    let what = "the status page's browser checks";
    run_suite(what, script, config, started, |_| false).await;
    drop(readers);
}

/// The script's config: tools, output folder, each reader's URL, what the page must say.
fn write_config(tools: &Tools, readers: &[(&str, ReaderServer)]) -> PathBuf {
    let out = workspace_root().join("target/browser");
    std::fs::create_dir_all(&out).expect("cannot create target/browser");
    let readers: serde_json::Map<_, _> = readers
        .iter()
        .map(|(n, r)| {
            (
                n.to_string(),
                format!("http://127.0.0.1:{}", r.addr().port()).into(),
            )
        })
        .collect();
    let config = json!({
        "chromium": tools.chromium,
        "node_modules": tools.node_modules,
        "out": out,
        "readers": readers,
        "notice": fleet::NOTICE,
        "min_score": 0.95,
    });
    let path = out.join(format!("status-page-{:016x}.json", fastrand::u64(..)));
    std::fs::write(&path, serde_json::to_vec_pretty(&config).expect("config"))
        .expect("cannot write the browser config");
    path
}
