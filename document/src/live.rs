//! What the refresher learns between reads of `constants`: whether the game server answers
//! (`game_server`) and how many players are online (`players`), and how that changes the
//! published `state`.
//!
//! The `constants` table says what the operator *intends* (`ServerStatus`); the probe says
//! what the game server *does*. Neither alone is honest: a hand-set "online" stays online
//! through a 3 a.m. crash, and a probe cannot tell a planned maintenance from a crash.
//! [`combine`] is the one precedence rule that joins them, so the refresher, the tests and
//! the docs cannot disagree about it.
//!
//! A probe result is only worth something while the probe keeps running. Each document
//! therefore carries the probe's own clock ([`GameServer::checked_at`], `interval_s`,
//! `deadline_s`), and the reader stops vouching for the state once the deadline has passed
//! (see [`Freshness::with_probe`](crate::Freshness::with_probe)), long before the
//! document's TTL.

use serde::{Deserialize, Serialize};

use crate::state::State;

/// The probe's latest word on the game server, as stored in the document.
///
/// It carries no address: the game server's private address must not reach the public
/// through the reader. `addr_count` says how many addresses had to answer.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GameServer {
    /// Every configured address accepted a TCP connection within the probe timeout, as
    /// judged after `STATUS_PROBE_FAILURES` consecutive failures (one success brings it back).
    pub reachable: bool,
    /// Unix seconds of the latest probe.
    pub checked_at: f64,
    /// How long the slowest address took to accept, in milliseconds; `null` when the latest
    /// probe failed.
    pub latency_ms: Option<f64>,
    /// Unix seconds since when `reachable` has had its current value.
    pub since: f64,
    /// How many addresses the probe connects to (all must answer).
    pub addr_count: u32,
    /// `STATUS_PROBE_INTERVAL`: when the next probe is due after `checked_at`.
    pub interval_s: u64,
    /// How long after `checked_at` this word may be believed: `interval_s ×
    /// (STATUS_PROBE_FAILURES + 1)`. Past it the probe has stopped (the refresher died, or
    /// its link to Redis), and the reader vouches for no state.
    pub deadline_s: u64,
}

impl GameServer {
    /// Whether the probe's word is past its deadline at `now` (unix seconds).
    pub fn overdue(&self, now: f64) -> bool {
        // A NaN `now - checked_at` (a hand-edited document) is overdue: never vouch on it.
        let within = now - self.checked_at <= self.deadline_s as f64;
        !within
    }

    /// Whole seconds until the next probe is due at `now` (0 once due).
    pub fn seconds_until_next(&self, now: f64) -> u64 {
        let remaining = self.checked_at + self.interval_s as f64 - now;
        if remaining.is_finite() && remaining > 0.0 {
            (remaining.floor() as u64).min(self.interval_s)
        } else {
            0
        }
    }
}

/// Why `state` differs from what the `ServerStatus` constant says. Serialised lowercase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StateReason {
    /// The constant says online, but the game server does not answer.
    Unreachable,
}

impl StateReason {
    pub fn as_str(self) -> &'static str {
        match self {
            StateReason::Unreachable => "unreachable",
        }
    }
}

/// The published state, from the constant's state and the probe's reachability (`None`:
/// no probe configured, or no probe result yet).
///
/// The precedence, in order:
/// 1. the constant says `offline` or `maintenance`: that stands (the operator knows of a
///    planned stop, which the probe cannot tell from a crash);
/// 2. the probe says unreachable: `offline`, reason `unreachable`;
/// 3. the probe says reachable: `online` (the constant said `online`, or nothing usable);
/// 4. no probe: the constant's state, as `STATUS_STATES` maps it.
pub fn combine(constant: State, reachable: Option<bool>) -> (State, Option<StateReason>) {
    match (constant, reachable) {
        (State::Offline | State::Maintenance, _) | (_, None) => (constant, None),
        (_, Some(false)) => (State::Offline, Some(StateReason::Unreachable)),
        (_, Some(true)) => (State::Online, None),
    }
}

/// A player count and when it was taken (unix seconds).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlayerCount {
    pub count: u64,
    pub at: f64,
}

/// Everything the refresher knows between reads of `constants`, applied to a built document
/// with [`StatusDocument::apply_live`](crate::StatusDocument::apply_live).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Live {
    /// `None`: no probe configured, or no probe result yet.
    pub game_server: Option<GameServer>,
    /// `None`: no players query configured, or no good count yet.
    pub players: Option<PlayerCount>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe(checked_at: f64) -> GameServer {
        GameServer {
            reachable: true,
            checked_at,
            latency_ms: Some(0.4),
            since: 0.0,
            addr_count: 1,
            interval_s: 10,
            deadline_s: 30,
        }
    }

    #[test]
    fn precedence() {
        use State::*;
        let table = [
            (Online, None, Online, None),
            (Unknown, None, Unknown, None),
            (Online, Some(true), Online, None),
            (Online, Some(false), Offline, Some(StateReason::Unreachable)),
            (Offline, Some(true), Offline, None),
            (Offline, Some(false), Offline, None),
            (Maintenance, Some(false), Maintenance, None),
            (Maintenance, Some(true), Maintenance, None),
            (Unknown, Some(true), Online, None),
            (
                Unknown,
                Some(false),
                Offline,
                Some(StateReason::Unreachable),
            ),
        ];
        for (constant, reachable, state, reason) in table {
            assert_eq!(
                combine(constant, reachable),
                (state, reason),
                "{constant} / {reachable:?}"
            );
        }
    }

    #[test]
    fn deadline_and_next_probe() {
        let p = probe(1000.0);
        assert!(!p.overdue(1000.0) && !p.overdue(1030.0));
        assert!(p.overdue(1030.5));
        assert!(
            !p.overdue(900.0),
            "a clock behind the refresher's is not overdue"
        );
        assert!(p.overdue(f64::NAN));
        assert_eq!(p.seconds_until_next(1000.0), 10);
        assert_eq!(p.seconds_until_next(1003.5), 6);
        assert_eq!(p.seconds_until_next(1011.0), 0);
        assert_eq!(
            p.seconds_until_next(500.0),
            10,
            "never more than one interval"
        );
    }

    #[test]
    fn serialised_names_are_the_contract() {
        let json = serde_json::to_value(probe(5.0)).unwrap();
        let mut keys: Vec<_> = json.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        assert_eq!(
            keys,
            [
                "addr_count",
                "checked_at",
                "deadline_s",
                "interval_s",
                "latency_ms",
                "reachable",
                "since"
            ]
        );
        assert_eq!(
            serde_json::to_string(&StateReason::Unreachable).unwrap(),
            "\"unreachable\""
        );
    }
}
