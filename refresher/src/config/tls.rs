//! The TLS settings: `REDIS_CA_CERT`, `REDIS_CLIENT_CERT`, `REDIS_CLIENT_KEY` for
//! `rediss://`, and `DB_SSL_MODE` / `DB_SSL_CA` (or `?ssl-mode=` / `?ssl-ca=` in
//! `DATABASE_URL`) for MySQL.
//!
//! Files are read and parsed here, at start-up, so a missing, unreadable or malformed file
//! is a configuration error naming its variable (exit 2) rather than a connect error later.
//! Contents are never quoted back: a key file's bytes must not reach a log.
//!
//! MySQL's modes map onto mysql_async's [`SslOpts`] as follows (mysql_async has no
//! "preferred" of its own, so that one is ours, see [`SslMode::Preferred`]):
//!
//! | mode | mysql_async |
//! | --- | --- |
//! | `disabled` | no `SslOpts`: plaintext |
//! | `preferred` | `SslOpts` accepting any certificate; plaintext again when the server offers no TLS |
//! | `required` | `SslOpts` accepting any certificate; a server without TLS is an error |
//! | `verify_ca` | `SslOpts` checking the chain (DB_SSL_CA, else the built-in Mozilla roots), not the name |
//! | `verify_identity` | `SslOpts` checking chain and host name |

use std::fmt;
use std::path::{Path, PathBuf};

use mysql_async::{Opts, OptsBuilder, SslOpts};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use super::{Args, ConfigError, non_empty, none_set, quote};

/// `DB_SSL_MODE`, with the names MySQL's own clients use (`--ssl-mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SslMode {
    Disabled,
    /// TLS when the server offers it, without checking its certificate; plaintext when it
    /// offers none (MySQL's default, and ours). Protects against a passive listener only.
    #[default]
    Preferred,
    /// TLS or nothing, certificate not checked.
    Required,
    /// TLS with the certificate's chain checked, its host name not.
    VerifyCa,
    /// TLS with chain and host name checked: what a database across a network needs.
    VerifyIdentity,
}

impl SslMode {
    pub const NAMES: &'static str = "disabled, preferred, required, verify_ca or verify_identity";

    fn parse(raw: &str) -> Option<SslMode> {
        // MySQL spells them in capitals (`--ssl-mode=VERIFY_IDENTITY`); accept both.
        match raw.trim().to_ascii_lowercase().replace('-', "_").as_str() {
            "disabled" => Some(SslMode::Disabled),
            "preferred" => Some(SslMode::Preferred),
            "required" => Some(SslMode::Required),
            "verify_ca" => Some(SslMode::VerifyCa),
            "verify_identity" => Some(SslMode::VerifyIdentity),
            _ => None,
        }
    }

    pub fn verifies(self) -> bool {
        matches!(self, SslMode::VerifyCa | SslMode::VerifyIdentity)
    }
}

impl fmt::Display for SslMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SslMode::Disabled => "disabled",
            SslMode::Preferred => "preferred",
            SslMode::Required => "required",
            SslMode::VerifyCa => "verify_ca",
            SslMode::VerifyIdentity => "verify_identity",
        })
    }
}

/// The database's TLS, as configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbTls {
    pub mode: SslMode,
    /// `DB_SSL_CA` (or `ssl-ca=` in the URL): the only CA trusted when set.
    pub ca: Option<PathBuf>,
}

/// `DATABASE_URL` without the TLS parameters mysql_async does not know, and what they said.
pub(super) struct UrlTls {
    pub url: String,
    pub mode: Option<String>,
    pub ca: Option<String>,
}

/// Takes `ssl-mode` and `ssl-ca` out of the URL's query (mysql_async refuses unknown
/// parameters), and refuses mysql_async's own TLS parameters: one way to say it.
pub(super) fn split_url_tls(url: &str) -> Result<UrlTls, ConfigError> {
    let Some((base, query)) = url.split_once('?') else {
        return Ok(UrlTls {
            url: url.to_owned(),
            mode: None,
            ca: None,
        });
    };
    let (mut mode, mut ca, mut kept) = (None, None, Vec::new());
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match key.replace('_', "-").as_str() {
            "ssl-mode" => mode = Some(value.to_owned()),
            "ssl-ca" => ca = Some(value.to_owned()),
            "require-ssl" | "verify-ca" | "verify-identity" | "built-in-roots" => {
                return Err(ConfigError::new(
                    "DATABASE_URL",
                    format!(
                        "parameter {key:?} is not used here; say ssl-mode={{{}}} (or DB_SSL_MODE) \
                         and ssl-ca=FILE (or DB_SSL_CA)",
                        SslMode::NAMES
                    ),
                ));
            }
            _ => kept.push(pair),
        }
    }
    let url = if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    Ok(UrlTls { url, mode, ca })
}

