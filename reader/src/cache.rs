//! HTTP caching metadata: `ETag`, `If-None-Match`, `Cache-Control`, `Last-Modified`.
//!
//! Everything here is small on purpose: an entity tag from fields the validation pass already
//! read instead of a hash over the bytes, a 20-line civil-date conversion instead of `chrono`, a hand-rolled `If-None-Match` scanner
//! instead of a header crate. The component ships as one `.wasm` with a size budget.

use status_document::{Freshness, State};

/// How long a cache may keep a response that is already due for refresh (or was served from
/// the last-known-good copy). `max-age=0` would make nginx and most CDNs stop storing the
/// response at exactly the moment the refresher is late, sending every request to the
/// reader; a few seconds lets a front cache absorb load while still picking up the next
/// document promptly.
pub const OVERDUE_MAX_AGE_S: u64 = 5;

/// `stale-if-error`: how long a cache may keep serving its copy while the reader answers
/// 5xx (Redis down). The reader itself serves the last-known-good copy indefinitely, so a
/// cache may as well cover a full day of outage.
pub const STALE_IF_ERROR_S: u64 = 86_400;

/// A strong entity tag for the stored document, derived from what the one validation pass
/// already read — no second pass over the bytes:
/// `"<schema_version>-<stored length, hex>-<updated_at as IEEE-754 bits, 16 hex digits>"`,
/// e.g. `"1-11cf-41da4f3c8e2b1a07"`.
///
/// Why that is a valid *strong* validator (RFC 9110 §8.8.1: same tag ⇒ same bytes): the
/// refresher is the only writer, one writer holds the lease at a time, and every write
/// stamps the document with a new `updated_at` — the wall clock as an `f64`, at sub-µs
/// resolution, written by `serde_json` in its shortest round-trip form, so the reader parses
/// back exactly the bits that were written. One `updated_at` therefore names one write, and
/// one write is one byte string (the primary key and `:last_good` get the same bytes in the
/// same transaction, and share the tag, as they would under a content hash). The length and
/// the schema version are there for the cases outside that protocol: a hand-edited value
/// that kept `updated_at` gets a new tag as soon as its length changes, and a future schema
/// never collides with this one.
///
/// Like the content hash it replaces, it depends on the stored document only, so every
/// reader replica gives the same tag; the per-request `_cache` object is response metadata
/// and deliberately not part of it.
///
/// With a game-server probe or a players query, the refresher also rewrites the document
/// between reads of `constants`, keeping `updated_at` (the time the table was read) and
/// stamping `game_server.checked_at` or `players_at` instead. Those `live` stamps are
/// appended (16 hex digits each, when present), so each such write gets its own tag too:
/// a probe write that changed the state never gets a 304 for the tag of the write before.
pub fn etag(
    schema_version: u32,
    updated_at: f64,
    stored_len: usize,
    live: [Option<f64>; 2],
) -> String {
    let mut tag = String::with_capacity(76);
    tag.push('"');
    push_hex(&mut tag, u64::from(schema_version), 1);
    tag.push('-');
    push_hex(&mut tag, stored_len as u64, 1);
    tag.push('-');
    push_hex(&mut tag, updated_at.to_bits(), 16);
    for stamp in live.into_iter().flatten() {
        tag.push('-');
        push_hex(&mut tag, stamp.to_bits(), 16);
    }
    tag.push('"');
    tag
}

/// The tag of a representation that shows the vouched state rather than the document:
/// the document's tag plus a letter for the representation and the state, e.g.
/// `"1-11cf-41da4f3c8e2b1a07-s-online"`. The state is in it because it changes (to
/// `unknown`) while the document's bytes stay the same, and a cache holding "online" must
/// not get a 304 for it then.
pub fn state_etag(document_tag: &str, representation: char, state: State) -> String {
    let inner = document_tag.trim_matches('"');
    format!("\"{inner}-{representation}-{}\"", state.as_str())
}

