//! spin.toml (manifest version 2) as Spin's loader reads it, limited to what the locked-app
//! writer carries over. Every table denies unknown fields, so a manifest feature added later
//! is refused by name instead of silently missing from the locked app.

use std::collections::BTreeMap;

use serde::Deserialize;

/// spin.toml (manifest version 2), the parts this writer carries over.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Manifest {
    pub(super) spin_manifest_version: i64,
    pub(super) application: Application,
    #[serde(default)]
    pub(super) variables: BTreeMap<String, Variable>,
    #[serde(rename = "trigger", default)]
    pub(super) triggers: BTreeMap<String, Vec<Trigger>>,
    #[serde(rename = "component", default)]
    pub(super) components: BTreeMap<String, Component>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Application {
    pub(super) name: String,
    #[serde(default)]
    pub(super) version: String,
    #[serde(default)]
    pub(super) description: String,
    #[serde(default)]
    pub(super) authors: Vec<String>,
    /// `[application.trigger.<type>]`: trigger-global settings.
    #[serde(rename = "trigger", default)]
    pub(super) trigger_global_configs: BTreeMap<String, toml::Table>,
    /// Tooling and deployment targets: not part of the locked app.
    #[serde(default, rename = "tool")]
    pub(super) _tool: Option<toml::Table>,
    #[serde(default, rename = "targets")]
    pub(super) _targets: Option<toml::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Variable {
    #[serde(default)]
    pub(super) description: Option<String>,
    #[serde(default)]
    pub(super) default: Option<String>,
    #[serde(default)]
    pub(super) required: bool,
    #[serde(default)]
    pub(super) secret: bool,
}

#[derive(Debug, Deserialize)]
pub(super) struct Trigger {
    #[serde(default)]
    pub(super) id: String,
    /// A component ID (an inline component table is refused by the type).
    #[serde(default)]
    pub(super) component: Option<String>,
    /// Everything else is the trigger's own configuration (`route`, `executor`, ...).
    #[serde(flatten)]
    pub(super) config: toml::Table,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Component {
    pub(super) source: toml::Value,
    #[serde(default)]
    pub(super) description: String,
    #[serde(default)]
    pub(super) variables: BTreeMap<String, String>,
    #[serde(default)]
    pub(super) environment: BTreeMap<String, String>,
    #[serde(default)]
    pub(super) files: Vec<toml::Value>,
    #[serde(default)]
    pub(super) exclude_files: Vec<String>,
    #[serde(default)]
    pub(super) allowed_http_hosts: Vec<String>,
    #[serde(default)]
    pub(super) allowed_outbound_hosts: Vec<String>,
    #[serde(default, alias = "key-value-stores")]
    pub(super) key_value_stores: Vec<String>,
    #[serde(default, alias = "sqlite-databases")]
    pub(super) sqlite_databases: Vec<String>,
    #[serde(default)]
    pub(super) ai_models: Vec<String>,
    #[serde(default)]
    pub(super) build: Option<toml::Table>,
    #[serde(default)]
    pub(super) dependencies: Option<toml::Table>,
    /// Only meaningful with dependencies, which are refused.
    #[serde(default, rename = "dependencies_inherit_configuration")]
    pub(super) _dependencies_inherit_configuration: Option<bool>,
    /// Not part of the locked app (`tool`, `targets`), or only used with `--profile`.
    #[serde(default, rename = "tool")]
    pub(super) _tool: Option<toml::Table>,
    #[serde(default, rename = "targets")]
    pub(super) _targets: Option<toml::Value>,
    #[serde(default, rename = "profile")]
    pub(super) _profile: Option<toml::Table>,
}
