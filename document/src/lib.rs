//! The status document: the one value the refresher writes to Redis and the reader serves.
//!
//! This crate is the schema's single source of truth. It holds no I/O so that both halves
//! can use it: the native refresher (`build`) and the WebAssembly reader (`view`,
//! `freshness`). Everything here is plain data and arithmetic, unit-tested natively.

pub mod build;
pub mod freshness;
pub mod history;
pub mod keys;
pub mod live;
pub mod mapping;
pub mod notice;
pub mod page;
pub mod row;
pub mod schema;
pub mod servers;
pub mod state;
pub mod value;
pub mod view;

pub use build::{BuildError, BuildOptions, Built, build, without_constants};
pub use freshness::{Freshness, freshness, vouched_state};
pub use history::{
    History, HistoryError, HistoryHead, HistoryView, MAX_HISTORY_BYTES, Observation,
};
pub use keys::Source;
pub use live::{
    GameServer, Live, MAX_SERVER_TEXT_CHARS, PlayerCount, Roster, ServerInfo, StateReason, combine,
};
pub use mapping::{Field, Mapping, MappingError, MetaPolicy};
pub use notice::StateSettings;
pub use row::{ConstantRow, MAX_MESSAGE_CHARS, MAX_PLAYERS, MaxPlayersError, RowWarning};
pub use schema::{MAX_DOCUMENT_BYTES, Rates, SCHEMA_VERSION, StatusDocument};
pub use servers::{DEFAULT_SERVER_ID, IndexEntry, ServerId, ServerIndex};
pub use state::{State, StateMapping, StateMappingError};
pub use value::RowValue;
pub use view::{DocumentView, ViewError};
