//! The release bundles of `cargo xtask dist` (tests/tests/dist/): where they are, their
//! checksums, and unpacking an archive as an operator would.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// `target/dist/` as xtask made it (`STATUS_DIST_DIR`), or `None` with the reason printed.
pub fn dist_dir() -> Option<PathBuf> {
    crate::given_path(
        "STATUS_DIST_DIR",
        "`cargo xtask test` builds the bundles (cargo xtask dist) and sets it",
    )
}

/// The archive in `dir` whose name ends with `suffix` (e.g. `-linux-x86_64.tar.gz`), checked
/// against `SHA256SUMS` (panics on a mismatch or when it is not listed).
pub fn verified_archive(dir: &Path, suffix: &str) -> Option<PathBuf> {
    let sums = fs::read_to_string(dir.join("SHA256SUMS")).expect("no SHA256SUMS");
    let (sum, name) = sums
        .lines()
        .filter_map(|l| l.split_once("  "))
        .find(|(_, name)| name.ends_with(suffix))?;
    let archive = dir.join(name);
    let data = fs::read(&archive).unwrap_or_else(|e| panic!("{}: {e}", archive.display()));
    let actual: String = Sha256::digest(&data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(actual, sum, "{name} does not match SHA256SUMS");
    eprintln!("{name}: {} bytes, sha256 ok", data.len());
    Some(archive)
}

/// Unpacks a `.tar.gz` into `into` (modes kept); returns the one top-level folder.
pub fn unpack_tar_gz(archive: &Path, into: &Path) -> PathBuf {
    let file = fs::File::open(archive).expect("open the archive");
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(file));
    tar.set_preserve_permissions(true);
    tar.unpack(into).expect("unpack the tar.gz");
    single_folder(into)
}

/// Unpacks a `.zip` into `into`; returns the one top-level folder.
pub fn unpack_zip(archive: &Path, into: &Path) -> PathBuf {
    let file = fs::File::open(archive).expect("open the archive");
    let mut zip = zip::ZipArchive::new(file).expect("a zip archive");
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).expect("a zip entry");
        // enclosed_name refuses `..` and absolute paths.
        let rel = entry.enclosed_name().expect("a safe entry name");
        let dest = into.join(rel);
        fs::create_dir_all(dest.parent().expect("a parent")).expect("create the entry's folder");
        let mut data = Vec::new();
        entry.read_to_end(&mut data).expect("read the entry");
        fs::write(&dest, data).expect("write the entry");
    }
    single_folder(into)
}

fn single_folder(dir: &Path) -> PathBuf {
    let entries: Vec<PathBuf> = fs::read_dir(dir)
        .expect("read the unpack dir")
        .map(|e| e.expect("an entry").path())
        .collect();
    assert_eq!(
        entries.len(),
        1,
        "the archive must hold one folder: {entries:?}"
    );
    assert!(entries[0].is_dir(), "{entries:?} is not a folder");
    entries[0].clone()
}
