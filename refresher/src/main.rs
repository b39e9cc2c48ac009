//! `status-refresher`: see the crate docs and `status-refresher --help`.

use std::ffi::OsString;
use std::process::ExitCode;

use clap::Parser;
use status_refresher::config::{self, Args, Command, Config, RefreshNowConfig};
use status_refresher::daemon::{self, Exit};
use status_refresher::logging;
use status_refresher::refresh_now::{self, Outcome, RefreshNow};
use status_refresher::replicas::target::Primary;

/// Exit code for unusable configuration; clap uses the same for its usage errors.
const EXIT_CONFIG: u8 = 2;

fn main() -> ExitCode {
    let argv: Vec<OsString> = std::env::args_os().collect();
    let first = Args::parse_from(&argv);
    // The service reads its config file itself: its errors must reach its log, not stderr.
    #[cfg(windows)]
    if let Some(Command::Service { action }) = &first.command {
        return status_refresher::service::main(action.clone(), first, &argv, |config| {
            Box::pin(daemon::run(config))
        });
    }
    let mut args = match config::with_file(first, &argv) {
        Ok(args) => args,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    match args.command.take() {
        Some(Command::RefreshNow { wait, wait_timeout }) => {
            return match RefreshNowConfig::from_args(&args, wait, &wait_timeout) {
                Ok(config) => refresh_now_main(config),
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::from(EXIT_CONFIG)
                }
            };
        }
        Some(Command::NotifyTest) => return notify_test_main(&args),
        // `service` returned above.
        #[cfg(windows)]
        Some(Command::Service { .. }) => {}
        None => {}
    }
    let log_dir = args.log_dir.clone();
    let config = match Config::from_args(args) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    if let Err(e) = logging::init(log_dir.as_deref()) {
        eprintln!("error: cannot write the log to STATUS_LOG_DIR: {e}");
        return ExitCode::FAILURE;
    }

    let Some(runtime) = runtime() else {
        return ExitCode::FAILURE;
    };
    match runtime.block_on(daemon::run(config)) {
        Ok(Exit::Success) => ExitCode::SUCCESS,
        Ok(Exit::Failure) => ExitCode::FAILURE,
        // A setting found unusable only once the daemon could look (a servers file's
        // constants table that does not exist): a configuration error like the others.
        Err(e) if e.downcast_ref::<config::ConfigError>().is_some() => {
            tracing::error!("{e:#}");
            eprintln!("error: {e:#}");
            ExitCode::from(EXIT_CONFIG)
        }
        Err(e) => {
            tracing::error!("{e:#}");
            ExitCode::FAILURE
        }
    }
}

/// One thread is plenty for one query and one Redis write per interval, and keeps the
/// resident set small.
fn runtime() -> Option<tokio::runtime::Runtime> {
    match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => Some(runtime),
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            None
        }
    }
}

/// `refresh-now`: prints what happened on stdout, errors on stderr; exit 0 when the nudge
/// was heard (and, with `--wait`, the document moved), 1 otherwise.
fn refresh_now_main(config: RefreshNowConfig) -> ExitCode {
    let Some(runtime) = runtime() else {
        return ExitCode::FAILURE;
    };
    status_refresher::note_tls(config.redis.target.url().unwrap_or(""));
    // Behind Sentinel the nudge goes to the primary named now, where the refresher listens.
    let client = runtime.block_on(async {
        let primary = Primary::new(&config.redis, config.timeout).map_err(|e| {
            let e = format!("cannot use REDIS_URL: {:?} error", e.kind());
            (ExitCode::from(EXIT_CONFIG), e)
        })?;
        (primary.client().await).map_err(|e| (ExitCode::FAILURE, e.to_string()))
    });
    let client = match client {
        Ok(client) => client,
        Err((code, e)) => {
            eprintln!("error: {e}");
            return code;
        }
    };
    let request = RefreshNow {
        client,
        status_key: config.status_key,
        channel: config.channel,
        timeout: config.timeout,
        wait: config.wait,
    };
    match runtime.block_on(refresh_now::run(&request)) {
        Ok(Outcome::Published { receivers }) => {
            println!(
                "published on {} ({receivers} refresher(s) heard it)",
                request.channel
            );
            ExitCode::SUCCESS
        }
        Ok(Outcome::Refreshed { line }) => {
            println!("refreshed: {line}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `notify-test`: one test message to every target; prints each target's answer on
/// stdout (by name, never its URL); exit 0 when every target took it, 1 otherwise.
fn notify_test_main(args: &Args) -> ExitCode {
    let settings = match status_refresher::config::notify_from_args(args) {
        Ok(Some(settings)) => settings,
        Ok(None) => {
            eprintln!("error: STATUS_NOTIFY is not set: there is nothing to test");
            return ExitCode::from(EXIT_CONFIG);
        }
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let Some(runtime) = runtime() else {
        return ExitCode::FAILURE;
    };
    match runtime.block_on(status_refresher::notify::deliver::test_all(&settings)) {
        Ok((lines, all)) => {
            for line in lines {
                println!("{line}");
            }
            if all {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
