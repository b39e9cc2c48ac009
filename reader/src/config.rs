//! The component's configuration: Spin variables, each looked up only when a request needs it.
//!
//! Under Spin every `spin_sdk::variables::get` is a host call that resolves the variable's
//! expression again (nothing is cached between calls or requests); five of them per request
//! cost about a quarter of the reader's throughput under Spin 4.1. So:
//!
//! * nothing is read up front: [`Config`] resolves on first use, and a 404/405/414/431 without
//!   an `Origin` header reads nothing at all;
//! * the manifest packs every setting into one component variable, [`var::CONFIG`], so a
//!   request costs at most one lookup (before, the settings and the connection
//!   were two, and an outbound request paid for both).
//!
//! Operators still set the application variables by their old names (`SPIN_VARIABLE_*`,
//! `--variable`, SpinKube `variables`); only the component-level names changed. A manifest
//! without [`var::CONFIG`] (an older `spin.toml`) still works, at one lookup more: the two
//! packed variables [`var::SETTINGS`] and [`var::CONNECTION`] are read then, and without
//! those each setting under its own name, at one host call each.

use std::cell::OnceCell;

use status_document::keys::DEFAULT_STATUS_KEY;

use crate::cors::Cors;

/// Component variable names (declared in `spin.toml`).
pub mod var {
    /// Packed, everything in one lookup:
    /// `"<redis_api>\n<status_key>\n<cors_allow_origin>\n<redis_address>\n<redis_user>\n<redis_password>"`;
    /// a secret. The password comes last so that it may hold anything (newlines included);
    /// the other values hold no newline.
    pub const CONFIG: &str = "reader_config";
    /// Read only without [`CONFIG`] (an older manifest). Packed:
    /// `"<redis_api>\n<status_key>\n<cors_allow_origin>"`.
    pub const SETTINGS: &str = "reader_settings";
    /// Packed: `"<redis_address>\n<redis_user>\n<redis_password>"`; a secret.
    pub const CONNECTION: &str = "redis_connection";
    // The unpacked names, read only when the packed variable is not defined.
    pub const REDIS_API: &str = "redis_api";
    pub const REDIS_ADDRESS: &str = "redis_address";
    pub const REDIS_USER: &str = "redis_user";
    pub const REDIS_PASSWORD: &str = "redis_password";
    pub const STATUS_KEY: &str = "status_key";
    pub const CORS_ALLOW_ORIGIN: &str = "cors_allow_origin";
    /// The WASIp3 build only (deploy/spin/spin4.toml): `"<redis_timeout_ms>\n"` and then
    /// [`CONFIG`]'s packing, read instead of [`CONFIG`] so the timeout costs no lookup of
    /// its own. A name of its own, so that a manifest packing [`CONFIG`] is never misread.
    pub const CONFIG_TIMED: &str = "reader_config_timed";
    /// The WASIp3 build's bound on all of a request's Redis calls, read by this name only
    /// when [`CONFIG_TIMED`] is not defined.
    pub const REDIS_TIMEOUT_MS: &str = "redis_timeout_ms";
}

/// `redis_timeout_ms` when unset (the WASIp3 build; the WASIp2 build cannot bound a call).
pub const DEFAULT_REDIS_TIMEOUT_MS: u64 = 1000;
/// The longest `redis_timeout_ms` taken as given; longer is cut to this.
pub const MAX_REDIS_TIMEOUT_MS: u64 = 60_000;

/// `redis_timeout_ms` as milliseconds: empty is the default, a larger value than
/// [`MAX_REDIS_TIMEOUT_MS`] is cut to it; `Err` (with the default to use) for a value that
/// is not a whole number of at least 1, which the component logs.
pub fn redis_timeout_ms(value: &str) -> Result<u64, u64> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(DEFAULT_REDIS_TIMEOUT_MS);
    }
    match value.parse::<u64>() {
        Ok(0) | Err(_) => Err(DEFAULT_REDIS_TIMEOUT_MS),
        Ok(ms) => Ok(ms.min(MAX_REDIS_TIMEOUT_MS)),
    }
}

/// Splits [`var::CONFIG_TIMED`] into the timeout's text and the rest, which is packed as
/// [`var::CONFIG`] is.
pub fn split_timed(packed: &str) -> (&str, &str) {
    packed.split_once('\n').unwrap_or((packed, ""))
}

