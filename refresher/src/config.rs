//! Configuration: environment variables (the names existing deployments already set), each
//! also a command-line flag.
//!
//! Clap reads the raw strings; [`Config::from_args`] validates them. Validation is ours rather
//! than clap's for two reasons: a bad value must be reported under the *variable's* name
//! (operators set env vars, not flags), and a bad URL must never be echoed back with its
//! password in it. Every error is a [`ConfigError`], which `main` turns into exit code 2,
//! the same code clap uses for its own usage errors.

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;
use mysql_async::{Opts, OptsBuilder, PoolConstraints, PoolOpts};
use status_document::keys::{DEFAULT_STATUS_KEY, INTERVAL_OVERRIDE_KEY, MAX_INTERVAL_S};
use status_document::{Mapping, MetaPolicy};

use crate::redact::{MASK, RedactedUrl};

/// Shortest configurable interval. Lower than the live override's minimum
/// ([`status_document::keys::MIN_INTERVAL_S`]) so tests and local runs can cycle quickly; the
/// override key stays bounded because anyone with Redis write access can set it.
pub const MIN_CONFIG_INTERVAL_S: u64 = 1;
/// Longest TTL accepted (a year): anything longer is a typo.
pub const MAX_TTL_S: u64 = 365 * 86_400;
/// Longest per-call timeout accepted.
pub const MAX_TIMEOUT_S: f64 = 300.0;
/// Most connections the refresher keeps to the database: it runs one query at a time.
const POOL_MAX_CONNECTIONS: usize = 1;
/// Largest packet the client accepts (see [`with_pool_limits`]).
const MAX_PACKET_BYTES: usize = 64 * 1024 * 1024;
/// The server's default `wait_timeout`; the pool uses it to judge an idle connection dead.
const SERVER_WAIT_TIMEOUT_S: usize = 28_800;
/// Longest value quoted back in an error message.
const QUOTE_LIMIT: usize = 64;

