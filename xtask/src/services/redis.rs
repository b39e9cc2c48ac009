//! A throwaway Redis: its own port and directory under `target/`, nothing persisted
//! (started by `dev_support::servers::Redis`).

use std::path::Path;
use std::time::Duration;

use anyhow::Result;
use dev_support::servers;

use super::install::{self, Program};
use super::{Instance, probe, wait_ready};
use crate::endpoint::ServiceUrl;
use crate::shutdown::Shutdown;

const PROGRAM: Program = Program {
    names: &["redis-server"],
    package: "redis-server",
};

const START_TIMEOUT: Duration = Duration::from_secs(20);

pub fn start(dir: &Path, alternative: &str, shutdown: &Shutdown) -> Result<Instance> {
    let bin = install::require(&PROGRAM, alternative, shutdown)?;
    let mut server = servers::Redis::new(dir)
        .bin(bin)
        .timeout(START_TIMEOUT)
        .supervised()
        .start_interruptible(&|| shutdown.requested())?;
    let url = ServiceUrl::parse(&server.url())?;
    wait_ready(&mut server, START_TIMEOUT, shutdown, || probe::redis(&url))?;
    Ok(Instance { server, url })
}
