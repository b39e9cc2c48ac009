//! The real reader `.wasm`, served by the project's wasmtime host (`reader-host`) in-process,
//! configured from the repository's `spin.toml`, against the real Redis.
//!
//! * [`reader_wasm`] builds the release component once per test process
//!   (`cargo build --release --target wasm32-wasip2 -p status-reader`), or takes
//!   `READER_WASM` when CI has pre-built it.
//! * [`reader_wasm_p3`] is the same for the WASIp3 build for Spin 4 (`--no-default-features
//!   --features spin4`, in `target/spin4`), or `READER_WASM_P3`; a [`ReaderConfig`] with
//!   [`Build::Wasip3`] serves it under `deploy/spin/spin4.toml`; `READER_BUILD=wasip3` makes
//!   that every test's default ([`Build::from_env`]).
//! * [`ReaderServer::start`] starts a host on an ephemeral port with the test's variables
//!   (its own `status_key`, the test Redis) and nothing from the process environment.
//!   Compiled code is cached on disk next to the `.wasm`, so only the first host of a run
//!   pays for compilation.
//! * [`ReaderServer::request`] is a small bounded HTTP/1.1 client (hyper). Every reply it
//!   (or [`http_request`] / [`try_http_request`]) reads is checked against
//!   `reader/openapi.json` ([`crate::contract::check`]); a reply the contract does not
//!   allow fails the test that got it.

use crate::temp::TempDir;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use reader_host::{Host, HostOptions, RunningHost, StatsSnapshot};

use crate::binaries::{cargo_build, workspace_root};
use crate::contract;

/// Bound on one test request, connect to last body byte.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// The release reader component: `READER_WASM`, or built once per process.
pub fn reader_wasm() -> &'static Path {
    static WASM: OnceLock<PathBuf> = OnceLock::new();
    WASM.get_or_init(|| given_wasm("READER_WASM").unwrap_or_else(|| build_reader(&[])))
}

/// The release WASIp3 reader component (Spin 4): `READER_WASM_P3`, or built once per
/// process in a target directory of its own (`<target>/spin4`, as deploy/spin/spin4.toml
/// builds it: both builds write a `status_reader.wasm`).
pub fn reader_wasm_p3() -> &'static Path {
    static WASM: OnceLock<PathBuf> = OnceLock::new();
    WASM.get_or_init(|| {
        given_wasm("READER_WASM_P3").unwrap_or_else(|| {
            let target = std::env::var_os("CARGO_TARGET_DIR")
                .filter(|d| !d.is_empty())
                .map_or_else(|| workspace_root().join("target"), PathBuf::from)
                .join("spin4");
            let target = target.to_string_lossy().into_owned();
            build_reader(&[
                "--no-default-features",
                "--features",
                "spin4",
                "--target-dir",
                &target,
            ])
        })
    })
}

/// The `.wasm` named by environment variable `var` (as `cargo xtask test` passes it), if set.
fn given_wasm(var: &str) -> Option<PathBuf> {
    let path = PathBuf::from(std::env::var_os(var).filter(|p| !p.is_empty())?);
    assert!(path.is_file(), "{var}={} is not a file", path.display());
    Some(path)
}

/// `cargo build --release --target wasm32-wasip2 -p status-reader <extra>`: the `.wasm`.
fn build_reader(extra: &[&str]) -> PathBuf {
    let mut args = vec![
        "--release",
        "--target",
        "wasm32-wasip2",
        "-p",
        "status-reader",
    ];
    args.extend_from_slice(extra);
    cargo_build(&args)
        .iter()
        .filter(|a| a.target == "status_reader" || a.target == "status-reader")
        .flat_map(|a| a.filenames.iter())
        .find(|f| f.extension().is_some_and(|e| e == "wasm"))
        .cloned()
        .expect("cargo built no status_reader.wasm")
}

/// Which build of the reader a host serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Build {
    /// WASIp2, spin-sdk 5.2, the root `spin.toml` (Spin 3.x).
    Wasip2,
    /// WASIp3, spin-sdk 7, `deploy/spin/spin4.toml` (Spin >= 4): Redis calls bounded by
    /// `redis_timeout_ms`.
    Wasip3,
}

