//! The benchmark harness: baselines, targets, a load driver and the report.
//!
//! `bench` (src/main.rs) starts every target on its own loopback port, drives it with a real
//! load generator in a separate process (`oha`, else `wrk`), reads the server's CPU from
//! `/proc` and MySQL's statement counters around each run, and prints one markdown table.
//! The two helper servers in src/bin are the baselines the reader is compared with.
//!
//! Bench code only: nothing here is shipped.

pub mod callgrind;
pub mod changes;
pub mod context;
pub mod costs_and_freshness;
pub mod fixture;
pub mod fleet;
pub mod game_server;
pub mod kv;
pub mod live_bench;
pub mod load;
pub mod machine;
pub mod mysql;
pub mod process;
pub mod procfs;
pub mod report;
pub mod seed;
pub mod serve;
pub mod table;
pub mod targets;

/// A multi-threaded tokio runtime with `threads` workers (default: one per core).
pub fn runtime(threads: Option<usize>) -> std::io::Result<tokio::runtime::Runtime> {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Some(threads) = threads {
        builder.worker_threads(threads.max(1));
    }
    builder.enable_all().build()
}

/// Seconds since the Unix epoch, the clock the status document is stamped with (0 before it).
pub fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}
