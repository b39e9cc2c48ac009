//! Where Redis is: `REDIS_URL` (one fixed address), or `REDIS_SENTINELS` plus
//! `REDIS_SENTINEL_MASTER` (the primary Redis Sentinel names, followed across failovers; see
//! [`crate::replicas::target`]), with the data nodes' user in `REDIS_USERNAME` /
//! `REDIS_PASSWORD`.
//!
//! The two ways are exclusive, and half of the Sentinel pair is an error, so a refresher
//! never quietly writes to the default `REDIS_URL` while the operator meant Sentinel.
//! TLS through Sentinel is refused rather than half-applied: the TLS files and `rediss://`
//! speak of one address, and a Sentinel set-up has several of two kinds.

use std::fmt;

use super::tls::{RedisTls, parse_redis_tls};
use super::{Args, ConfigError, non_empty, none_set, parse_redis_url, quote};
use crate::redact::RedactedUrl;

/// `REDIS_URL` when neither it nor the Sentinel settings are given.
pub const DEFAULT_REDIS_URL: &str = "redis://127.0.0.1:6379/0";
/// Sentinel's own default port, for an entry of `REDIS_SENTINELS` without one.
pub const DEFAULT_SENTINEL_PORT: u16 = 26379;
/// More Sentinels than this in one list is a typo (a quorum is usually 3 or 5).
pub const MAX_SENTINELS: usize = 16;

/// The primary that Sentinel names, and how to log in to it.
#[derive(Clone, PartialEq, Eq)]
pub struct SentinelSettings {
    /// `REDIS_SENTINELS`: asked in this order (the last one that answered first).
    pub sentinels: Vec<(String, u16)>,
    /// `REDIS_SENTINEL_MASTER`: the name in `sentinel monitor <name> ...`.
    pub master: String,
    /// `REDIS_USERNAME` / `REDIS_PASSWORD`, for the data nodes (not for the Sentinels).
    pub username: Option<String>,
    pub password: Option<String>,
}

impl SentinelSettings {
    /// `h1:26379,h2:26379`.
    pub fn sentinel_list(&self) -> String {
        let list: Vec<String> = self
            .sentinels
            .iter()
            .map(|(host, port)| format!("{host}:{port}"))
            .collect();
        list.join(",")
    }
}

// Never print the password.
impl fmt::Debug for SentinelSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SentinelSettings")
            .field("sentinels", &self.sentinels)
            .field("master", &self.master)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .finish()
    }
}

/// The Redis the refresher writes to.
#[derive(Clone, PartialEq, Eq)]
pub enum RedisTarget {
    /// Raw URL (may hold a password): printed only through [`RedactedUrl`].
    Url(String),
    Sentinel(SentinelSettings),
}

impl RedisTarget {
    /// The URL, for a fixed address.
    pub fn url(&self) -> Option<&str> {
        match self {
            RedisTarget::Url(url) => Some(url),
            RedisTarget::Sentinel(_) => None,
        }
    }
}

/// For logs: the URL without its password, or `sentinel:<master>@<list>`.
impl fmt::Display for RedisTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RedisTarget::Url(url) => write!(f, "{}", RedactedUrl(url)),
            RedisTarget::Sentinel(s) => write!(f, "sentinel:{}@{}", s.master, s.sentinel_list()),
        }
    }
}

impl fmt::Debug for RedisTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RedisTarget::Url(url) => f.debug_tuple("Url").field(&RedactedUrl(url)).finish(),
            RedisTarget::Sentinel(s) => f.debug_tuple("Sentinel").field(s).finish(),
        }
    }
}

/// The Redis the refresher (and `refresh-now`) talks to: where, and how.
#[derive(Clone, Debug)]
pub struct Redis {
    /// `REDIS_URL`, or the Sentinel settings (printing it hides the password).
    pub target: RedisTarget,
    /// REDIS_CA_CERT, REDIS_CLIENT_CERT, REDIS_CLIENT_KEY (contents never printed); for
    /// `REDIS_URL=rediss://` only.
    pub tls: RedisTls,
}