impl Build {
    /// The build a test serves unless it names one: `READER_BUILD=wasip3` runs every reader
    /// test against the Spin 4 build, anything else (or nothing) against the WASIp2 one.
    pub fn from_env() -> Build {
        match std::env::var("READER_BUILD").as_deref() {
            Ok("wasip3") => Build::Wasip3,
            _ => Build::Wasip2,
        }
    }

    /// The release component of this build.
    pub fn wasm(self) -> &'static Path {
        match self {
            Build::Wasip2 => reader_wasm(),
            Build::Wasip3 => reader_wasm_p3(),
        }
    }

    /// The repository's manifest for this build.
    pub fn manifest(self) -> PathBuf {
        match self {
            Build::Wasip2 => manifest_path(),
            Build::Wasip3 => workspace_root().join("deploy/spin/spin4.toml"),
        }
    }
}

/// The repository's Spin manifest.
pub fn manifest_path() -> PathBuf {
    workspace_root().join("spin.toml")
}

/// Where compiled code is cached between hosts (and runs): next to the target directory.
fn compile_cache_dir(wasm: &Path) -> PathBuf {
    // target/wasm32-wasip2/release/status_reader.wasm -> target/reader-host-cache
    wasm.ancestors()
        .nth(3)
        .map(|target| target.join("reader-host-cache"))
        .unwrap_or_else(|| std::env::temp_dir().join("reader-host-cache"))
}

/// How to start a host.
#[derive(Debug, Clone)]
pub struct ReaderConfig {
    /// Application variables (`--variable`), e.g. `status_key`, `redis_address`.
    pub variables: Vec<(String, String)>,
    /// Component variables set to a literal in a copy of the manifest, bypassing the
    /// application variable (and so the allow-list's template). Used to make the component
    /// try an address its allow-list does not permit.
    pub component_literals: Vec<(String, String)>,
    /// `[[trigger.http]]` routes removed in a copy of the manifest.
    pub removed_routes: Vec<String>,
    pub redis_timeout: Duration,
    /// A Spin runtime config (TOML text) passed as `--runtime-config-file`.
    pub runtime_config: Option<String>,
    /// `--redis-ca-cert`: the CA trusted for `rediss://`.
    pub redis_ca_cert: Option<PathBuf>,
    /// Which build of the reader, with its manifest.
    pub build: Build,
}

impl ReaderConfig {
    /// The test Redis and the given status key; everything else from `spin.toml`.
    pub fn new(redis_url: &str, status_key: &str) -> ReaderConfig {
        ReaderConfig {
            variables: vec![
                ("redis_address".into(), redis_url.into()),
                ("status_key".into(), status_key.into()),
            ],
            component_literals: Vec::new(),
            removed_routes: Vec::new(),
            // Not reader-host's 1 s default: on a busy machine a Redis connect or GET can wait
            // on the CPU for over a second and be answered 503, which no test here is about
            // (seen at load average 9). Tests of the timeout set their own (`redis_timeout`).
            redis_timeout: Duration::from_secs(5),
            runtime_config: None,
            redis_ca_cert: None,
            build: Build::from_env(),
        }
    }

    /// Serve `build` (its `.wasm` and its manifest).
    pub fn build(mut self, build: Build) -> ReaderConfig {
        self.build = build;
        self
    }

    /// `redis_api=key_value`, with the `default` store on the Redis at `url` (credentials
    /// allowed), as `deploy/spin/runtime-config.toml` configures it.
    pub fn key_value(mut self, url: &str) -> ReaderConfig {
        self.runtime_config = Some(format!(
            "[key_value_store.default]\ntype = \"redis\"\nurl = {}\n",
            toml::Value::String(url.to_owned())
        ));
        self.variable("redis_api", "key_value")
    }

    pub fn variable(mut self, name: &str, value: &str) -> ReaderConfig {
        self.variables.retain(|(n, _)| n != name);
        self.variables.push((name.into(), value.into()));
        self
    }

    pub fn component_literal(mut self, name: &str, value: &str) -> ReaderConfig {
        self.component_literals.push((name.into(), value.into()));
        self
    }

    pub fn without_route(mut self, route: &str) -> ReaderConfig {
        self.removed_routes.push(route.into());
        self
    }

    pub fn redis_ca_cert(mut self, ca: &Path) -> ReaderConfig {
        self.redis_ca_cert = Some(ca.to_owned());
        self
    }

