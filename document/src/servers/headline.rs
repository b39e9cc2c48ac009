//! A server's headline: what its published document says now (`state`, `state_reason`,
//! `players`, `max_players`, `updated_at`), as the refresher keeps it ([`Headline`]) and as
//! the stored index and the status page carry it beside who the server is (`id`, `name`).
//!
//! [`IndexEntry`](super::IndexEntry) and [`PageServer`](crate::page::PageServer)
//! are both declared through [`with_headline!`], so the two wire formats that readers
//! outside this repository parse name and mark those fields alike and cannot drift apart.
//! Not one struct `#[serde(flatten)]`ed into both: the reader parses the page, and a
//! flattened field would cost its `.wasm` the buffering parser serde uses for them.

use crate::live::StateReason;
use crate::schema::StatusDocument;
use crate::state::State;

/// What a published document says now, as the index and the page list it.
#[derive(Debug, Clone, PartialEq)]
pub struct Headline {
    pub state: State,
    pub state_reason: Option<StateReason>,
    pub players: Option<u64>,
    pub max_players: Option<u64>,
    /// `updated_at` in whole seconds.
    pub updated_at: u64,
}

impl Headline {
    pub fn of(document: &StatusDocument) -> Headline {
        Headline {
            state: document.state,
            state_reason: document.state_reason,
            players: document.players,
            max_players: document.max_players,
            updated_at: whole_seconds(document.updated_at),
        }
    }
}

/// Whole non-negative seconds of a time (a NaN or negative one is 0: never vouched for).
pub(crate) fn whole_seconds(t: f64) -> u64 {
    if t.is_finite() && t > 0.0 {
        t.floor() as u64
    } else {
        0
    }
}

/// Declares a stored struct that begins with a server's headline fields, followed by its
/// own fields.
macro_rules! with_headline {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $(
                $(#[$field_meta:meta])*
                pub $field:ident: $ty:ty,
            )*
        }
    ) => {
        $(#[$meta])*
        pub struct $name {
            pub id: $crate::servers::ServerId,
            /// The display name (the servers file's `name`, else the id).
            pub name: String,
            pub state: $crate::state::State,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub state_reason: Option<$crate::live::StateReason>,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub players: Option<u64>,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub max_players: Option<u64>,
            /// Unix seconds of the server's document (its `updated_at`, whole seconds).
            pub updated_at: u64,
            $(
                $(#[$field_meta])*
                pub $field: $ty,
            )*
        }
    };
}

pub(crate) use with_headline;
