//! The machine and software a run happened on, for the report's header.

use std::process::Command;
use std::time::Duration;

use crate::process::run_bounded;

/// First line of `program args…` (stdout, else stderr), or `absent`.
pub fn version_of(program: &str, args: &[&str]) -> String {
    let mut command = Command::new(program);
    command.args(args);
    match run_bounded(command, Duration::from_secs(10)) {
        Ok(output) => first_line(if output.stdout.is_empty() {
            &output.stderr
        } else {
            &output.stdout
        }),
        Err(_) => "absent".into(),
    }
}

/// The first line of a program's output, trimmed (empty when there is none).
pub fn first_line(output: &[u8]) -> String {
    String::from_utf8_lossy(output)
        .lines()
        .next()
        .unwrap_or("")
        .trim()
        .to_owned()
}

pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|_| "host".into())
}

/// `YYYY-MM-DD` and `YYYY-MM-DDTHH:MM:SSZ`, UTC.
pub fn today() -> (String, String) {
    let stamp = version_of("date", &["-u", "+%Y-%m-%dT%H:%M:%SZ"]);
    let day = stamp.get(..10).unwrap_or("unknown-date").to_owned();
    (day, stamp)
}

/// The rows every report's machine table starts with: when (`stamp`, from [`today`]), and
/// the cores, CPU, memory and kernel it ran on.
pub fn rows(stamp: String) -> Vec<(String, String)> {
    vec![
        ("date (UTC)".into(), stamp),
        ("cores (nproc)".into(), nproc().to_string()),
        ("CPU".into(), cpu_model()),
        ("memory".into(), memory()),
        ("kernel".into(), version_of("uname", &["-sr"])),
    ]
}

/// [`rows`] and the services a run measured against: the MariaDB and Redis versions, and
/// the load average before (`load_before`) and after the run.
pub fn rows_with_services(
    stamp: String,
    mariadb: String,
    redis: String,
    load_before: &str,
) -> Vec<(String, String)> {
    let mut rows = rows(stamp);
    rows.extend([
        ("MariaDB".into(), mariadb),
        ("Redis".into(), format!("Redis {redis}")),
        (
            "load average before / after".into(),
            format!("{load_before} / {}", load_average()),
        ),
    ]);
    rows
}

pub fn nproc() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

pub fn cpu_model() -> String {
    proc_field("/proc/cpuinfo", "model name")
        .map(|l| l.trim_start_matches([' ', '\t', ':']).trim().to_owned())
        .unwrap_or_else(|| "unknown".into())
}

pub fn memory() -> String {
    proc_field("/proc/meminfo", "MemTotal:")
        .and_then(|l| l.split_whitespace().next()?.parse::<u64>().ok())
        .map(|kib| format!("{:.1} GiB", kib as f64 / (1024.0 * 1024.0)))
        .unwrap_or_else(|| "unknown".into())
}

/// The rest of the first line of `file` that starts with `prefix`.
fn proc_field(file: &str, prefix: &str) -> Option<String> {
    let text = std::fs::read_to_string(file).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(prefix))
        .map(str::to_owned)
}

pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}