/// Which Spin API the reader reads Redis through (variable `redis_api`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedisApi {
    /// `fermyon:spin/redis` (`spin:redis` under Spin 4): works on every Spin host. Under
    /// Spin 3 a connection per request (each request is a new instance); under Spin 4 one
    /// per instance, kept by the reader across its requests (`spin_store::kept`).
    Outbound,
    /// `fermyon:spin/key-value` (`key_value_stores = ["default"]`), pointed at Redis by a
    /// runtime config: one shared connection per app, raw keys, no credentials in the
    /// component. Self-hosted `spin up` and SpinKube only.
    KeyValue,
}

impl RedisApi {
    /// `outbound` (also empty) or `key_value`; anything else is `None`, a configuration
    /// error the component reports as `redis_unavailable` with a log line.
    pub fn parse(value: &str) -> Option<RedisApi> {
        match value.trim() {
            "" | "outbound" => Some(RedisApi::Outbound),
            "key_value" => Some(RedisApi::KeyValue),
            _ => None,
        }
    }
}

/// What every document-reading endpoint needs, resolved together (one lookup).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// `None`: `redis_api` holds an unknown value.
    pub redis_api: Option<RedisApi>,
    pub status_key: String,
    pub cors: Cors,
}

impl Settings {
    /// From the three values; an empty status key falls back to `server:status`.
    pub fn new(redis_api: &str, status_key: &str, cors: &str) -> Settings {
        let status_key = status_key.trim();
        Settings {
            redis_api: RedisApi::parse(redis_api),
            status_key: if status_key.is_empty() {
                DEFAULT_STATUS_KEY.to_owned()
            } else {
                status_key.to_owned()
            },
            cors: Cors::parse(cors),
        }
    }

    /// Unpacks [`var::SETTINGS`]. The CORS list comes last so that it may hold anything;
    /// missing parts take their defaults.
    pub fn unpack(packed: &str) -> Settings {
        let mut parts = packed.splitn(3, '\n');
        let api = parts.next().unwrap_or_default();
        let key = parts.next().unwrap_or_default();
        let cors = parts.next().unwrap_or_default();
        Settings::new(api, key, cors)
    }
}

/// A variable lookup: `spin_sdk::variables::get` in the component, a map in tests.
pub type Lookup<'a> = Box<dyn Fn(&str) -> Option<String> + 'a>;

/// The configuration of one request, resolved lazily.
pub struct Config<'a> {
    lookup: Lookup<'a>,
    /// [`var::CONFIG`], looked up once.
    packed: OnceCell<Option<String>>,
    settings: OnceCell<Settings>,
    redis_url: OnceCell<Option<String>>,
}

impl std::fmt::Debug for Config<'_> {
    /// Never prints the connection URL: it may carry a password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("settings", &self.settings.get())
            .field("redis_url_resolved", &self.redis_url.get().is_some())
            .finish()
    }
}

