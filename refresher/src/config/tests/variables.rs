//! Validation of every error names its variable (and the flag clap defines for it), the defaults and off
//! switches of the lease, the metrics listener and the timeout, and `--help`.

use super::*;

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
