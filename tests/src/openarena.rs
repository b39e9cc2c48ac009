//! A real game server for the tests: Debian's `openarena-server` (ioquake3), which answers
//! the Quake 3 `getstatus` query the refresher asks through gamedig, with bots as players
//! (`bot_minplayers`).
//!
//! `.ci/run` installs the package and `cargo xtask test` sets `SERVER_STATUS_OPENARENA=
//! required`, so there a missing server fails the test; elsewhere it is skipped with the
//! reason printed.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Duration;

use crate::binaries::{Child, clean_command};
use crate::temp::TempDir;

/// Debian's wrapper script: it sets OpenArena's base path and protocol, then runs ioq3ded.
const SERVER: &str = "/usr/games/openarena-server";

/// The first port tried: below the ephemeral range, away from Quake's default 27960.
/// ioquake3 takes the next free one of ten if it is taken, and says which in its log.
static NEXT_PORT: AtomicU16 = AtomicU16::new(27_000);

/// A running OpenArena dedicated server on loopback, killed when dropped.
pub struct OpenArena {
    pub addr: SocketAddr,
    pub max_players: u64,
    child: Child,
    _home: TempDir,
}

/// The server binary, or why these tests cannot run here. Panics where the tests are
/// required (`SERVER_STATUS_OPENARENA=required`).
pub fn available() -> Option<&'static Path> {
    let server = Path::new(SERVER);
    if server.is_file() {
        return Some(server);
    }
    let why = format!("{SERVER} not found (apt-get install openarena-server)");
    if std::env::var("SERVER_STATUS_OPENARENA").as_deref() == Ok("required") {
        panic!("the OpenArena tests are required here but cannot run: {why}");
    }
    println!("SKIPPED OpenArena test: {why}");
    None
}

impl OpenArena {
    /// Starts `server` on map `oa_dm1` with `bots` bots and room for `max_players`, named
    /// `name` (Quake colour codes allowed), and waits until it listens.
    pub fn start(server: &Path, name: &str, bots: u64, max_players: u64) -> OpenArena {
        let home = TempDir::new("openarena");
        let port = NEXT_PORT.fetch_add(10, Ordering::Relaxed);
        let mut cmd: Command = clean_command(server);
        cmd.env("HOME", home.path()).current_dir(home.path());
        for (cvar, value) in [
            ("dedicated", "1".to_owned()),
            ("net_ip", "127.0.0.1".to_owned()),
            ("net_port", port.to_string()),
            ("net_enabled", "1".to_owned()),
            ("sv_maxclients", max_players.to_string()),
            ("sv_hostname", name.to_owned()),
            ("bot_minplayers", bots.to_string()),
            ("sv_master1", String::new()),
        ] {
            cmd.args(["+set", cvar, &value]);
        }
        cmd.args(["+map", "oa_dm1"]);
        let child = Child::spawn(cmd);
        // ioquake3 prints the socket it opened: "Opening IP socket: 127.0.0.1:27000".
        child.expect_output("Opening IP socket: 127.0.0.1:", Duration::from_secs(30));
        let port = listening_port(&child.output()).expect("ioquake3 names the port it opened");
        OpenArena {
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            max_players,
            child,
            _home: home,
        }
    }

    /// Kills the server (SIGKILL): the port falls silent, as a crashed server's does.
    pub fn kill(&mut self) {
        self.child.kill();
    }

    /// Panics, with the whole output, unless the server prints `needle` within `limit`.
    pub fn expect_output(&self, needle: &str, limit: Duration) {
        self.child.expect_output(needle, limit);
    }

    /// Everything the server has printed.
    pub fn output(&self) -> String {
        self.child.output()
    }
}

fn listening_port(log: &str) -> Option<u16> {
    let marker = "Opening IP socket: 127.0.0.1:";
    let rest = &log[log.find(marker)? + marker.len()..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}
