//! The integration tests: one test binary, one module per concern.
//!
//! One binary rather than one per file because almost every module links wasmtime (through
//! `reader-host`): thirty binaries meant thirty links of it, which dominated CI's build time
//! and once filled the disk in `ld`. Cargo runs a binary's tests on parallel threads, so every
//! test here runs alongside tests of other modules: each one owns its database, Redis keys,
//! ports and temporary directories, and none changes process-wide state (environment, current
//! directory, signal handlers). The few that time something against a bound hold
//! `integration_tests::load::timed`, and the one request flood holds `load::saturating`, so a
//! flood never runs beside a timed test.
//!
//! Run one concern with a name filter: `cargo test -p integration-tests --test integration
//! sentinel:: -- --nocapture`.

mod browser;
mod budget;
mod contract;
mod deploy_compose;
mod deploy_container;
mod deploy_systemd;
mod dist;
mod doc_links;
mod e2e;
mod game_server;
mod history;
mod key_value;
mod layout;
mod live_binlog;
mod live_changes;
mod live_redis_restart;
mod notify;
mod players;
mod reader;
mod refresher;
mod reliability_reader;
mod reliability_refresher;
mod replica;
mod sentinel;
mod stalled_redis;
mod state;
mod status_page;
mod tls;
mod windows;
