//! Bounded waiting for things that happen in other processes.

use std::time::{Duration, Instant};

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
