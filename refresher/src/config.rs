//! Configuration: environment variables (the names existing deployments already set), each
//! also a command-line flag.
//!
//! Clap reads the raw strings ([`Args`], in `args.rs`); [`Config::from_args`] validates them. Validation is ours rather
//! than clap's for two reasons: a bad value must be reported under the *variable's* name
//! (operators set env vars, not flags), and a bad URL must never be echoed back with its
//! password in it. Every error is a [`ConfigError`], which `main` turns into exit code 2,
//! the same code clap uses for its own usage errors.

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use mysql_async::Opts;
use status_document::keys::MAX_INTERVAL_S;
use status_document::{Mapping, MetaPolicy, StateSettings};

use crate::redact::RedactedUrl;

pub use game::{GameQuery, PlayersSettings, ProbeSettings, Query};

mod args;
mod database;
mod file;
mod game;
mod live;
mod notify;
mod sentinel;
mod servers;
mod states;
#[cfg(test)]
mod tests;
mod tls;
mod watch_mode;

#[cfg(windows)]
pub use args::ServiceAction;
pub use args::{Args, Command, VERSION, flag_for};
pub use file::{ConfigFileError, flags_from_file, with_file};
pub use live::{LiveSettings, RefreshNowConfig};
pub use notify::{Kind, Lang, NotifySettings, OUTBOX_TTL_S, Secret, Target};
pub use sentinel::{DEFAULT_REDIS_URL, Redis, RedisTarget, SentinelSettings};
pub use servers::{Constants, DEFAULT_CONSTANTS_TABLE, ServerSpec, Servers};
pub use states::MAX_CONSTANT_NAME_CHARS;
pub use tls::{DbTls, RedisTls, SslMode};
pub use watch_mode::Watch;

/// Shortest configurable interval. Lower than the live override's minimum
/// ([`status_document::keys::MIN_INTERVAL_S`]) so tests and local runs can cycle quickly; the
/// override key stays bounded because anyone with Redis write access can set it.
pub const MIN_CONFIG_INTERVAL_S: u64 = 1;
/// Longest TTL accepted (a year): anything longer is a typo.
pub const MAX_TTL_S: u64 = 365 * 86_400;
/// Longest per-call timeout accepted.
pub const MAX_TIMEOUT_S: f64 = 300.0;
/// Longest value quoted back in an error message.
const QUOTE_LIMIT: usize = 64;

/// A setting that cannot be used, named by its environment variable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {variable} (--{flag}): {reason}")]
pub struct ConfigError {
    pub variable: &'static str,
    /// The flag setting the same option, from clap's definition ([`flag_for`]).
    pub flag: String,
    pub reason: String,
}

impl ConfigError {
    fn new(variable: &'static str, reason: impl Into<String>) -> Self {
        ConfigError {
            variable,
            flag: flag_for(variable),
            reason: reason.into(),
        }
    }
}

/// The database to read, with a description that is safe to print.
#[derive(Clone)]
pub struct Database {
    /// With DB_SSL_MODE applied.
    pub opts: Opts,
    /// `preferred` only: the plaintext options to use when the server offers no TLS.
    pub plaintext_fallback: Option<Opts>,
    pub tls: DbTls,
    /// `mysql://user:***@host:port/name`: for logs, never containing the password.
    pub display: String,
}

// `Opts` derives `Debug` with the password in it; never let that reach a log.
impl fmt::Debug for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Database")
            .field(&self.display)
            .field(&self.tls)
            .finish()
    }
}

/// How documents are built, apart from the interval (which may change live).
#[derive(Debug, Clone)]
pub struct DocumentSettings {
    pub mapping: Mapping,
    pub meta: MetaPolicy,
    /// `STATUS_CACHE_TTL`.
    pub ttl_s: u64,
    /// `STATUS_STATES` and the message / maintenance-until constants.
    pub state: StateSettings,
    /// `STATUS_HISTORY_LAG`: the longest time between two writes of the history.
    pub history_lag: Duration,
}

