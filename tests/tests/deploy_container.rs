//! The refresher's container image (`deploy/container/Containerfile`, built by
//! `cargo xtask image`) run with podman against the real MariaDB and Redis.
//!
//! `cargo xtask test` builds the image first and passes its tag in `STATUS_REFRESHER_IMAGE`
//! and podman's settings in `CONTAINERS_CONF` (runc, no default ulimits: see
//! xtask/src/image.rs). Run by hand without them, these tests print why they skip and pass:
//! the image is a build product of xtask, like the release `.wasm`.
//!
//! The containers use `--network host`, so `127.0.0.1` in the URLs is this machine's MariaDB
//! and Redis; each test has its own database, Redis keys and container name. Credentials
//! reach podman through its environment (`-e NAME` without a value), never its command line.

use std::net::{SocketAddr, TcpListener};
use std::process::{Command, Stdio};
use std::time::Duration;

use integration_tests::binaries::{Child, run};
use integration_tests::db::{TestDb, constant};
use integration_tests::redis::TestRedis;
use integration_tests::wait::wait_until;
use status_document::StatusDocument;

/// The image's user: the unprivileged "nonroot" UID/GID of the Containerfile.
const IMAGE_USER: &str = "65532:65532";
const IMAGE_UID: u32 = 65532;

/// Upper bound on the image: a static binary and a CA bundle. A base image or a debug build
/// slipping in would be several times this.
const MAX_IMAGE_BYTES: u64 = 24 * 1024 * 1024;

/// Bound on a `--once` run, including podman's container set-up.
const ONCE_LIMIT: Duration = Duration::from_secs(60);

/// The image under test, or `None` (with the reason printed) when xtask did not build one.
fn image() -> Option<String> {
    match std::env::var("STATUS_REFRESHER_IMAGE") {
        Ok(tag) if !tag.is_empty() => Some(tag),
        _ => {
            eprintln!(
                "skipped: STATUS_REFRESHER_IMAGE is not set; `cargo xtask test` builds the image \
                 with podman and sets it (or run `cargo xtask image` and set it to \
                 localhost/status-refresher:dev, with CONTAINERS_CONF as it prints)"
            );
            None
        }
    }
}

