//! The daemon's loop: four clocks and the step each one runs.
//!
//! Each turn brings a refresh forward for a pending nudge, looks at the lease when its
//! clock says so, probes the game server and counts players on their own clocks (writer
//! only), runs a due refresh, and then sleeps until the earliest clock, a nudge or a
//! signal. Every step that writes goes through [`super::finish_or_stop`], so a signal lets
//! it finish within the grace period and then ends the loop.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;
use tracing::{info, warn};

use super::finish_or_stop;
use crate::read::probe::Change;
use crate::redis_call::RedisCallError;
use crate::refresh::RefreshError;
use crate::refresh::fleet::{Clock, Fleet};
use crate::replicas::lease::{Lease, LeaseState};
use crate::replicas::nudge::{Coalescer, Nudger, Trigger};
use crate::report::metrics::Metrics;
use crate::shutdown::Shutdown;
use crate::sources::Sources;

/// When each step is next due. The probe and the players query run on the writer only.
struct Clocks {
    refresh: Instant,
    lease: Instant,
    probe: Instant,
    players: Instant,
}

impl Clocks {
    /// When the fleet's `clock` step is next due.
    fn of(&self, clock: Clock) -> Instant {
        match clock {
            Clock::Probe => self.probe,
            Clock::Players => self.players,
        }
    }

    fn set(&mut self, clock: Clock, at: Instant) {
        match clock {
            Clock::Probe => self.probe = at,
            Clock::Players => self.players = at,
        }
    }
}

/// The long-running daemon: what the loop drives and what it remembers between turns.
pub(super) struct Daemon<'a> {
    refresher: &'a mut Fleet,
    pub(super) lease: Option<Lease>,
    metrics: Arc<Metrics>,
    /// The probe's own way to ask for a refresh when the game server's reachability changes.
    nudger: Nudger,
    trigger: Trigger,
    coalescer: Coalescer,
    pub(super) sources: Sources,
    clocks: Clocks,
    /// The last lease error, while it keeps us from knowing whether we hold the lease.
    lease_error: Option<RedisCallError>,
    standby_logged: bool,
}

