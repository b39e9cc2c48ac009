//! TLS to the database and to Redis: the modes, the URL's own settings, and the PEM files.

use super::*;

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
    assert_eq!(c.database.as_ref().unwrap().tls.mode, SslMode::Preferred);
    assert!(
        c.database.as_ref().unwrap().opts.ssl_opts().is_some(),
        "TLS is tried first"
    );
    let plain = c
        .database
        .as_ref()
        .unwrap()
        .plaintext_fallback
        .as_ref()
        .expect("a fallback");
    assert!(plain.ssl_opts().is_none());
    for (mode, verifies_name) in [("verify_identity", true), ("VERIFY_CA", false)] {
        let c = config_with_parts(&["--db-ssl-mode", mode]).unwrap();
        let ssl = c.database.as_ref().unwrap().opts.ssl_opts().expect("TLS");
        assert!(!ssl.accept_invalid_certs(), "{mode} checks the chain");
        assert_eq!(ssl.skip_domain_validation(), !verifies_name, "{mode}");
        assert!(
            c.database.as_ref().unwrap().plaintext_fallback.is_none(),
            "{mode} never falls back"
        );
    }
    let c = config_with_parts(&["--db-ssl-mode", "required"]).unwrap();
    assert!(c.database.as_ref().unwrap().opts.ssl_opts().is_some());
    assert!(
        c.database.as_ref().unwrap().plaintext_fallback.is_none(),
        "required never falls back"
    );
    let mut a = PARTS.to_vec();
    a.extend(["--db-ssl-mode", "disabled"]);
    assert!(
        config(&a)
            .unwrap()
            .database
            .unwrap()
            .opts
            .ssl_opts()
            .is_none()
    );
}

#[test]
fn ssl_mode_and_ca_in_the_url_are_taken_out_of_it() {
    let ca = pem_file("ca.pem", CERT_PEM);
    let url = format!(
        "mysql://u:pw@h/game?ssl-mode=verify_identity&ssl-ca={}&stmt_cache_size=8",
        ca.display()
    );
    let c = config(&["--database-url", &url]).unwrap();
    assert_eq!(
        c.database.as_ref().unwrap().tls.mode,
        SslMode::VerifyIdentity
    );
    assert_eq!(
        c.database.as_ref().unwrap().tls.ca.as_deref(),
        Some(ca.as_path())
    );
    let ssl = c.database.as_ref().unwrap().opts.ssl_opts().expect("TLS");
    assert!(ssl.disable_built_in_roots(), "DB_SSL_CA is the only CA");
    assert_eq!(
        c.database.as_ref().unwrap().opts.stmt_cache_size(),
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
    assert!(c.redis.tls.certificates().is_some());
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
            .redis
            .tls
            .certificates()
            .is_none()
    );
    std::fs::remove_file(cert).unwrap();
    std::fs::remove_file(key).unwrap();
}
