//! Certificates for the TLS tests, made fresh by each test run (rcgen) into a directory: a
//! private CA, a server certificate for `localhost` and `127.0.0.1`, a client certificate,
//! and the bad ones the negative tests need (expired, wrong host name, and a second CA that
//! nobody trusts). Nothing here is ever a real secret; the files are PEM, keys PKCS#8.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};

/// A certificate and its key, as files.
#[derive(Debug, Clone)]
pub struct Pair {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Everything a TLS test needs, under one directory.
#[derive(Debug, Clone)]
pub struct TestPki {
    pub dir: PathBuf,
    /// The CA everything below is signed by (`ca.pem`).
    pub ca: PathBuf,
    /// `localhost`, `127.0.0.1`, valid now.
    pub server: Pair,
    /// A client certificate for mutual TLS.
    pub client: Pair,
    /// `localhost`, `127.0.0.1`, expired a year ago.
    pub expired: Pair,
    /// Valid now, but only for `elsewhere.invalid`.
    pub wrong_host: Pair,
    /// Another CA (`other-ca.pem`) and a `localhost` certificate signed by it: unknown to
    /// anyone trusting `ca`.
    pub other_ca: PathBuf,
    pub untrusted: Pair,
}

const LOCAL_NAMES: &[&str] = &["localhost", "127.0.0.1"];

impl TestPki {
    /// Generates all of it into `dir` (created if missing).
    pub fn generate(dir: &Path) -> Result<TestPki> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let ca = issuer("server-status test CA")?;
        let other = issuer("a CA nobody trusts")?;
        let write = |name: &str, text: &str| -> Result<PathBuf> {
            let path = dir.join(name);
            std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
            Ok(path)
        };
        // A leaf for `names` signed by `signer`, written as `<name>.pem` and `<name>-key.pem`.
        let pair = |name: &str, signer, names: &[&str], validity, usage| -> Result<Pair> {
            let (cert, key) = leaf(signer, names, validity, usage)?;
            Ok(Pair {
                cert: write(&format!("{name}.pem"), &cert)?,
                key: write(&format!("{name}-key.pem"), &key)?,
            })
        };
        use {Usage::*, Validity::*};
        Ok(TestPki {
            dir: dir.to_owned(),
            ca: write("ca.pem", &ca.pem())?,
            server: pair("server", &ca, LOCAL_NAMES, Now, Server)?,
            client: pair("client", &ca, &["status-refresher"], Now, Client)?,
            expired: pair("expired", &ca, LOCAL_NAMES, Expired, Server)?,
            wrong_host: pair("wrong-host", &ca, &["elsewhere.invalid"], Now, Server)?,
            other_ca: write("other-ca.pem", &other.pem())?,
            untrusted: pair("untrusted", &other, LOCAL_NAMES, Now, Server)?,
        })
    }
}

enum Validity {
    Now,
    Expired,
}

enum Usage {
    Server,
    Client,
}

fn issuer(name: &str) -> Result<CertifiedIssuer<'static, KeyPair>> {
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    Ok(CertifiedIssuer::self_signed(params, KeyPair::generate()?)?)
}

/// A leaf certificate for `names`, signed by `ca`: (certificate PEM, key PEM).
fn leaf(
    ca: &CertifiedIssuer<'static, KeyPair>,
    names: &[&str],
    validity: Validity,
    usage: Usage,
) -> Result<(String, String)> {
    let mut params =
        CertificateParams::new(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>())?;
    params
        .distinguished_name
        .push(DnType::CommonName, names.first().copied().unwrap_or("test"));
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![match usage {
        Usage::Server => ExtendedKeyUsagePurpose::ServerAuth,
        Usage::Client => ExtendedKeyUsagePurpose::ClientAuth,
    }];
    if let Validity::Expired = validity {
        params.not_before = rcgen::date_time_ymd(2020, 1, 1);
        params.not_after = rcgen::date_time_ymd(2021, 1, 1);
    }
    let key = KeyPair::generate()?;
    let cert = params.signed_by(&key, ca)?;
    Ok((cert.pem(), key.serialize_pem()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generates_every_file_as_pem() {
        let dir = std::env::temp_dir().join(format!("dev-support-certs-{}", std::process::id()));
        let pki = TestPki::generate(&dir).unwrap();
        for path in [&pki.ca, &pki.server.cert, &pki.expired.cert, &pki.other_ca] {
            let text = std::fs::read_to_string(path).unwrap();
            assert!(text.starts_with("-----BEGIN CERTIFICATE-----"), "{text}");
        }
        let key = std::fs::read_to_string(&pki.client.key).unwrap();
        assert!(key.starts_with("-----BEGIN PRIVATE KEY-----"), "{key}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
