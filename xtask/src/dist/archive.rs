//! The bundles' archives: a gzipped tar for Linux, a zip for Windows, each holding the
//! folder under its own name, with sorted entries owned by 0:0 and stamped with the commit's
//! time, so one commit always gives the same archive bytes.

use std::fs;
use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};

use super::files::files_under;
use super::stamp::civil;

/// Unix mode of a bundled file: the refresher is executable, the rest is not.
fn mode(rel: &Path) -> u32 {
    if rel == Path::new("status-refresher") || rel.extension().is_some_and(|e| e == "sh") {
        0o755
    } else {
        0o644
    }
}

/// Calls `add` with every file of `folder`, sorted: its path relative to `folder` and its
/// bytes. Both archive formats take their entries from here, so they hold the same files.
fn each_file(folder: &Path, mut add: impl FnMut(&Path, Vec<u8>) -> Result<()>) -> Result<()> {
    for path in files_under(folder)? {
        let rel = path
            .strip_prefix(folder)
            .context("a file outside its folder")?;
        let data = fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        add(rel, data)?;
    }
    Ok(())
}

/// `<name>/...` for every file of `folder`, as a gzipped tar.
pub(super) fn write_tar_gz(folder: &Path, name: &str, archive: &Path, mtime: u64) -> Result<()> {
    let file =
        fs::File::create(archive).with_context(|| format!("creating {}", archive.display()))?;
    let gz = flate2::write::GzEncoder::new(file, flate2::Compression::best());
    let mut tar = tar::Builder::new(gz);
    each_file(folder, |rel, data| {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(mode(rel));
        header.set_mtime(mtime);
        header.set_uid(0);
        header.set_gid(0);
        header.set_entry_type(tar::EntryType::Regular);
        tar.append_data(&mut header, Path::new(name).join(rel), data.as_slice())
            .with_context(|| format!("adding {} to {}", rel.display(), archive.display()))
    })?;
    let gz = tar.into_inner().context("finishing the tar")?;
    gz.finish()
        .and_then(|mut f| f.flush())
        .with_context(|| format!("writing {}", archive.display()))
}

/// `<name>/...` for every file of `folder`, as a deflated zip.
pub(super) fn write_zip(folder: &Path, name: &str, archive: &Path, mtime: u64) -> Result<()> {
    use zip::write::SimpleFileOptions;
    let file =
        fs::File::create(archive).with_context(|| format!("creating {}", archive.display()))?;
    let mut zip = zip::ZipWriter::new(file);
    let time = zip_time(mtime);
    each_file(folder, |rel, data| {
        let options = SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .compression_level(Some(9))
            .last_modified_time(time)
            .unix_permissions(mode(rel));
        // Zip paths use `/` on every platform.
        let entry = format!("{name}/{}", rel.to_string_lossy().replace('\\', "/"));
        zip.start_file(entry, options)
            .with_context(|| format!("adding {} to {}", rel.display(), archive.display()))?;
        zip.write_all(&data)
            .with_context(|| format!("writing {} to {}", rel.display(), archive.display()))
    })?;
    zip.finish()
        .map(drop)
        .with_context(|| format!("writing {}", archive.display()))
}

/// A zip (MS-DOS) timestamp for unix seconds; the format's earliest, 1980-01-01, for anything
/// before or unreadable.
fn zip_time(unix: u64) -> zip::DateTime {
    let (year, month, day, hour, minute, second) = civil(unix);
    zip::DateTime::from_date_and_time(year, month, day, hour, minute, second).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zip_times_are_civil_dates() {
        // 2026-12-07 02:41:42 UTC
        let t = zip_time(1_796_611_302);
        assert_eq!(
            (
                t.year(),
                t.month(),
                t.day(),
                t.hour(),
                t.minute(),
                t.second()
            ),
            (2026, 12, 7, 2, 41, 42)
        );
    }
}
