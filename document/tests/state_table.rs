//! Odd `ServerStatus` cells → the state the mapping says, with the defaulted constants listed.
//!
//! The same table runs against real MariaDB cells in `tests/tests/state.rs`; here every cell
//! is given in each form the driver can deliver it.

use status_document::{
    BuildOptions, ConstantRow, RowValue, RowWarning, State, StateMapping, StateSettings, build,
};

fn rows(status: Option<RowValue>) -> Vec<ConstantRow> {
    let mut rows = vec![ConstantRow {
        name: "RateExp".into(),
        value: RowValue::Int(2),
        description: Some("Рейт опыта".into()),
    }];
    if let Some(value) = status {
        rows.push(ConstantRow {
            name: "ServerStatus".into(),
            value,
            description: None,
        });
    }
    rows
}

fn options(states: &str) -> BuildOptions {
    BuildOptions {
        state: StateSettings {
            states: states.parse().unwrap(),
            ..StateSettings::default()
        },
        ..BuildOptions::default()
    }
}

fn state_of(status: Option<RowValue>, states: &str) -> (State, bool, Vec<RowWarning>) {
    let built = build(&rows(status), &options(states), 0.0).unwrap();
    let defaulted = built.document.defaulted.iter().any(|n| n == "ServerStatus");
    (built.document.state, defaulted, built.warnings)
}

fn text(s: &str) -> Option<RowValue> {
    Some(RowValue::Bytes(s.as_bytes().to_vec()))
}

#[test]
fn missing_null_and_non_numbers_are_unknown_and_defaulted() {
    for (what, cell) in [
        ("missing", None),
        ("NULL", Some(RowValue::Null)),
        ("text", text("включен")),
        ("online as a word", text("online")),
        ("empty", text("")),
        ("inf", text("inf")),
        ("NaN", Some(RowValue::Float(f64::NAN))),
        ("invalid UTF-8", Some(RowValue::Bytes(vec![0xff, b'1']))),
    ] {
        let (state, defaulted, _) = state_of(cell, "1:online,0:offline");
        assert_eq!(state, State::Unknown, "{what}");
        assert!(defaulted, "{what}: ServerStatus is listed in `defaulted`");
    }
    // The legacy field keeps its old default, so today's website code is unchanged...
    let built = build(&rows(None), &BuildOptions::default(), 0.0).unwrap();
    assert_eq!(built.document.server_status, Some(1.0));
    // ...but the typed state never claims online for it.
    assert_eq!(built.document.state, State::Unknown);
}

/// Every spelling of a number the refresher accepts is that number; a number the mapping
/// does not name is `unknown`, with a warning, and is not "defaulted" (it was read).
#[test]
fn numbers_give_the_state_the_mapping_names() {
    use State::{Offline, Online, Unknown};
    let cases = [
        (Some(RowValue::Int(1)), Online),
        (Some(RowValue::UInt(1)), Online),
        (Some(RowValue::Float(1.0)), Online),
        (text("1"), Online),
        (text(" 1 "), Online),
        (text("1.0"), Online),
        (text("1.00"), Online), // DECIMAL(5,2) over the text protocol
        (text("01"), Online),
        (text("+1"), Online),
        (text("1e0"), Online),
        (text("10E-1"), Online),
        (text("1."), Online),
        (Some(RowValue::Int(0)), Offline),
        (text("0"), Offline),
        (text("0.0"), Offline),
        (text("-0"), Offline),
        (text("0e5"), Offline),
        (Some(RowValue::Int(2)), Unknown),
        (text("2"), Unknown),
        (text("-1"), Unknown),
        (text("0.5"), Unknown),
        (text("1.0000001"), Unknown),
    ];
    for (cell, expected) in cases {
        let (state, defaulted, warnings) = state_of(cell.clone(), "1:online,0:offline");
        assert_eq!(state, expected, "{cell:?}");
        assert!(!defaulted, "{cell:?}: the value was read");
        if expected == Unknown {
            assert!(
                matches!(&warnings[..], [RowWarning::UnmappedStatus { name, .. }] if name == "ServerStatus"),
                "{cell:?}: {warnings:?}"
            );
        } else {
            assert!(warnings.is_empty(), "{cell:?}: {warnings:?}");
        }
    }
}

#[test]
fn the_operator_mapping_decides() {
    let states = "1:online,0:offline,2:maintenance,3:unknown";
    assert_eq!(state_of(text("2"), states).0, State::Maintenance);
    assert_eq!(state_of(text("2.0"), states).0, State::Maintenance);
    let (state, _, warnings) = state_of(text("3"), states);
    assert_eq!(state, State::Unknown);
    assert!(warnings.is_empty(), "3 is named (as unknown): no warning");
    // A game whose column says 5 for "up".
    assert_eq!(state_of(text("5"), "5:online").0, State::Online);
    assert_eq!(state_of(text("1"), "5:online").0, State::Unknown);
    // An empty mapping vouches for nothing.
    assert_eq!(state_of(text("1"), "").0, State::Unknown);
    assert_eq!(StateMapping::default().to_string(), "1:online,0:offline");
}

#[test]
fn message_and_maintenance_until_from_named_constants() {
    let mut rows = rows(text("2"));
    for (name, value) in [
        ("MOTD", "Профилактика до 18:00"),
        ("MaintenanceEnds", "1764170000"),
    ] {
        rows.push(ConstantRow {
            name: name.into(),
            value: RowValue::Bytes(value.as_bytes().to_vec()),
            description: Some("…".into()),
        });
    }
    let options = BuildOptions {
        state: StateSettings {
            states: "1:online,0:offline,2:maintenance".parse().unwrap(),
            message_constant: Some("MOTD".into()),
            maintenance_until_constant: Some("MaintenanceEnds".into()),
            max_players_constant: None,
        },
        ..BuildOptions::default()
    };
    let built = build(&rows, &options, 0.0).unwrap();
    let d = &built.document;
    assert_eq!(d.state, State::Maintenance);
    assert_eq!(d.message.as_deref(), Some("Профилактика до 18:00"));
    assert_eq!(d.maintenance_until, Some(1_764_170_000.0));
    let json: serde_json::Value = serde_json::from_slice(&built.json).unwrap();
    assert_eq!(json["state"], "maintenance");
    assert_eq!(json["message"], "Профилактика до 18:00");
    assert_eq!(json["maintenance_until"], 1_764_170_000.0);

    // Unconfigured: the optional fields are absent from the JSON, not null.
    let built = build(&rows, &BuildOptions::default(), 0.0).unwrap();
    let json: serde_json::Value = serde_json::from_slice(&built.json).unwrap();
    assert!(json.get("message").is_none() && json.get("maintenance_until").is_none());
    assert_eq!(json["state"], "unknown", "2 is not in the default mapping");
}
