//! Hostile stored pages through the real reader: names and notices made of markup, quotes
//! and ampersands, 10 KB strings, characters HTML forbids, 500 servers (the page lists 100),
//! numbers at the ends of their types; and the error pages. Each answer is bounded, carries
//! no markup from a stored string, and the Nu HTML Checker (`vnu-jar`, run with `java`)
//! reports no error in it.

use std::path::{Path, PathBuf};
use std::process::Command;

use integration_tests::reader::{ReaderConfig, ReaderServer};
use integration_tests::redis::TestRedis;
use integration_tests::temp::TempDir;
use status_document::page::{
    DAYS, DayBar, PAGE_VERSION, PageDocument, PageIncident, PageServer, PageUptime, SPARK_POINTS,
    page_key,
};
use status_document::{ServerId, State, StateReason};

use super::page_tools;
use crate::browser::tools_or_skip;

/// Bound on a rendered page, whatever is stored.
const MAX_BODY: usize = 1_000_000;

/// Markup, both quotes, an ampersand, a bidi override and characters HTML forbids.
const HOSTILE: &str = "<script>alert(1)</script>\"><img src=x onerror=alert(2)> ' & &amp; \
                       ]]> <!-- \u{202E}gnp \u{0}\u{1b}\u{85}\u{FDD0}\u{FFFE} ";

/// `HOSTILE` repeated to 10 KB and more.
fn long() -> String {
    HOSTILE.repeat(10_240 / HOSTILE.len() + 1)
}

fn days(now: i64) -> Vec<DayBar> {
    let today = now - now.rem_euclid(86_400);
    let extremes = [0, 1, u32::MAX / 2, u32::MAX];
    (0..DAYS as i64 + 10)
        .map(|i| DayBar {
            day: if i % 17 == 3 {
                i64::MAX
            } else {
                today - (DAYS as i64 + 9 - i) * 86_400
            },
            online_s: extremes[i as usize % 4],
            offline_s: extremes[(i as usize / 4) % 4],
            maintenance_s: extremes[(i as usize / 16) % 4],
            unknown_s: u32::MAX,
        })
        .collect()
}

fn incidents() -> Vec<PageIncident> {
    let ends = [
        None,
        Some(i64::MAX),
        Some(i64::MIN),
        Some(0),
        Some(4_102_444_800),
    ];
    (0..30)
        .map(|i| PageIncident {
            state: [State::Offline, State::Maintenance, State::Unknown][i % 3],
            reason: [None, Some(StateReason::BadAnswer)][i % 2],
            start: [i64::MIN, 0, i64::MAX, 1_796_666_405][i % 4],
            end: ends[i % 5],
            duration_s: [0, u64::MAX, 59, 3_600 * 49][i % 4],
        })
        .collect()
}

/// A server with every field hostile or at an extreme.
fn hostile_server(i: usize, now: i64) -> PageServer {
    let state = [
        State::Online,
        State::Offline,
        State::Maintenance,
        State::Unknown,
    ][i % 4];
    PageServer {
        id: ServerId::parse(&format!("h-{i}")).expect("id"),
        name: format!("{i} {}", long()),
        state,
        state_reason: Some(StateReason::Unreachable),
        message: Some(long()),
        maintenance_until: Some([1e300, -1e300, f64::MAX, 0.0][i % 4]),
        players: Some(u64::MAX),
        max_players: Some([u64::MAX, 0][i % 2]),
        updated_at: u64::MAX,
        vouched_until: [u64::MAX, 0][i % 2],
        players_24h: (0..SPARK_POINTS * 3)
            .map(|k| [Some(u32::MAX), None, Some(0)][k % 3])
            .collect(),
        days: days(now),
        uptime: PageUptime {
            h24: Some(1e308),
            d7: Some(-0.0),
            d30: Some(100.000_000_1),
            d90: None,
        },
        incidents: incidents(),
    }
}

/// A plain server: one of the hundreds past the page's 100.
fn plain_server(i: usize) -> PageServer {
    PageServer {
        id: ServerId::parse(&format!("s-{i}")).expect("id"),
        name: format!("<b>{i}</b> & \"{i}\""),
        state: State::Online,
        state_reason: None,
        message: None,
        maintenance_until: None,
        players: None,
        max_players: None,
        updated_at: 0,
        vouched_until: u64::MAX,
        players_24h: Vec::new(),
        days: Vec::new(),
        uptime: PageUptime {
            h24: None,
            d7: None,
            d30: None,
            d90: None,
        },
        incidents: Vec::new(),
    }
}

