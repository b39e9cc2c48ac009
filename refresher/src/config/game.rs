//! `GAME_SERVER_ADDR` and `STATUS_PROBE_*` (the liveness probe), `STATUS_PLAYERS_*` (the
//! players query): the settings of what the refresher asks besides `constants`.

use std::fmt::Display;
use std::time::Duration;

use super::{Args, ConfigError, parse_u64, positive_seconds, quote, read, whole};

/// Most addresses one probe connects to: a server listens on a handful of ports.
pub const MAX_PROBE_ADDRS: usize = 16;
/// Longest probe interval: an hour. A slower probe would hardly follow the server.
pub const MAX_PROBE_INTERVAL_S: u64 = 3600;
/// Most consecutive failures a probe may wait for before calling the server down.
pub const MAX_PROBE_FAILURES: u64 = 100;
/// Longest players query accepted, in bytes: one statement, not a script.
pub const MAX_PLAYERS_QUERY_BYTES: usize = 4096;

/// How the probe asks the game server (`GAME_SERVER_QUERY`).
#[derive(Debug, Clone, PartialEq)]
pub enum Query {
    /// A TCP connect: the port accepts. Works for every game, tells nothing more.
    Tcp,
    /// The game's own query protocol, through gamedig's definition of the game.
    Game(GameQuery),
}

/// A game id that gamedig knows, and its definition.
#[derive(Debug, Clone)]
pub struct GameQuery {
    /// The id as configured (`q3a`, `minecraftjava`, ...).
    pub id: String,
    pub game: &'static gamedig::games::Game,
}

impl PartialEq for GameQuery {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}

impl Query {
    /// `tcp`, or a game id gamedig knows (case-insensitive); anything else names a few
    /// known ids so the operator can tell a typo from an unsupported game.
    pub fn parse(raw: &str) -> Result<Query, String> {
        let id = raw.trim().to_ascii_lowercase();
        if id == "tcp" {
            return Ok(Query::Tcp);
        }
        match gamedig::GAMES.get(id.as_str()) {
            Some(game) => Ok(Query::Game(GameQuery { id, game })),
            None => Err(format!(
                "is not `tcp` nor a game id the gamedig library knows; got {}. Examples: q3a, \
                 minecraftjava, valheim, rust, csgo, tf2 (the list: \
                 https://github.com/gamedig/rust-gamedig/blob/main/GAMES.md)",
                quote(raw)
            )),
        }
    }

    /// The name the log and `/health` use: `tcp` or the game id.
    pub fn id(&self) -> &str {
        match self {
            Query::Tcp => "tcp",
            Query::Game(g) => &g.id,
        }
    }
}

/// The game-server probe, when `GAME_SERVER_ADDR` is set.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeSettings {
    /// `host:port` each; all must answer. Internal only: never published.
    pub addrs: Vec<String>,
    /// How each address is asked.
    pub query: Query,
    pub interval: Duration,
    /// Bounded by `interval`, so one probe is over before the next is due.
    pub timeout: Duration,
    /// Consecutive failures before a reachable server counts as down.
    pub failures: u32,
}

impl ProbeSettings {
    /// How long one probe result may be believed: the probe's interval times
    /// (failures + 1). Past it the probe has stopped, not merely failed.
    pub fn deadline(&self) -> Duration {
        self.interval * (self.failures + 1)
    }
}

/// The players query, when `STATUS_PLAYERS_QUERY` is set.
#[derive(Debug, Clone, PartialEq)]
pub struct PlayersSettings {
    /// One SQL statement returning one non-negative integer.
    pub query: String,
    pub interval: Duration,
}

/// What every probe starts from: `GAME_SERVER_QUERY` and `STATUS_PROBE_*`, checked even
/// when no server is probed (a typo is reported before it matters).
#[derive(Debug, Clone)]
pub(super) struct ProbeDefaults {
    pub query: Query,
    pub interval: Duration,
    pub timeout: Duration,
    pub failures: u32,
}

pub(super) fn probe_defaults(args: &Args) -> Result<ProbeDefaults, ConfigError> {
    let query = Query::parse(&args.game_server_query)
        .map_err(|why| ConfigError::new("GAME_SERVER_QUERY", why))?;
    Ok(ProbeDefaults {
        query,
        interval: read(
            "STATUS_PROBE_INTERVAL",
            &args.status_probe_interval,
            probe_interval,
        )?,
        timeout: read(
            "STATUS_PROBE_TIMEOUT",
            &args.status_probe_timeout,
            probe_timeout,
        )?,
        failures: read(
            "STATUS_PROBE_FAILURES",
            &args.status_probe_failures,
            probe_failures,
        )?,
    })
}

// The probe's numbers, one rule each for `STATUS_PROBE_*` and a servers file's `probe_*`
// fields (which show the value they got as the file has it).

/// Whole seconds from 1 to [`MAX_PROBE_INTERVAL_S`].
pub(super) fn probe_interval(s: Option<u64>, got: impl Display) -> Result<Duration, String> {
    whole(s, 1..=MAX_PROBE_INTERVAL_S, "whole seconds", got).map(Duration::from_secs)
}

