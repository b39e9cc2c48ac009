//! Building a status document from the rows of `SELECT Name, Value, Description FROM constants`.
//!
//! A bad row never fails the build: it is skipped or trimmed, and a [`RowWarning`] says so,
//! so the caller can log it. Only a result that would be worse than the previous document
//! fails: no rows at all, or a document larger than [`MAX_DOCUMENT_BYTES`].

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;

use crate::mapping::{Field, Mapping, MetaPolicy};
use crate::notice::{Notice, StateSettings};
use crate::row::{ConstantRow, MAX_DESCRIPTION_CHARS, RowWarning};
use crate::schema::{MAX_DOCUMENT_BYTES, Rates, SCHEMA_VERSION, StatusDocument};

#[derive(Debug, Clone)]
pub struct BuildOptions {
    pub mapping: Mapping,
    pub meta: MetaPolicy,
    pub refresh_interval_s: u64,
    pub ttl_s: u64,
    /// `state`, `message`, `maintenance_until` and `max_players`.
    pub state: StateSettings,
}

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions {
            mapping: Mapping::default(),
            meta: MetaPolicy::All,
            refresh_interval_s: 600,
            ttl_s: 900,
            state: StateSettings::default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BuildError {
    #[error("the constants table has no rows; refusing to publish a document of defaults")]
    NoRows,
    #[error(
        "the document would be {size} bytes, over the {MAX_DOCUMENT_BYTES}-byte bound \
         ({rows} rows); publish fewer descriptions (STATUS_META=mapped or an allow-list)"
    )]
    TooLarge { size: usize, rows: usize },
}

/// A built document, its JSON, and what was wrong with the rows.
#[derive(Debug, Clone)]
pub struct Built {
    pub document: StatusDocument,
    /// The exact bytes to store; already checked against [`MAX_DOCUMENT_BYTES`].
    pub json: Vec<u8>,
    pub warnings: Vec<RowWarning>,
}

/// The document of a refresher without a constants source (no database configured): no
/// `server_status`, `rates` or `client_status`, nothing defaulted, no descriptions, and the
/// state `unknown` until the game server's word ([`StatusDocument::apply_live`]) says more.
/// Absent rather than zeros: a website shows "no rates" honestly, and a 0 would be a claim.
pub fn without_constants(options: &BuildOptions, updated_at: f64) -> Built {
    let document = StatusDocument {
        schema_version: SCHEMA_VERSION,
        server_status: None,
        state: crate::state::State::Unknown,
        state_reason: None,
        game_server: None,
        server: None,
        players: None,
        max_players: None,
        bots: None,
        players_at: None,
        message: None,
        maintenance_until: None,
        rates: None,
        client_status: None,
        updated_at,
        refresh_interval_s: options.refresh_interval_s,
        ttl_s: options.ttl_s,
        defaulted: Vec::new(),
        meta: BTreeMap::new(),
    };
    let json = document.to_json();
    Built {
        document,
        json,
        warnings: Vec::new(),
    }
}

/// Builds the document from `rows`, read at unix time `updated_at`.
pub fn build(
    rows: &[ConstantRow],
    options: &BuildOptions,
    updated_at: f64,
) -> Result<Built, BuildError> {
    if rows.is_empty() {
        return Err(BuildError::NoRows);
    }
    let Read {
        values,
        meta,
        notice,
        mut warnings,
    } = read_rows(rows, options);

    let mut defaulted = Vec::new();
    let value = |field: Field, defaulted: &mut Vec<String>| match values[field as usize] {
        Some(n) => n,
        None => {
            defaulted.push(options.mapping.constant(field).to_owned());
            field.default_value()
        }
    };
    // The state is judged from the value actually read, not from the default that stands
    // in for a missing one: a missing ServerStatus is `unknown`, never `online`.
    let status_read = values[Field::ServerStatus as usize];
    let state = options.state.states.state_for(status_read);
    if let Some(value) = status_read.filter(|v| options.state.states.lookup(*v).is_none()) {
        warnings.push(RowWarning::UnmappedStatus {
            name: options.mapping.constant(Field::ServerStatus).to_owned(),
            value,
            states: options.state.states.to_string(),
        });
    }
    let document = StatusDocument {
        schema_version: SCHEMA_VERSION,
        server_status: Some(value(Field::ServerStatus, &mut defaulted)),
        state,
        state_reason: None,
        game_server: None,
        server: None,
        players: None,
        max_players: notice.max_players,
        bots: None,
        players_at: None,
        message: notice.message,
        maintenance_until: notice.maintenance_until,
        rates: Some(Rates {
            exp: value(Field::RateExp, &mut defaulted),
            pvp: value(Field::RatePvp, &mut defaulted),
            pve: value(Field::RatePve, &mut defaulted),
            color_mob: value(Field::RateColorMob, &mut defaulted),
            skill: value(Field::RateSkill, &mut defaulted),
        }),
        client_status: Some(value(Field::ClientStatus, &mut defaulted)),
        updated_at,
        refresh_interval_s: options.refresh_interval_s,
        ttl_s: options.ttl_s,
        defaulted,
        meta: meta
            .into_iter()
            .filter_map(|(k, v)| Some((k, v?)))
            .collect(),
    };
    let json = document.to_json();
    if json.len() > MAX_DOCUMENT_BYTES {
        return Err(BuildError::TooLarge {
            size: json.len(),
            rows: rows.len(),
        });
    }
    Ok(Built {
        document,
        json,
        warnings,
    })
}

