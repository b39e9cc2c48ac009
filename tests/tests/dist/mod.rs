//! The release bundles of `cargo xtask dist`, used as an operator would: the
//! archive checked against `SHA256SUMS`, unpacked into an empty directory outside the
//! workspace, the refresher started from there against the real MariaDB and Redis, and the
//! bundle's own `reader/spin.toml` and `.wasm` served by reader-host (standing in for Spin),
//! answering with the document. The Linux bundle natively, the Windows one under Wine.
//!
//! The reader's OCI image layout (`reader/oci/` in a bundle) is read as a registry client and
//! SpinKube would: every digest and size checked, Spin's media types, the locked app checked
//! against the bundle's spin.toml, and the component, found by the locked app's digest, served
//! by reader-host from a manifest written from the locked app alone. Debian's skopeo, where
//! installed (`.ci/run` installs it), reads and copies the layout as an independent check.
//!
//! `cargo xtask test` builds the bundles and passes `STATUS_DIST_DIR` (and, for Windows, the
//! Wine prefix); without them these tests print why and pass.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use integration_tests::reader::{reader_host_bin, spawn_reader_host};
use integration_tests::redis::TestRedis;
use status_document::StatusDocument;

mod bundles;
mod locked_app;
mod oci;
mod skopeo;

const LIMIT: Duration = Duration::from_secs(60);

/// reader-host run from `app_dir` with its `spin.toml`, reading this test's Redis keys: the
/// document GET /server/status answers with.
fn served_document(dist: &Path, app_dir: &Path, redis: &TestRedis) -> StatusDocument {
    let mut cmd = Command::new(reader_host_bin());
    cmd.env_clear()
        .current_dir(app_dir)
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
    let (child, addr) = spawn_reader_host(cmd, LIMIT);
    let reply = dev_support::http::get(addr, "/server/status", Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("GET /server/status: {e}\n{}", child.output()));
    assert_eq!(reply.status, 200, "{}", reply.text());
    serde_json::from_slice(&reply.body).unwrap_or_else(|e| panic!("{e}: {}", reply.text()))
}
