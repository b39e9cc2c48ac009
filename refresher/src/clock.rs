//! The wall clock, in the unit the document and the metrics use.

use std::time::{SystemTime, UNIX_EPOCH};

/// Unix time in (fractional) seconds; 0 for a clock set before 1970, which the document
/// builder then reports rather than the refresher panicking.
pub fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}