/// The Redis settings: where, and the TLS files (for `REDIS_URL=rediss://` only).
pub(super) fn parse_redis(args: &Args) -> Result<Redis, ConfigError> {
    let sentinels = non_empty(&args.redis_sentinels);
    let master = non_empty(&args.redis_sentinel_master);
    let username = non_empty(&args.redis_username);
    let password = non_empty(&args.redis_password);
    let (list, master) = match (sentinels, master) {
        (None, None) => {
            none_set(
                &[
                    ("REDIS_USERNAME", username.is_some()),
                    ("REDIS_PASSWORD", password.is_some()),
                ],
                "is only used with REDIS_SENTINELS; with REDIS_URL put the user and password in \
                 the URL (redis://user:password@host:port/db)",
            )?;
            let url = parse_redis_url(args.redis_url.as_deref().unwrap_or(DEFAULT_REDIS_URL))?;
            let tls = parse_redis_tls(args, &url)?;
            let target = RedisTarget::Url(url);
            return Ok(Redis { target, tls });
        }
        (Some(_), None) => {
            return Err(ConfigError::new(
                "REDIS_SENTINEL_MASTER",
                "not set, but REDIS_SENTINELS is: name the master the Sentinels monitor \
                 (the <name> of `sentinel monitor <name> ...`)",
            ));
        }
        (None, Some(_)) => {
            return Err(ConfigError::new(
                "REDIS_SENTINELS",
                "not set, but REDIS_SENTINEL_MASTER is: list the Sentinels as \
                 host:port,host:port,...",
            ));
        }
        (Some(list), Some(master)) => (list, master),
    };
    if non_empty(&args.redis_url).is_some() {
        return Err(ConfigError::new(
            "REDIS_URL",
            "is set, and so are REDIS_SENTINELS and REDIS_SENTINEL_MASTER: set one way to \
             reach Redis (REDIS_URL for one fixed address, the Sentinel settings to follow \
             failovers)",
        ));
    }
    none_set(
        &[
            ("REDIS_CA_CERT", non_empty(&args.redis_ca_cert).is_some()),
            (
                "REDIS_CLIENT_CERT",
                non_empty(&args.redis_client_cert).is_some(),
            ),
            (
                "REDIS_CLIENT_KEY",
                non_empty(&args.redis_client_key).is_some(),
            ),
        ],
        "is set, but TLS through Sentinel is not supported: use REDIS_URL=rediss://... (a \
         managed service's primary endpoint follows failovers by itself)",
    )?;
    if master.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(ConfigError::new(
            "REDIS_SENTINEL_MASTER",
            format!("expected a name without spaces, got {}", quote(master)),
        ));
    }
    let settings = SentinelSettings {
        sentinels: parse_sentinels(list)?,
        master: master.to_owned(),
        username: username.map(str::to_owned),
        password: password.map(str::to_owned),
    };
    Ok(Redis {
        target: RedisTarget::Sentinel(settings),
        tls: RedisTls::default(),
    })
}

