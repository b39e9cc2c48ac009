//! The outbound allow-list: which addresses a component may open connections to.
//!
//! This follows Spin's `allowed_outbound_hosts` rules (crate `spin-factor-outbound-networking`)
//! so that a manifest accepted here behaves the same under `spin up`:
//!
//! * an entry is `scheme://host[:port][/]`; `*` may stand for the scheme, the host or the
//!   port, a host may be `*.domain` (any subdomain), a port may be a range `a..b` (end
//!   excluded); without a port the scheme's well-known port is meant (`redis` → 6379);
//! * an entry with a path is an error, and so is `insecure:allow-all`;
//! * templates (`{{ name }}`) are expanded with the resolved *application* variables before
//!   the entry is parsed, as Spin's prepared resolver does.
//!
//! Not supported (Spin supports them, the reader does not need them): CIDR hosts
//! (`*://10.0.0.0/8:*`), `self`, service chaining. They are refused at startup rather than
//! silently matching nothing.

use std::fmt;
use std::ops::Range;

/// Why an `allowed_outbound_hosts` entry cannot be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AllowListError {
    #[error("allowed_outbound_hosts entry {0:?} has no scheme (e.g. 'redis://' or '*://')")]
    NoScheme(String),
    #[error("allowed_outbound_hosts entry {0:?} has a path, which Spin does not allow")]
    HasPath(String),
    #[error("allowed_outbound_hosts entry {0:?} has a scheme that is not alphabetic")]
    BadScheme(String),
    #[error("allowed_outbound_hosts entry {0:?}: {1}")]
    BadHost(String, &'static str),
    #[error("allowed_outbound_hosts entry {0:?} has a port that is not a number or range")]
    BadPort(String),
    #[error("allowed_outbound_hosts entry {0:?} has no port and its scheme has no default port")]
    NoDefaultPort(String),
    #[error("'insecure:allow-all' is not allowed; Spin wants '*://*:*' to allow everything")]
    InsecureAllowAll,
}

/// The parsed allow-list of one component.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AllowedHosts {
    entries: Vec<AllowedHost>,
}

/// One `scheme://host:port` pattern.
#[derive(Debug, Clone, PartialEq)]
pub struct AllowedHost {
    /// The entry as written after template expansion; shown in logs. Never holds a
    /// credential: entries with user info are refused.
    original: String,
    scheme: Option<String>,
    host: HostPattern,
    port: PortPattern,
}

#[derive(Debug, Clone, PartialEq)]
enum HostPattern {
    Any,
    /// `*.example.com`, stored as `.example.com`.
    Subdomain(String),
    Exact(String),
}

#[derive(Debug, Clone, PartialEq)]
enum PortPattern {
    Any,
    Port(u16),
    Range(Range<u16>),
}

/// The parts of an address a component asked to connect to.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboundUrl {
    pub scheme: String,
    pub host: String,
    pub port: Option<u16>,
}

impl fmt::Display for OutboundUrl {
    /// Scheme, host and port only: the user info (a password) is never shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.port {
            Some(port) => write!(f, "{}://{}:{}", self.scheme, self.host, port),
            None => write!(f, "{}://{}", self.scheme, self.host),
        }
    }
}

impl OutboundUrl {
    /// Parses an address such as `redis://user:pw@host:6379/0`. Like Spin, an address without
    /// a scheme is retried with `default_scheme`.
    pub fn parse(address: &str, default_scheme: &str) -> Option<OutboundUrl> {
        let parsed = match url::Url::parse(address) {
            Ok(u) if u.has_host() => u,
            _ => url::Url::parse(&format!("{default_scheme}://{address}")).ok()?,
        };
        Some(OutboundUrl {
            scheme: parsed.scheme().to_owned(),
            host: parsed.host_str()?.to_owned(),
            port: parsed.port(),
        })
    }
}

