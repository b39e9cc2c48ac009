//! The server's state as a word the website cannot misread, and how a `ServerStatus` number
//! becomes one.
//!
//! `server_status: 1.0` leaves every client to guess what `1.0` means, and `1.0` is also the
//! default written when the constant is missing. [`State`] is the answer spelled out, and
//! [`StateMapping`] is the operator's table from numbers to states (`STATUS_STATES`). What is
//! not in the table — and a missing or unusable `ServerStatus` — is [`State::Unknown`], never
//! `online`.

use std::fmt;
use std::str::FromStr;

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};

use crate::value::parse_number;

/// What the server is doing, as published in the document's `state` and the reader's
/// `_cache.state`. Serialised lowercase (`"online"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Online,
    Offline,
    Maintenance,
    /// Nobody can vouch for the state: the constant is missing or unmapped, or the document
    /// is too old (see [`vouched_state`](crate::freshness::vouched_state)). The default, so a
    /// document written before `state` existed reads as `unknown`, not as `online`.
    #[default]
    Unknown,
}

impl State {
    pub const ALL: [State; 4] = [
        State::Online,
        State::Offline,
        State::Maintenance,
        State::Unknown,
    ];

    /// The JSON / plain-text spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Online => "online",
            State::Offline => "offline",
            State::Maintenance => "maintenance",
            State::Unknown => "unknown",
        }
    }
}

/// The four words, for error messages.
const WORDS: &[&str] = &["online", "offline", "maintenance", "unknown"];

/// From a string only. Hand-written rather than derived because serde_json reports a
/// non-string where an enum is expected as a *syntax* error, and the reader would then call
/// a well-formed document with `"state": 1` "not JSON" instead of "not a status document".
impl<'de> Deserialize<'de> for State {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<State, D::Error> {
        let word = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        State::ALL
            .into_iter()
            .find(|state| state.as_str() == word)
            .ok_or_else(|| de::Error::unknown_variant(&word, WORDS))
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The word is not one of the four states.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown state {0:?}; expected online, offline, maintenance or unknown")]
pub struct UnknownState(pub String);

impl FromStr for State {
    type Err = UnknownState;

    /// Exact lowercase words, as serialised (`Online` is refused: one spelling everywhere).
    fn from_str(s: &str) -> Result<State, UnknownState> {
        State::ALL
            .into_iter()
            .find(|state| state.as_str() == s.trim())
            .ok_or_else(|| UnknownState(s.trim().to_owned()))
    }
}

/// Most entries a [`StateMapping`] may hold: a status constant has a handful of meaningful
/// values, and the lookup is linear.
pub const MAX_STATE_ENTRIES: usize = 32;

/// `ServerStatus` value → [`State`], e.g. `1:online,0:offline,2:maintenance`.
///
/// Keys are numbers written the way the refresher reads `Value` cells (`1`, `1.0`, `1e0`
/// are the same key), and a cell matches a key when the numbers are equal — so `"1"`,
/// `1.00` (DECIMAL) and `1` (INT) are all the same status.
#[derive(Debug, Clone, PartialEq)]
pub struct StateMapping {
    entries: Vec<(f64, State)>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StateMappingError {
    #[error("expected VALUE:STATE (e.g. 1:online), got {0:?}")]
    NotAPair(String),
    #[error("{0:?} is not a number")]
    NotANumber(String),
    #[error(transparent)]
    UnknownState(#[from] UnknownState),
    #[error("value {0} is mapped twice")]
    Duplicate(String),
    #[error("more than {MAX_STATE_ENTRIES} entries")]
    TooMany,
}

impl Default for StateMapping {
    /// `1:online,0:offline`: what the original API's `ServerStatus` meant. Everything else
    /// (including maintenance, which no default value names) is `unknown`.
    fn default() -> Self {
        StateMapping {
            entries: vec![(1.0, State::Online), (0.0, State::Offline)],
        }
    }
}

impl StateMapping {
    /// The state a `ServerStatus` value stands for; `None` (missing or unusable) is
    /// `unknown`, as is any value the mapping does not name.
    pub fn state_for(&self, server_status: Option<f64>) -> State {
        server_status
            .and_then(|value| self.lookup(value))
            .unwrap_or(State::Unknown)
    }

    /// The state the mapping names for `value`, if it names one.
    pub fn lookup(&self, value: f64) -> Option<State> {
        self.entries
            .iter()
            .find(|(key, _)| *key == value)
            .map(|(_, state)| *state)
    }

    pub fn entries(&self) -> &[(f64, State)] {
        &self.entries
    }
}

/// `VALUE:STATE` pairs separated by commas; whitespace around either side is ignored. An
/// empty string is the empty mapping (every value `unknown`).
impl FromStr for StateMapping {
    type Err = StateMappingError;

    fn from_str(spec: &str) -> Result<StateMapping, StateMappingError> {
        let mut entries: Vec<(f64, State)> = Vec::new();
        for pair in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (value, state) = pair
                .split_once(':')
                .ok_or_else(|| StateMappingError::NotAPair(pair.to_owned()))?;
            let value = value.trim();
            let key = parse_number(value.as_bytes())
                .map_err(|_| StateMappingError::NotANumber(value.to_owned()))?;
            let state: State = state.parse()?;
            if entries.iter().any(|(k, _)| *k == key) {
                return Err(StateMappingError::Duplicate(value.to_owned()));
            }
            if entries.len() == MAX_STATE_ENTRIES {
                return Err(StateMappingError::TooMany);
            }
            entries.push((key, state));
        }
        Ok(StateMapping { entries })
    }
}

/// Round-trips through [`FromStr`]: `1:online,0:offline`.
impl fmt::Display for StateMapping {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (key, state)) in self.entries.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{key}:{state}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn words_and_serde_agree() {
        for state in State::ALL {
            let json = serde_json::to_string(&state).unwrap();
            assert_eq!(json, format!("\"{}\"", state.as_str()));
            assert_eq!(serde_json::from_str::<State>(&json).unwrap(), state);
            assert_eq!(state.as_str().parse::<State>().unwrap(), state);
        }
        assert!("Online".parse::<State>().is_err());
        assert!(
            serde_json::from_str::<State>("\"degraded\"")
                .unwrap_err()
                .is_data()
        );
        assert!(serde_json::from_str::<State>("1").unwrap_err().is_data());
        assert!(
            serde_json::from_str::<State>("\" online\"").is_err(),
            "exact words only"
        );
        assert_eq!(State::default(), State::Unknown);
    }

