//! Fixtures for the integration tests: real MariaDB, real Redis, the real refresher binary
//! and the real reader `.wasm`. Each fixture isolates itself (own database, own key prefix)
//! so the tests run in parallel and never touch anything else.

use std::time::{SystemTime, UNIX_EPOCH};

pub mod acl;
pub mod binaries;
pub mod contract;
pub mod db;
pub mod fault;
pub mod live;
pub mod probe;
pub mod reader;
pub mod redis;
pub mod wait;

/// The wall clock in unix seconds, as the refresher stamps `updated_at` and the reader
/// reads it.
pub fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock before 1970")
        .as_secs_f64()
}
