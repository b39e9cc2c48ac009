//! What the writer published, for whoever listens beside the refresh cycle.
//!
//! The refresh cycle tells a [`Feed`] the state of every document it publishes (and `None`
//! when this replica stops being the writer); the notifier ([`crate::notify`]) is the one
//! listener today. The channel lives here, below both, so the refresh cycle never reaches
//! into notification delivery and delivery never reaches into the cycle: the daemon wires
//! the two together.

use serde::{Deserialize, Serialize};
use status_document::{State, StateReason, StatusDocument};
use tokio::sync::watch;

/// What the published document says now, as far as announcements go.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Observed {
    pub state: State,
    pub reason: Option<StateReason>,
    pub players: Option<u64>,
    pub message: Option<String>,
    pub maintenance_until: Option<f64>,
    /// When the game server's reachability last changed, if the state is the probe's.
    pub probe_since: Option<f64>,
}

impl Observed {
    pub fn of(document: &StatusDocument) -> Observed {
        Observed {
            state: document.state,
            reason: document.state_reason,
            players: document.players,
            message: document.message.clone(),
            maintenance_until: document.maintenance_until,
            probe_since: document.game_server.map(|g| g.since),
        }
    }

    /// What makes two observations the same state for announcing.
    pub fn key(&self) -> (State, Option<StateReason>) {
        (self.state, self.reason)
    }
}

/// What the refresher last published, for the notifier (`None`: nothing, or this replica
/// is not the writer any more).
pub type Feed = watch::Sender<Option<Observed>>;

/// A feed and its receiving end.
pub fn feed() -> (Feed, watch::Receiver<Option<Observed>>) {
    watch::channel(None)
}