/// DB_SSL_MODE and DB_SSL_CA, each given at most once (variable or URL).
pub(super) fn parse_db_tls(args: &Args, url: Option<&UrlTls>) -> Result<DbTls, ConfigError> {
    let env_mode = non_empty(&args.db_ssl_mode);
    let url_mode = url.and_then(|u| u.mode.as_deref());
    let raw_mode = match (env_mode, url_mode) {
        (Some(a), Some(b)) if SslMode::parse(a) != SslMode::parse(b) => {
            return Err(ConfigError::new(
                "DB_SSL_MODE",
                format!(
                    "is {} but DATABASE_URL says ssl-mode={}; set one of them",
                    quote(a),
                    quote(b)
                ),
            ));
        }
        (a, b) => a.or(b),
    };
    let mode = match raw_mode {
        None => SslMode::default(),
        Some(raw) => SslMode::parse(raw).ok_or_else(|| {
            ConfigError::new(
                "DB_SSL_MODE",
                format!("expected {}, got {}", SslMode::NAMES, quote(raw)),
            )
        })?,
    };
    let env_ca = non_empty(&args.db_ssl_ca);
    let url_ca = url.and_then(|u| u.ca.as_deref()).filter(|c| !c.is_empty());
    if env_ca.is_some() && url_ca.is_some() && env_ca != url_ca {
        return Err(ConfigError::new(
            "DB_SSL_CA",
            "is set and DATABASE_URL has ssl-ca= too; set one of them",
        ));
    }
    let ca = env_ca.or(url_ca).map(PathBuf::from);
    if let Some(ca) = &ca {
        if !mode.verifies() {
            return Err(ConfigError::new(
                "DB_SSL_CA",
                format!(
                    "is only used to verify the server: set DB_SSL_MODE=verify_ca or \
                     verify_identity (it is {mode})"
                ),
            ));
        }
        read_certificates("DB_SSL_CA", ca)?;
    }
    Ok(DbTls { mode, ca })
}

/// The options for `mode`: the first connection's, and for `preferred` the plaintext ones
/// it falls back to when the server offers no TLS.
pub(super) fn apply_db_tls(opts: Opts, tls: &DbTls) -> (Opts, Option<Opts>) {
    let ssl = match tls.mode {
        SslMode::Disabled => None,
        // Not checked, as MySQL's clients do in these modes: the point is encryption
        // against a passive listener; verify_* is what defends against an active one.
        SslMode::Preferred | SslMode::Required => Some(
            SslOpts::default()
                .with_danger_accept_invalid_certs(true)
                .with_danger_skip_domain_validation(true),
        ),
        SslMode::VerifyCa | SslMode::VerifyIdentity => {
            let mut ssl = SslOpts::default()
                .with_danger_skip_domain_validation(tls.mode == SslMode::VerifyCa);
            if let Some(ca) = &tls.ca {
                ssl = ssl
                    .with_root_certs(vec![ca.clone().into()])
                    .with_disable_built_in_roots(true);
            }
            Some(ssl)
        }
    };
    let fallback = (tls.mode == SslMode::Preferred).then(|| opts.clone());
    let with_tls = Opts::from(OptsBuilder::from_opts(opts).ssl_opts(ssl));
    (with_tls, fallback)
}

/// The client side of `rediss://`: the CA and the client identity, read at start-up.
#[derive(Clone, Default)]
pub struct RedisTls {
    /// `REDIS_CA_CERT`: PEM certificates, the only ones trusted when set.
    pub ca: Option<Vec<u8>>,
    /// `REDIS_CLIENT_CERT` and `REDIS_CLIENT_KEY` (PEM), for mutual TLS.
    pub client: Option<(Vec<u8>, Vec<u8>)>,
    /// The files they came from, for the start-up line (paths, never contents).
    pub files: Vec<(&'static str, PathBuf)>,
}

impl fmt::Debug for RedisTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisTls")
            .field("files", &self.files)
            .finish_non_exhaustive()
    }
}

