//! The temp tree every test serves: its layout is fixed here, so tests can
//! compare what the server says with what is on disk.
//!
//! ```text
//! <base>/                  a fresh temp dir
//!   share/                 the served root
//!     hello.txt  日本語.txt  a b#c%d+e[1].txt  what? & why.txt  empty.txt
//!     app.js  favicon.ico  mystery.zzz9  pattern.bin
//!     café/menu.txt  sub/readme.txt  sub/deeper/file.txt  api/inside.txt
//!     .secret  .hidden/inner.txt                 hidden
//!     outside-abs.txt -> <base>/outside/secret.txt   (absolute symlink)
//!     outside-rel.txt -> ../outside/secret.txt       (relative symlink)
//!     outside-dir     -> <base>/outside              (symlink to a dir)
//!   outside/secret.txt     "TOP SECRET", beside the root, never served
//!   config/                where permission files are written
//! ```

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use tempfile::TempDir;

/// Content of the file outside the served root that the in-root symlinks
/// point to. No response may ever contain it.
pub const OUTSIDE_SECRET: &str = "TOP SECRET";

/// Symlinks in the root that lead outside it: never listed, never followed.
pub const OUTSIDE_LINKS: &[&str] = &["outside-abs.txt", "outside-rel.txt", "outside-dir"];

/// Hidden regular files (path from the root, content).
pub const HIDDEN_FILES: &[(&str, &[u8])] = &[
    (".secret", b"a hidden file\n"),
    (".hidden/inner.txt", b"a file in a hidden folder\n"),
];

/// Visible directories, as paths from the root.
pub const VISIBLE_DIRS: &[&str] = &["api", "café", "sub", "sub/deeper"];

/// The visible regular files directly in the root, sorted by name.
pub const ROOT_FILES: &[&str] = &[
    "a b#c%d+e[1].txt",
    "app.js",
    "empty.txt",
    "favicon.ico",
    "hello.txt",
    "mystery.zzz9",
    "pattern.bin",
    "what? & why.txt",
    "日本語.txt",
];

/// The visible directories directly in the root, sorted by name.
pub const ROOT_DIRS: &[&str] = &["api", "café", "sub"];

/// Size of `pattern.bin`: several download chunks, not a round number.
const PATTERN_LEN: usize = 300_001;

/// Every visible regular file of the tree: path from the root and content.
pub fn visible_files() -> Vec<(&'static str, Vec<u8>)> {
    let favicon: &[u8] = &[0, 0, 1, 0, 1, 0, 16, 16, 0, 0, 1, 0, 32, 0, 0xff, 0xfe];
    let pattern: Vec<u8> = (0..PATTERN_LEN).map(|i| (i % 251) as u8).collect();
    vec![
        ("hello.txt", b"hello world\n".to_vec()),
        ("日本語.txt", "こんにちは、世界\n".as_bytes().to_vec()),
        (
            "a b#c%d+e[1].txt",
            b"a name with every URL metacharacter\n".to_vec(),
        ),
        ("what? & why.txt", b"question and ampersand\n".to_vec()),
        ("empty.txt", Vec::new()),
        (
            "app.js",
            b"console.log(\"app.js from the share\");\n".to_vec(),
        ),
        ("favicon.ico", favicon.to_vec()),
        (
            "mystery.zzz9",
            b"\x00\x01 an extension nobody knows\n".to_vec(),
        ),
        ("pattern.bin", pattern),
        ("caf\u{e9}/menu.txt", "crème brûlée\n".as_bytes().to_vec()),
        ("sub/readme.txt", b"the sub folder\n".to_vec()),
        ("sub/deeper/file.txt", b"two levels down\n".to_vec()),
        (
            "api/inside.txt",
            b"a file in a folder called api\n".to_vec(),
        ),
    ]
}

/// A fresh copy of the tree described in this module, removed on drop.
pub struct Tree {
    base: TempDir,
}

impl Tree {
    /// Lays out the whole tree in a new temp dir.
    pub fn new() -> Tree {
        let base = tempfile::Builder::new()
            .prefix("httpuploader-test-")
            .tempdir()
            .expect("create a temp dir");
        let tree = Tree { base };
        for (path, content) in visible_files().iter().map(|(p, c)| (*p, c.as_slice())) {
            tree.write(path, content);
        }
        for (path, content) in HIDDEN_FILES {
            tree.write(path, content);
        }

        // The target of the escape attempts sits beside the root, so that
        // `<root>/../outside/secret.txt` names a real file.
        let secret = tree.outside().join("secret.txt");
        fs::create_dir_all(tree.outside()).expect("create outside dir");
        fs::write(&secret, OUTSIDE_SECRET).expect("write outside file");
        symlink(&secret, tree.root().join("outside-abs.txt")).expect("symlink");
        symlink("../outside/secret.txt", tree.root().join("outside-rel.txt")).expect("symlink");
        symlink(tree.outside(), tree.root().join("outside-dir")).expect("symlink");

        fs::create_dir_all(tree.config_dir()).expect("create config dir");
        tree
    }

    /// The temp dir that holds everything; no response may name it.
    pub fn base(&self) -> &Path {
        self.base.path()
    }

    /// The served root.
    pub fn root(&self) -> PathBuf {
        self.base().join("share")
    }

    /// The folder beside the root that holds `secret.txt`.
    pub fn outside(&self) -> PathBuf {
        self.base().join("outside")
    }

    /// The folder, outside the root, where permission files are written.
    pub fn config_dir(&self) -> PathBuf {
        self.base().join("config")
    }

    /// Writes `content` to `path` (from the root), creating parent dirs.
    pub fn write(&self, path: &str, content: &[u8]) -> PathBuf {
        let full = self.root().join(path);
        fs::create_dir_all(full.parent().expect("a path in the root has a parent"))
            .expect("create parent dirs");
        fs::write(&full, content).expect("write fixture file");
        full
    }

    /// Writes a permissions file named `perms.ini` in [`Tree::config_dir`].
    pub fn write_config(&self, ini: &str) -> PathBuf {
        let path = self.config_dir().join("perms.ini");
        fs::write(&path, ini).expect("write permissions file");
        path
    }
}

impl Default for Tree {
    fn default() -> Tree {
        Tree::new()
    }
}
