//! The process: refresh at start-up, then every interval, until a signal.
//!
//! With a lease (the default; see [`crate::replicas::lease`]) the loop has two clocks: when the next
//! refresh is due, and when to look at the lease next (renew it every third of the lease
//! while holding it; otherwise look again when the holder's lease would run out). A refresh
//! that falls due while another replica holds the lease is skipped: the standby neither
//! reads the database nor writes. When a standby takes the lease over it refreshes at once,
//! so the document's age after a holder dies is at most one interval plus one lease.
//!
//! A third clock is the nudge (see [`crate::replicas::nudge`]): while this replica is the writer it
//! runs the nudge sources ([`crate::sources`]), and a pending nudge makes a refresh due at
//! the earliest one `STATUS_MIN_REFRESH_GAP` after the last refresh started. A refresh of
//! either kind restarts the interval, so a nudged refresh saves the periodic one.

use std::sync::Arc;

use anyhow::Context;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{error, info, warn};

use crate::config::{Config, NotifySettings, Watch};
use crate::notify::deliver::Notifier;
use crate::notify::send::Http;
use crate::published::Observed;
use crate::read::db::Source;
use crate::read::db::SourceError;
use crate::read::probe::Liveness;
use crate::read::watch::binlog::BinlogWatch;
use crate::read::watch::poll::PollWatch;
use crate::refresh::fleet::Fleet;
use crate::refresh::{Refresher, warn_if_outlives_ttl};
use crate::replicas::guard::WriteGuard;
use crate::replicas::lease::{Lease, replica_token};
use crate::replicas::nudge::Trigger;
use crate::replicas::subscription::Subscription;
use crate::replicas::target::Primary;
use crate::report::listener;
use crate::report::metrics::Metrics;
use crate::shutdown::Shutdown;
pub use crate::shutdown::{CLOSE_WITHIN, Exit, SHUTDOWN_GRACE};
use crate::sources::{Sources, Watcher};
use crate::write::document::{Keys, Sink};
use crate::write::index::IndexWriter;
use crate::write::outbox::Outbox;
use crate::write::page::PageWriter;
use status_document::servers::{ServerId, server_key};

use clocks::Daemon;

mod clocks;

/// Calls one refresh makes, each bounded by STATUS_TIMEOUT: the interval override, the
/// connection, the query, the history's read, the write. A refresh takes at most
/// this many timeouts.
const MAX_CALLS_PER_CYCLE: u32 = 5;
/// What the players query adds to a refresh: its run, bounded by STATUS_TIMEOUT on the
/// server and one second more on the client (see `read/players.rs`); counted as two.
const PLAYERS_CALLS: u32 = 2;

/// Runs the refresher with a validated configuration. Errors are start-up failures.
pub async fn run(config: Config) -> anyhow::Result<Exit> {
    let mut shutdown = Shutdown::install().context("installing signal handlers")?;
    crate::redis_call::note_tls(config.redis.target.url().unwrap_or(""));
    let token = replica_token();
    log_start(&config, &token);
    let calls = warn_about_timing(&config);

    // The URL was validated with the same parser; a failure here names no secret either.
    let primary = Primary::new(&config.redis, config.timeout)
        .map_err(|e| anyhow::anyhow!("cannot use REDIS_URL: {:?} error", e.kind()))?;
    let lease = config.lease.map(|duration| {
        Lease::new(
            primary.clone(),
            &lease_name(&config),
            token.clone(),
            duration,
        )
    });
    // The one record of outcomes: the refresher writes it, `/health` and `/metrics` read it
    // (`--once` keeps one too, unserved, so a cycle is recorded the same way in both modes).
    let metrics = Arc::new(Metrics::new(config.interval, config.timeout * calls));
    let mut refresher = fleet(&config, &primary, &metrics);
    refresher.preflight_players().await;
    preflight_tables(&mut refresher).await?;
    let notifiers = match (&config.notify, config.once) {
        (Some(settings), false) => {
            notifiers(&mut refresher, settings, &primary, lease.as_ref(), &metrics)?
        }
        _ => Vec::new(),
    };

    let exit = if config.once {
        once(&mut refresher, lease.as_ref(), &mut shutdown).await
    } else {
        serve(
            &config,
            &mut refresher,
            lease,
            metrics,
            &primary,
            &mut shutdown,
        )
        .await
    };
    for notifier in notifiers {
        // A send under way is cut off: its message stays in the outbox for the next holder.
        notifier.abort();
    }
    refresher.close(CLOSE_WITHIN).await;
    info!("status-refresher stopped");
    Ok(exit)
}

