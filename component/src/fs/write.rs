//! The writing half of [`crate::fs`]: files appear whole or not at all.
//!
//! New content goes to a hidden temporary file in the target's own
//! directory (so the final rename never crosses a file system), is synced,
//! then renamed over the target. A [`TempFile`] that is dropped before
//! [`TempFile::commit`] removes itself: an aborted upload or copy leaves
//! nothing behind, and an existing file of that name is never touched.

use std::collections::hash_map::RandomState;
use std::fs::{self, File};
use std::hash::BuildHasher;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::share_path::SharePath;

use super::CHUNK;

/// Temporary names start with this and end with [`TEMP_SUFFIX`]; listings
/// never show such names, even with hidden files shown.
pub const TEMP_PREFIX: &str = ".httpuploader-";
/// See [`TEMP_PREFIX`].
pub const TEMP_SUFFIX: &str = ".part";

/// Whether `name` is one of our temporary files.
pub fn is_temp_name(name: &str) -> bool {
    name.starts_with(TEMP_PREFIX) && name.ends_with(TEMP_SUFFIX)
}

/// The writable file behind a [`TempFile`]: see `wasi_file.rs` for why
/// WASI writes go through `wasi:filesystem` directly.
#[cfg(target_os = "wasi")]
type Sink = super::wasi_file::WasiFile;
#[cfg(not(target_os = "wasi"))]
type Sink = File;

#[cfg(target_os = "wasi")]
fn create_new(path: &Path) -> io::Result<Sink> {
    Sink::create_new(path)
}

#[cfg(not(target_os = "wasi"))]
fn create_new(path: &Path) -> io::Result<Sink> {
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
}

/// Removes an uncommitted temporary: on WASI through the folder it was
/// created in, so it goes even if that folder was moved meanwhile.
#[cfg(target_os = "wasi")]
fn remove_temp(file: &Sink, _path: &Path) -> io::Result<()> {
    file.remove()
}

#[cfg(not(target_os = "wasi"))]
fn remove_temp(_file: &Sink, path: &Path) -> io::Result<()> {
    fs::remove_file(path)
}

/// A file being written under a temporary name; removed on drop unless
/// committed.
pub struct TempFile {
    file: Sink,
    path: PathBuf,
    committed: bool,
}

impl TempFile {
    /// Creates a new, empty temporary file in directory `dir`.
    pub fn create_in(root: &Path, dir: &SharePath) -> io::Result<TempFile> {
        let dir = dir.under(root);
        loop {
            let path = dir.join(format!("{TEMP_PREFIX}{:016x}{TEMP_SUFFIX}", unique()));
            match create_new(&path) {
                Ok(file) => {
                    return Ok(TempFile {
                        file,
                        path,
                        committed: false,
                    });
                }
                Err(err) if err.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(err) => return Err(err),
            }
        }
    }

    /// Syncs the content and renames it over `target`, replacing any file
    /// there in one step.
    pub fn commit(mut self, root: &Path, target: &SharePath) -> io::Result<()> {
        self.file.sync_all()?;
        fs::rename(&self.path, target.under(root))?;
        self.committed = true;
        Ok(())
    }
}

impl Write for TempFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.committed {
            let _ = remove_temp(&self.file, &self.path);
        }
    }
}

/// A number that differs between calls and between instances.
fn unique() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    RandomState::new().hash_one(count)
}

/// Creates directory `path` and any missing parents.
pub fn create_dir_all(root: &Path, path: &SharePath) -> io::Result<()> {
    fs::create_dir_all(path.under(root))
}

/// Removes a file, a symlink (never its target) or a whole directory tree.
pub fn remove(root: &Path, path: &SharePath) -> io::Result<()> {
    let full = path.under(root);
    if fs::symlink_metadata(&full)?.is_dir() {
        remove_tree(full)
    } else {
        fs::remove_file(full)
    }
}

/// Removes directory `dir` and all in it, depth first with a stack of its
/// own: std's `remove_dir_all` recurses once per level, which a deep
/// enough tree turns into a stack overflow in the guest. Symlinks inside
/// are removed as links.
fn remove_tree(dir: PathBuf) -> io::Result<()> {
    // Folders still to empty (`false`), or emptied and to remove (`true`).
    let mut todo = vec![(dir, false)];
    while let Some((dir, emptied)) = todo.pop() {
        if emptied {
            fs::remove_dir(&dir)?;
            continue;
        }
        todo.push((dir.clone(), true));
        for entry in fs::read_dir(&dir)? {
            let entry = entry?;
            if entry.file_type()?.is_dir() {
                todo.push((entry.path(), false));
            } else {
                fs::remove_file(entry.path())?;
            }
        }
    }
    Ok(())
}

