//! What `up` gives the refresher besides the database and Redis, so that the live parts of
//! the status can be watched on one machine: the game server's stand-in to probe, and the
//! demo's players query; and the banner that says how to try them.

use std::env;
use std::net::SocketAddr;

use super::servers::ServersFile;
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

    /// The refresher's variables. Beside a servers file (`servers_file`) the game server's
    /// address and the players query are each server's own, in the file: the refresher
    /// refuses them from the environment, so they are left out; the intervals stay, as
    /// every server's defaults.
    pub(super) fn vars(&self, servers_file: bool) -> Vec<(&'static str, String)> {
        let mut vars = Vec::new();
        if !servers_file {
            vars.push(("GAME_SERVER_ADDR", self.game_server.clone()));
        }
        vars.push(("STATUS_PROBE_INTERVAL", self.probe_interval.clone()));
        vars.push(("STATUS_PROBE_FAILURES", self.probe_failures.clone()));
        if let Some(query) = self.players_query.as_ref().filter(|_| !servers_file) {
            vars.push(("STATUS_PLAYERS_QUERY", query.clone()));
        }
        if self.players_query.is_some() || servers_file {
            vars.push(("STATUS_PLAYERS_INTERVAL", self.players_interval.clone()));
        }
        if let Some(constant) = &self.max_players_constant {
            vars.push(("STATUS_MAX_PLAYERS_CONSTANT", constant.clone()));
        }
        vars
    }

    /// Seconds from "the game server stops" to "offline" at most: the probe's interval
    /// times (failures + 1), the reader's own deadline for the word. A servers file's
    /// `probe_interval` / `probe_failures` override the environment's.
    fn offline_within_s(&self, interval: Option<u64>, failures: Option<u64>) -> Option<u64> {
        let interval = interval.or_else(|| self.probe_interval.trim().parse().ok())?;
        let failures = failures.or_else(|| self.probe_failures.trim().parse().ok())?;
        Some(interval * (failures + 1))
    }

    /// The probe interval in seconds as the banner says it.
    fn interval_s(&self, interval: Option<u64>) -> String {
        interval.map_or_else(|| self.probe_interval.clone(), |s| s.to_string())
    }
}

/// How to stop and start the stand-in and watch the status follow; with a servers file,
/// for the servers that probe the stand-in (their `players_query` is theirs to say).
pub(super) fn print_live_banner(
    addr: SocketAddr,
    live: &LiveSettings,
    stand_in: SocketAddr,
    servers: Option<&ServersFile>,
) {
    let Some(file) = servers else {
        print_stand_in(
            &live.game_server,
            "the refresher probes it",
            &live.interval_s(None),
            live.offline_within_s(None, None),
            &format!("http://{addr}/server/status/simple"),
        );
        print_players(live);
        println!();
        return;
    };
    let probing = file.probing(stand_in);
    let Some(first) = probing.first() else {
        println!(
            "  No server of {} probes the game server's stand-in on {stand_in}; \
             `addr = \"{stand_in}\"` in a [[server]] table would.",
            file.path.display()
        );
        println!();
        return;
    };
    let ids: Vec<&str> = probing.iter().map(|s| s.id.as_str()).collect();
    let verb = if ids.len() == 1 { "probes" } else { "probe" };
    print_stand_in(
        &stand_in.to_string(),
        &format!("{} {verb} it", ids.join(", ")),
        &live.interval_s(first.probe_interval),
        live.offline_within_s(first.probe_interval, first.probe_failures),
        &format!("http://{addr}{}/simple", first.page()),
    );
    println!();
}

fn print_stand_in(listens: &str, who: &str, every: &str, within: Option<u64>, watch: &str) {
    let within = within.map_or_else(|| "a few".to_owned(), |s| s.to_string());
    println!("  The game server's stand-in listens on {listens}; {who} every {every}s.");
    println!("    stop it:   cargo xtask game-server stop");
    println!(
        "               within {within}s: \"state\":\"offline\",\"state_reason\":\"unreachable\""
    );
    println!("    start it:  cargo xtask game-server start");
    println!("    watch:     watch -n1 curl -s {watch}");
}

fn print_players(live: &LiveSettings) {
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_settings_point_at_the_stand_in_and_the_environment_wins() {
        let stand_in: SocketAddr = "127.0.0.1:7777".parse().unwrap();
        let none = |_: &str| None;
        let demo = LiveSettings::from(none, stand_in, false);
        let vars = demo.vars(false);
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
        assert_eq!(demo.offline_within_s(None, None), Some(6));

        // --no-demo: the stand-in is still probed, but there is no demo table to count.
        let bare = LiveSettings::from(none, stand_in, true).vars(false);
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
        assert_eq!(mine.offline_within_s(None, None), Some(30));
        assert_eq!(mine.offline_within_s(Some(1), Some(4)), Some(5));
    }

    #[test]
    fn beside_a_servers_file_the_address_and_the_players_query_are_the_files() {
        let stand_in: SocketAddr = "127.0.0.1:7777".parse().unwrap();
        let names = |vars: Vec<(&'static str, String)>| -> Vec<&'static str> {
            vars.into_iter().map(|(n, _)| n).collect()
        };
        let demo = LiveSettings::from(|_: &str| None, stand_in, false);
        assert_eq!(
            names(demo.vars(true)),
            [
                "STATUS_PROBE_INTERVAL",
                "STATUS_PROBE_FAILURES",
                "STATUS_PLAYERS_INTERVAL",
                "STATUS_MAX_PLAYERS_CONSTANT"
            ]
        );
        // Without a file, exactly what `up` always gave.
        assert_eq!(
            names(demo.vars(false)),
            [
                "GAME_SERVER_ADDR",
                "STATUS_PROBE_INTERVAL",
                "STATUS_PROBE_FAILURES",
                "STATUS_PLAYERS_QUERY",
                "STATUS_PLAYERS_INTERVAL",
                "STATUS_MAX_PLAYERS_CONSTANT"
            ]
        );
    }
}
