//! MariaDB and Redis for `up` and `test`: use the ones asked for, else the local ones on their
//! default ports, else start throwaway instances.
//!
//! The order of preference keeps a developer's own servers and data untouched: an explicitly
//! configured URL must work (we never silently replace it), the machine's default servers are
//! used as they are, and only when nothing listens does xtask start its own — from the
//! installed server binary, with its data under `target/xtask/run-<pid>/`, removed again when
//! `up` or `test` ends.

mod install;
mod mariadb;
pub mod probe;
mod redis;

use std::fs;
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use dev_support::servers::{Server, Throwaway};

pub use install::{Program, on_path, require};

use crate::child::{STOP_GRACE, describe_status, log_tail};
use crate::endpoint::ServiceUrl;
use crate::shutdown::Shutdown;
use crate::workspace::Workspace;
use probe::Probe;

pub const DEFAULT_MYSQL: &str = "mysql://root@127.0.0.1:3306";
pub const DEFAULT_REDIS: &str = "redis://127.0.0.1:6379";

/// What the caller asks for: for each service, the URL from an environment variable (and that
/// variable's name, for messages), or `None` for "the default, else throwaway".
pub struct Wanted {
    pub mysql: Option<(ServiceUrl, &'static str)>,
    pub redis: Option<(ServiceUrl, &'static str)>,
    /// Start throwaway instances even when servers listen on the default ports (a service
    /// named by URL is still used as named).
    pub throwaway: bool,
    /// The variables that name each service, for messages.
    pub mysql_var: &'static str,
    pub redis_var: &'static str,
}

impl Wanted {
    /// Reads the URLs from the named environment variables (unset or empty = not asked for).
    pub fn from_env(
        mysql_var: &'static str,
        redis_var: &'static str,
        throwaway: bool,
    ) -> Result<Wanted> {
        let read =
            |var: &'static str, schemes: &[&str]| -> Result<Option<(ServiceUrl, &'static str)>> {
                match std::env::var(var) {
                    Ok(value) if !value.trim().is_empty() => {
                        let url = ServiceUrl::parse(value.trim())
                            .with_context(|| format!("{var} is not a valid URL"))?;
                        if !schemes.contains(&url.scheme()) {
                            bail!("{var} must start with {}://", schemes.join(":// or "));
                        }
                        Ok(Some((url, var)))
                    }
                    _ => Ok(None),
                }
            };
        Ok(Wanted {
            mysql: read(mysql_var, &["mysql"])?,
            redis: read(redis_var, &["redis", "rediss"])?,
            throwaway,
            mysql_var,
            redis_var,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Named by an environment variable.
    Configured(&'static str),
    /// Already listening on the default local port.
    Local,
    /// Started by xtask for this run.
    Throwaway,
}

pub struct Endpoint {
    pub url: ServiceUrl,
    pub origin: Origin,
    /// What the server said about itself (MySQL version, Redis PING reply).
    pub detail: String,
}

/// A server process xtask started, and the URL to reach it.
pub struct Instance {
    server: Server,
    url: ServiceUrl,
}

/// The services in use. Dropping this stops the throwaway instances and removes their data.
pub struct Services {
    pub mysql: Endpoint,
    pub redis: Endpoint,
    instances: Vec<Instance>,
    run_dir: PathBuf,
}

impl Services {
    /// One line per service: its URL (password masked), where it came from, and what it said
    /// about itself.
    pub fn report(&self) {
        for (what, endpoint) in [("MariaDB", &self.mysql), ("Redis", &self.redis)] {
            let origin = match endpoint.origin {
                Origin::Configured(var) => format!("from {var}"),
                Origin::Local => "already running".to_owned(),
                Origin::Throwaway => "throwaway, removed on exit".to_owned(),
            };
            let detail = if endpoint.detail.is_empty() {
                String::new()
            } else {
                format!(", {}", endpoint.detail)
            };
            println!("xtask: {what}: {} ({origin}{detail})", endpoint.url);
        }
    }

    pub fn ensure(ws: &Workspace, wanted: Wanted, shutdown: &Shutdown) -> Result<Services> {
        let (mysql_var, redis_var) = (wanted.mysql_var, wanted.redis_var);
        sweep_stale_runs(&ws.xtask_dir());
        let run_dir = ws.xtask_dir().join(format!("run-{}", std::process::id()));
        let mut services = Services {
            mysql: placeholder(DEFAULT_MYSQL)?,
            redis: placeholder(DEFAULT_REDIS)?,
            instances: Vec::new(),
            run_dir,
        };
        services.redis =
            services.endpoint(&REDIS, wanted.redis, wanted.throwaway, redis_var, shutdown)?;
        services.mysql = services.endpoint(
            &MARIADB,
            wanted.mysql,
            wanted.throwaway,
            mysql_var,
            shutdown,
        )?;
        Ok(services)
    }

    /// One service: the URL named by `var` (it must work), else the default local server,
    /// else a throwaway one started under the run directory.
    fn endpoint(
        &mut self,
        service: &Service,
        wanted: Option<(ServiceUrl, &'static str)>,
        throwaway: bool,
        var: &str,
        shutdown: &Shutdown,
    ) -> Result<Endpoint> {
        if let Some((url, var)) = wanted {
            return use_configured(url, var, service.probe);
        }
        match probe_default(throwaway, service.default_url, service.probe)? {
            Probe::Ready(detail) => local(service.default_url, detail),
            probe => {
                if let Probe::Unusable(err) = probe {
                    println!("{}", (service.unusable)(&err, var));
                }
                println!("xtask: starting a throwaway {}", service.name);
                let dir = self.run_dir.join(service.dir);
                let hint = format!("set {var} to a running server");
                let instance = (service.start)(&dir, &hint, shutdown)?;
                Ok(self.throwaway(instance, service.name))
            }
        }
    }

    fn throwaway(&mut self, instance: Instance, what: &str) -> Endpoint {
        println!(
            "xtask: throwaway {what} ready at {} (pid {}, data in {})",
            instance.url,
            instance.server.pid().unwrap_or(0),
            self.run_dir.display()
        );
        let endpoint = Endpoint {
            url: instance.url.clone(),
            origin: Origin::Throwaway,
            detail: String::new(),
        };
        self.instances.push(instance);
        endpoint
    }

    /// The first throwaway instance that has exited, with its status (for `up`'s watch loop).
    pub fn exited(&mut self) -> Option<String> {
        self.instances.iter_mut().find_map(|i| {
            let name = i.server.name().to_owned();
            let status = i.server.child()?.exited()?;
            Some(format!("{name} exited ({})", describe_status(status)))
        })
    }

    /// Stops the throwaway instances (newest first) and removes their data.
    pub fn stop(&mut self) {
        while let Some(mut instance) = self.instances.pop() {
            println!("xtask: stopping throwaway {}", instance.server.name());
            instance.server.stop(STOP_GRACE);
        }
        if self.run_dir.exists()
            && let Err(err) = fs::remove_dir_all(&self.run_dir)
        {
            eprintln!("xtask: could not remove {}: {err}", self.run_dir.display());
        }
    }
}

impl Drop for Services {
    fn drop(&mut self) {
        self.stop();
    }
}

/// What [`Services::endpoint`] needs to know about one kind of service.
struct Service {
    /// For messages.
    name: &'static str,
    default_url: &'static str,
    probe: fn(&ServiceUrl) -> Probe,
    /// Its throwaway instance: the data directory under the run directory, and how to start it.
    dir: &'static str,
    start: fn(&Path, &str, &Shutdown) -> Result<Instance>,
    /// The message when the default server answers but cannot be used, given the variable
    /// that would name another.
    unusable: fn(&anyhow::Error, &str) -> String,
}

const REDIS: Service = Service {
    name: "Redis",
    default_url: DEFAULT_REDIS,
    probe: probe::redis,
    dir: "redis",
    start: redis::start,
    unusable: |err, var| {
        format!(
            "xtask: 127.0.0.1:6379 is not a usable Redis ({err:#}); starting a throwaway one \
             instead (set {var} to use a specific server)"
        )
    },
};

const MARIADB: Service = Service {
    name: "MariaDB",
    default_url: DEFAULT_MYSQL,
    probe: probe::mysql,
    dir: "mariadb",
    start: mariadb::start,
    // Typically a distribution MariaDB whose root logs in through the Unix socket only: we
    // leave its accounts alone and bring our own server.
    unusable: |err, var| {
        format!(
            "xtask: cannot use 127.0.0.1:3306 as root with an empty password ({err:#}); \
             starting a throwaway MariaDB instead (set {var} to use that server with its \
             credentials)"
        )
    },
};

fn placeholder(url: &str) -> Result<Endpoint> {
    Ok(Endpoint {
        url: ServiceUrl::parse(url)?,
        origin: Origin::Local,
        detail: String::new(),
    })
}

fn local(url: &str, detail: String) -> Result<Endpoint> {
    Ok(Endpoint {
        url: ServiceUrl::parse(url)?,
        origin: Origin::Local,
        detail,
    })
}

/// Probes a default local server, or pretends it is absent when throwaway instances are asked
/// for.
fn probe_default(throwaway: bool, url: &str, probe: fn(&ServiceUrl) -> Probe) -> Result<Probe> {
    if throwaway {
        return Ok(Probe::Absent);
    }
    Ok(probe(&ServiceUrl::parse(url)?))
}

/// A URL the user named must work as it is: replacing it with a throwaway server would hide a
/// misconfiguration and, worse, run a "staging" check against the wrong data.
fn use_configured(
    url: ServiceUrl,
    var: &'static str,
    probe: fn(&ServiceUrl) -> Probe,
) -> Result<Endpoint> {
    match probe(&url) {
        Probe::Ready(detail) => Ok(Endpoint {
            url,
            origin: Origin::Configured(var),
            detail,
        }),
        Probe::Absent => bail!("{var} ({url}): nothing is listening there"),
        Probe::Unusable(err) => Err(err.context(format!("{var} ({url}) is not usable"))),
    }
}

/// Starts a throwaway server supervised (own process group, dies with xtask), then waits for
/// `probe` (a login or `PING`) to pass.
fn start_throwaway(
    spec: Throwaway,
    timeout: Duration,
    shutdown: &Shutdown,
    probe: fn(&ServiceUrl) -> Probe,
) -> Result<Instance> {
    let mut server = spec
        .timeout(timeout)
        .supervised()
        .start_interruptible(&|| shutdown.requested())?;
    let url = ServiceUrl::parse(&server.url())?;
    wait_ready(&mut server, timeout, shutdown, || probe(&url))?;
    Ok(Instance { server, url })
}

/// Waits until `probe` says ready (the server already listens: this is the login or `PING`),
/// the process exits, time runs out, or we are asked to stop.
fn wait_ready(
    server: &mut Server,
    timeout: Duration,
    shutdown: &Shutdown,
    mut probe: impl FnMut() -> Probe,
) -> Result<String> {
    let started = Instant::now();
    let log = server.log().to_owned();
    let log = log.as_path();
    loop {
        if shutdown.requested() {
            bail!("interrupted while starting {}", server.name());
        }
        if let Some(status) = server.child().and_then(|c| c.exited()) {
            bail!(
                "{} exited during start-up ({}). Last lines of {}:\n{}",
                server.name(),
                describe_status(status),
                log.display(),
                log_tail(log, 15)
            );
        }
        let last = match probe() {
            Probe::Ready(detail) => return Ok(detail),
            Probe::Absent => anyhow!("not listening yet"),
            Probe::Unusable(err) => err,
        };
        if started.elapsed() > timeout {
            return Err(last.context(format!(
                "{} was not ready within {}s. Last lines of {}:\n{}",
                server.name(),
                timeout.as_secs(),
                log.display(),
                log_tail(log, 15)
            )));
        }
        thread::sleep(Duration::from_millis(200));
    }
}

/// Removes `run-<pid>` directories left by an xtask that was killed outright (SIGKILL leaves no
/// chance to clean up; its servers died with it through PDEATHSIG). Directories of a live
/// process — another `up` running right now — are left alone.
fn sweep_stale_runs(xtask_dir: &Path) {
    let Ok(entries) = fs::read_dir(xtask_dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix("run-"))
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}
