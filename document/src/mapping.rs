//! Which database constant feeds which document field, and which descriptions are published.
//!
//! Another game names its constants differently, so the mapping is configuration. The
//! defaults are the names the original website API used.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

/// A numeric field of the status document that is fed by one constant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Field {
    ServerStatus,
    RateExp,
    RatePvp,
    RatePve,
    RateColorMob,
    RateSkill,
    ClientStatus,
}

impl Field {
    pub const ALL: [Field; 7] = [
        Field::ServerStatus,
        Field::RateExp,
        Field::RatePvp,
        Field::RatePve,
        Field::RateColorMob,
        Field::RateSkill,
        Field::ClientStatus,
    ];

    /// The field's path in the JSON document; also the name used in the mapping setting.
    pub fn path(self) -> &'static str {
        match self {
            Field::ServerStatus => "server_status",
            Field::RateExp => "rates.exp",
            Field::RatePvp => "rates.pvp",
            Field::RatePve => "rates.pve",
            Field::RateColorMob => "rates.color_mob",
            Field::RateSkill => "rates.skill",
            Field::ClientStatus => "client_status",
        }
    }

    /// The constant that feeds this field unless the mapping says otherwise.
    pub fn default_constant(self) -> &'static str {
        match self {
            Field::ServerStatus => "ServerStatus",
            Field::RateExp => "RateExp",
            Field::RatePvp => "RatePvp",
            Field::RatePve => "RatePve",
            Field::RateColorMob => "RateColorMob",
            Field::RateSkill => "RateSkill",
            Field::ClientStatus => "CLIENT_STATUS",
        }
    }

    /// The value used when the constant is absent or unusable (listed in `defaulted`).
    pub fn default_value(self) -> f64 {
        match self {
            Field::ClientStatus => 256.0,
            _ => 1.0,
        }
    }

    fn index(self) -> usize {
        self as usize
    }

    fn from_path(path: &str) -> Option<Field> {
        Field::ALL.into_iter().find(|f| f.path() == path)
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.path())
    }
}

/// Constant name for each [`Field`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    names: [String; 7],
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MappingError {
    #[error("expected FIELD=CONSTANT, got {0:?}")]
    NotAPair(String),
    #[error("unknown field {field:?}; known fields: {known}")]
    UnknownField { field: String, known: String },
    #[error("constant name for {0} is empty")]
    EmptyName(Field),
    #[error("constant {name:?} is mapped to both {first} and {second}")]
    Duplicate {
        name: String,
        first: Field,
        second: Field,
    },
}

impl Default for Mapping {
    fn default() -> Self {
        Mapping {
            names: Field::ALL.map(|f| f.default_constant().to_owned()),
        }
    }
}

impl Mapping {
    pub fn constant(&self, field: Field) -> &str {
        &self.names[field.index()]
    }

    /// The field a constant feeds, if any (exact, case-sensitive match, as MySQL's
    /// `utf8mb4_bin` would; `RateExp` and `rateexp` are different constants).
    pub fn field_for(&self, constant: &str) -> Option<Field> {
        Field::ALL
            .into_iter()
            .find(|f| self.constant(*f) == constant)
    }

    pub fn constants(&self) -> impl Iterator<Item = &str> {
        self.names.iter().map(String::as_str)
    }

    /// Applies overrides written as `field=Constant` pairs separated by commas, e.g.
    /// `rates.exp=ExpRate,server_status=Online`. Unmentioned fields keep their defaults.
    pub fn with_overrides(spec: &str) -> Result<Mapping, MappingError> {
        let mut mapping = Mapping::default();
        for pair in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (field, name) = pair
                .split_once('=')
                .ok_or_else(|| MappingError::NotAPair(pair.to_owned()))?;
            let field =
                Field::from_path(field.trim()).ok_or_else(|| MappingError::UnknownField {
                    field: field.trim().to_owned(),
                    known: Field::ALL.map(Field::path).join(", "),
                })?;
            let name = name.trim();
            if name.is_empty() {
                return Err(MappingError::EmptyName(field));
            }
            mapping.names[field.index()] = name.to_owned();
        }
        for (i, a) in Field::ALL.into_iter().enumerate() {
            for b in Field::ALL.into_iter().skip(i + 1) {
                if mapping.constant(a) == mapping.constant(b) {
                    return Err(MappingError::Duplicate {
                        name: mapping.constant(a).to_owned(),
                        first: a,
                        second: b,
                    });
                }
            }
        }
        Ok(mapping)
    }
}

