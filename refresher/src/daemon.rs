//! The process: refresh at start-up, then every interval, until a signal.

use std::time::Duration;

use anyhow::Context;
use tracing::{info, warn};

use crate::config::Config;
use crate::redact::RedactedUrl;
use crate::refresh::{DocumentSettings, Refresher, warn_if_outlives_ttl};
use crate::shutdown::Shutdown;
use crate::sink::{Keys, Sink};
use crate::source::Source;

/// How long a cycle that is under way when a signal arrives may still take. Together with
/// [`CLOSE_WITHIN`] this keeps shutdown inside the 5 s a process supervisor allows.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);
/// How long closing database connections may take at exit.
pub const CLOSE_WITHIN: Duration = Duration::from_secs(1);

/// How the process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// `--once` refreshed, or the daemon stopped on a signal.
    Success,
    /// `--once` did not refresh.
    Failure,
}

/// Runs the refresher with a validated configuration. Errors are start-up failures.
pub async fn run(config: Config) -> anyhow::Result<Exit> {
    let mut shutdown = Shutdown::install().context("installing signal handlers")?;
    info!(
        version = env!("CARGO_PKG_VERSION"),
        redis = %RedactedUrl(&config.redis_url),
        database = %config.database.display,
        interval_s = config.interval.as_secs(),
        ttl_s = config.ttl_s,
        key = %config.status_key,
        interval_key = %config.interval_key,
        meta = %config.meta,
        mapping = %config.mapping,
        timeout_s = config.timeout.as_secs_f64(),
        once = config.once,
        "status-refresher starting"
    );
    if !config.ignored.is_empty() {
        warn!(ignored = ?config.ignored, "DATABASE_URL is set; these DB_* settings are ignored");
    }
    warn_if_outlives_ttl(config.interval, config.ttl_s);

    let source = Source::new(config.database.opts.clone(), config.timeout);
    let keys = Keys::new(&config.status_key, &config.interval_key);
    // The URL was validated with the same parser; a failure here names no secret either.
    let sink = Sink::new(&config.redis_url, config.timeout, keys)
        .map_err(|e| anyhow::anyhow!("cannot use REDIS_URL: {:?} error", e.kind()))?;
    let settings = DocumentSettings {
        mapping: config.mapping.clone(),
        meta: config.meta.clone(),
        ttl_s: config.ttl_s,
    };
    let mut refresher = Refresher::new(source, sink, settings, config.interval);

    let exit = if config.once {
        once(&mut refresher, &mut shutdown).await
    } else {
        daemon(&mut refresher, &mut shutdown).await;
        Exit::Success
    };
    refresher.close(CLOSE_WITHIN).await;
    info!("status-refresher stopped");
    Ok(exit)
}

async fn once(refresher: &mut Refresher, shutdown: &mut Shutdown) -> Exit {
    let cycle = refresher.refresh();
    tokio::pin!(cycle);
    let done = tokio::select! {
        result = &mut cycle => Some(result),
        signal = shutdown.recv() => {
            info!(signal, "stopping; letting the refresh under way finish");
            tokio::time::timeout(SHUTDOWN_GRACE, &mut cycle).await.ok()
        }
    };
    match done {
        Some(Ok(_)) => Exit::Success,
        _ => Exit::Failure,
    }
}

async fn daemon(refresher: &mut Refresher, shutdown: &mut Shutdown) {
    loop {
        {
            let cycle = refresher.refresh();
            tokio::pin!(cycle);
            tokio::select! {
                _ = &mut cycle => {}
                signal = shutdown.recv() => {
                    info!(signal, "stopping; letting the refresh under way finish");
                    // Dropping the cycle after the grace period is safe: the write is a
                    // single transaction, applied whole or not at all.
                    if tokio::time::timeout(SHUTDOWN_GRACE, &mut cycle).await.is_err() {
                        warn!("refresh abandoned at shutdown; nothing was written");
                    }
                    return;
                }
            }
        }
        let delay = refresher.next_delay();
        if refresher.state().consecutive_failures > 0 {
            info!(
                retry_in_ms = delay.as_millis() as u64,
                "retrying with backoff"
            );
        }
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            signal = shutdown.recv() => {
                info!(signal, "stopping");
                return;
            }
        }
    }
}
