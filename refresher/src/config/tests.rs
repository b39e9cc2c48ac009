//! The validation, driven through the real clap definition with every flag given explicitly.
//! The helpers are here; the tests stand in one file per group of settings.

use std::time::Duration;

use clap::Parser;
use status_document::{Mapping, MetaPolicy, StateSettings};

use super::*;

mod database;
mod game;
mod notify;
mod servers;
mod states;
mod tls;
mod variables;

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
        "--status-states",
        "1:online,0:offline",
        "--status-message-constant",
        "",
        "--status-maintenance-until-constant",
        "",
        "--status-max-players-constant",
        "",
        "--game-server-addr",
        "",
        "--status-probe-interval",
        "10",
        "--status-probe-timeout",
        "3",
        "--status-probe-failures",
        "2",
        "--status-players-query",
        "",
        "--status-players-interval",
        "60",
        "--status-notify",
        "",
        "--status-notify-secret",
        "",
        "--status-notify-ca-cert",
        "",
        "--status-notify-hold",
        "60",
        "--status-notify-max-per-hour",
        "10",
        "--status-notify-lang",
        "en",
        "--status-notify-link",
        "",
        "--status-notify-give-up",
        "3600",
        "--servers",
        "",
        "--servers-only",
        "",
        "--status-history-lag",
        "300",
    ];
    argv.extend_from_slice(extra);
    Args::try_parse_from(argv)
}

fn config(extra: &[&str]) -> Result<Config, ConfigError> {
    Config::from_args(args(extra).expect("clap accepts strings"))
}

/// [`config`] of the database parts ([`PARTS`]) and then `extra`.
fn config_with_parts(extra: &[&str]) -> Result<Config, ConfigError> {
    config(&[PARTS.as_slice(), extra].concat())
}

/// One character longer than a `constants.Name` can be.
const LONG_NAME: &str = "NNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNN";

const PARTS: [&str; 6] = ["--db-host", "h", "--db-user", "u", "--db-name", "game"];
