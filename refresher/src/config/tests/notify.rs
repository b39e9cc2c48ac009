//! The notifications' settings (`STATUS_NOTIFY*`).

use super::*;

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

    for (variable, value) in [
        ("STATUS_NOTIFY_HOLD", "3601"),
        ("STATUS_NOTIFY_MAX_PER_HOUR", "0"),
        ("STATUS_NOTIFY_LANG", "de"),
        ("STATUS_NOTIFY_LINK", "ftp://x"),
        ("STATUS_NOTIFY_GIVE_UP", "86401"),
        ("STATUS_NOTIFY_CA_CERT", "/nonexistent/ca.pem"),
    ] {
        let flag = format!("--{}", flag_for(variable));
        let e = notify_config(&[
            "--status-notify",
            hook,
            "--status-notify-secret",
            "k",
            &flag,
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
