//! One steady-state window of a running refresher: what it cost between two snapshots (CPU
//! from `/proc`, bytes through the Redis proxy, probes from its own `/metrics`) and its
//! memory sampled every second in between.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::Context as _;

use super::proxy::{Bytes, Proxy};
use crate::procfs;

/// How often RSS is sampled inside the window.
const RSS_EVERY: Duration = Duration::from_secs(1);

/// The refresher's own counters, from `/metrics`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    pub probes_ok: u64,
    pub probes_failed: u64,
    /// Document writes between reads (here: one per probe).
    pub live_writes_ok: u64,
    pub live_writes_failed: u64,
}

impl Counters {
    fn since(self, before: Counters) -> Counters {
        Counters {
            probes_ok: self.probes_ok.saturating_sub(before.probes_ok),
            probes_failed: self.probes_failed.saturating_sub(before.probes_failed),
            live_writes_ok: self.live_writes_ok.saturating_sub(before.live_writes_ok),
            live_writes_failed: self
                .live_writes_failed
                .saturating_sub(before.live_writes_failed),
        }
    }

    pub fn probes(&self) -> u64 {
        self.probes_ok + self.probes_failed
    }
}

/// What one window measured.
#[derive(Debug, Clone, Default)]
pub struct Window {
    pub seconds: f64,
    /// CPU of the refresher's live threads (schedstat), nanoseconds.
    pub cpu_ns: u64,
    /// `utime + stime` (every thread), clock ticks, and ticks per second.
    pub cpu_ticks: u64,
    pub ticks_per_s: u64,
    pub bytes: Bytes,
    pub counters: Counters,
    /// VmRSS samples: the largest and the mean, KiB.
    pub rss_max_kib: u64,
    pub rss_mean_kib: u64,
    /// VmHWM at the window's end (the peak since start-up), KiB.
    pub hwm_kib: u64,
}

impl Window {
    /// Probe rounds in the window: probes over servers.
    pub fn rounds(&self, servers: usize) -> f64 {
        self.counters.probes() as f64 / servers.max(1) as f64
    }

    /// CPU as a share of one core, percent.
    pub fn core_percent(&self) -> f64 {
        self.cpu_ns as f64 / 1e9 / self.seconds.max(1e-9) * 100.0
    }
}

struct Snapshot {
    at: Instant,
    cpu_ns: u64,
    cpu_ticks: u64,
    bytes: Bytes,
    counters: Counters,
}

async fn snapshot(pid: u32, metrics: SocketAddr, proxy: &Proxy) -> anyhow::Result<Snapshot> {
    let counters = scrape(metrics).await?;
    Ok(Snapshot {
        at: Instant::now(),
        cpu_ns: procfs::cpu_ns(pid).context("no /proc/<pid>/task/*/schedstat")?,
        cpu_ticks: procfs::cpu_ticks(pid).context("no /proc/<pid>/stat")?,
        bytes: proxy.bytes(),
        counters,
    })
}

/// Measures `length` of the refresher `pid` as it runs.
pub async fn measure(
    pid: u32,
    metrics: SocketAddr,
    proxy: &Proxy,
    length: Duration,
) -> anyhow::Result<Window> {
    let before = snapshot(pid, metrics, proxy).await?;
    let mut rss = Vec::new();
    while before.at.elapsed() < length {
        if let Some(kib) = procfs::vm_rss_kib(pid) {
            rss.push(kib);
        }
        let left = length.saturating_sub(before.at.elapsed());
        tokio::time::sleep(left.min(RSS_EVERY)).await;
    }
    let after = snapshot(pid, metrics, proxy).await?;
    let samples = rss.len().max(1) as u64;
    Ok(Window {
        seconds: (after.at - before.at).as_secs_f64(),
        cpu_ns: after.cpu_ns.saturating_sub(before.cpu_ns),
        cpu_ticks: after.cpu_ticks.saturating_sub(before.cpu_ticks),
        ticks_per_s: procfs::clock_ticks(),
        bytes: after.bytes.since(before.bytes),
        counters: after.counters.since(before.counters),
        rss_max_kib: rss.iter().copied().max().unwrap_or(0),
        rss_mean_kib: rss.iter().sum::<u64>() / samples,
        hwm_kib: procfs::vm_hwm_kib(pid).unwrap_or(0),
    })
}

/// The refresher's probe and live-write counters from its `/metrics`.
pub async fn scrape(metrics: SocketAddr) -> anyhow::Result<Counters> {
    let (status, body) =
        tokio::task::spawn_blocking(move || crate::process::get(metrics, "/metrics")).await??;
    anyhow::ensure!(status == 200, "GET /metrics on {metrics}: HTTP {status}");
    Ok(parse_counters(&String::from_utf8_lossy(&body)))
}

fn parse_counters(text: &str) -> Counters {
    let value = |name: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(name)?.trim().parse::<f64>().ok())
            .map_or(0, |v| v as u64)
    };
    Counters {
        probes_ok: value("status_refresher_probes_total{result=\"ok\"}"),
        probes_failed: value("status_refresher_probes_total{result=\"failed\"}"),
        live_writes_ok: value("status_refresher_live_writes_total{result=\"ok\"}"),
        live_writes_failed: value("status_refresher_live_writes_total{result=\"error\"}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_come_from_the_exposition() {
        let text = "# HELP x\nstatus_refresher_probes_total{result=\"ok\"} 3000\n\
                    status_refresher_probes_total{result=\"failed\"} 2\n\
                    status_refresher_live_writes_total{result=\"ok\"} 2990\n";
        let c = parse_counters(text);
        assert_eq!(c.probes(), 3002);
        assert_eq!(c.live_writes_ok, 2990);
        assert_eq!(c.live_writes_failed, 0);
    }
}
