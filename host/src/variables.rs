//! Variables, resolved as Spin resolves them (crate `spin-expressions`).
//!
//! Application variables (`[variables]` in the manifest) take their value from, in order:
//! a `--variable name=value` flag, the `SPIN_VARIABLE_<NAME>` environment variable (name
//! upper-cased), the manifest default. A `required` variable with none of these is a startup
//! error. Component variables (`[component.<id>.variables]`) are templates over application
//! variables (`"redis://{{ host }}:6379"`); they are what the component's
//! `fermyon:spin/variables.get` sees. Everything is checked and resolved once at startup —
//! the values cannot change while the host runs, exactly as with Spin's static and env
//! providers — and, as Spin does, every `get` renders the variable's template again (Spin
//! caches nothing between calls), so a component that looks up more pays for more.

use std::collections::{BTreeMap, HashMap};

use crate::limits::Call;
use crate::manifest::VariableDecl;
use crate::view::RequestView;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum VariableError {
    #[error("invalid variable name {name:?}: {reason}")]
    InvalidName { name: String, reason: &'static str },
    #[error("invalid template {template:?}: {reason}")]
    InvalidTemplate {
        template: String,
        reason: &'static str,
    },
    #[error("template refers to unknown application variable {0:?}")]
    Unknown(String),
    #[error(
        "required variable {0:?} has no value; set SPIN_VARIABLE_{upper} or pass --variable {0}=...",
        upper = .0.to_uppercase()
    )]
    Required(String),
    #[error("--variable {0:?} names no application variable in the manifest")]
    UnknownOverride(String),
    #[error("--variable {0:?} is not of the form name=value")]
    BadOverride(String),
}

/// Checks a variable name against Spin's rules: lower-case ASCII letters, digits and single
/// underscores, starting with a letter and ending with a letter or digit.
pub fn validate_name(name: &str) -> Result<(), VariableError> {
    let bad = |reason| {
        Err(VariableError::InvalidName {
            name: name.to_owned(),
            reason,
        })
    };
    let bytes = name.as_bytes();
    match (bytes.first(), bytes.last()) {
        (None, _) | (_, None) => bad("must not be empty"),
        _ if !bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'_') =>
        {
            bad("may contain only lower-case letters, digits and underscores")
        }
        (Some(f), _) if !f.is_ascii_lowercase() => bad("must start with a lower-case letter"),
        (_, Some(l)) if !l.is_ascii_alphanumeric() => bad("must end with a letter or digit"),
        _ if name.contains("__") => bad("must not contain consecutive underscores"),
        _ => Ok(()),
    }
}

/// A parsed `{{ name }}` template.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Lit(String),
    Var(String),
}

impl Template {
    pub fn parse(template: &str) -> Result<Template, VariableError> {
        let bad = |reason| VariableError::InvalidTemplate {
            template: template.to_owned(),
            reason,
        };
        let mut parts = Vec::new();
        let mut rest = template;
        while let Some(start) = rest.find("{{") {
            if start > 0 {
                parts.push(Part::Lit(rest[..start].to_owned()));
            }
            let after = &rest[start + 2..];
            let end = after.find("}}").ok_or_else(|| bad("unclosed '{{'"))?;
            let name = after[..end].trim();
            validate_name(name).map_err(|_| bad("'{{ }}' must hold one variable name"))?;
            parts.push(Part::Var(name.to_owned()));
            rest = &after[end + 2..];
        }
        if rest.contains("}}") {
            return Err(bad("'}}' without '{{'"));
        }
        if !rest.is_empty() {
            parts.push(Part::Lit(rest.to_owned()));
        }
        Ok(Template { parts })
    }

    /// The variable names the template refers to.
    pub fn variables(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Var(v) => Some(v.as_str()),
            Part::Lit(_) => None,
        })
    }

    pub fn render(&self, values: &HashMap<String, String>) -> Result<String, VariableError> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Lit(l) => out.push_str(l),
                Part::Var(v) => out.push_str(
                    values
                        .get(v)
                        .ok_or_else(|| VariableError::Unknown(v.clone()))?,
                ),
            }
        }
        Ok(out)
    }
}

