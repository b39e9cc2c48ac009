//! `cargo xtask up --servers FILE`: the refresher's servers file (`STATUS_SERVERS_FILE`),
//! read here only for what `up` itself needs: the ids (which page to wait for, which URLs
//! the banner lists) and the addresses (which servers probe the stand-in).
//!
//! The refresher validates the file, and its messages name the file, the line and the
//! field; `up` does not repeat those checks. It only refuses, before any build, a file it
//! cannot read or that lists no server, since then there would be nothing to wait for.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::Deserialize;

/// The servers file as `up` passes it on: an absolute path (the refresher runs from the
/// workspace root, not from where `up` was started) and the servers it lists.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct ServersFile {
    pub path: PathBuf,
    pub servers: Vec<Listed>,
}

/// One `[[server]]` table, as far as `up` reads it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub(super) struct Listed {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    addr: Option<Addr>,
    /// Seconds; `None`: `STATUS_PROBE_INTERVAL`.
    #[serde(default)]
    pub probe_interval: Option<u64>,
    /// `None`: `STATUS_PROBE_FAILURES`.
    #[serde(default)]
    pub probe_failures: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
enum Addr {
    One(String),
    Many(Vec<String>),
}

/// Only the `server` array; every other check is the refresher's.
#[derive(Deserialize)]
struct Raw {
    #[serde(default)]
    server: Vec<Listed>,
}

impl Listed {
    /// The path of its status document on the reader.
    pub fn page(&self) -> String {
        format!("/servers/{}", self.id)
    }

    /// Whether one of its addresses is `addr` (the stand-in `up` runs).
    pub fn probes(&self, addr: SocketAddr) -> bool {
        let list: Vec<&str> = match &self.addr {
            None => Vec::new(),
            Some(Addr::One(one)) => one.split(',').collect(),
            Some(Addr::Many(many)) => many.iter().map(String::as_str).collect(),
        };
        list.iter()
            .any(|a| a.trim().parse::<SocketAddr>().ok() == Some(addr))
    }
}

impl ServersFile {
    /// Reads `path`, relative to the directory `up` was started from.
    pub fn read(path: &Path) -> Result<ServersFile> {
        let path = std::path::absolute(path)
            .with_context(|| format!("the servers file {}", path.display()))?;
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading the servers file {}", path.display()))?;
        let servers = parse(&text).with_context(|| format!("{}", path.display()))?;
        Ok(ServersFile { path, servers })
    }

    /// The servers that probe `addr`.
    pub fn probing(&self, addr: SocketAddr) -> Vec<&Listed> {
        self.servers.iter().filter(|s| s.probes(addr)).collect()
    }
}

/// `--servers`' file, read before any build: a file that cannot be read or lists no
/// server, or a per-server variable in the environment, is reported at once rather than
/// after minutes of compiling.
pub(super) fn before_build(path: Option<&Path>) -> Result<Option<ServersFile>> {
    let Some(path) = path else {
        return Ok(None);
    };
    let file = ServersFile::read(path)?;
    check_env(|var| std::env::var(var).ok())?;
    Ok(Some(file))
}

/// The page `up` waits for: `/server/status` (the `default` server's alone), or the first
/// server's of the file.
pub(super) fn first_page(servers: Option<&ServersFile>) -> String {
    servers.map_or_else(
        || "/server/status".to_owned(),
        |file| file.servers[0].page(),
    )
}

/// The refresher refuses these beside a servers file (each server has its own, in the
/// file); `up` says so before any build rather than after it.
const PER_SERVER_VARS: [&str; 2] = ["GAME_SERVER_ADDR", "STATUS_PLAYERS_QUERY"];

/// Fails when `var` (the environment) sets one of [`PER_SERVER_VARS`].
pub(super) fn check_env(var: impl Fn(&str) -> Option<String>) -> Result<()> {
    for name in PER_SERVER_VARS {
        if var(name).is_some_and(|v| !v.trim().is_empty()) {
            bail!(
                "{name} is set beside --servers; the refresher refuses it there (give each \
                 server its own `addr` / `players_query` in the file): unset {name}"
            );
        }
    }
    Ok(())
}

fn parse(text: &str) -> Result<Vec<Listed>> {
    let raw: Raw = toml::from_str(text).context("is not a servers file")?;
    if raw.server.is_empty() {
        bail!("lists no server; add one `[[server]]` table per game server");
    }
    Ok(raw.server)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_lists_two_servers_one_on_the_stand_in() {
        let text = include_str!("../../../deploy/servers.example.toml");
        let servers = parse(text).unwrap();
        assert_eq!(servers.len(), 2, "{servers:?}");
        let stand_in: SocketAddr = crate::game_server::DEFAULT_ADDR.parse().unwrap();
        let file = ServersFile {
            path: PathBuf::from("servers.toml"),
            servers,
        };
        assert_eq!(file.probing(stand_in).len(), 1);
        assert_eq!(first_page(Some(&file)), "/servers/main");
        assert_eq!(first_page(None), "/server/status");
    }

    #[test]
    fn addresses_are_read_as_the_refresher_reads_them() {
        let servers = parse(
            "[[server]]\nid = \"a\"\naddr = \"127.0.0.1:1, 127.0.0.1:7777\"\n\
             [[server]]\nid = \"b\"\naddr = [\"127.0.0.1:7777\"]\nname = \"B\"\n\
             [[server]]\nid = \"c\"\nconstants = true\nprobe_interval = 5\n",
        )
        .unwrap();
        let stand_in: SocketAddr = "127.0.0.1:7777".parse().unwrap();
        let probing: Vec<bool> = servers.iter().map(|s| s.probes(stand_in)).collect();
        assert_eq!(probing, [true, true, false]);
        assert_eq!(servers[1].name.as_deref(), Some("B"));
    }

    #[test]
    fn the_per_server_variables_are_refused_before_any_build() {
        check_env(|_| None).unwrap();
        check_env(|v| (v == "GAME_SERVER_ADDR").then(String::new)).unwrap();
        let err = check_env(|v| (v == "STATUS_PLAYERS_QUERY").then(|| "SELECT 1".into()))
            .unwrap_err()
            .to_string();
        assert!(err.contains("STATUS_PLAYERS_QUERY"), "{err}");
    }

    #[test]
    fn a_file_without_servers_is_refused_before_any_build() {
        let err = parse("# nothing yet\n").unwrap_err().to_string();
        assert!(err.contains("lists no server"), "{err}");
        let err = format!("{:#}", parse("[[server]]\nname = \"no id\"\n").unwrap_err());
        assert!(err.contains("id"), "{err}");
    }
}
