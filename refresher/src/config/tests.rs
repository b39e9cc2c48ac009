//! The validation, driven through the real clap definition with every flag given explicitly.

use std::time::Duration;

use clap::Parser;
use status_document::{Mapping, MetaPolicy, StateSettings};

use super::*;

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
    ];
    argv.extend_from_slice(extra);
    Args::try_parse_from(argv)
}

fn config(extra: &[&str]) -> Result<Config, ConfigError> {
    Config::from_args(args(extra).expect("clap accepts strings"))
}

/// One character longer than a `constants.Name` can be.
const LONG_NAME: &str = "NNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNN";

const PARTS: [&str; 6] = ["--db-host", "h", "--db-user", "u", "--db-name", "game"];

#[test]
fn parts_make_a_database() {
    let c = config(&PARTS).unwrap();
    assert_eq!(c.database.display, "mysql://u@h:3306/game");
    assert_eq!(c.database.opts.ip_or_hostname(), "h");
    assert_eq!(c.database.opts.db_name(), Some("game"));
    assert_eq!(c.interval, Duration::from_secs(600));
    assert_eq!((c.ttl_s, c.timeout), (900, Duration::from_secs(5)));
    assert_eq!(c.meta, MetaPolicy::All);
    assert_eq!(c.mapping, Mapping::default());
    assert!(!c.once);
}

#[test]
fn password_is_used_but_never_shown() {
    let mut a = PARTS.to_vec();
    a.extend(["--db-password", "hunter2"]);
    let c = config(&a).unwrap();
    assert_eq!(c.database.opts.pass(), Some("hunter2"));
    assert_eq!(c.database.display, "mysql://u:***@h:3306/game");
    assert!(!format!("{c:?}").contains("hunter2"));

    let c = config(&[
        "--database-url",
        "mysql://u:hunter2@h:3307/game",
        "--redis-url",
        "redis://:hunter3@r:6379/1",
    ])
    .unwrap();
    assert_eq!(c.database.opts.tcp_port(), 3307);
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
    assert_eq!(c.database.opts.db_name(), Some("other"));
    assert_eq!(c.ignored, ["DB_HOST", "DB_USER", "DB_NAME"]);
}

#[test]
fn errors_name_the_variable() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["--status-update-interval", "abc"],
            "STATUS_UPDATE_INTERVAL",
        ),
        (&["--status-update-interval", "0"], "STATUS_UPDATE_INTERVAL"),
        (
            &["--status-update-interval", "86401"],
            "STATUS_UPDATE_INTERVAL",
        ),
        (&["--status-cache-ttl=-1"], "STATUS_CACHE_TTL"),
        (&["--status-timeout", "0"], "STATUS_TIMEOUT"),
        (&["--status-timeout", "NaN"], "STATUS_TIMEOUT"),
        (&["--status-timeout", "301"], "STATUS_TIMEOUT"),
        (&["--status-key", ""], "STATUS_KEY"),
        (&["--status-key", "a b"], "STATUS_KEY"),
        (
            &["--status-interval-key", "server:status"],
            "STATUS_INTERVAL_KEY",
        ),
        (&["--status-meta", " , "], "STATUS_META"),
        (&["--status-mapping", "rates.speed=X"], "STATUS_MAPPING"),
        (&["--redis-url", "http://h"], "REDIS_URL"),
        (&["--db-port", "99999"], "DB_PORT"),
        (&["--db-port", "0"], "DB_PORT"),
        (&["--database-url", "postgres://u:pw@h/db"], "DATABASE_URL"),
        (&["--database-url", "mysql://u:pw@h"], "DATABASE_URL"),
        (
            &["--database-url", "mysql://u:pw@h/db?nonsense=1"],
            "DATABASE_URL",
        ),
        (&["--db-user", "u", "--db-name", "n"], "DB_HOST"),
        (&["--db-host", "h", "--db-name", "n"], "DB_USER"),
        (&["--db-host", "h", "--db-user", "u"], "DB_NAME"),
        (&["--status-lease", "0.5"], "STATUS_LEASE"),
        (&["--status-lease", "3601"], "STATUS_LEASE"),
        (&["--status-lease", "x"], "STATUS_LEASE"),
        (
            &["--status-metrics-addr", "localhost:9464"],
            "STATUS_METRICS_ADDR",
        ),
        (
            &["--status-metrics-addr", "127.0.0.1"],
            "STATUS_METRICS_ADDR",
        ),
        (&["--status-states", "1:up"], "STATUS_STATES"),
        (&["--status-states", "on:online"], "STATUS_STATES"),
        (
            &["--status-states", "1:online,1.0:offline"],
            "STATUS_STATES",
        ),
        (&["--status-states", "1"], "STATUS_STATES"),
        (
            &["--status-message-constant", LONG_NAME],
            "STATUS_MESSAGE_CONSTANT",
        ),
        (
            &["--status-message-constant", "Mo\ntd"],
            "STATUS_MESSAGE_CONSTANT",
        ),
        (
            &["--status-maintenance-until-constant", "A\u{7}"],
            "STATUS_MAINTENANCE_UNTIL_CONSTANT",
        ),
        (
            &[
                "--status-message-constant",
                "Maintenance",
                "--status-maintenance-until-constant",
                " Maintenance ",
            ],
            "STATUS_MAINTENANCE_UNTIL_CONSTANT",
        ),
    ];
    for (extra, variable) in cases {
        let mut a = PARTS.to_vec();
        // The DB_* cases supply their own parts.
        if variable.starts_with("DB_") && *variable != "DB_PORT" {
            a.clear();
        }
        a.extend_from_slice(extra);
        let err = config(&a).unwrap_err();
        assert_eq!(err.variable, *variable, "{extra:?}: {err}");
        let text = err.to_string();
        assert!(text.contains(variable), "{text}");
        assert!(!text.contains("pw@"), "password leaked: {text}");
    }
}

