//! Project tasks, run as `cargo xtask <task>` (alias in `.cargo/config.toml`).
//!
//! - `up`: the whole stack on this machine — MariaDB and Redis (the local ones, the ones named
//!   by `DATABASE_URL`/`REDIS_URL`, or throwaway instances under `target/`), a demo
//!   `constants` table, the refresher, and the reader on 127.0.0.1:3000.
//! - `game-server stop|start|status`: close or reopen the game server's stand-in that `up`
//!   runs, to watch the status follow the game server.
//! - `test`: exactly what CI (`.ci/run`) runs: fmt, clippy, the release `.wasm`, and
//!   `cargo test --workspace` against real services, then schemathesis against the reader.
//! - `image`: the refresher's container image (`deploy/container/Containerfile`) from the
//!   static musl binary, tagged `localhost/status-refresher:dev`, with podman.
//! - `dist`: the release bundles under `target/dist/`: per platform (Linux x86_64 static musl,
//!   Windows x86_64) a folder and an archive with the refresher, the reader `.wasm` with its
//!   `spin.toml` and the same reader as an OCI image layout (what `spin registry push` would
//!   upload), the `deploy/` files and an INSTALL.md, and a `SHA256SUMS`.
//! - `bench`: the issue-5 benchmarks (`bench/`, see docs/performance.md); arguments after
//!   `bench` go to the runner unchanged, e.g. `cargo xtask bench --quick`.
//!
//! A plain Rust binary rather than shell scripts so that it behaves the same on every machine
//! and can own its children properly: everything `up` starts runs in its own process group and
//! is stopped (and its throwaway data removed) on Ctrl-C, SIGTERM, an error, or a crash of
//! `up` itself.

mod browser;
mod build;
mod child;
mod contract;
mod demo;
mod dist;
mod endpoint;
mod game_server;
mod image;
mod manifest_checks;
mod services;
mod shutdown;
mod spin_manifest;
mod test;
mod up;
mod wine;
mod workspace;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "cargo xtask", about = "server-status project tasks", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the whole stack locally: services, demo data, refresher, reader on 127.0.0.1:3000.
    Up(up::UpArgs),
    /// Run everything CI runs: fmt, clippy, release .wasm, and all tests against real services.
    Test(test::TestArgs),
    /// Only the services and demo data of `up` (no builds), until Ctrl-C: for running the
    /// refresher or tests by hand against throwaway servers.
    Services(up::ServicesArgs),
    /// Stop or start the game server's stand-in of a running `cargo xtask up` (its probe
    /// then reports the game server unreachable, or reachable again).
    GameServer(game_server::GameServerArgs),
    /// Build the refresher's container image (static musl binary, FROM scratch) with podman.
    Image(image::ImageArgs),
    /// Build the release bundles (Linux and Windows archives, SHA256SUMS) under target/dist/.
    Dist(dist::DistArgs),
    /// Run the benchmarks and print/save the report (`bench --help` lists the options).
    Bench {
        /// Passed through to `cargo run -p bench --profile fast --bin bench --`.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<OsString>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Up(args) => up::run(args),
        Command::Test(args) => test::run(args),
        Command::Services(args) => up::services_only(args),
        Command::Image(args) => image::run(args),
        Command::GameServer(args) => game_server::run(args),
        Command::Dist(args) => dist::run(args),
        Command::Bench { args } => bench(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("xtask: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// The bench runner builds what it measures itself; this only starts it from the workspace
/// root with the `fast` profile the host is measured with.
fn bench(args: Vec<OsString>) -> anyhow::Result<ExitCode> {
    let shutdown = shutdown::Shutdown::install()?;
    child::run_step(
        build::cargo()
            .current_dir(workspace::Workspace::locate().root())
            .args([
                "run",
                "-p",
                "bench",
                "--profile",
                "fast",
                "--bin",
                "bench",
                "--",
            ])
            .args(args),
        &shutdown,
    )?;
    Ok(ExitCode::SUCCESS)
}
