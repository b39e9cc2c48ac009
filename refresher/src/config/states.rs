//! The typed-state settings: which `ServerStatus` values mean which state, and
//! which constants carry the visitors' message and the end of maintenance.

use status_document::{StateMapping, StateSettings};

use super::{Args, ConfigError, quote};

/// Longest constant name accepted: the game's `constants.Name` is `VARCHAR(64)`, so a longer
/// name can never match a row and is a typo.
pub const MAX_CONSTANT_NAME_CHARS: usize = 64;

/// `STATUS_STATES`, `STATUS_MESSAGE_CONSTANT` and `STATUS_MAINTENANCE_UNTIL_CONSTANT`.
pub(super) fn parse_state_settings(args: &Args) -> Result<StateSettings, ConfigError> {
    let states = args.status_states.parse::<StateMapping>().map_err(|e| {
        ConfigError::new(
            "STATUS_STATES",
            format!("{e} in {}", quote(&args.status_states)),
        )
    })?;
    let message_constant =
        parse_constant("STATUS_MESSAGE_CONSTANT", &args.status_message_constant)?;
    let maintenance_until_constant = parse_constant(
        "STATUS_MAINTENANCE_UNTIL_CONSTANT",
        &args.status_maintenance_until_constant,
    )?;
    if message_constant.is_some() && message_constant == maintenance_until_constant {
        // One cell cannot be both a sentence for visitors and a unix time.
        return Err(ConfigError::new(
            "STATUS_MAINTENANCE_UNTIL_CONSTANT",
            "must differ from STATUS_MESSAGE_CONSTANT",
        ));
    }
    let max_players_constant = parse_constant(
        "STATUS_MAX_PLAYERS_CONSTANT",
        &args.status_max_players_constant,
    )?;
    Ok(StateSettings {
        states,
        message_constant,
        maintenance_until_constant,
        max_players_constant,
    })
}

/// A constant's name, or `None` for empty (the field is not published).
fn parse_constant(variable: &'static str, raw: &str) -> Result<Option<String>, ConfigError> {
    let name = raw.trim();
    if name.is_empty() {
        return Ok(None);
    }
    if name.chars().count() > MAX_CONSTANT_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(ConfigError::new(
            variable,
            format!(
                "expected a constant's Name (at most {MAX_CONSTANT_NAME_CHARS} characters, no \
                 control characters) or empty for none, got {}",
                quote(raw)
            ),
        ));
    }
    Ok(Some(name.to_owned()))
}
