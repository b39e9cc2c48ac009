//! Reading a Spin manifest (`spin.toml`, manifest version 2): the parts a host of one HTTP
//! component needs — application variables, the component's source, allow-list and variable
//! templates, and the HTTP routes that lead to it.
//!
//! Anything the host cannot honour (another trigger type for the component, private routes,
//! a source that is not a local file) is an error at startup, not a silent difference from
//! `spin up`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::routes::{Route, RouteError};

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("cannot read manifest {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("manifest {path} is not a valid Spin manifest: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("manifest has spin_manifest_version {0}; reader-host reads version 2")]
    Version(i64),
    #[error("manifest has no component {0:?}")]
    NoComponent(String),
    #[error("manifest has {0} components with HTTP triggers; name the one to serve (--component)")]
    AmbiguousComponent(usize),
    #[error("manifest has no [[trigger.http]] entries")]
    NoHttpTrigger,
    #[error("component {0:?} mounts `files`, which reader-host does not support")]
    Files(String),
    #[error("component {0:?} has a `source` that is not a local file path")]
    RemoteSource(String),
    #[error("HTTP trigger for component {component:?}: {source}")]
    Route {
        component: String,
        source: RouteError,
    },
}

/// What the host takes from the manifest for the component it serves.
#[derive(Debug, Clone, PartialEq)]
pub struct AppManifest {
    pub application_name: String,
    /// Application variables (`[variables]`).
    pub variables: BTreeMap<String, VariableDecl>,
    pub component_id: String,
    /// Absolute (manifest-dir-relative) path of the component's `.wasm`.
    pub source: PathBuf,
    /// Unexpanded `allowed_outbound_hosts` entries.
    pub allowed_outbound_hosts: Vec<String>,
    /// `[component.<id>.variables]`: component variable → template over application variables.
    pub component_variables: BTreeMap<String, String>,
    /// `environment`: the component's WASI environment variables.
    pub environment: BTreeMap<String, String>,
    /// `key_value_stores`: the store labels the component may open.
    pub key_value_stores: Vec<String>,
    pub routes: Vec<Route>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VariableDecl {
    #[serde(default)]
    pub default: Option<String>,
    #[serde(default)]
    pub required: bool,
    /// Secret values are never logged.
    #[serde(default)]
    pub secret: bool,
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Deserialize)]
struct RawManifest {
    spin_manifest_version: i64,
    application: RawApplication,
    #[serde(default)]
    variables: BTreeMap<String, VariableDecl>,
    #[serde(default)]
    trigger: RawTriggers,
    #[serde(default)]
    component: BTreeMap<String, RawComponent>,
}

#[derive(Debug, Deserialize)]
struct RawApplication {
    name: String,
}

#[derive(Debug, Default, Deserialize)]
struct RawTriggers {
    #[serde(default)]
    http: Vec<RawHttpTrigger>,
}

#[derive(Debug, Deserialize)]
struct RawHttpTrigger {
    route: toml::Value,
    component: toml::Value,
}

#[derive(Debug, Deserialize)]
struct RawComponent {
    source: toml::Value,
    #[serde(default)]
    allowed_outbound_hosts: Vec<String>,
    #[serde(default)]
    variables: BTreeMap<String, String>,
    #[serde(default)]
    environment: BTreeMap<String, String>,
    #[serde(default)]
    key_value_stores: Vec<String>,
    #[serde(default)]
    files: Vec<toml::Value>,
}

impl AppManifest {
    /// Reads the manifest at `path` and selects `component` (or the only component with HTTP
    /// triggers when `None`).
    pub fn load(path: &Path, component: Option<&str>) -> Result<AppManifest, ManifestError> {
        let text = std::fs::read_to_string(path).map_err(|source| ManifestError::Read {
            path: path.to_owned(),
            source,
        })?;
        let dir = path.parent().unwrap_or(Path::new("."));
        Self::parse(&text, dir, component).map_err(|e| match e {
            ManifestError::Parse { message, .. } => ManifestError::Parse {
                path: path.to_owned(),
                message,
            },
            other => other,
        })
    }

