//! All file system access of the component. Every path here is a
//! [`SharePath`] joined under the served root; under WASI the root is a
//! preopened directory and the sandbox refuses anything that would leave it
//! (`..`, absolute or outward symlinks), which surfaces as an `io::Error`.

use std::fs;
use std::io;
use std::path::Path;
use std::time::SystemTime;

use sha2::{Digest, Sha256};

use crate::share_path::SharePath;

mod read;
#[cfg(target_os = "wasi")]
mod wasi_file;
mod write;
pub use read::ReadFile;
pub use write::{
    TEMP_PREFIX, TEMP_SUFFIX, TempFile, copy_file, copy_stream, copy_tree, create_dir_all,
    is_temp_name, remove, rename,
};

/// Bytes read per call when hashing, archiving or copying a file.
pub const CHUNK: usize = 256 * 1024;

/// What a path is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    File,
    Dir,
    /// Sockets, devices and the like: never served.
    Other,
}

/// The facts about an entry the server uses (symlinks followed).
#[derive(Clone, Debug)]
pub struct Meta {
    pub kind: Kind,
    pub len: u64,
    pub modified: Option<SystemTime>,
    pub accessed: Option<SystemTime>,
    /// Creation time where the platform has it, else the change time.
    pub created: Option<SystemTime>,
}

impl Meta {
    fn from_std(meta: &fs::Metadata) -> Meta {
        let kind = if meta.is_dir() {
            Kind::Dir
        } else if meta.is_file() {
            Kind::File
        } else {
            Kind::Other
        };
        Meta {
            kind,
            len: meta.len(),
            modified: meta.modified().ok(),
            accessed: meta.accessed().ok(),
            created: meta.created().ok().or_else(|| meta.modified().ok()),
        }
    }
}

/// One directory entry that can be served.
#[derive(Clone, Debug)]
pub struct DirEntry {
    pub name: String,
    pub meta: Meta,
}

/// Stats `path` under `root`, following symlinks.
pub fn stat(root: &Path, path: &SharePath) -> io::Result<Meta> {
    fs::metadata(path.under(root)).map(|m| Meta::from_std(&m))
}

/// Stats `path` itself: a symlink counts as a file, and is not followed.
pub fn lstat(root: &Path, path: &SharePath) -> io::Result<Meta> {
    let meta = fs::symlink_metadata(path.under(root))?;
    let mut found = Meta::from_std(&meta);
    if meta.file_type().is_symlink() {
        found.kind = Kind::File;
    }
    Ok(found)
}

/// Lists a directory. Entries that cannot be stat'ed (a symlink leading
/// out of the root, a dangling one), whose names are not UTF-8, or that
/// are neither files nor directories are left out; so are hidden ones
/// unless `show_hidden`.
pub fn read_dir(root: &Path, path: &SharePath, show_hidden: bool) -> io::Result<Vec<DirEntry>> {
    let dir = path.under(root);
    let mut entries = Vec::new();
    for entry in fs::read_dir(&dir)? {
        let entry = entry?;
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        if (name.starts_with('.') && !show_hidden) || is_temp_name(&name) {
            continue;
        }
        let Ok(meta) = fs::metadata(dir.join(&name)) else {
            continue;
        };
        let meta = Meta::from_std(&meta);
        if meta.kind != Kind::Other {
            entries.push(DirEntry { name, meta });
        }
    }
    Ok(entries)
}

/// The SHA-256 of a file, as lower-case hex.
pub fn sha256(root: &Path, path: &SharePath) -> io::Result<String> {
    let (mut file, _) = ReadFile::open(root, path)?;
    let mut hasher = Sha256::new();
    loop {
        let chunk = file.read_chunk(CHUNK)?;
        if chunk.is_empty() {
            break;
        }
        hasher.update(&chunk);
    }
    Ok(hex(&hasher.finalize()))
}

/// Reads a small text file (the permissions file).
pub fn read_text(path: &Path) -> io::Result<String> {
    fs::read_to_string(path)
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("hu-fs-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("sub")).unwrap();
        fs::write(dir.join("a.txt"), b"abc").unwrap();
        fs::write(dir.join(".hidden"), b"x").unwrap();
        dir
    }

    #[test]
    fn lists_stats_and_hashes() {
        let root = tree();
        let mut names: Vec<String> = read_dir(&root, &SharePath::root(), false)
            .unwrap()
            .into_iter()
            .map(|e| e.name)
            .collect();
        names.sort();
        assert_eq!(names, ["a.txt", "sub"]);
        assert_eq!(read_dir(&root, &SharePath::root(), true).unwrap().len(), 3);
        let file = SharePath::from_decoded("/a.txt").unwrap();
        assert_eq!(stat(&root, &file).unwrap().kind, Kind::File);
        assert_eq!(stat(&root, &file).unwrap().len, 3);
        assert_eq!(
            sha256(&root, &file).unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        fs::remove_dir_all(root).unwrap();
    }
}

// Walking a tree, for archives (issue #4). It lives in a file of its own,
// `fs/walk.rs`, and is declared here, apart from the rest.
mod walk;
pub use walk::{
    ArchiveEntry, DEFAULT_DIR_MODE, DEFAULT_FILE_MODE, Walk, archive_entry, resolve, resolve_new,
    walk,
};
