//! The part of a Spin runtime-config file (`spin up --runtime-config-file FILE`) that
//! reader-host honours: key-value stores on Redis.
//!
//! ```toml
//! [key_value_store.default]
//! type = "redis"
//! url = "redis://status-reader:PASSWORD@127.0.0.1:6379"
//! ```
//!
//! The same file works with `spin up`. Other sections Spin knows (`[variables_provider]`,
//! `[sqlite_database]`, `[llm_compute]`, ...) are ignored here with a warning: the reader
//! uses none of them. A store of another `type` (`spin`, `azure_cosmos`, `aws_dynamo`) is
//! an error: reader-host would not behave like Spin with it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

#[derive(Debug, thiserror::Error)]
pub enum RuntimeConfigError {
    #[error("cannot read runtime config {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("runtime config {path} is not valid: {message}")]
    Parse { path: PathBuf, message: String },
    #[error(
        "runtime config {path}: key_value_store.{label} has type {kind:?}; reader-host supports only \"redis\""
    )]
    UnsupportedStore {
        path: PathBuf,
        label: String,
        kind: String,
    },
}

/// What reader-host takes from a runtime config.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct RuntimeConfig {
    /// Store label → Redis URL (credentials allowed: the file is the secret, never logged).
    pub redis_stores: BTreeMap<String, String>,
}

impl std::fmt::Debug for RuntimeConfig {
    /// Labels only: the URLs may carry passwords.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuntimeConfig")
            .field(
                "redis_stores",
                &self.redis_stores.keys().collect::<Vec<_>>(),
            )
            .finish()
    }
}

#[derive(Deserialize)]
struct RawStore {
    #[serde(rename = "type")]
    kind: String,
    url: Option<String>,
}

impl RuntimeConfig {
    pub fn load(path: &Path) -> Result<RuntimeConfig, RuntimeConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| RuntimeConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Parses the file's text; `path` is for messages only.
    pub fn parse(text: &str, path: &Path) -> Result<RuntimeConfig, RuntimeConfigError> {
        let parse_error = |message: String| RuntimeConfigError::Parse {
            path: path.to_owned(),
            message,
        };
        let mut doc: toml::Table = text.parse().map_err(|e: toml::de::Error| {
            // toml's message quotes the offending line, which may hold a password.
            parse_error(format!("TOML syntax error near {:?}", e.span()))
        })?;
        let stores = doc.remove("key_value_store");
        for section in doc.keys() {
            tracing::warn!(section, "runtime config section ignored by reader-host");
        }
        let mut config = RuntimeConfig::default();
        let Some(stores) = stores else {
            return Ok(config);
        };
        let stores: BTreeMap<String, RawStore> =
            stores.try_into().map_err(|e: toml::de::Error| {
                parse_error(format!("key_value_store: {}", e.message()))
            })?;
        for (label, store) in stores {
            if store.kind != "redis" {
                return Err(RuntimeConfigError::UnsupportedStore {
                    path: path.to_owned(),
                    label,
                    kind: store.kind,
                });
            }
            let url = store
                .url
                .filter(|u| !u.trim().is_empty())
                .ok_or_else(|| parse_error(format!("key_value_store.{label} has no `url`")))?;
            config.redis_stores.insert(label, url);
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<RuntimeConfig, RuntimeConfigError> {
        RuntimeConfig::parse(text, Path::new("rc.toml"))
    }

    #[test]
    fn redis_stores() {
        let c = parse(
            "[key_value_store.default]\ntype = \"redis\"\nurl = \"redis://u:pw@127.0.0.1:6379\"\n\
             [variables_provider]\ntype = \"vault\"\n",
        )
        .unwrap();
        assert_eq!(c.redis_stores["default"], "redis://u:pw@127.0.0.1:6379");
        assert!(!format!("{c:?}").contains("pw"));
        assert_eq!(parse("").unwrap(), RuntimeConfig::default());
    }

    #[test]
    fn refusals_name_the_problem_and_not_the_password() {
        let e = parse("[key_value_store.default]\ntype = \"spin\"\npath = \"x.db\"\n").unwrap_err();
        assert!(e.to_string().contains("supports only \"redis\""), "{e}");
        let e = parse("[key_value_store.default]\ntype = \"redis\"\n").unwrap_err();
        assert!(e.to_string().contains("has no `url`"), "{e}");
        let e =
            parse("[key_value_store.default]\nurl = \"redis://u:hunter2@h\" = x\n").unwrap_err();
        assert!(!e.to_string().contains("hunter2"), "{e}");
    }
}
