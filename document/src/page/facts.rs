//! The headline half of a server on the page: what its published document says now. It
//! changes between history writes (players, the notice, the vouch), so the refresher keeps
//! it apart and swaps it into the kept [`PageServer`] without touching the history half.

use super::{MAX_NOTICE_CHARS, PageServer};
use crate::live::StateReason;
use crate::schema::StatusDocument;
use crate::state::State;

/// What the page shows of a server's published document.
#[derive(Debug, Clone, PartialEq)]
pub struct PageFacts {
    pub state: State,
    pub state_reason: Option<StateReason>,
    /// Already bounded to [`MAX_NOTICE_CHARS`].
    pub message: Option<String>,
    pub maintenance_until: Option<f64>,
    pub players: Option<u64>,
    pub max_players: Option<u64>,
    pub updated_at: u64,
    pub vouched_until: u64,
}

impl PageFacts {
    /// The facts of a published `document`: vouched for until its TTL runs out, or with a
    /// probe until the probe's deadline if that comes first (the reader's own rule, see
    /// [`crate::freshness::vouched_state`]).
    pub fn of(document: &StatusDocument) -> PageFacts {
        let updated_at = whole(document.updated_at);
        let by_ttl = updated_at.saturating_add(document.ttl_s);
        let by_probe = document
            .game_server
            .map(|g| whole(g.checked_at).saturating_add(g.deadline_s));
        PageFacts {
            state: document.state,
            state_reason: document.state_reason,
            message: document.message.as_deref().map(bounded_notice),
            maintenance_until: document.maintenance_until.filter(|t| t.is_finite()),
            players: document.players,
            max_players: document.max_players,
            updated_at,
            vouched_until: by_probe.map_or(by_ttl, |p| p.min(by_ttl)),
        }
    }
}

/// Whole non-negative seconds of a time (a NaN or negative one is 0: never vouched for).
fn whole(t: f64) -> u64 {
    if t.is_finite() && t > 0.0 {
        t.floor() as u64
    } else {
        0
    }
}

/// `message` cut to [`MAX_NOTICE_CHARS`] characters (never inside a character).
pub fn bounded_notice(message: &str) -> String {
    match message.char_indices().nth(MAX_NOTICE_CHARS) {
        Some((cut, _)) => message[..cut].to_owned(),
        None => message.to_owned(),
    }
}

impl PageServer {
    /// Swaps in new facts (the history half stays as built).
    pub fn set_facts(&mut self, facts: PageFacts) {
        self.state = facts.state;
        self.state_reason = facts.state_reason;
        self.message = facts.message;
        self.maintenance_until = facts.maintenance_until;
        self.players = facts.players;
        self.max_players = facts.max_players;
        self.updated_at = facts.updated_at;
        self.vouched_until = facts.vouched_until;
    }
}
