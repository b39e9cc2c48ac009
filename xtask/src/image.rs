//! `cargo xtask image`: the refresher's container image, exactly as
//! `deploy/container/Containerfile` describes it, built offline.
//!
//! The image is `FROM scratch`, so nothing is pulled: the static `x86_64-unknown-linux-musl`
//! release binary and the build machine's CA bundle are copied into a two-file build context
//! under `target/xtask/image/`, and podman builds the Containerfile from there. The same
//! function builds the image for `cargo xtask test`, which then runs it against real MariaDB
//! and Redis (`tests/tests/deploy_container.rs`).
//!
//! podman reads its settings from a `containers.conf` this module writes under `target/` and
//! names in `CONTAINERS_CONF` — never from hand-edited files on the machine — so a fresh clone
//! builds and runs the image the same way everywhere. It holds two settings that sandboxed
//! machines (ours included) need and that are harmless elsewhere: `runc` as the OCI runtime
//! (crun fails in our sandbox) and `default_ulimits = []` (setting podman's default
//! `RLIMIT_NOFILE` is refused by an unprivileged sandbox, and the refresher needs a handful of
//! descriptors).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use anyhow::{Context, Result, bail};

use crate::build;
use crate::child::run_step;
use crate::shutdown::Shutdown;
use crate::workspace::Workspace;

/// The tag operators and the tests use for a local build.
pub const IMAGE_TAG: &str = "localhost/status-refresher:dev";

/// The target of the static binary: musl links statically by default.
pub const MUSL_TARGET: &str = "x86_64-unknown-linux-musl";

/// Debian's CA bundle (package `ca-certificates`), copied into the image for TLS.
const CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

/// The podman settings every podman call of ours uses (see the module doc).
const CONTAINERS_CONF: &str = "\
# Written by `cargo xtask image` (xtask/src/image.rs); podman reads it through CONTAINERS_CONF.
# runc: crun fails in sandboxed build machines. default_ulimits = []: podman's default nofile
# limit cannot be set there, and the refresher needs only a few descriptors.
[containers]
default_ulimits = []

[engine]
runtime = \"runc\"
";

#[derive(Debug, clap::Args)]
pub struct ImageArgs {
    /// Tag of the built image.
    #[arg(long, default_value = IMAGE_TAG)]
    tag: String,
}

/// A built image and the podman configuration it was built (and must be run) with.
#[derive(Debug, Clone)]
pub struct Image {
    pub tag: String,
    pub containers_conf: PathBuf,
}

impl Image {
    /// A `podman` command with our configuration.
    pub fn podman(&self) -> Command {
        podman(&self.containers_conf)
    }
}

pub fn run(args: ImageArgs) -> Result<ExitCode> {
    let shutdown = Shutdown::install()?;
    let ws = Workspace::locate();
    if let Some(reason) = podman_missing() {
        bail!("{reason}");
    }
    let image = build(&ws, &args.tag, &shutdown)?;
    let size = image_size(&image)?;
    println!(
        "\nxtask: built {} ({:.1} MiB). Run it once against local services with:\n\n    \
         CONTAINERS_CONF={} podman run --rm --network host \\\n        \
         -e DATABASE_URL=mysql://user:password@127.0.0.1:3306/game \\\n        \
         -e REDIS_URL=redis://127.0.0.1:6379/0 {} --once\n",
        image.tag,
        size as f64 / (1024.0 * 1024.0),
        image.containers_conf.display(),
        image.tag,
    );
    Ok(ExitCode::SUCCESS)
}

/// Why podman cannot be used here, if it cannot (`None` when `podman --version` runs).
pub fn podman_missing() -> Option<String> {
    let ok = Command::new("podman")
        .arg("--version")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    (!ok).then(|| {
        "podman is not installed (on Debian: `apt-get install -y podman runc`; .ci/run installs \
         them)"
            .to_owned()
    })
}

/// Builds the static binary and the image tagged `tag`.
pub fn build(ws: &Workspace, tag: &str, shutdown: &Shutdown) -> Result<Image> {
    build::ensure_target(MUSL_TARGET, shutdown)?;
    let binary = static_refresher(ws, shutdown)?;

    let dir = ws.xtask_dir().join("image");
    let context = dir.join("context");
    if context.exists() {
        fs::remove_dir_all(&context)
            .with_context(|| format!("removing the old build context {}", context.display()))?;
    }
    fs::create_dir_all(&context).with_context(|| format!("creating {}", context.display()))?;
    copy(&binary, &context.join("status-refresher"))?;
    if !Path::new(CA_BUNDLE).is_file() {
        bail!(
            "{CA_BUNDLE} is missing: the image ships the build machine's CA bundle for TLS \
             (on Debian: `apt-get install -y ca-certificates`)"
        );
    }
    copy(Path::new(CA_BUNDLE), &context.join("ca-certificates.crt"))?;

    let containers_conf = dir.join("containers.conf");
    fs::write(&containers_conf, CONTAINERS_CONF)
        .with_context(|| format!("writing {}", containers_conf.display()))?;

    let containerfile = ws.root().join("deploy/container/Containerfile");
    let mut cmd = podman(&containers_conf);
    cmd.arg("build")
        .arg("--file")
        .arg(&containerfile)
        .args(["--tag", tag])
        .arg(&context);
    run_step(&mut cmd, shutdown)?;
    Ok(Image {
        tag: tag.to_owned(),
        containers_conf,
    })
}

/// `cargo build --release --target x86_64-unknown-linux-musl -p status-refresher`: the
/// shipped profile, statically linked.
fn static_refresher(ws: &Workspace, shutdown: &Shutdown) -> Result<PathBuf> {
    let binary = ws.release_bin(MUSL_TARGET, "status-refresher");
    build::release_for_target(ws, MUSL_TARGET, "status-refresher", binary, shutdown)
}

fn copy(from: &Path, to: &Path) -> Result<()> {
    fs::copy(from, to)
        .map(drop)
        .with_context(|| format!("copying {} to {}", from.display(), to.display()))
}

fn podman(containers_conf: &Path) -> Command {
    let mut cmd = Command::new("podman");
    cmd.env("CONTAINERS_CONF", containers_conf)
        .stdin(Stdio::null());
    cmd
}

/// The image's size in bytes, as podman reports it.
pub fn image_size(image: &Image) -> Result<u64> {
    let out = image
        .podman()
        .args(["image", "inspect", "--format", "{{.Size}}", &image.tag])
        .output()
        .context("running `podman image inspect`")?;
    if !out.status.success() {
        bail!(
            "`podman image inspect {}` failed: {}",
            image.tag,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let text = String::from_utf8_lossy(&out.stdout);
    text.trim()
        .parse()
        .with_context(|| format!("podman reported the size {:?}", text.trim()))
}
