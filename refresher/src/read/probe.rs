//! The game-server probe: is the game server itself answering, and what does it say?
//!
//! A probe asks every configured address at once, each bounded by `STATUS_PROBE_TIMEOUT`,
//! in one of two ways (`GAME_SERVER_QUERY`):
//!
//! - `tcp` ([`tcp`]): one TCP connect, closed as soon as it is made. A TCP accept is the one
//!   thing every game server does, whatever its protocol, and it fails the way players fail:
//!   a crashed process refuses, a hung host or a cut link times out. It tells nothing more.
//! - a game id ([`game`]): the game's own query protocol through the `gamedig` library
//!   (Quake's `getstatus`, Valve's A2S, Minecraft's Server List Ping, ...). Besides "it
//!   answers" it tells players, bots, the player limit, map, server name and version. A
//!   process that accepts connections but no longer runs the game fails it, which a TCP
//!   connect cannot see.
//!
//! Either way a failure says why, in three words the document publishes as `state_reason`
//! ([`StateReason`]): `unreachable` (refused, no route, a name that does not resolve),
//! `timeout` (no answer in time), `bad_answer` (something answered, not as the game does:
//! garbage, a truncated packet, another game's protocol). The log gets the whole story,
//! with the address, which never leaves the private side.
//!
//! [`Liveness`] turns single probes into the published word: a reachable server counts as
//! down only after `STATUS_PROBE_FAILURES` consecutive failures (one dropped packet is not an
//! outage), and one success brings it back. It starts from what the previous holder
//! published ([`Liveness::carry_on`]), so a takeover does not flap the state.

mod game;
mod liveness;
mod tcp;

use std::time::{Duration, Instant};

use status_document::{ServerInfo, StateReason};
use tokio::task::JoinSet;

use crate::config::{ProbeSettings, Query};

pub use liveness::{Change, Liveness};

/// What one probe saw.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    /// How long the slowest address took to answer; `None` when any address failed.
    pub latency: Option<Duration>,
    /// Why the first failing address failed.
    pub failure: Option<Failure>,
    /// What the game said of itself (protocol queries only; the first address's answer).
    pub answer: Option<Answer>,
}

impl Observation {
    pub fn ok(&self) -> bool {
        self.latency.is_some()
    }
}

/// Why an address failed: the published word, and the detail for the log (it names the
/// address, so it is never published).
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub reason: StateReason,
    pub detail: String,
}

impl Failure {
    fn new(reason: StateReason, addr: &str, detail: impl std::fmt::Display) -> Failure {
        Failure {
            reason,
            detail: format!("{addr}: {detail}"),
        }
    }
}

/// A game's answer to its query protocol, reduced to what may be published: counts and the
/// server's own texts, never player names.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// People playing (without bots where the protocol tells them apart). `None` for the
    /// Quake protocols: gamedig 0.9.0's Quake client never reads the player lines of the
    /// answer (`while !bufferer.remaining_length() == 0` in `protocols/quake/client.rs`
    /// never loops), so its count is always 0. A missing count is honest; a 0 with people
    /// on the server is not. `game/tests.rs` fails once a gamedig release fixes it.
    pub players: Option<u64>,
    pub max_players: u64,
    pub bots: Option<u64>,
    pub server: ServerInfo,
}

/// Asks every address at once, the way `settings.query` says; each ask is bounded by
/// `settings.timeout`.
pub async fn probe(settings: &ProbeSettings) -> Observation {
    let started = Instant::now();
    let limit = settings.timeout;
    let mut asks = JoinSet::new();
    for (index, addr) in settings.addrs.iter().enumerate() {
        let addr = addr.clone();
        let query = settings.query.clone();
        asks.spawn(async move {
            let answered = match &query {
                Query::Tcp => tcp::connect(&addr, limit).await.map(|()| None),
                Query::Game(game) => game::query(game, &addr, limit).await.map(Some),
            };
            (index, answered.map(|answer| (started.elapsed(), answer)))
        });
    }
    let mut slowest = Duration::ZERO;
    let mut failure: Option<(usize, Failure)> = None;
    let mut first_answer: Option<(usize, Answer)> = None;
    while let Some(joined) = asks.join_next().await {
        let (index, result) = match joined {
            Ok(done) => done,
            Err(e) => (
                usize::MAX,
                Err(Failure {
                    reason: StateReason::Unreachable,
                    detail: format!("probe task failed: {e}"),
                }),
            ),
        };
        match result {
            Ok((took, answer)) => {
                slowest = slowest.max(took);
                if let Some(answer) = answer
                    && first_answer.as_ref().is_none_or(|(i, _)| index < *i)
                {
                    first_answer = Some((index, answer));
                }
            }
            // The first address in the configured order names the failure, so the log
            // and the reason do not depend on which answer came back first.
            Err(why) if failure.as_ref().is_none_or(|(i, _)| index < *i) => {
                failure = Some((index, why));
            }
            Err(_) => {}
        }
    }
    match failure {
        None => Observation {
            latency: Some(slowest),
            failure: None,
            answer: first_answer.map(|(_, a)| a),
        },
        Some((_, why)) => Observation {
            latency: None,
            failure: Some(why),
            answer: None,
        },
    }
}