impl RedisTls {
    /// What redis-rs takes, or `None` to let it use the system trust store and no client
    /// certificate.
    pub fn certificates(&self) -> Option<redis::TlsCertificates> {
        if self.ca.is_none() && self.client.is_none() {
            return None;
        }
        Some(redis::TlsCertificates {
            client_tls: self
                .client
                .as_ref()
                .map(|(cert, key)| redis::ClientTlsConfig {
                    client_cert: cert.clone(),
                    client_key: key.clone(),
                }),
            root_cert: self.ca.clone(),
        })
    }
}

/// REDIS_CA_CERT, REDIS_CLIENT_CERT and REDIS_CLIENT_KEY; only with a `rediss://` URL.
pub(super) fn parse_redis_tls(args: &Args, redis_url: &str) -> Result<RedisTls, ConfigError> {
    let ca = non_empty(&args.redis_ca_cert).map(Path::new);
    let cert = non_empty(&args.redis_client_cert).map(Path::new);
    let key = non_empty(&args.redis_client_key).map(Path::new);
    let tls_url = redis_url.starts_with("rediss://");
    if !tls_url {
        none_set(
            &[
                ("REDIS_CA_CERT", ca.is_some()),
                ("REDIS_CLIENT_CERT", cert.is_some()),
                ("REDIS_CLIENT_KEY", key.is_some()),
            ],
            "is set but REDIS_URL is not rediss://, so no TLS would be used; use rediss://host:port",
        )?;
    }
    let mut tls = RedisTls::default();
    if let Some(ca) = ca {
        tls.ca = Some(read_certificates("REDIS_CA_CERT", ca)?);
        tls.files.push(("REDIS_CA_CERT", ca.to_owned()));
    }
    match (cert, key) {
        (None, None) => {}
        (Some(_), None) => {
            return Err(ConfigError::new(
                "REDIS_CLIENT_KEY",
                "not set, but REDIS_CLIENT_CERT is: mutual TLS needs both",
            ));
        }
        (None, Some(_)) => {
            return Err(ConfigError::new(
                "REDIS_CLIENT_CERT",
                "not set, but REDIS_CLIENT_KEY is: mutual TLS needs both",
            ));
        }
        (Some(cert), Some(key)) => {
            let cert_pem = read_certificates("REDIS_CLIENT_CERT", cert)?;
            let key_pem = read_file("REDIS_CLIENT_KEY", key)?;
            if PrivateKeyDer::from_pem_slice(&key_pem).is_err() {
                // The contents are a secret: the error names the file, never quotes it.
                return Err(ConfigError::new(
                    "REDIS_CLIENT_KEY",
                    format!(
                        "{} holds no PEM private key (PKCS#8, PKCS#1 or SEC1)",
                        key.display()
                    ),
                ));
            }
            tls.client = Some((cert_pem, key_pem));
            tls.files.push(("REDIS_CLIENT_CERT", cert.to_owned()));
            tls.files.push(("REDIS_CLIENT_KEY", key.to_owned()));
        }
    }
    Ok(tls)
}

/// Longest certificate or key file read: a CA bundle is a few hundred KiB.
const MAX_PEM_BYTES: u64 = 4 * 1024 * 1024;

fn read_file(variable: &'static str, path: &Path) -> Result<Vec<u8>, ConfigError> {
    let cannot = |e: std::io::Error| {
        ConfigError::new(variable, format!("cannot read {}: {e}", path.display()))
    };
    let meta = std::fs::metadata(path).map_err(cannot)?;
    if !meta.is_file() || meta.len() > MAX_PEM_BYTES {
        return Err(ConfigError::new(
            variable,
            format!(
                "{} is not a file of at most {MAX_PEM_BYTES} bytes",
                path.display()
            ),
        ));
    }
    std::fs::read(path).map_err(cannot)
}

/// A file of one or more PEM certificates.
pub(super) fn read_certificates(
    variable: &'static str,
    path: &Path,
) -> Result<Vec<u8>, ConfigError> {
    let pem = read_file(variable, path)?;
    let certs: Result<Vec<_>, _> = CertificateDer::pem_slice_iter(&pem).collect();
    match certs {
        Ok(certs) if !certs.is_empty() => Ok(pem),
        _ => Err(ConfigError::new(
            variable,
            format!("{} holds no PEM certificate", path.display()),
        )),
    }
}
