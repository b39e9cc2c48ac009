//! The notifier's rounds, and `notify-test`.
//!
//! A round runs when the published state changes, when something it waits for falls due
//! (a hold ends, a retry is due, the hour's quiet ends), and at least every [`IDLE`] while
//! this replica publishes. Each round:
//!
//! 1. loads the outbox and the ledger ([`Outbox::load`]; nothing more if another replica
//!    holds the lease);
//! 2. lets the [`Ledger`](super::hold::Ledger) take the published state and, if a change
//!    is due, queues one message per target, and saves **before** any send;
//! 3. sends every message that is due, one at a time, and saves after each answer:
//!    delivered or rejected (4xx other than 429) removes it, a time-out, a refused
//!    connection, a 5xx or a 429 schedules it again (exponential backoff with jitter, or
//!    exactly the `Retry-After`), and a message older than `STATUS_NOTIFY_GIVE_UP` is
//!    given up, logged as an error and counted in `/metrics`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};
use tokio::sync::watch;
use tokio::time::Instant;
use tracing::{error, info, warn};

use serde::{Deserialize, Serialize};

use super::hold::{Announcement, Ledger, Observed};
use super::message::{self, Text};
use super::send::{Answer, Http};
use super::{discord, telegram, webhook};
use crate::clock::unix_now;
use crate::config::{Kind, NotifySettings, Target};
use crate::report::metrics::{Metrics, NotifyResult};
use crate::write::outbox::{MAX_PENDING, Outbox};

/// Longest time between two rounds while this replica publishes.
pub const IDLE: Duration = Duration::from_secs(30);
/// Wait after a Redis failure before the next round.
const REDIS_RETRY: Duration = Duration::from_secs(2);
/// Longest backoff between two attempts of one message.
const MAX_BACKOFF_S: f64 = 30.0;

/// One message to one target, as the outbox keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pending {
    /// Stable across attempts, restarts and takeovers: one incident, one target.
    pub id: String,
    /// The target's name (`discord`, `webhook2`); the URL is never stored.
    pub target: String,
    pub announcement: Announcement,
    /// Unix seconds when it was queued.
    pub created: f64,
    pub attempts: u32,
    /// Unix seconds before which it is not sent again.
    pub next_at: f64,
}

/// The ledger and the outbox, as loaded and saved together.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stored {
    pub ledger: Ledger,
    pub pending: Vec<Pending>,
}

impl Stored {
    /// Queues `p`; past [`MAX_PENDING`] the oldest goes (returned, to be reported).
    pub fn push(&mut self, p: Pending) -> Option<Pending> {
        self.pending.push(p);
        (self.pending.len() > MAX_PENDING).then(|| self.pending.remove(0))
    }
}

pub struct Notifier {
    settings: NotifySettings,
    /// The server's name, put before every line when the refresher publishes several (or
    /// a servers file's one): a channel shared by many servers must say which one.
    server: Option<String>,
    http: Http,
    outbox: Outbox,
    metrics: Arc<Metrics>,
    feed: watch::Receiver<Option<Observed>>,
    /// The last rejection logged per target, so a revoked webhook is one error, not one
    /// per message.
    rejected: HashMap<String, u16>,
}

impl Notifier {
    pub fn new(
        settings: NotifySettings,
        http: Http,
        outbox: Outbox,
        metrics: Arc<Metrics>,
        feed: watch::Receiver<Option<Observed>>,
    ) -> Notifier {
        Notifier {
            settings,
            server: None,
            http,
            outbox,
            metrics,
            feed,
            rejected: HashMap::new(),
        }
    }

    /// Puts `server` (its name, when the refresher publishes several) before every line, as
    /// [`Text::for_server`] does.
    pub fn for_server(mut self, server: Option<String>) -> Notifier {
        self.server = server;
        self
    }

