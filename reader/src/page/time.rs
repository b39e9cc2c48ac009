//! Times, durations and percentages as the page prints them.
//!
//! Times are absolute UTC (`2026-12-07 18:00 UTC`, ISO 8601 in `<time datetime>`), never
//! relative: the page is cached and revalidated by its tag, and "5 min ago" would be wrong
//! in every copy served after it. Every number comes from the stored page, so anything out
//! of range (negative, non-finite, past year 9999) prints as [`DASH`] rather than as a
//! nonsense date or a panic.

use std::fmt::Write as _;

use crate::cache::civil_from_days;

/// What any value that cannot be shown prints as.
pub const DASH: &str = "—";

/// Latest time shown: 9999-12-31 23:59:59 UTC.
const LAST_SECOND: i64 = 253_402_300_799;

/// Longest duration shown (ten years); longer is not a real incident.
const MAX_DURATION_S: u64 = 10 * 366 * 86_400;

/// `(year, month, day, hour, minute, second)` of unix seconds in range.
fn parts(unix: i64) -> Option<(i64, i64, i64, i64, i64, i64)> {
    if !(0..=LAST_SECOND).contains(&unix) {
        return None;
    }
    let (y, mo, d) = civil_from_days(unix.div_euclid(86_400));
    let s = unix.rem_euclid(86_400);
    Some((y, mo, d, s / 3600, s % 3600 / 60, s % 60))
}

/// `2026-12-07 18:00 UTC`, or [`DASH`].
pub fn push_time(out: &mut String, unix: i64) {
    match parts(unix) {
        Some((y, mo, d, h, mi, _)) => {
            let _ = write!(out, "{y:04}-{mo:02}-{d:02} {h:02}:{mi:02} UTC");
        }
        None => out.push_str(DASH),
    }
}

/// `<time datetime="2026-12-07T18:00:00Z">2026-12-07 18:00 UTC</time>`, or [`DASH`].
pub fn push_time_element(out: &mut String, unix: i64) {
    let Some((y, mo, d, h, mi, s)) = parts(unix) else {
        out.push_str(DASH);
        return;
    };
    let _ = write!(
        out,
        "<time datetime=\"{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z\">"
    );
    push_time(out, unix);
    out.push_str("</time>");
}

/// `2026-12-07`, or [`DASH`].
pub fn push_date(out: &mut String, unix: i64) {
    match parts(unix) {
        Some((y, mo, d, ..)) => {
            let _ = write!(out, "{y:04}-{mo:02}-{d:02}");
        }
        None => out.push_str(DASH),
    }
}

/// Unix seconds stored as a float, as whole seconds when they can be a time.
pub fn whole(unix: f64) -> Option<i64> {
    (unix.is_finite() && (0.0..=LAST_SECOND as f64).contains(&unix)).then_some(unix as i64)
}

/// An honest duration in at most two units: `13 s`, `28 min`, `2 h 5 min`, `3 d 4 h`
/// (`units`: second, minute, hour, day in the page's language), or [`DASH`].
pub fn push_duration(out: &mut String, secs: u64, units: &[&str; 4]) {
    if secs > MAX_DURATION_S {
        out.push_str(DASH);
        return;
    }
    let [s, m, h, d] = units;
    let _ = match secs {
        0..60 => write!(out, "{secs} {s}"),
        60..3600 => write!(out, "{} {m}", secs / 60),
        3600..86_400 => match secs % 3600 / 60 {
            0 => write!(out, "{} {h}", secs / 3600),
            min => write!(out, "{} {h} {min} {m}", secs / 3600),
        },
        _ => match secs % 86_400 / 3600 {
            0 => write!(out, "{} {d}", secs / 86_400),
            hours => write!(out, "{} {d} {hours} {h}", secs / 86_400),
        },
    };
}

/// A percentage rounded down to hundredths (`99.95%`, `100%`: never shows 100% for a
/// window that had a minute of outage), or [`DASH`] when not in 0–100.
pub fn push_percent(out: &mut String, percent: f64) {
    if !(percent.is_finite() && (0.0..=100.0).contains(&percent)) {
        out.push_str(DASH);
        return;
    }
    let hundredths = (percent * 100.0 + 1e-6).floor() as u64;
    let (whole, frac) = (hundredths / 100, hundredths % 100);
    let _ = match frac {
        0 => write!(out, "{whole}%"),
        f if f % 10 == 0 => write!(out, "{whole}.{}%", f / 10),
        f => write!(out, "{whole}.{f:02}%"),
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(f: impl Fn(&mut String)) -> String {
        let mut out = String::new();
        f(&mut out);
        out
    }

    const UNITS: [&str; 4] = ["s", "min", "h", "d"];

    #[test]
    fn times() {
        // 2026-12-07 18:00:05 UTC
        let t = 1_796_666_405;
        assert_eq!(s(|o| push_time(o, t)), "2026-12-07 18:00 UTC");
        assert_eq!(s(|o| push_date(o, t)), "2026-12-07");
        assert_eq!(
            s(|o| push_time_element(o, t)),
            "<time datetime=\"2026-12-07T18:00:05Z\">2026-12-07 18:00 UTC</time>"
        );
        for bad in [-1, i64::MIN, i64::MAX, LAST_SECOND + 1] {
            assert_eq!(s(|o| push_time(o, bad)), DASH);
            assert_eq!(s(|o| push_time_element(o, bad)), DASH);
            assert_eq!(s(|o| push_date(o, bad)), DASH);
        }
        assert_eq!(whole(f64::NAN), None);
        assert_eq!(whole(f64::INFINITY), None);
        assert_eq!(whole(1e300), None);
        assert_eq!(whole(-5.0), None);
        assert_eq!(whole(12.9), Some(12));
    }

    #[test]
    fn durations() {
        let d = |secs| s(|o| push_duration(o, secs, &UNITS));
        assert_eq!(d(0), "0 s");
        assert_eq!(d(13), "13 s");
        assert_eq!(d(28 * 60 + 59), "28 min");
        assert_eq!(d(2 * 3600 + 5 * 60 + 7), "2 h 5 min");
        assert_eq!(d(3600), "1 h");
        assert_eq!(d(3 * 86_400 + 4 * 3600 + 60), "3 d 4 h");
        assert_eq!(d(86_400), "1 d");
        assert_eq!(d(u64::MAX), DASH);
    }

    #[test]
    fn percents() {
        let p = |v| s(|o| push_percent(o, v));
        assert_eq!(p(100.0), "100%");
        assert_eq!(p(99.999), "99.99%");
        assert_eq!(p(99.5), "99.5%");
        assert_eq!(p(0.0), "0%");
        assert_eq!(p(12.34), "12.34%");
        for bad in [f64::NAN, f64::INFINITY, -1.0, 100.01, 1e308] {
            assert_eq!(p(bad), DASH);
        }
    }
}