/// `host:port,host:port,...` (a port may be left out: 26379).
fn parse_sentinels(raw: &str) -> Result<Vec<(String, u16)>, ConfigError> {
    let bad = |why: &str| {
        ConfigError::new(
            "REDIS_SENTINELS",
            format!(
                "expected host:port,host:port,... ({why}), got {}",
                quote(raw)
            ),
        )
    };
    let mut sentinels = Vec::new();
    for entry in raw.split(',').map(str::trim) {
        if entry.contains("://") {
            return Err(bad("addresses, not URLs"));
        }
        let (host, port) = match entry.rsplit_once(':') {
            // An IPv6 address without a port has colons too; it must be bracketed with one.
            Some((host, port)) if !host.contains(':') || host.ends_with(']') => {
                let port = port
                    .parse::<u16>()
                    .ok()
                    .filter(|p| *p > 0)
                    .ok_or_else(|| bad("a port is 1 to 65535"))?;
                (host.trim_start_matches('[').trim_end_matches(']'), port)
            }
            Some(_) => return Err(bad("write an IPv6 address as [addr]:port")),
            None => (entry, DEFAULT_SENTINEL_PORT),
        };
        if host.is_empty() || host.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(bad("an entry has no host"));
        }
        sentinels.push((host.to_owned(), port));
    }
    if sentinels.len() > MAX_SENTINELS {
        return Err(bad(&format!("at most {MAX_SENTINELS}")));
    }
    Ok(sentinels)
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    fn parse(extra: &[&str]) -> Result<(RedisTarget, RedisTls), ConfigError> {
        let mut argv = vec!["status-refresher"];
        argv.extend_from_slice(extra);
        let redis = parse_redis(&Args::try_parse_from(argv).expect("clap accepts strings"))?;
        Ok((redis.target, redis.tls))
    }

    fn error(extra: &[&str]) -> ConfigError {
        parse(extra).expect_err("refused")
    }

    const SENTINEL: [&str; 4] = [
        "--redis-sentinels",
        "10.0.0.1:26379, 10.0.0.2,[::1]:26380",
        "--redis-sentinel-master",
        "game",
    ];

    #[test]
    fn url_by_default() {
        let (target, _) = parse(&[]).unwrap();
        assert_eq!(target, RedisTarget::Url(DEFAULT_REDIS_URL.to_owned()));
        let (target, _) = parse(&["--redis-url", "redis://:pw@h:1/2"]).unwrap();
        assert_eq!(target.to_string(), "redis://:***@h:1/2");
    }

    #[test]
    fn sentinel_settings() {
        let mut a = SENTINEL.to_vec();
        a.extend(["--redis-username", "u", "--redis-password", "hunter2"]);
        let (target, tls) = parse(&a).unwrap();
        let RedisTarget::Sentinel(s) = &target else {
            panic!("{target:?}")
        };
        assert_eq!(
            s.sentinels,
            [
                ("10.0.0.1".to_owned(), 26379),
                ("10.0.0.2".to_owned(), DEFAULT_SENTINEL_PORT),
                ("::1".to_owned(), 26380)
            ]
        );
        assert_eq!(
            (s.master.as_str(), s.username.as_deref()),
            ("game", Some("u"))
        );
        assert_eq!(s.password.as_deref(), Some("hunter2"));
        assert!(tls.certificates().is_none());
        let shown = format!("{target} {target:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(
            shown.contains("sentinel:game@10.0.0.1:26379,10.0.0.2:26379"),
            "{shown}"
        );
    }

    #[test]
    fn both_ways_half_of_sentinel_and_misplaced_settings_are_named() {
        let mut both = SENTINEL.to_vec();
        both.extend(["--redis-url", "redis://h"]);
        let cases: Vec<(Vec<&str>, &str, &str)> = vec![
            (both, "REDIS_URL", "set one way"),
            (SENTINEL[..2].to_vec(), "REDIS_SENTINEL_MASTER", "not set"),
            (SENTINEL[2..].to_vec(), "REDIS_SENTINELS", "not set"),
            (
                vec!["--redis-password", "pw"],
                "REDIS_PASSWORD",
                "in the URL",
            ),
            (
                [&SENTINEL[..], &["--redis-ca-cert", "/ca.pem"]].concat(),
                "REDIS_CA_CERT",
                "not supported",
            ),
            (
                vec!["--redis-sentinels", "h:0", "--redis-sentinel-master", "m"],
                "REDIS_SENTINELS",
                "1 to 65535",
            ),
            (
                vec!["--redis-sentinels", "h:1,", "--redis-sentinel-master", "m"],
                "REDIS_SENTINELS",
                "no host",
            ),
            (
                vec![
                    "--redis-sentinels",
                    "redis://h",
                    "--redis-sentinel-master",
                    "m",
                ],
                "REDIS_SENTINELS",
                "not URLs",
            ),
            (
                vec!["--redis-sentinels", "h", "--redis-sentinel-master", "a b"],
                "REDIS_SENTINEL_MASTER",
                "without spaces",
            ),
        ];
        for (args, variable, says) in cases {
            let e = error(&args);
            assert_eq!(e.variable, variable, "{args:?}: {e}");
            assert!(e.to_string().contains(says), "{args:?}: {e}");
        }
    }
}
