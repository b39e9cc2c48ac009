//! A throwaway Redis: its own port and directory under `target/`, nothing persisted.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result};

use super::install::{self, Program};
use super::{Instance, free_port, probe, wait_ready};
use crate::child::{Managed, Output};
use crate::endpoint::ServiceUrl;
use crate::shutdown::Shutdown;

const PROGRAM: Program = Program {
    names: &["redis-server"],
    package: "redis-server",
};

const START_TIMEOUT: Duration = Duration::from_secs(20);

pub fn start(dir: &Path, alternative: &str, shutdown: &Shutdown) -> Result<Instance> {
    let bin = install::require(&PROGRAM, alternative, shutdown)?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let port = free_port()?;
    let log = dir.join("redis.log");
    let mut cmd = Command::new(&bin);
    cmd.arg("--port")
        .arg(port.to_string())
        .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
        .args(["--daemonize", "no", "--protected-mode", "yes", "--dir"])
        .arg(dir);
    let mut process = Managed::spawn("redis", &mut cmd, Output::File(&log))?;
    let url = ServiceUrl::parse(&format!("redis://127.0.0.1:{port}"))?;
    wait_ready(&mut process, &log, START_TIMEOUT, shutdown, || {
        probe::redis(&url)
    })?;
    Ok(Instance { process, url })
}
