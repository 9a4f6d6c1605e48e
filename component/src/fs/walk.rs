//! The tree-walking half of [`crate::fs`], for archives: every file and
//! directory below a directory, one entry at a time.
//!
//! The walk is lazy and iterative: it holds one sorted list of names per
//! open directory (never file contents), so a 40-level tree costs 40 small
//! lists and no recursion. Entries come in a fixed order (by name,
//! depth-first, a directory before its contents) so that the same tree
//! always gives the same archive.
//!
//! Symlinks are resolved by the walk itself, one component at a time, the
//! way the kernel would, but inside the served root only: a link whose
//! target is absolute or climbs above the root is skipped, on every
//! platform, before anything is opened through it (under WASI the sandbox
//! would refuse it anyway). A link that stays inside the root is followed,
//! and a directory link that leads back to a directory the walk is already
//! inside is skipped, so a loop cannot make an endless archive.

use std::fs::{self, Metadata};
use std::io;
use std::path::Path;
use std::time::SystemTime;

use crate::share_path::SharePath;

use super::{Kind, is_temp_name};

/// Mode bits for files where the platform has none (WASI).
pub const DEFAULT_FILE_MODE: u32 = 0o644;
/// Mode bits for directories where the platform has none (WASI).
pub const DEFAULT_DIR_MODE: u32 = 0o755;
/// Symlinks followed while resolving one path, as the kernel's limit.
const MAX_LINK_HOPS: usize = 40;

/// One file or directory met by a [`Walk`], or the file named by
/// [`archive_entry`].
#[derive(Clone, Debug)]
pub struct ArchiveEntry {
    /// The path below the walked directory, `/`-separated, never empty,
    /// never starting with `/` and never holding a `..` segment.
    pub name: String,
    /// The entry's path from the served root, as the client would name it.
    pub path: SharePath,
    /// The same entry with every symlink resolved: where it really lives,
    /// which is what permissions and the hidden rule are judged on.
    pub real: SharePath,
    /// [`Kind::File`] or [`Kind::Dir`]; nothing else is walked.
    pub kind: Kind,
    /// The size in bytes when the entry was met (0 for directories).
    pub len: u64,
    pub modified: Option<SystemTime>,
    /// Permission bits (`0o7777` at most).
    pub mode: u32,
}

impl ArchiveEntry {
    fn new(name: String, path: SharePath, real: SharePath, meta: &Metadata) -> ArchiveEntry {
        let kind = if meta.is_dir() { Kind::Dir } else { Kind::File };
        ArchiveEntry {
            name,
            path,
            real,
            kind,
            len: if kind == Kind::Dir { 0 } else { meta.len() },
            modified: meta.modified().ok(),
            mode: mode(meta),
        }
    }
}

/// The metadata an archive needs of the single file `path` (symlinks
/// followed); its `name` is the file's own name.
pub fn archive_entry(root: &Path, path: &SharePath) -> io::Result<ArchiveEntry> {
    let meta = fs::metadata(path.under(root))?;
    Ok(ArchiveEntry::new(
        path.name().to_owned(),
        path.clone(),
        path.clone(),
        &meta,
    ))
}

/// Walks everything below directory `dir` (not `dir` itself), leaving out
/// hidden names unless `show_hidden`, our temporary files, names that are
/// not UTF-8, and anything that is neither a file nor a directory.
///
/// The walk yields an error, and should then be abandoned, when a
/// directory cannot be read or an entry vanishes while it is walked: an
/// archive must not silently miss what it was asked to hold. Symlinks that
/// are not followed, special files and non-UTF-8 names are logged to
/// stderr, with their share path, as they are left out.
pub fn walk(root: &Path, dir: &SharePath, show_hidden: bool) -> io::Result<Walk> {
    let real = resolve(root, dir)?.ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::PermissionDenied,
            "the directory leads out of the root",
        )
    })?;
    let names = child_names(root, dir, show_hidden)?;
    let top = Frame {
        path: dir.clone(),
        name: String::new(),
        real,
        names: names.into_iter(),
    };
    Ok(Walk {
        root: root.to_path_buf(),
        show_hidden,
        stack: vec![top],
    })
}

