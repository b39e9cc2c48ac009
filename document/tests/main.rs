//! The document crate's integration tests, one binary: `no_io` checks the source tree
//! against ARCHITECTURE.md's rules, `state_table` drives the public build API through the
//! state mapping.

mod no_io;
mod state_table;
