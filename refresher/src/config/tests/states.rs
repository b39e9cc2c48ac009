//! `STATUS_STATES` and the message and maintenance-until constants.

use super::*;

#[test]
fn state_settings_default_and_configured() {
    let c = config(&PARTS).unwrap();
    assert_eq!(c.document.state, StateSettings::default());
    assert_eq!(c.document.state.states.to_string(), "1:online,0:offline");
    let c = config_with_parts(&[
        "--status-states",
        " 1:online, 0:offline ,2:maintenance",
        "--status-message-constant",
        " MaintenanceMessage ",
        "--status-maintenance-until-constant",
        "MaintenanceUntil",
    ])
    .unwrap();
    assert_eq!(
        c.document.state.states.to_string(),
        "1:online,0:offline,2:maintenance"
    );
    assert_eq!(
        c.document.state.message_constant.as_deref(),
        Some("MaintenanceMessage")
    );
    assert_eq!(
        c.document.state.maintenance_until_constant.as_deref(),
        Some("MaintenanceUntil")
    );
    // An empty mapping is allowed: every value is then `unknown`, never `online`.
    let c = config_with_parts(&["--status-states", ""]).unwrap();
    assert_eq!(
        c.document.state.states.state_for(Some(1.0)),
        status_document::State::Unknown
    );
}

#[test]
fn state_errors_quote_the_value_and_say_why() {
    let text = config_with_parts(&["--status-states", "1:online,2:up"])
        .unwrap_err()
        .to_string();
    assert!(
        text.starts_with("invalid STATUS_STATES (--status-states): "),
        "{text}"
    );
    assert!(
        text.contains("\"up\"") && text.contains("maintenance"),
        "{text}"
    );
    assert!(text.contains("\"1:online,2:up\""), "{text}");
    let text = config_with_parts(&["--status-message-constant", LONG_NAME])
        .unwrap_err()
        .to_string();
    assert!(text.contains("at most 64 characters"), "{text}");
}