/// Appends `value` in lower-case hex, at least `min_digits` wide (zero-padded). Hand-rolled
/// rather than `format!`: the formatting machinery is a measurable share of a request in wasm.
fn push_hex(out: &mut String, value: u64, min_digits: u32) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let significant = (64 - value.leading_zeros()).div_ceil(4);
    let digits = significant.max(min_digits).min(16);
    for i in (0..digits).rev() {
        out.push(char::from(DIGITS[((value >> (i * 4)) & 0xf) as usize]));
    }
}

/// Whether `If-None-Match` (all field lines) matches `etag` under the weak comparison that
/// RFC 9110 §13.1.2 prescribes for it: `*` matches any current representation, and
/// `W/"x"` matches `"x"`. Malformed members are skipped, never an error.
pub fn none_match<V: AsRef<[u8]>>(field_lines: &[V], etag: &str) -> bool {
    let ours = etag.as_bytes();
    field_lines
        .iter()
        .any(|line| members_match(line.as_ref(), ours))
}

fn members_match(mut s: &[u8], ours: &[u8]) -> bool {
    loop {
        // Skip separators and whitespace before a member.
        while let [b' ' | b'\t' | b',', rest @ ..] = s {
            s = rest;
        }
        match s {
            [] => return false,
            [b'*', ..] => return true,
            _ => {}
        }
        let tag = s.strip_prefix(b"W/").unwrap_or(s);
        if let [b'"', body @ ..] = tag {
            if let Some(end) = body.iter().position(|&b| b == b'"') {
                // `"` + opaque + `"`, compared with our quoted tag.
                if tag[..end + 2] == *ours {
                    return true;
                }
                s = &body[end + 1..];
                continue;
            }
            return false; // unterminated quote: nothing further can be parsed
        }
        // Not an entity tag: skip to the next comma.
        match s.iter().position(|&b| b == b',') {
            Some(comma) => s = &s[comma + 1..],
            None => return false,
        }
    }
}

/// The `Cache-Control` of a document response.
///
/// * `max-age`: whole seconds until the next refresh is due, so no cache holds a document
///   past the moment a newer one can exist. Once due (or when serving the last-known-good
///   copy) it is [`OVERDUE_MAX_AGE_S`].
/// * `stale-while-revalidate`: how often a newer document can appear
///   (`rewrite_interval_s`: one refresh interval, or one probe interval with a game-server
///   probe) — a cache answers at once with its copy and fetches the new document in the
///   background (RFC 5861 §3), and never shows a copy older than that.
/// * `stale-if-error`: [`STALE_IF_ERROR_S`] (RFC 5861 §4).
/// * `public`, and no `s-maxage`: `s-maxage` would forbid shared caches to serve stale
///   (RFC 9111 §5.2.2.10), defeating both extensions above.
pub fn cache_control(freshness: &Freshness, rewrite_interval_s: u64, primary: bool) -> String {
    let max_age = max_age(freshness, primary, rewrite_interval_s);
    format!(
        "public, max-age={max_age}, stale-while-revalidate={rewrite_interval_s}, \
         stale-if-error={STALE_IF_ERROR_S}"
    )
}

/// The `max-age` of [`cache_control`]: seconds until the next refresh (or probe write) is
/// due, or [`OVERDUE_MAX_AGE_S`] once due or when serving the last-known-good copy — but
/// never more than `rewrite_interval_s` (at least 1): with a 1-second probe, a copy kept for
/// 5 s would hide four of its writes. `shields.json` reports it as `cacheSeconds`.
pub fn max_age(freshness: &Freshness, primary: bool, rewrite_interval_s: u64) -> u64 {
    if primary && freshness.seconds_until_due > 0 {
        freshness.seconds_until_due
    } else {
        OVERDUE_MAX_AGE_S.min(rewrite_interval_s.max(1))
    }
}