/// The start-up line: every setting that shapes the run, without secrets.
fn log_start(config: &Config, token: &str) {
    let first = config.first();
    info!(
        version = env!("CARGO_PKG_VERSION"),
        redis = %config.redis.target,
        database = config.database.as_ref().map_or("none (the game server alone)", |d| d.display.as_str()),
        db_ssl_mode = %config.database.as_ref().map_or("-".to_owned(), |d| d.tls.mode.to_string()),
        redis_tls_files = ?config.redis.tls.files,
        interval_s = config.interval.as_secs(),
        ttl_s = config.document.ttl_s,
        key = %config.status_key,
        interval_key = %config.interval_key,
        meta = %config.document.meta,
        mapping = %config.document.mapping,
        timeout_s = config.timeout.as_secs_f64(),
        lease_s = config.lease.map_or(0.0, |l| l.as_secs_f64()),
        metrics_addr = config.metrics_addr.map(|a| a.to_string()).unwrap_or_default(),
        refresh_channel = config.live.channel.as_deref().unwrap_or(""),
        min_refresh_gap_s = config.live.min_gap.as_secs_f64(),
        history_lag_s = config.document.history_lag.as_secs(),
        watch = %config.live.watch,
        servers = config.servers.list.len(),
        group = config.servers.group_name(),
        game_server_addrs = first.probe.as_ref().map_or(0, |p| p.addrs.len()),
        probe_interval_s = first.probe.as_ref().map_or(0, |p| p.interval.as_secs()),
        probe_timeout_s = first.probe.as_ref().map_or(0.0, |p| p.timeout.as_secs_f64()),
        probe_failures = first.probe.as_ref().map_or(0, |p| p.failures),
        players_query = first.players.is_some(),
        replica = %token,
        once = config.once,
        "status-refresher starting"
    );
}

/// Warns about settings that work against each other; returns how many timeouts one
/// refresh may take, which is also the health check's slack.
fn warn_about_timing(config: &Config) -> u32 {
    if !config.ignored.is_empty() {
        warn!(ignored = ?config.ignored, "DATABASE_URL is set; these DB_* settings are ignored");
    }
    warn_if_outlives_ttl(config.interval, config.document.ttl_s);
    let calls = MAX_CALLS_PER_CYCLE
        + if config.servers.list.iter().any(|s| s.players.is_some()) {
            PLAYERS_CALLS
        } else {
            0
        };
    if let Some(lease) = config.lease
        && lease <= config.timeout * calls
    {
        warn!(
            lease_s = lease.as_secs_f64(),
            timeout_s = config.timeout.as_secs_f64(),
            calls,
            "the lease is not longer than a refresh may take (`calls` timeouts): a slow \
             refresh may lose it before its write (the write is then refused, never misplaced)"
        );
    }
    calls
}

/// The lease's name: the status key for the whole file (or the one server), the group's own
/// for a `STATUS_SERVERS_ONLY` subset, so that groups do not take each other's turn.
fn lease_name(config: &Config) -> String {
    match &config.servers.group {
        None => config.status_key.clone(),
        // Under `<key>:servers:`, which the documented ACL grants; `@` is in no id.
        Some(group) => format!("{}:servers:@{group}", config.status_key),
    }
}

