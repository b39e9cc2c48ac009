//! The command line and environment, as clap reads them: raw strings, no validation (that
//! is [`super::Config::from_args`]'s job, so errors can name the variable and hide secrets).
//!
//! Each option's `env` is the name existing deployments already set; its long flag is
//! derived by clap from the field name. [`flag_for`] reads that pairing back out of clap
//! rather than keeping a copy that could drift.

use clap::{CommandFactory, Parser};
use status_document::keys::{DEFAULT_STATUS_KEY, INTERVAL_OVERRIDE_KEY};

/// `--version`: the package version and the commit it was built from (`build.rs`).
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("STATUS_REFRESHER_COMMIT"),
    ")"
);

/// Declares [`Args`] from a table: each setting's doc comment (its `--help` text), field,
/// type, environment variable, default and value name, and whether `--help` hides the
/// variable's value (secrets). The long flag is always the one clap derives from the field
/// name. The fields that are not a setting read from a variable follow the table as plain
/// clap fields.
macro_rules! args {
    (
        $(#[$meta:meta])*
        pub struct Args {
            settings {
                $(
                    $(#[doc = $doc:literal])*
                    $field:ident: $ty:ty = $env:literal
                        $(, default_value = $default:expr)?
                        $(, hide_env_values = $hide:literal)?
                        , value_name = $value:literal;
                )*
            }
            $($rest:tt)*
        }
    ) => {
        $(#[$meta])*
        pub struct Args {
            $(
                $(#[doc = $doc])*
                #[arg(
                    long,
                    env = $env,
                    value_name = $value
                    $(, default_value = $default)?
                    $(, hide_env_values = $hide)?
                )]
                pub $field: $ty,
            )*
            $($rest)*
        }
    };
}

args! {
    /// Keeps the `constants` table of a MySQL/MariaDB database mirrored into one JSON document
    /// in Redis (schema v1), for the public status reader.
    ///
    /// Every option can be set by the environment variable shown; the flag wins over the
    /// variable. Prefer the environment for secrets: command lines are visible to other users.
    #[derive(Debug, Parser)]
    #[command(name = "status-refresher", version = VERSION, about, long_about = None, args_override_self = true)]
    pub struct Args {
        settings {
            /// Redis URL; credentials allowed (redis://user:password@host:port/db). Default
            /// redis://127.0.0.1:6379/0, unless REDIS_SENTINELS is set (then not allowed).
            redis_url: Option<String> = "REDIS_URL",
                hide_env_values = true, value_name = "URL";

            /// Redis Sentinels to ask for the primary, instead of REDIS_URL: host:port,host:port,...
            redis_sentinels: Option<String> = "REDIS_SENTINELS",
                value_name = "HOST:PORT,...";

            /// The master name the Sentinels monitor (`sentinel monitor <name> ...`).
            redis_sentinel_master: Option<String> = "REDIS_SENTINEL_MASTER",
                value_name = "NAME";

            /// Redis ACL user on the primary found through Sentinel (with REDIS_URL, put it in the URL).
            redis_username: Option<String> = "REDIS_USERNAME",
                value_name = "USER";

            /// Password of REDIS_USERNAME (or requirepass's) on the primary found through Sentinel.
            redis_password: Option<String> = "REDIS_PASSWORD",
                hide_env_values = true, value_name = "PASSWORD";

            /// PEM file of the CA(s) that sign Redis's certificate (rediss:// only); the system trust
            /// store otherwise.
            redis_ca_cert: Option<String> = "REDIS_CA_CERT",
                value_name = "FILE";

            /// PEM client certificate (chain) for mutual TLS with Redis; needs REDIS_CLIENT_KEY.
            redis_client_cert: Option<String> = "REDIS_CLIENT_CERT",
                value_name = "FILE";

            /// PEM private key of REDIS_CLIENT_CERT.
            redis_client_key: Option<String> = "REDIS_CLIENT_KEY",
                value_name = "FILE";

            /// Database as one URL (mysql://user:password@host:port/database). Overrides DB_*.
            database_url: Option<String> = "DATABASE_URL",
                hide_env_values = true, value_name = "URL";

            /// Database host (when DATABASE_URL is not set).
            db_host: Option<String> = "DB_HOST",
                value_name = "HOST";

            /// Database port.
            db_port: String = "DB_PORT",
                default_value = "3306", value_name = "PORT";

            /// Database user (when DATABASE_URL is not set).
            db_user: Option<String> = "DB_USER",
                value_name = "USER";

            /// Database password (when DATABASE_URL is not set); empty means none.
            db_password: Option<String> = "DB_PASSWORD",
                hide_env_values = true, value_name = "PASSWORD";

            /// Database (schema) holding the `constants` table (when DATABASE_URL is not set).
            db_name: Option<String> = "DB_NAME",
                value_name = "NAME";

            /// TLS to the database: disabled, preferred (the default: TLS if offered, unchecked),
            /// required, verify_ca or verify_identity. DATABASE_URL may say `?ssl-mode=` instead.
            db_ssl_mode: Option<String> = "DB_SSL_MODE",
                value_name = "MODE";

            /// PEM file of the CA(s) that sign the database's certificate (verify_ca and
            /// verify_identity); the built-in Mozilla roots otherwise.
            db_ssl_ca: Option<String> = "DB_SSL_CA",
                value_name = "FILE";

            /// Seconds between refreshes; the Redis key STATUS_INTERVAL_KEY overrides it live.
            status_update_interval: String = "STATUS_UPDATE_INTERVAL",
                default_value = "600", value_name = "SECONDS";

            /// Seconds the document lives in Redis (its `:last_good` copy never expires).
            status_cache_ttl: String = "STATUS_CACHE_TTL",
                default_value = "900", value_name = "SECONDS";

            /// Redis key of the status document.
            status_key: String = "STATUS_KEY",
                default_value = DEFAULT_STATUS_KEY, value_name = "KEY";

            /// Redis key read every cycle for a live interval override (10..=86400 seconds).
            status_interval_key: String = "STATUS_INTERVAL_KEY",
                default_value = INTERVAL_OVERRIDE_KEY, value_name = "KEY";

            /// Which descriptions go into `_meta`: `all`, `mapped`, or a comma-separated list of names.
            status_meta: String = "STATUS_META",
                default_value = "all", value_name = "POLICY";

            /// Overrides of the constant feeding each field, e.g. `rates.exp=ExpRate,server_status=Online`.
            status_mapping: String = "STATUS_MAPPING",
                default_value = "", value_name = "FIELD=NAME,...";

            /// Which `ServerStatus` values mean which state (online, offline, maintenance,
            /// unknown), e.g. `1:online,0:offline,2:maintenance`; any other value is `unknown`.
            status_states: String = "STATUS_STATES",
                default_value = "1:online,0:offline", value_name = "VALUE:STATE,...";

            /// The constant whose Value is published as `message` (a notice for visitors); empty
            /// publishes none.
            status_message_constant: String = "STATUS_MESSAGE_CONSTANT",
                default_value = "", value_name = "NAME";

            /// The constant whose Value (unix seconds) is published as `maintenance_until`; empty
            /// publishes none.
            status_maintenance_until_constant: String = "STATUS_MAINTENANCE_UNTIL_CONSTANT",
                default_value = "", value_name = "NAME";

            /// Timeout in seconds for every database and Redis call (fractions allowed).
            status_timeout: String = "STATUS_TIMEOUT",
                default_value = "5", value_name = "SECONDS";

            /// Writer lease in seconds, for running two or more replicas: only the holder of the
            /// Redis lease `<STATUS_KEY>:lock` reads the database and writes. 0 turns it off
            /// (a single replica). Fractions allowed.
            status_lease: String = "STATUS_LEASE",
                default_value = "30", value_name = "SECONDS";

            /// Address of the internal /health and /metrics listener (IP:PORT, port 0 picks one);
            /// empty turns it off. Two replicas on one host need two addresses.
            status_metrics_addr: String = "STATUS_METRICS_ADDR",
                default_value = "127.0.0.1:9464", value_name = "ADDR";

            /// Redis channel whose messages ask the lease holder for a refresh; empty means
            /// `<STATUS_KEY>:refresh`, `off` turns it off.
            status_refresh_channel: String = "STATUS_REFRESH_CHANNEL",
                default_value = "", value_name = "CHANNEL";

            /// Least seconds between two refreshes, whatever asks for them (nudges coalesce).
            status_min_refresh_gap: String = "STATUS_MIN_REFRESH_GAP",
                default_value = "2", value_name = "SECONDS";

            /// Refresh on change too: `interval` (no), `binlog` (follow the binary log), or
            /// `poll:<seconds>` (a cheap change probe).
            status_watch: String = "STATUS_WATCH",
                default_value = "interval", value_name = "MODE";

            /// The constant whose Value is published as `max_players`; empty publishes none.
            status_max_players_constant: String = "STATUS_MAX_PLAYERS_CONSTANT",
                default_value = "", value_name = "NAME";

            /// The game server's TCP address(es) to probe: host:port, or several separated by
            /// commas (all must answer). Unset: no probe, `state` comes from ServerStatus alone.
            /// Never published.
            game_server_addr: Option<String> = "GAME_SERVER_ADDR",
                value_name = "HOST:PORT,...";

            /// How the probe asks the game server: `tcp` (a TCP connect: the port answers), or
            /// a game id of the gamedig library (`q3a`, `minecraftjava`, `valheim`, `rust`, `csgo`,
            /// ...): the game's own query protocol, which also tells players, bots, map, name
            /// and version.
            game_server_query: String = "GAME_SERVER_QUERY",
                default_value = "tcp", value_name = "tcp|GAME";

            /// A TOML file of `[[server]]` tables (id, name, addr, query, constants,
            /// players_query, probe_*): several game servers from one refresher, each with a
            /// document of its own (docs/servers.md). Unset: the one server the other
            /// settings describe, id `default`, key STATUS_KEY.
            servers: Option<String> = "STATUS_SERVERS_FILE",
                value_name = "FILE";

            /// Only these ids of the servers file (comma-separated): one group of a fleet
            /// split across several refreshers. Each group holds a lease of its own.
            servers_only: Option<String> = "STATUS_SERVERS_ONLY",
                value_name = "ID,...";

            /// Seconds between two probes of the game server (1 to 3600).
            status_probe_interval: String = "STATUS_PROBE_INTERVAL",
                default_value = "10", value_name = "SECONDS";

            /// Seconds one probe waits for every address to accept (fractions allowed; at most the
            /// probe interval).
            status_probe_timeout: String = "STATUS_PROBE_TIMEOUT",
                default_value = "3", value_name = "SECONDS";

            /// Consecutive failed probes before the game server counts as down; one success brings
            /// it back.
            status_probe_failures: String = "STATUS_PROBE_FAILURES",
                default_value = "2", value_name = "COUNT";

            /// One SQL statement returning one non-negative integer, the players online, e.g.
            /// `SELECT COUNT(*) FROM characters WHERE online = 1`. Runs read-only, under a time
            /// limit. Unset: no `players` in the document.
            status_players_query: Option<String> = "STATUS_PLAYERS_QUERY",
                value_name = "SQL";

            /// Seconds between two runs of the players query (it also runs on every refresh).
            status_players_interval: String = "STATUS_PLAYERS_INTERVAL",
                default_value = "60", value_name = "SECONDS";

            /// Longest time between two writes of each server's history (seconds, 0 to 3600;
            /// 0: at every write). It is also written at every change of state and with every
            /// new 5-minute bucket; between, the observations wait in memory. The history is
            /// tens of kilobytes: writing it at every probe is most of the refresher's Redis
            /// traffic.
            status_history_lag: String = "STATUS_HISTORY_LAG",
                default_value = "300", value_name = "SECONDS";

            /// Where state changes are announced: `discord=URL,telegram=URL,webhook=URL` (any
            /// number, each kind more than once too). Every URL is a secret: never logged.
            status_notify: Option<String> = "STATUS_NOTIFY",
                hide_env_values = true, value_name = "KIND=URL,...";

            /// The HMAC-SHA256 key the generic webhook's body is signed with (X-Signature-256).
            status_notify_secret: Option<String> = "STATUS_NOTIFY_SECRET",
                hide_env_values = true, value_name = "SECRET";

            /// PEM file of the CA(s) the notification targets' certificates are checked against,
            /// instead of the system trust store.
            status_notify_ca_cert: Option<String> = "STATUS_NOTIFY_CA_CERT",
                value_name = "FILE";

            /// Seconds a new state must hold before it is announced (flap control; 0 announces at
            /// once).
            status_notify_hold: String = "STATUS_NOTIFY_HOLD",
                default_value = "60", value_name = "SECONDS";

            /// Most messages per target in any hour; past it, one summary and quiet until the hour
            /// allows again.
            status_notify_max_per_hour: String = "STATUS_NOTIFY_MAX_PER_HOUR",
                default_value = "10", value_name = "COUNT";

            /// Language of the messages: `en` or `ru`.
            status_notify_lang: String = "STATUS_NOTIFY_LANG",
                default_value = "en", value_name = "LANG";

            /// The public status page, linked from every message.
            status_notify_link: Option<String> = "STATUS_NOTIFY_LINK",
                value_name = "URL";

            /// Seconds after which an undelivered message is given up (logged and counted in
            /// /metrics); at most a day, the outbox's lifetime.
            status_notify_give_up: String = "STATUS_NOTIFY_GIVE_UP",
                default_value = "3600", value_name = "SECONDS";
        }

        /// Refresh once and exit: 0 on success, 1 on failure (for cron and tests).
        #[arg(long)]
        pub once: bool,

        /// File of settings, one `VARIABLE=value` per line (the variables above; `#` starts a
        /// comment). They win over the environment; flags win over them.
        #[arg(long, env = "STATUS_CONFIG_FILE", value_name = "FILE", global = true)]
        pub config: Option<std::path::PathBuf>,

        /// Write the log to daily files `status-refresher.<date>.log` in this directory (the
        /// last 14 are kept) instead of stderr. A Windows service logs to
        /// `%ProgramData%\status-refresher\logs` unless this is set.
        #[arg(long, env = "STATUS_LOG_DIR", value_name = "DIR", global = true)]
        pub log_dir: Option<std::path::PathBuf>,

        #[command(subcommand)]
        pub command: Option<Command>,
    }
}

/// Subcommands (the daemon is the default).
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Ask the running refresher for a refresh now (publishes on the refresh channel).
    RefreshNow {
        /// Wait until the document's `updated_at` moves and print the new values.
        #[arg(long)]
        wait: bool,
        /// Seconds `--wait` waits at most.
        #[arg(long, default_value = "10", value_name = "SECONDS")]
        wait_timeout: String,
    },
    /// Send one test message to every STATUS_NOTIFY target and print what each answered.
    NotifyTest,
    /// Install, remove or run the refresher as a Windows service.
    #[cfg(windows)]
    Service {
        #[command(subcommand)]
        action: ServiceAction,
    },
}

/// `status-refresher service ...` (Windows).
#[cfg(windows)]
#[derive(Debug, Clone, clap::Subcommand)]
pub enum ServiceAction {
    /// Register the service (run as administrator): it starts at boot as LocalService and
    /// reads its settings from `--config FILE` (required, stored as an absolute path).
    Install {
        /// The service's name.
        #[arg(long, default_value = "status-refresher")]
        name: String,
    },
    /// Remove the service (stop it first).
    Uninstall {
        /// The service's name.
        #[arg(long, default_value = "status-refresher")]
        name: String,
    },
    /// What the Service Control Manager starts; not for a console.
    Run {
        /// The service's name.
        #[arg(long, default_value = "status-refresher")]
        name: String,
    },
}

/// The flag that sets the same option as `variable` (`"STATUS_TIMEOUT"` ->
/// `"status-timeout"`), looked up in clap's own definition of [`Args`]; `"?"` for a name
/// that is no option's variable.
pub fn flag_for(variable: &str) -> String {
    Args::command()
        .get_arguments()
        .find(|arg| arg.get_env().is_some_and(|env| env == variable))
        .and_then(|arg| arg.get_long())
        .unwrap_or("?")
        .to_owned()
}