    /// Parses manifest text; relative paths are taken from `dir`.
    pub fn parse(
        text: &str,
        dir: &Path,
        component: Option<&str>,
    ) -> Result<AppManifest, ManifestError> {
        let raw: RawManifest = toml::from_str(text).map_err(|e| ManifestError::Parse {
            path: PathBuf::new(),
            message: e.to_string(),
        })?;
        if raw.spin_manifest_version != 2 {
            return Err(ManifestError::Version(raw.spin_manifest_version));
        }
        if raw.trigger.http.is_empty() {
            return Err(ManifestError::NoHttpTrigger);
        }
        let mut http_components: Vec<String> = Vec::new();
        for t in &raw.trigger.http {
            let id = t.component.as_str().ok_or_else(|| ManifestError::Parse {
                path: PathBuf::new(),
                message: "inline trigger components are not supported; use `component = \"id\"`"
                    .into(),
            })?;
            if !http_components.iter().any(|c| c == id) {
                http_components.push(id.to_owned());
            }
        }
        let component_id = match component {
            Some(c) => c.to_owned(),
            None if http_components.len() == 1 => http_components.remove(0),
            None => return Err(ManifestError::AmbiguousComponent(http_components.len())),
        };
        let comp = raw
            .component
            .get(&component_id)
            .ok_or_else(|| ManifestError::NoComponent(component_id.clone()))?;
        if !comp.files.is_empty() {
            return Err(ManifestError::Files(component_id));
        }
        let source = comp
            .source
            .as_str()
            .ok_or_else(|| ManifestError::RemoteSource(component_id.clone()))?;
        let routes = raw
            .trigger
            .http
            .iter()
            .filter(|t| t.component.as_str() == Some(component_id.as_str()))
            .map(|t| match t.route.as_str() {
                Some(r) => Route::parse(r),
                None => Err(RouteError::Private),
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(|source| ManifestError::Route {
                component: component_id.clone(),
                source,
            })?;
        Ok(AppManifest {
            application_name: raw.application.name,
            variables: raw.variables,
            source: dir.join(source),
            allowed_outbound_hosts: comp.allowed_outbound_hosts.clone(),
            component_variables: comp.variables.clone(),
            environment: comp.environment.clone(),
            key_value_stores: comp.key_value_stores.clone(),
            routes,
            component_id,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANIFEST: &str = r#"
spin_manifest_version = 2

[application]
name = "server-status"
version = "0.1.0"

[variables]
redis_address = { default = "redis://127.0.0.1:6379" }
status_key = { default = "server:status" }
password = { required = true, secret = true }

[[trigger.http]]
route = "/server/status"
component = "reader"

[[trigger.http]]
route = "/..."
component = "reader"

[component.reader]
source = "target/wasm32-wasip2/release/status_reader.wasm"
allowed_outbound_hosts = ["{{ redis_address }}"]
[component.reader.variables]
redis_address = "{{ redis_address }}"
status_key = "{{status_key}}"
[component.reader.build]
command = "cargo build --target wasm32-wasip2 --release -p status-reader"
"#;

    #[test]
    fn reads_the_reader_component() {
        let m = AppManifest::parse(MANIFEST, Path::new("/repo"), None).unwrap();
        assert_eq!(m.application_name, "server-status");
        assert_eq!(m.component_id, "reader");
        assert_eq!(
            m.source,
            Path::new("/repo/target/wasm32-wasip2/release/status_reader.wasm")
        );
        assert_eq!(m.allowed_outbound_hosts, vec!["{{ redis_address }}"]);
        assert_eq!(m.component_variables.len(), 2);
        assert_eq!(m.routes.len(), 2);
        assert!(m.variables["password"].required);
        assert!(m.variables["password"].secret);
        assert_eq!(
            m.variables["status_key"].default.as_deref(),
            Some("server:status")
        );
    }

    #[test]
    fn unknown_component_is_an_error() {
        let err = AppManifest::parse(MANIFEST, Path::new("."), Some("nope")).unwrap_err();
        assert!(matches!(err, ManifestError::NoComponent(_)));
    }

    #[test]
    fn wrong_version_is_an_error() {
        let text = MANIFEST.replace("spin_manifest_version = 2", "spin_manifest_version = 1");
        assert!(matches!(
            AppManifest::parse(&text, Path::new("."), None),
            Err(ManifestError::Version(1))
        ));
    }

    #[test]
    fn environment_is_read_and_files_are_refused() {
        let text = MANIFEST.replace(
            "allowed_outbound_hosts = [",
            "environment = { RUST_LOG = \"debug\" }\nallowed_outbound_hosts = [",
        );
        let m = AppManifest::parse(&text, Path::new("."), None).unwrap();
        assert_eq!(m.environment["RUST_LOG"], "debug");
        let text = MANIFEST.replace(
            "allowed_outbound_hosts = [",
            "files = [\"static/**\"]\nallowed_outbound_hosts = [",
        );
        assert!(matches!(
            AppManifest::parse(&text, Path::new("."), None),
            Err(ManifestError::Files(_))
        ));
    }

    #[test]
    fn private_route_is_refused() {
        let text = MANIFEST.replace("route = \"/...\"", "route = { private = true }");
        assert!(matches!(
            AppManifest::parse(&text, Path::new("."), None),
            Err(ManifestError::Route { .. })
        ));
    }
}
