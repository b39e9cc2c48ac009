//! Just enough URL handling for `mysql://` and `redis://` service URLs.
//!
//! xtask needs three things from a URL: where to probe (host and port), which database a
//! `DATABASE_URL` names, and a form that is safe to print. The password never leaves this type
//! except through [`ServiceUrl::expose`], which is only handed to child processes and drivers —
//! `Display` always redacts it.

use std::fmt;

use anyhow::{Context, Result, bail};

#[derive(Clone, PartialEq, Eq)]
pub struct ServiceUrl {
    scheme: String,
    user: Option<String>,
    password: Option<String>,
    host: String,
    port: Option<u16>,
    /// Path without the leading `/`; for MySQL the database, for Redis the db number.
    path: String,
    query: Option<String>,
}

impl ServiceUrl {
    /// Parses `scheme://[user[:password]@]host[:port][/path][?query]`; `host` may be an IPv6
    /// literal in brackets.
    pub fn parse(input: &str) -> Result<ServiceUrl> {
        let (scheme, rest) = input
            .split_once("://")
            .context("a service URL looks like scheme://[user[:password]@]host[:port][/path]")?;
        if scheme.is_empty()
            || !scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        {
            bail!("the URL scheme {scheme:?} is not valid");
        }
        let (rest, query) = match rest.split_once('?') {
            Some((r, q)) => (r, Some(q.to_owned())),
            None => (rest, None),
        };
        let (authority, path) = match rest.split_once('/') {
            Some((a, p)) => (a, p.to_owned()),
            None => (rest, String::new()),
        };
        // The last '@' separates credentials: a password may itself contain '@'.
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, authority),
        };
        let (user, password) = match userinfo {
            None => (None, None),
            Some(u) => match u.split_once(':') {
                Some((name, pw)) => (Some(name.to_owned()), Some(pw.to_owned())),
                None => (Some(u.to_owned()), None),
            },
        };
        let (host, port) = split_host_port(hostport)?;
        if host.is_empty() {
            bail!("the URL has no host");
        }
        Ok(ServiceUrl {
            scheme: scheme.to_ascii_lowercase(),
            user: user.filter(|u| !u.is_empty()),
            password,
            host,
            port,
            path,
            query,
        })
    }

    pub fn scheme(&self) -> &str {
        &self.scheme
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    pub fn port_or(&self, default: u16) -> u16 {
        self.port.unwrap_or(default)
    }

    /// The path without its leading `/`, or `None` when empty.
    pub fn path(&self) -> Option<&str> {
        Some(self.path.as_str()).filter(|p| !p.is_empty())
    }

    /// The user name, percent-decoded.
    pub fn user(&self) -> Option<String> {
        self.user.as_deref().map(percent_decode)
    }

    /// The password, percent-decoded: for child environments only.
    pub fn password(&self) -> Option<String> {
        self.password.as_deref().map(percent_decode)
    }

    /// Scheme, host and port only: no credentials, no path, no query.
    pub fn origin(&self) -> ServiceUrl {
        ServiceUrl {
            user: None,
            password: None,
            path: String::new(),
            query: None,
            ..self.clone()
        }
    }

    /// The same URL with another path (e.g. the server URL plus a database name).
    pub fn with_path(&self, path: &str) -> ServiceUrl {
        ServiceUrl {
            path: path.trim_start_matches('/').to_owned(),
            ..self.clone()
        }
    }

    /// The full URL, password included: for drivers and child environments only.
    pub fn expose(&self) -> String {
        self.render(self.password.as_deref())
    }

    fn render(&self, password: Option<&str>) -> String {
        let mut out = format!("{}://", self.scheme);
        if self.user.is_some() || password.is_some() {
            out.push_str(self.user.as_deref().unwrap_or(""));
            if let Some(pw) = password {
                out.push(':');
                out.push_str(pw);
            }
            out.push('@');
        }
        if self.host.contains(':') {
            out.push('[');
            out.push_str(&self.host);
            out.push(']');
        } else {
            out.push_str(&self.host);
        }
        if let Some(port) = self.port {
            out.push_str(&format!(":{port}"));
        }
        if !self.path.is_empty() {
            out.push('/');
            out.push_str(&self.path);
        }
        if let Some(q) = &self.query {
            out.push('?');
            out.push_str(q);
        }
        out
    }
}

