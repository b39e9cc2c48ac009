//! `status-refresher service install|uninstall|run`: the refresher as a Windows service.
//!
//! `install` registers `"<exe>" service run --name <name> --config <file>` with the Service
//! Control Manager (automatic start, as `NT AUTHORITY\LocalService`, restarted 10 s after a
//! failure). The settings come from that file, since a service has no shell to set variables
//! in ([`crate::config::flags_from_file`]); the file is validated before anything is
//! registered. `run` is what the SCM starts: it hands the service manager a control handler
//! whose stop and shutdown events take the same path as Ctrl-C on a console
//! ([`crate::shutdown::stop_channel`]): the refresh under way finishes, the lease is
//! released, and the service reports itself stopped. The log goes to daily files
//! ([`crate::logging`]) in `STATUS_LOG_DIR`, by default `%ProgramData%\status-refresher\logs`.

use std::ffi::{OsStr, OsString};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::process::ExitCode;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Parser;
use windows_service::service::{
    Service, ServiceAccess, ServiceAction, ServiceActionType, ServiceControl, ServiceControlAccept,
    ServiceErrorControl, ServiceExitCode, ServiceFailureActions, ServiceFailureResetPeriod,
    ServiceInfo, ServiceStartType, ServiceState, ServiceStatus, ServiceType,
};
use windows_service::service_control_handler::{self, ServiceControlHandlerResult};
use windows_service::service_manager::{ServiceManager, ServiceManagerAccess};
use windows_service::{define_windows_service, service_dispatcher};

use crate::config::{self, Args, Config, ServiceAction as Action};
use crate::shutdown::{CLOSE_WITHIN, Exit, SHUTDOWN_GRACE};
use crate::{logging, shutdown};

const SERVICE_TYPE: ServiceType = ServiceType::OWN_PROCESS;
/// The account `install` registers: no administrator rights, network access as the machine.
pub const ACCOUNT: &str = r"NT AUTHORITY\LocalService";
/// Service-specific exit code for settings that cannot be used (2, as on a console).
const EXIT_CONFIG: u32 = 2;
/// Service-specific exit code for a daemon that failed to start.
const EXIT_FAILURE: u32 = 1;

/// The daemon a started service runs (`daemon::run`, boxed). The binary passes it in: the
/// service is only how the process is hosted, so it does not stand above the whole daemon.
pub type Daemon = fn(Config) -> Pin<Box<dyn Future<Output = anyhow::Result<Exit>>>>;

