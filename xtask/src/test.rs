//! `cargo xtask test`: everything CI runs, in the order that fails fastest.
//!
//! Cheap checks first (fmt, clippy for the workspace, the reader's wasm target and the
//! refresher's Windows target, the deploy manifests), then the artifacts the tests exercise
//! (the release `.wasm` as shipped, the refresher and reader-host binaries, the refresher's
//! container image, the release bundles of `cargo xtask dist` and a Wine prefix to run the
//! Windows one in), then real services found or started exactly as `up`
//! does, then `cargo test --workspace`, then schemathesis against the reader's OpenAPI spec. The first failure stops the run with a
//! non-zero exit. `.ci/run` calls this and nothing else, so a green local run means a green CI.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::{Command, ExitCode};
use std::time::Instant;

use anyhow::Result;

use crate::browser;
use crate::build::{self, cargo};
use crate::child::run_step;
use crate::contract;
use crate::dist::{self, Platform, WINDOWS_TARGET};
use crate::image::{self, IMAGE_TAG};
use crate::manifest_checks;
use crate::services::{Services, Wanted};
use crate::shutdown::Shutdown;
use crate::wine;
use crate::workspace::{WASM_TARGET, Workspace};

#[derive(Debug, clap::Args)]
pub struct TestArgs {
    /// Skip fmt and clippy (for a quick local loop; CI never passes this).
    #[arg(long)]
    quick: bool,
    /// Run against throwaway MariaDB/Redis under target/ even when local ones are running
    /// (SERVER_STATUS_TEST_MYSQL/_REDIS, when set, still win).
    #[arg(long)]
    throwaway: bool,
    /// Extra arguments appended to `cargo test --workspace` (after `--`), e.g. a test name
    /// filter: `cargo xtask test --quick -- e2e`.
    #[arg(last = true)]
    cargo_test_args: Vec<OsString>,
}

/// `cargo fmt --check`, then clippy with `-D warnings` on the workspace, the reader's two
/// wasm builds and (with mingw-w64, `windows`) the refresher's Windows target.
fn lint(ws: &Workspace, windows: bool, step: &dyn Fn(&str), shutdown: &Shutdown) -> Result<()> {
    step("formatting");
    run_step(
        cargo()
            .current_dir(ws.root())
            .args(["fmt", "--all", "--", "--check"]),
        shutdown,
    )?;
    step("clippy (native, whole workspace)");
    clippy(ws, &["--workspace", "--all-targets"], shutdown)?;
    step("clippy (reader, wasm32-wasip2)");
    clippy(
        ws,
        &["-p", "status-reader", "--target", WASM_TARGET],
        shutdown,
    )?;
    step("clippy (reader, WASIp3 build for Spin 4)");
    clippy(
        ws,
        &[
            "-p",
            "status-reader",
            "--target",
            WASM_TARGET,
            "--no-default-features",
            "--features",
            "spin4",
        ],
        shutdown,
    )?;
    if windows {
        step("clippy (refresher, x86_64-pc-windows-gnu)");
        build::ensure_target(WINDOWS_TARGET, shutdown)?;
        clippy(
            ws,
            &["-p", "status-refresher", "--target", WINDOWS_TARGET],
            shutdown,
        )?;
    }
    Ok(())
}

/// `cargo clippy <args> -- -D warnings`.
fn clippy(ws: &Workspace, args: &[&str], shutdown: &Shutdown) -> Result<()> {
    run_step(
        cargo()
            .current_dir(ws.root())
            .arg("clippy")
            .args(args)
            .args(["--", "-D", "warnings"]),
        shutdown,
    )
}

/// The deploy manifests checked, then the builds the tests run: the reader's `.wasm`
/// (WASIp2 and Spin 4's WASIp3) and the refresher and reader-host binaries, in that order.
fn builds(
    ws: &Workspace,
    step: &dyn Fn(&str),
    shutdown: &Shutdown,
) -> Result<(PathBuf, PathBuf, Vec<PathBuf>)> {
    step("deploy manifests: Kubernetes and SpinKube schemas, Secret references, compose");
    manifest_checks::run(ws, shutdown)?;

    step("build: reader .wasm (release; WASIp2 and Spin 4's WASIp3), refresher and reader-host");
    let wasm = build::reader_wasm(ws, shutdown)?;
    let wasm_p3 = build::reader_wasm_p3(ws, shutdown)?;
    let bins = build::native(ws, &["status-refresher", "reader-host"], shutdown)?;
    Ok((wasm, wasm_p3, bins))
}

/// The refresher's container image, `None` without podman.
fn container_image(
    ws: &Workspace,
    step: &dyn Fn(&str),
    shutdown: &Shutdown,
) -> Result<Option<image::Image>> {
    step("build: refresher container image (static musl release binary, podman)");
    match image::podman_missing() {
        None => Ok(Some(image::build(ws, IMAGE_TAG, shutdown)?)),
        Some(reason) => {
            println!("xtask: skipping the container image and its tests: {reason}");
            Ok(None)
        }
    }
}