/// What the rows say before any default stands in: the mapped fields' values, each
/// name's description when `_meta` keeps it (`None`: seen, not kept), the notice, and what
/// deserves a warning.
struct Read {
    values: [Option<f64>; 7],
    meta: BTreeMap<String, Option<String>>,
    notice: Notice,
    warnings: Vec<RowWarning>,
}

/// One pass over the rows; a name's first row is the one that counts.
fn read_rows(rows: &[ConstantRow], options: &BuildOptions) -> Read {
    let mut warnings = Vec::new();
    let mut values: [Option<f64>; 7] = [None; 7];
    let mut meta = BTreeMap::new();
    let mut notice = Notice::default();

    for row in rows {
        if row.name.is_empty() {
            warnings.push(RowWarning::EmptyName);
            continue;
        }
        // Without a primary key a table can hold the same name twice: the first row wins,
        // as it did in the original API's linear search.
        let first = match meta.entry(row.name.clone()) {
            Entry::Occupied(_) => {
                warnings.push(RowWarning::DuplicateName {
                    name: row.name.clone(),
                });
                false
            }
            Entry::Vacant(slot) => {
                if options.meta.includes(&row.name, &options.mapping) {
                    slot.insert(Some(bounded_description(row, &mut warnings)));
                } else {
                    slot.insert(None);
                }
                true
            }
        };
        if !first {
            continue;
        }
        notice.observe(row, &options.state, &mut warnings);
        if let Some(field) = options.mapping.field_for(&row.name) {
            match row.value.to_number() {
                Ok(n) => values[field as usize] = Some(n),
                Err(reason) => warnings.push(RowWarning::UnusableValue {
                    name: row.name.clone(),
                    field,
                    default: field.default_value(),
                    reason,
                }),
            }
        }
    }

    Read {
        values,
        meta,
        notice,
        warnings,
    }
}