impl fmt::Display for Mapping {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, field) in Field::ALL.into_iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{}={}", field.path(), self.constant(field))?;
        }
        Ok(())
    }
}

/// Which constants' descriptions go into `_meta`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum MetaPolicy {
    /// Every row (what the website receives today).
    #[default]
    All,
    /// Only the constants named by the [`Mapping`].
    Mapped,
    /// Only these constant names.
    AllowList(BTreeSet<String>),
}

impl MetaPolicy {
    pub fn includes(&self, constant: &str, mapping: &Mapping) -> bool {
        match self {
            MetaPolicy::All => true,
            MetaPolicy::Mapped => mapping.field_for(constant).is_some(),
            MetaPolicy::AllowList(names) => names.contains(constant),
        }
    }
}

/// `all`, `mapped`, or a comma-separated allow-list of constant names.
impl FromStr for MetaPolicy {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "all" => Ok(MetaPolicy::All),
            "mapped" => Ok(MetaPolicy::Mapped),
            list => {
                let names: BTreeSet<String> = list
                    .split(',')
                    .map(str::trim)
                    .filter(|n| !n.is_empty())
                    .map(str::to_owned)
                    .collect();
                if names.is_empty() {
                    Err(
                        "expected `all`, `mapped` or a comma-separated list of constant names"
                            .into(),
                    )
                } else {
                    Ok(MetaPolicy::AllowList(names))
                }
            }
        }
    }
}

impl fmt::Display for MetaPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MetaPolicy::All => f.write_str("all"),
            MetaPolicy::Mapped => f.write_str("mapped"),
            MetaPolicy::AllowList(names) => {
                let names: Vec<&str> = names.iter().map(String::as_str).collect();
                f.write_str(&names.join(","))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_original_names() {
        let m = Mapping::default();
        assert_eq!(m.constant(Field::ServerStatus), "ServerStatus");
        assert_eq!(m.constant(Field::ClientStatus), "CLIENT_STATUS");
        assert_eq!(m.field_for("RateColorMob"), Some(Field::RateColorMob));
        assert_eq!(m.field_for("rateexp"), None);
    }

    #[test]
    fn overrides_replace_only_named_fields() {
        let m = Mapping::with_overrides(" rates.exp = ExpRate , server_status=Online").unwrap();
        assert_eq!(m.constant(Field::RateExp), "ExpRate");
        assert_eq!(m.constant(Field::ServerStatus), "Online");
        assert_eq!(m.constant(Field::RatePvp), "RatePvp");
        assert_eq!(Mapping::with_overrides("").unwrap(), Mapping::default());
        let round = Mapping::with_overrides(&m.to_string()).unwrap();
        assert_eq!(round, m);
    }

    #[test]
    fn bad_overrides_say_what_is_wrong() {
        assert!(matches!(
            Mapping::with_overrides("rates.exp"),
            Err(MappingError::NotAPair(_))
        ));
        let err = Mapping::with_overrides("rates.speed=X").unwrap_err();
        assert!(err.to_string().contains("rates.exp"), "{err}");
        assert!(matches!(
            Mapping::with_overrides("rates.exp="),
            Err(MappingError::EmptyName(Field::RateExp))
        ));
        assert!(matches!(
            Mapping::with_overrides("rates.exp=RatePvp"),
            Err(MappingError::Duplicate { .. })
        ));
    }

    #[test]
    fn meta_policy_parses() {
        let m = Mapping::default();
        assert_eq!("all".parse::<MetaPolicy>().unwrap(), MetaPolicy::All);
        let mapped: MetaPolicy = "mapped".parse().unwrap();
        assert!(mapped.includes("RateExp", &m));
        assert!(!mapped.includes("AdminPassword", &m));
        let list: MetaPolicy = "A, B".parse().unwrap();
        assert!(list.includes("B", &m) && !list.includes("RateExp", &m));
        assert_eq!(list.to_string(), "A,B");
        assert!(" , ".parse::<MetaPolicy>().is_err());
    }
}
