//! Bounded waiting for things that happen in other processes.

use std::time::{Duration, Instant};

/// How long a test waits for a process to record, or to show, something that has already
/// been set in motion: a refresh in `/health`, a nudge in `/metrics`, a takeover. Generous,
/// because on a loaded machine (CI beside other builds) a process can be starved for
/// seconds; a passing test returns as soon as the condition holds and never waits this long.
/// Bounds that are the product's promise (a nudge shows within 1 s) are separate and stay.
pub const SETTLE: Duration = Duration::from_secs(30);

/// Polls `f` every 50 ms until it returns true or `limit` passes; the answer is `f`'s last.
pub fn wait_until(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    f()
}
