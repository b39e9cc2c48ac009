//! A throwaway MariaDB: a fresh data directory and port under `target/`, `root` with an empty
//! password on 127.0.0.1 (like the machines' system MariaDB), tuned for speed over durability
//! (started by `dev_support::servers::MariaDb`).

use std::path::Path;
use std::time::Duration;

use anyhow::Result;
use dev_support::servers;

use super::install::{self, Program};
use super::{Instance, probe, wait_ready};
use crate::endpoint::ServiceUrl;
use crate::shutdown::Shutdown;

const SERVER: Program = Program {
    names: &["mariadbd", "mysqld"],
    package: "mariadb-server",
};

const INSTALL_DB: Program = Program {
    names: &["mariadb-install-db", "mysql_install_db"],
    package: "mariadb-server",
};

/// Initialising the data directory may take this long, and so may starting the server.
const START_TIMEOUT: Duration = Duration::from_secs(120);

pub fn start(dir: &Path, alternative: &str, shutdown: &Shutdown) -> Result<Instance> {
    let server_bin = install::require(&SERVER, alternative, shutdown)?;
    let install_db = install::require(&INSTALL_DB, alternative, shutdown)?;
    println!("xtask: initialising a throwaway MariaDB data directory (takes a few seconds)");
    let mut server = servers::MariaDb::new(dir)
        .bins(server_bin, install_db)
        .timeout(START_TIMEOUT)
        .supervised()
        .start_interruptible(&|| shutdown.requested())?;
    let url = ServiceUrl::parse(&server.url())?;
    wait_ready(&mut server, START_TIMEOUT, shutdown, || probe::mysql(&url))?;
    Ok(Instance { server, url })
}
