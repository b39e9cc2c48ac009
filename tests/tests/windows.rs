//! The Windows refresher (`x86_64-pc-windows-gnu`) run under Wine against the real
//! MariaDB and Redis: `--once`; the daemon's refresh, `/health`, `/metrics`, a
//! `refresh-now` nudge and a clean stop on Ctrl-C; and the Windows service installed,
//! started and stopped through Wine's service manager (`services.exe`, driven by its
//! `sc.exe`), its stop releasing the lease and its log going to a file.
//!
//! `cargo xtask test` passes the release `status-refresher.exe` of the Windows bundle and a
//! prepared Wine prefix (see `integration_tests::wine`); without them these tests print why
//! and pass. What Wine cannot show — the real Service Control Manager's accounts, ACLs,
//! recovery actions and shutdown ordering — is listed in docs/windows.md as not tested here.

use std::path::{Path, PathBuf};
use std::time::Duration;

use integration_tests::binaries::{Child, Signal, run};
use integration_tests::db::TestDb;
use integration_tests::live::{self, document, exp, set_exp};
use integration_tests::probe::{health_when, http_get, metric, metrics_addr};
use integration_tests::redis::TestRedis;
use integration_tests::temp::TempDir;
use integration_tests::wait::wait_until;
use integration_tests::wine::{Wine, refresher_exe, windows_path};
use status_document::keys::lock_key;

/// Bound on one Wine start-up plus a refresh: a cold wineserver takes a few seconds.
const WINE_LIMIT: Duration = Duration::from_secs(60);

fn setup() -> Option<(Wine, PathBuf)> {
    let exe = refresher_exe()?;
    let wine = Wine::from_env()?;
    Some((wine, exe))
}

/// [`setup`], with a seeded database and a fresh Redis for a test that runs the refresher.
fn setup_live() -> Option<(Wine, PathBuf, TestDb, TestRedis)> {
    let (wine, exe) = setup()?;
    Some((wine, exe, live::seeded(), TestRedis::new()))
}

/// The refresher under Wine for this test's database and keys (environment as on Windows).
fn refresher(wine: &Wine, exe: &Path, db: &TestDb, redis: &TestRedis) -> std::process::Command {
    let mut cmd = wine.command(exe);
    cmd.env("DATABASE_URL", db.url())
        .env("REDIS_URL", redis.url())
        .env("STATUS_KEY", redis.status_key())
        .env("STATUS_INTERVAL_KEY", redis.interval_key())
        .env("STATUS_TIMEOUT", "3");
    cmd
}

fn lock_held(redis: &TestRedis) -> bool {
    redis.get(&lock_key(&redis.status_key())).is_some()
}

#[test]
fn version_names_the_commit() {
    let Some((wine, exe)) = setup() else { return };
    let mut cmd = wine.command(&exe);
    cmd.arg("--version");
    let (status, output) = run(cmd, WINE_LIMIT);
    assert!(status.success(), "{output}");
    let line = output.trim();
    assert!(
        line.starts_with(&format!(
            "status-refresher {} (commit ",
            env!("CARGO_PKG_VERSION")
        )),
        "{line}"
    );
}

#[test]
fn once_under_wine_writes_the_document() {
    let Some((wine, exe, db, redis)) = setup_live() else {
        return;
    };
    let mut cmd = refresher(&wine, &exe, &db, &redis);
    cmd.env("STATUS_METRICS_ADDR", "").arg("--once");
    let (status, output) = run(cmd, WINE_LIMIT);
    assert_eq!(
        status.code(),
        Some(0),
        "--once under Wine failed:\n{output}"
    );
    let doc = document(&redis).unwrap_or_else(|| panic!("no document:\n{output}"));
    assert_eq!(doc.server_status, Some(1.0));
    assert_eq!(doc.rates.unwrap().exp, 1.0);
    assert!(redis.get(&redis.last_good_key()).is_some(), "no :last_good");
}