/// Keeps the `constants` table of a MySQL/MariaDB database mirrored into one JSON document
/// in Redis (schema v1), for the public status reader.
///
/// Every option can be set by the environment variable shown; the flag wins over the
/// variable. Prefer the environment for secrets: command lines are visible to other users.
#[derive(Debug, Parser)]
#[command(name = "status-refresher", version, about, long_about = None, args_override_self = true)]
pub struct Args {
    /// Redis URL; credentials allowed (redis://user:password@host:port/db).
    #[arg(
        long,
        env = "REDIS_URL",
        default_value = "redis://127.0.0.1:6379/0",
        hide_env_values = true,
        value_name = "URL"
    )]
    pub redis_url: String,

    /// Database as one URL (mysql://user:password@host:port/database). Overrides DB_*.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true, value_name = "URL")]
    pub database_url: Option<String>,

    /// Database host (when DATABASE_URL is not set).
    #[arg(long, env = "DB_HOST", value_name = "HOST")]
    pub db_host: Option<String>,

    /// Database port.
    #[arg(long, env = "DB_PORT", default_value = "3306", value_name = "PORT")]
    pub db_port: String,

    /// Database user (when DATABASE_URL is not set).
    #[arg(long, env = "DB_USER", value_name = "USER")]
    pub db_user: Option<String>,

    /// Database password (when DATABASE_URL is not set); empty means none.
    #[arg(
        long,
        env = "DB_PASSWORD",
        hide_env_values = true,
        value_name = "PASSWORD"
    )]
    pub db_password: Option<String>,

    /// Database (schema) holding the `constants` table (when DATABASE_URL is not set).
    #[arg(long, env = "DB_NAME", value_name = "NAME")]
    pub db_name: Option<String>,

    /// Seconds between refreshes; the Redis key STATUS_INTERVAL_KEY overrides it live.
    #[arg(
        long,
        env = "STATUS_UPDATE_INTERVAL",
        default_value = "600",
        value_name = "SECONDS"
    )]
    pub status_update_interval: String,

    /// Seconds the document lives in Redis (its `:last_good` copy never expires).
    #[arg(
        long,
        env = "STATUS_CACHE_TTL",
        default_value = "900",
        value_name = "SECONDS"
    )]
    pub status_cache_ttl: String,

    /// Redis key of the status document.
    #[arg(long, env = "STATUS_KEY", default_value = DEFAULT_STATUS_KEY, value_name = "KEY")]
    pub status_key: String,

    /// Redis key read every cycle for a live interval override (10..=86400 seconds).
    #[arg(
        long,
        env = "STATUS_INTERVAL_KEY",
        default_value = INTERVAL_OVERRIDE_KEY,
        value_name = "KEY"
    )]
    pub status_interval_key: String,

    /// Which descriptions go into `_meta`: `all`, `mapped`, or a comma-separated list of names.
    #[arg(
        long,
        env = "STATUS_META",
        default_value = "all",
        value_name = "POLICY"
    )]
    pub status_meta: String,

    /// Overrides of the constant feeding each field, e.g. `rates.exp=ExpRate,server_status=Online`.
    #[arg(
        long,
        env = "STATUS_MAPPING",
        default_value = "",
        value_name = "FIELD=NAME,..."
    )]
    pub status_mapping: String,

    /// Timeout in seconds for every database and Redis call (fractions allowed).
    #[arg(
        long,
        env = "STATUS_TIMEOUT",
        default_value = "5",
        value_name = "SECONDS"
    )]
    pub status_timeout: String,

    /// Writer lease in seconds, for running two or more replicas: only the holder of the
    /// Redis lease `<STATUS_KEY>:lock` reads the database and writes. 0 turns it off
    /// (a single replica). Fractions allowed.
    #[arg(
        long,
        env = "STATUS_LEASE",
        default_value = "30",
        value_name = "SECONDS"
    )]
    pub status_lease: String,

    /// Address of the internal /health and /metrics listener (IP:PORT, port 0 picks one);
    /// empty turns it off. Two replicas on one host need two addresses.
    #[arg(
        long,
        env = "STATUS_METRICS_ADDR",
        default_value = "127.0.0.1:9464",
        value_name = "ADDR"
    )]
    pub status_metrics_addr: String,

    /// Refresh once and exit: 0 on success, 1 on failure (for cron and tests).
    #[arg(long)]
    pub once: bool,
}

/// A setting that cannot be used, named by its environment variable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {variable} (--{flag}): {reason}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub flag: &'static str,
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

fn flag_for(variable: &'static str) -> &'static str {
    match variable {
        "REDIS_URL" => "redis-url",
        "DATABASE_URL" => "database-url",
        "DB_HOST" => "db-host",
        "DB_PORT" => "db-port",
        "DB_USER" => "db-user",
        "DB_PASSWORD" => "db-password",
        "DB_NAME" => "db-name",
        "STATUS_UPDATE_INTERVAL" => "status-update-interval",
        "STATUS_CACHE_TTL" => "status-cache-ttl",
        "STATUS_KEY" => "status-key",
        "STATUS_INTERVAL_KEY" => "status-interval-key",
        "STATUS_META" => "status-meta",
        "STATUS_MAPPING" => "status-mapping",
        "STATUS_TIMEOUT" => "status-timeout",
        "STATUS_LEASE" => "status-lease",
        "STATUS_METRICS_ADDR" => "status-metrics-addr",
        _ => "?",
    }
}

/// The database to read, with a description that is safe to print.
#[derive(Clone)]
pub struct Database {
    pub opts: Opts,
    /// `mysql://user:***@host:port/name`: for logs, never containing the password.
    pub display: String,
}

// `Opts` derives `Debug` with the password in it; never let that reach a log.
impl fmt::Debug for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Database").field(&self.display).finish()
    }
}