/// Unix seconds as an IMF-fixdate (RFC 9110 §5.6.7), e.g. `Sun, 06 Nov 1994 08:49:37 GMT`.
/// `None` for times that are not finite or outside years 1970–9999, which have no
/// representation (the `Last-Modified` field is then left out).
pub fn http_date(unix_seconds: f64) -> Option<String> {
    // 253402300799 = 9999-12-31T23:59:59Z
    if !unix_seconds.is_finite() || !(0.0..253_402_300_800.0).contains(&unix_seconds) {
        return None;
    }
    let secs = unix_seconds.floor() as i64;
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let weekday = WEEKDAYS[days.rem_euclid(7) as usize]; // 1970-01-01 was a Thursday
    let month = MONTHS[(month - 1) as usize];
    Some(format!(
        "{weekday}, {day:02} {month} {year:04} {:02}:{:02}:{:02} GMT",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60
    ))
}

/// Days since 1970-01-01 to (year, month 1–12, day 1–31) in the proleptic Gregorian
/// calendar (H. Hinnant's `civil_from_days`).
pub(crate) fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use status_document::freshness;

    #[test]
    fn etag_is_quoted_deterministic_and_sensitive() {
        let t = 1_764_120_000.123_456_7;
        let a = etag(1, t, 4559, NO_LIVE);
        assert_eq!(a, etag(1, t, 4559, NO_LIVE));
        assert!(a.starts_with('"') && a.ends_with('"'));
        assert!(
            a[1..a.len() - 1]
                .bytes()
                .all(|b| b.is_ascii_hexdigit() || b == b'-')
        );
        assert_ne!(
            a,
            etag(1, f64::from_bits(t.to_bits() + 1), 4559, NO_LIVE),
            "one ulp later"
        );
        assert_ne!(a, etag(1, t, 4560, NO_LIVE), "another length");
        assert_ne!(a, etag(2, t, 4559, NO_LIVE), "another schema");
        assert_ne!(etag(1, 0.0, 0, NO_LIVE), etag(1, -0.0, 0, NO_LIVE));
        // Pinned: replicas and releases must agree on the tag of the same document.
        assert_eq!(
            etag(1, 1234.5, 0x11cf, NO_LIVE),
            "\"1-11cf-40934a0000000000\""
        );
        assert_eq!(etag(1, 0.0, 0, NO_LIVE), "\"1-0-0000000000000000\"");
        assert_eq!(
            etag(u32::MAX, f64::NAN, usize::MAX, NO_LIVE).len(),
            2 + 8 + 1 + 16 + 1 + 16
        );
    }

    const NO_LIVE: [Option<f64>; 2] = [None, None];

    #[test]
    fn every_live_write_has_its_own_tag() {
        // A probe write keeps updated_at and may keep the length ("online" and "offline"
        // differ, but a latency of 1.5 and of 2.5 do not): only the stamp tells them apart.
        let t = 1_764_120_000.5;
        let before = etag(1, t, 900, [Some(t + 10.0), None]);
        let after = etag(1, t, 900, [Some(t + 20.0), None]);
        assert_ne!(before, after);
        assert_ne!(etag(1, t, 900, NO_LIVE), before);
        assert_ne!(
            etag(1, t, 900, [None, Some(t + 10.0)]),
            etag(1, t, 900, [None, Some(t + 70.0)]),
            "a new players count"
        );
        assert_eq!(
            etag(1, 1234.5, 0x11cf, [Some(1234.5), Some(0.0)]),
            "\"1-11cf-40934a0000000000-40934a0000000000-0000000000000000\""
        );
    }

    #[test]
    fn if_none_match_forms() {
        let tag = "\"0123456789abcdef\"";
        assert!(none_match(&["\"0123456789abcdef\""], tag));
        assert!(
            none_match(&["W/\"0123456789abcdef\""], tag),
            "weak comparison"
        );
        assert!(none_match(&["\"x\", \"0123456789abcdef\""], tag));
        assert!(none_match(&["\"x\",W/\"0123456789abcdef\" "], tag));
        assert!(
            none_match(&["\"x\"", "\"0123456789abcdef\""], tag),
            "several lines"
        );
        assert!(none_match(&["*"], tag));
        assert!(none_match(&[" , *"], tag));
        assert!(
            !none_match(&["\"0123456789abcdeF\""], tag),
            "case-sensitive"
        );
        assert!(!none_match(&["0123456789abcdef"], tag), "unquoted");
        assert!(!none_match(&["\"0123456789abcdef"], tag), "unterminated");
        assert!(!none_match(&["garbage, \"y\""], tag));
        assert!(none_match(&["garbage, \"0123456789abcdef\""], tag));
        assert!(!none_match::<&str>(&[], tag));
        assert!(!none_match(&[""], tag));
        assert!(!none_match(&["W/"], tag));
    }

    #[test]
    fn cache_control_numbers() {
        let f = freshness(1000.0, 600, 900, 1100.4);
        assert_eq!(
            cache_control(&f, 600, true),
            "public, max-age=499, stale-while-revalidate=600, stale-if-error=86400"
        );
        let overdue = freshness(1000.0, 600, 900, 1700.0);
        assert_eq!(
            cache_control(&overdue, 600, true),
            "public, max-age=5, stale-while-revalidate=600, stale-if-error=86400"
        );
        assert_eq!(
            cache_control(&f, 600, false),
            "public, max-age=5, stale-while-revalidate=600, stale-if-error=86400",
            "last-known-good copies are never promised for long"
        );
        assert!(!cache_control(&f, 600, true).contains("s-maxage"));
        // A 1-second probe rewrites the document every second: no copy is kept longer.
        assert_eq!(
            cache_control(&overdue, 1, true),
            "public, max-age=1, stale-while-revalidate=1, stale-if-error=86400"
        );
    }

    #[test]
    fn http_dates() {
        for (t, date) in [
            (0.0, "Thu, 01 Jan 1970 00:00:00 GMT"),
            (784_111_777.0, "Sun, 06 Nov 1994 08:49:37 GMT"),
            (784_111_777.9, "Sun, 06 Nov 1994 08:49:37 GMT"),
            (951_782_400.0, "Tue, 29 Feb 2000 00:00:00 GMT"),
            (1_709_164_800.0, "Thu, 29 Feb 2024 00:00:00 GMT"),
            (1_735_689_599.0, "Tue, 31 Dec 2024 23:59:59 GMT"),
            (253_402_300_799.0, "Fri, 31 Dec 9999 23:59:59 GMT"),
        ] {
            assert_eq!(http_date(t).unwrap(), date, "{t}");
        }
        for t in [253_402_300_800.0, -1.0, f64::NAN, f64::INFINITY] {
            assert_eq!(http_date(t), None, "{t}");
        }
    }

    proptest! {
        #[test]
        fn none_match_never_panics(lines in proptest::collection::vec(
            proptest::collection::vec(any::<u8>(), 0..64), 0..4)) {
            let _ = none_match(&lines, "\"0123456789abcdef\"");
        }

        #[test]
        fn own_tag_always_matches(updated_at in any::<f64>(), len in any::<usize>(),
                                  weak in any::<bool>(),
                                  live in proptest::array::uniform2(proptest::option::of(any::<f64>()))) {
            let tag = etag(1, updated_at, len, live);
            let sent = if weak { format!("W/{tag}") } else { tag.clone() };
            let line = format!("\"zz\", {sent}");
            prop_assert!(none_match(&[line], &tag));
        }

        #[test]
        fn dates_are_well_formed(secs in 0u64..253_402_300_800) {
            let d = http_date(secs as f64).unwrap();
            prop_assert_eq!(d.len(), 29);
            prop_assert!(d.ends_with(" GMT"));
        }
    }
}
