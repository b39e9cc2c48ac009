//! What `up` gives the refresher besides the database and Redis, so that the live parts of
//! the status can be watched on one machine: the game server's stand-in to probe, and the
//! demo's players query; and the banner that says how to try them.

use std::env;
use std::net::SocketAddr;

use crate::demo::{MAX_PLAYERS_CONSTANT, PLAYERS_QUERY};

/// Probe interval for local runs, unless `STATUS_PROBE_INTERVAL` says otherwise: with the
/// default two failures, a stopped stand-in shows as offline within about six seconds.
const LOCAL_PROBE_INTERVAL_S: &str = "2";

/// Players interval for local runs, unless `STATUS_PLAYERS_INTERVAL` says otherwise.
const LOCAL_PLAYERS_INTERVAL_S: &str = "5";

/// What `up` gives the refresher besides the database and Redis: the stand-in to probe and
/// the players query (the demo's, unless `--no-demo`). A setting in the environment wins,
/// as `STATUS_UPDATE_INTERVAL` does.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct LiveSettings {
    game_server: String,
    probe_interval: String,
    probe_failures: String,
    /// `None`: no players query (`--no-demo` and none in the environment).
    players_query: Option<String>,
    players_interval: String,
    max_players_constant: Option<String>,
}

impl LiveSettings {
    pub(super) fn from_env(stand_in: SocketAddr, no_demo: bool) -> LiveSettings {
        LiveSettings::from(
            |var| env::var(var).ok().filter(|v| !v.is_empty()),
            stand_in,
            no_demo,
        )
    }

    fn from(
        var: impl Fn(&str) -> Option<String>,
        stand_in: SocketAddr,
        no_demo: bool,
    ) -> LiveSettings {
        let demo = |value: &str| (!no_demo).then(|| value.to_owned());
        LiveSettings {
            game_server: var("GAME_SERVER_ADDR").unwrap_or_else(|| stand_in.to_string()),
            probe_interval: var("STATUS_PROBE_INTERVAL")
                .unwrap_or_else(|| LOCAL_PROBE_INTERVAL_S.into()),
            probe_failures: var("STATUS_PROBE_FAILURES").unwrap_or_else(|| "2".into()),
            players_query: var("STATUS_PLAYERS_QUERY").or_else(|| demo(PLAYERS_QUERY)),
            players_interval: var("STATUS_PLAYERS_INTERVAL")
                .unwrap_or_else(|| LOCAL_PLAYERS_INTERVAL_S.into()),
            max_players_constant: var("STATUS_MAX_PLAYERS_CONSTANT")
                .or_else(|| demo(MAX_PLAYERS_CONSTANT)),
        }
    }

    pub(super) fn vars(&self) -> Vec<(&'static str, String)> {
        let mut vars = vec![
            ("GAME_SERVER_ADDR", self.game_server.clone()),
            ("STATUS_PROBE_INTERVAL", self.probe_interval.clone()),
            ("STATUS_PROBE_FAILURES", self.probe_failures.clone()),
        ];
        if let Some(query) = &self.players_query {
            vars.push(("STATUS_PLAYERS_QUERY", query.clone()));
            vars.push(("STATUS_PLAYERS_INTERVAL", self.players_interval.clone()));
        }
        if let Some(constant) = &self.max_players_constant {
            vars.push(("STATUS_MAX_PLAYERS_CONSTANT", constant.clone()));
        }
        vars
    }

    /// Seconds from "the game server stops" to "offline" at most: the probe's interval
    /// times (failures + 1), the reader's own deadline for the word.
    fn offline_within_s(&self) -> Option<u64> {
        let interval: u64 = self.probe_interval.trim().parse().ok()?;
        let failures: u64 = self.probe_failures.trim().parse().ok()?;
        Some(interval * (failures + 1))
    }
}

pub(super) fn print_live_banner(addr: SocketAddr, live: &LiveSettings) {
    let within = live
        .offline_within_s()
        .map_or_else(|| "a few".to_owned(), |s| s.to_string());
    println!(
        "  The game server's stand-in listens on {}; the refresher probes it every {}s.",
        live.game_server, live.probe_interval
    );
    println!("    stop it:   cargo xtask game-server stop");
    println!(
        "               within {within}s: \"state\":\"offline\",\"state_reason\":\"unreachable\""
    );
    println!("    start it:  cargo xtask game-server start");
    println!("    watch:     watch -n1 curl -s http://{addr}/server/status/simple");
    if let Some(query) = &live.players_query {
        println!();
        println!(
            "  Players: {query}, every {}s{}.",
            live.players_interval,
            live.max_players_constant
                .as_deref()
                .map_or_else(String::new, |c| format!(" (max_players from {c})"))
        );
        println!("    try:     UPDATE characters SET online = 1;");
    }
    println!();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_settings_point_at_the_stand_in_and_the_environment_wins() {
        let stand_in: SocketAddr = "127.0.0.1:7777".parse().unwrap();
        let none = |_: &str| None;
        let demo = LiveSettings::from(none, stand_in, false);
        let vars = demo.vars();
        let get = |name: &str| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("GAME_SERVER_ADDR"), Some("127.0.0.1:7777"));
        assert_eq!(get("STATUS_PROBE_INTERVAL"), Some("2"));
        assert_eq!(
            get("STATUS_PLAYERS_QUERY"),
            Some("SELECT COUNT(*) FROM characters WHERE online = 1")
        );
        assert_eq!(get("STATUS_MAX_PLAYERS_CONSTANT"), Some("MaxOnline"));
        assert_eq!(demo.offline_within_s(), Some(6));

        // --no-demo: the stand-in is still probed, but there is no demo table to count.
        let bare = LiveSettings::from(none, stand_in, true).vars();
        assert!(bare.iter().all(|(n, _)| !n.starts_with("STATUS_PLAYERS")));
        assert!(
            bare.iter()
                .all(|(n, _)| *n != "STATUS_MAX_PLAYERS_CONSTANT")
        );

        let env = |var: &str| match var {
            "STATUS_PROBE_INTERVAL" => Some("10".to_owned()),
            "STATUS_PLAYERS_QUERY" => Some("SELECT 150".to_owned()),
            _ => None,
        };
        let mine = LiveSettings::from(env, stand_in, true);
        assert_eq!(mine.players_query.as_deref(), Some("SELECT 150"));
        assert_eq!(mine.offline_within_s(), Some(30));
    }
}
