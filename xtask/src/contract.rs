//! The reader's contract checked from outside: schemathesis (PyPI) generates requests from
//! `reader/openapi.json` and checks every answer of the real `.wasm` in `reader-host`
//! against it with every check it has (status codes, content types, headers, bodies, valid
//! requests answered and invalid ones refused, unlisted methods), but the one documented
//! behaviour forbids ([`EXCLUDED_CHECKS`]).
//!
//! The reader serves a document the real refresher wrote (`--once`, from the demo
//! `constants` table) under a key of this run's own, deleted afterwards. schemathesis runs
//! from the virtualenv the manifest checks already keep (`xtask/checks/requirements.txt`),
//! with a bounded number of examples per operation, so the step costs well under a minute
//! and prints schemathesis' own summary.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use dev_support::http;
use dev_support::net::free_addr;

use crate::child::{self, Output, STOP_GRACE, run_step};
use crate::demo::{self, DEMO_DATABASE};
use crate::manifest_checks;
use crate::services::Services;
use crate::shutdown::Shutdown;
use crate::up::reader_redis_variables;
use crate::workspace::Workspace;

/// Examples per operation and phase: enough to reach every enum value and a spread of
/// labels, badge options and `If-None-Match` values, bounded so the step stays short.
const MAX_EXAMPLES: &str = "40";
/// Every check schemathesis has (`--checks all`) but the ones in [`EXCLUDED_CHECKS`]: the
/// status codes, content types, headers and bodies the spec promises, that what it calls
/// valid is answered (`positive_data_acceptance`) and what it calls invalid refused
/// (`negative_data_rejection`, with the refusals of `xtask/checks/schemathesis.toml`), 405
/// with `Allow` for a method it does not list, and the rest.
const CHECKS: &str = "all";
/// Checks a documented behaviour forbids, each with its reason; nothing else is left out.
///
/// - `not_a_server_error`: it fails every 5xx, and 503 is documented behaviour: nothing
///   published yet, Redis unavailable or slower than reader-host's 1 s bound (which a
///   loaded CI machine can bring about), and `/server/status/simple` answers 503 for any
///   state but online (for uptime monitors that read only the status code). The spec lists
///   each 503 where it can happen, with its body, and `status_code_conformance` and
///   `response_schema_conformance` fail any 5xx that is not one of those. (On a quiet
///   machine, with the demo document online, the run also passes with it: 0 failures.)
const EXCLUDED_CHECKS: &str = "not_a_server_error";
/// schemathesis' configuration: what counts as refusing invalid data (see the file).
const CONFIG: &str = "xtask/checks/schemathesis.toml";
/// How long the reader gets to answer its first request.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// schemathesis' own time budget for its fuzzing phases, and the hard bound on the whole
/// process (coreutils `timeout`) should anything hang.
const MAX_TIME: &str = "45";
const RUN_TIMEOUT: &str = "120";

/// Runs schemathesis against a `reader-host` serving `wasm`; fails when any check fails.
pub fn run(
    ws: &Workspace,
    services: &Services,
    refresher: &Path,
    host: &Path,
    wasm: &Path,
    shutdown: &Shutdown,
) -> Result<()> {
    let python = manifest_checks::venv_python(ws, shutdown)?;
    demo::ensure_constants(&services.mysql.url, DEMO_DATABASE).context("seeding the demo table")?;
    let key = format!("xtask:schemathesis:{}", std::process::id());
    let result = publish_and_check(ws, services, refresher, host, wasm, &python, &key, shutdown);
    if let Err(e) = delete_keys(services, &key) {
        eprintln!("xtask: could not delete the schemathesis keys {key}*: {e:#}");
    }
    result
}

#[allow(clippy::too_many_arguments)]
fn publish_and_check(
    ws: &Workspace,
    services: &Services,
    refresher: &Path,
    host: &Path,
    wasm: &Path,
    python: &Path,
    key: &str,
    shutdown: &Shutdown,
) -> Result<()> {
    let mut once = Command::new(refresher);
    once.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env(
            "DATABASE_URL",
            services.mysql.url.with_path(DEMO_DATABASE).expose(),
        )
        .env("REDIS_URL", services.redis.url.expose())
        .env("STATUS_KEY", key)
        .env("STATUS_INTERVAL_KEY", format!("{key}:interval"))
        .env("STATUS_LEASE", "0")
        .env("STATUS_METRICS_ADDR", "")
        .arg("--once");
    run_step(&mut once, shutdown).context("publishing a document with the refresher")?;

    let addr = free_addr().context("no free port for reader-host")?;
    let mut reader_cmd = Command::new(host);
    reader_cmd
        .arg("--manifest")
        .arg(ws.spin_manifest())
        .arg("--wasm")
        .arg(wasm)
        .arg("--listen")
        .arg(addr.to_string())
        .envs(reader_redis_variables(&services.redis.url))
        .env("SPIN_VARIABLE_STATUS_KEY", key);
    let mut reader = child::spawn("reader-host", &mut reader_cmd, Output::Prefixed)?;
    let result = wait_ready(addr, shutdown).and_then(|()| {
        let spec = ws.root().join("reader/openapi.json");
        // coreutils' timeout bounds the run even if schemathesis hangs on something.
        let mut st = Command::new("timeout");
        st.arg(RUN_TIMEOUT)
            .arg(python.with_file_name("schemathesis"))
            .arg("--config-file")
            .arg(ws.root().join(CONFIG))
            .args(["--no-color", "run"])
            .arg(&spec)
            .args(["--url", &format!("http://{addr}")])
            .args(["--checks", CHECKS])
            .args(["--exclude-checks", EXCLUDED_CHECKS])
            .args(["--max-examples", MAX_EXAMPLES])
            .args(["--request-timeout", "5"])
            .args(["--max-time", MAX_TIME])
            .env(
                "HYPOTHESIS_STORAGE_DIRECTORY",
                ws.xtask_dir().join("hypothesis"),
            );
        let started = Instant::now();
        let outcome = run_step(&mut st, shutdown).context("schemathesis found failures");
        println!(
            "xtask: schemathesis took {:.1}s",
            started.elapsed().as_secs_f64()
        );
        outcome
    });
    reader.stop(STOP_GRACE);
    result
}

fn wait_ready(addr: SocketAddr, shutdown: &Shutdown) -> Result<()> {
    let started = Instant::now();
    loop {
        if shutdown.requested() {
            bail!("interrupted");
        }
        match http::get(addr, "/health", Duration::from_secs(2)) {
            Ok(r) if r.status == 200 => return Ok(()),
            Ok(r) if started.elapsed() > READY_TIMEOUT => {
                bail!("reader-host /health answered {}: {}", r.status, r.text())
            }
            Err(e) if started.elapsed() > READY_TIMEOUT => {
                return Err(e).context("reader-host did not answer");
            }
            _ => thread::sleep(Duration::from_millis(100)),
        }
    }
}

/// Deletes this run's document, its last-good copy, history, the servers index and the
/// interval key.
fn delete_keys(services: &Services, key: &str) -> Result<()> {
    let client = redis::Client::open(services.redis.url.expose())?;
    let mut conn = client.get_connection_with_timeout(Duration::from_secs(5))?;
    conn.set_read_timeout(Some(Duration::from_secs(5)))?;
    redis::cmd("DEL")
        .arg(key)
        .arg(format!("{key}:last_good"))
        .arg(format!("{key}:history"))
        .arg(format!("{key}:servers"))
        .arg(format!("{key}:page"))
        .arg(format!("{key}:interval"))
        .query::<i64>(&mut conn)?;
    Ok(())
}