#[test]
fn daemon_under_wine_serves_health_and_metrics_takes_a_nudge_and_releases_the_lease_on_ctrl_c() {
    let Some((wine, exe, db, redis)) = setup_live() else {
        return;
    };
    let mut cmd = refresher(&wine, &exe, &db, &redis);
    cmd.env("STATUS_UPDATE_INTERVAL", "600")
        .env("STATUS_METRICS_ADDR", "127.0.0.1:0");
    let mut child = Child::spawn(cmd);
    child.expect_output("subscribed to the refresh channel", WINE_LIMIT);
    assert!(
        wait_until(WINE_LIMIT, || exp(&redis) == Some(1.0)),
        "no first refresh:\n{}",
        child.output()
    );
    let addr = metrics_addr(&child);
    // The document is in Redis a moment before the daemon records the cycle that wrote it,
    // which is what `/health` reports: wait for the report, not for a guess.
    let (code, body) = health_when(addr, WINE_LIMIT, |code, body| {
        code == 200 && body["lease_holder"] == true
    });
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["lease_holder"], true, "{body}");
    let (code, text) = http_get(addr, "/metrics");
    assert_eq!(code, 200);
    assert_eq!(
        metric(&text, "status_refresher_lease_holder"),
        1.0,
        "{text}"
    );
    assert_eq!(
        metric(&text, "status_refresher_consecutive_failures"),
        0.0,
        "{text}"
    );
    assert!(lock_held(&redis), "the daemon holds no lease");

    // A nudge, through the Windows build's own refresh-now (a second Wine process).
    set_exp(&db, 3.5);
    let mut nudge = wine.command(&exe);
    nudge
        .env("REDIS_URL", redis.url())
        .env("STATUS_KEY", redis.status_key())
        .args(["refresh-now", "--wait", "--wait-timeout", "30"]);
    let (status, output) = run(nudge, WINE_LIMIT);
    assert!(status.success(), "refresh-now under Wine failed:\n{output}");
    assert_eq!(exp(&redis), Some(3.5), "{output}");

    // Ctrl-C: Wine delivers SIGINT as CTRL_C_EVENT to the console handlers.
    child.signal(Signal::Int).expect("SIGINT");
    let status = child.wait(WINE_LIMIT);
    let output = child.output();
    assert_eq!(status.code(), Some(0), "{output}");
    assert!(output.contains("signal=\"CTRL_C\""), "{output}");
    assert!(output.contains("lease released"), "{output}");
    assert!(!lock_held(&redis), "the lease is still held:\n{output}");
}

/// Stops and deletes the service when a test ends early, so no service outlives it.
struct InstalledService<'a> {
    wine: &'a Wine,
    name: String,
}

impl Drop for InstalledService<'_> {
    fn drop(&mut self) {
        let _ = self.wine.tool("sc", &["stop", &self.name]);
        let _ = self.wine.tool("sc", &["delete", &self.name]);
    }
}

/// `sc start` until `sc query` says RUNNING, within [`WINE_LIMIT`]. Wine's service manager
/// gives a service a few seconds to connect back (`StartServiceCtrlDispatcher`); on a busy
/// machine a cold Wine process can take longer, and then `sc start` fails although nothing
/// is wrong with the service, which the manager has meanwhile marked stopped. A service that
/// never reaches RUNNING still fails, with every `sc` answer in the message.
fn start_service(wine: &Wine, name: &str) {
    let deadline = std::time::Instant::now() + WINE_LIMIT;
    let mut answers = Vec::new();
    loop {
        let (code, output) = wine.tool("sc", &["start", name]);
        answers.push(format!("sc start: {code:?} {output}"));
        let running = wait_until(Duration::from_secs(15), || {
            let (_, query) = wine.tool("sc", &["query", name]);
            query.contains("RUNNING")
        });
        if running {
            return;
        }
        let (_, query) = wine.tool("sc", &["query", name]);
        answers.push(format!("sc query: {query}"));
        assert!(
            std::time::Instant::now() < deadline,
            "the service never reached RUNNING through sc:\n{}",
            answers.join("\n")
        );
    }
}