/// Where overrides come from besides the manifest defaults.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--variable name=value` flags (highest precedence).
    pub flags: Vec<(String, String)>,
    /// `SPIN_VARIABLE_*` environment variables, as (upper-case suffix, value).
    pub env: HashMap<String, String>,
}

impl Overrides {
    /// Takes the `SPIN_VARIABLE_*` variables from the process environment.
    pub fn from_process_env() -> Overrides {
        Overrides {
            flags: Vec::new(),
            env: std::env::vars()
                .filter_map(|(k, v)| k.strip_prefix("SPIN_VARIABLE_").map(|n| (n.to_owned(), v)))
                .collect(),
        }
    }

    /// Parses a `name=value` flag.
    pub fn parse_flag(flag: &str) -> Result<(String, String), VariableError> {
        match flag.split_once('=') {
            Some((name, value)) if !name.trim().is_empty() => {
                Ok((name.trim().to_owned(), value.to_owned()))
            }
            _ => Err(VariableError::BadOverride(flag.to_owned())),
        }
    }
}

/// Resolved values.
#[derive(Clone, Default, PartialEq)]
pub struct ResolvedVariables {
    /// Application variables; templates in `allowed_outbound_hosts` refer to these.
    pub application: HashMap<String, String>,
    /// What the component's `variables.get` returns.
    pub component: HashMap<String, String>,
    /// The templates behind `component`, rendered again on every `get`.
    pub templates: HashMap<String, Template>,
}

impl ResolvedVariables {
    /// A component variable, rendered from its template as Spin resolves it per call.
    pub fn get(&self, name: &str) -> Option<String> {
        self.templates
            .get(name)
            .and_then(|t| t.render(&self.application).ok())
    }
}

impl std::fmt::Debug for ResolvedVariables {
    /// Names only: values can be secrets.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResolvedVariables")
            .field("application", &self.application.keys().collect::<Vec<_>>())
            .field("component", &self.component.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// Resolves application and component variables.
pub fn resolve(
    declared: &BTreeMap<String, VariableDecl>,
    component_templates: &BTreeMap<String, String>,
    overrides: &Overrides,
) -> Result<ResolvedVariables, VariableError> {
    for name in declared.keys() {
        validate_name(name)?;
    }
    for (name, _) in &overrides.flags {
        if !declared.contains_key(name) {
            return Err(VariableError::UnknownOverride(name.clone()));
        }
    }
    let mut application = HashMap::new();
    for (name, decl) in declared {
        let flag = overrides
            .flags
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone());
        let value = flag
            .or_else(|| overrides.env.get(&name.to_uppercase()).cloned())
            .or_else(|| decl.default.clone());
        match value {
            Some(v) => {
                application.insert(name.clone(), v);
            }
            // Spin: a variable with neither default nor provider value is only an error
            // when something uses it; `required` ones are checked up front.
            None if decl.required => return Err(VariableError::Required(name.clone())),
            None => {}
        }
    }
    let mut component = HashMap::new();
    let mut templates = HashMap::new();
    for (name, template) in component_templates {
        validate_name(name)?;
        let template = Template::parse(template)?;
        for var in template.variables() {
            if !declared.contains_key(var) {
                return Err(VariableError::Unknown(var.to_owned()));
            }
            if !application.contains_key(var) {
                return Err(VariableError::Required(var.to_owned()));
            }
        }
        component.insert(name.clone(), template.render(&application)?);
        templates.insert(name.clone(), template);
    }
    Ok(ResolvedVariables {
        application,
        component,
        templates,
    })
}

impl RequestView<'_, ResolvedVariables> {
    /// One lookup of the component's own variable `name`, rendered again and counted: what
    /// both versions of the variables interface do (the WASIp3 one maps the error).
    pub(crate) fn lookup(&self, name: &str) -> Result<String, crate::bindings::variables::Error> {
        use crate::bindings::variables::Error;
        self.counters.count(Call::Lookup);
        if let Err(e) = validate_name(name) {
            return Err(Error::InvalidName(e.to_string()));
        }
        self.app
            .get(name)
            .ok_or_else(|| Error::Undefined(format!("no variable for {name:?}")))
    }
}

