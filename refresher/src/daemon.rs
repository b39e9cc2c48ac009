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
use std::time::Duration;

use anyhow::Context;
use tokio::time::Instant;
use tracing::{error, info, warn};

use crate::config::{Config, Watch};
use crate::notify::deliver::Notifier;
use crate::notify::send::Http;
use crate::read::db::Source;
use crate::read::probe::Liveness;
use crate::read::watch::binlog::BinlogWatch;
use crate::read::watch::poll::PollWatch;
use crate::refresh::{DocumentSettings, RefreshError, Refresher, warn_if_outlives_ttl};
use crate::replicas::lease::{Lease, LeaseState, replica_token};
use crate::replicas::nudge::{Coalescer, Nudger, Trigger};
use crate::replicas::subscription::Subscription;
use crate::replicas::target::Primary;
use crate::report::listener;
use crate::report::metrics::Metrics;
use crate::shutdown::Shutdown;
pub use crate::shutdown::{CLOSE_WITHIN, Exit, SHUTDOWN_GRACE};
use crate::sources::{Sources, Watcher};
use crate::write::document::{Keys, Sink};
use crate::write::guard::WriteGuard;
use crate::write::outbox::Outbox;

/// Calls one refresh makes, each bounded by STATUS_TIMEOUT: the interval override, the
/// connection, the query, the history's read (issue 23), the write. A refresh takes at most
/// this many timeouts.
const MAX_CALLS_PER_CYCLE: u32 = 5;
/// What the players query adds to a refresh: its run, bounded by STATUS_TIMEOUT on the
/// server and one second more on the client (see `read/players.rs`); counted as two.
const PLAYERS_CALLS: u32 = 2;