/// The settings a service reads from its file, written into `dir`: it has no shell to set
/// variables in.
fn service_config(dir: &Path, database_url: &str, redis: &TestRedis, port: u16) -> PathBuf {
    let config = dir.join("refresher.env");
    std::fs::write(
        &config,
        format!(
            "# written by tests/tests/windows.rs\r\nDATABASE_URL={}\r\nREDIS_URL={}\r\n\
             STATUS_KEY={}\r\nSTATUS_INTERVAL_KEY={}\r\nSTATUS_METRICS_ADDR=127.0.0.1:{port}\r\n\
             STATUS_UPDATE_INTERVAL=600\r\n",
            database_url,
            redis.url(),
            redis.status_key(),
            redis.interval_key()
        ),
    )
    .expect("write the config file");
    config
}

/// Every log file in `logs`, one after the other.
fn read_logs(logs: &Path) -> String {
    std::fs::read_dir(logs)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter_map(|e| std::fs::read_to_string(e.path()).ok())
        .collect()
}

/// Polls `/health` on `addr` until it answers 200 within `limit`; else the last answer.
fn healthy_within(addr: std::net::SocketAddr, limit: Duration) -> Result<(), String> {
    let mut last = String::new();
    let healthy = wait_until(limit, || {
        match dev_support::http::get(addr, "/health", Duration::from_secs(2)) {
            Ok(reply) if reply.status == 200 => true,
            Ok(reply) => {
                last = format!("{} {}", reply.status, String::from_utf8_lossy(&reply.body));
                false
            }
            Err(e) => {
                last = format!("{e:#}");
                false
            }
        }
    });
    if healthy { Ok(()) } else { Err(last) }
}

#[test]
fn service_under_wine_starts_and_stops_through_the_service_manager_and_releases_the_lease() {
    let Some((wine, exe, db, redis)) = setup_live() else {
        return;
    };
    let dir = TempDir::new("ss-winsvc");
    let port = dev_support::net::free_port().expect("a free port");
    let config = service_config(dir.path(), &db.url(), &redis, port);
    let logs = dir.path().join("logs");
    let name = format!("ss-test-{:08x}", fastrand::u32(..));
    // Wine stops its services once no ordinary Wine process is left (see `keep_session`).
    let _session = wine.keep_session();

    let mut install = wine.command(&exe);
    install.args(["service", "install", "--name", &name, "--config"]);
    install
        .arg(windows_path(&config))
        .arg("--log-dir")
        .arg(windows_path(&logs));
    let (status, output) = run(install, WINE_LIMIT);
    assert!(status.success(), "service install failed:\n{output}");
    let service = InstalledService {
        wine: &wine,
        name: name.clone(),
    };

    start_service(&wine, &name);
    let log = || read_logs(&logs);
    assert!(
        wait_until(WINE_LIMIT, || exp(&redis) == Some(1.0)),
        "the service wrote no document; its log:\n{}",
        log()
    );
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    if let Err(last) = healthy_within(addr, WINE_LIMIT) {
        panic!(
            "the service's /health never answered 200 (last: {last}); its log:\n{}",
            log()
        );
    }
    assert!(lock_held(&redis), "the service holds no lease");

    let (code, output) = wine.tool("sc", &["stop", &name]);
    assert_eq!(code, Some(0), "sc stop failed:\n{output}");
    assert!(
        wait_until(WINE_LIMIT, || log().contains("status-refresher stopped")),
        "the service did not stop; its log:\n{}",
        log()
    );
    let text = log();
    assert!(text.contains("signal=\"service stop\""), "{text}");
    assert!(text.contains("lease released"), "{text}");
    assert!(!lock_held(&redis), "the lease is still held:\n{text}");

    // Once stopped, it can be removed.
    let mut uninstall = wine.command(&exe);
    uninstall.args(["service", "uninstall", "--name", &name]);
    let (status, output) = run(uninstall, WINE_LIMIT);
    assert!(status.success(), "service uninstall failed:\n{output}");
    assert!(output.contains("removed the service"), "{output}");
    drop(service);
}