/// One refresher per server, with the probe and the players query as configured, in one
/// fleet with the servers index.
fn fleet(config: &Config, primary: &Primary, metrics: &Arc<Metrics>) -> Fleet {
    let mut members = Vec::with_capacity(config.servers.list.len());
    for spec in &config.servers.list {
        let source = match (&spec.constants, &config.database) {
            (Some(constants), Some(database)) => Some(Source::for_table(
                database,
                &constants.table,
                config.timeout,
            )),
            _ => None,
        };
        let key = server_key(&config.status_key, &spec.id);
        let sink = Sink::new(primary.clone(), Keys::new(&key, &config.interval_key));
        let refresher = Refresher::new(
            source,
            sink,
            config.document.clone(),
            config.interval,
            Arc::clone(metrics),
        )
        .with_live(spec.probe.clone().map(Liveness::new), spec.players.clone());
        members.push((spec.clone(), refresher));
    }
    let ids: Vec<ServerId> = config.servers.list.iter().map(|s| s.id.clone()).collect();
    let index = IndexWriter::new(
        primary.clone(),
        &config.status_key,
        config.servers.group_name(),
        &ids,
    );
    // The page lists the whole servers file: one group of a split fleet has only its part.
    let page = config
        .servers
        .group
        .is_none()
        .then(|| PageWriter::new(primary.clone(), &config.status_key));
    Fleet::new(members, index, page, config.servers.group_name())
}

/// A servers file's `constants` table that does not exist stops the start (exit 2, naming
/// the file and line) before anything is written. A database that cannot be asked now is no
/// reason to stop: the refreshes report it, and retry.
async fn preflight_tables(fleet: &mut Fleet) -> anyhow::Result<()> {
    for member in fleet.members_mut() {
        let Some(origin) = member
            .spec
            .constants
            .as_ref()
            .and_then(|c| c.origin.clone())
        else {
            continue;
        };
        match member.refresher.check_table().await {
            Err(SourceError::MissingTable(table)) => {
                return Err(anyhow::Error::new(crate::config::ConfigError {
                    variable: "STATUS_SERVERS_FILE",
                    flag: crate::config::flag_for("STATUS_SERVERS_FILE"),
                    reason: format!(
                        "{origin}: constants: the table `{table}` of server {:?} does not exist",
                        member.spec.id.as_str()
                    ),
                }));
            }
            Err(e) => {
                warn!(server = %member.spec.id, error = %e, "cannot check the constants table now; the refreshes will retry")
            }
            Ok(()) => {}
        }
    }
    Ok(())
}

/// One notifier per server (each with its own ledger and outbox beside its document), each
/// fed by its member's refresher: the writer's published states, told to a task of their
/// own beside the refresh cycle, which only fills the feed.
fn notifiers(
    fleet: &mut Fleet,
    settings: &NotifySettings,
    primary: &Primary,
    lease: Option<&Lease>,
    metrics: &Arc<Metrics>,
) -> anyhow::Result<Vec<JoinHandle<()>>> {
    let named =
        fleet.members().len() > 1 || fleet.members().iter().any(|m| !m.spec.id.is_default());
    let mut tasks = Vec::new();
    for member in fleet.members_mut() {
        let (feed, rx) = crate::published::feed();
        member.refresher.set_notify(Some(feed));
        let key = member.refresher.status_key().to_owned();
        let outbox = outbox(&key, primary, lease);
        let server = named.then(|| member.spec.name.clone());
        tasks.push(start_notifier(settings, server, outbox, metrics, rx)?);
    }
    Ok(tasks)
}

/// The notifications' outbox of the document at `status_key`, saved only while the lease
/// (when there is one) is ours.
fn outbox(status_key: &str, primary: &Primary, lease: Option<&Lease>) -> Outbox {
    let (lock, token) = match lease {
        Some(l) => (l.key().to_owned(), Some(l.token().to_owned())),
        None => (status_document::keys::lock_key(status_key), None),
    };
    Outbox::new(primary.clone(), status_key, &lock, token)
}

/// Starts the notifier's task, reading what the refresh cycle publishes from `feed`.
fn start_notifier(
    settings: &NotifySettings,
    server: Option<String>,
    outbox: Outbox,
    metrics: &Arc<Metrics>,
    feed: watch::Receiver<Option<Observed>>,
) -> anyhow::Result<JoinHandle<()>> {
    let http = Http::new(settings)?;
    info!(
        server = server.as_deref().unwrap_or(""),
        targets = ?settings.targets,
        hold_s = settings.hold.as_secs(),
        max_per_hour = settings.max_per_hour,
        ca_cert = ?settings.ca_path,
        "notifications on"
    );
    let notifier =
        Notifier::new(settings.clone(), http, outbox, Arc::clone(metrics), feed).for_server(server);
    Ok(tokio::spawn(notifier.run()))
}

