//! The load generator: `oha` (preferred) or `wrk`, always in a separate process, keep-alive.
//!
//! Both report latency percentiles from every request of the run (no sampling), so p99.9 is
//! meaningful at the request counts a 10 s run produces.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::Value;

use crate::process::run_bounded;

/// Which load generator drives the runs.
#[derive(Debug, Clone)]
pub enum Generator {
    Oha(PathBuf),
    /// `wrk` plus the Lua script that prints its summary as JSON.
    Wrk(PathBuf, PathBuf),
}

/// One load run's result; latencies in milliseconds.
#[derive(Debug, Clone, Default)]
pub struct LoadResult {
    pub requests: u64,
    pub rps: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    /// Transport errors plus non-2xx/304 answers.
    pub errors: u64,
    pub seconds: f64,
}

/// Looks for `oha` (PATH, then ~/.cargo/bin), else `wrk`; writes wrk's script into `dir`.
pub fn find(dir: &Path) -> anyhow::Result<Generator> {
    if let Some(oha) = which("oha") {
        return Ok(Generator::Oha(oha));
    }
    if let Some(wrk) = which("wrk") {
        let script = dir.join("wrk-report.lua");
        std::fs::write(&script, WRK_SCRIPT)?;
        return Ok(Generator::Wrk(wrk, script));
    }
    bail!(
        "no load generator: `cargo install oha --locked` (or `apt-get install wrk`) and run again"
    )
}

/// Finds an executable on PATH or in ~/.cargo/bin.
pub fn which(name: &str) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    if let Some(home) = std::env::var_os("HOME") {
        dirs.push(PathBuf::from(home).join(".cargo/bin"));
    }
    dirs.into_iter().map(|d| d.join(name)).find(|p| p.is_file())
}

impl Generator {
    pub fn name(&self) -> &'static str {
        match self {
            Generator::Oha(_) => "oha",
            Generator::Wrk(..) => "wrk",
        }
    }

    /// `--version` of the generator, first line.
    pub fn version(&self) -> String {
        let (bin, arg) = match self {
            Generator::Oha(p) => (p, "--version"),
            Generator::Wrk(p, _) => (p, "-v"),
        };
        let mut command = Command::new(bin);
        command.arg(arg);
        run_bounded(command, Duration::from_secs(5))
            .map(|o| crate::machine::first_line(&[o.stdout, o.stderr].concat()))
            .unwrap_or_else(|_| "unknown".into())
    }

    /// Drives `url` at `concurrency` connections for `duration`.
    pub fn run(
        &self,
        url: &str,
        concurrency: u32,
        duration: Duration,
    ) -> anyhow::Result<LoadResult> {
        let seconds = duration.as_secs().max(1);
        let bound = duration + Duration::from_secs(30);
        match self {
            Generator::Oha(bin) => {
                let mut command = Command::new(bin);
                command
                    .args(["--no-tui", "--output-format", "json", "-w"])
                    .args(["-c", &concurrency.to_string()])
                    .args(["-z", &format!("{seconds}s")])
                    .args(["-t", "5s"])
                    .arg(url);
                let output = run_bounded(command, bound)?;
                if !output.status.success() {
                    bail!("oha failed: {}", String::from_utf8_lossy(&output.stderr));
                }
                parse_oha(&output.stdout)
            }
            Generator::Wrk(bin, script) => {
                let threads = concurrency.clamp(1, 2);
                let mut command = Command::new(bin);
                command
                    .args(["-t", &threads.to_string()])
                    .args(["-c", &concurrency.to_string()])
                    .args(["-d", &format!("{seconds}s")])
                    .args(["--timeout", "5s", "-s"])
                    .arg(script)
                    .arg(url);
                let output = run_bounded(command, bound)?;
                if !output.status.success() {
                    bail!("wrk failed: {}", String::from_utf8_lossy(&output.stderr));
                }
                parse_wrk(&output.stdout)
            }
        }
    }
}

fn parse_oha(stdout: &[u8]) -> anyhow::Result<LoadResult> {
    let json: Value = serde_json::from_slice(stdout).context("oha's JSON output")?;
    let seconds = json["summary"]["total"].as_f64().unwrap_or(0.0);
    let percentile = |key: &str| json["latencyPercentiles"][key].as_f64().unwrap_or(f64::NAN) * 1e3;
    let mut requests = 0u64;
    let mut errors = 0u64;
    if let Some(codes) = json["statusCodeDistribution"].as_object() {
        for (code, count) in codes {
            let count = count.as_u64().unwrap_or(0);
            requests += count;
            if !(code.starts_with('2') || code == "304") {
                errors += count;
            }
        }
    }
    if let Some(kinds) = json["errorDistribution"].as_object() {
        for count in kinds.values() {
            let count = count.as_u64().unwrap_or(0);
            requests += count;
            errors += count;
        }
    }
    Ok(LoadResult {
        requests,
        rps: json["summary"]["requestsPerSec"].as_f64().unwrap_or(0.0),
        p50_ms: percentile("p50"),
        p99_ms: percentile("p99"),
        p999_ms: percentile("p99.9"),
        errors,
        seconds,
    })
}

fn parse_wrk(stdout: &[u8]) -> anyhow::Result<LoadResult> {
    let text = String::from_utf8_lossy(stdout);
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("BENCHJSON "))
        .context("wrk printed no BENCHJSON line")?;
    let json: Value = serde_json::from_str(line)?;
    let get = |k: &str| json[k].as_f64().unwrap_or(0.0);
    let seconds = get("duration_us") / 1e6;
    let requests = get("requests");
    Ok(LoadResult {
        requests: requests as u64,
        rps: if seconds > 0.0 {
            requests / seconds
        } else {
            0.0
        },
        p50_ms: get("p50_us") / 1e3,
        p99_ms: get("p99_us") / 1e3,
        p999_ms: get("p999_us") / 1e3,
        errors: get("errors") as u64,
        seconds,
    })
}

/// wrk's `done` hook: the summary as one JSON line (microseconds).
const WRK_SCRIPT: &str = r#"
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCHJSON {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"p999_us":%d,"errors":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency:percentile(99.9), e.connect + e.read + e.write + e.status + e.timeout))
end
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_oha_json() {
        let out = br#"{"summary":{"total":2.0,"requestsPerSec":1500.5},
            "latencyPercentiles":{"p50":0.001,"p99":0.004,"p99.9":0.0125},
            "statusCodeDistribution":{"200":2990,"503":10},
            "errorDistribution":{"connection closed":1}}"#;
        let r = parse_oha(out).unwrap();
        assert_eq!((r.requests, r.errors), (3001, 11));
        assert_eq!(r.rps, 1500.5);
        assert!((r.p999_ms - 12.5).abs() < 1e-9);
    }

    #[test]
    fn parses_wrk_line() {
        let out = b"Running 2s test\nBENCHJSON {\"requests\":1000,\"duration_us\":2000000,\"p50_us\":900,\"p99_us\":2000,\"p999_us\":5000,\"errors\":3}\n";
        let r = parse_wrk(out).unwrap();
        assert_eq!(r.rps, 500.0);
        assert_eq!(r.p999_ms, 5.0);
        assert_eq!(r.errors, 3);
    }
}
