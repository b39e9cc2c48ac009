//! The Linux and Windows bundles unpacked into an empty directory: the refresher refreshes
//! once from there and the bundle's own reader serves what it wrote.

use std::path::Path;
use std::process::Command;

use integration_tests::binaries::{clean_command, run};
use integration_tests::bundle::{dist_dir, unpack_tar_gz, unpack_zip, verified_archive};
use integration_tests::db::TestDb;
use integration_tests::live::{self, exp};
use integration_tests::redis::TestRedis;
use integration_tests::temp::TempDir;
use integration_tests::wine::Wine;

use super::{LIMIT, served_document};

/// The bundle's refresher in `cmd` writes the document of a seeded database once, and the
/// bundle's reader serves it.
fn refreshes_and_serves(cmd: Command, dist: &Path, folder: &Path) {
    let db = live::seeded();
    let redis = TestRedis::new();
    refresh_once(cmd, folder, &db, &redis);
    reader_serves_the_document(dist, folder, &redis);
}

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
    let doc = served_document(dist, &reader, redis);
    assert_eq!(doc.rates.unwrap().exp, 1.0);
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

/// An unpacked bundle in `folder` holds INSTALL.md, CHANGELOG.md and its own `files`, and
/// its refresher `exe`, started by `run`, tells its version, refreshes and serves.
fn check_bundle(
    dist: &Path,
    folder: &Path,
    files: &[&str],
    exe: &str,
    run: impl Fn(&Path) -> Command,
) {
    for file in ["INSTALL.md", "CHANGELOG.md"].iter().chain(files) {
        assert!(folder.join(file).is_file(), "the bundle has no {file}");
    }
    let exe = folder.join(exe);
    assert_version(run(&exe));

    refreshes_and_serves(run(&exe), dist, folder);
}

#[test]
fn linux_bundle_unpacked_into_an_empty_directory_refreshes_and_serves_the_document() {
    let Some(dist) = dist_dir() else { return };
    let archive = verified_archive(&dist, "-linux-x86_64.tar.gz").expect("no Linux archive");
    let dir = TempDir::new("ss-dist-linux");
    let folder = unpack_tar_gz(&archive, dir.path());
    let files = ["deploy/systemd/status-refresher.service"];
    check_bundle(&dist, &folder, &files, "status-refresher", |exe| {
        clean_command(exe)
    });
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
    let files = [
        "deploy/systemd/refresher.env.example",
        "reader/oci/index.json",
    ];
    check_bundle(&dist, &folder, &files, "status-refresher.exe", |exe| {
        wine.command(exe)
    });
}
