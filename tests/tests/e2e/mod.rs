//! End to end: MariaDB → the refresher binary → Redis → the reader `.wasm` in the wasmtime
//! host → HTTP, with every part real and running the way it runs in production.
//!
//! Each test has its own database (`TestDb`), its own Redis keys (`TestRedis`, through
//! `STATUS_KEY`/`STATUS_INTERVAL_KEY` for the refresher and the `status_key` variable for the
//! reader) and its own reader port, so the tests run in parallel with each other and with
//! the rest of the suite. The refresher runs as a child process; every wait is bounded.
//!
//! The shared MariaDB is never stopped: "the database is down" is played by the fault proxy
//! (`integration_tests::fault`) that sits between the refresher and MariaDB and refuses
//! connections, which is what a client sees when the server is down.
//!
//! `cargo test -p integration-tests --test integration e2e:: -- --nocapture` prints the measurements
//! (lines starting with `e2e:`).
//!
//! Modules: `fixtures` (the seeded database, the refresher as deployed, the reader and what
//! its answers must say), `interval` (a change is served within one refresh interval),
//! `database_cost` (a thousand requests cost MariaDB nothing) and `outages` (the refresher
//! stopped, MariaDB gone).

mod database_cost;
mod fixtures;
mod interval;
mod outages;
