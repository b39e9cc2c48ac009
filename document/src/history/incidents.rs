//! The changes of the vouched state, kept apart from the seconds because they are what an
//! operator reads first ("down since when, for how long"), and bounded on their own
//! ([`MAX_INCIDENTS`]).

use serde::{Deserialize, Serialize};

use super::{History, Last, MAX_INCIDENTS, Observation};
use crate::live::StateReason;
use crate::state::State;

/// What kind of change an incident is; a planned maintenance is its own kind, never an
/// outage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IncidentKind {
    /// To offline.
    Outage,
    /// To online.
    Recovery,
    /// To maintenance (planned).
    Maintenance,
    /// To unknown (the constant says nothing usable).
    Unknown,
}

impl IncidentKind {
    pub(super) fn of(to: State) -> IncidentKind {
        match to {
            State::Offline => IncidentKind::Outage,
            State::Online => IncidentKind::Recovery,
            State::Maintenance => IncidentKind::Maintenance,
            State::Unknown => IncidentKind::Unknown,
        }
    }
}

/// A change of the vouched state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    /// Unix seconds of the observation that saw the new state.
    pub at: i64,
    pub from: State,
    pub to: State,
    pub kind: IncidentKind,
    /// Why, where the probe gives a reason (`unreachable`).
    #[serde(default)]
    pub reason: Option<StateReason>,
    /// How long the state it ends had lasted (unobserved time included: see `since`).
    pub duration_s: u64,
    /// For a maintenance: when it was planned to end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maintenance_until: Option<f64>,
}

impl History {
    /// Records the change from `last`'s state to what `obs` saw, at `at`; the oldest
    /// incidents go past [`MAX_INCIDENTS`].
    pub(super) fn push_incident(&mut self, at: i64, last: &Last, obs: &Observation) {
        self.incidents.push(Incident {
            at,
            from: last.state,
            to: obs.state,
            kind: IncidentKind::of(obs.state),
            reason: obs.reason,
            duration_s: (at - last.state_since).max(0) as u64,
            maintenance_until: obs
                .maintenance_until
                .filter(|_| obs.state == State::Maintenance),
        });
        if self.incidents.len() > MAX_INCIDENTS {
            let excess = self.incidents.len() - MAX_INCIDENTS;
            self.incidents.drain(..excess);
        }
    }

    /// Drops the incidents after `t` (the clock went back past them); returns how many.
    pub(super) fn drop_incidents_after(&mut self, t: i64) -> usize {
        let before = self.incidents.len();
        self.incidents.retain(|i| i.at <= t);
        before - self.incidents.len()
    }
}