/// The validated configuration.
///
/// `Debug` is derived: every field that holds a secret (the Redis target, the database, the
/// TLS material) prints itself redacted, so `{config:?}` is safe to log.
#[derive(Clone, Debug)]
pub struct Config {
    pub redis: Redis,
    /// The database `constants` is read from; `None` without any database setting: the
    /// document then has no constants, and its state comes from the game server alone.
    pub database: Option<Database>,
    /// How the documents are built from it.
    pub document: DocumentSettings,
    pub interval: Duration,
    pub status_key: String,
    pub interval_key: String,
    pub timeout: Duration,
    /// The writer lease's length; `None` when turned off (STATUS_LEASE=0).
    pub lease: Option<Duration>,
    /// Where /health and /metrics are served; `None` when turned off.
    pub metrics_addr: Option<SocketAddr>,
    /// What asks for a refresh besides the interval, and how often it may.
    pub live: LiveSettings,
    /// The game servers to publish: the servers file's (`STATUS_SERVERS_FILE`), or the
    /// one the environment describes (`GAME_SERVER_ADDR`, `STATUS_PLAYERS_QUERY`, the
    /// database's `constants`), id `default`. Never empty.
    pub servers: Servers,
    /// `STATUS_NOTIFY*`: where state changes are announced; `None` without targets.
    pub notify: Option<NotifySettings>,
    pub once: bool,
    /// DB_* settings that were ignored because DATABASE_URL was set (for a start-up warning).
    pub ignored: Vec<&'static str>,
}

impl Config {
    /// The first server (the one, without a servers file): for the start-up log and tests.
    pub fn first(&self) -> &ServerSpec {
        &self.servers.list[0]
    }

    pub fn from_args(args: Args) -> Result<Config, ConfigError> {
        let interval_s = parse_u64(
            "STATUS_UPDATE_INTERVAL",
            &args.status_update_interval,
            MIN_CONFIG_INTERVAL_S..=MAX_INTERVAL_S,
        )?;
        let ttl_s = parse_u64("STATUS_CACHE_TTL", &args.status_cache_ttl, 1..=MAX_TTL_S)?;
        let timeout = parse_timeout(&args.status_timeout)?;
        let lease = parse_lease(&args.status_lease)?;
        let metrics_addr = parse_metrics_addr(&args.status_metrics_addr)?;
        let (status_key, interval_key) = parse_keys(&args)?;
        let meta = args
            .status_meta
            .parse::<MetaPolicy>()
            .map_err(|e| ConfigError::new("STATUS_META", e))?;
        let mapping = Mapping::with_overrides(&args.status_mapping)
            .map_err(|e| ConfigError::new("STATUS_MAPPING", e.to_string()))?;
        let state = states::parse_state_settings(&args)?;
        let redis = sentinel::parse_redis(&args)?;
        let (database, ignored) = database::parse_if_asked_for(&args)?;
        let refresh_channel = live::parse_channel(&args.status_refresh_channel, &status_key)?;
        let probe_defaults = game::probe_defaults(&args)?;
        let probe = game::parse_probe(&args, &probe_defaults)?;
        let players = game::parse_players(&args)?;
        let watch = live::parse_watch(&args.status_watch)?;
        if database.is_none() {
            database::without_database(
                &args,
                probe.is_some() || non_empty(&args.servers).is_some(),
                players.is_some(),
                &watch,
            )?;
        }
        let defaults = servers::Defaults {
            probe: probe_defaults,
            players_interval: game::players_interval(&args)?,
            database: database.is_some(),
        };
        let servers = servers::parse_servers(&args, defaults, probe, players)?;
        let live = LiveSettings {
            channel: refresh_channel,
            min_gap: live::parse_gap(&args.status_min_refresh_gap)?,
            watch,
        };
        let document = DocumentSettings {
            mapping,
            meta,
            ttl_s,
            state,
            history_lag: Duration::from_secs(parse_u64(
                "STATUS_HISTORY_LAG",
                &args.status_history_lag,
                0..=3600,
            )?),
        };
        Ok(Config {
            redis,
            database,
            document,
            interval: Duration::from_secs(interval_s),
            status_key,
            interval_key,
            timeout,
            lease,
            metrics_addr,
            live,
            servers,
            notify: notify::parse_notify(&args, timeout)?,
            once: args.once,
            ignored,
        })
    }
}