    /// Runs until the feed's sender is dropped.
    pub async fn run(mut self) {
        let mut next_round: Option<Instant> = None;
        let mut last_key = None;
        loop {
            let wake = next_round.unwrap_or_else(|| Instant::now() + IDLE);
            let by_feed = tokio::select! {
                changed = self.feed.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    true
                }
                () = tokio::time::sleep_until(wake) => false,
            };
            let observed = self.feed.borrow_and_update().clone();
            let Some(observed) = observed else {
                // Not the writer (any more): nothing until it publishes again.
                last_key = None;
                next_round = None;
                continue;
            };
            let key = Some(observed.key());
            let due = next_round.is_some_and(|t| Instant::now() >= t);
            if by_feed && key == last_key && !due {
                continue;
            }
            last_key = key;
            next_round = self.round(&observed).await.map(|d| Instant::now() + d);
        }
    }

    /// One round; returns when the next is due (`None`: not the holder, wait for the feed).
    async fn round(&mut self, observed: &Observed) -> Option<Duration> {
        let now = unix_now();
        let mut stored = match self.outbox.load().await {
            Ok(Some((ledger, pending))) => Stored { ledger, pending },
            Ok(None) => return None,
            Err(e) => {
                warn!(error = %e, "cannot read the notification outbox; retrying");
                return Some(REDIS_RETRY);
            }
        };
        let mut dirty = stored.ledger.observe(observed, now);
        let (hold, max) = (self.settings.hold, self.settings.max_per_hour);
        if let Some(announcement) = stored.ledger.due(now, hold, max) {
            self.queue(&mut stored, announcement, now);
            dirty = true;
        }
        dirty |= self.give_up_old(&mut stored, now);
        if dirty {
            match self.save(&stored).await {
                Some(true) => {}
                Some(false) => return None,
                None => return Some(REDIS_RETRY),
            }
        }
        // Send what is due, oldest first; each answer is saved before the next send.
        let due: Vec<String> = stored
            .pending
            .iter()
            .filter(|p| p.next_at <= now)
            .map(|p| p.id.clone())
            .collect();
        for id in due {
            let Some(i) = stored.pending.iter().position(|p| p.id == id) else {
                continue;
            };
            let pending = stored.pending[i].clone();
            let outcome = self.attempt(&pending).await;
            match outcome {
                Some(next_at) => {
                    let p = &mut stored.pending[i];
                    p.attempts = p.attempts.saturating_add(1);
                    p.next_at = next_at;
                }
                None => {
                    stored.pending.remove(i);
                }
            }
            match self.save(&stored).await {
                Some(true) => {}
                Some(false) => return None,
                // The answer is not saved: the message may go out once more (at least once).
                None => return Some(REDIS_RETRY),
            }
        }
        self.metrics.set_notify_pending(stored.pending.len());
        let now = unix_now();
        let next = stored
            .pending
            .iter()
            .map(|p| p.next_at)
            .chain(stored.ledger.next_due(hold))
            .fold(now + IDLE.as_secs_f64(), f64::min);
        Some(Duration::from_secs_f64(
            (next - now).clamp(0.0, IDLE.as_secs_f64()),
        ))
    }

    /// Saves; `Some(false)` when the lease is not ours, `None` on a Redis failure (logged;
    /// the caller retries the whole round).
    async fn save(&self, stored: &Stored) -> Option<bool> {
        match self.outbox.save(&stored.ledger, &stored.pending).await {
            Ok(true) => Some(true),
            Ok(false) => {
                info!("the lease moved to another replica; it sends from now on");
                Some(false)
            }
            Err(e) => {
                warn!(error = %e, "cannot save the notification outbox; retrying");
                None
            }
        }
    }

    /// One message per target, with ids stable for this incident.
    fn queue(&self, stored: &mut Stored, announcement: Announcement, now: f64) {
        let incident = incident_id(&announcement);
        let text = self.text(&announcement);
        info!(
            event = text.event,
            incident = %incident,
            targets = self.settings.targets.len(),
            "announcing: {}",
            text.line
        );
        for target in &self.settings.targets {
            let dropped = stored.push(Pending {
                id: format!("{incident}-{}", target.name),
                target: target.name.clone(),
                announcement: announcement.clone(),
                created: now,
                attempts: 0,
                next_at: now,
            });
            if let Some(old) = dropped {
                error!(target = %old.target, id = %old.id, "notification outbox full; the oldest message is given up");
                self.metrics
                    .record_notify(&old.target, NotifyResult::GaveUp);
            }
        }
    }

    /// What `announcement` says, in the configured language, for this server.
    fn text(&self, announcement: &Announcement) -> Text {
        message::render(announcement, self.settings.lang).for_server(self.server.as_deref())
    }

    fn give_up_old(&self, stored: &mut Stored, now: f64) -> bool {
        let limit = self.settings.give_up.as_secs_f64();
        let before = stored.pending.len();
        stored.pending.retain(|p| {
            let known = self.settings.targets.iter().any(|t| t.name == p.target);
            let keep = known && now - p.created < limit;
            if !keep {
                error!(
                    target = %p.target,
                    id = %p.id,
                    attempts = p.attempts,
                    age_s = (now - p.created).round(),
                    "notification given up: not delivered within STATUS_NOTIFY_GIVE_UP{}",
                    if known { "" } else { " (the target is no longer configured)" }
                );
                self.metrics.record_notify(&p.target, NotifyResult::GaveUp);
            }
            keep
        });
        stored.pending.len() != before
    }

    /// Sends one message; `None` when it is done with (delivered or rejected), else when
    /// to try again.
    async fn attempt(&mut self, p: &Pending) -> Option<f64> {
        let target = self.settings.targets.iter().find(|t| t.name == p.target)?;
        let text = self.text(&p.announcement);
        let answer = self
            .http
            .post(request(
                &self.settings,
                target,
                &text,
                &p.id,
                Some(&p.announcement),
            ))
            .await;
        match answer {
            Answer::Delivered { status, .. } => {
                info!(target = %target.name, id = %p.id, status, attempts = p.attempts + 1, "notification delivered");
                self.metrics.record_notify(&target.name, NotifyResult::Sent);
                self.rejected.remove(&target.name);
                None
            }
            Answer::Rejected { status, body } => {
                if self.rejected.insert(target.name.clone(), status) != Some(status) {
                    error!(
                        target = %target.name,
                        status,
                        answer = %body,
                        "notification refused by the target; not retried (is the URL, token \
                         or chat id in STATUS_NOTIFY still valid?)"
                    );
                }
                self.metrics
                    .record_notify(&target.name, NotifyResult::Rejected);
                None
            }
            Answer::Retry { after, why } => {
                let wait = match after {
                    // Never before the time it asked for; a little later, so that two
                    // targets behind one limit do not come back at once.
                    Some(after) => after.as_secs_f64() * (1.0 + fastrand::f64() * 0.1),
                    None => backoff(p.attempts),
                };
                warn!(
                    target = %target.name,
                    id = %p.id,
                    attempt = p.attempts + 1,
                    retry_in_s = (wait * 10.0).round() / 10.0,
                    reason = %why,
                    "notification not delivered; will retry"
                );
                self.metrics
                    .record_notify(&target.name, NotifyResult::Retry);
                Some(unix_now() + wait)
            }
        }
    }
}

