//! `STATUS_SERVERS_FILE` (`--servers`): the game servers one refresher publishes, each with a
//! document of its own (`status_document::servers` says where).
//!
//! Without a file there is one server, id `default`, made of the environment's settings
//! (`GAME_SERVER_ADDR`, `STATUS_PLAYERS_QUERY`, the database's `constants`): the setup from
//! before the file, with the same keys. With a file, each `[[server]]` table is one server;
//! the `STATUS_PROBE_*` and `GAME_SERVER_QUERY` settings are the defaults of its `probe_*`
//! and `query` fields. Every error names the file, the line and the field, so an operator
//! with forty servers finds the one typo; nothing is written before the file is good.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;
use status_document::servers::{MAX_SERVERS, ServerId, display_name};
use toml::Spanned;

use super::game::{
    ProbeDefaults, parse_addr_list, players_statement, probe_failures, probe_interval,
    probe_timeout,
};
use super::{Args, ConfigError, PlayersSettings, ProbeSettings, Query, non_empty, none_set, quote};

/// Largest servers file read: a few hundred bytes per server, [`MAX_SERVERS`] of them.
const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;
/// The table every server reads by default when `constants = true`.
pub const DEFAULT_CONSTANTS_TABLE: &str = "constants";
/// Longest table name MySQL allows.
const MAX_TABLE_CHARS: usize = 64;

/// One game server the refresher publishes.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerSpec {
    pub id: ServerId,
    /// For people: the index, notifications. The id when the file gives none.
    pub name: String,
    /// Position in the servers file: the index's order, across refresher groups.
    pub order: u32,
    /// How the game server is asked; `None`: no probe (the constants alone say the state).
    pub probe: Option<ProbeSettings>,
    /// The table `constants` are read from, in the configured database; `None`: none.
    pub constants: Option<Constants>,
    pub players: Option<PlayersSettings>,
}

/// Where a server's constants come from, and where the servers file said so (for the
/// start-up check that the table exists).
#[derive(Debug, Clone, PartialEq)]
pub struct Constants {
    pub table: String,
    /// `file:line` of the `constants` field; `None` for the environment-only server.
    pub origin: Option<String>,
}

/// The servers of this refresher, and the group they form.
#[derive(Debug, Clone, PartialEq)]
pub struct Servers {
    pub list: Vec<ServerSpec>,
    /// `None`: every server of the file (or the one of the environment). `Some`: the
    /// `STATUS_SERVERS_ONLY` subset's name, which keys its lease.
    pub group: Option<String>,
}