#[test]
fn lease_and_metrics_defaults_and_off_switches() {
    let c = config(&PARTS).unwrap();
    assert_eq!(c.lease, Some(Duration::from_secs(30)));
    assert_eq!(c.metrics_addr, Some("127.0.0.1:9464".parse().unwrap()));
    let mut a = PARTS.to_vec();
    a.extend(["--status-lease", "0", "--status-metrics-addr", ""]);
    let c = config(&a).unwrap();
    assert_eq!((c.lease, c.metrics_addr), (None, None));
    let mut a = PARTS.to_vec();
    a.extend(["--status-lease", "2.5", "--status-metrics-addr", "[::1]:0"]);
    let c = config(&a).unwrap();
    assert_eq!(c.lease, Some(Duration::from_millis(2500)));
    assert_eq!(c.metrics_addr, Some("[::1]:0".parse().unwrap()));
}

#[test]
fn fractional_timeout() {
    let mut a = PARTS.to_vec();
    a.extend(["--status-timeout", "0.25", "--once"]);
    let c = config(&a).unwrap();
    assert_eq!(c.timeout, Duration::from_millis(250));
    assert!(c.once);
}

#[test]
fn errors_name_the_flag_clap_defines() {
    let err = config(&["--status-timeout", "0"]).unwrap_err();
    assert_eq!(err.flag, "status-timeout");
    assert!(err.to_string().contains("(--status-timeout)"), "{err}");
    assert_eq!(flag_for("DB_PASSWORD"), "db-password");
    assert_eq!(flag_for("STATUS_METRICS_ADDR"), "status-metrics-addr");
    assert_eq!(flag_for("NOT_A_VARIABLE"), "?");
}

#[test]
fn help_documents_every_variable() {
    let help = args(&["--help"]).unwrap_err().to_string();
    for variable in [
        "REDIS_URL",
        "DATABASE_URL",
        "DB_HOST",
        "DB_PORT",
        "DB_USER",
        "DB_PASSWORD",
        "DB_NAME",
        "STATUS_UPDATE_INTERVAL",
        "STATUS_CACHE_TTL",
        "STATUS_KEY",
        "STATUS_INTERVAL_KEY",
        "STATUS_META",
        "STATUS_MAPPING",
        "STATUS_TIMEOUT",
        "STATUS_LEASE",
        "STATUS_METRICS_ADDR",
        "STATUS_STATES",
        "STATUS_MESSAGE_CONSTANT",
        "STATUS_MAINTENANCE_UNTIL_CONSTANT",
        "REDIS_CA_CERT",
        "REDIS_CLIENT_CERT",
        "REDIS_CLIENT_KEY",
        "DB_SSL_MODE",
        "DB_SSL_CA",
        "--once",
    ] {
        assert!(help.contains(variable), "--help lacks {variable}");
    }
}

