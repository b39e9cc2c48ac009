//! spin.toml as Spin's *locked app*: the JSON document `spin registry push` stores in the
//! registry (and SpinKube's shim reads back as `/spin.json`), with the component's source
//! replaced by the content digest of its `.wasm` layer.
//!
//! Written here, without the Spin CLI, from the bundle's own spin.toml so that the OCI layout
//! of dist/oci.rs describes exactly the app `spin up` runs from the bundle's `reader/` folder.
//! The shape follows Spin's `spin-locked-app` crate (`LockedApp`, schema version 0 when no
//! host requirements are used) as its loader (`spin-loader`, `LocalLoader::load_manifest`) and
//! `spin-oci`'s push fill it in:
//!
//! - app `metadata`: `name`, `version`, `description`, `authors` (each left out when empty),
//!   `triggers` (the `[application.trigger.<type>]` tables, `{}` when none) and, with a single
//!   trigger type, `trigger` = that type's table plus `"type"`; no `origin` (push removes it);
//! - `variables`: `description`, `default`, `secret` (only when true) per variable;
//! - `triggers`: one per `[[trigger.<type>]]` in order, its keys as `trigger_config`, and the
//!   ID Spin generates for an anonymous trigger: `<component>-<type>-trigger`, then
//!   `<type>-trigger<n>` once that is taken;
//! - `components`: `metadata` (`description`, `allowed_outbound_hosts`, `key_value_stores`,
//!   `databases`, `ai_models`), `source` = `{content_type: "application/wasm", digest}`, `env`,
//!   `config` (the component's `variables`).
//!
//! Maps serialise with sorted keys and structs in Spin's field order, as Spin's own output
//! does. A manifest feature this writer does not carry over (files, dependencies, a `build`
//! table, a remote source, service chaining, the old `allowed_http_hosts`) is refused with its
//! name rather than dropped, so the layout can never describe a different app than spin.toml.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Context, Result, bail, ensure};
use serde::Serialize;
use serde_json::{Map, Value};

/// The locked app's `content_type` of a Wasm source (Spin's loader writes this one).
const WASM_CONTENT_TYPE: &str = "application/wasm";

/// Content up to this size Spin inlines into the locked app instead of a layer
/// (`spin-oci`'s `DEFAULT_CONTENT_REF_INLINE_MAX_SIZE`).
const INLINE_MAX: usize = 128;

mod manifest;
#[cfg(test)]
mod tests;

use manifest::{Application, Component, Manifest, Trigger, Variable};

/// Spin's `LockedApp`, in its serialisation's field order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LockedApp {
    /// 0: no `must_understand`/`host_requirements` (Spin writes 1 only with those).
    pub spin_lock_version: u32,
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub metadata: Map<String, Value>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub variables: BTreeMap<String, LockedVariable>,
    pub triggers: Vec<LockedTrigger>,
    pub components: Vec<LockedComponent>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LockedVariable {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub secret: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LockedTrigger {
    pub id: String,
    pub trigger_type: String,
    pub trigger_config: Value,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LockedComponent {
    pub id: String,
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub metadata: Map<String, Value>,
    pub source: LockedSource,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub config: BTreeMap<String, String>,
}

/// A component's source by content digest (`LockedComponentSource` with a digest-only
/// `ContentRef`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LockedSource {
    pub content_type: String,
    pub digest: String,
}

impl LockedApp {
    /// `metadata.<key>` as a string, when it is one.
    pub fn metadata_str(&self, key: &str) -> Option<&str> {
        self.metadata.get(key).and_then(Value::as_str)
    }

    /// The JSON `spin registry push` stores: compact, as `serde_json::to_vec`.
    pub fn to_json(&self) -> Result<Vec<u8>> {
        serde_json::to_vec(self).context("serialising the locked app")
    }
}

/// The component source the locked app refers to by digest: the `.wasm` file named by a
/// component's `source` and its layer's digest (`sha256:<hex>`) and size.
#[derive(Debug, Clone)]
pub struct WasmContent<'a> {
    /// The `source` path as spin.toml writes it.
    pub source: &'a str,
    pub digest: &'a str,
    pub size: usize,
}

