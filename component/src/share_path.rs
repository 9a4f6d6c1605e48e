//! `SharePath`: a path inside the served folder, as the client named it.
//!
//! Its constructor is the traversal guard. A URL path is percent-decoded
//! exactly once, as UTF-8, then split on `/`; empty and `.` segments are
//! dropped, and a `..` segment is refused rather than resolved, so no
//! value of this type can name anything above the served root. Symlinks
//! are the sandbox's business: the component only ever opens paths below
//! its preopened root, and WASI refuses any that resolve outside it.

use std::fmt;
use std::path::{Path, PathBuf};

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

/// Characters left as they are in hrefs: RFC 3986 unreserved ones.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Why a client's path was refused before touching anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathError {
    /// A `..` segment (403): the client tried to climb out of the root.
    Traversal(String),
    /// A NUL byte (400): no file name can hold one.
    Nul(String),
    /// The decoded bytes are not UTF-8 (400).
    InvalidUtf8(String),
    /// Longer than any file system path can be (400); holds the start.
    TooLong(String),
}

/// The longest path below the root, in bytes (Linux's `PATH_MAX`): the
/// file system refuses longer ones anyway, and bounding it bounds the work
/// of resolving symlinks along a path.
pub const MAX_PATH_BYTES: usize = 4096;

/// A validated path below the served root; the root itself has no segments.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct SharePath {
    segments: Vec<String>,
}

impl SharePath {
    /// The served root, `/`.
    pub fn root() -> SharePath {
        SharePath::default()
    }

    /// Decodes a raw (percent-encoded) URL path, without its query.
    pub fn from_url(raw: &str) -> Result<SharePath, PathError> {
        let bytes: Vec<u8> = percent_decode_str(raw).collect();
        let decoded = String::from_utf8(bytes)
            .map_err(|e| PathError::InvalidUtf8(String::from_utf8_lossy(e.as_bytes()).into()))?;
        SharePath::from_decoded(&decoded)
    }

    /// Checks an already decoded path, such as a `dest` argument.
    pub fn from_decoded(path: &str) -> Result<SharePath, PathError> {
        if path.contains('\0') {
            return Err(PathError::Nul(path.replace('\0', "\\0")));
        }
        let mut segments = Vec::new();
        for segment in path.split('/') {
            match segment {
                "" | "." => {}
                ".." => return Err(PathError::Traversal(path.to_owned())),
                name => segments.push(name.to_owned()),
            }
        }
        let length: usize = segments.iter().map(|s| s.len() + 1).sum();
        if length > MAX_PATH_BYTES {
            let start: String = path.chars().take(60).collect();
            return Err(PathError::TooLong(start));
        }
        Ok(SharePath { segments })
    }

    /// Whether this is the served root.
    pub fn is_root(&self) -> bool {
        self.segments.is_empty()
    }

    /// The segments from the root down.
    pub fn segments(&self) -> &[String] {
        &self.segments
    }

    /// The last segment; empty for the root.
    pub fn name(&self) -> &str {
        self.segments.last().map_or("", String::as_str)
    }

    /// The containing directory; the root is its own parent.
    pub fn parent(&self) -> SharePath {
        let mut segments = self.segments.clone();
        segments.pop();
        SharePath { segments }
    }

    /// This path with one more segment. `name` must be a single plain
    /// name (no `/`, not `.` or `..`), as directory entries are.
    pub fn child(&self, name: &str) -> SharePath {
        debug_assert!(!name.contains('/') && name != ".." && name != ".");
        let mut segments = self.segments.clone();
        segments.push(name.to_owned());
        SharePath { segments }
    }

    /// This path, then each parent up to and including the root.
    pub fn ancestors(&self) -> impl Iterator<Item = SharePath> + '_ {
        (0..=self.segments.len()).rev().map(|n| SharePath {
            segments: self.segments[..n].to_vec(),
        })
    }

    /// Whether `self` is `other` or lies below it.
    pub fn starts_with(&self, other: &SharePath) -> bool {
        self.segments.starts_with(&other.segments)
    }

    /// Whether any segment is a hidden name (starts with `.`).
    pub fn is_hidden(&self) -> bool {
        self.segments.iter().any(|s| s.starts_with('.'))
    }

    /// The file system path of this entry under `root`.
    pub fn under(&self, root: &Path) -> PathBuf {
        let mut path = root.to_path_buf();
        path.extend(&self.segments);
        path
    }

    /// The path percent-encoded for use in a URL, `/`-rooted; a directory
    /// other than the root gets no trailing slash.
    pub fn encoded(&self) -> String {
        if self.segments.is_empty() {
            return "/".to_owned();
        }
        let mut out = String::new();
        for segment in &self.segments {
            out.push('/');
            out.extend(utf8_percent_encode(segment, SEGMENT));
        }
        out
    }
}

