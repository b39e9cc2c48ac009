//! One row of the `constants` table, the bounds its text cells are cut to, and what can be
//! wrong with a row.
//!
//! The builder and the notice parser both read rows and report on them; the row and its
//! warnings live here so that neither of them has to import the other.

use crate::mapping::Field;
use crate::value::{RowValue, ValueError};

/// Longest description published in `_meta`, in characters. A longer one is cut here (and
/// reported) so that one careless row cannot blow the document past its bound.
pub const MAX_DESCRIPTION_CHARS: usize = 1024;

/// Longest `message` published, in characters. A notice for visitors is a sentence or
/// two; a longer value is cut here (and reported) so it cannot crowd the document.
pub const MAX_MESSAGE_CHARS: usize = 500;

/// One row of the `constants` table.
#[derive(Debug, Clone, PartialEq)]
pub struct ConstantRow {
    pub name: String,
    pub value: RowValue,
    pub description: Option<String>,
}

/// Something about one row that the operator should hear about.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RowWarning {
    #[error("constant {name:?} (field {field}) skipped, keeping default {default}: {reason}")]
    UnusableValue {
        name: String,
        field: Field,
        default: f64,
        reason: ValueError,
    },
    #[error("constant {name:?} appears more than once; the first row is used")]
    DuplicateName { name: String },
    #[error("description of {name:?} cut from {chars} to {MAX_DESCRIPTION_CHARS} characters")]
    LongDescription { name: String, chars: usize },
    #[error("a row with an empty name was skipped")]
    EmptyName,
    #[error("constant {name:?} = {value} is not in STATUS_STATES ({states}); state is unknown")]
    UnmappedStatus {
        name: String,
        value: f64,
        states: String,
    },
    #[error(
        "message constant {name:?} cut from {chars} to {} characters",
        MAX_MESSAGE_CHARS
    )]
    LongMessage { name: String, chars: usize },
    #[error("maintenance-until constant {name:?} skipped: {reason}")]
    UnusableMaintenanceUntil { name: String, reason: ValueError },
    #[error("max-players constant {name:?} skipped: {reason}")]
    UnusableMaxPlayers {
        name: String,
        reason: MaxPlayersError,
    },
}

/// Why a max-players cell is not a player limit.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MaxPlayersError {
    #[error(transparent)]
    Value(#[from] ValueError),
    #[error("{0} is not a whole number from 0 to {MAX_PLAYERS}")]
    OutOfRange(f64),
}

/// The largest player count (or limit) the document carries: far above any game server,
/// and exact in an `f64`, so JavaScript reads the same number.
pub const MAX_PLAYERS: u64 = 1 << 32;