/// `podman <args>` with the environment's CONTAINERS_CONF, run to completion; panics unless
/// it succeeds, and returns its stdout.
fn podman(args: &[&str]) -> String {
    let out = Command::new("podman")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("cannot run podman");
    assert!(
        out.status.success(),
        "podman {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// A `podman run` of the image for this test's database and keys.
fn run_command(name: &str, db: &TestDb, redis: &TestRedis) -> Command {
    let mut cmd = Command::new("podman");
    cmd.args(["run", "--rm", "--network", "host", "--name", name])
        .args(["-e", "DATABASE_URL", "-e", "REDIS_URL", "-e", "STATUS_KEY"])
        .args(["-e", "STATUS_INTERVAL_KEY", "-e", "STATUS_TIMEOUT"])
        .args(["-e", "STATUS_METRICS_ADDR"])
        .env("DATABASE_URL", db.url())
        .env("REDIS_URL", redis.url())
        .env("STATUS_KEY", redis.status_key())
        .env("STATUS_INTERVAL_KEY", redis.interval_key())
        .env("STATUS_TIMEOUT", "3")
        .stdin(Stdio::null());
    cmd
}

/// What a run test needs: the image, a seeded database of its own and its own Redis keys
/// (`None` when the image was not built).
fn fixture() -> Option<(String, TestDb, TestRedis)> {
    let image = image()?;
    let db = TestDb::new();
    db.create_constants("DOUBLE");
    db.insert_constants(&[
        constant("ServerStatus", 1.0, Some("Состояние сервера")),
        constant("RateExp", 2.5, Some("Рейт опыта")),
    ]);
    Some((image, db, TestRedis::new()))
}

fn container_name() -> String {
    format!("ss_t_{:016x}", fastrand::u64(..))
}

#[test]
fn image_is_small_and_declares_a_non_root_user() {
    let Some(image) = image() else { return };
    let user = podman(&["image", "inspect", "--format", "{{.Config.User}}", &image]);
    assert_eq!(
        user, IMAGE_USER,
        "the image must run as the nonroot UID/GID"
    );
    let size: u64 = podman(&["image", "inspect", "--format", "{{.Size}}", &image])
        .parse()
        .expect("podman reports the size in bytes");
    eprintln!("{image}: {size} bytes ({:.1} MiB)", size as f64 / 1048576.0);
    assert!(
        size <= MAX_IMAGE_BYTES,
        "{image} is {size} bytes, over the {MAX_IMAGE_BYTES}-byte bound"
    );
    let layers = podman(&[
        "image",
        "inspect",
        "--format",
        "{{len .RootFS.Layers}}",
        &image,
    ]);
    assert_eq!(
        layers, "2",
        "scratch + CA bundle + binary: two COPY layers, no base"
    );
}

#[test]
fn image_refreshes_once_against_real_mariadb_and_redis() {
    let Some((image, db, redis)) = fixture() else {
        return;
    };
    let mut cmd = run_command(&container_name(), &db, &redis);
    cmd.env("STATUS_METRICS_ADDR", "")
        .args([image.as_str(), "--once"]);
    let (status, output) = run(cmd, ONCE_LIMIT);
    assert_eq!(
        status.code(),
        Some(0),
        "the containerised --once failed:\n{output}"
    );

    let raw = redis
        .get(&redis.status_key())
        .unwrap_or_else(|| panic!("no document after the container's --once:\n{output}"));
    let doc: StatusDocument = serde_json::from_slice(&raw).expect("a status document");
    assert_eq!(doc.server_status, Some(1.0));
    assert_eq!(doc.rates.unwrap().exp, 2.5);
    assert_eq!(
        doc.meta.get("RateExp").map(String::as_str),
        Some("Рейт опыта"),
        "descriptions survive the static build"
    );
    assert!(
        redis.get(&redis.last_good_key()).is_some(),
        "no :last_good copy"
    );
}

#[test]
fn container_runs_unprivileged_answers_health_and_stops_cleanly_on_sigterm() {
    let Some((image, db, redis)) = fixture() else {
        return;
    };
    let name = container_name();
    let addr = free_loopback_addr();
    let mut cmd = run_command(&name, &db, &redis);
    cmd.env("STATUS_METRICS_ADDR", addr.to_string()).arg(&image);
    let mut child = Child::spawn(cmd);

    // The refresher's /health, read raw: the reader's contract check (which every
    // `integration_tests::reader` request goes through) does not apply to the refresher.
    let healthy = wait_until(Duration::from_secs(30), || {
        dev_support::http::get(addr, "/health", Duration::from_secs(2))
            .is_ok_and(|reply| reply.status == 200)
    });
    assert!(
        healthy,
        "GET /health on {addr} never answered 200:\n{}",
        child.output()
    );
    assert!(redis.get(&redis.status_key()).is_some(), "no document");

    // The process podman started, seen from the host: its real, effective, saved and
    // filesystem UIDs must all be the image's unprivileged user.
    let pid = podman(&["inspect", "--format", "{{.State.Pid}}", &name]);
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_else(|e| panic!("/proc/{pid}/status: {e}"));
    let uids: Vec<u32> = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .expect("a Uid line")
        .split_whitespace()
        .map(|u| u.parse().expect("numeric uid"))
        .collect();
    assert_eq!(
        uids, [IMAGE_UID; 4],
        "the refresher runs as root in the container"
    );

    podman(&["stop", "--time", "20", &name]);
    let exit = child.wait(Duration::from_secs(30));
    assert_eq!(
        exit.code(),
        Some(0),
        "SIGTERM (podman stop) must end the refresher cleanly:\n{}",
        child.output()
    );
}

/// A loopback address nothing listens on right now, for the container's metrics listener.
fn free_loopback_addr() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("local addr")
}
