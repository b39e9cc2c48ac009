//! Throwaway `redis-server` and `mariadbd` instances: their own free port on 127.0.0.1,
//! their own directory, nothing persisted, stopped (by pid) when dropped.
//!
//! Both starters take extra server arguments after the defaults (the servers let a later
//! option override an earlier one) and a configuration file, so one starter serves the plain
//! cache, a TLS Redis (`--tls-port`, `--tls-cert-file`, ...), a replica (`--replicaof`), a
//! Sentinel (a config file plus `--sentinel`), a TLS MariaDB (`--ssl-cert`, ...) or one with
//! a row binlog (`--log-bin`, `--binlog-format=ROW`). A server is ready when its port
//! accepts connections — true of every one of those modes, TLS included; callers that need
//! more (a `PING` with credentials, a replica's sync) check it themselves.

use std::ffi::{OsStr, OsString};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result};

use crate::net::free_port;
use crate::process::{Child, Launch, Output};

/// Something that can cut a start-up wait short (xtask's Ctrl-C flag); `&|| false` if none.
pub type Interrupted<'a> = &'a dyn Fn() -> bool;

/// How long each wait for a port may take by default.
pub const DEFAULT_START_TIMEOUT: Duration = Duration::from_secs(60);

/// `mariadbd` options for a server whose changes are watched: a row binary log (what the
/// refresher's `STATUS_WATCH=binlog` follows) and the general log in `mysql.general_log`, so
/// the tests and the bench count each user's statements exactly. For [`Throwaway::args`].
pub const WATCHED_MARIADB: [&str; 5] = [
    "--log-bin=binlog",
    "--binlog-format=ROW",
    "--server-id=1",
    "--general-log=1",
    "--log-output=TABLE",
];

/// Which server a [`Throwaway`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Redis,
    MariaDb,
}

/// A throwaway server to start.
///
/// - [`Throwaway::redis`]: `redis-server --port <free> --bind 127.0.0.1 --save ""
///   --appendonly no --daemonize no --protected-mode yes --dir <dir>`.
/// - [`Throwaway::mariadb`]: `mariadbd` on a data directory freshly initialised by
///   `mariadb-install-db`: `root` with an empty password on 127.0.0.1, utf8mb4, tuned for
///   speed over durability.
#[derive(Debug, Clone)]
pub struct Throwaway {
    kind: Kind,
    bin: PathBuf,
    install_db: PathBuf,
    dir: PathBuf,
    config_file: Option<PathBuf>,
    args: Vec<OsString>,
    port: Option<u16>,
    timeout: Duration,
    supervised: bool,
    temporary: bool,
}

/// Longest Unix socket path the kernel accepts is 107 bytes; stay below it.
const MAX_SOCKET_PATH: usize = 100;

impl Throwaway {
    /// `redis-server` from `PATH`, with its files (log, anything it writes) in `dir`.
    pub fn redis(dir: impl Into<PathBuf>) -> Throwaway {
        Throwaway::new(Kind::Redis, "redis-server", dir.into())
    }

    /// `mariadbd` and `mariadb-install-db` from `PATH`, everything under `dir`.
    pub fn mariadb(dir: impl Into<PathBuf>) -> Throwaway {
        Throwaway::new(Kind::MariaDb, "mariadbd", dir.into())
    }

    /// [`Throwaway::redis`] in a fresh directory under the system's temp directory, removed
    /// again when the [`Server`] is dropped (what a test wants).
    pub fn redis_in_temp_dir() -> Throwaway {
        Throwaway {
            temporary: true,
            ..Throwaway::redis(temp_dir("redis"))
        }
    }

    /// [`Throwaway::mariadb`] in a temporary directory, as [`Throwaway::redis_in_temp_dir`].
    pub fn mariadb_in_temp_dir() -> Throwaway {
        Throwaway {
            temporary: true,
            ..Throwaway::mariadb(temp_dir("mariadb"))
        }
    }

    fn new(kind: Kind, bin: &str, dir: PathBuf) -> Throwaway {
        Throwaway {
            kind,
            bin: PathBuf::from(bin),
            install_db: PathBuf::from("mariadb-install-db"),
            dir,
            config_file: None,
            args: Vec::new(),
            port: None,
            timeout: DEFAULT_START_TIMEOUT,
            supervised: false,
            temporary: false,
        }
    }

    /// The server binary to run.
    pub fn bin(mut self, bin: impl Into<PathBuf>) -> Self {
        self.bin = bin.into();
        self
    }

    /// MariaDB's data directory initialiser (`mariadb-install-db`).
    pub fn install_db(mut self, bin: impl Into<PathBuf>) -> Self {
        self.install_db = bin.into();
        self
    }

