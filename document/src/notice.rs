//! The document's `state`, `message` and `maintenance_until`: what the operator configures
//! and how the rows become them.
//!
//! The state comes from the `ServerStatus` number through [`StateMapping`]. The message and
//! the end of maintenance come from constants the operator names (none by default), so a
//! game can publish "back at 18:00" from the same `constants` table it already edits.

use crate::row::{ConstantRow, MAX_MESSAGE_CHARS, MAX_PLAYERS, MaxPlayersError, RowWarning};
use crate::state::StateMapping;
use crate::value::RowValue;

/// How the refresher derives `state`, `message` and `maintenance_until`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StateSettings {
    /// `STATUS_STATES`: `ServerStatus` value → state.
    pub states: StateMapping,
    /// `STATUS_MESSAGE_CONSTANT`: the constant whose `Value` is published as `message`.
    pub message_constant: Option<String>,
    /// `STATUS_MAINTENANCE_UNTIL_CONSTANT`: the constant whose `Value` (unix seconds) is
    /// published as `maintenance_until`.
    pub maintenance_until_constant: Option<String>,
    /// `STATUS_MAX_PLAYERS_CONSTANT`: the constant whose `Value` is published as
    /// `max_players`.
    pub max_players_constant: Option<String>,
}

/// The optional fields found so far in one build.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Notice {
    pub message: Option<String>,
    pub maintenance_until: Option<f64>,
    pub max_players: Option<u64>,
}

impl Notice {
    /// Takes the message / end of maintenance from `row` if it is one of the configured
    /// constants. Called once per name (the first row of a duplicated name wins, as it does
    /// for every field).
    pub fn observe(
        &mut self,
        row: &ConstantRow,
        settings: &StateSettings,
        warnings: &mut Vec<RowWarning>,
    ) {
        if settings.message_constant.as_deref() == Some(row.name.as_str()) {
            self.message = message_text(row, warnings);
        }
        if settings.maintenance_until_constant.as_deref() == Some(row.name.as_str()) {
            self.maintenance_until = match row.value.to_number() {
                // 0 (or less) is how a table says "no maintenance planned".
                Ok(t) if t > 0.0 => Some(t),
                Ok(_) => None,
                Err(reason) => {
                    warnings.push(RowWarning::UnusableMaintenanceUntil {
                        name: row.name.clone(),
                        reason,
                    });
                    None
                }
            };
        }
        if settings.max_players_constant.as_deref() == Some(row.name.as_str()) {
            self.max_players = match max_players(&row.value) {
                Ok(n) => Some(n),
                Err(reason) => {
                    warnings.push(RowWarning::UnusableMaxPlayers {
                        name: row.name.clone(),
                        reason,
                    });
                    None
                }
            };
        }
    }
}

/// A player limit: a whole, non-negative number within [`MAX_PLAYERS`].
fn max_players(value: &RowValue) -> Result<u64, MaxPlayersError> {
    let n = value.to_number()?;
    if n >= 0.0 && n.fract() == 0.0 && n <= MAX_PLAYERS as f64 {
        Ok(n as u64)
    } else {
        Err(MaxPlayersError::OutOfRange(n))
    }
}