/// 500 servers, the first eight hostile in every field (the document bound, 1 MiB, holds).
fn hostile_page(now: i64) -> Vec<u8> {
    let servers = (0..500)
        .map(|i| {
            if i < 8 {
                hostile_server(i, now)
            } else {
                plain_server(i)
            }
        })
        .collect();
    let page = PageDocument {
        schema_version: PAGE_VERSION,
        generated_at: u64::MAX,
        // The reader is 32-bit: its largest count (a larger one is not the page's shape).
        total_servers: u32::MAX as usize,
        servers,
    };
    let json = page.to_json();
    assert!(
        json.len() < status_document::page::MAX_PAGE_BYTES,
        "{} bytes",
        json.len()
    );
    json
}

/// The Nu HTML Checker's jar and `java`, or why they are not there.
fn checker() -> Result<PathBuf, String> {
    let jar = page_tools()?
        .node_modules
        .join("vnu-jar/build/dist/vnu.jar");
    if !jar.is_file() {
        return Err(format!("{} is missing", jar.display()));
    }
    match Command::new("java").arg("-version").output() {
        Ok(out) if out.status.success() => Ok(jar),
        _ => Err("java is not on PATH (apt-get install default-jre-headless)".into()),
    }
}

/// `java -jar vnu.jar --errors-only` on `files`: its errors, one line each (none: valid).
fn validate(jar: &Path, files: &[PathBuf]) -> Vec<String> {
    let out = Command::new("java")
        .arg("-jar")
        .arg(jar)
        .args(["--errors-only", "--stdout", "--format", "json"])
        .args(files)
        .output()
        .expect("cannot run java");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "vnu's report is not JSON ({e}): {} {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let errors: Vec<String> = report["messages"]
        .as_array()
        .expect("vnu's messages")
        .iter()
        .map(|m| {
            let file = m["url"].as_str().unwrap_or("?");
            let file = file.rsplit('/').next().unwrap_or(file);
            format!("{file}:{}: {} {}", m["lastLine"], m["type"], m["message"])
        })
        .collect();
    assert_eq!(
        out.status.success(),
        errors.is_empty(),
        "vnu's exit status: {errors:?}"
    );
    errors
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_pages_are_bounded_valid_html() {
    let redis = TestRedis::new();
    let now = integration_tests::unix_now().floor() as i64;
    let cases: [(&str, Option<Vec<u8>>, u16); 4] = [
        ("hostile", Some(hostile_page(now)), 200),
        ("oversize", Some(vec![b' '; 1024 * 1024 + 1]), 502),
        (
            "not-a-page",
            Some(b"{\"schema_version\":1,\"servers\":7}".to_vec()),
            502,
        ),
        ("missing", None, 503),
    ];
    let dir = TempDir::new("status-page-vnu");
    let mut files = Vec::new();
    for (name, stored, status) in cases {
        let key = redis.key(&format!("{name}:server:status"));
        if let Some(bytes) = &stored {
            redis.set(&page_key(&key), bytes);
        }
        let reader = ReaderServer::start(ReaderConfig::new(&redis.url(), &key)).await;
        for lang in ["en", "ru"] {
            let reply = reader.get(&format!("/status?lang={lang}")).await;
            let body = String::from_utf8(reply.body.to_vec()).expect("UTF-8");
            assert_eq!(reply.status, status, "{name} {lang}");
            assert!(body.len() < MAX_BODY, "{name} {lang}: {} bytes", body.len());
            assert_eq!(
                body.to_ascii_lowercase().matches("<script").count(),
                0,
                "{name}"
            );
            assert!(
                !body.contains("<img") && !body.contains("<b>"),
                "{name} {lang}"
            );
            assert!(
                !body.contains('\u{0}') && !body.contains('\u{1b}'),
                "{name} {lang}"
            );
            if name == "hostile" {
                assert_eq!(body.matches("<section>").count(), 100, "the page lists 100");
                assert!(body.contains("&lt;script&gt;alert(1)&lt;/script&gt;&quot;&gt;"));
                assert!(body.contains("&lt;b&gt;99&lt;/b&gt; &amp; &quot;99&quot;"));
                assert!(
                    !body.contains("&lt;b&gt;100&lt;/b&gt;"),
                    "the 101st is not shown"
                );
                assert!(body.contains("<a href=\"/servers\">"));
                println!("status page, hostile, {lang}: {} bytes", body.len());
            }
            let file = dir.path().join(format!("{name}-{lang}.html"));
            std::fs::write(&file, &body).expect("cannot write the page");
            files.push(file);
        }
    }
    let Some(jar) = tools_or_skip("the Nu HTML Checker", checker()) else {
        return;
    };
    let errors = validate(&jar, &files);
    println!(
        "vnu: {} pages checked, {} errors",
        files.len(),
        errors.len()
    );
    assert!(
        errors.is_empty(),
        "vnu found errors:\n{}",
        errors.join("\n")
    );
}
