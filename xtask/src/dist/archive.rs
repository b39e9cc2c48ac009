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

    /// A folder with the refresher, a script, a plain file and a nested one, in a fresh
    /// temporary directory.
    fn bundle_folder(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("xtask-archive-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let folder = dir.join("bundle");
        fs::create_dir_all(folder.join("deploy/systemd")).unwrap();
        fs::write(folder.join("status-refresher"), b"\x7fELF").unwrap();
        fs::write(folder.join("INSTALL.md"), b"# install").unwrap();
        fs::write(folder.join("deploy/run.sh"), b"#!/bin/sh").unwrap();
        fs::write(folder.join("deploy/systemd/unit.service"), b"[Unit]").unwrap();
        folder
    }

    /// Both archives hold every file under the bundle's name, sorted, with the refresher and
    /// scripts executable, and the same folder and time give the same bytes.
    #[test]
    fn archives_hold_the_folder_under_its_name_and_are_reproducible() {
        let folder = bundle_folder("formats");
        let dir = folder.parent().unwrap().to_owned();
        let want = [
            ("b/INSTALL.md", 0o644),
            ("b/deploy/run.sh", 0o755),
            ("b/deploy/systemd/unit.service", 0o644),
            ("b/status-refresher", 0o755),
        ];

        let (tgz, tgz2) = (dir.join("b.tar.gz"), dir.join("b2.tar.gz"));
        write_tar_gz(&folder, "b", &tgz, 1_796_611_302).unwrap();
        write_tar_gz(&folder, "b", &tgz2, 1_796_611_302).unwrap();
        assert_eq!(fs::read(&tgz).unwrap(), fs::read(&tgz2).unwrap());
        let gz = flate2::read::GzDecoder::new(fs::File::open(&tgz).unwrap());
        let mut tar = tar::Archive::new(gz);
        let entries: Vec<(String, u32, u64, u64)> = tar
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                let h = e.header();
                let path = e.path().unwrap().to_string_lossy().into_owned();
                (
                    path,
                    h.mode().unwrap(),
                    h.mtime().unwrap(),
                    h.uid().unwrap(),
                )
            })
            .collect();
        let got: Vec<(&str, u32)> = entries
            .iter()
            .map(|(p, m, _, _)| (p.as_str(), *m))
            .collect();
        assert_eq!(got, want);
        assert!(
            entries
                .iter()
                .all(|(_, _, t, uid)| *t == 1_796_611_302 && *uid == 0)
        );

        let (zip, zip2) = (dir.join("b.zip"), dir.join("b2.zip"));
        write_zip(&folder, "b", &zip, 1_796_611_302).unwrap();
        write_zip(&folder, "b", &zip2, 1_796_611_302).unwrap();
        assert_eq!(fs::read(&zip).unwrap(), fs::read(&zip2).unwrap());
        let mut archive = zip::ZipArchive::new(fs::File::open(&zip).unwrap()).unwrap();
        let got: Vec<(String, u32)> = (0..archive.len())
            .map(|i| {
                let f = archive.by_index(i).unwrap();
                (
                    f.name().unwrap().into_owned(),
                    f.unix_mode().unwrap() & 0o777,
                )
            })
            .collect();
        let want: Vec<(String, u32)> = want.iter().map(|(p, m)| (p.to_string(), *m)).collect();
        assert_eq!(got, want);
        let _ = fs::remove_dir_all(&dir);
    }
}
