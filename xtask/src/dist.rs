//! `cargo xtask dist`: the release bundles an operator downloads, under `target/dist/`.
//!
//! One folder and one archive per platform, and a `SHA256SUMS` of the archives
//! (`sha256sum -c SHA256SUMS` checks them):
//!
//! ```text
//! server-status-<version>-linux-x86_64/     (and .tar.gz)   status-refresher (static musl)
//! server-status-<version>-windows-x86_64/   (and .zip)      status-refresher.exe (mingw)
//!     reader/status_reader.wasm, reader/spin.toml, reader/runtime-config.toml
//!     reader/oci/       the reader as an OCI image layout (below)
//!     deploy/...        the repository's deploy/ files as they are
//!     INSTALL.md        from the template xtask/src/dist/INSTALL.md
//!     CHANGELOG.md
//! server-status-<version>-reader-oci/   the same OCI image layout, on its own
//! ```
//!
//! The OCI image layout (dist/oci.rs) is the artifact `spin registry push` would store for
//! the bundle's `reader/` folder, its locked app written from the bundle's spin.toml
//! (dist/locked_app/): `skopeo copy oci:…` or `oras cp --from-oci-layout …` pushes it where
//! a machine has registry access but no Spin CLI, and SpinKube runs it from the registry.
//!
//! The bundle's `spin.toml` is the repository's with the component's `source` pointing at the
//! `.wasm` beside it and the `[component.reader.build]` table (a cargo command) left out, so
//! `spin up` and `reader-host --manifest` run it from the unpacked folder. INSTALL.md comes from
//! a template here rather than from README's sections, which were being moved into docs/
//! pages when this was written; it links to them instead of copying them.
//!
//! Everything is built with the shipped release profile: the reader for `wasm32-wasip2`, the
//! refresher for `x86_64-unknown-linux-musl` (as `cargo xtask image` builds it) and
//! `x86_64-pc-windows-gnu` (linked by Debian's `gcc-mingw-w64-x86-64`). The archives are
//! reproducible for one commit: entries sorted, owned by 0:0, stamped with the commit's time.

use std::fs;
use std::path::PathBuf;
use std::process::{Command, ExitCode, Stdio};

use anyhow::{Context, Result, bail};

use crate::build;
use crate::image::MUSL_TARGET;
use crate::shutdown::Shutdown;
use crate::workspace::Workspace;

mod archive;
mod bundle;
mod files;
mod locked_app;
mod oci;
mod stamp;

use files::{copy_tree, file_name, sha256_file};

/// The Windows target: GNU ABI, cross-linked with mingw-w64 on Debian.
pub const WINDOWS_TARGET: &str = "x86_64-pc-windows-gnu";
/// The mingw-w64 C compiler and linker the Windows target needs (ring's C code, the link).
pub const MINGW_GCC: &str = "x86_64-w64-mingw32-gcc";

#[derive(Debug, clap::Args)]
pub struct DistArgs {}

/// A platform's bundle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Platform {
    Linux,
    Windows,
}

impl Platform {
    pub const ALL: [Platform; 2] = [Platform::Linux, Platform::Windows];

    pub fn name(self) -> &'static str {
        match self {
            Platform::Linux => "linux-x86_64",
            Platform::Windows => "windows-x86_64",
        }
    }

    fn target(self) -> &'static str {
        match self {
            Platform::Linux => MUSL_TARGET,
            Platform::Windows => WINDOWS_TARGET,
        }
    }

    /// The refresher's file name in the bundle.
    pub fn refresher(self) -> &'static str {
        match self {
            Platform::Linux => "status-refresher",
            Platform::Windows => "status-refresher.exe",
        }
    }

    pub fn archive_ext(self) -> &'static str {
        match self {
            Platform::Linux => "tar.gz",
            Platform::Windows => "zip",
        }
    }
}

/// What `dist` made.
#[derive(Debug, Clone)]
pub struct Dist {
    pub dir: PathBuf,
    /// The reader's OCI image layout (also `reader/oci/` in each bundle).
    pub oci_layout: PathBuf,
    /// The tag `index.json` gives the reader's manifest: the version.
    pub oci_tag: String,
    /// (platform, folder, archive), in [`Platform::ALL`] order.
    pub bundles: Vec<(Platform, PathBuf, PathBuf)>,
}

impl Dist {
    pub fn bundle(&self, platform: Platform) -> Option<&(Platform, PathBuf, PathBuf)> {
        self.bundles.iter().find(|(p, _, _)| *p == platform)
    }
}