/// The validated configuration.
#[derive(Clone)]
pub struct Config {
    /// Raw URL (may hold a password): print only through [`RedactedUrl`].
    pub redis_url: String,
    pub database: Database,
    pub interval: Duration,
    pub ttl_s: u64,
    pub status_key: String,
    pub interval_key: String,
    pub meta: MetaPolicy,
    pub mapping: Mapping,
    pub timeout: Duration,
    /// The writer lease's length; `None` when turned off (STATUS_LEASE=0).
    pub lease: Option<Duration>,
    /// Where /health and /metrics are served; `None` when turned off.
    pub metrics_addr: Option<SocketAddr>,
    pub once: bool,
    /// DB_* settings that were ignored because DATABASE_URL was set (for a start-up warning).
    pub ignored: Vec<&'static str>,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("redis_url", &RedactedUrl(&self.redis_url))
            .field("database", &self.database)
            .field("interval", &self.interval)
            .field("ttl_s", &self.ttl_s)
            .field("status_key", &self.status_key)
            .field("interval_key", &self.interval_key)
            .field("meta", &self.meta)
            .field("mapping", &self.mapping.to_string())
            .field("timeout", &self.timeout)
            .field("lease", &self.lease)
            .field("metrics_addr", &self.metrics_addr)
            .field("once", &self.once)
            .finish()
    }
}

impl Config {
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
        let status_key = parse_key("STATUS_KEY", &args.status_key)?;
        let interval_key = parse_key("STATUS_INTERVAL_KEY", &args.status_interval_key)?;
        if interval_key == status_key {
            return Err(ConfigError::new(
                "STATUS_INTERVAL_KEY",
                "must differ from STATUS_KEY",
            ));
        }
        let meta = args
            .status_meta
            .parse::<MetaPolicy>()
            .map_err(|e| ConfigError::new("STATUS_META", e))?;
        let mapping = Mapping::with_overrides(&args.status_mapping)
            .map_err(|e| ConfigError::new("STATUS_MAPPING", e.to_string()))?;
        let redis_url = parse_redis_url(&args.redis_url)?;
        let (database, ignored) = parse_database(&args)?;
        Ok(Config {
            redis_url,
            database,
            interval: Duration::from_secs(interval_s),
            ttl_s,
            status_key,
            interval_key,
            meta,
            mapping,
            timeout,
            lease,
            metrics_addr,
            once: args.once,
            ignored,
        })
    }
}

fn quote(value: &str) -> String {
    let cut: String = value.chars().take(QUOTE_LIMIT).collect();
    format!("{cut:?}")
}

fn parse_u64(
    variable: &'static str,
    raw: &str,
    range: std::ops::RangeInclusive<u64>,
) -> Result<u64, ConfigError> {
    let expected = || {
        ConfigError::new(
            variable,
            format!(
                "expected whole seconds from {} to {}, got {}",
                range.start(),
                range.end(),
                quote(raw)
            ),
        )
    };
    let n: u64 = raw.trim().parse().map_err(|_| expected())?;
    if range.contains(&n) {
        Ok(n)
    } else {
        Err(expected())
    }
}