#[test]
fn state_settings_default_and_configured() {
    let c = config(&PARTS).unwrap();
    assert_eq!(c.state, StateSettings::default());
    assert_eq!(c.state.states.to_string(), "1:online,0:offline");
    let mut a = PARTS.to_vec();
    a.extend([
        "--status-states",
        " 1:online, 0:offline ,2:maintenance",
        "--status-message-constant",
        " MaintenanceMessage ",
        "--status-maintenance-until-constant",
        "MaintenanceUntil",
    ]);
    let c = config(&a).unwrap();
    assert_eq!(
        c.state.states.to_string(),
        "1:online,0:offline,2:maintenance"
    );
    assert_eq!(
        c.state.message_constant.as_deref(),
        Some("MaintenanceMessage")
    );
    assert_eq!(
        c.state.maintenance_until_constant.as_deref(),
        Some("MaintenanceUntil")
    );
    // An empty mapping is allowed: every value is then `unknown`, never `online`.
    let mut a = PARTS.to_vec();
    a.extend(["--status-states", ""]);
    let c = config(&a).unwrap();
    assert_eq!(
        c.state.states.state_for(Some(1.0)),
        status_document::State::Unknown
    );
}

#[test]
fn state_errors_quote_the_value_and_say_why() {
    let mut a = PARTS.to_vec();
    a.extend(["--status-states", "1:online,2:up"]);
    let text = config(&a).unwrap_err().to_string();
    assert!(
        text.starts_with("invalid STATUS_STATES (--status-states): "),
        "{text}"
    );
    assert!(
        text.contains("\"up\"") && text.contains("maintenance"),
        "{text}"
    );
    assert!(text.contains("\"1:online,2:up\""), "{text}");
    let mut a = PARTS.to_vec();
    a.extend(["--status-message-constant", LONG_NAME]);
    let text = config(&a).unwrap_err().to_string();
    assert!(text.contains("at most 64 characters"), "{text}");
}

/// A PEM file in the temp directory, for the TLS settings (a certificate made once by hand:
/// only its being PEM matters here, nothing verifies it).
fn pem_file(name: &str, text: &str) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("refresher-{}-{name}", std::process::id()));
    std::fs::write(&path, text).unwrap();
    path
}

const CERT_PEM: &str = "-----BEGIN CERTIFICATE-----\nMIIBAA==\n-----END CERTIFICATE-----\n";
const KEY_PEM: &str = "-----BEGIN PRIVATE KEY-----\nMIIBAA==\n-----END PRIVATE KEY-----\n";

#[test]
fn db_ssl_mode_defaults_to_preferred_with_a_plaintext_fallback() {
    let c = config(&PARTS).unwrap();
    assert_eq!(c.database.tls.mode, SslMode::Preferred);
    assert!(c.database.opts.ssl_opts().is_some(), "TLS is tried first");
    let plain = c.database.plaintext_fallback.as_ref().expect("a fallback");
    assert!(plain.ssl_opts().is_none());
    for (mode, verifies_name) in [("verify_identity", true), ("VERIFY_CA", false)] {
        let mut a = PARTS.to_vec();
        a.extend(["--db-ssl-mode", mode]);
        let c = config(&a).unwrap();
        let ssl = c.database.opts.ssl_opts().expect("TLS");
        assert!(!ssl.accept_invalid_certs(), "{mode} checks the chain");
        assert_eq!(ssl.skip_domain_validation(), !verifies_name, "{mode}");
        assert!(
            c.database.plaintext_fallback.is_none(),
            "{mode} never falls back"
        );
    }
    let mut a = PARTS.to_vec();
    a.extend(["--db-ssl-mode", "required"]);
    let c = config(&a).unwrap();
    assert!(c.database.opts.ssl_opts().is_some());
    assert!(
        c.database.plaintext_fallback.is_none(),
        "required never falls back"
    );
    let mut a = PARTS.to_vec();
    a.extend(["--db-ssl-mode", "disabled"]);
    assert!(config(&a).unwrap().database.opts.ssl_opts().is_none());
}