    pub fn redis_timeout(mut self, timeout: Duration) -> ReaderConfig {
        self.redis_timeout = timeout;
        self
    }
}

/// A reader served by an in-process `reader-host`. Stops serving when dropped.
pub struct ReaderServer {
    running: RunningHost,
    /// Holds the derived manifest, if any, for the host's lifetime.
    _dir: Option<TempDir>,
    _runtime_config: Option<TempDir>,
}

/// A response, fully read.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "status {} body is not JSON ({e}): {:?}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }
}

impl ReaderServer {
    /// Starts a host for the real `.wasm` with `config`. Must run inside a tokio runtime.
    pub async fn start(config: ReaderConfig) -> ReaderServer {
        let wasm = config.build.wasm();
        let (manifest, dir) =
            if config.component_literals.is_empty() && config.removed_routes.is_empty() {
                (config.build.manifest(), None)
            } else {
                let dir = TempDir::new("reader-test");
                let path = dir.path().join("spin.toml");
                let text = derived_manifest(
                    &config.build.manifest(),
                    &config.component_literals,
                    &config.removed_routes,
                );
                std::fs::write(&path, text).expect("cannot write the derived manifest");
                (path, Some(dir))
            };
        let runtime_config_dir = config.runtime_config.as_ref().map(|text| {
            let dir = TempDir::new("reader-test");
            std::fs::write(dir.path().join("runtime-config.toml"), text)
                .expect("cannot write the runtime config");
            dir
        });
        let mut options = HostOptions {
            wasm: Some(wasm.to_owned()),
            variables: config.variables,
            env: Some(HashMap::new()),
            runtime_config: runtime_config_dir
                .as_ref()
                .map(|d| d.path().join("runtime-config.toml")),
            redis_timeout: config.redis_timeout,
            redis_ca_cert: config.redis_ca_cert,
            ..HostOptions::default()
        };
        options.runtime.max_concurrent_requests = 32;
        // Spin 4 keeps an idle WASIp3 instance for a second; a busy test machine can pause
        // longer than that between two requests, and a test that counts what an instance
        // keeps (tests/budget.rs) must not see it retired by the pause.
        options.runtime.reuse.idle_timeout = std::time::Duration::from_secs(60);
        options.runtime.compile_cache_dir = Some(compile_cache_dir(wasm));
        let host = Host::from_manifest(&manifest, options)
            .unwrap_or_else(|e| panic!("reader-host refused {}: {e:#}", manifest.display()));
        let running = host
            .spawn(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .expect("cannot start reader-host");
        ReaderServer {
            running,
            _dir: dir,
            _runtime_config: runtime_config_dir,
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.running.addr()
    }

    pub fn stats(&self) -> StatsSnapshot {
        self.running.stats()
    }

    /// The statistics once every request so far has finished (its store dropped, so its
    /// counters are in), waiting up to [`crate::wait::SETTLE`]: a response can reach the
    /// client before that, and on a busy machine well before.
    pub async fn settled_stats(&self) -> StatsSnapshot {
        let deadline = std::time::Instant::now() + crate::wait::SETTLE;
        loop {
            let s = self.running.stats();
            if s.requests_finished >= s.component_requests || std::time::Instant::now() > deadline {
                return s;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.request("GET", path, &[]).await
    }

    /// One request on a fresh connection, bounded by [`REQUEST_TIMEOUT`].
    pub async fn request(&self, method: &str, path: &str, headers: &[(&str, &str)]) -> Reply {
        http_request(self.addr(), method, path, headers, Bytes::new()).await
    }
}

/// One HTTP/1.1 request to `addr` on a fresh connection, fully read, bounded by
/// [`REQUEST_TIMEOUT`]. Panics on any transport failure.
pub async fn http_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Bytes,
) -> Reply {
    try_http_request(addr, method, path, headers, body, REQUEST_TIMEOUT)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

/// [`http_request`] for tests where a transport failure is a result to judge (restarts,
/// chaos): `Err` says what went wrong, and nothing waits longer than `limit`.
pub async fn try_http_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Bytes,
    limit: Duration,
) -> Result<Reply, String> {
    let work = async {
        let stream = tokio::net::TcpStream::connect(addr).await?;
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(connection);
        let mut request = http::Request::builder()
            .method(method)
            .uri(path)
            .header("host", addr.to_string());
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request.body(Full::new(body))?;
        let response = sender.send_request(request).await?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.into_body().collect().await?.to_bytes();
        Ok::<_, Box<dyn std::error::Error + Send + Sync>>(Reply {
            status,
            headers,
            body,
        })
    };
    match tokio::time::timeout(limit, work).await {
        Ok(Ok(reply)) => {
            if let Err(e) = contract::check(method, path, reply.status, &reply.headers, &reply.body)
            {
                panic!("{e}");
            }
            Ok(reply)
        }
        Ok(Err(e)) => Err(format!("{method} {path}: transport error: {e}")),
        Err(_) => Err(format!(
            "{method} {path}: no complete answer within {limit:?}"
        )),
    }
}

/// The repository's manifest with some component variables replaced by literals and some
/// routes removed.
fn derived_manifest(
    manifest: &Path,
    literals: &[(String, String)],
    removed_routes: &[String],
) -> String {
    let text = std::fs::read_to_string(manifest).expect("cannot read the manifest");
    let mut doc: toml::Table = text.parse().expect("spin.toml is not TOML");
    if let Some(triggers) = doc
        .get_mut("trigger")
        .and_then(|t| t.get_mut("http"))
        .and_then(|h| h.as_array_mut())
    {
        triggers.retain(|t| {
            let route = t.get("route").and_then(|r| r.as_str()).unwrap_or("");
            !removed_routes.iter().any(|r| r == route)
        });
    }
    let vars = doc
        .get_mut("component")
        .and_then(|c| c.get_mut("reader"))
        .and_then(|r| r.get_mut("variables"))
        .and_then(|v| v.as_table_mut())
        .expect("spin.toml has no [component.reader.variables]");
    for (name, value) in literals {
        vars.insert(name.clone(), toml::Value::String(value.clone()));
    }
    toml::to_string(&doc).expect("cannot serialise the derived manifest")
}

/// The `reader-host` binary: `READER_HOST_BIN`, or built with
/// `cargo build -p reader-host --bin reader-host` (once per test process).
pub fn reader_host_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(bin) = std::env::var_os("READER_HOST_BIN").filter(|b| !b.is_empty()) {
            return PathBuf::from(bin);
        }
        cargo_build(&["-p", "reader-host", "--bin", "reader-host"])
            .into_iter()
            .find_map(|a| a.executable.filter(|_| a.target == "reader-host"))
            .expect("cargo build reported no reader-host executable")
    })
}