/// Runs `status-refresher service <action>`; `first` is the command line as parsed without
/// the config file, `argv` the raw one, `daemon` what `service run` runs.
pub fn main(action: Action, first: Args, argv: &[OsString], daemon: Daemon) -> ExitCode {
    let result = match action {
        Action::Install { name } => install(&name, &first),
        Action::Uninstall { name } => uninstall(&name),
        Action::Run { name } => return run(name, first, argv, daemon),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// `%ProgramData%\status-refresher\logs`.
pub fn default_log_dir() -> PathBuf {
    let data = std::env::var_os("ProgramData").unwrap_or_else(|| r"C:\ProgramData".into());
    Path::new(&data).join("status-refresher").join("logs")
}

fn install(name: &str, first: &Args) -> anyhow::Result<()> {
    let file = usable_config_file(first)?;
    let exe = std::env::current_exe().context("cannot find this program's path")?;
    let launch = launch_arguments(name, &file, first)?;
    let manager = ServiceManager::local_computer(
        None::<&str>,
        ServiceManagerAccess::CONNECT | ServiceManagerAccess::CREATE_SERVICE,
    )
    .context("cannot open the service manager (run this as administrator)")?;
    let info = ServiceInfo {
        name: name.into(),
        display_name: "Server status refresher".into(),
        service_type: SERVICE_TYPE,
        start_type: ServiceStartType::AutoStart,
        error_control: ServiceErrorControl::Normal,
        executable_path: exe,
        launch_arguments: launch,
        dependencies: vec![],
        account_name: Some(ACCOUNT.into()),
        account_password: None,
    };
    let service = manager
        .create_service(&info, ServiceAccess::CHANGE_CONFIG)
        .with_context(|| format!("cannot create the service {name}"))?;
    service
        .set_description(
            "Mirrors the game's constants table from MySQL/MariaDB into the status document in Redis.",
        )
        .context("cannot set the service's description")?;
    restart_on_failure(&service);
    let logs = first.log_dir.clone().unwrap_or_else(default_log_dir);
    println!(
        "installed the service {name} (runs as {ACCOUNT}, settings from {}, logs in {}).\n\
         Start it with: sc.exe start {name}",
        file.display(),
        logs.display()
    );
    Ok(())
}

/// `--config`'s file, absolute, once the settings in it are known to start the service:
/// a file it could not start with is refused before anything is registered.
fn usable_config_file(first: &Args) -> anyhow::Result<PathBuf> {
    let Some(file) = first.config.as_deref() else {
        bail!(
            "`service install` needs --config FILE: a service has no shell to set variables \
             in, so it reads its settings from that file"
        );
    };
    let file = std::path::absolute(file)
        .with_context(|| format!("cannot make {} absolute", file.display()))?;
    // Refuse a file the service could not start with, before registering anything.
    let argv = [
        OsString::from("status-refresher"),
        "--config".into(),
        file.clone().into(),
    ];
    let args = Args::try_parse_from(&argv).map_err(|e| anyhow::anyhow!("{}", e.kind()))?;
    Config::from_args(config::with_file(args, &argv)?)?;
    Ok(file)
}

/// What the service manager starts the service with: `service run` under `name`, the
/// settings' `file`, and the log folder when one was given (absolute).
fn launch_arguments(name: &str, file: &Path, first: &Args) -> anyhow::Result<Vec<OsString>> {
    let mut launch: Vec<OsString> = vec![
        "service".into(),
        "run".into(),
        "--name".into(),
        name.into(),
        "--config".into(),
        file.into(),
    ];
    if let Some(dir) = first.log_dir.as_deref() {
        let dir = std::path::absolute(dir)
            .with_context(|| format!("cannot make {} absolute", dir.display()))?;
        launch.extend(["--log-dir".into(), dir.into()]);
    }
    Ok(launch)
}

/// Restart after a failure, also a failed start (a daemon exit with an error); without it
/// the service still runs, so a refusal is only a warning.
fn restart_on_failure(service: &Service) {
    let restart = ServiceAction {
        action_type: ServiceActionType::Restart,
        delay: Duration::from_secs(10),
    };
    let recovery = service
        .update_failure_actions(ServiceFailureActions {
            reset_period: ServiceFailureResetPeriod::After(Duration::from_secs(86_400)),
            reboot_msg: None,
            command: None,
            actions: Some(vec![restart.clone(), restart.clone(), restart]),
        })
        .and_then(|()| service.set_failure_actions_on_non_crash_failures(true));
    if let Err(e) = recovery {
        eprintln!("warning: the service is installed, but without restart on failure: {e}");
    }
}

fn uninstall(name: &str) -> anyhow::Result<()> {
    let manager = ServiceManager::local_computer(None::<&str>, ServiceManagerAccess::CONNECT)
        .context("cannot open the service manager (run this as administrator)")?;
    let service = manager
        .open_service(name, ServiceAccess::QUERY_STATUS | ServiceAccess::DELETE)
        .with_context(|| format!("cannot open the service {name}"))?;
    let status = service
        .query_status()
        .context("cannot ask for its status")?;
    if status.current_state != ServiceState::Stopped {
        bail!("the service {name} is running; stop it first: sc.exe stop {name}");
    }
    service
        .delete()
        .with_context(|| format!("cannot delete the service {name}"))?;
    println!("removed the service {name}");
    Ok(())
}

/// What `service_main` (on the dispatcher's thread) needs from `run`.
struct Launch {
    name: String,
    config: Result<Config, String>,
    daemon: Daemon,
}

static LAUNCH: Mutex<Option<Launch>> = Mutex::new(None);
static STATUS: OnceLock<service_control_handler::ServiceStatusHandle> = OnceLock::new();

define_windows_service!(ffi_service_main, service_main);

fn run(name: String, first: Args, argv: &[OsString], daemon: Daemon) -> ExitCode {
    let first_log_dir = first.log_dir.clone();
    let args = config::with_file(first, argv);
    let log_dir = match &args {
        Ok(args) => args.log_dir.clone(),
        Err(_) => first_log_dir,
    }
    .unwrap_or_else(default_log_dir);
    let logging = logging::init(Some(&log_dir));
    let config = match args {
        Ok(args) => Config::from_args(args).map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    if let Ok(mut launch) = LAUNCH.lock() {
        *launch = Some(Launch {
            name: name.clone(),
            config,
            daemon,
        });
    }
    // Blocks until the service has stopped; fails at once when no service manager started us.
    match service_dispatcher::start(&name, ffi_service_main) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!(
                "error: `service run` is started by the service manager ({e}); on a console \
                 run status-refresher without `service run`"
            );
            if let Err(e) = logging {
                eprintln!("error: cannot write logs to {}: {e}", log_dir.display());
            }
            ExitCode::FAILURE
        }
    }
}

fn service_main(_arguments: Vec<OsString>) {
    let Some(launch) = LAUNCH.lock().ok().and_then(|mut launch| launch.take()) else {
        return;
    };
    if let Err(e) = serve(launch) {
        tracing::error!(error = %e, "the service manager refused a call");
    }
}

fn serve(launch: Launch) -> windows_service::Result<()> {
    let stop = shutdown::stop_channel();
    let handler = move |control| match control {
        ServiceControl::Stop | ServiceControl::Shutdown | ServiceControl::Preshutdown => {
            let reason = match control {
                ServiceControl::Stop => "service stop",
                _ => "system shutdown",
            };
            if let Some(status) = STATUS.get() {
                // The stop takes at most the grace of a refresh under way plus closing.
                let wait = SHUTDOWN_GRACE + CLOSE_WITHIN + Duration::from_secs(1);
                let _ = status.set_service_status(report(ServiceState::StopPending, wait, 0));
            }
            stop.stop(reason);
            ServiceControlHandlerResult::NoError
        }
        ServiceControl::Interrogate => ServiceControlHandlerResult::NoError,
        _ => ServiceControlHandlerResult::NotImplemented,
    };
    let status = service_control_handler::register(OsStr::new(&launch.name), handler)?;
    let _ = STATUS.set(status);

    let config = match launch.config {
        Ok(config) => config,
        Err(e) => {
            tracing::error!("error: {e}");
            return status.set_service_status(report(
                ServiceState::Stopped,
                Duration::ZERO,
                EXIT_CONFIG,
            ));
        }
    };
    status.set_service_status(report(ServiceState::Running, Duration::ZERO, 0))?;
    let code = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => match runtime.block_on((launch.daemon)(config)) {
            Ok(Exit::Success) => 0,
            Ok(Exit::Failure) => EXIT_FAILURE,
            Err(e) => {
                tracing::error!("{e:#}");
                EXIT_FAILURE
            }
        },
        Err(e) => {
            tracing::error!(error = %e, "cannot start the async runtime");
            EXIT_FAILURE
        }
    };
    status.set_service_status(report(ServiceState::Stopped, Duration::ZERO, code))
}

/// A status report; `code` is the service-specific exit code of a stopped service.
fn report(state: ServiceState, wait_hint: Duration, code: u32) -> ServiceStatus {
    ServiceStatus {
        service_type: SERVICE_TYPE,
        current_state: state,
        controls_accepted: match state {
            ServiceState::Running => ServiceControlAccept::STOP | ServiceControlAccept::SHUTDOWN,
            _ => ServiceControlAccept::empty(),
        },
        exit_code: match code {
            0 => ServiceExitCode::NO_ERROR,
            code => ServiceExitCode::ServiceSpecific(code),
        },
        checkpoint: 0,
        wait_hint,
        process_id: None,
    }
}
