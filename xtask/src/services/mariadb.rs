//! A throwaway MariaDB: a fresh data directory and port under `target/`, `root` with an empty
//! password on 127.0.0.1 (like the machines' system MariaDB), tuned for speed over durability.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result};

use super::install::{self, Program, is_root};
use super::{Instance, free_port, probe, wait_exit, wait_ready};
use crate::child::{Managed, Output};
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

const INSTALL_TIMEOUT: Duration = Duration::from_secs(120);
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// Longest Unix socket path the kernel accepts is 107 bytes; stay below it.
const MAX_SOCKET_PATH: usize = 100;

pub fn start(dir: &Path, alternative: &str, shutdown: &Shutdown) -> Result<Instance> {
    let server = install::require(&SERVER, alternative, shutdown)?;
    let install_db = install::require(&INSTALL_DB, alternative, shutdown)?;
    let datadir = dir.join("data");
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let log = dir.join("mariadb.log");

    // --no-defaults everywhere: the system's my.cnf (its datadir, socket, port) must not leak
    // into the throwaway instance.
    println!("xtask: initialising a throwaway MariaDB data directory (takes a few seconds)");
    let mut init = Command::new(&install_db);
    init.arg("--no-defaults")
        .arg(format!("--datadir={}", datadir.display()))
        .args(["--auth-root-authentication-method=normal", "--skip-test-db"]);
    if is_root() {
        init.arg("--user=root");
    }
    let mut init = Managed::spawn("mariadb-install-db", &mut init, Output::File(&log))?;
    wait_exit(&mut init, &log, INSTALL_TIMEOUT, shutdown)?;

    let port = free_port()?;
    let mut cmd = Command::new(&server);
    cmd.arg("--no-defaults")
        .arg(format!("--datadir={}", datadir.display()))
        .arg(format!("--port={port}"))
        .arg("--bind-address=127.0.0.1")
        .arg(format!("--socket={}", socket_path(dir).display()))
        .arg(format!("--pid-file={}", dir.join("mariadbd.pid").display()))
        .args([
            "--skip-name-resolve",
            "--skip-log-bin",
            "--character-set-server=utf8mb4",
            "--collation-server=utf8mb4_unicode_ci",
            "--innodb-buffer-pool-size=64M",
            "--innodb-flush-log-at-trx-commit=2",
            "--max-connections=500",
        ]);
    if is_root() {
        // mariadbd refuses to run as root unless told so explicitly.
        cmd.arg("--user=root");
    }
    let mut process = Managed::spawn("mariadb", &mut cmd, Output::File(&log))?;
    let url = ServiceUrl::parse(&format!("mysql://root@127.0.0.1:{port}"))?;
    wait_ready(&mut process, &log, START_TIMEOUT, shutdown, || {
        probe::mysql(&url)
    })?;
    Ok(Instance { process, url })
}

/// The socket goes next to the data directory unless that path is too long for a Unix socket
/// (a deep checkout), in which case it goes to the temp directory under a per-run name.
fn socket_path(dir: &Path) -> PathBuf {
    let beside = dir.join("mariadbd.sock");
    if beside.as_os_str().len() <= MAX_SOCKET_PATH {
        beside
    } else {
        std::env::temp_dir().join(format!("xtask-mariadbd-{}.sock", std::process::id()))
    }
}