/// Runs the refresher with a validated configuration. Errors are start-up failures.
pub async fn run(config: Config) -> anyhow::Result<Exit> {
    let mut shutdown = Shutdown::install().context("installing signal handlers")?;
    crate::redis_call::note_tls(config.redis.url().unwrap_or(""));
    let token = replica_token();
    info!(
        version = env!("CARGO_PKG_VERSION"),
        redis = %config.redis,
        database = %config.database.display,
        db_ssl_mode = %config.database.tls.mode,
        redis_tls_files = ?config.redis_tls.files,
        interval_s = config.interval.as_secs(),
        ttl_s = config.ttl_s,
        key = %config.status_key,
        interval_key = %config.interval_key,
        meta = %config.meta,
        mapping = %config.mapping,
        timeout_s = config.timeout.as_secs_f64(),
        lease_s = config.lease.map_or(0.0, |l| l.as_secs_f64()),
        metrics_addr = config.metrics_addr.map(|a| a.to_string()).unwrap_or_default(),
        refresh_channel = config.refresh_channel.as_deref().unwrap_or(""),
        min_refresh_gap_s = config.min_refresh_gap.as_secs_f64(),
        watch = %config.watch,
        game_server_addrs = config.probe.as_ref().map_or(0, |p| p.addrs.len()),
        probe_interval_s = config.probe.as_ref().map_or(0, |p| p.interval.as_secs()),
        probe_timeout_s = config.probe.as_ref().map_or(0.0, |p| p.timeout.as_secs_f64()),
        probe_failures = config.probe.as_ref().map_or(0, |p| p.failures),
        players_query = config.players.is_some(),
        replica = %token,
        once = config.once,
        "status-refresher starting"
    );
    if !config.ignored.is_empty() {
        warn!(ignored = ?config.ignored, "DATABASE_URL is set; these DB_* settings are ignored");
    }
    warn_if_outlives_ttl(config.interval, config.ttl_s);
    let calls = MAX_CALLS_PER_CYCLE
        + if config.players.is_some() {
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

    let source = Source::new(&config.database, config.timeout);
    let keys = Keys::new(&config.status_key, &config.interval_key);
    // The URL was validated with the same parser; a failure here names no secret either.
    let primary = Primary::new(&config.redis, &config.redis_tls, config.timeout)
        .map_err(|e| anyhow::anyhow!("cannot use REDIS_URL: {:?} error", e.kind()))?;
    let sink = Sink::new(primary.clone(), keys);
    let lease = config
        .lease
        .map(|duration| Lease::new(sink.primary(), &config.status_key, token.clone(), duration));
    let settings = DocumentSettings {
        mapping: config.mapping.clone(),
        meta: config.meta.clone(),
        ttl_s: config.ttl_s,
        state: config.state.clone(),
    };
    // The one record of outcomes: the refresher writes it, `/health` and `/metrics` read it
    // (`--once` keeps one too, unserved, so a cycle is recorded the same way in both modes).
    let metrics = Arc::new(Metrics::new(config.interval, config.timeout * calls));
    let mut refresher = Refresher::new(
        source,
        sink,
        settings,
        config.interval,
        Arc::clone(&metrics),
    )
    .with_live(
        config.probe.clone().map(Liveness::new),
        config.players.clone(),
    );
    refresher.preflight_players().await;
    // Notifications (issue 24): the writer's published states, told to a task of their own.
    let notifier = match (&config.notify, config.once) {
        (Some(settings), false) => {
            let (feed, rx) = crate::published::feed();
            refresher = refresher.with_notify(Some(feed));
            let (lock, token) = match &lease {
                Some(l) => (l.key().to_owned(), Some(l.token().to_owned())),
                None => (status_document::keys::lock_key(&config.status_key), None),
            };
            let outbox = Outbox::new(primary.clone(), &config.status_key, &lock, token);
            let http = Http::new(settings)?;
            info!(
                targets = ?settings.targets,
                hold_s = settings.hold.as_secs(),
                max_per_hour = settings.max_per_hour,
                ca_cert = ?settings.ca_path,
                "notifications on"
            );
            let n = Notifier::new(settings.clone(), http, outbox, Arc::clone(&metrics), rx);
            Some(tokio::spawn(n.run()))
        }
        _ => None,
    };

    let exit = if config.once {
        // `--once` never holds the lease (it is gone before a lease would matter); it
        // writes only while no daemon replica holds it.
        let guard = lease.as_ref().map(|l| WriteGuard {
            allow_unheld: true,
            ..l.guard()
        });
        // One probe first, so the one document written carries the game server's word.
        refresher.probe_only().await;
        once(&mut refresher, guard.as_ref(), &mut shutdown).await
    } else {
        metrics.set_lease_holder(lease.is_none());
        let trigger = Trigger::new();
        let sources = nudge_sources(&config, &trigger, &primary);
        metrics.set_sources(sources.view());
        let server = match config.metrics_addr {
            Some(addr) => start_listener(addr, Arc::clone(&metrics)).await,
            None => None,
        };
        let mut daemon = Daemon {
            refresher: &mut refresher,
            lease,
            metrics,
            nudger: trigger.nudger(),
            trigger,
            coalescer: Coalescer::new(config.min_refresh_gap),
            sources,
        };
        daemon.run(&mut shutdown).await;
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
    };
    if let Some(notifier) = notifier {
        // A send under way is cut off: its message stays in the outbox for the next holder.
        notifier.abort();
    }
    refresher.close(CLOSE_WITHIN).await;
    info!("status-refresher stopped");
    Ok(exit)
}

/// The refresh channel and the change watcher, as configured (none runs yet).
fn nudge_sources(config: &Config, trigger: &Trigger, primary: &Primary) -> Sources {
    let subscription = config.refresh_channel.as_ref().map(|channel| Subscription {
        primary: primary.clone(),
        channel: channel.clone(),
        timeout: config.timeout,
    });
    let opts = config.database.opts.clone();
    let watcher = match config.watch {
        Watch::Interval => Watcher::None,
        Watch::Binlog => Watcher::Binlog(BinlogWatch {
            opts,
            fallback: config.database.plaintext_fallback.clone(),
            timeout: config.timeout,
        }),
        Watch::Poll(every) => Watcher::Poll(PollWatch {
            opts,
            fallback: config.database.plaintext_fallback.clone(),
            every,
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

async fn once(
    refresher: &mut Refresher,
    guard: Option<&WriteGuard>,
    shutdown: &mut Shutdown,
) -> Exit {
    let cycle = refresher.refresh(guard);
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

struct Daemon<'a> {
    refresher: &'a mut Refresher,
    lease: Option<Lease>,
    metrics: Arc<Metrics>,
    /// The probe's own way to ask for a refresh when the game server's reachability changes.
    nudger: Nudger,
    trigger: Trigger,
    coalescer: Coalescer,
    sources: Sources,
}

impl Daemon<'_> {
    /// Whether this replica is the writer: it holds the lease, or runs without one.
    fn writer(&self) -> bool {
        self.lease.as_ref().is_none_or(Lease::held)
    }

    async fn run(&mut self, shutdown: &mut Shutdown) {
        let mut refresh_due = Instant::now();
        let mut lease_due = Instant::now();
        // The probe and the players query run on the writer only, on clocks of their own.
        let mut probe_due = Instant::now();
        let mut players_due = Instant::now();
        // The last lease error, while it keeps us from knowing whether we hold the lease.
        let mut lease_error: Option<crate::redis_call::RedisCallError> = None;
        let mut standby_logged = false;
        if self.lease.is_none() {
            self.sources.start();
            // Without a lease, a restart carries on from what the last run published.
            self.refresher.carry_on().await;
        }
        loop {
            // A pending nudge makes a refresh due, one gap after the last one at the earliest.
            let nudge_due = self
                .coalescer
                .due(self.writer() && self.trigger.pending(), Instant::now());
            if let Some(due) = nudge_due {
                refresh_due = refresh_due.min(due);
            }
            // Renew right before a due refresh, so the cycle starts with a whole lease and
            // only a confirmed holder runs the SELECT.
            if Instant::now() >= refresh_due {
                lease_due = lease_due.min(Instant::now());
            }
            if let Some(lease) = self.lease.as_mut()
                && Instant::now() >= lease_due
            {
                let was_held = lease.held();
                match lease.ensure().await {
                    Ok(LeaseState::Held { acquired }) => {
                        lease_error = None;
                        standby_logged = false;
                        if acquired {
                            info!(lock = %lease.key(), replica = %lease.token(), "lease acquired; this replica writes");
                            refresh_due = Instant::now();
                            probe_due = Instant::now();
                        }
                        lease_due = Instant::now() + lease.renew_every();
                    }
                    Ok(LeaseState::Standby { holder, retry_in }) => {
                        lease_error = None;
                        if was_held {
                            warn!(lock = %lease.key(), holder = holder.as_deref().unwrap_or(""), "lease lost to another replica");
                        }
                        if !standby_logged {
                            info!(lock = %lease.key(), holder = holder.as_deref().unwrap_or(""), "standby: another replica holds the lease");
                            standby_logged = true;
                        }
                        self.metrics.standby_confirmed();
                        lease_due = Instant::now() + retry_in;
                    }
                    Err(e) => {
                        warn!(error = %e, "cannot check the lease");
                        lease_error = Some(e);
                        // Look again soon, but not in a tight loop.
                        lease_due =
                            Instant::now() + lease.renew_every().min(Duration::from_secs(1));
                    }
                }
                let held = lease.held();
                self.metrics.set_lease_holder(held);
                // The writer runs the nudge sources; a standby (or a replica that can no
                // longer tell) does not.
                if held {
                    self.sources.start();
                    if !was_held {
                        // A takeover carries on from the previous holder's word, so the
                        // state does not flap while this replica makes its first probe.
                        self.refresher.carry_on().await;
                    }
                } else {
                    self.sources.stop();
                    if was_held {
                        self.refresher.forget();
                    }
                }
            }

            // The probe goes before a due refresh, so a new writer's first document
            // carries a fresh word.
            if let Some(every) = self.refresher.probe_interval()
                && self.writer()
                && Instant::now() >= probe_due
            {
                probe_due = Instant::now() + every;
                let guard = self.lease.as_ref().map(Lease::guard);
                let step = self.refresher.probe(guard.as_ref());
                let Some(result) = finish_or_stop(step, shutdown).await else {
                    return;
                };
                match result {
                    Ok(Some(_change)) => {
                        // The probe's write already shows the new state; the nudge reads
                        // `constants` again too, through the same coalescing as every other.
                        self.nudger.nudge();
                    }
                    Ok(None) => {}
                    Err(RefreshError::NotLeaseHolder) => {
                        if let Some(lease) = self.lease.as_mut() {
                            lease.lost();
                            lease_due = Instant::now();
                            self.sources.stop();
                            self.refresher.forget();
                        }
                    }
                    Err(e) => {
                        warn!(error = %e, "cannot write the probe's word; retrying at the next probe")
                    }
                }
            }
            if let Some(every) = self.refresher.players_interval()
                && self.writer()
                && Instant::now() >= players_due
                && Instant::now() < refresh_due
            {
                players_due = Instant::now() + every;
                let guard = self.lease.as_ref().map(Lease::guard);
                let step = self.refresher.players_now(guard.as_ref());
                let Some(result) = finish_or_stop(step, shutdown).await else {
                    return;
                };
                if let Err(e) = result {
                    warn!(error = %e, "cannot write the players count; retrying at the next count");
                }
            }

            if Instant::now() >= refresh_due {
                let holder = self.writer();
                if holder {
                    let guard = self.lease.as_ref().map(Lease::guard);
                    let started = Instant::now();
                    // This refresh answers every nudge so far; one arriving from now on earns
                    // one more.
                    self.trigger.answer();
                    self.coalescer.started(started);
                    let cycle = self.refresher.refresh(guard.as_ref());
                    let Some(result) = finish_or_stop(cycle, shutdown).await else {
                        return;
                    };
                    // The refresh counted the players too.
                    if let Some(every) = self.refresher.players_interval() {
                        players_due = Instant::now() + every;
                    }
                    // The refresher has recorded the outcome; only the lease is ours to update.
                    match (result, self.lease.as_mut()) {
                        // The guarded write extended the lease.
                        (Ok(_), Some(lease)) => lease.extended_at(started.into_std()),
                        (Err(RefreshError::NotLeaseHolder), Some(lease)) => {
                            lease.lost();
                            lease_due = Instant::now();
                            self.sources.stop();
                            self.refresher.forget();
                        }
                        _ => {}
                    }
                } else if let Some(e) = lease_error.take() {
                    // Redis is unreachable: we can neither write nor know who may.
                    self.refresher.fail(RefreshError::Lease(e));
                } else {
                    self.refresher.skip();
                }
                if !self.writer() {
                    // A standby does not act on nudges (none should arrive: it is not
                    // subscribed, but one may be left from before it lost the lease).
                    self.trigger.discard();
                }
                let delay = self.refresher.next_delay();
                if self.metrics.consecutive_failures() > 0 {
                    info!(
                        retry_in_ms = delay.as_millis() as u64,
                        "retrying with backoff"
                    );
                }
                refresh_due = Instant::now() + delay;
                if let Some(lease) = self.lease.as_ref() {
                    self.metrics.set_lease_holder(lease.held());
                }
            }

            let mut wake = match self.lease {
                Some(_) => refresh_due.min(lease_due),
                None => refresh_due,
            };
            let writer = self.writer();
            if writer && self.refresher.probe_interval().is_some() {
                wake = wake.min(probe_due);
            }
            if writer && self.refresher.players_interval().is_some() {
                wake = wake.min(players_due);
            }
            tokio::select! {
                _ = tokio::time::sleep_until(wake) => {}
                () = self.trigger.arrived(), if writer => {}
                signal = shutdown.recv() => {
                    info!(signal, "stopping");
                    return;
                }
            }
        }
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