/// A `reader-host` command serving the real `.wasm` from the repository's manifest on an
/// ephemeral port, with a clean environment (only `PATH`, `RUST_LOG`, `RUST_BACKTRACE`), so
/// `SPIN_VARIABLE_*` in the runner's environment cannot change a test.
pub fn reader_host_command() -> std::process::Command {
    reader_host_command_for(Build::from_env())
}

/// [`reader_host_command`] for either build of the reader, with its manifest.
pub fn reader_host_command_for(build: Build) -> std::process::Command {
    let wasm = build.wasm();
    let mut cmd = crate::binaries::clean_command(reader_host_bin());
    cmd.arg("--manifest")
        .arg(build.manifest())
        .arg("--wasm")
        .arg(wasm)
        .arg("--cache-dir")
        .arg(compile_cache_dir(wasm))
        .args(["--listen", "127.0.0.1:0"]);
    cmd
}

/// The address a `reader-host` process reports in its `listening on http://ADDR` line.
pub fn listening_addr(output: &str) -> Option<SocketAddr> {
    output
        .lines()
        .find_map(|l| l.split("reader-host listening on http://").nth(1))
        .and_then(|a| a.trim().parse().ok())
}

/// Spawns a `reader-host` command and waits up to `limit` for its listening line: the child
/// (its output captured) and the address it serves on.
pub fn spawn_reader_host(
    cmd: std::process::Command,
    limit: Duration,
) -> (crate::binaries::Child, SocketAddr) {
    let child = crate::binaries::Child::spawn(cmd);
    assert!(
        child.wait_for_output("reader-host listening on http://", limit),
        "reader-host did not start:\n{}",
        child.output()
    );
    let addr = listening_addr(&child.output()).expect("a listening address");
    (child, addr)
}
