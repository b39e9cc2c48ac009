//! The badge and the `<server-status>` widget in a real browser: Debian's Chromium, driven
//! by `playwright-core` (tests/browser/run.cjs), against the real `.wasm` in reader-host
//! over real Redis.
//!
//! One reader per situation (each with its own status key): a fresh online document (with a
//! players count and limit), an offline one, one that the game-server probe made offline
//! (`state_reason: unreachable`), maintenance, one past its TTL, one whose Redis is taken away mid-test
//! (through a fault proxy), and one due for refresh within seconds (revalidation). The
//! script asserts what the widget renders, the badge's layout in every state and style,
//! and hostile labels; it writes screenshots to `target/browser/`.
//!
//! Needs `chromium` and `node`, and playwright-core installed into `target/browser` (all
//! done by `cargo xtask test`, which also sets `SERVER_STATUS_BROWSER_TESTS=required` so a
//! missing tool fails there instead of skipping).

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use integration_tests::binaries::workspace_root;
use integration_tests::fault::{FaultProxy, Mode};
use integration_tests::reader::{ReaderConfig, ReaderServer};
use integration_tests::redis::TestRedis;
use serde_json::{Value, json};
use status_document::{
    BuildOptions, ConstantRow, GameServer, Live, PlayerCount, RowValue, State, build,
};

/// Bound on the whole browser script: generous, as its waits are (each returns as soon as
/// the page shows what it waits for; a loaded machine renders slowly).
const SCRIPT_LIMIT: Duration = Duration::from_secs(300);

/// Where the tools are, or why they are not there (shared with `status_page`).
pub(crate) struct Tools {
    pub(crate) chromium: PathBuf,
    pub(crate) node_modules: PathBuf,
}

pub(crate) fn tools() -> Result<Tools, String> {
    let chromium = std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    if !chromium.is_file() {
        return Err(format!(
            "{} not found (apt-get install chromium)",
            chromium.display()
        ));
    }
    let node_modules = std::env::var_os("BROWSER_NODE_MODULES")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target/browser/node_modules"));
    if !node_modules.join("playwright-core/package.json").is_file() {
        return Err(format!(
            "playwright-core is not installed in {} (cargo xtask test installs it)",
            node_modules.display()
        ));
    }
    match Command::new("node").arg("--version").output() {
        Ok(out) if out.status.success() => {}
        _ => return Err("node is not on PATH (apt-get install nodejs)".into()),
    }
    Ok(Tools {
        chromium,
        node_modules,
    })
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock before 1970")
        .as_secs_f64()
}

/// A document as the refresher writes it, with `state` and age chosen by the test.
fn document(state: &str, age_s: f64) -> Vec<u8> {
    let row = |name: &str, value: f64| ConstantRow {
        name: name.into(),
        value: RowValue::Float(value),
        description: Some(name.into()),
    };
    let rows = vec![
        row("ServerStatus", if state == "offline" { 0.0 } else { 1.0 }),
        row("RateExp", 7.5),
        row("RatePvp", 2.0),
        row("RatePve", 1.0),
        row("RateColorMob", 3.0),
        row("RateSkill", 1.5),
    ];
    let built = build(&rows, &BuildOptions::default(), now() - age_s).expect("document builds");
    let mut doc: Value = serde_json::from_slice(&built.json).expect("document is JSON");
    doc["state"] = state.into();
    if state == "maintenance" {
        doc["message"] = "Обновление до 2.0".into();
    }
    serde_json::to_vec(&doc).expect("serialises")
}

/// `doc` with a players count and limit, as a refresher with `STATUS_PLAYERS_QUERY` and
/// `STATUS_MAX_PLAYERS_CONSTANT` writes it (counted a minute after the table was read).
fn with_players(doc: Vec<u8>, players: u64, max_players: u64) -> Vec<u8> {
    let mut doc: Value = serde_json::from_slice(&doc).expect("document is JSON");
    let players_at = doc["updated_at"].as_f64().expect("updated_at") + 60.0;
    doc["players"] = players.into();
    doc["max_players"] = max_players.into();
    doc["players_at"] = players_at.into();
    serde_json::to_vec(&doc).expect("serialises")
}

/// The constant says online, but the game-server probe has had no answer: the refresher
/// writes `offline` with `state_reason: unreachable` (and keeps the last players count,
/// which the widget must not show beside offline). The probe's interval is long, so its
/// word stays within its deadline for the whole script.
fn unreachable(age_s: f64) -> Vec<u8> {
    probed(age_s, false, 5.0, 600)
}

