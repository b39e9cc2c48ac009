//! TLS to the database at connect time: `DB_SSL_MODE=preferred`'s fallback to plaintext,
//! and errors that name `DB_SSL_MODE` / `DB_SSL_CA`.
//!
//! mysql_async knows two things: no TLS, or TLS required (a server without it is
//! `NoClientSslFlagFromServer`). MySQL's `preferred` — TLS when offered, plaintext when not —
//! is therefore ours: the first connection asks for TLS, and only that one error switches
//! to the plaintext options the configuration prepared ([`crate::config::Database`]). A
//! certificate or handshake failure never falls back. Every other mode never falls back.

use mysql_async::{Conn, DriverError, Opts};

use crate::config::{DbTls, SslMode};

/// "Access denied": what MariaDB answers a plaintext login under require_secure_transport.
const ER_ACCESS_DENIED: u16 = 1045;

/// Whether `error` is the server saying it has no TLS.
pub fn server_has_no_tls(error: &mysql_async::Error) -> bool {
    matches!(
        error,
        mysql_async::Error::Driver(DriverError::NoClientSslFlagFromServer)
    )
}

/// A connection with `opts`, or with `fallback` when the server offers no TLS and the mode
/// is `preferred` (the only mode with a fallback).
pub async fn connect(opts: &Opts, fallback: Option<&Opts>) -> Result<Conn, mysql_async::Error> {
    match Conn::new(opts.clone()).await {
        Err(e) if server_has_no_tls(&e) => match fallback {
            Some(plain) => Conn::new(plain.clone()).await,
            None => Err(e),
        },
        other => other,
    }
}

/// What a TLS failure means in terms of the settings, or `None` for an error that is not
/// about TLS.
pub fn describe(error: &mysql_async::Error, tls: &DbTls) -> Option<String> {
    if server_has_no_tls(error) {
        return Some(format!(
            "the database server offers no TLS and DB_SSL_MODE={} refuses plaintext (enable \
             TLS on the server, or set DB_SSL_MODE=preferred or disabled)",
            tls.mode
        ));
    }
    if let mysql_async::Error::Server(server) = error
        && server.code == ER_ACCESS_DENIED
        && tls.mode == SslMode::Disabled
    {
        return Some(format!(
            "{} (DB_SSL_MODE=disabled: a MariaDB with require_secure_transport=ON refuses a \
             plaintext login with this very error; if it does, set DB_SSL_MODE=verify_identity \
             or required)",
            server.message
        ));
    }
    if let mysql_async::Error::Server(server) = error
        && server.message.contains("insecure transport")
    {
        return Some(format!(
            "the database server requires TLS and DB_SSL_MODE={} did not use it (set \
             DB_SSL_MODE=verify_identity, or at least required): {}",
            tls.mode, server.message
        ));
    }
    let cause = crate::tls::rustls_cause(error)?;
    let ca = match &tls.ca {
        Some(ca) => format!("DB_SSL_CA={}", ca.display()),
        None => "the built-in Mozilla roots, as DB_SSL_CA is not set".to_owned(),
    };
    let why = crate::tls::Failure::of(cause).explain(&ca, "DATABASE_URL/DB_HOST", "-");
    Some(format!(
        "TLS to the database failed with DB_SSL_MODE={}: {why} ({cause})",
        tls.mode
    ))
}
