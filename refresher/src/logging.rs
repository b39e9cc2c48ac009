//! Where the log goes: stderr (coloured on a terminal), or, with `STATUS_LOG_DIR`, daily
//! files `status-refresher.<yyyy-mm-dd>.log` in that directory, the last [`KEEP_FILES`] kept.
//!
//! Files are for a Windows service, whose stderr nobody reads; anywhere else a supervisor
//! (systemd, Kubernetes) collects stderr. Writes go straight to the file (no background
//! writer), so nothing logged before an exit is lost.

use std::io::IsTerminal;
use std::path::Path;

use tracing_appender::rolling::{Builder, Rotation};
use tracing_subscriber::EnvFilter;

/// Daily files kept: two weeks.
pub const KEEP_FILES: usize = 14;

/// `RUST_LOG` if set, else `info`.
fn filter() -> EnvFilter {
    EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"))
}

/// Installs the global subscriber; `dir` selects files over stderr (created if missing).
pub fn init(dir: Option<&Path>) -> std::io::Result<()> {
    match dir {
        None => tracing_subscriber::fmt()
            .with_env_filter(filter())
            .with_writer(std::io::stderr)
            .with_ansi(std::io::stderr().is_terminal())
            .init(),
        Some(dir) => {
            // Made here: the appender would say so on stderr first (while pruning old files).
            std::fs::create_dir_all(dir)?;
            let files = Builder::new()
                .rotation(Rotation::DAILY)
                .filename_prefix("status-refresher")
                .filename_suffix("log")
                .max_log_files(KEEP_FILES)
                .build(dir)
                .map_err(std::io::Error::other)?;
            tracing_subscriber::fmt()
                .with_env_filter(filter())
                .with_writer(files)
                .with_ansi(false)
                .init()
        }
    }
    Ok(())
}