/// Shows the path as the client sees it: `/`-rooted, decoded.
impl fmt::Display for SharePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.segments.is_empty() {
            return f.write_str("/");
        }
        for segment in &self.segments {
            write!(f, "/{segment}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &str) -> Result<String, PathError> {
        SharePath::from_url(raw).map(|p| p.to_string())
    }

    #[test]
    fn decodes_once_and_drops_empty_and_dot_segments() {
        assert_eq!(parse("/").unwrap(), "/");
        assert_eq!(parse("").unwrap(), "/");
        assert_eq!(parse("//a/./b//").unwrap(), "/a/b");
        assert_eq!(parse("/a%20b/c%23d").unwrap(), "/a b/c#d");
        assert_eq!(parse("/%2541").unwrap(), "/%41");
        assert_eq!(parse("/caf%C3%A9").unwrap(), "/café");
        assert_eq!(parse("/a+b").unwrap(), "/a+b");
    }

    #[test]
    fn encoded_slashes_become_separators_and_leading_ones_stay_in_root() {
        assert_eq!(parse("/%2Fetc%2Fpasswd").unwrap(), "/etc/passwd");
        assert_eq!(parse("//etc/passwd").unwrap(), "/etc/passwd");
    }

    #[test]
    fn refuses_dot_dot_in_every_spelling() {
        for raw in [
            "/..",
            "/a/../b",
            "/%2e%2e",
            "/%2E%2E/x",
            "/..%2fetc",
            "/a/%2e%2e%2f%2e%2e",
        ] {
            assert!(
                matches!(SharePath::from_url(raw), Err(PathError::Traversal(_))),
                "{raw}"
            );
        }
        assert_eq!(parse("/...").unwrap(), "/...");
        assert_eq!(parse("/..a").unwrap(), "/..a");
    }

    #[test]
    fn refuses_nul_and_invalid_utf8() {
        assert!(matches!(
            SharePath::from_url("/a%00b"),
            Err(PathError::Nul(_))
        ));
        assert!(matches!(
            SharePath::from_url("/%ff"),
            Err(PathError::InvalidUtf8(_))
        ));
        assert!(matches!(
            SharePath::from_url("/%C3"),
            Err(PathError::InvalidUtf8(_))
        ));
    }

    #[test]
    fn encodes_every_reserved_character() {
        let path = SharePath::from_decoded("/dir [1]/a #%+?&=é.txt").unwrap();
        assert_eq!(
            path.encoded(),
            "/dir%20%5B1%5D/a%20%23%25%2B%3F%26%3D%C3%A9.txt"
        );
        assert_eq!(SharePath::from_url(&path.encoded()).unwrap(), path);
        assert_eq!(SharePath::root().encoded(), "/");
    }

    #[test]
    fn navigation() {
        let path = SharePath::from_decoded("/a/b/c").unwrap();
        assert_eq!(path.name(), "c");
        assert_eq!(path.parent().to_string(), "/a/b");
        assert_eq!(SharePath::root().parent(), SharePath::root());
        let up: Vec<String> = path.ancestors().map(|p| p.to_string()).collect();
        assert_eq!(up, ["/a/b/c", "/a/b", "/a", "/"]);
        assert!(path.starts_with(&SharePath::from_decoded("a/b").unwrap()));
        assert!(!path.starts_with(&SharePath::from_decoded("/a/bc").unwrap()));
        assert_eq!(path.child("d").to_string(), "/a/b/c/d");
        assert_eq!(path.under(Path::new("/srv")), Path::new("/srv/a/b/c"));
    }

    #[test]
    fn hidden_segments() {
        assert!(SharePath::from_decoded("/.git/config").unwrap().is_hidden());
        assert!(SharePath::from_decoded("/a/.env").unwrap().is_hidden());
        assert!(!SharePath::from_decoded("/a/b.env").unwrap().is_hidden());
    }
}