    /// The server's configuration file. Redis: given first (`redis-server <file> ...`), as
    /// Sentinel requires (it rewrites the file, so give it a copy in `dir`). MariaDB:
    /// `--defaults-file=<file>`, which must come first; without one it runs `--no-defaults`,
    /// so the system's my.cnf never leaks in.
    pub fn config_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.config_file = Some(path.into());
        self
    }

    /// One more server argument after the defaults, e.g. `--sentinel`, `--log-bin`.
    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    /// More server arguments after the defaults, e.g. `["--tls-port", "6390", ...]` or
    /// `["--ssl-cert=...", "--ssl-key=..."]`.
    pub fn args(mut self, args: impl IntoIterator<Item = impl AsRef<OsStr>>) -> Self {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    /// The plain TCP port (`--port`); a free one by default.
    pub fn port(mut self, port: u16) -> Self {
        self.port = Some(port);
        self
    }

    /// How long each of initialising (MariaDB) and starting may take.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Run it as xtask runs its services: in its own process group and with
    /// `PR_SET_PDEATHSIG` (see [`Launch::die_with_parent`]: start it from a thread that lives
    /// as long as the tool).
    pub fn supervised(mut self) -> Self {
        self.supervised = true;
        self
    }

    /// Starts it (after initialising MariaDB's data directory) and waits until its port
    /// accepts connections.
    pub fn start(self) -> Result<Server> {
        self.start_interruptible(&|| false)
    }

    /// [`Throwaway::start`], giving up early when `interrupted` says so.
    pub fn start_interruptible(self, interrupted: Interrupted<'_>) -> Result<Server> {
        std::fs::create_dir_all(&self.dir)
            .with_context(|| format!("creating {}", self.dir.display()))?;
        let port = match self.port {
            Some(port) => port,
            None => free_port().context("finding a free local port")?,
        };
        let (name, log, cmd) = match self.kind {
            Kind::Redis => (
                "redis",
                self.dir.join("redis.log"),
                self.redis_command(port),
            ),
            Kind::MariaDb => {
                let log = self.dir.join("mariadb.log");
                self.install_mariadb(&log, interrupted)?;
                ("mariadb", log, self.mariadb_command(port))
            }
        };
        let launch = Launching {
            name,
            port,
            log,
            timeout: self.timeout,
            supervised: self.supervised,
        };
        Server::launch(launch, cmd, self.dir, self.temporary, interrupted)
    }

    fn redis_command(&self, port: u16) -> Command {
        let mut cmd = Command::new(&self.bin);
        if let Some(file) = &self.config_file {
            cmd.arg(file);
        }
        cmd.arg("--port")
            .arg(port.to_string())
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args(["--daemonize", "no", "--protected-mode", "yes", "--dir"])
            .arg(&self.dir)
            .args(&self.args);
        cmd
    }

    /// `--defaults-file=...` or `--no-defaults`: MariaDB's first argument.
    fn mariadb_defaults(&self) -> String {
        match &self.config_file {
            Some(file) => format!("--defaults-file={}", file.display()),
            None => "--no-defaults".to_owned(),
        }
    }

    /// Each server's own temporary directory (for the initialiser too): two MariaDBs
    /// initialised at once must not share one.
    fn mariadb_tmpdir(&self) -> Result<String> {
        let tmp = self.dir.join("tmp");
        std::fs::create_dir_all(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
        Ok(format!("--tmpdir={}", tmp.display()))
    }

    fn install_mariadb(&self, log: &Path, interrupted: Interrupted<'_>) -> Result<()> {
        let mut init = Command::new(&self.install_db);
        init.arg(self.mariadb_defaults())
            .arg(format!("--datadir={}", self.dir.join("data").display()))
            .arg(self.mariadb_tmpdir()?)
            .args(["--auth-root-authentication-method=normal", "--skip-test-db"]);
        if is_root() {
            init.arg("--user=root");
        }
        let mut init = launcher("mariadb-install-db", log, self.supervised).spawn(&mut init)?;
        wait_exit(&mut init, log, self.timeout, interrupted)
    }

    fn mariadb_command(&self, port: u16) -> Command {
        let mut cmd = Command::new(&self.bin);
        cmd.arg(self.mariadb_defaults())
            .arg(format!("--datadir={}", self.dir.join("data").display()))
            .arg(format!("--tmpdir={}", self.dir.join("tmp").display()))
            .arg(format!("--port={port}"))
            .arg("--bind-address=127.0.0.1")
            .arg(format!("--socket={}", socket_path(&self.dir).display()))
            .arg(format!(
                "--pid-file={}",
                self.dir.join("mariadbd.pid").display()
            ))
            .args([
                "--skip-name-resolve",
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
        cmd.args(&self.args);
        cmd
    }
}

fn is_root() -> bool {
    // SAFETY: geteuid(2) has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// The socket goes next to the data directory unless that path is too long for a Unix socket
/// (a deep checkout), in which case it goes to the temp directory under a per-run name.
fn socket_path(dir: &Path) -> PathBuf {
    let beside = dir.join("mariadbd.sock");
    if beside.as_os_str().len() <= MAX_SOCKET_PATH {
        beside
    } else {
        temp_dir("mariadbd").with_extension("sock")
    }
}

/// How a server process is started (and started again).
struct Launching {
    name: &'static str,
    port: u16,
    log: PathBuf,
    timeout: Duration,
    supervised: bool,
}

fn launcher<'a>(name: &str, log: &'a Path, supervised: bool) -> Launch<'a> {
    let launch = Launch::new(name)
        .output(Output::File(log))
        .drop_grace(Duration::from_secs(5));
    if supervised {
        launch.own_group().die_with_parent()
    } else {
        launch
    }
}

/// A running throwaway server. Dropping it stops the process (SIGTERM, 5 s, SIGKILL); its
/// directory is the caller's to keep or remove, unless it was made by `in_temp_dir`.
pub struct Server {
    launch: Launching,
    child: Option<Child>,
    dir: PathBuf,
    /// Remove `dir` on drop (made by `in_temp_dir`).
    temporary: bool,
    /// How to start it again, for [`Server::restart`].
    command: (OsString, Vec<OsString>),
}

impl Server {
    fn launch(
        launch: Launching,
        cmd: Command,
        dir: PathBuf,
        temporary: bool,
        interrupted: Interrupted<'_>,
    ) -> Result<Server> {
        let command = (
            cmd.get_program().to_owned(),
            cmd.get_args().map(OsStr::to_owned).collect(),
        );
        let mut server = Server {
            launch,
            child: None,
            dir,
            temporary,
            command,
        };
        server.spawn(interrupted)?;
        Ok(server)
    }

    fn spawn(&mut self, interrupted: Interrupted<'_>) -> Result<()> {
        let mut cmd = Command::new(&self.command.0);
        cmd.args(&self.command.1);
        let l = &self.launch;
        let mut child = launcher(l.name, &l.log, l.supervised).spawn(&mut cmd)?;
        wait_listening(&mut child, self.addr(), &l.log, l.timeout, interrupted)?;
        self.child = Some(child);
        Ok(())
    }

    /// `redis` or `mariadb`.
    pub fn name(&self) -> &str {
        self.launch.name
    }

    pub fn port(&self) -> u16 {
        self.launch.port
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.launch.port))
    }

    /// `redis://127.0.0.1:<port>` or `mysql://root@127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        match self.launch.name {
            "redis" => format!("redis://127.0.0.1:{}", self.launch.port),
            _ => format!("mysql://root@127.0.0.1:{}", self.launch.port),
        }
    }

    /// The server's directory (data, log, pid file).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The server's log file.
    pub fn log(&self) -> &Path {
        &self.launch.log
    }

    /// The process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::pid)
    }

    /// The process, while it runs.
    pub fn child(&mut self) -> Option<&mut Child> {
        self.child.as_mut()
    }

    /// Whether the process was started and has not been killed or stopped (it may still have
    /// exited on its own: see [`Child::exited`]).
    pub fn is_up(&self) -> bool {
        self.child.is_some()
    }

    /// SIGKILL, as a crash.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill();
        }
    }

    /// SIGTERM, up to `grace`, then SIGKILL.
    pub fn stop(&mut self, grace: Duration) {
        if let Some(mut child) = self.child.take() {
            child.stop(grace);
        }
    }

    /// Kills the process and starts it again with the same command on the same port (a
    /// crashed cache-only Redis comes back empty).
    pub fn restart(&mut self) -> Result<()> {
        self.kill();
        self.spawn(&|| false)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop(Duration::from_secs(5));
        if self.temporary {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// A directory name under the temp directory that no other run uses: pid plus a port the
/// kernel just handed out (unique among live sockets).
fn temp_dir(what: &str) -> PathBuf {
    std::env::temp_dir().join(format!(
        "dev-support-{what}-{}-{}",
        std::process::id(),
        free_port().unwrap_or(0)
    ))
}

pub mod tls;
mod wait;

pub use wait::wait_exit;
use wait::wait_listening;

#[cfg(test)]
mod tests;