/// The cell as trimmed text, bounded to [`MAX_MESSAGE_CHARS`]; NULL and blank are no message.
fn message_text(row: &ConstantRow, warnings: &mut Vec<RowWarning>) -> Option<String> {
    let text = match &row.value {
        RowValue::Null => return None,
        RowValue::Int(i) => i.to_string(),
        RowValue::UInt(u) => u.to_string(),
        RowValue::Float(f) => f.to_string(),
        RowValue::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
    };
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    match text.char_indices().nth(MAX_MESSAGE_CHARS) {
        None => Some(text.to_owned()),
        Some((cut, _)) => {
            warnings.push(RowWarning::LongMessage {
                name: row.name.clone(),
                chars: text.chars().count(),
            });
            Some(text[..cut].to_owned())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> StateSettings {
        StateSettings {
            message_constant: Some("MaintenanceMessage".into()),
            maintenance_until_constant: Some("MaintenanceUntil".into()),
            max_players_constant: Some("MaxOnline".into()),
            ..StateSettings::default()
        }
    }

    fn observe(rows: &[(&str, RowValue)]) -> (Notice, Vec<RowWarning>) {
        let mut notice = Notice::default();
        let mut warnings = Vec::new();
        for (name, value) in rows {
            let row = ConstantRow {
                name: (*name).into(),
                value: value.clone(),
                description: None,
            };
            notice.observe(&row, &settings(), &mut warnings);
        }
        (notice, warnings)
    }

    #[test]
    fn configured_constants_feed_the_notice() {
        let (n, w) = observe(&[
            (
                "MaintenanceMessage",
                RowValue::Bytes(" Обновление до 18:00 ".as_bytes().to_vec()),
            ),
            ("MaintenanceUntil", RowValue::Bytes(b"1764170000".to_vec())),
            ("Other", RowValue::Int(5)),
        ]);
        assert_eq!(n.message.as_deref(), Some("Обновление до 18:00"));
        assert_eq!(n.maintenance_until, Some(1_764_170_000.0));
        assert!(w.is_empty());
    }

    #[test]
    fn blank_null_zero_and_bad_values() {
        let (n, w) = observe(&[
            ("MaintenanceMessage", RowValue::Bytes(b"   ".to_vec())),
            ("MaintenanceUntil", RowValue::Int(0)),
        ]);
        assert_eq!(n, Notice::default());
        assert!(w.is_empty());
        let (n, w) = observe(&[
            ("MaintenanceMessage", RowValue::Null),
            ("MaintenanceUntil", RowValue::Bytes(b"tomorrow".to_vec())),
        ]);
        assert_eq!(n, Notice::default());
        assert!(
            matches!(&w[..], [RowWarning::UnusableMaintenanceUntil { name, .. }] if name == "MaintenanceUntil")
        );
        let (n, _) = observe(&[("MaintenanceMessage", RowValue::Int(42))]);
        assert_eq!(n.message.as_deref(), Some("42"));
    }

    #[test]
    fn max_players_is_a_whole_non_negative_number() {
        for (value, want) in [
            (RowValue::Int(1000), Some(1000)),
            (RowValue::Bytes(b" 150 ".to_vec()), Some(150)),
            (RowValue::Float(0.0), Some(0)),
        ] {
            let (n, w) = observe(&[("MaxOnline", value)]);
            assert_eq!((n.max_players, w.len()), (want, 0));
        }
        for value in [
            RowValue::Int(-1),
            RowValue::Float(1.5),
            RowValue::Null,
            RowValue::Bytes(b"many".to_vec()),
            RowValue::Float(1e300),
        ] {
            let (n, w) = observe(&[("MaxOnline", value.clone())]);
            assert_eq!(n.max_players, None, "{value:?}");
            assert!(
                matches!(&w[..], [RowWarning::UnusableMaxPlayers { name, .. }] if name == "MaxOnline"),
                "{value:?}: {w:?}"
            );
        }
    }

    #[test]
    fn long_message_is_cut_on_a_character() {
        let long = "я".repeat(MAX_MESSAGE_CHARS * 3);
        let (n, w) = observe(&[("MaintenanceMessage", RowValue::Bytes(long.into_bytes()))]);
        assert_eq!(n.message.unwrap().chars().count(), MAX_MESSAGE_CHARS);
        assert!(
            matches!(w[..], [RowWarning::LongMessage { chars, .. }] if chars == MAX_MESSAGE_CHARS * 3)
        );
    }

    #[test]
    fn nothing_configured_nothing_published() {
        let mut notice = Notice::default();
        let mut warnings = Vec::new();
        let row = ConstantRow {
            name: "MaintenanceMessage".into(),
            value: RowValue::Bytes(b"x".to_vec()),
            description: None,
        };
        notice.observe(&row, &StateSettings::default(), &mut warnings);
        assert_eq!(notice, Notice::default());
    }
}