pub fn run(_args: DistArgs) -> Result<ExitCode> {
    let shutdown = Shutdown::install()?;
    let ws = Workspace::locate();
    if let Some(reason) = mingw_missing() {
        bail!("{reason}");
    }
    let dist = build(&ws, &Platform::ALL, &shutdown)?;
    println!("\nxtask: release bundles in {}:", dist.dir.display());
    for (_, _, archive) in &dist.bundles {
        let size = fs::metadata(archive)
            .with_context(|| format!("reading {}", archive.display()))?
            .len();
        println!(
            "    {}  {:.1} MiB",
            file_name(archive),
            size as f64 / (1024.0 * 1024.0)
        );
    }
    println!(
        "    SHA256SUMS  (check: cd {} && sha256sum -c SHA256SUMS)",
        dist.dir.display()
    );
    println!(
        "    {}/  the reader as an OCI image layout (push: skopeo copy oci:{}:{} docker://…)",
        file_name(&dist.oci_layout),
        dist.oci_layout.display(),
        dist.oci_tag
    );
    Ok(ExitCode::SUCCESS)
}

/// Why the Windows build cannot be made here (`None` when the mingw-w64 gcc runs).
pub fn mingw_missing() -> Option<String> {
    (!runs(MINGW_GCC)).then(|| {
        format!(
            "{MINGW_GCC} is not installed (on Debian: `apt-get install -y gcc-mingw-w64-x86-64`; \
             .ci/run installs it)"
        )
    })
}

/// Whether `program --version` runs.
fn runs(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Builds the artifacts and writes the bundles of `platforms` and `SHA256SUMS` under
/// `target/dist/` (which is emptied first).
pub fn build(ws: &Workspace, platforms: &[Platform], shutdown: &Shutdown) -> Result<Dist> {
    let (wasm, binaries) = build_artifacts(ws, platforms, shutdown)?;
    let version = stamp::package_version(&ws.root().join("refresher/Cargo.toml"))?;
    let mtime = stamp::commit_time(ws.root()).unwrap_or(0);

    let dir = ws.dist_dir();
    if dir.exists() {
        fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
    }
    fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;

    let oci_layout = dir.join(format!("server-status-{version}-reader-oci"));
    let layout = bundle::write_oci_layout(ws, &wasm, &version, mtime, &oci_layout)?;

    let mut bundles = Vec::new();
    let mut sums = String::new();
    for (platform, binary) in binaries {
        let name = format!("server-status-{version}-{}", platform.name());
        let folder = dir.join(&name);
        bundle::lay_out(ws, platform, &binary, &wasm, &version, &folder)?;
        copy_tree(&oci_layout, &folder.join("reader/oci"))?;
        let archive = dir.join(format!("{name}.{}", platform.archive_ext()));
        match platform {
            Platform::Linux => archive::write_tar_gz(&folder, &name, &archive, mtime)?,
            Platform::Windows => archive::write_zip(&folder, &name, &archive, mtime)?,
        }
        sums.push_str(&format!(
            "{}  {}\n",
            sha256_file(&archive)?,
            file_name(&archive)
        ));
        bundles.push((platform, folder, archive));
    }
    fs::write(dir.join("SHA256SUMS"), sums).context("writing SHA256SUMS")?;
    Ok(Dist {
        dir,
        oci_layout,
        oci_tag: layout.tag,
        bundles,
    })
}

/// The release builds the bundles are made of: the reader's `.wasm` and, per platform, the
/// refresher cross-built for it.
fn build_artifacts(
    ws: &Workspace,
    platforms: &[Platform],
    shutdown: &Shutdown,
) -> Result<(PathBuf, Vec<(Platform, PathBuf)>)> {
    build::ensure_wasm_target(shutdown)?;
    let wasm = build::reader_wasm(ws, shutdown)?;
    // ring's C code for the static build is compiled with musl-gcc; without it cc-rs fails
    // with a message about `x86_64-linux-musl-gcc` that does not say what to install.
    if platforms.contains(&Platform::Linux) && !runs("musl-gcc") {
        bail!(
            "musl-gcc is not installed (on Debian: `apt-get install -y musl-tools`; .ci/run \
             installs it)"
        );
    }
    let mut binaries = Vec::new();
    for &platform in platforms {
        build::ensure_target(platform.target(), shutdown)?;
        let binary = ws.release_bin(platform.target(), platform.refresher());
        let binary =
            build::release_for_target(ws, platform.target(), "status-refresher", binary, shutdown)?;
        binaries.push((platform, binary));
    }
    Ok((wasm, binaries))
}
