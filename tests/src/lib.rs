//! Fixtures for the integration tests: real MariaDB, real Redis, the real refresher binary
//! and the real reader `.wasm`. Each fixture isolates itself (own database, own key prefix)
//! so the tests run in parallel and never touch anything else.

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