impl<'a> Daemon<'a> {
    pub(super) fn new(
        refresher: &'a mut Fleet,
        lease: Option<Lease>,
        metrics: Arc<Metrics>,
        trigger: Trigger,
        min_refresh_gap: Duration,
        sources: Sources,
    ) -> Daemon<'a> {
        let now = Instant::now();
        Daemon {
            refresher,
            lease,
            metrics,
            nudger: trigger.nudger(),
            trigger,
            coalescer: Coalescer::new(min_refresh_gap),
            sources,
            clocks: Clocks {
                refresh: now,
                lease: now,
                probe: now,
                players: now,
            },
            lease_error: None,
            standby_logged: false,
        }
    }

    /// Whether this replica is the writer: it holds the lease, or runs without one.
    fn writer(&self) -> bool {
        self.lease.as_ref().is_none_or(Lease::held)
    }

    /// Runs until a signal.
    pub(super) async fn run(&mut self, shutdown: &mut Shutdown) {
        if self.lease.is_none() {
            self.sources.start();
            // Without a lease, a restart carries on from what the last run published.
            self.refresher.carry_on().await;
        }
        while self.turn(shutdown).await.is_some() {}
    }

    /// One turn of the loop; `None` once a signal has stopped it.
    async fn turn(&mut self, shutdown: &mut Shutdown) -> Option<()> {
        self.bring_forward();
        if self.lease.is_some() && Instant::now() >= self.clocks.lease {
            self.look_at_lease().await;
        }
        // The probe goes before a due refresh, so a new writer's first document carries a
        // fresh word.
        self.probe_step(shutdown).await?;
        self.players_step(shutdown).await?;
        if Instant::now() >= self.clocks.refresh {
            self.refresh_step(shutdown).await?;
        }
        self.wait(shutdown).await
    }

    /// A pending nudge makes a refresh due, one gap after the last one at the earliest; a
    /// due refresh makes the lease due, so the cycle starts with a whole lease and only a
    /// confirmed holder runs the SELECT.
    fn bring_forward(&mut self) {
        let nudge_due = self
            .coalescer
            .due(self.writer() && self.trigger.pending(), Instant::now());
        if let Some(due) = nudge_due {
            self.clocks.refresh = self.clocks.refresh.min(due);
        }
        if Instant::now() >= self.clocks.refresh {
            self.clocks.lease = self.clocks.lease.min(Instant::now());
        }
    }

    /// Renews or tries to take the lease, and starts or stops what only the writer runs.
    async fn look_at_lease(&mut self) {
        let Some(lease) = self.lease.as_mut() else {
            return;
        };
        let was_held = lease.held();
        match lease.ensure().await {
            Ok(LeaseState::Held { acquired }) => {
                self.lease_error = None;
                self.standby_logged = false;
                if acquired {
                    info!(lock = %lease.key(), replica = %lease.token(), "lease acquired; this replica writes");
                    self.clocks.refresh = Instant::now();
                    self.clocks.probe = Instant::now();
                    self.refresher.probe_now();
                }
                self.clocks.lease = Instant::now() + lease.renew_every();
            }
            Ok(LeaseState::Standby { holder, retry_in }) => {
                self.lease_error = None;
                if was_held {
                    warn!(lock = %lease.key(), holder = holder.as_deref().unwrap_or(""), "lease lost to another replica");
                }
                if !self.standby_logged {
                    info!(lock = %lease.key(), holder = holder.as_deref().unwrap_or(""), "standby: another replica holds the lease");
                    self.standby_logged = true;
                }
                self.metrics.standby_confirmed();
                self.clocks.lease = Instant::now() + retry_in;
            }
            Err(e) => {
                warn!(error = %e, "cannot check the lease");
                self.lease_error = Some(e);
                // Look again soon, but not in a tight loop.
                self.clocks.lease =
                    Instant::now() + lease.renew_every().min(Duration::from_secs(1));
            }
        }
        let held = lease.held();
        self.metrics.set_lease_holder(held);
        // The writer runs the nudge sources; a standby (or a replica that can no longer
        // tell) does not.
        if held {
            self.sources.start();
            if !was_held {
                // A takeover carries on from the previous holder's word, so the state does
                // not flap while this replica makes its first probe.
                self.refresher.carry_on().await;
            }
        } else {
            self.sources.stop();
            if was_held {
                self.refresher.forget();
            }
        }
    }

    /// A write was refused: the lease is gone. Look at it again at once, and stop what
    /// only the writer runs.
    fn lease_lost(&mut self) {
        if let Some(lease) = self.lease.as_mut() {
            lease.lost();
            self.clocks.lease = Instant::now();
            self.sources.stop();
            self.refresher.forget();
        }
    }

    /// Whether the fleet's `clock` step is due at `now`: on the writer, with a member that
    /// has the step, once its clock says so.
    fn due(&self, clock: Clock, now: Instant) -> bool {
        self.writer() && self.refresher.next_due(clock).is_some() && now >= self.clocks.of(clock)
    }

    /// Runs the fleet's `clock` step, and sets the clock to the members' earliest next one
    /// (each server's step is on its own clock; the loop wakes for the earliest). `None`:
    /// stopped by a signal.
    async fn run_clocked(
        &mut self,
        clock: Clock,
        shutdown: &mut Shutdown,
    ) -> Option<Result<Option<Change>, RefreshError>> {
        let guard = self.lease.as_ref().map(Lease::guard);
        let step = self.refresher.step(clock, guard.as_ref());
        let result = finish_or_stop(step, shutdown).await?;
        if let Some(next) = self.refresher.next_due(clock) {
            self.clocks.set(clock, next);
        }
        Some(result)
    }

    /// The game-server probe, when due; `None`: stopped by a signal.
    async fn probe_step(&mut self, shutdown: &mut Shutdown) -> Option<()> {
        if !self.due(Clock::Probe, Instant::now()) {
            return Some(());
        }
        match self.run_clocked(Clock::Probe, shutdown).await? {
            Ok(Some(_change)) => {
                // The probe's write already shows the new state; the nudge reads `constants`
                // again too, through the same coalescing as every other.
                self.nudger.nudge();
            }
            Ok(None) => {}
            Err(RefreshError::NotLeaseHolder) => self.lease_lost(),
            Err(e) => {
                warn!(error = %e, "cannot write the probe's word; retrying at the next probe")
            }
        }
        Some(())
    }

    /// The players count between reads, when due and no refresh (which counts them too)
    /// is; `None`: stopped by a signal.
    async fn players_step(&mut self, shutdown: &mut Shutdown) -> Option<()> {
        let now = Instant::now();
        if !self.due(Clock::Players, now) || now >= self.clocks.refresh {
            return Some(());
        }
        if let Err(e) = self.run_clocked(Clock::Players, shutdown).await? {
            warn!(error = %e, "cannot write the players count; retrying at the next count");
        }
        Some(())
    }

    /// A due refresh: run on the writer, recorded as a failure or a skip elsewhere; then
    /// the next one is scheduled. `None`: stopped by a signal.
    async fn refresh_step(&mut self, shutdown: &mut Shutdown) -> Option<()> {
        if self.writer() {
            self.refresh_as_writer(shutdown).await?;
        } else if let Some(e) = self.lease_error.take() {
            // Redis is unreachable: we can neither write nor know who may.
            self.refresher.fail(RefreshError::Lease(e));
        } else {
            self.refresher.skip();
        }
        if !self.writer() {
            // A standby does not act on nudges (none should arrive: it is not subscribed,
            // but one may be left from before it lost the lease).
            self.trigger.discard();
        }
        let delay = self.refresher.next_delay();
        if self.metrics.consecutive_failures() > 0 {
            info!(
                retry_in_ms = delay.as_millis() as u64,
                "retrying with backoff"
            );
        }
        self.clocks.refresh = Instant::now() + delay;
        if let Some(lease) = self.lease.as_ref() {
            self.metrics.set_lease_holder(lease.held());
        }
        Some(())
    }

    async fn refresh_as_writer(&mut self, shutdown: &mut Shutdown) -> Option<()> {
        let guard = self.lease.as_ref().map(Lease::guard);
        let started = Instant::now();
        // This refresh answers every nudge so far; one arriving from now on earns one more.
        self.trigger.answer();
        self.coalescer.started(started);
        let result = finish_or_stop(self.refresher.refresh(guard.as_ref()), shutdown).await?;
        // The refresh counted the players too.
        if let Some(next) = self.refresher.next_due(Clock::Players) {
            self.clocks.players = next;
        }
        // The refresher has recorded the outcome; only the lease is ours to update.
        match result {
            // The guarded write extended the lease.
            Ok(_) => {
                if let Some(lease) = self.lease.as_mut() {
                    lease.extended_at(started.into_std());
                }
            }
            Err(RefreshError::NotLeaseHolder) => self.lease_lost(),
            Err(_) => {}
        }
        Some(())
    }

    /// Sleeps until the earliest clock, a nudge (on the writer) or a signal; `None`: the
    /// signal.
    async fn wait(&mut self, shutdown: &mut Shutdown) -> Option<()> {
        let mut wake = match self.lease {
            Some(_) => self.clocks.refresh.min(self.clocks.lease),
            None => self.clocks.refresh,
        };
        let writer = self.writer();
        for clock in [Clock::Probe, Clock::Players] {
            if writer && self.refresher.next_due(clock).is_some() {
                wake = wake.min(self.clocks.of(clock));
            }
        }
        tokio::select! {
            _ = tokio::time::sleep_until(wake) => Some(()),
            () = self.trigger.arrived(), if writer => Some(()),
            signal = shutdown.recv() => {
                info!(signal, "stopping");
                None
            }
        }
    }
}
