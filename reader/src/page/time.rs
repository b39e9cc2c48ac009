//! Times, durations and percentages as the page prints them.
//!
//! Times are absolute UTC (`2026-12-07 18:00 UTC`, ISO 8601 in `<time datetime>`), never
//! relative: the page is cached and revalidated by its tag, and "5 min ago" would be wrong
//! in every copy served after it. Every number comes from the stored page, so anything out
//! of range (negative, non-finite, past year 9999) prints as [`DASH`] rather than as a
//! nonsense date or a panic.
//!
//! Numbers are written with `itoa` ([`push_uint`], [`push_padded`]) rather than through
//! `write!`: a page of five servers prints about two thousand of them, and `core::fmt`'s
//! machinery was the larger part of the render's cost (`cargo xtask bench`, `reader-page`).

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
            push_ymd(out, y, mo, d);
            out.push(' ');
            push_padded(out, h as u64, 2);
            out.push(':');
            push_padded(out, mi as u64, 2);
            out.push_str(" UTC");
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
    out.push_str("<time datetime=\"");
    push_ymd(out, y, mo, d);
    for (sep, n) in [('T', h), (':', mi), (':', s)] {
        out.push(sep);
        push_padded(out, n as u64, 2);
    }
    out.push_str("Z\">");
    push_time(out, unix);
    out.push_str("</time>");
}

/// `2026-12-07`, or [`DASH`].
pub fn push_date(out: &mut String, unix: i64) {
    match parts(unix) {
        Some((y, mo, d, ..)) => push_ymd(out, y, mo, d),
        None => out.push_str(DASH),
    }
}

/// `2026-12-07` of parts in range ([`parts`] bounds them to years 1970–9999).
fn push_ymd(out: &mut String, y: i64, mo: i64, d: i64) {
    push_padded(out, y as u64, 4);
    out.push('-');
    push_padded(out, mo as u64, 2);
    out.push('-');
    push_padded(out, d as u64, 2);
}

/// `n` in decimal.
pub fn push_uint(out: &mut String, n: u64) {
    out.push_str(itoa::Buffer::new().format(n));
}

/// `n` in decimal, zero-padded to at least `width` digits.
pub fn push_padded(out: &mut String, n: u64, width: usize) {
    let mut buffer = itoa::Buffer::new();
    let digits = buffer.format(n);
    for _ in digits.len()..width {
        out.push('0');
    }
    out.push_str(digits);
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
    let (big, big_unit, small, small_unit) = match secs {
        0..60 => (secs, s, 0, m),
        60..3600 => (secs / 60, m, 0, s),
        3600..86_400 => (secs / 3600, h, secs % 3600 / 60, m),
        _ => (secs / 86_400, d, secs % 86_400 / 3600, h),
    };
    push_uint(out, big);
    out.push(' ');
    out.push_str(big_unit);
    if small > 0 {
        out.push(' ');
        push_uint(out, small);
        out.push(' ');
        out.push_str(small_unit);
    }
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
    push_uint(out, whole);
    match frac {
        0 => {}
        f if f % 10 == 0 => {
            out.push('.');
            push_uint(out, f / 10);
        }
        f => {
            out.push('.');
            push_padded(out, f, 2);
        }
    }
    out.push('%');
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
    fn numbers() {
        assert_eq!(s(|o| push_uint(o, 0)), "0");
        assert_eq!(s(|o| push_uint(o, 1_234_567)), "1234567");
        assert_eq!(s(|o| push_uint(o, u64::MAX)), u64::MAX.to_string());
        assert_eq!(s(|o| push_padded(o, 7, 2)), "07");
        assert_eq!(s(|o| push_padded(o, 0, 4)), "0000");
        assert_eq!(s(|o| push_padded(o, 123, 2)), "123");
        assert_eq!(s(|o| push_padded(o, 5, 6)), "000005");
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
