//! What `/proc` says about a server process: CPU time (its whole process tree, so nginx's
//! workers count) and resident memory.

use std::path::Path;

/// Clock ticks per second for `utime`/`stime`. Linux has reported 100 on every mainstream
/// architecture for decades; `getconf` confirms it when available.
pub fn clock_ticks() -> u64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100)
}

/// `(ppid, utime + stime)` of one process, in clock ticks.
fn stat(pid: u32) -> Option<(u32, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may contain spaces and parentheses; fields restart after
    // the last ')'.
    let rest = &text[text.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the name: state(3) ppid(4) ... utime(14) stime(15) -> indexes 0,1,...,11,12.
    let ppid = fields.get(1)?.parse().ok()?;
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((ppid, utime + stime))
}

/// CPU ticks used so far by `pid` and its direct children (nginx master + workers).
pub fn tree_cpu_ticks(pid: u32) -> u64 {
    let mut total = stat(pid).map(|(_, t)| t).unwrap_or(0);
    if let Ok(entries) = std::fs::read_dir("/proc") {
        for entry in entries.flatten() {
            let Some(child) = entry
                .file_name()
                .to_str()
                .and_then(|s| s.parse::<u32>().ok())
            else {
                continue;
            };
            if let Some((ppid, ticks)) = stat(child)
                && ppid == pid
            {
                total += ticks;
            }
        }
    }
    total
}

/// `VmRSS` of `pid` in KiB.
pub fn vm_rss_kib(pid: u32) -> Option<u64> {
    status_field(pid, "VmRSS:")
}

/// `VmHWM` (peak RSS) of `pid` in KiB.
pub fn vm_hwm_kib(pid: u32) -> Option<u64> {
    status_field(pid, "VmHWM:")
}

fn status_field(pid: u32, name: &str) -> Option<u64> {
    let text =
        std::fs::read_to_string(Path::new("/proc").join(pid.to_string()).join("status")).ok()?;
    text.lines()
        .find_map(|line| line.strip_prefix(name))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

/// CPU time of every live thread of `pid` in nanoseconds (the first field of each
/// `/proc/<pid>/task/<tid>/schedstat`). `utime`/`stime` come in 10 ms ticks, too coarse for
/// a process that spends a few milliseconds a minute (the fleet bench's one-server
/// baseline); threads that have exited are not counted, so read this beside the ticks.
pub fn cpu_ns(pid: u32) -> Option<u64> {
    let tasks = std::fs::read_dir(Path::new("/proc").join(pid.to_string()).join("task")).ok()?;
    let mut total = 0;
    for task in tasks.flatten() {
        let Ok(text) = std::fs::read_to_string(task.path().join("schedstat")) else {
            continue;
        };
        total += text
            .split_whitespace()
            .next()
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or(0);
    }
    Some(total)
}

/// `utime + stime` of `pid` alone (every thread, living or exited), in clock ticks.
pub fn cpu_ticks(pid: u32) -> Option<u64> {
    stat(pid).map(|(_, ticks)| ticks)
}
