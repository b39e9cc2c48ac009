//! [`Liveness`]: single probes in, the published word out.

use status_document::{GameServer, Roster, ServerInfo, StateReason};

use super::{Answer, Observation};
use crate::config::ProbeSettings;

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
    /// Why the latest failed probe failed; published while the server counts as down.
    failure: Option<StateReason>,
    /// The game's latest answer and its time, kept while the server counts as reachable.
    answer: Option<(Answer, f64)>,
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
            failure: None,
            answer: None,
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
        self.failure = published.failure;
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
        self.answer = None;
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
        if let Some(answer) = &seen.answer {
            self.answer = Some((answer.clone(), now));
        }
        let next = if seen.ok() {
            self.consecutive_failures = 0;
            true
        } else {
            self.failure = seen.failure.as_ref().map(|f| f.reason);
            self.consecutive_failures = self.consecutive_failures.saturating_add(1);
            // Still up until enough failures in a row; from down or unknown, down.
            self.reachable == Some(true) && self.consecutive_failures < self.settings.failures
        };
        if !next {
            // A down server has no players, map or name to show.
            self.answer = None;
        }
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
            failure: if reachable { None } else { self.failure },
        })
    }

    /// The game's own count, from its latest answer while it counts as reachable.
    pub fn roster(&self) -> Option<Roster> {
        let (answer, at) = self.answer.as_ref()?;
        Some(Roster {
            players: answer.players,
            max_players: answer.max_players,
            bots: answer.bots,
            at: *at,
        })
    }

    /// The game's own name, map and version, from the same answer.
    pub fn server(&self) -> Option<ServerInfo> {
        self.answer
            .as_ref()
            .map(|(answer, _)| answer.server.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Query;
    use crate::read::probe::Failure;
    use std::time::Duration;

    fn settings(failures: u32) -> ProbeSettings {
        ProbeSettings {
            addrs: vec!["127.0.0.1:1".into(), "127.0.0.1:2".into()],
            query: Query::Tcp,
            interval: Duration::from_secs(10),
            timeout: Duration::from_secs(3),
            failures,
        }
    }

    fn up() -> Observation {
        Observation {
            latency: Some(Duration::from_micros(1500)),
            failure: None,
            answer: None,
        }
    }

    fn down() -> Observation {
        Observation {
            latency: None,
            failure: Some(Failure {
                reason: StateReason::Timeout,
                detail: "127.0.0.1:1: no answer".into(),
            }),
            answer: None,
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

    #[test]
    fn a_down_word_says_why_and_shows_no_answer() {
        let mut l = Liveness::new(settings(1));
        let answer = Answer {
            players: Some(3),
            max_players: 16,
            bots: Some(2),
            server: ServerInfo {
                name: Some("Arena".into()),
                ..ServerInfo::default()
            },
        };
        l.observe(
            &Observation {
                answer: Some(answer.clone()),
                ..up()
            },
            100.0,
        );
        let roster = l.roster().unwrap();
        assert_eq!(
            (roster.players, roster.bots, roster.at),
            (Some(3), Some(2), 100.0)
        );
        assert_eq!(l.server(), Some(answer.server));
        assert_eq!(l.game_server().unwrap().failure, None);

        assert_eq!(l.observe(&down(), 110.0), Some(Change { reachable: false }));
        let g = l.game_server().unwrap();
        assert_eq!(g.failure, Some(StateReason::Timeout));
        assert_eq!(g.word(), Err(StateReason::Timeout));
        assert_eq!((l.roster(), l.server()), (None, None));

        let mut next = Liveness::new(settings(1));
        next.carry_on(&g);
        assert_eq!(next.game_server(), Some(g), "the reason is carried on");
        l.observe(&up(), 120.0);
        assert_eq!(l.game_server().unwrap().failure, None);
    }
}
