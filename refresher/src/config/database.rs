//! `DATABASE_URL` or `DB_*`: the database `constants` (and the players) are read from, and
//! what cannot run without one.

use mysql_async::{Opts, OptsBuilder};

use super::{Args, ConfigError, Database, Watch, non_empty, quote, tls};
use crate::redact::{MASK, RedactedUrl};

/// Whether any database setting is given: `DATABASE_URL` or one of `DB_HOST`, `DB_USER`,
/// `DB_NAME`. (`DB_PORT` and `DB_PASSWORD` alone name no database.)
fn database_asked_for(args: &Args) -> bool {
    [
        &args.database_url,
        &args.db_host,
        &args.db_user,
        &args.db_name,
    ]
    .into_iter()
    .any(|v| non_empty(v).is_some())
}

/// Without a database, only the game server can say anything, and nothing that reads
/// MySQL can run: each is named, with what to do.
pub(super) fn without_database(
    args: &Args,
    probe: bool,
    players: bool,
    watch: &Watch,
) -> Result<(), ConfigError> {
    let needs = |variable: &'static str, what: &str| {
        ConfigError::new(
            variable,
            format!(
                "{what} needs the database: set DATABASE_URL (or DB_HOST, DB_USER and DB_NAME), \
                 or unset {variable}"
            ),
        )
    };
    if !probe {
        return Err(ConfigError::new(
            "DATABASE_URL",
            "not set, and neither is GAME_SERVER_ADDR: there is nothing to publish. Set \
             DATABASE_URL (or DB_HOST, DB_USER and DB_NAME) to read `constants`, \
             GAME_SERVER_ADDR to ask the game server, or both",
        ));
    }
    if players {
        return Err(needs("STATUS_PLAYERS_QUERY", "the players query"));
    }
    if *watch != Watch::Interval {
        return Err(needs("STATUS_WATCH", "watching `constants` for changes"));
    }
    if !args.status_max_players_constant.trim().is_empty() {
        return Err(needs(
            "STATUS_MAX_PLAYERS_CONSTANT",
            "a max-players constant",
        ));
    }
    Ok(())
}

/// The database when any database setting asks for one, with the DB_* settings that
/// DATABASE_URL overrode; none otherwise.
pub(super) fn parse_if_asked_for(
    args: &Args,
) -> Result<(Option<Database>, Vec<&'static str>), ConfigError> {
    if !database_asked_for(args) {
        return Ok((None, Vec::new()));
    }
    let (database, ignored) = parse_database(args)?;
    Ok((Some(database), ignored))
}

/// Builds the database options from DATABASE_URL, or else from the DB_* parts.
fn parse_database(args: &Args) -> Result<(Database, Vec<&'static str>), ConfigError> {
    let port = parse_port(&args.db_port)?;
    let (opts, display, ignored, url_tls) = match non_empty(&args.database_url) {
        Some(url) => {
            let shown = RedactedUrl(url).to_string();
            if !url.starts_with("mysql://") {
                return Err(ConfigError::new(
                    "DATABASE_URL",
                    format!("expected mysql://user:password@host:port/database, got \"{shown}\""),
                ));
            }
            let url_tls = tls::split_url_tls(url)?;
            let opts = Opts::from_url(&url_tls.url).map_err(|e| {
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
            (opts, shown, ignored, Some(url_tls))
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
            (Opts::from(opts), display, Vec::new(), None)
        }
    };
    let tls = tls::parse_db_tls(args, url_tls.as_ref())?;
    let (opts, plaintext_fallback) = tls::apply_db_tls(opts, &tls);
    let database = Database {
        opts,
        plaintext_fallback,
        tls,
        display,
    };
    Ok((database, ignored))
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
