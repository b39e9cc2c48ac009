//! What a failed TLS connection means, in words that name the setting to fix.
//!
//! Both clients (redis-rs and mysql_async) run rustls underneath and bury its error in an
//! `io::Error` or their own error type. [`rustls_cause`] digs it out of the chain, and
//! [`Failure`] turns the few errors operators actually meet — a CA not trusted, a name not
//! on the certificate, an expired certificate, a server that does not speak TLS — into one
//! sentence. Callers add which of their settings that is (`REDIS_CA_CERT`, `DB_SSL_CA`, ...).

use std::error::Error;

use rustls::CertificateError;

/// The kinds of TLS failure worth their own message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The server's chain does not lead to a trusted CA.
    UnknownCa,
    /// The certificate does not name the host connected to.
    WrongName,
    /// The certificate is expired (or not yet valid).
    Expired,
    /// What came back was not TLS: a plaintext port.
    NotTls,
    /// The server refused our client certificate (or wanted one).
    ClientRejected,
    /// Anything else rustls reports.
    Other,
}

impl Failure {
    pub fn of(error: &rustls::Error) -> Failure {
        match error {
            rustls::Error::InvalidCertificate(cert) => match cert {
                CertificateError::UnknownIssuer | CertificateError::BadSignature => {
                    Failure::UnknownCa
                }
                CertificateError::NotValidForName
                | CertificateError::NotValidForNameContext { .. } => Failure::WrongName,
                CertificateError::Expired
                | CertificateError::ExpiredContext { .. }
                | CertificateError::NotValidYet
                | CertificateError::NotValidYetContext { .. } => Failure::Expired,
                _ => Failure::Other,
            },
            rustls::Error::InvalidMessage(_) | rustls::Error::InappropriateMessage { .. } => {
                Failure::NotTls
            }
            rustls::Error::AlertReceived(
                rustls::AlertDescription::BadCertificate
                | rustls::AlertDescription::CertificateRequired
                | rustls::AlertDescription::UnknownCA
                | rustls::AlertDescription::CertificateUnknown,
            ) => Failure::ClientRejected,
            _ => Failure::Other,
        }
    }

    /// The same judgement from an error's text, for clients that keep only the text of the
    /// rustls error (redis-rs turns some into a message without a source).
    pub fn from_text(text: &str) -> Option<Failure> {
        let has = |needles: &[&str]| needles.iter().any(|n| text.contains(n));
        if has(&["UnknownIssuer", "BadSignature"]) {
            Some(Failure::UnknownCa)
        } else if has(&["not valid for name", "NotValidForName"]) {
            Some(Failure::WrongName)
        } else if has(&[
            "certificate expired",
            "not valid yet",
            "NotValidYet",
            "Expired",
        ]) {
            Some(Failure::Expired)
        } else if has(&[
            "corrupt message",
            "InvalidContentType",
            "InappropriateMessage",
        ]) {
            Some(Failure::NotTls)
        } else if has(&[
            "alert: CertificateRequired",
            "alert: BadCertificate",
            "alert: UnknownCA",
        ]) {
            Some(Failure::ClientRejected)
        } else {
            None
        }
    }

    /// One sentence; `ca` is the setting holding the trusted CA, `name` the one holding the
    /// host name, `client` the one holding the client certificate.
    pub fn explain(self, ca: &str, name: &str, client: &str) -> String {
        match self {
            Failure::UnknownCa => {
                format!("the server's certificate is not signed by a trusted CA (trusted: {ca})")
            }
            Failure::WrongName => {
                format!("the server's certificate does not name the host in {name}")
            }
            Failure::Expired => format!(
                "the server's certificate has expired or is not valid yet (renew it on the \
                 server in {name})"
            ),
            Failure::NotTls => {
                format!("the server did not answer in TLS: is the port in {name} a plaintext port?")
            }
            Failure::ClientRejected => {
                format!("the server refused the client certificate ({client})")
            }
            Failure::Other => "the TLS handshake failed".to_owned(),
        }
    }
}

/// The rustls error somewhere in `error`'s chain, looking inside `io::Error`s too (whose
/// `source()` skips the error they wrap).
pub fn rustls_cause<'a>(error: &'a (dyn Error + 'static)) -> Option<&'a rustls::Error> {
    let mut next = Some(error);
    // The chains involved are a few links long; the bound only guards against a cycle.
    for _ in 0..16 {
        let current = next?;
        if let Some(tls) = current.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        if let Some(inner) = current
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::get_ref)
            && let Some(tls) = rustls_cause(inner)
        {
            return Some(tls);
        }
        next = current.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_rustls_inside_io_errors_and_names_the_settings() {
        let tls = rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer);
        let io = std::io::Error::new(std::io::ErrorKind::InvalidData, tls);
        let wrapped = std::io::Error::other(io);
        let found = rustls_cause(&wrapped).expect("found");
        assert_eq!(Failure::of(found), Failure::UnknownCa);
        let text = Failure::of(found).explain("REDIS_CA_CERT", "REDIS_URL", "REDIS_CLIENT_CERT");
        assert!(text.contains("REDIS_CA_CERT"), "{text}");
        let plain = std::io::Error::other("reset");
        assert!(rustls_cause(&plain).is_none());
    }

    #[test]
    fn kinds() {
        use rustls::Error as E;
        let cert = |c| E::InvalidCertificate(c);
        assert_eq!(
            Failure::of(&cert(CertificateError::NotValidForName)),
            Failure::WrongName
        );
        assert_eq!(
            Failure::of(&cert(CertificateError::Expired)),
            Failure::Expired
        );
        assert_eq!(
            Failure::of(&E::InvalidMessage(
                rustls::InvalidMessage::InvalidContentType
            )),
            Failure::NotTls
        );
        assert_eq!(Failure::of(&E::HandshakeNotComplete), Failure::Other);
        // The texts rustls prints for them.
        for (err, kind) in [
            (cert(CertificateError::UnknownIssuer), Failure::UnknownCa),
            (cert(CertificateError::NotValidForName), Failure::WrongName),
            (cert(CertificateError::Expired), Failure::Expired),
            (
                E::AlertReceived(rustls::AlertDescription::CertificateRequired),
                Failure::ClientRejected,
            ),
        ] {
            let text = format!("redis failed: {err}");
            assert_eq!(Failure::from_text(&text), Some(kind), "{text}");
        }
        assert_eq!(Failure::from_text("Connection reset by peer"), None);
    }
}
