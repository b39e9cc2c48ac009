//! The variables a request's [`Config`](crate::config::Config) may ask for, read before the
//! request flow runs: `spin:variables@3.0.0` is async and `Config`'s lookup is not, and
//! awaiting here (rather than blocking inside the lookup) keeps the instance free for its
//! other requests. Read only when the answer needs the configuration
//! ([`crate::serve::reads_config`]), so a 404 without `Origin` still costs no lookup.

use crate::config::{self, var};

/// A manifest without [`var::CONFIG_TIMED`] may leave `Config` to ask for any of these.
const OLDER_MANIFEST: [&str; 8] = [
    var::SETTINGS,
    var::CONNECTION,
    var::REDIS_API,
    var::STATUS_KEY,
    var::CORS_ALLOW_ORIGIN,
    var::REDIS_ADDRESS,
    var::REDIS_USER,
    var::REDIS_PASSWORD,
];

/// The values read, by component variable name, and the request's `redis_timeout_ms`.
pub struct Variables {
    values: Vec<(&'static str, String)>,
    pub timeout_ms: u64,
}

impl Variables {
    /// Nothing read: the answer needs no configuration (and no Redis).
    pub fn none() -> Variables {
        Variables {
            values: Vec::new(),
            timeout_ms: config::DEFAULT_REDIS_TIMEOUT_MS,
        }
    }

    /// [`var::CONFIG_TIMED`] (deploy/spin/spin4.toml): one lookup for everything, the
    /// timeout split off and the rest answered as [`var::CONFIG`]. An older manifest costs
    /// a lookup per name it may need.
    pub async fn read() -> Variables {
        if let Some(timed) = variable(var::CONFIG_TIMED).await {
            let (timeout, rest) = config::split_timed(&timed);
            return Variables {
                values: vec![(var::CONFIG, rest.to_owned())],
                timeout_ms: parse_timeout(timeout),
            };
        }
        let timeout_ms = parse_timeout(&variable(var::REDIS_TIMEOUT_MS).await.unwrap_or_default());
        let mut values = Vec::new();
        if let Some(packed) = variable(var::CONFIG).await {
            values.push((var::CONFIG, packed));
        } else {
            for name in OLDER_MANIFEST {
                if let Some(value) = variable(name).await {
                    values.push((name, value));
                }
            }
        }
        Variables { values, timeout_ms }
    }

    /// The lookup `Config` makes.
    pub fn get(&self, name: &str) -> Option<String> {
        self.values
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, value)| value.clone())
    }
}

async fn variable(name: &str) -> Option<String> {
    spin_sdk_7::variables::get(name).await.ok()
}

fn parse_timeout(value: &str) -> u64 {
    config::redis_timeout_ms(value).unwrap_or_else(|default| {
        eprintln!("status-reader: redis_timeout_ms must be a whole number >= 1; using {default}");
        default
    })
}