fn parse_timeout(raw: &str) -> Result<Duration, ConfigError> {
    let seconds: f64 = raw.trim().parse().unwrap_or(f64::NAN);
    // `!(a && b)` rather than `!a || !b` so that NaN is rejected too.
    if !(seconds > 0.0 && seconds <= MAX_TIMEOUT_S) {
        return Err(ConfigError::new(
            "STATUS_TIMEOUT",
            format!(
                "expected seconds greater than 0 and at most {MAX_TIMEOUT_S}, got {}",
                quote(raw)
            ),
        ));
    }
    Ok(Duration::from_secs_f64(seconds))
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

/// Builds the database options from DATABASE_URL, or else from the DB_* parts.
fn parse_database(args: &Args) -> Result<(Database, Vec<&'static str>), ConfigError> {
    let port = parse_port(&args.db_port)?;
    let (opts, display, ignored) = match non_empty(&args.database_url) {
        Some(url) => {
            let shown = RedactedUrl(url).to_string();
            if !url.starts_with("mysql://") {
                return Err(ConfigError::new(
                    "DATABASE_URL",
                    format!("expected mysql://user:password@host:port/database, got \"{shown}\""),
                ));
            }
            let opts = Opts::from_url(url).map_err(|e| {
                ConfigError::new("DATABASE_URL", format!("cannot use \"{shown}\": {e}"))
            })?;
            if opts.db_name().is_none_or(str::is_empty) {
                return Err(ConfigError::new(
                    "DATABASE_URL",
                    format!(
                        "names no database; expected mysql://user:password@host:port/database, \
                         got \"{shown}\""
                    ),
                ));
            }
            let ignored = [
                ("DB_HOST", &args.db_host),
                ("DB_USER", &args.db_user),
                ("DB_PASSWORD", &args.db_password),
                ("DB_NAME", &args.db_name),
            ]
            .into_iter()
            .filter(|(_, v)| non_empty(v).is_some())
            .map(|(name, _)| name)
            .collect();
            (opts, shown, ignored)
        }
        None => {
            let missing = |variable: &'static str| {
                ConfigError::new(
                    variable,
                    "not set; set DB_HOST, DB_USER and DB_NAME (and DB_PASSWORD if needed), \
                     or DATABASE_URL",
                )
            };
            let host = non_empty(&args.db_host).ok_or_else(|| missing("DB_HOST"))?;
            let user = non_empty(&args.db_user).ok_or_else(|| missing("DB_USER"))?;
            let name = non_empty(&args.db_name).ok_or_else(|| missing("DB_NAME"))?;
            let password = non_empty(&args.db_password);
            let display = match password {
                Some(_) => format!("mysql://{user}:{MASK}@{host}:{port}/{name}"),
                None => format!("mysql://{user}@{host}:{port}/{name}"),
            };
            let opts = OptsBuilder::default()
                .ip_or_hostname(host)
                .tcp_port(port)
                .user(Some(user))
                .pass(password)
                .db_name(Some(name));
            (Opts::from(opts), display, Vec::new())
        }
    };
    Ok((
        Database {
            opts: with_pool_limits(opts),
            display,
        },
        ignored,
    ))
}

fn parse_port(raw: &str) -> Result<u16, ConfigError> {
    match raw.trim().parse::<u16>() {
        Ok(port) if port > 0 => Ok(port),
        _ => Err(ConfigError::new(
            "DB_PORT",
            format!("expected a TCP port from 1 to 65535, got {}", quote(raw)),
        )),
    }
}