/// The release bundles (the Windows one only with mingw-w64, `windows`), and a Wine prefix to
/// run the Windows one in (`None` without it or without Wine).
fn bundles_and_wine(
    ws: &Workspace,
    windows: bool,
    step: &dyn Fn(&str),
    shutdown: &Shutdown,
) -> Result<(dist::Dist, Option<wine::Wine>)> {
    step("release bundles (cargo xtask dist): Linux (musl), Windows (mingw-w64)");
    let platforms: &[Platform] = if windows {
        &Platform::ALL
    } else {
        &[Platform::Linux]
    };
    let bundles = dist::build(ws, platforms, shutdown)?;
    let wine = match (bundles.bundle(Platform::Windows), wine::missing()) {
        (None, _) => None,
        (Some(_), Some(reason)) => {
            println!("xtask: skipping the Windows refresher's Wine tests: {reason}");
            None
        }
        (Some(_), None) => {
            step("Wine prefix (target/wine) with the test-only bcryptprimitives.dll");
            Some(wine::prepare(ws, shutdown)?)
        }
    };
    Ok((bundles, wine))
}

/// The MariaDB and Redis the tests use (found, or started when `throwaway`), reported.
fn services(ws: &Workspace, throwaway: bool, shutdown: &Shutdown) -> Result<Services> {
    let services = Services::ensure(
        ws,
        Wanted::from_env(
            "SERVER_STATUS_TEST_MYSQL",
            "SERVER_STATUS_TEST_REDIS",
            throwaway,
        )?,
        shutdown,
    )?;
    services.report();
    Ok(services)
}

/// Points the tests at the packaged pieces: the container image (when built), the release
/// bundles, and Wine with the Windows refresher (when both are there).
fn packaged_env(
    test: &mut Command,
    image: Option<&image::Image>,
    bundles: &dist::Dist,
    wine: Option<&wine::Wine>,
) {
    if let Some(image) = image {
        test.env("STATUS_REFRESHER_IMAGE", &image.tag)
            .env("CONTAINERS_CONF", &image.containers_conf);
    }
    test.env("STATUS_DIST_DIR", &bundles.dir);
    if let (Some(wine), Some((_, folder, _))) = (wine, bundles.bundle(Platform::Windows)) {
        test.env("WINE", &wine.loader)
            .env("WINEPREFIX", &wine.prefix)
            .env(
                "STATUS_REFRESHER_EXE",
                folder.join(Platform::Windows.refresher()),
            );
    }
}

pub fn run(args: TestArgs) -> Result<ExitCode> {
    let shutdown = Shutdown::install()?;
    let ws = Workspace::locate();
    let started = Instant::now();
    let step = |name: &str| println!("\n==> {name} ({}s)", started.elapsed().as_secs());

    step("wasm target");
    build::ensure_wasm_target(&shutdown)?;

    // The Windows build needs mingw-w64 (ring's C code, the link); Wine runs what it builds.
    let mingw_missing = dist::mingw_missing();
    if let Some(reason) = &mingw_missing {
        println!("xtask: skipping the Windows refresher's build, clippy and Wine tests: {reason}");
    }

    if args.quick {
        println!("xtask: --quick: skipping fmt and clippy");
    } else {
        lint(&ws, mingw_missing.is_none(), &step, &shutdown)?;
    }

    let (wasm, wasm_p3, bins) = builds(&ws, &step, &shutdown)?;
    let image = container_image(&ws, &step, &shutdown)?;
    let (bundles, wine) = bundles_and_wine(&ws, mingw_missing.is_none(), &step, &shutdown)?;
    step(
        "browser test tools (chromium, node, java, playwright-core, lighthouse, axe-core, vnu-jar)",
    );
    let browser = browser::ensure(&ws, &shutdown)?;

    step("services");
    let services = services(&ws, args.throwaway, &shutdown)?;

    step("cargo test --workspace");
    let mut test = cargo();
    test.current_dir(ws.root())
        .args(["test", "--workspace"])
        .env("READER_WASM", &wasm)
        .env("READER_WASM_P3", &wasm_p3)
        .env("STATUS_REFRESHER_BIN", &bins[0])
        .env("READER_HOST_BIN", &bins[1])
        .env("SERVER_STATUS_TEST_MYSQL", services.mysql.url.expose())
        .env("SERVER_STATUS_TEST_REDIS", services.redis.url.expose())
        .env("CHROMIUM", &browser.chromium)
        .env("BROWSER_NODE_MODULES", &browser.node_modules)
        .env("SERVER_STATUS_BROWSER_TESTS", "required")
        // `.ci/run` installs Debian's openarena-server: the real game server of tests/tests/game_server/query.rs.
        .env("SERVER_STATUS_OPENARENA", "required")
        .args(&args.cargo_test_args);
    packaged_env(&mut test, image.as_ref(), &bundles, wine.as_ref());
    let mut result = run_step(&mut test, &shutdown);
    if result.is_ok() && !shutdown.requested() {
        step("schemathesis: reader/openapi.json against reader-host");
        result = contract::run(&ws, &services, &bins[0], &bins[1], &wasm, &shutdown);
    }
    drop(services);
    if shutdown.requested() {
        return Ok(ExitCode::from(shutdown.exit_status()));
    }
    result?;
    println!(
        "\nxtask: all checks passed in {}s",
        started.elapsed().as_secs()
    );
    Ok(ExitCode::SUCCESS)
}