/// The locked app of `manifest` (the text of a spin.toml), each component's source replaced
/// by the digest of its `.wasm` (`wasm`, matched by the source path).
pub fn lock(manifest: &str, wasm: &[WasmContent<'_>]) -> Result<LockedApp> {
    let manifest: Manifest =
        toml::from_str(manifest).context("spin.toml is not a manifest this writer reads")?;
    ensure!(
        manifest.spin_manifest_version == 2,
        "spin.toml has spin_manifest_version {}; the locked app is written from version 2",
        manifest.spin_manifest_version
    );

    let metadata = app_metadata(&manifest.application, manifest.triggers.keys())?;
    let variables = locked_variables(manifest.variables)?;
    let triggers = locked_triggers(manifest.triggers)?;
    let components = manifest
        .components
        .into_iter()
        .map(|(id, c)| locked_component(&id, c, wasm).with_context(|| format!("component {id:?}")))
        .collect::<Result<Vec<_>>>()?;
    check_trigger_targets(&triggers, &components)?;

    Ok(LockedApp {
        spin_lock_version: 0,
        metadata,
        variables,
        triggers,
        components,
    })
}

/// The variables as Spin locks them; each must be `required` or have a `default`.
fn locked_variables(
    variables: BTreeMap<String, Variable>,
) -> Result<BTreeMap<String, LockedVariable>> {
    variables
        .into_iter()
        .map(|(name, v)| {
            ensure!(
                v.required ^ v.default.is_some(),
                "variable {name:?} must be `required` or have a `default`, not both or neither"
            );
            Ok((
                name,
                LockedVariable {
                    description: v.description,
                    default: v.default,
                    secret: v.secret,
                },
            ))
        })
        .collect()
}

/// Every `[[trigger.<type>]]` in order, anonymous ones given the IDs Spin generates (which
/// must not collide with the IDs spin.toml names itself).
fn locked_triggers(triggers: BTreeMap<String, Vec<Trigger>>) -> Result<Vec<LockedTrigger>> {
    let mut taken: BTreeSet<String> = triggers
        .values()
        .flatten()
        .filter(|t| !t.id.is_empty())
        .map(|t| t.id.clone())
        .collect();
    let mut locked = Vec::new();
    for (trigger_type, list) in triggers {
        let mut counter = 1;
        for trigger in list {
            locked.push(locked_trigger(
                &trigger_type,
                trigger,
                &mut taken,
                &mut counter,
            )?);
        }
    }
    Ok(locked)
}

/// Refuses a trigger that names a component spin.toml does not define (Spin's loader does).
fn check_trigger_targets(triggers: &[LockedTrigger], components: &[LockedComponent]) -> Result<()> {
    for trigger in triggers {
        let target = trigger
            .trigger_config
            .get("component")
            .and_then(Value::as_str);
        if let Some(target) = target
            && !components.iter().any(|c| c.id == target)
        {
            bail!(
                "trigger {:?} names component {target:?}, which spin.toml does not define",
                trigger.id
            );
        }
    }
    Ok(())
}

/// The app's metadata as Spin's loader fills it in (`locked_metadata`).
fn app_metadata<'a>(
    app: &Application,
    trigger_types: impl Iterator<Item = &'a String>,
) -> Result<Map<String, Value>> {
    let mut metadata = Map::new();
    insert_string(&mut metadata, "name", &app.name);
    insert_string(&mut metadata, "version", &app.version);
    insert_string(&mut metadata, "description", &app.description);
    insert_strings(&mut metadata, "authors", &app.authors);
    metadata.insert(
        "triggers".into(),
        serde_json::to_value(&app.trigger_global_configs).context("[application.trigger]")?,
    );
    let types: Vec<&String> = trigger_types.collect();
    if let [only] = types.as_slice() {
        let mut single = app
            .trigger_global_configs
            .get(*only)
            .map(|t| serde_json::to_value(t).context("[application.trigger]"))
            .transpose()?
            .and_then(|v| v.as_object().cloned())
            .unwrap_or_default();
        single.insert("type".into(), Value::String((*only).clone()));
        metadata.insert("trigger".into(), Value::Object(single));
    }
    Ok(metadata)
}