/// Seconds greater than 0 and at most [`MAX_PROBE_INTERVAL_S`] (fractions allowed).
pub(super) fn probe_timeout(s: Option<f64>, got: impl Display) -> Result<Duration, String> {
    positive_seconds(s, MAX_PROBE_INTERVAL_S as f64, got)
}

/// A whole number from 1 to [`MAX_PROBE_FAILURES`].
pub(super) fn probe_failures(n: Option<u64>, got: impl Display) -> Result<u32, String> {
    whole(n, 1..=MAX_PROBE_FAILURES, "a whole number", got).map(|n| n as u32)
}

pub(super) fn parse_probe(
    args: &Args,
    defaults: &ProbeDefaults,
) -> Result<Option<ProbeSettings>, ConfigError> {
    let Some(raw) = args
        .game_server_addr
        .as_deref()
        .filter(|a| !a.trim().is_empty())
    else {
        return Ok(None);
    };
    Ok(Some(ProbeSettings {
        addrs: parse_addrs(raw)?,
        query: defaults.query.clone(),
        interval: defaults.interval,
        // A probe longer than its interval would overlap the next; the daemon says so at
        // start-up (see `daemon::run`).
        timeout: defaults.timeout.min(defaults.interval),
        failures: defaults.failures,
    }))
}

pub(super) fn parse_players(args: &Args) -> Result<Option<PlayersSettings>, ConfigError> {
    let Some(raw) = args.status_players_query.as_deref() else {
        return Ok(None);
    };
    let Some(query) =
        players_statement(raw).map_err(|why| ConfigError::new("STATUS_PLAYERS_QUERY", why))?
    else {
        return Ok(None);
    };
    Ok(Some(PlayersSettings {
        query,
        interval: players_interval(args)?,
    }))
}

/// `STATUS_PLAYERS_INTERVAL`.
pub(super) fn players_interval(args: &Args) -> Result<Duration, ConfigError> {
    let interval_s = parse_u64(
        "STATUS_PLAYERS_INTERVAL",
        &args.status_players_interval,
        1..=MAX_PROBE_INTERVAL_S * 24,
    )?;
    Ok(Duration::from_secs(interval_s))
}

/// A players query as written: one statement (a trailing `;` allowed), bounded; `None`
/// when empty; otherwise why not.
pub(super) fn players_statement(raw: &str) -> Result<Option<String>, String> {
    // A trailing `;` is how people end a statement; anything after one is a second statement.
    let query = raw.trim().trim_end_matches(';').trim_end();
    if query.is_empty() {
        return Ok(None);
    }
    if query.len() > MAX_PLAYERS_QUERY_BYTES {
        return Err(format!(
            "is {} bytes; at most {MAX_PLAYERS_QUERY_BYTES}",
            query.len()
        ));
    }
    if query.contains(';') {
        return Err(format!(
            "must be one statement (no ';' inside), e.g. SELECT COUNT(*) FROM characters \
             WHERE online = 1; got {}",
            quote(raw)
        ));
    }
    Ok(Some(query.to_owned()))
}

/// `host:port[,host:port...]`; `[v6]:port` for IPv6 literals.
fn parse_addrs(raw: &str) -> Result<Vec<String>, ConfigError> {
    let list: Vec<&str> = raw.split(',').collect();
    parse_addr_list(&list).map_err(|why| ConfigError::new("GAME_SERVER_ADDR", why))
}

/// Each of `list` a `host:port` (`[v6]:port` for IPv6 literals), none twice, at most
/// [`MAX_PROBE_ADDRS`]; otherwise why not.
pub(super) fn parse_addr_list(list: &[&str]) -> Result<Vec<String>, String> {
    let expected =
        |why: String| format!("expected host:port[,host:port...] (every one must answer); {why}");
    let mut addrs: Vec<String> = Vec::new();
    for part in list.iter().map(|p| p.trim()) {
        let bad = || expected(format!("got {}", quote(part)));
        let (host, port) = part.rsplit_once(':').ok_or_else(bad)?;
        let host_ok = match host.strip_prefix('[') {
            Some(v6) => v6
                .strip_suffix(']')
                .is_some_and(|ip| ip.parse::<std::net::Ipv6Addr>().is_ok()),
            None => {
                !host.is_empty()
                    && host
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
            }
        };
        let port_ok = port.parse::<u16>().is_ok_and(|p| p > 0);
        if !host_ok || !port_ok {
            return Err(bad());
        }
        if addrs.iter().any(|a| a == part) {
            return Err(expected(format!("{} is listed twice", quote(part))));
        }
        addrs.push(part.to_owned());
    }
    if addrs.is_empty() {
        return Err(expected("got none".to_owned()));
    }
    if addrs.len() > MAX_PROBE_ADDRS {
        return Err(expected(format!(
            "{} addresses given, at most {MAX_PROBE_ADDRS}",
            addrs.len()
        )));
    }
    Ok(addrs)
}