/// Renames `from` to `to`, replacing a file at `to`.
pub fn rename(root: &Path, from: &SharePath, to: &SharePath) -> io::Result<()> {
    fs::rename(from.under(root), to.under(root))
}

/// Copies file `from` over `to` atomically (temporary file, then rename).
pub fn copy_file(root: &Path, from: &SharePath, to: &SharePath) -> io::Result<()> {
    let mut source = File::open(from.under(root))?;
    let mut temp = TempFile::create_in(root, &to.parent())?;
    copy_stream(&mut source, &mut temp)?;
    temp.commit(root, to)
}

/// Copies directory tree `from` to the new directory `to`. Symlinks are
/// not followed and not copied. On failure, what was made is removed.
pub fn copy_tree(root: &Path, from: &SharePath, to: &SharePath) -> io::Result<()> {
    fs::create_dir(to.under(root))?;
    let result = copy_dir_contents(root, from, to);
    if result.is_err() {
        let _ = fs::remove_dir_all(to.under(root));
    }
    result
}

fn copy_dir_contents(root: &Path, from: &SharePath, to: &SharePath) -> io::Result<()> {
    // An explicit stack, not recursion: trees can be deep.
    let mut pending = vec![(from.clone(), to.clone())];
    while let Some((source, target)) = pending.pop() {
        for entry in fs::read_dir(source.under(root))? {
            let entry = entry?;
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            if is_temp_name(&name) {
                continue;
            }
            let file_type = entry.file_type()?;
            let (from_child, to_child) = (source.child(&name), target.child(&name));
            if file_type.is_dir() {
                fs::create_dir(to_child.under(root))?;
                pending.push((from_child, to_child));
            } else if file_type.is_file() {
                copy_file(root, &from_child, &to_child)?;
            }
        }
    }
    Ok(())
}

/// Copies all of `source` into `target` in [`CHUNK`]-sized pieces.
pub fn copy_stream(source: &mut impl Read, target: &mut impl Write) -> io::Result<u64> {
    let mut buf = vec![0; CHUNK];
    let mut total = 0;
    loop {
        let n = source.read(&mut buf)?;
        if n == 0 {
            return Ok(total);
        }
        target.write_all(&buf[..n])?;
        total += n as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("hu-write-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn p(path: &str) -> SharePath {
        SharePath::from_decoded(path).unwrap()
    }

    #[test]
    fn a_dropped_temp_file_leaves_nothing() {
        let root = root("drop");
        let mut temp = TempFile::create_in(&root, &SharePath::root()).unwrap();
        temp.write_all(b"half").unwrap();
        drop(temp);
        assert_eq!(fs::read_dir(&root).unwrap().count(), 0);
        fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn a_committed_temp_file_replaces_the_target() {
        let root = root("commit");
        fs::write(root.join("t.txt"), b"old").unwrap();
        let mut temp = TempFile::create_in(&root, &SharePath::root()).unwrap();
        temp.write_all(b"new").unwrap();
        temp.commit(&root, &p("/t.txt")).unwrap();
        assert_eq!(fs::read(root.join("t.txt")).unwrap(), b"new");
        assert_eq!(fs::read_dir(&root).unwrap().count(), 1);
        fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn copies_trees_and_removes_symlinks_not_targets() {
        let root = root("tree");
        fs::create_dir_all(root.join("a/b/c")).unwrap();
        fs::write(root.join("a/b/c/f.txt"), b"deep").unwrap();
        fs::write(root.join("keep.txt"), b"keep").unwrap();
        copy_tree(&root, &p("/a"), &p("/z")).unwrap();
        assert_eq!(fs::read(root.join("z/b/c/f.txt")).unwrap(), b"deep");
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(root.join("keep.txt"), root.join("a/link")).unwrap();
            remove(&root, &p("/a")).unwrap();
            assert_eq!(fs::read(root.join("keep.txt")).unwrap(), b"keep");
        }
        fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn removes_deep_trees_without_recursion_and_links_as_links() {
        let root = root("deep");
        let deep = vec!["d"; 1000].join("/");
        fs::create_dir_all(root.join("t").join(&deep)).unwrap();
        fs::write(root.join("t").join(&deep).join("f.txt"), b"x").unwrap();
        fs::create_dir(root.join("kept")).unwrap();
        fs::write(root.join("kept/k.txt"), b"k").unwrap();
        std::os::unix::fs::symlink("../kept", root.join("t/link")).unwrap();
        remove(&root, &p("/t")).unwrap();
        assert!(!root.join("t").exists());
        assert_eq!(fs::read(root.join("kept/k.txt")).unwrap(), b"k");
        fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn temp_names_are_recognised() {
        assert!(is_temp_name(".httpuploader-0123.part"));
        assert!(!is_temp_name(".httpuploader-0123"));
        assert!(!is_temp_name("report.part"));
    }
}