/// A document read `age_s` ago whose game-server probe last wrote `since_check_s` ago, every
/// `interval_s` (believed for three intervals), with a players count.
fn probed(age_s: f64, reachable: bool, since_check_s: f64, interval_s: u64) -> Vec<u8> {
    let at = now();
    let rows = vec![ConstantRow {
        name: "ServerStatus".into(),
        value: RowValue::Int(1),
        description: None,
    }];
    let mut document = build(&rows, &BuildOptions::default(), at - age_s)
        .expect("document builds")
        .document;
    let live = Live {
        game_server: Some(GameServer {
            reachable,
            checked_at: at - since_check_s,
            latency_ms: reachable.then_some(0.5),
            since: at - 3600.0,
            addr_count: 1,
            interval_s,
            deadline_s: interval_s * 3,
            failure: None,
        }),
        players: Some(PlayerCount {
            count: 150,
            at: at - since_check_s,
        }),
        ..Live::default()
    };
    document.apply_live(State::Online, &live);
    document.to_json()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn badge_and_widget_in_chromium() {
    let Some(tools) = tools_or_skip("browser tests", tools()) else {
        return;
    };
    let redis = TestRedis::new();
    let url = redis.url();
    let situations = situations();
    let (history, expect_history) = history();
    let proxy = FaultProxy::for_url(&url);
    let mut readers = Vec::new();
    for (name, doc, ttl) in &situations {
        let key = redis.key(&format!("{name}:server:status"));
        redis.set_ex(&key, doc, *ttl);
        if *name == "history" {
            redis.set(&status_document::keys::history_key(&key), &history);
        }
        if *name == "online" {
            // A second server of a servers file beside it, offline: `server="eu-1"`.
            let offline = situations.iter().find(|(n, _, _)| *n == "offline");
            let (_, doc, ttl) = offline.expect("an offline situation");
            redis.set_ex(&format!("{key}:servers:eu-1"), doc, *ttl);
        }
        let redis_url = if *name == "down" {
            proxy.rewrite_url(&url)
        } else {
            url.clone()
        };
        let reader = ReaderServer::start(ReaderConfig::new(&redis_url, &key)).await;
        readers.push((*name, reader));
    }
    let config_path = write_config(&tools, &readers, &situations, expect_history);

    let script = workspace_root().join("tests/browser/run.cjs");
    let started = Instant::now();
    let on_step = move |step: &str| match step {
        "redis-down" => {
            proxy.set_mode(Mode::Refuse);
            true
        }
        _ => false,
    };
    run_suite("the browser checks", script, config_path, started, on_step).await;
    drop(readers);
}

/// Whether the browser suites must run here (`cargo xtask test` says so).
fn required() -> bool {
    std::env::var("SERVER_STATUS_BROWSER_TESTS").as_deref() == Ok("required")
}

/// The tools, or `None` after printing why the test is skipped; panics where the suites
/// are required.
pub(crate) fn tools_or_skip<T>(what: &str, found: Result<T, String>) -> Option<T> {
    match found {
        Ok(t) => Some(t),
        Err(why) if required() => panic!("{what} is required here but cannot run: {why}"),
        Err(why) => {
            println!("SKIPPED {what}: {why}");
            None
        }
    }
}

/// Runs `script` with `config` (answering its `STEP` lines with `on_step`) off the async
/// runtime, removes the config, prints how long `what` took since `started`, and fails the
/// test unless the script succeeded.
pub(crate) async fn run_suite(
    what: &str,
    script: PathBuf,
    config: PathBuf,
    started: Instant,
    on_step: impl FnMut(&str) -> bool + Send + 'static,
) {
    let result = tokio::task::spawn_blocking(move || {
        run_script(&script, &config, on_step).map(|ok| (ok, config))
    })
    .await
    .expect("browser driver panicked");
    let (ok, config) = result.unwrap_or_else(|e| panic!("{e}"));
    let _ = std::fs::remove_file(config);
    println!("{what} took {:.1} s", started.elapsed().as_secs_f64());
    assert!(ok, "{what} failed (see the output above)");
}

/// Each reader's situation: name -> (document, Redis TTL of the primary key).
fn situations() -> [(&'static str, Vec<u8>, u64); 9] {
    [
        (
            "online",
            with_players(document("online", 125.0), 150, 1000),
            900,
        ),
        ("offline", document("offline", 30.0), 900),
        ("unreachable", unreachable(30.0), 900),
        // The probe stopped a minute ago (interval 10 s, believed for 30 s): the document is
        // well within its TTL, but nobody vouches for its "online" any more.
        ("probe-stopped", probed(90.0, true, 60.0, 10), 900),
        ("maintenance", document("maintenance", 30.0), 900),
        // Past its 900 s TTL but still in Redis (a refresher that kept the key alive
        // without a new document): served, vouched for by no one.
        ("expired", document("online", 960.0), 3600),
        ("down", document("online", 597.0), 900),
        // Due in 2 s: the widget's second request comes after max-age.
        ("reval", document("online", 598.0), 900),
        // With a history: six hours with two outages, and players.
        (
            "history",
            with_players(document("online", 30.0), 20, 100),
            900,
        ),
    ]
}

/// The driver's config (tools, output folder, every reader's URL by situation, what the
/// widget must show), written to a file of its own under target/browser.
fn write_config(
    tools: &Tools,
    readers: &[(&str, ReaderServer)],
    situations: &[(&str, Vec<u8>, u64)],
    expect_history: Value,
) -> PathBuf {
    let base = |name: &str| {
        let (_, r) = readers.iter().find(|(n, _)| *n == name).expect("reader");
        format!("http://127.0.0.1:{}", r.addr().port())
    };
    let out = workspace_root().join("target/browser");
    std::fs::create_dir_all(&out).expect("cannot create target/browser");
    let config = json!({
        "chromium": tools.chromium,
        "node_modules": tools.node_modules,
        "out": out,
        "rates": {"exp": 7.5, "pvp": 2},
        "history": expect_history,
        "readers": Value::Object(situations.iter().map(|(n, _, _)| (n.to_string(), base(n).into())).collect()),
        "badge_readers": [
            ["online", base("online")], ["offline", base("offline")],
            ["maintenance", base("maintenance")], ["unknown", base("expired")],
        ],
    });
    let config_path = out.join(format!("config-{:016x}.json", fastrand::u64(..)));
    std::fs::write(
        &config_path,
        serde_json::to_vec_pretty(&config).expect("config"),
    )
    .expect("cannot write the browser config");
    config_path
}

/// A history as the refresher records it: one probe a minute for the last six hours,
/// offline from 2 h to 2 h 30 and from 4 h to 4 h 12 in, players `minute % 40`; and what the
/// widget's 24 h bar must show for it (computed from the stored buckets: the data).
fn history() -> (Vec<u8>, Value) {
    use status_document::history::{History, Observation};
    let start = now() - 6.0 * 3600.0;
    let mut h = History::new();
    for m in 0..360u32 {
        let down = (120..150).contains(&m) || (240..252).contains(&m);
        h.record(&Observation {
            at: start + f64::from(m) * 60.0,
            state: if down { State::Offline } else { State::Online },
            reason: None,
            players: Some(u64::from(m % 40)),
            vouch_s: 120,
            maintenance_until: None,
        });
    }
    let buckets = &h.fine.buckets;
    let first = 288 - buckets.len();
    let offline: Vec<usize> = (0..buckets.len())
        .filter(|&i| buckets[i].seconds[1] > 0)
        .map(|i| first + i)
        .collect();
    let online = (0..buckets.len())
        .filter(|&i| buckets[i].seconds[1] == 0 && buckets[i].seconds[0] > 0)
        .count();
    let sample = offline[0] - first;
    let players = buckets[sample].players.expect("players");
    let avg = (players.sum as f64 / players.samples as f64).round() as u64;
    let uptime = h.view().uptime.day.expect("observed");
    let expect = json!({
        "offline_slots": offline,
        "online_slots": online,
        "spark_points": buckets.iter().filter(|b| b.players.is_some()).count(),
        "sample_slot": first + sample,
        "sample_ts": h.fine.start + sample as i64 * h.fine.width_s,
        "sample_title": format!("Offline · {avg} player{}", if avg == 1 { "" } else { "s" }),
        "uptime": uptime.to_string(),
    });
    (h.to_json(), expect)
}

/// Runs the node script, echoing its output, answering its `STEP` lines with `on_step`.
/// Returns whether it exited successfully; `Err` if it could not run or overran.
pub(crate) fn run_script(
    script: &std::path::Path,
    config: &std::path::Path,
    mut on_step: impl FnMut(&str) -> bool,
) -> Result<bool, String> {
    let mut child = Command::new("node")
        .arg(script)
        .arg(config)
        .env("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("cannot start node: {e}"))?;
    let mut stdin = child.stdin.take().expect("piped stdin");
    let stdout = child.stdout.take().expect("piped stdout");
    let (lines_tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + SCRIPT_LIMIT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) => {
                println!("{line}");
                if let Some(step) = line.strip_prefix("STEP ") {
                    let answer = if on_step(step) { "OK" } else { "UNKNOWN" };
                    let _ = writeln!(stdin, "{answer} {step}");
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "the browser script did not finish within {SCRIPT_LIMIT:?}"
                ));
            }
        }
    }
    let status = child.wait().map_err(|e| format!("waiting for node: {e}"))?;
    Ok(status.success())
}