/// The daemon proper: the nudge sources, the listener and the loop, until a signal; then
/// the lease is released and the sources and the listener stopped.
async fn serve(
    config: &Config,
    refresher: &mut Fleet,
    lease: Option<Lease>,
    metrics: Arc<Metrics>,
    primary: &Primary,
    shutdown: &mut Shutdown,
) -> Exit {
    metrics.set_lease_holder(lease.is_none());
    let trigger = Trigger::new();
    let sources = nudge_sources(config, &trigger, primary);
    metrics.set_sources(sources.view());
    let server = match config.metrics_addr {
        Some(addr) => start_listener(addr, Arc::clone(&metrics)).await,
        None => None,
    };
    let mut daemon = Daemon::new(
        refresher,
        lease,
        metrics,
        trigger,
        config.live.min_gap,
        sources,
    );
    daemon.run(shutdown).await;
    if let Some(mut lease) = daemon.lease.take() {
        match lease.release().await {
            Ok(true) => info!(lock = %lease.key(), "lease released"),
            Ok(false) => {}
            Err(e) => warn!(error = %e, "cannot release the lease; it expires by itself"),
        }
    }
    daemon.sources.stop();
    if let Some(server) = server {
        server.abort();
    }
    Exit::Success
}

/// The refresh channel and the change watcher, as configured (none runs yet).
fn nudge_sources(config: &Config, trigger: &Trigger, primary: &Primary) -> Sources {
    let subscription = config.live.channel.as_ref().map(|channel| Subscription {
        primary: primary.clone(),
        channel: channel.clone(),
        timeout: config.timeout,
    });
    // Watching needs the database; the configuration refuses a watch without one.
    let watcher = match (&config.live.watch, &config.database) {
        (Watch::Interval, _) | (_, None) => Watcher::None,
        (Watch::Binlog, Some(database)) => Watcher::Binlog(BinlogWatch {
            opts: database.opts.clone(),
            fallback: database.plaintext_fallback.clone(),
            timeout: config.timeout,
        }),
        (Watch::Poll(every), Some(database)) => Watcher::Poll(PollWatch {
            opts: database.opts.clone(),
            fallback: database.plaintext_fallback.clone(),
            every: *every,
            timeout: config.timeout,
        }),
    };
    Sources::new(trigger, subscription, watcher)
}

/// Binds the health and metrics listener. A failure is logged, not fatal: the refresher's
/// job is the document, and a probe pointed at the missing listener reports the problem.
async fn start_listener(
    addr: std::net::SocketAddr,
    metrics: Arc<Metrics>,
) -> Option<tokio::task::JoinHandle<()>> {
    match listener::bind(addr).await {
        Ok((l, bound)) => {
            info!(addr = %bound, "health and metrics listening on http://{bound}");
            Some(tokio::spawn(listener::serve(l, metrics)))
        }
        Err(e) => {
            error!(
                addr = %addr,
                error = %e,
                "cannot listen for health and metrics (STATUS_METRICS_ADDR); refreshing without"
            );
            None
        }
    }
}

/// `--once`: one probe, then one refresh. It never holds the lease (it is gone before a
/// lease would matter); it writes only while no daemon replica holds it.
async fn once(refresher: &mut Fleet, lease: Option<&Lease>, shutdown: &mut Shutdown) -> Exit {
    let guard = lease.map(|l| WriteGuard {
        allow_unheld: true,
        ..l.guard()
    });
    // One probe first, so the one document written carries the game server's word.
    refresher.probe_only().await;
    let cycle = refresher.refresh(guard.as_ref());
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

/// Runs one step (a refresh, a probe, a players count) to its end; on a signal, lets it
/// finish within [`SHUTDOWN_GRACE`] and returns `None`: the daemon stops. Dropping a step
/// after the grace period is safe: its write is a single transaction or script, applied
/// whole or not at all.
async fn finish_or_stop<T>(
    step: impl std::future::Future<Output = T>,
    shutdown: &mut Shutdown,
) -> Option<T> {
    tokio::pin!(step);
    tokio::select! {
        result = &mut step => Some(result),
        signal = shutdown.recv() => {
            info!(signal, "stopping; letting the step under way finish");
            if tokio::time::timeout(SHUTDOWN_GRACE, &mut step).await.is_err() {
                warn!("step abandoned at shutdown; nothing was written");
            }
            None
        }
    }
}
