//! The status document: the one value the refresher writes to Redis and the reader serves.
//!
//! This crate is the schema's single source of truth. It holds no I/O so that both halves
//! can use it: the native refresher (`build`) and the WebAssembly reader (`view`,
//! `freshness`). Everything here is plain data and arithmetic, unit-tested natively.

pub mod build;
pub mod freshness;
pub mod keys;
pub mod mapping;
pub mod schema;
pub mod value;
pub mod view;

pub use build::{BuildError, BuildOptions, Built, ConstantRow, RowValue, RowWarning, build};
pub use freshness::{Freshness, freshness};
pub use mapping::{Field, Mapping, MappingError, MetaPolicy};
pub use schema::{MAX_DOCUMENT_BYTES, Rates, SCHEMA_VERSION, StatusDocument};
pub use view::{DocumentView, ViewError};
