//! `dev-support`: the helpers the project's tooling shares — xtask, bench and the
//! integration tests. **Tooling only**: no shipped crate (document, refresher, reader)
//! depends on it, and nothing here is built into a release artifact.
//!
//! * [`process`]: a guard for a child process that stops it (by its own pid or process group,
//!   never by name) when dropped, with its output captured, prefixed or sent to a log file;
//! * [`http`]: one bounded raw HTTP/1.1 `GET`, for readiness checks and probes;
//! * [`net`]: free loopback ports;
//! * [`servers`]: throwaway `redis-server` and `mariadbd` instances (own port, own
//!   directory, nothing persisted) that take extra arguments or a config file, for TLS,
//!   replicas, Sentinel or a binlog;
//! * [`certs`]: a throwaway CA and the certificates the TLS tests use (rcgen), and
//!   [`servers::tls`] the TLS-only Redis and MariaDB that serve them;
//! * [`constants`]: the one definition of the game's `constants` table that tests and the
//!   bench create;
//! * [`workspace`]: where the workspace root is, and `..`/`.` resolved lexically.

pub mod certs;
pub mod constants;
pub mod http;
pub mod net;
pub mod nginx;
pub mod process;
pub mod servers;
pub mod workspace;
