//! The game-server probe: is the game server itself accepting connections?
//!
//! A probe is one TCP connect to each configured address, all at once, bounded by
//! `STATUS_PROBE_TIMEOUT`, and closed as soon as it is made: the game server sees one short
//! connection per address per interval, and MySQL sees nothing. A TCP accept is the one
//! thing every game server does, whatever its protocol, and it fails the way players fail:
//! a crashed process refuses, a hung host or a cut link times out.
//!
//! [`Liveness`] turns single probes into the published word: a reachable server counts as
//! down only after `STATUS_PROBE_FAILURES` consecutive failures (one dropped SYN is not an
//! outage), and one success brings it back. It starts from what the previous holder
//! published ([`Liveness::carry_on`]), so a takeover does not flap the state.

use std::time::{Duration, Instant};

use status_document::GameServer;
use tokio::net::TcpStream;
use tokio::task::JoinSet;
use tokio::time::timeout;

use crate::config::ProbeSettings;

/// What one probe saw.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    /// How long the slowest address took to accept; `None` when any address failed.
    pub latency: Option<Duration>,
    /// Why the first failing address failed (for the log; it names the address, which
    /// never leaves the private side).
    pub failure: Option<String>,
}

impl Observation {
    pub fn ok(&self) -> bool {
        self.latency.is_some()
    }
}

/// Connects to every address at once; each attempt is bounded by `timeout`.
pub async fn probe(addrs: &[String], limit: Duration) -> Observation {
    let started = Instant::now();
    let mut attempts = JoinSet::new();
    for addr in addrs {
        let addr = addr.clone();
        attempts.spawn(async move {
            match timeout(limit, TcpStream::connect(addr.as_str())).await {
                // Dropped at once: the connection closes before any byte is sent.
                Ok(Ok(_stream)) => Ok(started.elapsed()),
                Ok(Err(e)) => Err(format!("{addr}: {e}")),
                Err(_) => Err(format!("{addr}: no answer within {limit:?}")),
            }
        });
    }
    let mut slowest = Duration::ZERO;
    let mut failure = None;
    while let Some(joined) = attempts.join_next().await {
        match joined {
            Ok(Ok(took)) => slowest = slowest.max(took),
            Ok(Err(why)) => {
                failure.get_or_insert(why);
            }
            Err(e) => {
                failure.get_or_insert(format!("probe task failed: {e}"));
            }
        }
    }
    match failure {
        None => Observation {
            latency: Some(slowest),
            failure: None,
        },
        Some(why) => Observation {
            latency: None,
            failure: Some(why),
        },
    }
}

/// A change of the published reachability.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Change {
    pub reachable: bool,
}

/// The probe's published word, built from consecutive observations.
#[derive(Debug, Clone)]
pub struct Liveness {
    settings: ProbeSettings,
    /// `None` until the first probe (or a carried-on word) says something.
    reachable: Option<bool>,
    since: f64,
    consecutive_failures: u32,
    checked_at: f64,
    latency_ms: Option<f64>,
}

impl Liveness {
    pub fn new(settings: ProbeSettings) -> Liveness {
        Liveness {
            settings,
            reachable: None,
            since: 0.0,
            consecutive_failures: 0,
            checked_at: 0.0,
            latency_ms: None,
        }
    }

    pub fn settings(&self) -> &ProbeSettings {
        &self.settings
    }

    /// Continues from the word the previous holder published, so a takeover neither
    /// forgets an outage nor starts counting failures from zero. Its `checked_at` stays:
    /// the reader keeps judging the old word by its own deadline until our first probe.
    pub fn carry_on(&mut self, published: &GameServer) {
        self.reachable = Some(published.reachable);
        self.since = published.since;
        self.checked_at = published.checked_at;
        self.latency_ms = published.latency_ms;
        self.consecutive_failures = if published.reachable {
            0
        } else {
            self.settings.failures
        };
    }

    /// Forgets everything (this replica lost the lease: the next holder's word counts).
    pub fn forget(&mut self) {
        self.reachable = None;
        self.consecutive_failures = 0;
    }

    /// Takes one observation made at `now` (unix seconds); returns the change of
    /// reachability it caused, if any.
    ///
    /// From "not known yet" the first observation decides at once: there is no up state to
    /// protect from a single dropped connection. From reachable it takes
    /// `STATUS_PROBE_FAILURES` failures in a row; from unreachable one success.
    pub fn observe(&mut self, seen: &Observation, now: f64) -> Option<Change> {
        self.checked_at = now;
        self.latency_ms = seen.latency.map(|d| (d.as_secs_f64() * 1e6).round() / 1e3);
        let next = if seen.ok() {
            self.consecutive_failures = 0;
            true
        } else {
            self.consecutive_failures = self.consecutive_failures.saturating_add(1);
            // Still up until enough failures in a row; from down or unknown, down.
            self.reachable == Some(true) && self.consecutive_failures < self.settings.failures
        };
        if self.reachable == Some(next) {
            return None;
        }
        self.reachable = Some(next);
        self.since = now;
        Some(Change { reachable: next })
    }