impl Servers {
    /// The name the index records a server's writer under.
    pub fn group_name(&self) -> &str {
        self.group.as_deref().unwrap_or("all")
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    server: Vec<Spanned<RawServer>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawServer {
    id: Spanned<String>,
    name: Option<Spanned<String>>,
    addr: Option<Spanned<RawAddr>>,
    query: Option<Spanned<String>>,
    constants: Option<Spanned<RawConstants>>,
    players_query: Option<Spanned<String>>,
    probe_interval: Option<Spanned<u64>>,
    probe_timeout: Option<Spanned<f64>>,
    probe_failures: Option<Spanned<u64>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawAddr {
    One(String),
    Many(Vec<String>),
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawConstants {
    On(bool),
    Table(String),
}

/// What every server starts from: the environment's probe settings.
pub(super) struct Defaults {
    pub probe: ProbeDefaults,
    /// `STATUS_PLAYERS_INTERVAL`.
    pub players_interval: Duration,
    /// Whether a database is configured (a server may then read constants).
    pub database: bool,
}

/// Reads `args`' servers: the file's, or the environment's one.
pub(super) fn parse_servers(
    args: &Args,
    defaults: Defaults,
    env_probe: Option<ProbeSettings>,
    env_players: Option<PlayersSettings>,
) -> Result<Servers, ConfigError> {
    let Some(path) = args.servers.as_deref().filter(|p| !p.trim().is_empty()) else {
        if non_empty(&args.servers_only).is_some() {
            return Err(ConfigError::new(
                "STATUS_SERVERS_ONLY",
                "needs STATUS_SERVERS_FILE: it picks servers of that file",
            ));
        }
        let constants = defaults.database.then(|| Constants {
            table: DEFAULT_CONSTANTS_TABLE.to_owned(),
            origin: None,
        });
        let id = ServerId::default_id();
        return Ok(Servers {
            list: vec![ServerSpec {
                name: id.to_string(),
                id,
                order: 0,
                probe: env_probe,
                constants,
                players: env_players,
            }],
            group: None,
        });
    };
    none_set(
        &[
            ("GAME_SERVER_ADDR", env_probe.is_some()),
            ("STATUS_PLAYERS_QUERY", env_players.is_some()),
        ],
        "is set beside STATUS_SERVERS_FILE: give each server its own in the file (`addr`, \
         `players_query`)",
    )?;
    let list = read_file(Path::new(path), &defaults)?;
    let (list, group) = only(list, args.servers_only.as_deref())?;
    Ok(Servers { list, group })
}

/// An error about the servers file at `line`.
fn at(path: &Path, line: usize, reason: impl std::fmt::Display) -> ConfigError {
    ConfigError::new(
        "STATUS_SERVERS_FILE",
        format!("{}:{line}: {reason}", path.display()),
    )
}

/// The 1-based line of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

fn read_file(path: &Path, defaults: &Defaults) -> Result<Vec<ServerSpec>, ConfigError> {
    let whole = |reason: String| {
        ConfigError::new(
            "STATUS_SERVERS_FILE",
            format!("{}: {reason}", path.display()),
        )
    };
    let size = std::fs::metadata(path)
        .map_err(|e| whole(format!("cannot read it: {e}")))?
        .len();
    if size > MAX_FILE_BYTES {
        return Err(whole(format!("is {size} bytes; at most {MAX_FILE_BYTES}")));
    }
    let bytes = std::fs::read(path).map_err(|e| whole(format!("cannot read it: {e}")))?;
    let text = String::from_utf8(bytes).map_err(|_| whole("is not UTF-8 text".to_owned()))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let raw: RawFile = toml::from_str(text).map_err(|e| {
        let line = e.span().map_or(1, |s| line_of(text, s.start));
        at(path, line, e.message().trim_end())
    })?;
    if raw.server.is_empty() {
        return Err(whole(
            "lists no server; add one `[[server]]` table per game server".to_owned(),
        ));
    }
    if raw.server.len() > MAX_SERVERS {
        return Err(whole(format!(
            "lists {} servers; at most {MAX_SERVERS} per file (split a larger fleet into files)",
            raw.server.len()
        )));
    }
    let file = ServersFile {
        path,
        text,
        defaults,
    };
    let mut seen: HashMap<ServerId, usize> = HashMap::new();
    let mut list = Vec::with_capacity(raw.server.len());
    for (order, server) in raw.server.into_iter().enumerate() {
        let spec = file.server(server.into_inner(), order as u32)?;
        let line = file.line(spec.0);
        if let Some(first) = seen.insert(spec.1.id.clone(), line) {
            return Err(at(
                path,
                line,
                format!(
                    "id: {:?} is already the id of the server at line {first}",
                    spec.1.id.as_str()
                ),
            ));
        }
        list.push(spec.1);
    }
    Ok(list)
}

/// The servers file being read: its text, to turn spans into lines, and what its servers
/// start from.
struct ServersFile<'a> {
    path: &'a Path,
    text: &'a str,
    defaults: &'a Defaults,
}

impl ServersFile<'_> {
    fn line(&self, offset: usize) -> usize {
        line_of(self.text, offset)
    }

    /// An error about `field`, at the value's line.
    fn field<T>(
        &self,
        value: &Spanned<T>,
        field: &str,
        reason: impl std::fmt::Display,
    ) -> ConfigError {
        at(
            self.path,
            self.line(value.span().start),
            format!("{field}: {reason}"),
        )
    }

    /// A number `field`, checked by `rule` (its variable's, see [`super::game`]); `None`
    /// where the table does not give it.
    fn number<N: Copy + std::fmt::Display, T>(
        &self,
        value: &Option<Spanned<N>>,
        field: &str,
        rule: impl FnOnce(Option<N>, N) -> Result<T, String>,
    ) -> Result<Option<T>, ConfigError> {
        let checked = value.as_ref().map(|v| {
            let n = *v.get_ref();
            rule(Some(n), n).map_err(|why| self.field(v, field, why))
        });
        checked.transpose()
    }

    /// One `[[server]]` table, with the offset of its id (for the duplicate check).
    fn server(&self, raw: RawServer, order: u32) -> Result<(usize, ServerSpec), ConfigError> {
        let id = ServerId::parse(raw.id.get_ref()).map_err(|e| self.field(&raw.id, "id", e))?;
        let name = match &raw.name {
            Some(name) if !name.get_ref().trim().is_empty() => display_name(name.get_ref().trim()),
            Some(name) => {
                return Err(self.field(name, "name", "is empty; leave it out to use the id"));
            }
            None => id.to_string(),
        };
        let probe = self.probe(&raw)?;
        let constants = self.constants(&raw)?;
        let players = match &raw.players_query {
            None => None,
            Some(query) if !self.defaults.database => {
                return Err(self.field(
                    query,
                    "players_query",
                    "needs a database (DATABASE_URL or DB_*)",
                ));
            }
            Some(query) => Some(PlayersSettings {
                query: players_statement(query.get_ref())
                    .map_err(|why| self.field(query, "players_query", why))?
                    .ok_or_else(|| self.field(query, "players_query", "is empty"))?,
                interval: self.defaults.players_interval,
            }),
        };
        if probe.is_none() && constants.is_none() {
            return Err(self.field(
                &raw.id,
                "id",
                format!(
                    "server {:?} has neither `addr` nor `constants`: there is nothing to publish",
                    id.as_str()
                ),
            ));
        }
        let offset = raw.id.span().start;
        Ok((
            offset,
            ServerSpec {
                id,
                name,
                order,
                probe,
                constants,
                players,
            },
        ))
    }

    fn probe(&self, raw: &RawServer) -> Result<Option<ProbeSettings>, ConfigError> {
        let defaults = &self.defaults.probe;
        let Some(addr) = &raw.addr else {
            for (value, field) in [
                (raw.query.as_ref().map(|q| q.span()), "query"),
                (
                    raw.probe_interval.as_ref().map(|q| q.span()),
                    "probe_interval",
                ),
                (
                    raw.probe_timeout.as_ref().map(|q| q.span()),
                    "probe_timeout",
                ),
                (
                    raw.probe_failures.as_ref().map(|q| q.span()),
                    "probe_failures",
                ),
            ] {
                if let Some(span) = value {
                    return Err(at(
                        self.path,
                        self.line(span.start),
                        format!("{field}: needs `addr` (the game server to ask)"),
                    ));
                }
            }
            return Ok(None);
        };
        let list: Vec<&str> = match addr.get_ref() {
            RawAddr::One(one) => one.split(',').collect(),
            RawAddr::Many(many) => many.iter().map(String::as_str).collect(),
        };
        let addrs = parse_addr_list(&list).map_err(|why| self.field(addr, "addr", why))?;
        let query = match &raw.query {
            Some(q) => Query::parse(q.get_ref()).map_err(|why| self.field(q, "query", why))?,
            None => defaults.query.clone(),
        };
        let interval = self.number(&raw.probe_interval, "probe_interval", probe_interval)?;
        let interval = interval.unwrap_or(defaults.interval);
        let timeout = self.number(&raw.probe_timeout, "probe_timeout", probe_timeout)?;
        let failures = self.number(&raw.probe_failures, "probe_failures", probe_failures)?;
        Ok(Some(ProbeSettings {
            addrs,
            query,
            interval,
            timeout: timeout.unwrap_or(defaults.timeout).min(interval),
            failures: failures.unwrap_or(defaults.failures),
        }))
    }

    fn constants(&self, raw: &RawServer) -> Result<Option<Constants>, ConfigError> {
        let Some(value) = &raw.constants else {
            return Ok(None);
        };
        let table = match value.get_ref() {
            RawConstants::On(false) => return Ok(None),
            RawConstants::On(true) => DEFAULT_CONSTANTS_TABLE.to_owned(),
            RawConstants::Table(table) => table.clone(),
        };
        if !self.defaults.database {
            return Err(self.field(
                value,
                "constants",
                "needs a database (DATABASE_URL or DB_*); set `constants = false` or leave it out",
            ));
        }
        let valid = !table.is_empty()
            && table.chars().count() <= MAX_TABLE_CHARS
            && table.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err(self.field(
                value,
                "constants",
                format!("expected true, false or a table name (letters, digits, '_', at most {MAX_TABLE_CHARS}), got {}", quote(&table)),
            ));
        }
        Ok(Some(Constants {
            table,
            origin: Some(format!(
                "{}:{}",
                self.path.display(),
                self.line(value.span().start)
            )),
        }))
    }
}

/// The `STATUS_SERVERS_ONLY` subset, in the file's order, and its group name.
fn only(
    list: Vec<ServerSpec>,
    raw: Option<&str>,
) -> Result<(Vec<ServerSpec>, Option<String>), ConfigError> {
    let Some(raw) = raw.filter(|r| !r.trim().is_empty()) else {
        return Ok((list, None));
    };
    let mut wanted = Vec::new();
    for part in raw.split(',').map(str::trim) {
        let id = ServerId::parse(part).map_err(|e| {
            ConfigError::new("STATUS_SERVERS_ONLY", format!("{}: {e}", quote(part)))
        })?;
        if !list.iter().any(|s| s.id == id) {
            return Err(ConfigError::new(
                "STATUS_SERVERS_ONLY",
                format!("{} is not an id in STATUS_SERVERS_FILE", quote(part)),
            ));
        }
        if !wanted.contains(&id) {
            wanted.push(id);
        }
    }
    let mut names: Vec<&str> = wanted.iter().map(ServerId::as_str).collect();
    names.sort_unstable();
    let group = format!("group-{:016x}", fnv1a(names.join(",").as_bytes()));
    let list = list
        .into_iter()
        .filter(|s| wanted.contains(&s.id))
        .collect();
    Ok((list, Some(group)))
}

/// FNV-1a, 64 bits: a short, stable name for a set of ids (not a secret, not a defence).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, b| {
        (hash ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}