    #[test]
    fn default_mapping() {
        let m = StateMapping::default();
        assert_eq!(m.state_for(Some(1.0)), State::Online);
        assert_eq!(m.state_for(Some(0.0)), State::Offline);
        assert_eq!(m.state_for(Some(-0.0)), State::Offline);
        assert_eq!(m.state_for(Some(2.0)), State::Unknown);
        assert_eq!(m.state_for(Some(1.000_001)), State::Unknown);
        assert_eq!(m.state_for(None), State::Unknown);
        assert_eq!(m.to_string(), "1:online,0:offline");
    }

    #[test]
    fn parses_operator_mappings() {
        let m: StateMapping = " 1 : online , 0:offline,2:maintenance, 3.5:unknown,1e1:online"
            .parse()
            .unwrap();
        assert_eq!(m.state_for(Some(2.0)), State::Maintenance);
        assert_eq!(m.state_for(Some(3.5)), State::Unknown);
        assert_eq!(m.state_for(Some(10.0)), State::Online);
        assert_eq!(m.to_string().parse::<StateMapping>().unwrap(), m);
        let empty: StateMapping = "".parse().unwrap();
        assert_eq!(empty.state_for(Some(1.0)), State::Unknown);
    }

    #[test]
    fn bad_mappings_say_what_is_wrong() {
        let err = |s: &str| s.parse::<StateMapping>().unwrap_err();
        assert_eq!(err("1"), StateMappingError::NotAPair("1".into()));
        assert_eq!(err("on:online"), StateMappingError::NotANumber("on".into()));
        assert_eq!(
            err("inf:online"),
            StateMappingError::NotANumber("inf".into())
        );
        assert!(matches!(
            err("1:up"),
            StateMappingError::UnknownState(UnknownState(ref s)) if s == "up"
        ));
        assert_eq!(
            err("1:online,1.0:offline"),
            StateMappingError::Duplicate("1.0".into())
        );
        let many: Vec<String> = (0..=MAX_STATE_ENTRIES)
            .map(|i| format!("{i}:online"))
            .collect();
        assert_eq!(err(&many.join(",")), StateMappingError::TooMany);
        assert!(err("1:up").to_string().contains("maintenance"));
    }

    proptest! {
        #[test]
        fn unnamed_values_are_never_online(v in any::<f64>()) {
            let state = StateMapping::default().state_for(Some(v));
            prop_assert_eq!(state == State::Online, v == 1.0);
        }

        #[test]
        fn parsing_never_panics(spec in "[0-9a-z:., -]{0,80}") {
            let _ = spec.parse::<StateMapping>();
        }
    }
}
