//! The database settings: its parts or one URL, and the password used but never shown.

use super::*;

#[test]
fn parts_make_a_database() {
    let c = config(&PARTS).unwrap();
    assert_eq!(
        c.database.as_ref().unwrap().display,
        "mysql://u@h:3306/game"
    );
    assert_eq!(c.database.as_ref().unwrap().opts.ip_or_hostname(), "h");
    assert_eq!(c.database.as_ref().unwrap().opts.db_name(), Some("game"));
    assert_eq!(c.interval, Duration::from_secs(600));
    assert_eq!((c.document.ttl_s, c.timeout), (900, Duration::from_secs(5)));
    assert_eq!(c.document.meta, MetaPolicy::All);
    assert_eq!(c.document.mapping, Mapping::default());
    assert!(!c.once);
}

#[test]
fn password_is_used_but_never_shown() {
    let c = config_with_parts(&["--db-password", "hunter2"]).unwrap();
    assert_eq!(c.database.as_ref().unwrap().opts.pass(), Some("hunter2"));
    assert_eq!(
        c.database.as_ref().unwrap().display,
        "mysql://u:***@h:3306/game"
    );
    assert!(!format!("{c:?}").contains("hunter2"));

    let c = config(&[
        "--database-url",
        "mysql://u:hunter2@h:3307/game",
        "--redis-url",
        "redis://:hunter3@r:6379/1",
    ])
    .unwrap();
    assert_eq!(c.database.as_ref().unwrap().opts.tcp_port(), 3307);
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
    assert_eq!(c.database.as_ref().unwrap().opts.db_name(), Some("other"));
    assert_eq!(c.ignored, ["DB_HOST", "DB_USER", "DB_NAME"]);
}

#[test]
fn without_a_database_the_game_server_alone_is_enough() {
    let c = config(&[
        "--game-server-addr",
        "10.0.0.5:27960",
        "--game-server-query",
        "q3a",
    ])
    .unwrap();
    assert!(c.database.is_none());
    assert_eq!(c.first().probe.as_ref().unwrap().query.id(), "q3a");
    assert!(c.first().constants.is_none());
}

#[test]
fn without_a_database_what_needs_one_is_named() {
    let e = config(&[]).unwrap_err().to_string();
    assert!(
        e.contains("DATABASE_URL") && e.contains("DB_HOST") && e.contains("GAME_SERVER_ADDR"),
        "{e}"
    );
    for (flag, value, named) in [
        ("--status-players-query", "SELECT 1", "STATUS_PLAYERS_QUERY"),
        ("--status-watch", "binlog", "STATUS_WATCH"),
        (
            "--status-max-players-constant",
            "MaxOnline",
            "STATUS_MAX_PLAYERS_CONSTANT",
        ),
    ] {
        let e = config(&["--game-server-addr", "10.0.0.5:27960", flag, value])
            .unwrap_err()
            .to_string();
        assert!(e.contains(named) && e.contains("needs the database"), "{e}");
    }
    // Half a database is still a mistake, not "no database".
    let e = config(&["--db-host", "h"]).unwrap_err().to_string();
    assert!(e.contains("DB_USER"), "{e}");
}
