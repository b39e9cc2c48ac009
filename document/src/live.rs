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
    /// Why the game server counts as down (`unreachable`, `timeout`, `bad_answer`); absent
    /// while it is reachable, and in documents written before the probe said why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<StateReason>,
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

/// Why `state` differs from what the `ServerStatus` constant says: what the probe saw.
/// Serialised in snake case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StateReason {
    /// Nothing answers: the connection was refused, the host is unreachable, or its name
    /// does not resolve. The state is `offline`.
    Unreachable,
    /// The game server did not answer within `STATUS_PROBE_TIMEOUT`. The state is
    /// `offline`.
    Timeout,
    /// Something answered, but not as the configured game does: a garbage or truncated
    /// packet, another game's protocol. Whether the game is up cannot be told, so the state
    /// is `unknown`: the operator should check the `query` setting.
    BadAnswer,
}

impl StateReason {
    pub fn as_str(self) -> &'static str {
        match self {
            StateReason::Unreachable => "unreachable",
            StateReason::Timeout => "timeout",
            StateReason::BadAnswer => "bad_answer",
        }
    }

    /// The state a down game server publishes for this reason (when the constant does
    /// not name a planned stop).
    pub fn state(self) -> State {
        match self {
            StateReason::Unreachable | StateReason::Timeout => State::Offline,
            StateReason::BadAnswer => State::Unknown,
        }
    }
}

/// What the game's own query protocol said about the server, where it said it: shown to
/// visitors as the server's name, game, map and version. Never player names. Each text is
/// bounded by [`MAX_SERVER_TEXT_CHARS`] and free of control characters; `null` where the
/// game does not say.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ServerInfo {
    /// The server's own name (Quake's colour codes removed).
    pub name: Option<String>,
    /// The game, as the query protocol's definition names it (e.g. "Quake 3 Arena").
    pub game: Option<String>,
    /// The map running now.
    pub map: Option<String>,
    /// The game server's version.
    pub version: Option<String>,
}

/// Longest text of [`ServerInfo`] kept, in characters: a server name is a line, not a page.
pub const MAX_SERVER_TEXT_CHARS: usize = 128;

impl ServerInfo {
    /// `raw` as a published text: control characters dropped, whitespace trimmed, cut to
    /// [`MAX_SERVER_TEXT_CHARS`]; `None` when nothing is left.
    pub fn text(raw: &str) -> Option<String> {
        let clean: String = raw
            .chars()
            .filter(|c| !c.is_control())
            .take(MAX_SERVER_TEXT_CHARS * 2)
            .collect();
        let trimmed: String = clean.trim().chars().take(MAX_SERVER_TEXT_CHARS).collect();
        (!trimmed.is_empty()).then_some(trimmed)
    }
}

/// The game's own count of who is on the server, from its query protocol.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Roster {
    /// People playing: the protocol's count without bots where it tells them apart;
    /// `None` where the protocol's count cannot be trusted.
    pub players: Option<u64>,
    pub max_players: u64,
    /// Bots, where the protocol tells them apart.
    pub bots: Option<u64>,
    /// Unix seconds of the answer.
    pub at: f64,
}

/// The published state, from the constant's state and the probe's reachability (`None`:
/// no probe configured, or no probe result yet).
///
/// The precedence, in order:
/// 1. the constant says `offline` or `maintenance`: that stands (the operator knows of a
///    planned stop, which the probe cannot tell from a crash);
/// 2. the probe says down: `offline` with the reason (`unreachable`, `timeout`), or
///    `unknown` when what answered was not the game (`bad_answer`);
/// 3. the probe says reachable: `online` (the constant said `online`, or nothing usable);
/// 4. no probe: the constant's state, as `STATUS_STATES` maps it.
///
/// `probe` is the probe's word: `Ok(())` reachable, `Err(reason)` down, `None` no word.
pub fn combine(
    constant: State,
    probe: Option<Result<(), StateReason>>,
) -> (State, Option<StateReason>) {
    match (constant, probe) {
        (State::Offline | State::Maintenance, _) | (_, None) => (constant, None),
        (_, Some(Err(reason))) => (reason.state(), Some(reason)),
        (_, Some(Ok(()))) => (State::Online, None),
    }
}

impl GameServer {
    /// The word [`combine`] takes: reachable, or down with its reason (`unreachable` for a
    /// document written before the probe said why).
    pub fn word(&self) -> Result<(), StateReason> {
        if self.reachable {
            Ok(())
        } else {
            Err(self.failure.unwrap_or(StateReason::Unreachable))
        }
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
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Live {
    /// `None`: no probe configured, or no probe result yet.
    pub game_server: Option<GameServer>,
    /// `None`: no players query configured, or no good count yet. Wins over the game's own
    /// count: the operator chose it.
    pub players: Option<PlayerCount>,
    /// The game's own count, from its query protocol's latest answer while it answers.
    pub roster: Option<Roster>,
    /// The game's own name, map and version, from the same answer.
    pub server: Option<ServerInfo>,
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
            failure: None,
            deadline_s: 30,
        }
    }

    #[test]
    fn precedence() {
        use State::*;
        use StateReason::*;
        let up = Some(Ok(()));
        let table = [
            (Online, None, Online, None),
            (Unknown, None, Unknown, None),
            (Online, up, Online, None),
            (Online, Some(Err(Unreachable)), Offline, Some(Unreachable)),
            (Online, Some(Err(Timeout)), Offline, Some(Timeout)),
            (Online, Some(Err(BadAnswer)), Unknown, Some(BadAnswer)),
            (Offline, up, Offline, None),
            (Offline, Some(Err(Timeout)), Offline, None),
            (Maintenance, Some(Err(Unreachable)), Maintenance, None),
            (Maintenance, up, Maintenance, None),
            (Unknown, up, Online, None),
            (Unknown, Some(Err(Unreachable)), Offline, Some(Unreachable)),
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
        for reason in [
            StateReason::Unreachable,
            StateReason::Timeout,
            StateReason::BadAnswer,
        ] {
            let json = serde_json::to_string(&reason).unwrap();
            assert_eq!(json, format!("\"{}\"", reason.as_str()));
        }
        let down = GameServer {
            reachable: false,
            failure: Some(StateReason::Timeout),
            ..probe(5.0)
        };
        assert_eq!(serde_json::to_value(down).unwrap()["failure"], "timeout");
        let old: GameServer = serde_json::from_value(serde_json::json!({
            "reachable": false, "checked_at": 1.0, "latency_ms": null, "since": 1.0,
            "addr_count": 1, "interval_s": 10, "deadline_s": 30
        }))
        .unwrap();
        assert_eq!(old.word(), Err(StateReason::Unreachable), "older documents");
    }

    #[test]
    fn server_texts_are_bounded_plain_lines() {
        assert_eq!(
            ServerInfo::text("  My server\n\t "),
            Some("My server".into())
        );
        assert_eq!(ServerInfo::text("\u{7}\u{1b}"), None);
        let long = "x".repeat(1000);
        assert_eq!(
            ServerInfo::text(&long).unwrap().chars().count(),
            MAX_SERVER_TEXT_CHARS
        );
    }
}