fn bounded_description(row: &ConstantRow, warnings: &mut Vec<RowWarning>) -> String {
    let text = row.description.as_deref().unwrap_or("");
    match text.char_indices().nth(MAX_DESCRIPTION_CHARS) {
        None => text.to_owned(),
        Some((cut, _)) => {
            warnings.push(RowWarning::LongDescription {
                name: row.name.clone(),
                chars: text.chars().count(),
            });
            text[..cut].to_owned()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::RowValue;

    fn row(name: &str, value: RowValue, description: &str) -> ConstantRow {
        ConstantRow {
            name: name.into(),
            value,
            description: Some(description.into()),
        }
    }

    fn full_table() -> Vec<ConstantRow> {
        vec![
            row("ServerStatus", RowValue::Float(1.0), "Статус сервера"),
            row("RateExp", RowValue::Bytes(b"2.5".to_vec()), "Рейт опыта"),
            row("RatePvp", RowValue::Int(3), "PvP"),
            row("RatePve", RowValue::UInt(4), "PvE"),
            row(
                "RateColorMob",
                RowValue::Bytes(b"1.75".to_vec()),
                "Цветные мобы 🐉",
            ),
            row("RateSkill", RowValue::Float(0.5), "Skill"),
            row("CLIENT_STATUS", RowValue::Int(512), "Client"),
            row("MaxPlayers", RowValue::Int(1000), "Лимит"),
        ]
    }

    #[test]
    fn maps_every_field() {
        let built = build(&full_table(), &BuildOptions::default(), 1234.5).unwrap();
        let d = &built.document;
        assert_eq!(d.schema_version, 1);
        assert_eq!(d.server_status, Some(1.0));
        assert_eq!(
            d.rates,
            Some(Rates {
                exp: 2.5,
                pvp: 3.0,
                pve: 4.0,
                color_mob: 1.75,
                skill: 0.5
            })
        );
        assert_eq!(d.client_status, Some(512.0));
        assert_eq!(d.updated_at, 1234.5);
        assert_eq!((d.refresh_interval_s, d.ttl_s), (600, 900));
        assert!(d.defaulted.is_empty());
        assert_eq!(d.meta.len(), 8);
        assert_eq!(d.meta["RateColorMob"], "Цветные мобы 🐉");
        assert!(built.warnings.is_empty());
        let back: StatusDocument = serde_json::from_slice(&built.json).unwrap();
        assert_eq!(&back, d);
        assert!(
            std::str::from_utf8(&built.json)
                .unwrap()
                .contains("Рейт опыта"),
            "no \\u escapes"
        );
    }

    #[test]
    fn absent_and_unusable_values_default_and_are_listed() {
        let rows = vec![
            row(
                "ServerStatus",
                RowValue::Bytes("включен".as_bytes().to_vec()),
                "",
            ),
            row("RateExp", RowValue::Null, ""),
            row("Other", RowValue::Int(1), ""),
        ];
        let built = build(&rows, &BuildOptions::default(), 0.0).unwrap();
        let d = &built.document;
        assert_eq!(d.server_status, Some(1.0));
        assert_eq!(d.client_status, Some(256.0));
        assert_eq!(
            d.defaulted,
            [
                "ServerStatus",
                "RateExp",
                "RatePvp",
                "RatePve",
                "RateColorMob",
                "RateSkill",
                "CLIENT_STATUS"
            ]
        );
        assert_eq!(built.warnings.len(), 2);
        let text = built.warnings[0].to_string();
        assert!(
            text.contains("ServerStatus") && text.contains("включен"),
            "{text}"
        );
    }

    #[test]
    fn empty_table_is_an_error() {
        assert_eq!(
            build(&[], &BuildOptions::default(), 0.0).unwrap_err(),
            BuildError::NoRows
        );
    }

    #[test]
    fn meta_policy_limits_descriptions() {
        let mut options = BuildOptions {
            meta: MetaPolicy::Mapped,
            ..Default::default()
        };
        let d = build(&full_table(), &options, 0.0).unwrap().document;
        assert!(!d.meta.contains_key("MaxPlayers"));
        assert_eq!(d.meta.len(), 7);
        options.meta = "MaxPlayers".parse().unwrap();
        let d = build(&full_table(), &options, 0.0).unwrap().document;
        assert_eq!(d.meta.keys().collect::<Vec<_>>(), ["MaxPlayers"]);
        assert_eq!(
            d.rates.unwrap().exp,
            2.5,
            "values do not depend on the meta policy"
        );
    }

    #[test]
    fn custom_mapping() {
        let options = BuildOptions {
            mapping: Mapping::with_overrides("rates.exp=MaxPlayers").unwrap(),
            ..Default::default()
        };
        let d = build(&full_table(), &options, 0.0).unwrap().document;
        assert_eq!(d.rates.unwrap().exp, 1000.0);
    }

    #[test]
    fn duplicates_first_wins_and_case_differs() {
        let rows = vec![
            row("RateExp", RowValue::Int(2), "first"),
            row("RateExp", RowValue::Int(9), "second"),
            row("rateexp", RowValue::Int(7), "lower"),
            row("", RowValue::Int(7), "nameless"),
        ];
        let built = build(&rows, &BuildOptions::default(), 0.0).unwrap();
        assert_eq!(built.document.rates.unwrap().exp, 2.0);
        assert_eq!(built.document.meta["RateExp"], "first");
        assert_eq!(built.document.meta["rateexp"], "lower");
        assert_eq!(built.warnings.len(), 2);
    }

    #[test]
    fn hostile_descriptions_are_bounded() {
        let huge = "я".repeat(1 << 20);
        let rows = vec![
            row("Big", RowValue::Int(1), &huge),
            row("Ctl", RowValue::Int(1), "a\u{0}\u{1b}[31m\"\\"),
        ];
        let built = build(&rows, &BuildOptions::default(), 0.0).unwrap();
        assert_eq!(
            built.document.meta["Big"].chars().count(),
            MAX_DESCRIPTION_CHARS
        );
        assert!(
            matches!(built.warnings[0], RowWarning::LongDescription { chars, .. } if chars == 1 << 20)
        );
        let back: StatusDocument = serde_json::from_slice(&built.json).unwrap();
        assert_eq!(back.meta["Ctl"], "a\u{0}\u{1b}[31m\"\\");
    }

    #[test]
    fn too_many_rows_is_refused_not_truncated() {
        let rows: Vec<_> = (0..100_000)
            .map(|i| row(&format!("Constant{i}"), RowValue::Int(i), "описание"))
            .collect();
        let err = build(&rows, &BuildOptions::default(), 0.0).unwrap_err();
        assert!(
            matches!(err, BuildError::TooLarge { rows: 100_000, .. }),
            "{err}"
        );
        let options = BuildOptions {
            meta: MetaPolicy::Mapped,
            ..Default::default()
        };
        let built = build(&rows, &options, 0.0).unwrap();
        assert!(built.json.len() < MAX_DOCUMENT_BYTES);
    }

    #[test]
    fn without_constants_the_constants_are_absent_not_zero() {
        let built = without_constants(&BuildOptions::default(), 1000.0);
        let json: serde_json::Value = serde_json::from_slice(&built.json).unwrap();
        for absent in [
            "server_status",
            "rates",
            "client_status",
            "max_players",
            "message",
        ] {
            assert!(json.get(absent).is_none(), "{absent}: {json}");
        }
        assert_eq!(json["state"], "unknown");
        assert_eq!(
            (json["defaulted"].clone(), json["_meta"].clone()),
            (serde_json::json!([]), serde_json::json!({}))
        );
        let view = crate::DocumentView::parse(&built.json).expect("the reader takes it");
        assert_eq!((view.rates, view.server_status), (None, None));
    }
}