/// A lazy, depth-first walk of a directory tree; see [`walk`].
pub struct Walk {
    root: std::path::PathBuf,
    show_hidden: bool,
    /// The directories being walked, outermost first.
    stack: Vec<Frame>,
}

/// One open directory of a [`Walk`].
struct Frame {
    /// As the client would name it.
    path: SharePath,
    /// The archive name (empty for the walked directory itself).
    name: String,
    /// With every symlink resolved: how loops are recognized.
    real: SharePath,
    /// The names not yet visited, sorted.
    names: std::vec::IntoIter<String>,
}

/// What the walk does with one name.
enum Visit {
    /// Leave it out, for the logged reason.
    Skip(String),
    /// A file, and its path with every symlink resolved.
    File(Metadata, SharePath),
    /// Descend into it; its path with every symlink resolved.
    Dir(Metadata, SharePath),
}

impl Iterator for Walk {
    type Item = io::Result<ArchiveEntry>;

    fn next(&mut self) -> Option<io::Result<ArchiveEntry>> {
        loop {
            let frame = self.stack.last_mut()?;
            let Some(child) = frame.names.next() else {
                self.stack.pop();
                continue;
            };
            let path = frame.path.child(&child);
            // A `\` is a separator to Windows unpackers: `a\..\..\x` must
            // not become a way out of the folder the archive is unpacked in.
            let entry_name = child.replace('\\', "_");
            let name = if frame.name.is_empty() {
                entry_name
            } else {
                format!("{}/{entry_name}", frame.name)
            };
            let real = frame.real.child(path.name());
            let visit = match self.visit(&path, real) {
                Ok(visit) => visit,
                Err(err) => return Some(Err(err)),
            };
            let (meta, real) = match visit {
                Visit::Skip(reason) => {
                    crate::format::log(&format!("archive: left out `{path}`: {reason}"));
                    continue;
                }
                Visit::File(meta, real) => (meta, real),
                Visit::Dir(meta, real) => {
                    let names = match child_names(&self.root, &path, self.show_hidden) {
                        Ok(names) => names,
                        Err(err) => return Some(Err(err)),
                    };
                    let frame = Frame {
                        path: path.clone(),
                        name: name.clone(),
                        real: real.clone(),
                        names: names.into_iter(),
                    };
                    self.stack.push(frame);
                    (meta, real)
                }
            };
            return Some(Ok(ArchiveEntry::new(name, path, real, &meta)));
        }
    }
}

impl Walk {
    /// Decides about `path`, whose resolved path is `real` unless it is a
    /// symlink.
    fn visit(&self, path: &SharePath, real: SharePath) -> io::Result<Visit> {
        let host = path.under(&self.root);
        let own = fs::symlink_metadata(&host)?;
        let (meta, real) = if own.is_symlink() {
            let real = match resolve(&self.root, path) {
                Ok(Some(real)) => real,
                Ok(None) => return Ok(Visit::Skip("a symlink that leads out of the root".into())),
                Err(err) => {
                    return Ok(Visit::Skip(format!(
                        "a symlink that cannot be followed inside the root ({err})"
                    )));
                }
            };
            match fs::metadata(&host) {
                Ok(meta) => (meta, real),
                // Under WASI, the sandbox's refusal lands here.
                Err(err) => {
                    return Ok(Visit::Skip(format!(
                        "a symlink that cannot be followed inside the root ({err})"
                    )));
                }
            }
        } else {
            (own, real)
        };
        if meta.is_file() {
            return Ok(Visit::File(meta, real));
        }
        if !meta.is_dir() {
            return Ok(Visit::Skip("neither a file nor a directory".into()));
        }
        if self.stack.iter().any(|frame| frame.real == real) {
            return Ok(Visit::Skip(format!(
                "a symlink that loops back to `{real}`"
            )));
        }
        Ok(Visit::Dir(meta, real))
    }
}