/// One query per cycle needs one connection, and it is kept between cycles (a pooled
/// connection, as the spec asks): the pool's minimum of one stops mysql_async from closing
/// it as idle, so a steady-state refresh costs exactly one statement, with no handshake or
/// session set-up queries. A connection the server dropped in the meantime fails that one
/// cycle, and the backoff retry opens a new one. The connection is not reset on return: the
/// refresher changes no session state, so a reset would be a wasted round-trip.
///
/// `max_allowed_packet` and `wait_timeout` are given, so a new connection does not spend a
/// query reading them from the server: every refresh, the first included, is exactly one
/// statement. The packet bound (64 MiB) also caps what one row may make the client buffer.
///
/// `prefer_socket` is off: by default mysql_async, having connected over TCP to a local
/// server, asks for `@@socket` and reconnects through the Unix socket. That costs queries,
/// and it would take the refresher around anything an operator put on the TCP path (a proxy,
/// a firewall rule, the fault proxy in the tests).
fn with_pool_limits(opts: Opts) -> Opts {
    let constraints = PoolConstraints::new(1, POOL_MAX_CONNECTIONS).unwrap_or_default();
    let pool = PoolOpts::default()
        .with_constraints(constraints)
        .with_reset_connection(false);
    OptsBuilder::from_opts(opts)
        .pool_opts(pool)
        .max_allowed_packet(Some(MAX_PACKET_BYTES))
        .wait_timeout(Some(SERVER_WAIT_TIMEOUT_S))
        .prefer_socket(false)
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parses a command line with no environment influence: every flag given explicitly.
    fn args(extra: &[&str]) -> Result<Args, clap::Error> {
        let mut argv = vec![
            "status-refresher",
            "--redis-url",
            "redis://127.0.0.1:6379/0",
            "--db-port",
            "3306",
            "--status-update-interval",
            "600",
            "--status-cache-ttl",
            "900",
            "--status-key",
            "server:status",
            "--status-interval-key",
            "config:status_interval",
            "--status-meta",
            "all",
            "--status-mapping",
            "",
            "--status-timeout",
            "5",
            "--status-lease",
            "30",
            "--status-metrics-addr",
            "127.0.0.1:9464",
        ];
        argv.extend_from_slice(extra);
        Args::try_parse_from(argv)
    }

    fn config(extra: &[&str]) -> Result<Config, ConfigError> {
        Config::from_args(args(extra).expect("clap accepts strings"))
    }

    const PARTS: [&str; 6] = ["--db-host", "h", "--db-user", "u", "--db-name", "game"];

    #[test]
    fn parts_make_a_database() {
        let c = config(&PARTS).unwrap();
        assert_eq!(c.database.display, "mysql://u@h:3306/game");
        assert_eq!(c.database.opts.ip_or_hostname(), "h");
        assert_eq!(c.database.opts.db_name(), Some("game"));
        assert_eq!(c.database.opts.pool_opts().constraints().max(), 1);
        assert_eq!(c.interval, Duration::from_secs(600));
        assert_eq!((c.ttl_s, c.timeout), (900, Duration::from_secs(5)));
        assert_eq!(c.meta, MetaPolicy::All);
        assert_eq!(c.mapping, Mapping::default());
        assert!(!c.once);
    }

    #[test]
    fn password_is_used_but_never_shown() {
        let mut a = PARTS.to_vec();
        a.extend(["--db-password", "hunter2"]);
        let c = config(&a).unwrap();
        assert_eq!(c.database.opts.pass(), Some("hunter2"));
        assert_eq!(c.database.display, "mysql://u:***@h:3306/game");
        assert!(!format!("{c:?}").contains("hunter2"));

        let c = config(&[
            "--database-url",
            "mysql://u:hunter2@h:3307/game",
            "--redis-url",
            "redis://:hunter3@r:6379/1",
        ])
        .unwrap();
        assert_eq!(c.database.opts.tcp_port(), 3307);
        let shown = format!("{c:?}");
        assert!(
            !shown.contains("hunter2") && !shown.contains("hunter3"),
            "{shown}"
        );
        assert!(shown.contains("mysql://u:***@h:3307/game"), "{shown}");
    }

    #[test]
    fn database_url_wins_over_parts() {
        let mut a = PARTS.to_vec();
        a.extend(["--database-url", "mysql://root@127.0.0.1/other"]);
        let c = config(&a).unwrap();
        assert_eq!(c.database.opts.db_name(), Some("other"));
        assert_eq!(c.ignored, ["DB_HOST", "DB_USER", "DB_NAME"]);
    }

    #[test]
    fn errors_name_the_variable() {
        let cases: &[(&[&str], &str)] = &[
            (
                &["--status-update-interval", "abc"],
                "STATUS_UPDATE_INTERVAL",
            ),
            (&["--status-update-interval", "0"], "STATUS_UPDATE_INTERVAL"),
            (
                &["--status-update-interval", "86401"],
                "STATUS_UPDATE_INTERVAL",
            ),
            (&["--status-cache-ttl=-1"], "STATUS_CACHE_TTL"),
            (&["--status-timeout", "0"], "STATUS_TIMEOUT"),
            (&["--status-timeout", "NaN"], "STATUS_TIMEOUT"),
            (&["--status-timeout", "301"], "STATUS_TIMEOUT"),
            (&["--status-key", ""], "STATUS_KEY"),
            (&["--status-key", "a b"], "STATUS_KEY"),
            (
                &["--status-interval-key", "server:status"],
                "STATUS_INTERVAL_KEY",
            ),
            (&["--status-meta", " , "], "STATUS_META"),
            (&["--status-mapping", "rates.speed=X"], "STATUS_MAPPING"),
            (&["--redis-url", "http://h"], "REDIS_URL"),
            (&["--db-port", "99999"], "DB_PORT"),
            (&["--db-port", "0"], "DB_PORT"),
            (&["--database-url", "postgres://u:pw@h/db"], "DATABASE_URL"),
            (&["--database-url", "mysql://u:pw@h"], "DATABASE_URL"),
            (
                &["--database-url", "mysql://u:pw@h/db?nonsense=1"],
                "DATABASE_URL",
            ),
            (&["--db-user", "u", "--db-name", "n"], "DB_HOST"),
            (&["--db-host", "h", "--db-name", "n"], "DB_USER"),
            (&["--db-host", "h", "--db-user", "u"], "DB_NAME"),
            (&["--status-lease", "0.5"], "STATUS_LEASE"),
            (&["--status-lease", "3601"], "STATUS_LEASE"),
            (&["--status-lease", "x"], "STATUS_LEASE"),
            (
                &["--status-metrics-addr", "localhost:9464"],
                "STATUS_METRICS_ADDR",
            ),
            (
                &["--status-metrics-addr", "127.0.0.1"],
                "STATUS_METRICS_ADDR",
            ),
        ];
        for (extra, variable) in cases {
            let mut a = PARTS.to_vec();
            // The DB_* cases supply their own parts.
            if variable.starts_with("DB_") && *variable != "DB_PORT" {
                a.clear();
            }
            a.extend_from_slice(extra);
            let err = config(&a).unwrap_err();
            assert_eq!(err.variable, *variable, "{extra:?}: {err}");
            let text = err.to_string();
            assert!(text.contains(variable), "{text}");
            assert!(!text.contains("pw@"), "password leaked: {text}");
        }
    }

    #[test]
    fn lease_and_metrics_defaults_and_off_switches() {
        let c = config(&PARTS).unwrap();
        assert_eq!(c.lease, Some(Duration::from_secs(30)));
        assert_eq!(c.metrics_addr, Some("127.0.0.1:9464".parse().unwrap()));
        let mut a = PARTS.to_vec();
        a.extend(["--status-lease", "0", "--status-metrics-addr", ""]);
        let c = config(&a).unwrap();
        assert_eq!((c.lease, c.metrics_addr), (None, None));
        let mut a = PARTS.to_vec();
        a.extend(["--status-lease", "2.5", "--status-metrics-addr", "[::1]:0"]);
        let c = config(&a).unwrap();
        assert_eq!(c.lease, Some(Duration::from_millis(2500)));
        assert_eq!(c.metrics_addr, Some("[::1]:0".parse().unwrap()));
    }

    #[test]
    fn fractional_timeout() {
        let mut a = PARTS.to_vec();
        a.extend(["--status-timeout", "0.25", "--once"]);
        let c = config(&a).unwrap();
        assert_eq!(c.timeout, Duration::from_millis(250));
        assert!(c.once);
    }

    #[test]
    fn help_documents_every_variable() {
        let help = args(&["--help"]).unwrap_err().to_string();
        for variable in [
            "REDIS_URL",
            "DATABASE_URL",
            "DB_HOST",
            "DB_PORT",
            "DB_USER",
            "DB_PASSWORD",
            "DB_NAME",
            "STATUS_UPDATE_INTERVAL",
            "STATUS_CACHE_TTL",
            "STATUS_KEY",
            "STATUS_INTERVAL_KEY",
            "STATUS_META",
            "STATUS_MAPPING",
            "STATUS_TIMEOUT",
            "STATUS_LEASE",
            "STATUS_METRICS_ADDR",
            "--once",
        ] {
            assert!(help.contains(variable), "--help lacks {variable}");
        }
    }
}