#[test]
fn ssl_mode_and_ca_in_the_url_are_taken_out_of_it() {
    let ca = pem_file("ca.pem", CERT_PEM);
    let url = format!(
        "mysql://u:pw@h/game?ssl-mode=verify_identity&ssl-ca={}&stmt_cache_size=8",
        ca.display()
    );
    let c = config(&["--database-url", &url]).unwrap();
    assert_eq!(c.database.tls.mode, SslMode::VerifyIdentity);
    assert_eq!(c.database.tls.ca.as_deref(), Some(ca.as_path()));
    let ssl = c.database.opts.ssl_opts().expect("TLS");
    assert!(ssl.disable_built_in_roots(), "DB_SSL_CA is the only CA");
    assert_eq!(
        c.database.opts.stmt_cache_size(),
        8,
        "other parameters kept"
    );
    // Both places, disagreeing: named.
    let e = config(&["--database-url", &url, "--db-ssl-mode", "required"]).unwrap_err();
    assert_eq!(e.variable, "DB_SSL_MODE");
    // mysql_async's own spelling: refused, pointing at ours.
    let e = config(&["--database-url", "mysql://u@h/game?require_ssl=true"]).unwrap_err();
    assert_eq!(e.variable, "DATABASE_URL");
    assert!(e.reason.contains("ssl-mode"), "{e}");
    let e = config(&["--database-url", "mysql://u@h/game?ssl-mode=sometimes"]).unwrap_err();
    assert_eq!(e.variable, "DB_SSL_MODE");
    // A CA with a mode that would not use it.
    let mut a = PARTS.to_vec();
    let ca_arg = ca.display().to_string();
    a.extend(["--db-ssl-ca", &ca_arg]);
    assert_eq!(config(&a).unwrap_err().variable, "DB_SSL_CA");
    std::fs::remove_file(ca).unwrap();
}

#[test]
fn redis_tls_files_are_read_at_start_and_named_when_wrong() {
    let cert = pem_file("client.pem", CERT_PEM);
    let key = pem_file("client-key.pem", KEY_PEM);
    let (cert_s, key_s) = (cert.display().to_string(), key.display().to_string());
    let tls = |url: &str, extra: &[&str]| {
        let mut a = PARTS.to_vec();
        a.extend(["--redis-url", url]);
        a.extend_from_slice(extra);
        config(&a)
    };
    let c = tls(
        "rediss://h:6380",
        &[
            "--redis-ca-cert",
            &cert_s,
            "--redis-client-cert",
            &cert_s,
            "--redis-client-key",
            &key_s,
        ],
    )
    .unwrap();
    assert!(c.redis_tls.certificates().is_some());
    assert!(
        !format!("{c:?}").contains("MIIBAA"),
        "contents never printed"
    );
    for (extra, variable) in [
        (
            vec!["--redis-ca-cert", "/nonexistent/ca.pem"],
            "REDIS_CA_CERT",
        ),
        (vec!["--redis-ca-cert", key_s.as_str()], "REDIS_CA_CERT"),
        (
            vec!["--redis-client-cert", cert_s.as_str()],
            "REDIS_CLIENT_KEY",
        ),
        (
            vec!["--redis-client-key", key_s.as_str()],
            "REDIS_CLIENT_CERT",
        ),
        (
            vec![
                "--redis-client-cert",
                cert_s.as_str(),
                "--redis-client-key",
                cert_s.as_str(),
            ],
            "REDIS_CLIENT_KEY",
        ),
    ] {
        assert_eq!(
            tls("rediss://h", &extra).unwrap_err().variable,
            variable,
            "{extra:?}"
        );
    }
    let e = tls("redis://h", &["--redis-ca-cert", &cert_s]).unwrap_err();
    assert_eq!(e.variable, "REDIS_CA_CERT");
    assert!(
        tls("rediss://h", &[])
            .unwrap()
            .redis_tls
            .certificates()
            .is_none()
    );
    std::fs::remove_file(cert).unwrap();
    std::fs::remove_file(key).unwrap();
}

#[test]
fn no_game_server_address_means_no_probe_and_no_players() {
    let c = config(&PARTS).unwrap();
    assert_eq!((c.probe, c.players), (None, None));
    assert_eq!(c.state.max_players_constant, None);
}