/// The notification settings alone, for `notify-test` (which needs no database or Redis).
pub fn notify_from_args(args: &Args) -> Result<Option<NotifySettings>, ConfigError> {
    let timeout = parse_timeout(&args.status_timeout)?;
    notify::parse_notify(args, timeout)
}

fn quote(value: &str) -> String {
    let cut: String = value.chars().take(QUOTE_LIMIT).collect();
    format!("{cut:?}")
}

/// The values a whole-number setting accepts.
type Bounds = std::ops::RangeInclusive<u64>;

/// Whole seconds within `range`.
fn parse_u64(variable: &'static str, raw: &str, range: Bounds) -> Result<u64, ConfigError> {
    read(variable, raw, |n, got| {
        whole(n, range, "whole seconds", got)
    })
}

/// A whole number (a count) within `range`.
fn parse_count(variable: &'static str, raw: &str, range: Bounds) -> Result<u64, ConfigError> {
    read(variable, raw, |n, got| {
        whole(n, range, "a whole number", got)
    })
}

/// `raw`, the value of `variable`, read as a number (`None` if it is none) and checked by
/// `rule`, which quotes `raw` in its error. The rules are shared with the servers file's
/// fields, which show their values as the file has them.
fn read<N: std::str::FromStr, T>(
    variable: &'static str,
    raw: &str,
    rule: impl FnOnce(Option<N>, String) -> Result<T, String>,
) -> Result<T, ConfigError> {
    rule(raw.trim().parse().ok(), quote(raw)).map_err(|why| ConfigError::new(variable, why))
}

/// `n` if it is within `range`; otherwise why not, naming what was `expected` and what was
/// `got`.
fn whole(
    n: Option<u64>,
    range: Bounds,
    expected: &str,
    got: impl fmt::Display,
) -> Result<u64, String> {
    match n {
        Some(n) if range.contains(&n) => Ok(n),
        _ => Err(format!(
            "expected {expected} from {} to {}, got {got}",
            range.start(),
            range.end()
        )),
    }
}

/// Seconds (fractions allowed) for which `ok` holds (NaN never does); otherwise why not,
/// saying what was `expected` and what was `got`.
fn seconds(
    seconds: Option<f64>,
    ok: impl Fn(f64) -> bool,
    expected: &str,
    got: impl fmt::Display,
) -> Result<Duration, String> {
    match seconds {
        Some(s) if !s.is_nan() && ok(s) => Ok(Duration::from_secs_f64(s)),
        _ => Err(format!("expected {expected}, got {got}")),
    }
}

/// Seconds greater than 0 and at most `max` (fractions allowed).
fn positive_seconds(s: Option<f64>, max: f64, got: impl fmt::Display) -> Result<Duration, String> {
    let expected = format!("seconds greater than 0 and at most {max}");
    // `!(a && b)` rather than `!a || !b` so that NaN is rejected too.
    seconds(s, |s| s > 0.0 && s <= max, &expected, got)
}

fn parse_timeout(raw: &str) -> Result<Duration, ConfigError> {
    read("STATUS_TIMEOUT", raw, |s, got| {
        positive_seconds(s, MAX_TIMEOUT_S, got)
    })
}