/// Seconds before the next attempt after `attempts` failed ones: 1, 2, 4 … up to
/// [`MAX_BACKOFF_S`], each with jitter (between half and all of it).
pub fn backoff(attempts: u32) -> f64 {
    let base = 2f64.powi(attempts.min(16) as i32).min(MAX_BACKOFF_S);
    base * (0.5 + fastrand::f64() * 0.5)
}

/// The same for every attempt, replica and target of one announcement.
fn incident_id(a: &Announcement) -> String {
    let (kind, seen) = match a {
        Announcement::Change { to, .. } => ("change", to),
        Announcement::Summary { now, .. } => ("summary", now),
    };
    let mut h = Sha256::new();
    h.update(kind.as_bytes());
    h.update(seen.now.state.as_str().as_bytes());
    h.update(seen.now.reason.map_or("", |r| r.as_str()).as_bytes());
    h.update(seen.since.to_bits().to_be_bytes());
    h.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn request(
    settings: &NotifySettings,
    target: &Target,
    text: &Text,
    id: &str,
    announcement: Option<&Announcement>,
) -> super::send::Request {
    let link = settings.link.as_deref();
    match target.kind {
        Kind::Discord => discord::request(target, text, link, settings.lang),
        Kind::Telegram => telegram::request(target, text, link),
        Kind::Webhook => webhook::request(
            target,
            settings.secret.as_ref(),
            &webhook::Payload {
                id,
                text,
                announcement,
                link,
                timestamp: unix_now().max(0.0) as u64,
            },
        ),
    }
}

/// `notify-test`: one test message to every target; returns one line per target (name and
/// answer) and whether all were delivered.
pub async fn test_all(settings: &NotifySettings) -> anyhow::Result<(Vec<String>, bool)> {
    let http = Http::new(settings)?;
    let text = message::test_text(settings.lang);
    let id = format!("test-{:016x}", fastrand::u64(..));
    let mut lines = Vec::new();
    let mut all = true;
    for target in &settings.targets {
        let answer = http
            .post(request(
                settings,
                target,
                &text,
                &format!("{id}-{}", target.name),
                None,
            ))
            .await;
        let line = match answer {
            Answer::Delivered { status, body } => format!("delivered (HTTP {status}) {body}"),
            Answer::Rejected { status, body } => {
                all = false;
                format!("refused (HTTP {status}) {body}")
            }
            Answer::Retry { why, .. } => {
                all = false;
                format!("not delivered: {why}")
            }
        };
        lines.push(format!("{}: {}", target.name, line.trim_end()));
    }
    Ok((lines, all))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_with_jitter_and_a_cap() {
        for attempts in 0..40 {
            let b = backoff(attempts);
            let base = 2f64.powi(attempts.min(16) as i32).min(MAX_BACKOFF_S);
            assert!(b >= base / 2.0 && b <= base, "{attempts}: {b}");
        }
    }
}
