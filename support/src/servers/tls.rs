//! Throwaway servers that speak TLS only, from the certificates of [`crate::certs`].
//!
//! - [`redis`]: `redis-server --tls-port P --port 0` (no plaintext port at all), optionally
//!   demanding a client certificate (`--tls-auth-clients yes`).
//! - [`mariadb`]: `mariadbd` with `ssl_cert`/`ssl_key`/`ssl_ca` and
//!   `require_secure_transport=ON`, so a plaintext login is refused by the server itself.

use anyhow::{Context, Result};

use super::{Server, Throwaway};
use crate::certs::{Pair, TestPki};
use crate::net::free_port;

/// Whether the Redis asks for (and checks) a client certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    Optional,
    Required,
}

/// The arguments that make `redis-server` (or a replica or Sentinel) TLS-only on `port`,
/// serving `pair` and trusting `pki.ca` for clients (and for its own replication link).
pub fn redis_args(pki: &TestPki, pair: &Pair, port: u16, auth: ClientAuth) -> Vec<String> {
    let path = |p: &std::path::Path| p.display().to_string();
    vec![
        "--port".into(),
        "0".into(),
        "--tls-port".into(),
        port.to_string(),
        "--tls-cert-file".into(),
        path(&pair.cert),
        "--tls-key-file".into(),
        path(&pair.key),
        "--tls-ca-cert-file".into(),
        path(&pki.ca),
        "--tls-auth-clients".into(),
        match auth {
            ClientAuth::Optional => "optional".into(),
            ClientAuth::Required => "yes".into(),
        },
        "--tls-replication".into(),
        "yes".into(),
    ]
}

/// A TLS-only throwaway Redis serving `pair`; connect to `rediss://127.0.0.1:<port>`.
pub fn redis(pki: &TestPki, pair: &Pair, auth: ClientAuth) -> Result<Server> {
    let port = free_port().context("finding a free port")?;
    // The readiness wait watches `port()`, so that is the TLS port; `--port 0` (after the
    // defaults) turns the plaintext listener off.
    Throwaway::redis_in_temp_dir()
        .port(port)
        .args(redis_args(pki, pair, port, auth))
        .start()
}

/// A throwaway MariaDB that refuses plaintext clients, serving `pair`.
pub fn mariadb(pki: &TestPki, pair: &Pair) -> Result<Server> {
    Throwaway::mariadb_in_temp_dir()
        .args([
            format!("--ssl-cert={}", pair.cert.display()),
            format!("--ssl-key={}", pair.key.display()),
            format!("--ssl-ca={}", pki.ca.display()),
            "--require-secure-transport=ON".to_owned(),
        ])
        .start()
}
