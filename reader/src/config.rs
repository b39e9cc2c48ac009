//! The component's configuration: Spin variables, resolved once per request.

use status_document::keys::DEFAULT_STATUS_KEY;

use crate::cors::Cors;

/// Component variable names (declared in `spin.toml`).
pub mod var {
    pub const REDIS_ADDRESS: &str = "redis_address";
    pub const REDIS_USER: &str = "redis_user";
    pub const REDIS_PASSWORD: &str = "redis_password";
    pub const STATUS_KEY: &str = "status_key";
    pub const CORS_ALLOW_ORIGIN: &str = "cors_allow_origin";
}

/// What a request needs from the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Where to connect, credentials included. `None` when `redis_address` is unset or
    /// empty: every Redis-backed endpoint then answers 503 `redis_unavailable`.
    pub redis_url: Option<String>,
    pub status_key: String,
    pub cors: Cors,
}

impl Config {
    /// Builds the configuration from a variable lookup (`spin_sdk::variables::get` in the
    /// component). Unset optional variables fall back: the status key to
    /// `server:status`, CORS to off, credentials to none.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Config {
        let non_empty = |name| lookup(name).filter(|v| !v.trim().is_empty());
        let redis_url = non_empty(var::REDIS_ADDRESS).map(|address| {
            let user = lookup(var::REDIS_USER).unwrap_or_default();
            let password = lookup(var::REDIS_PASSWORD).unwrap_or_default();
            connection_address(address.trim(), &user, &password)
        });
        Config {
            redis_url,
            status_key: non_empty(var::STATUS_KEY).unwrap_or_else(|| DEFAULT_STATUS_KEY.to_owned()),
            cors: Cors::parse(&lookup(var::CORS_ALLOW_ORIGIN).unwrap_or_default()),
        }
    }
}

/// The address the component connects to: `redis_address` with the optional
/// `redis_user`/`redis_password` inserted as URL userinfo (percent-encoded).
///
/// Credentials are separate variables because `redis_address` is also the manifest's
/// `allowed_outbound_hosts` entry, and Spin's allow-list parser does not strip userinfo: a
/// `redis://user:pass@host` entry would allow no host at all (and print the password in
/// its errors). When neither credential is set the address is used as given.
pub fn connection_address(address: &str, user: &str, password: &str) -> String {
    if user.is_empty() && password.is_empty() {
        return address.to_owned();
    }
    let Some(scheme_end) = address.find("://").map(|i| i + 3) else {
        return address.to_owned();
    };
    let mut out = String::with_capacity(address.len() + user.len() + password.len() + 8);
    out.push_str(&address[..scheme_end]);
    percent_encode_into(user, &mut out);
    if !password.is_empty() {
        out.push(':');
        percent_encode_into(password, &mut out);
    }
    out.push('@');
    out.push_str(&address[scheme_end..]);
    out
}

/// Encodes everything but RFC 3986 unreserved characters, which is always valid in
/// userinfo and is decoded again by the Redis client.
fn percent_encode_into(s: &str, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xf)]));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_overrides() {
        let c = Config::from_lookup(|_| None);
        assert_eq!(c.redis_url, None);
        assert_eq!(c.status_key, "server:status");
        assert_eq!(c.cors, Cors::Off);

        let c = Config::from_lookup(|name| {
            Some(
                match name {
                    var::REDIS_ADDRESS => "redis://10.0.0.5:6380",
                    var::REDIS_USER => "status-reader",
                    var::REDIS_PASSWORD => "s3cret",
                    var::STATUS_KEY => "test:x:status",
                    var::CORS_ALLOW_ORIGIN => "*",
                    _ => "",
                }
                .to_owned(),
            )
        });
        assert_eq!(
            c.redis_url.as_deref(),
            Some("redis://status-reader:s3cret@10.0.0.5:6380")
        );
        assert_eq!(c.status_key, "test:x:status");
        assert_eq!(c.cors, Cors::Any);
    }

    #[test]
    fn credentials_go_into_userinfo() {
        let a = "redis://127.0.0.1:6379";
        assert_eq!(connection_address(a, "", ""), a);
        assert_eq!(
            connection_address(a, "status-reader", "p@ss:w/rd"),
            "redis://status-reader:p%40ss%3Aw%2Frd@127.0.0.1:6379"
        );
        assert_eq!(
            connection_address(a, "", "pw"),
            "redis://:pw@127.0.0.1:6379"
        );
        assert_eq!(connection_address(a, "u", ""), "redis://u@127.0.0.1:6379");
        assert_eq!(connection_address("nonsense", "u", "p"), "nonsense");
    }
}