/// Redacted: a password shows as `***`.
impl fmt::Display for ServiceUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(self.password.as_ref().map(|_| "***")))
    }
}

impl fmt::Debug for ServiceUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ServiceUrl({self})")
    }
}

fn split_host_port(hostport: &str) -> Result<(String, Option<u16>)> {
    let (host, port) = if let Some(rest) = hostport.strip_prefix('[') {
        let (host, after) = rest
            .split_once(']')
            .context("unclosed '[' in the URL host")?;
        match after.strip_prefix(':') {
            Some(p) => (host, Some(p)),
            None if after.is_empty() => (host, None),
            None => bail!("unexpected text after the URL host"),
        }
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (hostport, None),
        }
    };
    let port = match port {
        None | Some("") => None,
        Some(p) => Some(
            p.parse::<u16>()
                .ok()
                .filter(|p| *p != 0)
                .with_context(|| format!("the URL port {p:?} is not a port number"))?,
        ),
    };
    Ok((host.to_owned(), port))
}

/// `%XX` escapes to bytes (invalid escapes are kept as they are).
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = s.get(i + 1..i + 3)
            && let Ok(byte) = u8::from_str_radix(hex, 16)
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_mysql_url_with_credentials_and_database() {
        let url =
            ServiceUrl::parse("mysql://game:s3cr@t@db.internal:3307/world?pool_min=1").unwrap();
        assert_eq!(url.scheme(), "mysql");
        assert_eq!(url.host(), "db.internal");
        assert_eq!(url.port_or(3306), 3307);
        assert_eq!(url.path(), Some("world"));
        assert_eq!(
            url.expose(),
            "mysql://game:s3cr@t@db.internal:3307/world?pool_min=1"
        );
        assert_eq!(
            url.to_string(),
            "mysql://game:***@db.internal:3307/world?pool_min=1"
        );
        assert!(!format!("{url:?}").contains("s3cr"));
    }

    #[test]
    fn defaults_and_path_replacement() {
        let url = ServiceUrl::parse("mysql://root@127.0.0.1").unwrap();
        assert_eq!(url.port_or(3306), 3306);
        assert_eq!(url.path(), None);
        assert_eq!(
            url.with_path("server_status_demo").expose(),
            "mysql://root@127.0.0.1/server_status_demo"
        );
        let redis = ServiceUrl::parse("redis://:pw@127.0.0.1:6380/0").unwrap();
        assert_eq!(redis.with_path("").expose(), "redis://:pw@127.0.0.1:6380");
        assert_eq!(redis.to_string(), "redis://:***@127.0.0.1:6380/0");
    }

    #[test]
    fn credentials_are_decoded_and_origin_drops_them() {
        let url = ServiceUrl::parse("redis://status-reader:p%40ss%2Fw@10.0.0.5:6380/0").unwrap();
        assert_eq!(url.user().as_deref(), Some("status-reader"));
        assert_eq!(url.password().as_deref(), Some("p@ss/w"));
        assert_eq!(url.origin().expose(), "redis://10.0.0.5:6380");
        assert_eq!(percent_decode("100%"), "100%");
    }

    #[test]
    fn ipv6_hosts() {
        let url = ServiceUrl::parse("redis://[::1]:6379").unwrap();
        assert_eq!(url.host(), "::1");
        assert_eq!(url.port_or(1), 6379);
        assert_eq!(url.expose(), "redis://[::1]:6379");
    }

    #[test]
    fn rejects_garbage() {
        for garbage in [
            "127.0.0.1:3306",
            "mysql://host:notaport",
            "mysql://host:0",
            "mysql:///db",
            "redis://[::1",
        ] {
            assert!(ServiceUrl::parse(garbage).is_err(), "{garbage}");
        }
    }
}
