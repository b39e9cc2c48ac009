//! Everything one bench run shares: where things are, which database and Redis key it owns.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::Context as _;

use crate::process::run_bounded;

/// Paths of the binaries and components under test.
#[derive(Debug, Clone)]
pub struct Artifacts {
    pub direct_db_server: PathBuf,
    pub static_server: PathBuf,
    pub reader_host: PathBuf,
    pub refresher: PathBuf,
    pub reader_wasm: PathBuf,
    /// The reader's WASIp3 build (`--features spin4`, in `<target>/spin4` as
    /// deploy/spin/spin4.toml builds it).
    pub reader_wasm_p3: PathBuf,
    pub control_wasm: PathBuf,
}

#[derive(Debug, Clone)]
pub struct Context {
    /// Workspace root (spin.toml, deploy/, xtask/fixtures/).
    pub root: PathBuf,
    /// Logs, rendered configs and the static file of this run.
    pub run_dir: PathBuf,
    pub artifacts: Artifacts,
    /// `mysql://user:pass@host:port` (no database).
    pub mysql_url: String,
    pub redis_url: String,
    /// `ss_bench_<random>`: the run's own database.
    pub database: String,
    /// `ss_bench_<random>`: the run's own MySQL user (SELECT on the run's database only), so
    /// per-user statistics count the targets' statements and nobody else's.
    pub db_user: String,
    pub db_password: String,
    /// `bench:<random>:status`: the run's own status key.
    pub status_key: String,
    /// `bench:<random>:interval`: the refresher's live-override key, so a global
    /// `config:status_interval` set by someone else cannot change the run.
    pub interval_key: String,
    /// An older checkout whose built reader (`target/wasm32-wasip2/release/status_reader.wasm`)
    /// and `spin.toml` the `reader-before` target serves (`--reader-before`).
    pub reader_before: Option<PathBuf>,
}

impl Context {
    pub fn new(mysql_url: String, redis_url: String) -> anyhow::Result<Context> {
        let root = workspace_root();
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| root.join("target"));
        let id = format!("{:08x}", fastrand::u32(..));
        let (_, stamp) = crate::machine::today();
        let run_dir = target
            .join("bench")
            .join(format!("{}-{id}", stamp.replace(':', "")));
        std::fs::create_dir_all(&run_dir)
            .with_context(|| format!("creating {}", run_dir.display()))?;
        let env_or = |var: &str, default: PathBuf| {
            std::env::var_os(var).map(PathBuf::from).unwrap_or(default)
        };
        let fast = target.join("fast");
        let wasm = target.join("wasm32-wasip2").join("release");
        let artifacts = Artifacts {
            direct_db_server: fast.join("direct-db-server"),
            static_server: fast.join("static-server"),
            reader_host: env_or("READER_HOST_BIN", fast.join("reader-host")),
            refresher: env_or("STATUS_REFRESHER_BIN", fast.join("status-refresher")),
            reader_wasm: env_or("READER_WASM", wasm.join("status_reader.wasm")),
            reader_wasm_p3: env_or(
                "READER_WASM_P3",
                target.join("spin4/wasm32-wasip2/release/status_reader.wasm"),
            ),
            control_wasm: env_or("CONTROL_WASM", wasm.join("control_component.wasm")),
        };
        Ok(Context {
            root,
            run_dir,
            artifacts,
            mysql_url: mysql_url.trim_end_matches('/').to_owned(),
            redis_url,
            database: format!("ss_bench_{id}"),
            db_user: format!("ss_bench_{id}"),
            db_password: format!("{:016x}", fastrand::u64(..)),
            status_key: format!("bench:{id}:status"),
            interval_key: format!("bench:{id}:interval"),
            reader_before: None,
        })
    }

    /// The run database's URL, as the run's own user.
    pub fn database_url(&self) -> String {
        self.url_as_user(&self.database)
    }

    /// `database` on the run's server, as the run's own user.
    pub fn url_as_user(&self, database: &str) -> String {
        let host = self
            .mysql_url
            .split_once("://")
            .map(|(_, rest)| rest.rsplit_once('@').map_or(rest, |(_, host)| host))
            .unwrap_or("127.0.0.1:3306");
        format!(
            "mysql://{}:{}@{host}/{database}",
            self.db_user, self.db_password
        )
    }

    pub fn log(&self, name: &str) -> PathBuf {
        self.run_dir.join(format!("{name}.log"))
    }
}

pub use dev_support::workspace::workspace_root;

/// Builds what the load table needs (every artifact); see [`build_only`].
pub fn build_all(root: &Path) -> Vec<String> {
    build_only(root, &[])
}

/// What `bench --changes` runs: the refresher, and the reader `.wasm` in reader-host.
pub const CHANGES_ARTIFACTS: [&str; 3] =
    ["reader-host", "status-refresher", "status-reader (.wasm)"];

/// Builds the artifacts named in `only` (all of them when it is empty), one cargo
/// invocation per artifact so a crate that does not build (yet) costs only its own targets.
/// Returns a note per failure.
pub fn build_only(root: &Path, only: &[&str]) -> Vec<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let spin4 = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
        .join("spin4");
    let spin4 = spin4.to_string_lossy();
    let args = |args: &[&str]| args.iter().map(ToString::to_string).collect::<Vec<_>>();
    // A release component for wasm32-wasip2, `extra` after the package.
    let wasm = |package: &str, extra: &[&str]| {
        let mut build = args(&["build", "--release", "--target", "wasm32-wasip2", "-p"]);
        build.push(package.to_owned());
        build.extend(args(extra));
        build
    };
    let builds = [
        (
            "bench servers",
            args(&["build", "--profile", "fast", "-p", "bench", "--bins"]),
        ),
        (
            "reader-host",
            args(&["build", "--profile", "fast", "-p", "reader-host"]),
        ),
        (
            "status-refresher",
            args(&["build", "--profile", "fast", "-p", "status-refresher"]),
        ),
        ("status-reader (.wasm)", wasm("status-reader", &[])),
        (
            "status-reader WASIp3 (.wasm)",
            wasm(
                "status-reader",
                &[
                    "--no-default-features",
                    "--features",
                    "spin4",
                    "--target-dir",
                    &spin4,
                ],
            ),
        ),
        ("control-component (.wasm)", wasm("control-component", &[])),
    ];
    let mut notes = Vec::new();
    for (what, args) in builds {
        if !only.is_empty() && !only.contains(&what) {
            continue;
        }
        eprintln!("bench: building {what}");
        let mut command = Command::new(&cargo);
        command.args(args).current_dir(root);
        match run_bounded(command, Duration::from_secs(1800)) {
            Ok(output) if output.status.success() => {}
            Ok(output) => {
                let stderr = String::from_utf8_lossy(&output.stderr);
                let tail: Vec<&str> = stderr.lines().rev().take(5).collect();
                notes.push(format!(
                    "building {what} failed: {}",
                    tail.into_iter().rev().collect::<Vec<_>>().join(" / ")
                ));
            }
            Err(e) => notes.push(format!("building {what} failed: {e}")),
        }
    }
    notes
}
