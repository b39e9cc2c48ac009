//! `deploy/systemd/`: each unit (the refresher's, and the reader's `spin up` under its
//! watchdog) passes `systemd-analyze verify`, its `systemd-analyze security` exposure level is
//! at most 2.0 and is a number docs/deploy.md states, and the env-file example sets only
//! variables docs/configuration.md documents.
//!
//! `verify` needs the unit's `ExecStart` to exist and the units it orders itself after, so it
//! runs against a throwaway root (`--root`) holding the real refresher binary at
//! `/usr/local/bin/status-refresher`, the real `reader-watchdog` script, an executable
//! stand-in for `spin`, a copy of this machine's unit directory and the unit:
//! nothing is installed on the machine. `verify` reports problems such as unknown keys as
//! warnings and still exits 0, so any output at all fails the check — and a deliberately
//! misspelt copy proves that such output is caught.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use integration_tests::binaries::{refresher_bin, workspace_root};
use integration_tests::docs;

/// The units, each checked on its own.
const UNITS: [&str; 2] = ["status-refresher.service", "status-reader.service"];

/// The exposure level the issue allows ("OK" or better).
const MAX_EXPOSURE: f64 = 2.0;

fn unit_path(unit: &str) -> PathBuf {
    workspace_root().join("deploy/systemd").join(unit)
}

/// `true` when `systemd-analyze` runs here; otherwise prints why the test skips.
fn systemd_analyze_available() -> bool {
    let ok = Command::new("systemd-analyze")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!(
            "skipped: systemd-analyze is not installed (Debian package `systemd`; .ci/run \
             installs it)"
        );
    }
    ok
}

/// The machine's unit directory (`/usr/lib/systemd/system` or, on older layouts,
/// `/lib/systemd/system`).
fn system_unit_dir() -> &'static Path {
    ["/usr/lib/systemd/system", "/lib/systemd/system"]
        .into_iter()
        .map(Path::new)
        .find(|p| p.join("sysinit.target").exists())
        .expect("no systemd unit directory with sysinit.target")
}

/// A throwaway root for `systemd-analyze verify --root`, removed on drop.
struct VerifyRoot(PathBuf, &'static str);

impl VerifyRoot {
    fn new(unit: &'static str, unit_text: &str) -> VerifyRoot {
        let root = std::env::temp_dir().join(format!("ss_t_systemd_{:016x}", fastrand::u64(..)));
        let units = root.join("usr/lib/systemd");
        fs::create_dir_all(&units).expect("create the root");
        let copied = Command::new("cp")
            .arg("-a")
            .arg(system_unit_dir())
            .arg(units.join("system"))
            .status()
            .expect("run cp");
        assert!(copied.success(), "copying the unit directory failed");
        let bin = root.join("usr/local/bin");
        fs::create_dir_all(&bin).expect("create usr/local/bin");
        fs::copy(refresher_bin(), bin.join("status-refresher")).expect("copy the refresher");
        // Any executable stands in for spin: verify checks that ExecStart's can run.
        fs::copy(refresher_bin(), bin.join("spin")).expect("copy a stand-in for spin");
        let lib = root.join("usr/local/lib/server-status");
        fs::create_dir_all(&lib).expect("create usr/local/lib/server-status");
        let watchdog = workspace_root().join("deploy/systemd/reader-watchdog");
        fs::copy(watchdog, lib.join("reader-watchdog")).expect("copy reader-watchdog");
        let etc = root.join("etc/systemd/system");
        fs::create_dir_all(&etc).expect("create etc/systemd/system");
        fs::write(etc.join(unit), unit_text).expect("write the unit");
        VerifyRoot(root, unit)
    }

    /// `systemd-analyze verify`: (exit code, everything it printed).
    fn verify(&self) -> (Option<i32>, String) {
        let out = Command::new("systemd-analyze")
            .arg("verify")
            .arg(format!("--root={}", self.0.display()))
            .arg(self.1)
            .stdin(Stdio::null())
            .output()
            .expect("run systemd-analyze verify");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.code(), text)
    }
}

impl Drop for VerifyRoot {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

#[test]
fn unit_passes_systemd_analyze_verify_with_no_warnings() {
    if !systemd_analyze_available() {
        return;
    }
    for name in UNITS {
        let unit = fs::read_to_string(unit_path(name)).expect("read the unit");
        let (code, output) = VerifyRoot::new(name, &unit).verify();
        assert_eq!(
            code,
            Some(0),
            "{name}: systemd-analyze verify failed:\n{output}"
        );
        assert_eq!(output.trim(), "", "{name}: systemd-analyze verify warned");

        // The same check on a copy with one key misspelt must complain, or it proves nothing.
        let broken = unit.replacen("Restart=always", "Restrat=always", 1);
        assert_ne!(broken, unit, "{name} has no Restart=always line");
        let (_, output) = VerifyRoot::new(name, &broken).verify();
        assert!(
            output.contains("Restrat"),
            "{name}: verify did not notice an unknown key: {output:?}"
        );
    }
}

#[test]
fn unit_security_exposure_is_at_most_two_and_is_the_number_in_the_docs() {
    if !systemd_analyze_available() {
        return;
    }
    for unit in UNITS {
        let level = exposure(unit);
        let score: f64 = level.parse().expect("a numeric exposure level");
        eprintln!("systemd-analyze security: {unit} exposure {level}");
        assert!(
            score <= MAX_EXPOSURE,
            "{unit}: exposure {score} is over {MAX_EXPOSURE}"
        );
        let page = docs::read(docs::DEPLOY);
        let stated = format!("exposure level is **{level}**");
        assert!(
            page.contains(&stated),
            "{} must state {unit}'s measured score as `{stated}`",
            docs::DEPLOY
        );
    }
}

/// `systemd-analyze security`'s overall exposure level for `unit`, as printed.
fn exposure(unit: &str) -> String {
    let out = Command::new("systemd-analyze")
        .args(["security", "--offline=true", "--no-pager"])
        .arg(unit_path(unit))
        .stdin(Stdio::null())
        .output()
        .expect("run systemd-analyze security");
    let text = String::from_utf8_lossy(&out.stdout);
    let mark = format!("Overall exposure level for {unit}: ");
    text.lines()
        .find_map(|l| l.split_once(&mark).map(|(_, rest)| rest))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| {
            panic!(
                "no exposure level in the output:\n{text}{}",
                String::from_utf8_lossy(&out.stderr)
            )
        })
        .to_owned()
}

#[test]
fn env_example_sets_only_documented_refresher_variables() {
    let example = fs::read_to_string(workspace_root().join("deploy/systemd/refresher.env.example"))
        .expect("read refresher.env.example");
    let page = docs::read(docs::CONFIGURATION);
    let names: Vec<&str> = example
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| l.split_once('=').map_or(l, |(name, _)| name))
        .collect();
    assert!(names.contains(&"DATABASE_URL") && names.contains(&"REDIS_URL"));
    for name in names {
        assert!(
            page.contains(&format!("| `{name}` |")),
            "{name} is set in refresher.env.example but not in docs/configuration.md's refresher table"
        );
    }
}
