//! The release bundles of `cargo xtask dist` (issue 26), used as an operator would: the
//! archive checked against `SHA256SUMS`, unpacked into an empty directory outside the
//! workspace, the refresher started from there against the real MariaDB and Redis, and the
//! bundle's own `reader/spin.toml` and `.wasm` served by reader-host (standing in for Spin),
//! answering with the document. The Linux bundle natively, the Windows one under Wine.
//!
//! `cargo xtask test` builds the bundles and passes `STATUS_DIST_DIR` (and, for Windows, the
//! Wine prefix); without them these tests print why and pass.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use integration_tests::binaries::{Child, run};
use integration_tests::bundle::{dist_dir, unpack_tar_gz, unpack_zip, verified_archive};
use integration_tests::db::TestDb;
use integration_tests::live::{self, exp};
use integration_tests::reader::{listening_addr, reader_host_bin};
use integration_tests::redis::TestRedis;
use integration_tests::temp::TempDir;
use integration_tests::wait::wait_until;
use integration_tests::wine::Wine;
use status_document::StatusDocument;

const LIMIT: Duration = Duration::from_secs(60);

/// The refresher in `cmd` (a bundle's, run from the bundle's folder) refreshes once.
fn refresh_once(mut cmd: Command, folder: &Path, db: &TestDb, redis: &TestRedis) {
    cmd.current_dir(folder)
        .env("DATABASE_URL", db.url())
        .env("REDIS_URL", redis.url())
        .env("STATUS_KEY", redis.status_key())
        .env("STATUS_INTERVAL_KEY", redis.interval_key())
        .env("STATUS_METRICS_ADDR", "")
        .arg("--once");
    let (status, output) = run(cmd, LIMIT);
    assert_eq!(
        status.code(),
        Some(0),
        "--once from the bundle failed:\n{output}"
    );
    assert_eq!(exp(redis), Some(1.0), "{output}");
}

/// The bundle's reader (its own spin.toml and .wasm) in reader-host, run from the bundle's
/// `reader/` folder: GET /server/status answers with the document the refresher wrote.
fn reader_serves_the_document(dist: &Path, folder: &Path, redis: &TestRedis) {
    let reader = folder.join("reader");
    for file in ["spin.toml", "status_reader.wasm", "runtime-config.toml"] {
        assert!(
            reader.join(file).is_file(),
            "the bundle has no reader/{file}"
        );
    }
    let mut cmd = Command::new(reader_host_bin());
    cmd.env_clear()
        .current_dir(&reader)
        .args(["--manifest", "spin.toml", "--listen", "127.0.0.1:0"])
        // The host's compiled-code cache of the other reader tests (target/reader-host-cache):
        // the bundle's .wasm is the same file, and compiling it again takes minutes in a
        // debug build of the host.
        .arg("--cache-dir")
        .arg(dist.parent().unwrap_or(dist).join("reader-host-cache"))
        .arg("--variable")
        .arg(format!("status_key={}", redis.status_key()))
        .arg("--variable")
        .arg(format!("redis_address={}", redis.url()));
    let child = Child::spawn(cmd);
    assert!(
        wait_until(LIMIT, || listening_addr(&child.output()).is_some()),
        "reader-host did not start from the bundle:\n{}",
        child.output()
    );
    let addr = listening_addr(&child.output()).expect("an address");
    let reply = dev_support::http::get(addr, "/server/status", Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("GET /server/status: {e}\n{}", child.output()));
    assert_eq!(reply.status, 200, "{}", reply.text());
    let doc: StatusDocument =
        serde_json::from_slice(&reply.body).unwrap_or_else(|e| panic!("{e}: {}", reply.text()));
    assert_eq!(doc.rates.exp, 1.0);
}

/// `--version` of a bundled refresher: the package version and a commit.
fn assert_version(mut cmd: Command) {
    cmd.arg("--version");
    let (status, output) = run(cmd, LIMIT);
    assert!(status.success(), "{output}");
    assert!(
        output.trim().starts_with(&format!(
            "status-refresher {} (commit ",
            env!("CARGO_PKG_VERSION")
        )),
        "{output}"
    );
}

#[test]
fn linux_bundle_unpacked_into_an_empty_directory_refreshes_and_serves_the_document() {
    let Some(dist) = dist_dir() else { return };
    let archive = verified_archive(&dist, "-linux-x86_64.tar.gz").expect("no Linux archive");
    let dir = TempDir::new("ss-dist-linux");
    let folder = unpack_tar_gz(&archive, dir.path());
    for file in [
        "INSTALL.md",
        "CHANGELOG.md",
        "deploy/systemd/status-refresher.service",
    ] {
        assert!(folder.join(file).is_file(), "the bundle has no {file}");
    }
    let exe = folder.join("status-refresher");
    assert_version(bundled(&exe));

    let db = TestDb::new();
    live::seed(&db);
    let redis = TestRedis::new();
    refresh_once(bundled(&exe), &folder, &db, &redis);
    reader_serves_the_document(&dist, &folder, &redis);
}

#[test]
fn windows_bundle_unpacked_into_an_empty_directory_refreshes_under_wine_and_serves_the_document() {
    let Some(dist) = dist_dir() else { return };
    let Some(archive) = verified_archive(&dist, "-windows-x86_64.zip") else {
        eprintln!("skipped: no Windows bundle (cargo xtask test builds it where mingw-w64 is)");
        return;
    };
    let Some(wine) = Wine::from_env() else { return };
    let dir = TempDir::new("ss-dist-windows");
    let folder = unpack_zip(&archive, dir.path());
    for file in [
        "INSTALL.md",
        "CHANGELOG.md",
        "deploy/systemd/refresher.env.example",
    ] {
        assert!(folder.join(file).is_file(), "the bundle has no {file}");
    }
    let exe = folder.join("status-refresher.exe");
    assert_version(wine.command(&exe));

    let db = TestDb::new();
    live::seed(&db);
    let redis = TestRedis::new();
    refresh_once(wine.command(&exe), &folder, &db, &redis);
    reader_serves_the_document(&dist, &folder, &redis);
}

/// The bundle's refresher with a clean environment (`PATH`, `RUST_LOG` kept), as the other
/// refresher tests run theirs.
fn bundled(program: &Path) -> Command {
    let mut cmd = Command::new(program);
    cmd.env_clear();
    for keep in ["PATH", "RUST_LOG", "RUST_BACKTRACE"] {
        if let Some(v) = std::env::var_os(keep) {
            cmd.env(keep, v);
        }
    }
    cmd.stdin(std::process::Stdio::null());
    cmd
}
