//! The game server: the probe and the players query.

use super::*;

#[test]
fn no_game_server_address_means_no_probe_and_no_players() {
    let c = config(&PARTS).unwrap();
    assert_eq!((&c.first().probe, &c.first().players), (&None, &None));
    assert_eq!(c.first().id.as_str(), "default");
    assert_eq!(c.document.state.max_players_constant, None);
}

#[test]
fn probe_settings() {
    let probe = config_with_parts(&[
        "--game-server-addr",
        " game.internal:7777 , 10.0.0.5:7778,[::1]:7779",
        "--status-probe-interval",
        "2",
        "--status-probe-timeout",
        "0.5",
        "--status-probe-failures",
        "3",
    ])
    .unwrap()
    .first()
    .probe
    .clone()
    .unwrap();
    assert_eq!(
        probe.addrs,
        ["game.internal:7777", "10.0.0.5:7778", "[::1]:7779"]
    );
    assert_eq!(probe.interval, Duration::from_secs(2));
    assert_eq!(probe.timeout, Duration::from_millis(500));
    assert_eq!(probe.failures, 3);
    assert_eq!(probe.deadline(), Duration::from_secs(8));

    // The default timeout (3 s) is cut to a 1-second interval rather than refused.
    let probe = config_with_parts(&["--game-server-addr", "g:1", "--status-probe-interval", "1"])
        .unwrap()
        .first()
        .probe
        .clone()
        .unwrap();
    assert_eq!(probe.timeout, Duration::from_secs(1));
}

#[test]
fn bad_probe_settings_name_the_variable() {
    for (flag, value, variable) in [
        ("--game-server-addr", "game.internal", "GAME_SERVER_ADDR"),
        ("--game-server-addr", "g:0", "GAME_SERVER_ADDR"),
        ("--game-server-addr", "g:70000", "GAME_SERVER_ADDR"),
        ("--game-server-addr", "g:1,,h:2", "GAME_SERVER_ADDR"),
        ("--game-server-addr", "g:1,g:1", "GAME_SERVER_ADDR"),
        ("--game-server-addr", "[::1:1", "GAME_SERVER_ADDR"),
        ("--game-server-addr", "a b:1", "GAME_SERVER_ADDR"),
        ("--status-probe-interval", "0", "STATUS_PROBE_INTERVAL"),
        ("--status-probe-interval", "1.5", "STATUS_PROBE_INTERVAL"),
        ("--status-probe-timeout", "0", "STATUS_PROBE_TIMEOUT"),
        ("--status-probe-timeout", "NaN", "STATUS_PROBE_TIMEOUT"),
        ("--status-probe-failures", "0", "STATUS_PROBE_FAILURES"),
        ("--status-probe-failures", "two", "STATUS_PROBE_FAILURES"),
    ] {
        let mut extra = PARTS.to_vec();
        if flag != "--game-server-addr" {
            extra.extend(["--game-server-addr", "g:1"]);
        }
        extra.extend([flag, value]);
        let e = config(&extra).unwrap_err();
        assert_eq!(e.variable, variable, "{flag} {value}: {e}");
    }
    let many: Vec<String> = (1..=17).map(|p| format!("g:{p}")).collect();
    let many = many.join(",");
    assert!(
        config_with_parts(&["--game-server-addr", &many])
            .unwrap_err()
            .reason
            .contains("at most 16")
    );
}

#[test]
fn players_settings() {
    let c = config_with_parts(&[
        "--status-players-query",
        " SELECT COUNT(*) FROM characters WHERE online = 1; ",
        "--status-players-interval",
        "15",
        "--status-max-players-constant",
        "MaxOnline",
    ])
    .unwrap();
    let players = c.first().players.clone().unwrap();
    assert_eq!(
        players.query,
        "SELECT COUNT(*) FROM characters WHERE online = 1"
    );
    assert_eq!(players.interval, Duration::from_secs(15));
    assert_eq!(
        c.document.state.max_players_constant.as_deref(),
        Some("MaxOnline")
    );

    for (flag, value, variable) in [
        (
            "--status-players-query",
            "SELECT 1; DROP TABLE x",
            "STATUS_PLAYERS_QUERY",
        ),
        ("--status-players-interval", "0", "STATUS_PLAYERS_INTERVAL"),
        (
            "--status-max-players-constant",
            LONG_NAME,
            "STATUS_MAX_PLAYERS_CONSTANT",
        ),
    ] {
        let mut extra = PARTS.to_vec();
        extra.extend(["--status-players-query", "SELECT 1", flag, value]);
        assert_eq!(
            config(&extra).unwrap_err().variable,
            variable,
            "{flag} {value}"
        );
    }
    let long = format!("SELECT {}", "1+".repeat(3000));
    assert_eq!(
        config_with_parts(&["--status-players-query", &long])
            .unwrap_err()
            .variable,
        "STATUS_PLAYERS_QUERY"
    );
}