/// The walkable names in directory `dir`, sorted.
fn child_names(root: &Path, dir: &SharePath, show_hidden: bool) -> io::Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in fs::read_dir(dir.under(root))? {
        let name = match entry?.file_name().into_string() {
            Ok(name) => name,
            Err(raw) => {
                let parent = if dir.is_root() {
                    String::new()
                } else {
                    dir.to_string()
                };
                let shown = raw.to_string_lossy();
                crate::format::log(&format!(
                    "archive: left out `{parent}/{shown}`: not a UTF-8 name"
                ));
                continue;
            }
        };
        if (name.starts_with('.') && !show_hidden) || is_temp_name(&name) {
            continue;
        }
        names.push(name);
    }
    names.sort_unstable();
    Ok(names)
}

/// `path` with every symlink in it resolved, as a path from the root; or
/// `None` when it leads out of the root (an absolute target, or more `..`
/// than there are levels). Fails on a dangling link or a loop.
pub fn resolve(root: &Path, path: &SharePath) -> io::Result<Option<SharePath>> {
    resolve_with(root, path, false)
}

/// Like [`resolve`], for a path that may not exist yet: from the first
/// name of `path` itself that is missing, the rest is kept as it is (a
/// missing name can hold no links). A dangling link still fails.
pub fn resolve_new(root: &Path, path: &SharePath) -> io::Result<Option<SharePath>> {
    resolve_with(root, path, true)
}

fn resolve_with(root: &Path, path: &SharePath, missing_ok: bool) -> io::Result<Option<SharePath>> {
    // Segments still to walk, the next one last; each marked with whether
    // it came from a link's target rather than from `path` itself.
    let mut todo: Vec<(String, bool)> = path
        .segments()
        .iter()
        .rev()
        .map(|s| (s.clone(), false))
        .collect();
    let mut done = SharePath::root();
    let mut hops = 0;
    while let Some((segment, from_link)) = todo.pop() {
        match segment.as_str() {
            "" | "." => continue,
            ".." if done.is_root() => return Ok(None),
            ".." => {
                done = done.parent();
                continue;
            }
            _ => {}
        }
        let next = done.child(&segment);
        let host = next.under(root);
        let meta = match fs::symlink_metadata(&host) {
            // Link targets are walked before the rest of `path`, so what
            // is left here is all `path`'s own, and missing too.
            Err(err) if missing_ok && !from_link && err.kind() == io::ErrorKind::NotFound => {
                done = next;
                for (rest, _) in todo.drain(..).rev() {
                    done = done.child(&rest);
                }
                return Ok(Some(done));
            }
            meta => meta?,
        };
        if !meta.is_symlink() {
            done = next;
            continue;
        }
        hops += 1;
        if hops > MAX_LINK_HOPS {
            return Err(io::Error::other("too many levels of symlinks"));
        }
        let target = fs::read_link(&host)?;
        if target.has_root() {
            return Ok(None);
        }
        let target = target.to_str().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                "a link target that is not UTF-8",
            )
        })?;
        todo.extend(target.split('/').rev().map(|s| (s.to_owned(), true)));
    }
    Ok(Some(done))
}