/// `fermyon:spin/variables@2.0.0`: the component's own variables, by name.
impl crate::bindings::variables::Host for RequestView<'_, ResolvedVariables> {
    async fn get(&mut self, name: String) -> Result<String, crate::bindings::variables::Error> {
        self.lookup(&name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decls() -> BTreeMap<String, VariableDecl> {
        let mut d = BTreeMap::new();
        d.insert(
            "redis_address".into(),
            VariableDecl {
                default: Some("redis://127.0.0.1:6379".into()),
                ..Default::default()
            },
        );
        d.insert(
            "status_key".into(),
            VariableDecl {
                default: Some("server:status".into()),
                ..Default::default()
            },
        );
        d
    }

    fn templates() -> BTreeMap<String, String> {
        let mut t = BTreeMap::new();
        t.insert("redis_address".into(), "{{ redis_address }}".into());
        t.insert("status_key".into(), "prefix-{{status_key}}".into());
        t
    }

    #[test]
    fn defaults() {
        let r = resolve(&decls(), &templates(), &Overrides::default()).unwrap();
        assert_eq!(r.component["redis_address"], "redis://127.0.0.1:6379");
        assert_eq!(r.component["status_key"], "prefix-server:status");
        assert_eq!(r.get("status_key").as_deref(), Some("prefix-server:status"));
        assert_eq!(r.get("nope"), None);
    }

    #[test]
    fn flag_beats_env_beats_default() {
        let mut o = Overrides::default();
        o.env.insert("STATUS_KEY".into(), "from-env".into());
        o.env.insert("REDIS_ADDRESS".into(), "redis://env:1".into());
        o.flags.push(("status_key".into(), "from-flag".into()));
        let r = resolve(&decls(), &templates(), &o).unwrap();
        assert_eq!(r.component["status_key"], "prefix-from-flag");
        assert_eq!(r.application["redis_address"], "redis://env:1");
    }

    #[test]
    fn required_without_value_is_an_error() {
        let mut d = decls();
        d.insert(
            "password".into(),
            VariableDecl {
                required: true,
                ..Default::default()
            },
        );
        let err = resolve(&d, &templates(), &Overrides::default()).unwrap_err();
        assert_eq!(err, VariableError::Required("password".into()));
        assert!(err.to_string().contains("SPIN_VARIABLE_PASSWORD"));
    }

    #[test]
    fn unknown_names_are_errors() {
        let mut t = templates();
        t.insert("x".into(), "{{ nope }}".into());
        assert!(resolve(&decls(), &t, &Overrides::default()).is_err());
        let o = Overrides {
            flags: vec![("nope".into(), "1".into())],
            ..Default::default()
        };
        assert!(resolve(&decls(), &templates(), &o).is_err());
    }

    #[test]
    fn names() {
        for ok in ["a", "abc", "a1b2", "a_1", "redis_address"] {
            validate_name(ok).unwrap();
        }
        for bad in ["", "aX", "1bc", "_x", "x.y", "x_", "a__b", "x-y"] {
            assert!(validate_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn templates_parse() {
        assert!(Template::parse("plain").is_ok());
        assert!(Template::parse("{{ a }}{{b}}").is_ok());
        assert!(Template::parse("{{ a ").is_err());
        assert!(Template::parse("{{ A }}").is_err());
        assert!(Template::parse("a }}").is_err());
    }

    #[test]
    fn flags_parse() {
        assert_eq!(
            Overrides::parse_flag("k=v=w").unwrap(),
            ("k".into(), "v=w".into())
        );
        assert!(Overrides::parse_flag("novalue").is_err());
    }
}