fn locked_trigger(
    trigger_type: &str,
    trigger: Trigger,
    taken: &mut BTreeSet<String>,
    counter: &mut u32,
) -> Result<LockedTrigger> {
    for unsupported in ["components", "dependencies"] {
        if trigger.config.contains_key(unsupported) {
            bail!(
                "a [[trigger.{trigger_type}]] uses `{unsupported}`, which the locked-app writer does not carry over"
            );
        }
    }
    let id = if !trigger.id.is_empty() {
        trigger.id
    } else {
        // Spin's normalize_trigger_ids: a "natural" ID, else the next free counter-based one.
        let natural = trigger
            .component
            .as_ref()
            .map(|c| format!("{c}-{trigger_type}-trigger"))
            .filter(|id| !taken.contains(id));
        let id = natural.unwrap_or_else(|| {
            loop {
                let id = format!("{trigger_type}-trigger{counter}");
                if !taken.contains(&id) {
                    break id;
                }
                *counter += 1;
            }
        });
        taken.insert(id.clone());
        id
    };
    let mut config = trigger.config;
    if let Some(component) = trigger.component {
        config.insert("component".into(), toml::Value::String(component));
    }
    Ok(LockedTrigger {
        trigger_config: serde_json::to_value(&config)
            .with_context(|| format!("trigger {id:?}'s configuration"))?,
        id,
        trigger_type: trigger_type.to_owned(),
    })
}

fn locked_component(id: &str, c: Component, wasm: &[WasmContent<'_>]) -> Result<LockedComponent> {
    let refuse = |what: &str| -> Result<LockedComponent> {
        bail!(
            "it uses {what}, which the locked-app writer (xtask/src/dist/locked_app/) does not carry over"
        )
    };
    if !c.files.is_empty() || !c.exclude_files.is_empty() {
        return refuse("`files`");
    }
    if c.dependencies.as_ref().is_some_and(|d| !d.is_empty()) {
        return refuse("`dependencies`");
    }
    if c.build.is_some() {
        return refuse("a `build` table (write the locked app from the bundle's spin.toml)");
    }
    if !c.allowed_http_hosts.is_empty() {
        return refuse("the deprecated `allowed_http_hosts`");
    }
    if c.allowed_outbound_hosts
        .iter()
        .any(|h| h.contains(".spin.internal"))
    {
        return refuse("service chaining (`*.spin.internal`)");
    }
    let Some(source) = c.source.as_str() else {
        return refuse("a `source` that is not a local file (a URL or registry package)");
    };
    let content = wasm
        .iter()
        .find(|w| w.source == source)
        .with_context(|| format!("no .wasm given for its source {source:?}"))?;
    ensure!(
        content.size > INLINE_MAX,
        "its .wasm is {} bytes: Spin would inline it, which this writer does not",
        content.size
    );

    let mut metadata = Map::new();
    insert_string(&mut metadata, "description", &c.description);
    insert_strings(
        &mut metadata,
        "allowed_outbound_hosts",
        &c.allowed_outbound_hosts,
    );
    insert_strings(&mut metadata, "key_value_stores", &c.key_value_stores);
    insert_strings(&mut metadata, "databases", &c.sqlite_databases);
    insert_strings(&mut metadata, "ai_models", &c.ai_models);
    Ok(LockedComponent {
        id: id.to_owned(),
        metadata,
        source: LockedSource {
            content_type: WASM_CONTENT_TYPE.to_owned(),
            digest: content.digest.to_owned(),
        },
        env: c.environment,
        config: c.variables,
    })
}

/// Spin's `ValuesMapBuilder::string`: an empty string is left out.
fn insert_string(map: &mut Map<String, Value>, key: &str, value: &str) {
    if !value.is_empty() {
        map.insert(key.into(), Value::String(value.into()));
    }
}

/// Spin's `ValuesMapBuilder::string_array`: an empty list is left out.
fn insert_strings(map: &mut Map<String, Value>, key: &str, values: &[String]) {
    if !values.is_empty() {
        map.insert(
            key.into(),
            values.iter().cloned().map(Value::String).collect(),
        );
    }
}