impl AllowedHosts {
    /// Parses already template-expanded entries.
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<AllowedHosts, AllowListError> {
        if entries
            .iter()
            .any(|e| e.as_ref().trim() == "insecure:allow-all")
        {
            return Err(AllowListError::InsecureAllowAll);
        }
        let entries = entries
            .iter()
            .map(|e| AllowedHost::parse(e.as_ref()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(AllowedHosts { entries })
    }

    /// Whether any entry allows `url`.
    pub fn allows(&self, url: &OutboundUrl) -> bool {
        self.entries.iter().any(|e| e.allows(url))
    }

    /// Whether the component may connect to `address` with a client for `scheme`.
    /// An address that does not parse is not allowed.
    pub fn allows_address(&self, address: &str, scheme: &str) -> bool {
        OutboundUrl::parse(address, scheme).is_some_and(|url| self.allows(&url))
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entries, for logs.
    pub fn entries(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|e| e.original.as_str())
    }
}

impl AllowedHost {
    fn parse(entry: &str) -> Result<AllowedHost, AllowListError> {
        let url = entry.trim();
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| AllowListError::NoScheme(redact(url)))?;
        if rest.contains('@') {
            // Spin would keep "user:pw@host" as the host name, which then never matches;
            // refusing is clearer, and keeps the password out of every later message.
            return Err(AllowListError::BadHost(
                redact(url),
                "contains user info; allow the host without credentials",
            ));
        }
        // A trailing "/" is allowed, any other path is not.
        let rest = match rest.split_once('/') {
            Some((authority, "")) => authority,
            Some(_) => return Err(AllowListError::HasPath(url.to_owned())),
            None => rest,
        };
        let (host, port) = split_host_port(rest);
        let scheme_pattern = match scheme {
            "*" => None,
            s if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphabetic()) => Some(s.to_owned()),
            _ => return Err(AllowListError::BadScheme(url.to_owned())),
        };
        let host_pattern =
            parse_host(host).map_err(|why| AllowListError::BadHost(url.into(), why))?;
        let port_pattern = match port {
            None | Some("") => match well_known_port(scheme) {
                Some(p) => PortPattern::Port(p),
                None => return Err(AllowListError::NoDefaultPort(url.to_owned())),
            },
            Some("*") => PortPattern::Any,
            Some(p) => match p.split_once("..") {
                Some((a, b)) => match (a.parse(), b.parse()) {
                    (Ok(a), Ok(b)) => PortPattern::Range(a..b),
                    _ => return Err(AllowListError::BadPort(url.to_owned())),
                },
                None => {
                    PortPattern::Port(p.parse().map_err(|_| AllowListError::BadPort(url.into()))?)
                }
            },
        };
        Ok(AllowedHost {
            original: url.to_owned(),
            scheme: scheme_pattern,
            host: host_pattern,
            port: port_pattern,
        })
    }

    fn allows(&self, url: &OutboundUrl) -> bool {
        let scheme_ok = self.scheme.as_deref().is_none_or(|s| s == url.scheme);
        let host_ok = match &self.host {
            HostPattern::Any => true,
            HostPattern::Subdomain(suffix) => url.host.ends_with(suffix.as_str()),
            HostPattern::Exact(h) => h.eq_ignore_ascii_case(&url.host),
        };
        let port_ok = match &self.port {
            PortPattern::Any => true,
            other => match url.port.or_else(|| well_known_port(&url.scheme)) {
                Some(port) => match other {
                    PortPattern::Port(p) => *p == port,
                    PortPattern::Range(r) => r.contains(&port),
                    PortPattern::Any => true,
                },
                None => false,
            },
        };
        scheme_ok && host_ok && port_ok
    }
}

/// Splits `host[:port]`, keeping `[::1]` whole.
fn split_host_port(authority: &str) -> (&str, Option<&str>) {
    if authority.starts_with('[') {
        return match authority.find(']') {
            Some(end) => {
                let (host, rest) = authority.split_at(end + 1);
                (host, rest.strip_prefix(':'))
            }
            None => (authority, None),
        };
    }
    match authority.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    }
}

fn parse_host(host: &str) -> Result<HostPattern, &'static str> {
    let host = host.trim();
    if host.is_empty() {
        return Err("has no host");
    }
    if host == "*" {
        return Ok(HostPattern::Any);
    }
    if host == "self" || host == "self.alt" {
        return Err("'self' (service chaining) is not supported by reader-host");
    }
    if host.starts_with('{') {
        return Err("host lists are not supported (nor by Spin)");
    }
    if let Some(domain) = host.strip_prefix("*.") {
        if domain.contains('*') || domain.is_empty() {
            return Err("wildcards are allowed only as a leading '*.'");
        }
        return Ok(HostPattern::Subdomain(format!(".{domain}")));
    }
    if host.contains('*') {
        return Err("wildcards are allowed only as a leading '*.'");
    }
    if host.contains('/') {
        return Err("CIDR ranges are not supported by reader-host");
    }
    Ok(HostPattern::Exact(host.to_owned()))
}

