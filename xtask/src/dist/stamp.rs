//! What identifies a build in its bundles: the refresher's package version (in the names and
//! the OCI tag) and the commit's time (the archives' entry times and the OCI `created`
//! annotation), converted to calendar dates here without a date library.

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context, Result};

/// `version = "..."` of a package manifest.
pub(super) fn package_version(manifest: &Path) -> Result<String> {
    let text =
        fs::read_to_string(manifest).with_context(|| format!("reading {}", manifest.display()))?;
    text.lines()
        .find_map(|l| {
            l.strip_prefix("version = \"")
                .and_then(|v| v.strip_suffix('"'))
        })
        .map(str::to_owned)
        .with_context(|| format!("no version in {}", manifest.display()))
}

/// The commit's time (unix seconds), the archives' entry time; `None` without git.
pub(super) fn commit_time(root: &Path) -> Option<u64> {
    let out = Command::new("git")
        .args(["log", "-1", "--format=%ct"])
        .current_dir(root)
        .stdin(Stdio::null())
        .output()
        .ok()?;
    String::from_utf8_lossy(&out.stdout).trim().parse().ok()
}

/// UTC civil date and time of unix seconds: (year, month, day, hour, minute, second).
pub(super) fn civil(unix: u64) -> (u16, u8, u8, u8, u8, u8) {
    let days = unix / 86_400;
    let secs = unix % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    let year = (yoe + era * 400 + i64::from(month <= 2)) as u16;
    (
        year,
        month,
        day,
        (secs / 3_600) as u8,
        (secs % 3_600 / 60) as u8,
        (secs % 60) as u8,
    )
}

/// Unix seconds as RFC 3339 in UTC (`2026-12-07T02:41:42Z`), for the OCI `created` annotation.
pub(super) fn rfc3339(unix: u64) -> String {
    let (year, month, day, hour, minute, second) = civil(unix);
    format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}Z")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_is_the_civil_date_in_utc() {
        assert_eq!(civil(1_796_611_302), (2026, 12, 7, 2, 41, 42));
        assert_eq!(rfc3339(1_796_611_302), "2026-12-07T02:41:42Z");
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
    }
}
