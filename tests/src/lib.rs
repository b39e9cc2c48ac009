//! Fixtures for the integration tests: real MariaDB, real Redis, the real refresher binary
//! and the real reader `.wasm`. Each fixture isolates itself (own database, own key prefix)
//! so the tests run in parallel and never touch anything else.

use std::time::{SystemTime, UNIX_EPOCH};

pub mod acl;
pub mod binaries;
pub mod bundle;
pub mod contract;
pub mod db;
pub mod docs;
pub mod document;
pub mod fault;
pub mod game_server;
pub mod live;
pub mod load;
pub mod openarena;
pub mod probe;
pub mod reader;
pub mod receiver;
pub mod redis;
pub mod temp;
pub mod wait;
pub mod wine;

/// The environment variable `var`, or `default` when it is unset or empty (how every test
/// setting, e.g. `SERVER_STATUS_TEST_MYSQL`, is read).
pub fn setting(var: &str, default: &str) -> String {
    std::env::var(var)
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| default.to_owned())
}

/// The wall clock in unix seconds, as the refresher stamps `updated_at` and the reader
/// reads it.
pub fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock before 1970")
        .as_secs_f64()
}

/// `value` percent-encoded for a URL's query or userinfo (every byte but the unreserved
/// ones, RFC 3986), so any test value reaches the server as written.
pub fn percent_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The path in the environment variable `var` (set by `cargo xtask test`), or `None` with
/// `skipped: <var> is not set; <how>` printed, for the tests that pass without it.
pub fn given_path(var: &str, how: &str) -> Option<std::path::PathBuf> {
    let path = std::env::var_os(var)
        .filter(|v| !v.is_empty())
        .map(Into::into);
    if path.is_none() {
        eprintln!("skipped: {var} is not set; {how}");
    }
    path
}
