//! A full disk (issue 3): an upload or copy that runs out of space answers
//! 507, removes its temp file (and, for a tree copy, what it made), and
//! changes nothing else.
//!
//! The small disk is a 2 MiB tmpfs mounted on a folder inside the served
//! root, which needs the privilege to mount (root, or CAP_SYS_ADMIN). Where
//! that is not available each test says so on stderr and checks nothing:
//! it cannot be faked with a full real disk.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use integration_tests::inspect::json_error;
use integration_tests::multipart::Form;
use integration_tests::payload::pseudo_random;
use integration_tests::rawclient;
use integration_tests::snapshot::{Snapshot, assert_same, names_in, snapshot, temp_files};
use integration_tests::{Response, Server};

/// Size of the small file system.
const SMALL_FS_SIZE: &str = "2m";

/// More than fits in it.
const TOO_BIG: usize = 3 << 20;

/// The boundary of every form here.
const BOUNDARY: &str = "----diskFullBoundary55";

/// A tmpfs mounted on a folder we created; unmounted on drop.
struct SmallFs {
    dir: PathBuf,
}

impl SmallFs {
    /// Mounts a [`SMALL_FS_SIZE`] tmpfs on `dir` (which must exist), or
    /// says why it cannot.
    fn mount(dir: &Path) -> Result<SmallFs, String> {
        let output = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={SMALL_FS_SIZE}"),
                "tmpfs",
            ])
            .arg(dir)
            .output()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        if output.status.success() {
            Ok(SmallFs {
                dir: dir.to_owned(),
            })
        } else {
            Err(format!(
                "mount -t tmpfs failed ({}): {}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            ))
        }
    }
}

impl Drop for SmallFs {
    fn drop(&mut self) {
        // Lazy: the server may still hold the folder open.
        let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
    }
}

/// A server whose root holds `small/`, a 2 MiB file system with one file
/// `keep.txt`. The mount is dropped before the server, so the tree's
/// removal finds an ordinary folder.
struct Fixture {
    _small: SmallFs,
    server: Server,
}

impl Fixture {
    /// `None` (after saying why on stderr) where tmpfs cannot be mounted.
    fn start(test: &str) -> Option<Fixture> {
        let builder = Server::builder().config("[DEFAULT]\nallow = all\n");
        let dir = builder.tree().root().join("small");
        fs::create_dir(&dir).expect("create the mount point");
        let small = match SmallFs::mount(&dir) {
            Ok(small) => small,
            Err(why) => {
                eprintln!("SKIPPED {test}: no small file system to fill: {why}");
                return None;
            }
        };
        fs::write(dir.join("keep.txt"), b"kept through a full disk\n").expect("write keep.txt");
        Some(Fixture {
            _small: small,
            server: builder.start(),
        })
    }

    fn small(&self) -> PathBuf {
        self.server.root().join("small")
    }

    /// Checks that nothing in the tree changed (no temp file, no partial
    /// copy), then the 507 with a JSON error naming the path.
    fn assert_full_and_clean(&self, response: &Response, before: &Snapshot, what: &str) {
        let left = temp_files(&self.server.root());
        assert!(left.is_empty(), "{what}: temp files left: {left:?}");
        assert_same(before, &snapshot(self.server.tree().base()), what);
        assert_eq!(names_in(&self.small()), ["keep.txt"], "{what}");
        self.server.assert_no_leak(response, what);
        let extra = json_error(response, 507);
        assert!(
            extra.contains("/small"),
            "{what}: extra names the path: {extra}"
        );
    }

    /// A 1.5 MiB upload fits after the failure: the space was given back.
    fn assert_space_returned(&self) {
        let body = pseudo_random(30, 1536 << 10);
        let response = rawclient::send(
            self.server.addr(),
            "POST",
            "/api/1/small/fits.bin?cmd=upload",
            &[],
            &body,
        );
        assert_eq!(
            response.status,
            204,
            "after the failure: {}",
            response.text()
        );
        assert_eq!(fs::read(self.small().join("fits.bin")).unwrap(), body);
    }
}

#[test]
fn raw_upload_that_fills_the_disk_is_507_and_leaves_nothing() {
    let Some(fixture) = Fixture::start("raw_upload_that_fills_the_disk") else {
        return;
    };
    let server = &fixture.server;
    let before = snapshot(server.tree().base());
    let body = pseudo_random(31, TOO_BIG);
    for target in [
        "/api/1/small/big.bin?cmd=upload",
        "/api/1/small/keep.txt?cmd=upload",
    ] {
        let response = rawclient::send(server.addr(), "POST", target, &[], &body);
        fixture.assert_full_and_clean(&response, &before, target);
    }
    // Chunked, too.
    let chunks: Vec<&[u8]> = body.chunks(100_000).collect();
    let response = rawclient::send_chunked(
        server.addr(),
        "POST",
        "/api/1/small/chunked.bin?cmd=upload",
        &[],
        &chunks,
    );
    fixture.assert_full_and_clean(&response, &before, "chunked");
    fixture.assert_space_returned();
}

#[test]
fn multipart_upload_that_fills_the_disk_is_507_and_saves_no_part() {
    let Some(fixture) = Fixture::start("multipart_upload_that_fills_the_disk") else {
        return;
    };
    let server = &fixture.server;
    let before = snapshot(server.tree().base());
    // The first file fits; the second does not.
    let form = Form::new(BOUNDARY)
        .file("f", "fits.bin", &pseudo_random(32, 1 << 20))
        .file("f", "too-big.bin", &pseudo_random(33, 2 << 20));
    let content_type = form.content_type();
    for target in ["/api/1/small?cmd=upload", "/small/"] {
        let response = rawclient::send(
            server.addr(),
            "POST",
            target,
            &[("Content-Type", &content_type)],
            &form.body(),
        );
        if target.starts_with("/api/") {
            fixture.assert_full_and_clean(&response, &before, target);
        } else {
            assert_same(&before, &snapshot(server.tree().base()), target);
            assert_eq!(response.status, 507, "{target}: {}", response.text());
        }
    }
    fixture.assert_space_returned();
}

#[test]
fn copy_that_fills_the_disk_is_507_and_removes_what_it_made() {
    let Some(fixture) = Fixture::start("copy_that_fills_the_disk") else {
        return;
    };
    let server = &fixture.server;
    server
        .tree()
        .write("bigtree/a.bin", &pseudo_random(34, 900 << 10));
    server
        .tree()
        .write("bigtree/b.bin", &pseudo_random(35, 900 << 10));
    server
        .tree()
        .write("bigtree/c/d.bin", &pseudo_random(36, 900 << 10));
    server
        .tree()
        .write("big-file.bin", &pseudo_random(37, TOO_BIG));
    let before = snapshot(server.tree().base());
    let response = server.request("POST", "/api/1/bigtree?cmd=copy&dest=/small", Some(b""));
    fixture.assert_full_and_clean(&response, &before, "tree copy");
    let response = server.request(
        "POST",
        "/api/1/big-file.bin?cmd=copy&dest=/small",
        Some(b""),
    );
    fixture.assert_full_and_clean(&response, &before, "file copy");
    let response = server.request(
        "POST",
        "/api/1/big-file.bin?cmd=copy&dest=/small/keep.txt",
        Some(b""),
    );
    fixture.assert_full_and_clean(&response, &before, "copy over a file");
    fixture.assert_space_returned();
}