#[test]
fn probe_settings() {
    let mut extra = PARTS.to_vec();
    extra.extend([
        "--game-server-addr",
        " game.internal:7777 , 10.0.0.5:7778,[::1]:7779",
        "--status-probe-interval",
        "2",
        "--status-probe-timeout",
        "0.5",
        "--status-probe-failures",
        "3",
    ]);
    let probe = config(&extra).unwrap().probe.unwrap();
    assert_eq!(
        probe.addrs,
        ["game.internal:7777", "10.0.0.5:7778", "[::1]:7779"]
    );
    assert_eq!(probe.interval, Duration::from_secs(2));
    assert_eq!(probe.timeout, Duration::from_millis(500));
    assert_eq!(probe.failures, 3);
    assert_eq!(probe.deadline(), Duration::from_secs(8));

    // The default timeout (3 s) is cut to a 1-second interval rather than refused.
    let mut extra = PARTS.to_vec();
    extra.extend(["--game-server-addr", "g:1", "--status-probe-interval", "1"]);
    let probe = config(&extra).unwrap().probe.unwrap();
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
    let mut extra = PARTS.to_vec();
    extra.extend(["--game-server-addr", &many]);
    assert!(config(&extra).unwrap_err().reason.contains("at most 16"));
}

#[test]
fn players_settings() {
    let mut extra = PARTS.to_vec();
    extra.extend([
        "--status-players-query",
        " SELECT COUNT(*) FROM characters WHERE online = 1; ",
        "--status-players-interval",
        "15",
        "--status-max-players-constant",
        "MaxOnline",
    ]);
    let c = config(&extra).unwrap();
    let players = c.players.unwrap();
    assert_eq!(
        players.query,
        "SELECT COUNT(*) FROM characters WHERE online = 1"
    );
    assert_eq!(players.interval, Duration::from_secs(15));
    assert_eq!(c.state.max_players_constant.as_deref(), Some("MaxOnline"));

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
    let mut extra = PARTS.to_vec();
    extra.extend(["--status-players-query", &long]);
    assert_eq!(config(&extra).unwrap_err().variable, "STATUS_PLAYERS_QUERY");
}

fn notify_config(extra: &[&str]) -> Result<Config, ConfigError> {
    let mut all = vec!["--db-host", "h", "--db-user", "u", "--db-name", "n"];
    all.extend_from_slice(extra);
    Config::from_args(args(&all).expect("clap"))
}

#[test]
fn notify_settings_are_checked_by_their_variable_and_never_quote_a_url() {
    let c = notify_config(&[]).unwrap();
    assert_eq!(c.notify, None, "off without STATUS_NOTIFY");

    let hook = "webhook=https://example.org/h?token=SECRET";
    let e = notify_config(&["--status-notify", hook]).unwrap_err();
    assert_eq!(
        e.variable, "STATUS_NOTIFY_SECRET",
        "a webhook needs its key"
    );
    assert_eq!(e.flag, "status-notify-secret");

    let c = notify_config(&[
        "--status-notify",
        hook,
        "--status-notify-secret",
        "k",
        "--status-notify-hold",
        "0",
        "--status-notify-lang",
        "RU",
    ])
    .unwrap();
    let n = c.notify.clone().expect("notify settings");
    assert_eq!(
        (n.hold, n.lang, n.max_per_hour),
        (Duration::ZERO, Lang::Ru, 10)
    );
    assert_eq!(n.give_up, Duration::from_secs(3600));
    assert_eq!(
        n.timeout,
        Duration::from_secs(5),
        "STATUS_TIMEOUT bounds each request"
    );
    let shown = format!("{c:?}");
    assert!(
        !shown.contains("SECRET") && !shown.contains("\"k\""),
        "{shown}"
    );

    for (flag, value, variable) in [
        ("--status-notify-hold", "3601", "STATUS_NOTIFY_HOLD"),
        (
            "--status-notify-max-per-hour",
            "0",
            "STATUS_NOTIFY_MAX_PER_HOUR",
        ),
        ("--status-notify-lang", "de", "STATUS_NOTIFY_LANG"),
        ("--status-notify-link", "ftp://x", "STATUS_NOTIFY_LINK"),
        ("--status-notify-give-up", "86401", "STATUS_NOTIFY_GIVE_UP"),
        (
            "--status-notify-ca-cert",
            "/nonexistent/ca.pem",
            "STATUS_NOTIFY_CA_CERT",
        ),
    ] {
        let e = notify_config(&[
            "--status-notify",
            hook,
            "--status-notify-secret",
            "k",
            flag,
            value,
        ])
        .unwrap_err();
        assert_eq!(e.variable, variable, "{flag} {value}: {e}");
        assert!(!e.to_string().contains("SECRET"), "{e}");
    }
    let e =
        notify_config(&["--status-notify", "discord=https://discord.com/x/SECRET"]).unwrap_err();
    assert_eq!(e.variable, "STATUS_NOTIFY");
    assert!(!e.to_string().contains("SECRET"), "{e}");
}
