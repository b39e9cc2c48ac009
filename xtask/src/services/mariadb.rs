//! A throwaway MariaDB: a fresh data directory and port under `target/`, `root` with an empty
//! password on 127.0.0.1 (like the machines' system MariaDB), tuned for speed over durability
//! (started by `dev_support::servers::MariaDb`).

use std::path::Path;
use std::time::Duration;

use anyhow::Result;
use dev_support::servers::Throwaway;

use super::install::{self, Program};
use super::{Instance, probe, start_throwaway};
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
    let spec = Throwaway::mariadb(dir)
        .bin(server_bin)
        .install_db(install_db);
    start_throwaway(spec, START_TIMEOUT, shutdown, probe::mysql)
}
