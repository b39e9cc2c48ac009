//! The headline half of a server on the page: what its published document says now. It
//! changes between history writes (players, the notice, the vouch), so the refresher keeps
//! it apart and swaps it into the kept [`PageServer`] without touching the history half.

use super::{MAX_NOTICE_CHARS, PageServer};
use crate::schema::StatusDocument;
use crate::servers::{Headline, whole_seconds};

/// What the page shows of a server's published document: its headline (which the
/// servers index lists too), the operator's notice and how long it is vouched for.
#[derive(Debug, Clone, PartialEq)]
pub struct PageFacts {
    pub headline: Headline,
    /// Already bounded to [`MAX_NOTICE_CHARS`].
    pub message: Option<String>,
    pub maintenance_until: Option<f64>,
    pub vouched_until: u64,
}

impl PageFacts {
    /// The facts of a published `document`: vouched for until its TTL runs out, or with a
    /// probe until the probe's deadline if that comes first (the reader's own rule, see
    /// [`crate::freshness::vouched_state`]).
    pub fn of(document: &StatusDocument) -> PageFacts {
        let headline = Headline::of(document);
        let by_ttl = headline.updated_at.saturating_add(document.ttl_s);
        let by_probe = document
            .game_server
            .map(|g| whole_seconds(g.checked_at).saturating_add(g.deadline_s));
        PageFacts {
            headline,
            message: document.message.as_deref().map(bounded_notice),
            maintenance_until: document.maintenance_until.filter(|t| t.is_finite()),
            vouched_until: by_probe.map_or(by_ttl, |p| p.min(by_ttl)),
        }
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
        let h = facts.headline;
        self.state = h.state;
        self.state_reason = h.state_reason;
        self.players = h.players;
        self.max_players = h.max_players;
        self.updated_at = h.updated_at;
        self.message = facts.message;
        self.maintenance_until = facts.maintenance_until;
        self.vouched_until = facts.vouched_until;
    }
}
