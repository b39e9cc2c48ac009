//! Every error names its variable (and the flag clap defines for it); the defaults and off
//! switches of the lease, the metrics listener and the timeout; and `--help`.

use super::*;

#[test]
fn errors_name_the_variable() {
    // Bad values, by the variable they must be blamed on, each given as `--flag=value` with
    // the flag clap defines for the variable.
    let bad_values: &[(&str, &[&str])] = &[
        ("STATUS_UPDATE_INTERVAL", &["abc", "0", "86401"]),
        ("STATUS_CACHE_TTL", &["-1"]),
        ("STATUS_TIMEOUT", &["0", "NaN", "301"]),
        ("STATUS_KEY", &["", "a b"]),
        ("STATUS_INTERVAL_KEY", &["server:status"]),
        ("STATUS_META", &[" , "]),
        ("STATUS_MAPPING", &["rates.speed=X"]),
        ("REDIS_URL", &["http://h"]),
        ("DB_PORT", &["99999", "0"]),
        (
            "DATABASE_URL",
            &[
                "postgres://u:pw@h/db",
                "mysql://u:pw@h",
                "mysql://u:pw@h/db?nonsense=1",
            ],
        ),
        ("STATUS_LEASE", &["0.5", "3601", "x"]),
        ("STATUS_METRICS_ADDR", &["localhost:9464", "127.0.0.1"]),
        (
            "STATUS_STATES",
            &["1:up", "on:online", "1:online,1.0:offline", "1"],
        ),
        ("STATUS_MESSAGE_CONSTANT", &[LONG_NAME, "Mo\ntd"]),
        ("STATUS_MAINTENANCE_UNTIL_CONSTANT", &["A\u{7}"]),
    ];
    // Settings that are wrong only together.
    let bad_sets: &[(&[&str], &str)] = &[
        (&["--db-user", "u", "--db-name", "n"], "DB_HOST"),
        (&["--db-host", "h", "--db-name", "n"], "DB_USER"),
        (&["--db-host", "h", "--db-user", "u"], "DB_NAME"),
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
    let cases =
        bad_values
            .iter()
            .flat_map(|(variable, values)| {
                values
                    .iter()
                    .map(|value| (vec![format!("--{}={value}", flag_for(variable))], *variable))
            })
            .chain(bad_sets.iter().map(|(extra, variable)| {
                (extra.iter().map(|s| s.to_string()).collect(), *variable)
            }));
    for (extra, variable) in cases {
        let mut a = PARTS.to_vec();
        // The DB_* cases supply their own parts.
        if variable.starts_with("DB_") && variable != "DB_PORT" {
            a.clear();
        }
        a.extend(extra.iter().map(String::as_str));
        let err = config(&a).unwrap_err();
        assert_eq!(err.variable, variable, "{extra:?}: {err}");
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
    let c = config_with_parts(&["--status-lease", "0", "--status-metrics-addr", ""]).unwrap();
    assert_eq!((c.lease, c.metrics_addr), (None, None));
    let c =
        config_with_parts(&["--status-lease", "2.5", "--status-metrics-addr", "[::1]:0"]).unwrap();
    assert_eq!(c.lease, Some(Duration::from_millis(2500)));
    assert_eq!(c.metrics_addr, Some("[::1]:0".parse().unwrap()));
}

#[test]
fn fractional_timeout() {
    let c = config_with_parts(&["--status-timeout", "0.25", "--once"]).unwrap();
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