/// Default ports Spin assumes when an entry or an address names none.
fn well_known_port(scheme: &str) -> Option<u16> {
    match scheme {
        "postgres" => Some(5432),
        "mysql" => Some(3306),
        "redis" => Some(6379),
        "mqtt" => Some(1883),
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    }
}

/// An entry for an error message, with any user info cut out.
fn redact(entry: &str) -> String {
    match (entry.find("://"), entry.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://***@{}", &entry[..s], &entry[at + 1..]),
        (None, Some(at)) => format!("***@{}", &entry[at + 1..]),
        _ => entry.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allows(entries: &[&str], address: &str) -> bool {
        AllowedHosts::parse(entries)
            .unwrap()
            .allows_address(address, "redis")
    }

    #[test]
    fn exact_entry() {
        let e = &["redis://127.0.0.1:6379"];
        assert!(allows(e, "redis://127.0.0.1:6379"));
        assert!(allows(e, "redis://127.0.0.1:6379/0"));
        assert!(allows(e, "redis://127.0.0.1"), "default port 6379");
        assert!(allows(e, "redis://reader:secret@127.0.0.1:6379/2"));
        assert!(!allows(e, "redis://127.0.0.1:3306"));
        assert!(!allows(e, "redis://127.0.0.2:6379"));
        assert!(!allows(e, "rediss://127.0.0.1:6379"));
        assert!(!allows(e, "not a url at all"));
    }

    #[test]
    fn entry_without_port_means_the_default() {
        let e = &["redis://cache.local"];
        assert!(allows(e, "redis://cache.local:6379"));
        assert!(!allows(e, "redis://cache.local:6380"));
    }

    #[test]
    fn wildcards() {
        assert!(allows(&["*://*:*"], "redis://anything:1"));
        assert!(allows(&["redis://*:6379"], "redis://a.b:6379"));
        assert!(!allows(&["redis://*:6379"], "redis://a.b:6380"));
        assert!(allows(
            &["redis://*.example.com:*"],
            "redis://r1.example.com:7000"
        ));
        assert!(!allows(
            &["redis://*.example.com:*"],
            "redis://example.com:7000"
        ));
        assert!(allows(&["redis://h:6000..7000"], "redis://h:6379"));
        assert!(!allows(&["redis://h:6000..7000"], "redis://h:7000"));
    }

    #[test]
    fn ipv6() {
        assert!(allows(&["redis://[::1]:6379"], "redis://[::1]:6379"));
        assert!(!allows(&["redis://[::1]:6379"], "redis://[::1]:6380"));
    }

    #[test]
    fn bad_entries() {
        assert!(matches!(
            AllowedHosts::parse(&["127.0.0.1:6379"]),
            Err(AllowListError::NoScheme(_))
        ));
        assert!(matches!(
            AllowedHosts::parse(&["redis://h:6379/0"]),
            Err(AllowListError::HasPath(_))
        ));
        assert!(AllowedHosts::parse(&["redis://h:6379/"]).is_ok());
        assert!(matches!(
            AllowedHosts::parse(&["insecure:allow-all"]),
            Err(AllowListError::InsecureAllowAll)
        ));
        assert!(AllowedHosts::parse(&["redis://a*b:1"]).is_err());
        assert!(AllowedHosts::parse(&["redis://h:port"]).is_err());
        assert!(
            AllowedHosts::parse(&["foo://h"]).is_err(),
            "no default port"
        );
    }

    #[test]
    fn credentials_never_appear_in_errors() {
        let err = AllowedHosts::parse(&["redis://user:hunter2@h:6379"]).unwrap_err();
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }

    #[test]
    fn display_hides_user_info() {
        let url = OutboundUrl::parse("redis://u:hunter2@h:1/0", "redis").unwrap();
        assert_eq!(url.to_string(), "redis://h:1");
    }
}
