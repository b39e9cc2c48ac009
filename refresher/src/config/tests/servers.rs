//! The servers file: what a good one gives, and where a bad one is wrong.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::*;

/// A servers file with `text`, in a fresh file of its own (removed when dropped).
struct File(PathBuf);

impl File {
    fn new(text: &str) -> File {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "servers-{}-{}.toml",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::write(&path, text).expect("temp dir is writable");
        File(path)
    }

    fn path(&self) -> &str {
        self.0.to_str().expect("temp paths are UTF-8 here")
    }
}

impl Drop for File {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// The configuration with a database and `text` as the servers file, plus `extra`.
fn with_file(text: &str, extra: &[&str]) -> Result<Config, ConfigError> {
    let file = File::new(text);
    config_with_parts(&[&["--servers", file.path()], extra].concat())
}

/// The error's reason for `text`, with the file's path replaced by `F`.
fn error(text: &str, extra: &[&str]) -> String {
    let file = File::new(text);
    let e = config_with_parts(&[&["--servers", file.path()], extra].concat())
        .expect_err("the file is refused");
    assert_eq!(e.variable, "STATUS_SERVERS_FILE", "{e}");
    e.reason.replace(file.path(), "F")
}

const TWO: &str = r#"
[[server]]
id = "main"
name = "Main realm x5"
addr = "10.0.0.5:27960"
query = "q3a"
constants = true
players_query = "SELECT COUNT(*) FROM characters WHERE online = 1;"

[[server]]
id = "test"
addr = ["10.0.0.6:27960", "10.0.0.6:27961"]
probe_interval = 5
probe_timeout = 0.5
probe_failures = 3
constants = "test_constants"
"#;

#[test]
fn a_file_of_two_servers() {
    let c = with_file(TWO, &["--game-server-query", "minecraftjava"]).unwrap();
    let [main, test] = c.servers.list.as_slice() else {
        panic!("two servers: {:?}", c.servers.list);
    };
    assert_eq!(
        (main.id.as_str(), main.name.as_str(), main.order),
        ("main", "Main realm x5", 0)
    );
    assert_eq!(
        (test.id.as_str(), test.name.as_str(), test.order),
        ("test", "test", 1)
    );
    let probe = main.probe.as_ref().unwrap();
    assert_eq!(
        (probe.addrs.as_slice(), probe.query.id()),
        (&["10.0.0.5:27960".to_owned()][..], "q3a")
    );
    // The environment's STATUS_PROBE_* and GAME_SERVER_QUERY are every server's defaults.
    assert_eq!(
        (probe.interval, probe.timeout, probe.failures),
        (Duration::from_secs(10), Duration::from_secs(3), 2)
    );
    let probe = test.probe.as_ref().unwrap();
    assert_eq!(probe.addrs, ["10.0.0.6:27960", "10.0.0.6:27961"]);
    assert_eq!(probe.query.id(), "minecraftjava");
    assert_eq!(
        (probe.interval, probe.timeout, probe.failures),
        (Duration::from_secs(5), Duration::from_millis(500), 3)
    );
    assert_eq!(main.constants.as_ref().unwrap().table, "constants");
    assert_eq!(test.constants.as_ref().unwrap().table, "test_constants");
    let players = main.players.as_ref().unwrap();
    assert_eq!(
        players.query,
        "SELECT COUNT(*) FROM characters WHERE online = 1"
    );
    assert_eq!(players.interval, Duration::from_secs(60));
    assert!(test.players.is_none());
    assert_eq!(c.servers.group, None);
    assert_eq!(c.servers.group_name(), "all");
}

#[test]
fn without_a_file_the_environment_is_the_one_default_server() {
    let c = config_with_parts(&["--game-server-addr", "g:1"]).unwrap();
    let [one] = c.servers.list.as_slice() else {
        panic!("one server");
    };
    assert!(one.id.is_default());
    assert_eq!(
        one.constants.as_ref().map(|c| c.table.as_str()),
        Some("constants")
    );
    assert_eq!(one.constants.as_ref().unwrap().origin, None);
    assert_eq!(one.probe.as_ref().unwrap().addrs, ["g:1"]);
}

#[test]
fn bad_files_name_the_file_the_line_and_the_field() {
    for (text, expected) in [
        (
            "[[server]]\nid = \"a\"\naddr = \"h:1\"\n\n[[server]]\nid = \"a\"\naddr = \"h:2\"\n",
            "F:6: id: \"a\" is already the id of the server at line 2",
        ),
        (
            "[[server]]\nid = \"a\"\naddr = \"h:1\"\nquery = \"quake9\"\n",
            "F:4: query: is not `tcp` nor a game id",
        ),
        (
            "[[server]]\nid = \"a\"\naddr = \"h\"\n",
            "F:3: addr: expected host:port[,host:port...] (every one must answer); got \"h\"",
        ),
        (
            "[[server]]\nid = \"a\"\naddr = [\"h:1\", \"h:1\"]\n",
            "F:3: addr: expected host:port[,host:port...] (every one must answer); \"h:1\" is listed twice",
        ),
        (
            "[[server]]\nid = \"Main\"\naddr = \"h:1\"\n",
            "F:2: id: a server id starts with",
        ),
        (
            "[[server]]\nid = \"a\"\naddr = \"h:1\"\nport = 5\n",
            "F:4: unknown field `port`",
        ),
        ("[[server]]\nid = \"a\"\naddr = \"h:1\n", "F:3: "),
        (
            "[[server]]\nid = \"a\"\n",
            "F:2: id: server \"a\" has neither `addr` nor `constants`",
        ),
        (
            "[[server]]\nid = \"a\"\nconstants = \"x; DROP\"\n",
            "F:3: constants: expected true, false or a table name",
        ),
        (
            "[[server]]\nid = \"a\"\naddr = \"h:1\"\nprobe_interval = 0\n",
            "F:4: probe_interval: expected whole seconds from 1 to 3600, got 0",
        ),
        (
            "[[server]]\nid = \"a\"\nquery = \"q3a\"\nconstants = true\n",
            "F:3: query: needs `addr`",
        ),
        ("# nothing\n", "F: lists no server"),
    ] {
        let reason = error(text, &[]);
        assert!(
            reason.starts_with(expected),
            "{text:?}:\n  got      {reason}\n  expected {expected}"
        );
    }
}

#[test]
fn what_needs_a_database_says_so() {
    let file = File::new("[[server]]\nid = \"a\"\naddr = \"h:1\"\nconstants = true\n");
    let e = config(&["--servers", file.path()]).unwrap_err();
    assert!(e.reason.ends_with(":4: constants: needs a database (DATABASE_URL or DB_*); set `constants = false` or leave it out"), "{e}");
    // Without a database, a file of probed servers is enough to publish.
    let file = File::new("[[server]]\nid = \"a\"\naddr = \"h:1\"\n");
    let c = config(&["--servers", file.path()]).unwrap();
    assert!(c.database.is_none() && c.first().constants.is_none());
}

#[test]
fn the_environments_own_server_settings_clash_with_a_file() {
    let file = File::new(TWO);
    for (flag, variable) in [
        ("--game-server-addr", "GAME_SERVER_ADDR"),
        ("--status-players-query", "STATUS_PLAYERS_QUERY"),
    ] {
        let value = if variable == "GAME_SERVER_ADDR" {
            "g:1"
        } else {
            "SELECT 1"
        };
        let e = config_with_parts(&["--servers", file.path(), flag, value]).unwrap_err();
        assert_eq!(e.variable, variable);
        assert!(e.reason.contains("STATUS_SERVERS_FILE"), "{e}");
    }
}

#[test]
fn a_group_is_a_subset_with_a_lease_of_its_own() {
    let c = with_file(TWO, &["--servers-only", "test"]).unwrap();
    assert_eq!(
        c.servers
            .list
            .iter()
            .map(|s| s.id.as_str())
            .collect::<Vec<_>>(),
        ["test"]
    );
    // The file's position stays the index's order.
    assert_eq!(c.first().order, 1);
    let group = c.servers.group.clone().unwrap();
    assert!(group.starts_with("group-"), "{group}");
    // The same set in another order is the same group; another set is another.
    let both = with_file(TWO, &["--servers-only", "test,main"])
        .unwrap()
        .servers
        .group;
    let both_again = with_file(TWO, &["--servers-only", " main , test "])
        .unwrap()
        .servers
        .group;
    assert_eq!(both, both_again);
    assert_ne!(both, Some(group));

    let e = with_file(TWO, &["--servers-only", "main,eu"]).unwrap_err();
    assert_eq!(e.variable, "STATUS_SERVERS_ONLY");
    assert!(e.reason.contains("\"eu\" is not an id"), "{e}");
    let e =
        config_with_parts(&["--servers-only", "main", "--game-server-addr", "g:1"]).unwrap_err();
    assert_eq!(e.variable, "STATUS_SERVERS_ONLY");
}