    /// The word to publish; `None` before anything is known.
    pub fn game_server(&self) -> Option<GameServer> {
        let reachable = self.reachable?;
        Some(GameServer {
            reachable,
            checked_at: self.checked_at,
            latency_ms: if reachable { self.latency_ms } else { None },
            since: self.since,
            addr_count: self.settings.addrs.len() as u32,
            interval_s: self.settings.interval.as_secs(),
            deadline_s: self.settings.deadline().as_secs(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    fn settings(failures: u32) -> ProbeSettings {
        ProbeSettings {
            addrs: vec!["127.0.0.1:1".into(), "127.0.0.1:2".into()],
            interval: Duration::from_secs(10),
            timeout: Duration::from_secs(3),
            failures,
        }
    }

    fn up() -> Observation {
        Observation {
            latency: Some(Duration::from_micros(1500)),
            failure: None,
        }
    }

    fn down() -> Observation {
        Observation {
            latency: None,
            failure: Some("refused".into()),
        }
    }

    #[test]
    fn failures_in_a_row_take_it_down_and_one_success_brings_it_back() {
        let mut l = Liveness::new(settings(2));
        assert_eq!(l.game_server(), None);
        assert_eq!(l.observe(&up(), 100.0), Some(Change { reachable: true }));
        let g = l.game_server().unwrap();
        assert_eq!((g.reachable, g.since, g.checked_at), (true, 100.0, 100.0));
        assert_eq!((g.latency_ms, g.addr_count), (Some(1.5), 2));
        assert_eq!((g.interval_s, g.deadline_s), (10, 30));

        assert_eq!(
            l.observe(&down(), 110.0),
            None,
            "one failure is not an outage"
        );
        assert!(l.game_server().unwrap().reachable);
        assert_eq!(l.observe(&up(), 120.0), None);
        assert_eq!(l.observe(&down(), 130.0), None);
        assert_eq!(l.observe(&down(), 140.0), Some(Change { reachable: false }));
        let g = l.game_server().unwrap();
        assert_eq!((g.reachable, g.since, g.latency_ms), (false, 140.0, None));
        assert_eq!(l.observe(&down(), 150.0), None);
        assert_eq!(l.game_server().unwrap().since, 140.0);
        assert_eq!(l.observe(&up(), 160.0), Some(Change { reachable: true }));
        assert_eq!(l.game_server().unwrap().since, 160.0);
    }

    #[test]
    fn the_first_word_decides_at_once() {
        let mut l = Liveness::new(settings(3));
        assert_eq!(l.observe(&down(), 5.0), Some(Change { reachable: false }));
    }

    #[test]
    fn a_takeover_carries_on() {
        let mut old = Liveness::new(settings(2));
        old.observe(&up(), 100.0);
        old.observe(&down(), 110.0);
        old.observe(&down(), 120.0);
        let published = old.game_server().unwrap();

        let mut new = Liveness::new(settings(2));
        new.carry_on(&published);
        assert_eq!(new.game_server(), Some(published), "nothing flaps");
        assert_eq!(new.observe(&down(), 130.0), None, "still down, since 120");
        assert_eq!(new.game_server().unwrap().since, 120.0);

        let mut new = Liveness::new(settings(2));
        new.carry_on(&GameServer {
            reachable: true,
            ..published
        });
        assert_eq!(
            new.observe(&down(), 130.0),
            None,
            "needs two failures again"
        );
        new.forget();
        assert_eq!(new.game_server(), None);
    }

    #[tokio::test]
    async fn probes_every_address() {
        let a = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let b = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let a_addr = a.local_addr().unwrap().to_string();
        let b_addr = b.local_addr().unwrap().to_string();
        let limit = Duration::from_secs(5);
        let seen = probe(&[a_addr.clone(), b_addr.clone()], limit).await;
        assert!(seen.ok(), "{seen:?}");
        drop(b);
        let seen = probe(&[a_addr, b_addr.clone()], limit).await;
        assert!(!seen.ok());
        let why = seen.failure.unwrap();
        assert!(why.starts_with(&b_addr), "{why}");
    }
}