impl<'a> Config<'a> {
    /// A configuration that calls `lookup` for a variable the first time it is needed.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String> + 'a) -> Config<'a> {
        Config {
            lookup: Box::new(lookup),
            packed: OnceCell::new(),
            settings: OnceCell::new(),
            redis_url: OnceCell::new(),
        }
    }

    /// An already resolved configuration (tests, and hosts that resolve once).
    pub fn resolved(settings: Settings, redis_url: Option<String>) -> Config<'a> {
        let c = Config::from_lookup(|_| None);
        let _ = c.settings.set(settings);
        let _ = c.redis_url.set(redis_url);
        c
    }

    /// [`var::CONFIG`]'s six parts, when the manifest defines it.
    fn packed(&self) -> Option<[&str; 6]> {
        let packed = self
            .packed
            .get_or_init(|| (self.lookup)(var::CONFIG))
            .as_deref()?;
        let mut parts = packed.splitn(6, '\n');
        Some(std::array::from_fn(|_| parts.next().unwrap_or_default()))
    }

    fn settings(&self) -> &Settings {
        self.settings.get_or_init(|| {
            if let Some([api, key, cors, ..]) = self.packed() {
                return Settings::new(api, key, cors);
            }
            self.settings_of_an_older_manifest()
        })
    }

    /// Without [`var::CONFIG`]: [`var::SETTINGS`], or each setting by its name.
    fn settings_of_an_older_manifest(&self) -> Settings {
        match (self.lookup)(var::SETTINGS) {
            Some(packed) => Settings::unpack(&packed),
            None => {
                let get = |name: &str| (self.lookup)(name).unwrap_or_default();
                Settings::new(
                    &get(var::REDIS_API),
                    &get(var::STATUS_KEY),
                    &get(var::CORS_ALLOW_ORIGIN),
                )
            }
        }
    }

    pub fn redis_api(&self) -> Option<RedisApi> {
        self.settings().redis_api
    }

    pub fn status_key(&self) -> &str {
        &self.settings().status_key
    }

    pub fn cors(&self) -> &Cors {
        &self.settings().cors
    }

    /// Where the outbound API connects, credentials included. `None` when `redis_address`
    /// is unset or empty: every Redis-backed endpoint then answers 503 `redis_unavailable`.
    pub fn redis_url(&self) -> Option<&str> {
        self.redis_url
            .get_or_init(|| {
                let (address, user, password) = if let Some([.., a, u, p]) = self.packed() {
                    (a.to_owned(), u.to_owned(), p.to_owned())
                } else {
                    match (self.lookup)(var::CONNECTION) {
                        Some(packed) => {
                            let mut parts = packed.splitn(3, '\n');
                            let mut next = || parts.next().unwrap_or_default().to_owned();
                            (next(), next(), next())
                        }
                        None => {
                            let address = (self.lookup)(var::REDIS_ADDRESS).unwrap_or_default();
                            if address.trim().is_empty() {
                                return None;
                            }
                            let get = |name: &str| (self.lookup)(name).unwrap_or_default();
                            (address, get(var::REDIS_USER), get(var::REDIS_PASSWORD))
                        }
                    }
                };
                let address = address.trim();
                (!address.is_empty()).then(|| connection_address(address, &user, &password))
            })
            .as_deref()
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
pub(crate) mod counting {
    //! A lookup over a map that records every name asked for, for budget tests.

    use std::cell::RefCell;
    use std::collections::HashMap;
    use std::rc::Rc;

    use super::Config;

    /// The names looked up so far.
    pub type Asked = Rc<RefCell<Vec<String>>>;

    pub fn config(values: &[(&str, &str)]) -> (Config<'static>, Asked) {
        let map: HashMap<String, String> = values
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let asked = Asked::default();
        let log = asked.clone();
        let c = Config::from_lookup(move |name| {
            log.borrow_mut().push(name.to_owned());
            map.get(name).cloned()
        });
        (c, asked)
    }
}

#[cfg(test)]
mod tests {
    use super::counting::config;
    use super::*;

    /// The connection URL of the examples' settings: the password, `p\nw`, is the rest of
    /// the packing, newlines included.
    const EXAMPLE_URL: &str = "redis://status-reader:p%0Aw@10.0.0.5:6380";

    /// Every part left empty: outbound Redis, `server:status`, no CORS, no address.
    fn assert_default_settings(c: &Config) {
        assert_eq!(c.redis_api(), Some(RedisApi::Outbound));
        assert_eq!(c.status_key(), "server:status");
        assert_eq!(c.cors(), &Cors::Off);
        assert_eq!(c.redis_url(), None);
    }

    /// The examples' settings: key-value, `test:x:status`, two CORS origins.
    fn assert_example_settings(c: &Config) {
        assert_eq!(c.redis_api(), Some(RedisApi::KeyValue));
        assert_eq!(c.status_key(), "test:x:status");
        assert_eq!(
            c.cors(),
            &Cors::List(vec!["https://a".into(), "https://b".into()])
        );
    }

    #[test]
    fn one_packed_variable_costs_one_lookup() {
        let (c, asked) = config(&[(
            var::CONFIG,
            "key_value\ntest:x:status\nhttps://a https://b\nredis://10.0.0.5:6380\nstatus-reader\np\nw",
        )]);
        assert!(asked.borrow().is_empty(), "nothing is read up front");
        assert_example_settings(&c);
        assert_eq!(c.redis_url(), Some(EXAMPLE_URL), "the password is the rest");
        assert_eq!(*asked.borrow(), [var::CONFIG], "one lookup for everything");

        let (c, _) = config(&[(var::CONFIG, "\n\n\n\n\n")]);
        assert_default_settings(&c);
        let (c, _) = config(&[(var::CONFIG, "outbound")]);
        assert_eq!(
            c.status_key(),
            "server:status",
            "missing parts are defaults"
        );
        assert_eq!(c.redis_url(), None);
    }

    #[test]
    fn packed_settings_cost_one_lookup() {
        let (c, asked) = config(&[
            (
                var::SETTINGS,
                "key_value\ntest:x:status\nhttps://a https://b",
            ),
            (
                var::CONNECTION,
                "redis://10.0.0.5:6380\nstatus-reader\np\nw",
            ),
        ]);
        assert!(asked.borrow().is_empty(), "nothing is read up front");
        assert_example_settings(&c);
        // An older manifest: reader_config is asked for first, once.
        assert_eq!(*asked.borrow(), [var::CONFIG, var::SETTINGS]);
        assert_eq!(c.redis_url(), Some(EXAMPLE_URL), "the password is the rest");
        assert_eq!(c.redis_url(), Some(EXAMPLE_URL));
        assert_eq!(
            *asked.borrow(),
            [var::CONFIG, var::SETTINGS, var::CONNECTION]
        );
    }

    #[test]
    fn packed_defaults() {
        let (c, _) = config(&[(var::SETTINGS, "\n\n"), (var::CONNECTION, "\n\n")]);
        assert_default_settings(&c);
        let (c, _) = config(&[(var::SETTINGS, "kv")]);
        assert_eq!(
            c.redis_api(),
            None,
            "an unknown API is an error, not a default"
        );
        assert_eq!(Settings::unpack("key_value").status_key, "server:status");
    }

    #[test]
    fn unpacked_names_still_work() {
        let (c, asked) = config(&[
            (var::REDIS_ADDRESS, "redis://10.0.0.5:6380"),
            (var::REDIS_USER, "status-reader"),
            (var::REDIS_PASSWORD, "s3cret"),
            (var::STATUS_KEY, "test:x:status"),
            (var::CORS_ALLOW_ORIGIN, "*"),
        ]);
        assert_eq!(c.status_key(), "test:x:status");
        assert_eq!(c.cors(), &Cors::Any);
        assert_eq!(c.redis_api(), Some(RedisApi::Outbound));
        assert_eq!(
            c.redis_url(),
            Some("redis://status-reader:s3cret@10.0.0.5:6380")
        );
        assert_eq!(
            asked.borrow().len(),
            1 + 1 + 3 + 1 + 3,
            "the packed ones, then one call per name"
        );

        let (c, _) = config(&[]);
        assert_eq!(c.redis_url(), None);
        assert_eq!(c.status_key(), "server:status");
        assert_eq!(c.cors(), &Cors::Off);
    }

    #[test]
    fn redis_timeout_is_bounded_and_defaulted() {
        assert_eq!(redis_timeout_ms(""), Ok(DEFAULT_REDIS_TIMEOUT_MS));
        assert_eq!(redis_timeout_ms(" 250 "), Ok(250));
        assert_eq!(redis_timeout_ms("600000"), Ok(MAX_REDIS_TIMEOUT_MS));
        for bad in ["0", "-5", "1.5", "1s", "forever"] {
            assert_eq!(
                redis_timeout_ms(bad),
                Err(DEFAULT_REDIS_TIMEOUT_MS),
                "{bad}"
            );
        }
    }

    #[test]
    fn timed_config_splits_off_the_timeout() {
        let (timeout, rest) =
            split_timed("300\nkey_value\nk\nhttps://a https://b\nredis://h:1\nu\np");
        assert_eq!(timeout, "300");
        let (c, asked) = config(&[(var::CONFIG, rest)]);
        assert_eq!(c.redis_api(), Some(RedisApi::KeyValue));
        assert_eq!(c.status_key(), "k");
        assert_eq!(c.cors(), &Cors::parse("https://a https://b"));
        assert_eq!(c.redis_url(), Some("redis://u:p@h:1"));
        assert_eq!(*asked.borrow(), [var::CONFIG]);
        assert_eq!(split_timed("300"), ("300", ""));
    }

    #[test]
    fn debug_hides_the_url() {
        let c = Config::resolved(
            Settings::new("", "k", "*"),
            Some("redis://u:secret@h".into()),
        );
        assert!(!format!("{c:?}").contains("secret"));
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