/// Seconds (fractions allowed) for which `ok` holds (NaN never does); otherwise an error
/// saying what was `expected` and quoting what came.
fn parse_seconds(
    variable: &'static str,
    raw: &str,
    ok: impl Fn(f64) -> bool,
    expected: &str,
) -> Result<Duration, ConfigError> {
    read(variable, raw, |s, got| seconds(s, ok, expected, got))
}

/// An error for the first of `settings` (each a variable and whether it is set) that is set:
/// settings that must not be given here, for the `reason` said.
fn none_set(settings: &[(&'static str, bool)], reason: &str) -> Result<(), ConfigError> {
    match settings.iter().find(|(_, set)| *set) {
        Some((variable, _)) => Err(ConfigError::new(variable, reason)),
        None => Ok(()),
    }
}

/// Longest lease accepted: an hour. A longer lease only delays the takeover.
pub const MAX_LEASE_S: f64 = 3600.0;
/// Shortest lease accepted (other than 0): renewals every third of it must stay cheap.
pub const MIN_LEASE_S: f64 = 1.0;

fn parse_lease(raw: &str) -> Result<Option<Duration>, ConfigError> {
    let seconds: f64 = raw.trim().parse().unwrap_or(f64::NAN);
    if seconds == 0.0 {
        return Ok(None);
    }
    if !(MIN_LEASE_S..=MAX_LEASE_S).contains(&seconds) {
        return Err(ConfigError::new(
            "STATUS_LEASE",
            format!(
                "expected 0 (off) or seconds from {MIN_LEASE_S} to {MAX_LEASE_S}, got {}",
                quote(raw)
            ),
        ));
    }
    Ok(Some(Duration::from_secs_f64(seconds)))
}

fn parse_metrics_addr(raw: &str) -> Result<Option<SocketAddr>, ConfigError> {
    let raw_trimmed = raw.trim();
    if raw_trimmed.is_empty() {
        return Ok(None);
    }
    raw_trimmed.parse::<SocketAddr>().map(Some).map_err(|_| {
        ConfigError::new(
            "STATUS_METRICS_ADDR",
            format!(
                "expected IP:PORT such as 127.0.0.1:9464, or empty to turn it off, got {}",
                quote(raw)
            ),
        )
    })
}

/// `STATUS_KEY` and `STATUS_INTERVAL_KEY`, which must differ.
fn parse_keys(args: &Args) -> Result<(String, String), ConfigError> {
    let status_key = parse_key("STATUS_KEY", &args.status_key)?;
    let interval_key = parse_key("STATUS_INTERVAL_KEY", &args.status_interval_key)?;
    if interval_key == status_key {
        return Err(ConfigError::new(
            "STATUS_INTERVAL_KEY",
            "must differ from STATUS_KEY",
        ));
    }
    Ok((status_key, interval_key))
}

fn parse_key(variable: &'static str, raw: &str) -> Result<String, ConfigError> {
    if raw.is_empty() || raw.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(ConfigError::new(
            variable,
            format!(
                "expected a non-empty Redis key without spaces or control characters, got {}",
                quote(raw)
            ),
        ));
    }
    Ok(raw.to_owned())
}

fn parse_redis_url(raw: &str) -> Result<String, ConfigError> {
    let shown = RedactedUrl(raw);
    let scheme_ok = ["redis://", "rediss://", "unix://", "redis+unix://"]
        .iter()
        .any(|s| raw.starts_with(s));
    if !scheme_ok {
        return Err(ConfigError::new(
            "REDIS_URL",
            format!("expected redis://[user:password@]host[:port][/db], got \"{shown}\""),
        ));
    }
    // Only the kind of error is kept: redis' messages are not promised to omit the URL.
    redis::Client::open(raw).map_err(|e| {
        ConfigError::new(
            "REDIS_URL",
            format!("cannot use \"{shown}\": {:?} error", e.kind()),
        )
    })?;
    Ok(raw.to_owned())
}

fn non_empty(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|v| !v.is_empty())
}
