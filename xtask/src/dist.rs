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
//! (dist/locked_app.rs): `skopeo copy oci:…` or `oras cp --from-oci-layout …` pushes it where
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
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};

use crate::build;
use crate::image::MUSL_TARGET;
use crate::shutdown::Shutdown;
use crate::workspace::Workspace;

mod locked_app;
mod oci;

/// The Windows target: GNU ABI, cross-linked with mingw-w64 on Debian.
pub const WINDOWS_TARGET: &str = "x86_64-pc-windows-gnu";
/// The mingw-w64 C compiler and linker the Windows target needs (ring's C code, the link).
pub const MINGW_GCC: &str = "x86_64-w64-mingw32-gcc";

const INSTALL_TEMPLATE: &str = include_str!("dist/INSTALL.md");

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
    let version = package_version(&ws.root().join("refresher/Cargo.toml"))?;
    let mtime = commit_time(ws.root()).unwrap_or(0);

    let dir = ws.dist_dir();
    if dir.exists() {
        fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
    }
    fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;

    let oci_layout = dir.join(format!("server-status-{version}-reader-oci"));
    let layout = write_oci_layout(ws, &wasm, &version, mtime, &oci_layout)?;

    let mut bundles = Vec::new();
    let mut sums = String::new();
    for (platform, binary) in binaries {
        let name = format!("server-status-{version}-{}", platform.name());
        let folder = dir.join(&name);
        lay_out(ws, platform, &binary, &wasm, &version, &folder)?;
        copy_tree(&oci_layout, &folder.join("reader/oci"))?;
        let archive = dir.join(format!("{name}.{}", platform.archive_ext()));
        match platform {
            Platform::Linux => write_tar_gz(&folder, &name, &archive, mtime)?,
            Platform::Windows => write_zip(&folder, &name, &archive, mtime)?,
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

/// The reader's OCI image layout in `dir`, from the bundle's spin.toml and `wasm`, tagged
/// with `version` and stamped with the commit's time.
fn write_oci_layout(
    ws: &Workspace,
    wasm: &Path,
    version: &str,
    mtime: u64,
    dir: &Path,
) -> Result<oci::Layout> {
    let manifest = fs::read_to_string(ws.spin_manifest()).context("reading spin.toml")?;
    let bundled = bundled_manifest(&manifest)?;
    let bytes = fs::read(wasm).with_context(|| format!("reading {}", wasm.display()))?;
    let layout = oci::write(
        dir,
        &bundled,
        BUNDLED_SOURCE,
        &bytes,
        version,
        &rfc3339(mtime),
    )
    .context("writing the reader's OCI image layout")?;
    println!(
        "xtask: the reader as an OCI image layout: {} (manifest {})",
        dir.display(),
        layout.manifest_digest
    );
    Ok(layout)
}

/// Fills `folder` with one platform's bundle.
fn lay_out(
    ws: &Workspace,
    platform: Platform,
    binary: &Path,
    wasm: &Path,
    version: &str,
    folder: &Path,
) -> Result<()> {
    fs::create_dir_all(folder.join("reader"))
        .with_context(|| format!("creating {}", folder.display()))?;
    copy(binary, &folder.join(platform.refresher()))?;
    copy(wasm, &folder.join("reader").join(BUNDLED_SOURCE))?;
    let manifest = fs::read_to_string(ws.spin_manifest()).context("reading spin.toml")?;
    fs::write(
        folder.join("reader/spin.toml"),
        bundled_manifest(&manifest)?,
    )
    .context("writing the bundle's spin.toml")?;
    copy(
        &ws.root().join("deploy/spin/runtime-config.toml"),
        &folder.join("reader/runtime-config.toml"),
    )?;
    copy_tree(&ws.root().join("deploy"), &folder.join("deploy"))?;
    copy(
        &ws.root().join("CHANGELOG.md"),
        &folder.join("CHANGELOG.md"),
    )?;
    fs::write(folder.join("INSTALL.md"), install_md(platform, version))
        .context("writing INSTALL.md")?;
    Ok(())
}

/// The component's `source` in the bundle's spin.toml: the `.wasm` beside it.
const BUNDLED_SOURCE: &str = "status_reader.wasm";

/// The repository's `spin.toml` for the bundle: the component's `source` is the `.wasm`
/// beside it, and the build table (a cargo command for a checkout) is left out.
pub fn bundled_manifest(manifest: &str) -> Result<String> {
    const SOURCE: &str = "source = \"target/wasm32-wasip2/release/status_reader.wasm\"";
    if manifest.matches(SOURCE).count() != 1 {
        bail!("spin.toml no longer has exactly one `{SOURCE}` line; update xtask/src/dist.rs");
    }
    let mut out = String::from(
        "# The reader as bundled by `cargo xtask dist`: its source is status_reader.wasm beside\n\
         # this file. Run it with `spin up` in this folder (see INSTALL.md).\n",
    );
    let mut in_build = false;
    for line in manifest.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with('[') {
            in_build = trimmed.starts_with("[component.reader.build]");
        }
        if in_build {
            continue;
        }
        if trimmed == SOURCE {
            out.push_str(&format!("source = \"{BUNDLED_SOURCE}\"\n"));
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    Ok(out)
}

fn install_md(platform: Platform, version: &str) -> String {
    let start = match platform {
        Platform::Linux => "<!-- linux -->",
        Platform::Windows => "<!-- windows -->",
    };
    // Keep this platform's section, drop the other's and every comment.
    let mut out = String::new();
    let mut keep = true;
    let mut in_comment = false;
    for line in INSTALL_TEMPLATE.lines() {
        let trimmed = line.trim();
        match trimmed {
            "<!-- linux -->" | "<!-- windows -->" => keep = trimmed == start,
            "<!-- /linux -->" | "<!-- /windows -->" => keep = true,
            _ => {}
        }
        if in_comment || trimmed.starts_with("<!--") {
            in_comment = !trimmed.ends_with("-->");
            continue;
        }
        if keep {
            out.push_str(line);
            out.push('\n');
        }
    }
    out.replace("{version}", version)
        .replace("{platform}", platform.name())
}

/// `version = "..."` of a package manifest.
fn package_version(manifest: &Path) -> Result<String> {
    let text =
        fs::read_to_string(manifest).with_context(|| format!("reading {}", manifest.display()))?;
    text.lines()
        .find_map(|l| {
            l.strip_prefix("version = \"")
                .and_then(|v| v.strip_suffix('"'))
        })
        .map(str::to_owned)
        .with_context(|| format!("no version in {}", manifest.display()))
}

/// The commit's time (unix seconds), the archives' entry time; `None` without git.
fn commit_time(root: &Path) -> Option<u64> {
    let out = Command::new("git")
        .args(["log", "-1", "--format=%ct"])
        .current_dir(root)
        .stdin(Stdio::null())
        .output()
        .ok()?;
    String::from_utf8_lossy(&out.stdout).trim().parse().ok()
}

fn copy(from: &Path, to: &Path) -> Result<()> {
    fs::copy(from, to)
        .map(drop)
        .with_context(|| format!("copying {} to {}", from.display(), to.display()))
}

fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    for file in files_under(from)? {
        let rel = file.strip_prefix(from).context("a file outside its tree")?;
        let dest = to.join(rel);
        if let Some(parent) = dest.parent() {
            fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        }
        copy(&file, &dest)?;
    }
    Ok(())
}

/// Every file under `dir`, sorted.
fn files_under(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(dir) = pending.pop() {
        for entry in fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))? {
            let path = entry?.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}

/// Unix mode of a bundled file: the refresher is executable, the rest is not.
fn mode(rel: &Path) -> u32 {
    if rel == Path::new("status-refresher") || rel.extension().is_some_and(|e| e == "sh") {
        0o755
    } else {
        0o644
    }
}

/// `<name>/...` for every file of `folder`, as a gzipped tar.
fn write_tar_gz(folder: &Path, name: &str, archive: &Path, mtime: u64) -> Result<()> {
    let file =
        fs::File::create(archive).with_context(|| format!("creating {}", archive.display()))?;
    let gz = flate2::write::GzEncoder::new(file, flate2::Compression::best());
    let mut tar = tar::Builder::new(gz);
    for path in files_under(folder)? {
        let rel = path
            .strip_prefix(folder)
            .context("a file outside its folder")?;
        let data = fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(mode(rel));
        header.set_mtime(mtime);
        header.set_uid(0);
        header.set_gid(0);
        header.set_entry_type(tar::EntryType::Regular);
        tar.append_data(&mut header, Path::new(name).join(rel), data.as_slice())
            .with_context(|| format!("adding {} to {}", rel.display(), archive.display()))?;
    }
    let gz = tar.into_inner().context("finishing the tar")?;
    gz.finish()
        .and_then(|mut f| f.flush())
        .with_context(|| format!("writing {}", archive.display()))
}

/// `<name>/...` for every file of `folder`, as a deflated zip.
fn write_zip(folder: &Path, name: &str, archive: &Path, mtime: u64) -> Result<()> {
    use zip::write::SimpleFileOptions;
    let file =
        fs::File::create(archive).with_context(|| format!("creating {}", archive.display()))?;
    let mut zip = zip::ZipWriter::new(file);
    let time = zip_time(mtime);
    for path in files_under(folder)? {
        let rel = path
            .strip_prefix(folder)
            .context("a file outside its folder")?;
        let data = fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        let options = SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .compression_level(Some(9))
            .last_modified_time(time)
            .unix_permissions(mode(rel));
        // Zip paths use `/` on every platform.
        let entry = format!("{name}/{}", rel.to_string_lossy().replace('\\', "/"));
        zip.start_file(entry, options)
            .with_context(|| format!("adding {} to {}", rel.display(), archive.display()))?;
        zip.write_all(&data)?;
    }
    zip.finish()
        .map(drop)
        .with_context(|| format!("writing {}", archive.display()))
}

/// UTC civil date and time of unix seconds: (year, month, day, hour, minute, second).
fn civil(unix: u64) -> (u16, u8, u8, u8, u8, u8) {
    let days = unix / 86_400;
    let secs = unix % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    let year = (yoe + era * 400 + i64::from(month <= 2)) as u16;
    (
        year,
        month,
        day,
        (secs / 3_600) as u8,
        (secs % 3_600 / 60) as u8,
        (secs % 60) as u8,
    )
}

/// A zip (MS-DOS) timestamp for unix seconds; the format's earliest, 1980-01-01, for anything
/// before or unreadable.
fn zip_time(unix: u64) -> zip::DateTime {
    let (year, month, day, hour, minute, second) = civil(unix);
    zip::DateTime::from_date_and_time(year, month, day, hour, minute, second).unwrap_or_default()
}

/// Unix seconds as RFC 3339 in UTC (`2026-12-07T02:41:42Z`), for the OCI `created` annotation.
fn rfc3339(unix: u64) -> String {
    let (year, month, day, hour, minute, second) = civil(unix);
    format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}Z")
}

pub fn sha256_file(path: &Path) -> Result<String> {
    let data = fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(Sha256::digest(&data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_manifest_points_at_the_wasm_beside_it_and_has_no_build_table() {
        let ws = Workspace::locate();
        let manifest = fs::read_to_string(ws.spin_manifest()).unwrap();
        let bundled = bundled_manifest(&manifest).unwrap();
        assert!(bundled.contains("\nsource = \"status_reader.wasm\"\n"));
        assert!(!bundled.contains("target/wasm32-wasip2"));
        assert!(!bundled.contains("[component.reader.build]"));
        assert!(!bundled.contains("cargo build"));
        // The tables before the build table survive.
        assert!(bundled.contains("[component.reader.variables]"));
    }

    #[test]
    fn each_install_md_keeps_its_own_platform_section_only() {
        let linux = install_md(Platform::Linux, "1.2.3");
        let windows = install_md(Platform::Windows, "1.2.3");
        assert!(linux.contains("./status-refresher") && !linux.contains("status-refresher.exe"));
        assert!(windows.contains("status-refresher.exe' service install --config"));
        assert!(!windows.contains("./status-refresher --once"));
        assert!(linux.contains("1.2.3") && !linux.contains("{version}"));
        assert!(!linux.contains("<!--"));
    }

    #[test]
    fn zip_times_are_civil_dates() {
        // 2026-12-07 02:41:42 UTC
        let t = zip_time(1_796_611_302);
        assert_eq!(
            (
                t.year(),
                t.month(),
                t.day(),
                t.hour(),
                t.minute(),
                t.second()
            ),
            (2026, 12, 7, 2, 41, 42)
        );
        assert_eq!(rfc3339(1_796_611_302), "2026-12-07T02:41:42Z");
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
    }
}