/// The permission bits of an entry, or the defaults where the platform
/// has none.
fn mode(meta: &Metadata) -> u32 {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        meta.permissions().mode() & 0o7777
    }
    #[cfg(not(unix))]
    {
        if meta.is_dir() {
            DEFAULT_DIR_MODE
        } else {
            DEFAULT_FILE_MODE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh directory under the temp dir, removed on drop.
    struct Tree(std::path::PathBuf);

    impl Tree {
        fn new(tag: &str) -> Tree {
            let dir = std::env::temp_dir().join(format!("hu-walk-{tag}-{}", std::process::id()));
            let _ = fs::remove_dir_all(&dir);
            fs::create_dir_all(&dir).unwrap();
            Tree(dir)
        }

        fn file(&self, rel: &str, body: &str) {
            let path = self.0.join(rel);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, body).unwrap();
        }
    }

    impl Drop for Tree {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn names(root: &Path, dir: &str, show_hidden: bool) -> Vec<String> {
        let dir = SharePath::from_decoded(dir).unwrap();
        walk(root, &dir, show_hidden)
            .unwrap()
            .map(|e| e.unwrap().name)
            .collect()
    }

    #[test]
    fn walks_depth_first_in_name_order() {
        let tree = Tree::new("order");
        tree.file("b/z.txt", "z");
        tree.file("b/a/x.txt", "x");
        tree.file("a.txt", "a");
        tree.file(".hidden/h.txt", "h");
        tree.file(".httpuploader-0000000000000001.part", "partial upload");
        fs::create_dir(tree.0.join("empty")).unwrap();
        assert_eq!(
            names(&tree.0, "/", false),
            ["a.txt", "b", "b/a", "b/a/x.txt", "b/z.txt", "empty"]
        );
        assert_eq!(names(&tree.0, "/", true)[..2], [".hidden", ".hidden/h.txt"]);
        assert_eq!(names(&tree.0, "/b", false), ["a", "a/x.txt", "z.txt"]);
    }

    #[test]
    fn deep_trees_need_no_recursion() {
        let tree = Tree::new("deep");
        let deep: Vec<String> = (0..60).map(|i| format!("d{i}")).collect();
        tree.file(&format!("{}/leaf.txt", deep.join("/")), "leaf");
        let all = names(&tree.0, "/", false);
        assert_eq!(all.len(), 61);
        assert_eq!(all.last().unwrap(), &format!("{}/leaf.txt", deep.join("/")));
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_inside_are_followed_and_outside_or_looping_ones_are_not() {
        use std::os::unix::fs::symlink;
        let tree = Tree::new("links");
        let outside = Tree::new("links-outside");
        outside.file("secret.txt", "secret");
        tree.file("d/real.txt", "real");
        symlink("d/real.txt", tree.0.join("inside.txt")).unwrap();
        symlink("../d", tree.0.join("d/loop")).unwrap();
        symlink("d", tree.0.join("linked-dir")).unwrap();
        symlink(outside.0.join("secret.txt"), tree.0.join("absolute.txt")).unwrap();
        let climb = format!(
            "../{}/secret.txt",
            outside.0.file_name().unwrap().to_str().unwrap()
        );
        symlink(&climb, tree.0.join("climb.txt")).unwrap();
        symlink("missing", tree.0.join("dangling")).unwrap();
        assert_eq!(
            names(&tree.0, "/", false),
            [
                "d",
                "d/real.txt",
                "inside.txt",
                "linked-dir",
                "linked-dir/real.txt"
            ]
        );
        let root = SharePath::root();
        assert_eq!(
            resolve(
                &tree.0,
                &SharePath::from_decoded("/linked-dir/loop").unwrap()
            )
            .unwrap(),
            Some(SharePath::from_decoded("/d").unwrap())
        );
        assert_eq!(
            resolve(&tree.0, &SharePath::from_decoded("/climb.txt").unwrap()).unwrap(),
            None
        );
        assert_eq!(resolve(&tree.0, &root).unwrap(), Some(root));

        // A path that does not exist yet keeps its missing tail, through
        // links before it; a dangling link is still an error.
        let new = |p: &str| resolve_new(&tree.0, &SharePath::from_decoded(p).unwrap());
        assert_eq!(
            new("/linked-dir/new/deeper.txt").unwrap(),
            Some(SharePath::from_decoded("/d/new/deeper.txt").unwrap())
        );
        assert_eq!(new("/climb.txt/x").unwrap(), None);
        let dangling = new("/dangling/x.txt").unwrap_err();
        assert_eq!(dangling.kind(), io::ErrorKind::NotFound);
        assert!(resolve(&tree.0, &SharePath::from_decoded("/d/new").unwrap()).is_err());
    }

    #[test]
    fn entries_carry_size_mode_and_time() {
        let tree = Tree::new("meta");
        tree.file("a.txt", "hello");
        let entry = archive_entry(&tree.0, &SharePath::from_decoded("/a.txt").unwrap()).unwrap();
        assert_eq!(
            (entry.name.as_str(), entry.kind, entry.len),
            ("a.txt", Kind::File, 5)
        );
        assert!(entry.modified.is_some());
        assert!(entry.mode & 0o400 != 0 && entry.mode <= 0o7777);
    }
}
