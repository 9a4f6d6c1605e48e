//! What is on disk, for before/after comparisons: a snapshot of a tree
//! (symlinks recorded, never followed), the upload temp files left in it,
//! and a bounded wait for the disk to reach a state.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use crate::inspect::sha256_hex;

/// Temp files of an upload in progress start and end like this
/// (`.httpuploader-<hex>.part`).
pub const TEMP_PREFIX: &str = ".httpuploader-";
/// See [`TEMP_PREFIX`].
pub const TEMP_SUFFIX: &str = ".part";

/// One entry of a [`Snapshot`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Entry {
    /// A directory.
    Dir,
    /// A regular file: its size and SHA-256.
    File { len: u64, sha256: String },
    /// A symlink and where it points (not followed).
    Link(PathBuf),
    /// Anything else.
    Other,
}

/// Every entry under a directory, by path relative to it (`/`-separated).
pub type Snapshot = BTreeMap<String, Entry>;

/// Records every entry under `dir` (hidden ones included), without
/// following symlinks. An entry that vanishes while it is being recorded
/// (a temp file the server is removing) is left out.
pub fn snapshot(dir: &Path) -> Snapshot {
    let mut entries = Snapshot::new();
    let mut pending = vec![(dir.to_owned(), String::new())];
    while let Some((path, relative)) = pending.pop() {
        let listing = match fs::read_dir(&path) {
            Ok(listing) => listing,
            Err(e) if e.kind() == io::ErrorKind::NotFound && !relative.is_empty() => {
                entries.remove(&relative);
                continue;
            }
            Err(e) => panic!("list {}: {e}", path.display()),
        };
        for item in listing {
            let item = item.expect("read a directory entry");
            let name = item.file_name().to_string_lossy().into_owned();
            let rel = if relative.is_empty() {
                name
            } else {
                format!("{relative}/{name}")
            };
            let full = item.path();
            if let Some(entry) = record(&full) {
                if entry == Entry::Dir {
                    pending.push((full, rel.clone()));
                }
                entries.insert(rel, entry);
            }
        }
    }
    entries
}

/// One entry, or `None` if it is gone.
fn record(full: &Path) -> Option<Entry> {
    let gone = |e: io::Error| {
        assert!(
            e.kind() == io::ErrorKind::NotFound,
            "read {}: {e}",
            full.display()
        );
    };
    let meta = fs::symlink_metadata(full).map_err(gone).ok()?;
    Some(if meta.file_type().is_symlink() {
        Entry::Link(fs::read_link(full).map_err(gone).ok()?)
    } else if meta.is_dir() {
        Entry::Dir
    } else if meta.is_file() {
        let content = fs::read(full).map_err(gone).ok()?;
        Entry::File {
            len: content.len() as u64,
            sha256: sha256_hex(&content),
        }
    } else {
        Entry::Other
    })
}

/// Whether `name` is an upload temp file name.
pub fn is_temp_name(name: &str) -> bool {
    name.starts_with(TEMP_PREFIX) && name.ends_with(TEMP_SUFFIX)
}

/// Every upload temp file anywhere under `dir` (symlinks not followed;
/// contents not read), as paths relative to `dir`.
pub fn temp_files(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut pending = vec![(dir.to_owned(), String::new())];
    while let Some((path, relative)) = pending.pop() {
        let Ok(listing) = fs::read_dir(&path) else {
            // Gone while we looked (or never there): nothing in it.
            continue;
        };
        for item in listing.flatten() {
            let name = item.file_name().to_string_lossy().into_owned();
            let rel = if relative.is_empty() {
                name.clone()
            } else {
                format!("{relative}/{name}")
            };
            if is_temp_name(&name) {
                found.push(rel);
            } else if item.file_type().is_ok_and(|t| t.is_dir()) {
                pending.push((item.path(), rel));
            }
        }
    }
    found.sort();
    found
}

/// The names directly in `dir`, sorted (hidden ones included).
pub fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("list {}: {e}", dir.display()))
        .map(|e| {
            e.expect("read a directory entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    names
}

/// Polls `done` every 20 ms until it holds or `timeout` passes; returns
/// whether it held.
pub fn wait_until(timeout: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if done() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// Panics with the differing entries unless `after` equals `before`.
pub fn assert_same(before: &Snapshot, after: &Snapshot, what: &str) {
    if before == after {
        return;
    }
    let mut lines = Vec::new();
    for (path, entry) in before {
        match after.get(path) {
            None => lines.push(format!("  removed  {path}: {entry:?}")),
            Some(now) if now != entry => {
                lines.push(format!("  changed  {path}: {entry:?} -> {now:?}"))
            }
            Some(_) => {}
        }
    }
    for (path, entry) in after {
        if !before.contains_key(path) {
            lines.push(format!("  added    {path}: {entry:?}"));
        }
    }
    panic!("{what}: the tree on disk changed:\n{}", lines.join("\n"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_files_dirs_and_links_without_following() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("d")).unwrap();
        fs::write(dir.path().join("d/f"), b"abc").unwrap();
        fs::write(dir.path().join(".httpuploader-01.part"), b"").unwrap();
        std::os::unix::fs::symlink("/", dir.path().join("l")).unwrap();
        let snap = snapshot(dir.path());
        assert_eq!(snap["d"], Entry::Dir);
        assert_eq!(
            snap["d/f"],
            Entry::File {
                len: 3,
                sha256: sha256_hex(b"abc")
            }
        );
        assert_eq!(snap["l"], Entry::Link(PathBuf::from("/")));
        assert_eq!(snap.len(), 4, "the link was not followed: {snap:?}");
        assert_eq!(temp_files(dir.path()), [".httpuploader-01.part"]);
    }
}
