//! Schema v1 of the status document, as it is stored in Redis.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::live::{GameServer, Live, ServerInfo, StateReason, combine};
use crate::state::State;

/// The version written into every document. A reader refuses any other value rather than
/// guessing at a shape it does not know.
pub const SCHEMA_VERSION: u32 = 1;

/// Upper bound on a stored document, shared by both halves: the refresher refuses to write
/// anything larger and the reader refuses to serve anything larger. 256 KiB is ~50x the size
/// of a realistic document (about 40 constants with descriptions).
pub const MAX_DOCUMENT_BYTES: usize = 256 * 1024;

/// The JSON object stored under the status key (and its `:last_good` copy).
///
/// Field names are the ones the website already reads; `defaulted`, `refresh_interval_s`,
/// `ttl_s` and `schema_version` were added so that a reader can judge a document from the
/// document alone.
///
/// `state`, `message` and `maintenance_until` were added later, within schema version 1:
/// they are additive, so a client that does not know them is unaffected, and a reader still
/// accepts a document written before them (`state` then reads as `unknown`, the two others
/// as absent). That is why they did not need a version bump.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusDocument {
    pub schema_version: u32,
    /// The raw `ServerStatus` value (default 1.0 when it is missing — see `state`); absent
    /// without a constants source (no database configured), like `rates` and
    /// `client_status`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_status: Option<f64>,
    /// What `server_status` means, through the operator's `STATUS_STATES` mapping;
    /// `unknown` when the constant is missing, unusable or not in the mapping.
    #[serde(default)]
    pub state: State,
    /// Why `state` is not what the constant says (`unreachable`, `timeout`, `bad_answer`:
    /// what the game-server probe saw); absent when it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_reason: Option<StateReason>,
    /// The game-server probe's latest word; absent without `GAME_SERVER_ADDR`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub game_server: Option<GameServer>,
    /// What the game's own query protocol says of itself (name, game, map, version);
    /// absent with a `tcp` probe or while the game does not answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<ServerInfo>,
    /// Players online: `STATUS_PLAYERS_QUERY`'s last good count, or else the game's own
    /// count (without bots where the protocol tells them apart).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub players: Option<u64>,
    /// The player limit: the constant `STATUS_MAX_PLAYERS_CONSTANT` names, or else the
    /// game's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_players: Option<u64>,
    /// Bots on the server, where the game's protocol tells them apart from players.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bots: Option<u64>,
    /// Unix seconds at which `players` was counted (how old the count is).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub players_at: Option<f64>,
    /// The operator's text for visitors (e.g. a maintenance notice), bounded; plain text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Unix time (seconds) at which maintenance is planned to end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maintenance_until: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rates: Option<Rates>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_status: Option<f64>,
    /// Unix time (seconds, fractional) at which the database was read.
    pub updated_at: f64,
    /// How often the refresher that wrote this intends to refresh it.
    pub refresh_interval_s: u64,
    /// The Redis TTL it was written with.
    pub ttl_s: u64,
    /// Constant names whose value was absent or unusable, so the field holds its default.
    pub defaulted: Vec<String>,
    /// Constant name -> description.
    #[serde(rename = "_meta")]
    pub meta: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Rates {
    pub exp: f64,
    pub pvp: f64,
    pub pve: f64,
    pub color_mob: f64,
    pub skill: f64,
}

impl StatusDocument {
    /// Serialises the document as stored in Redis (compact, UTF-8, no ASCII escaping).
    pub fn to_json(&self) -> Vec<u8> {
        // Serialising plain structs of numbers, strings and maps with string keys cannot fail.
        serde_json::to_vec(self).expect("status document is always serialisable")
    }

    /// Applies what the refresher learnt between reads of `constants`: `constant_state` is
    /// the state the constant alone gave (what [`build`](crate::build()) wrote), and the probe
    /// may override it by [`combine`]'s precedence. `self` is the document as built from
    /// `constants`: its `max_players` is the constant's, which wins over the game's own.
    pub fn apply_live(&mut self, constant_state: State, live: &Live) {
        let (state, reason) = combine(constant_state, live.game_server.map(|g| g.word()));
        self.state = state;
        self.state_reason = reason;
        self.game_server = live.game_server;
        self.server = live.server.clone();
        let roster = live.roster;
        let counted = live.players.map(|p| (p.count, p.at));
        let count = counted.or(roster.and_then(|r| Some((r.players?, r.at))));
        self.players = count.map(|(n, _)| n);
        self.players_at = count.map(|(_, at)| at);
        self.max_players = self.max_players.or(roster.map(|r| r.max_players));
        self.bots = roster.and_then(|r| r.bots);
    }
}
