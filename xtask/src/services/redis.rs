//! A throwaway Redis: its own port and directory under `target/`, nothing persisted
//! (started by `dev_support::servers::Redis`).

use std::path::Path;
use std::time::Duration;

use anyhow::Result;
use dev_support::servers::Throwaway;

use super::install::{self, Program};
use super::{Instance, probe, start_throwaway};
use crate::shutdown::Shutdown;

const PROGRAM: Program = Program {
    names: &["redis-server"],
    package: "redis-server",
};

const START_TIMEOUT: Duration = Duration::from_secs(20);

pub fn start(dir: &Path, alternative: &str, shutdown: &Shutdown) -> Result<Instance> {
    let bin = install::require(&PROGRAM, alternative, shutdown)?;
    let spec = Throwaway::redis(dir).bin(bin);
    start_throwaway(spec, START_TIMEOUT, shutdown, probe::redis)
}
