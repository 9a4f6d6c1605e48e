//! No write ever reaches outside the served root (contract §5, issue 3):
//! not through a `dest` that climbs (`/../sibling`, `../sibling`), an
//! absolute-looking `dest` (`//abs/path`, which is root-relative), a
//! symlinked directory that points outside, nor multipart file names with
//! path components (`../../x`, `/abs/x`, `..\..\x`, `sub/../../x`), which
//! land inside the target directory under their last component.
//!
//! A `sibling` folder beside the root is the target of every attempt; the
//! whole temp tree (root, sibling, outside folder) is compared on disk.

use std::fs;
use std::os::unix::fs::symlink;

use integration_tests::inspect::{json_error, sha256_hex};
use integration_tests::multipart::Form;
use integration_tests::rawclient;
use integration_tests::snapshot::{Entry, Snapshot, assert_same, snapshot};
use integration_tests::{Response, Server};

/// The boundary of every form here.
const BOUNDARY: &str = "----escapeBoundary9876543210";

/// A server where everything is allowed, with an empty `sibling` folder
/// beside the root and two in-root symlinks to it (absolute and relative).
fn server_with_sibling() -> Server {
    let builder = Server::builder().config("[DEFAULT]\nallow = all\n");
    let base = builder.tree().base().to_owned();
    let root = builder.tree().root();
    fs::create_dir(base.join("sibling")).expect("create the sibling folder");
    symlink(base.join("sibling"), root.join("to-sibling")).expect("symlink");
    symlink("../sibling", root.join("rel-sibling")).expect("symlink");
    builder.start()
}

fn sibling(server: &Server) -> std::path::PathBuf {
    server.tree().base().join("sibling")
}

fn disk(server: &Server) -> Snapshot {
    snapshot(server.tree().base())
}

fn post(server: &Server, target: &str) -> Response {
    server.request("POST", target, Some(b""))
}

/// Asserts a refusal (403 or 404: the sandbox may answer either) that
/// leaks nothing.
fn assert_refused(server: &Server, response: &Response, what: &str) {
    assert!(
        response.status == 403 || response.status == 404,
        "{what}: expected a refusal, got {} {}",
        response.status,
        response.text()
    );
    server.assert_no_leak(response, what);
}

/// Checks that the sibling folder is still empty.
fn assert_sibling_empty(server: &Server) {
    let names: Vec<_> = fs::read_dir(sibling(server))
        .expect("list sibling")
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(
        names.is_empty(),
        "something was written beside the root: {names:?}"
    );
}

#[test]
fn dests_that_climb_out_of_the_root_are_403_and_the_sibling_stays_empty() {
    let server = server_with_sibling();
    let before = disk(&server);
    for cmd in ["copy", "move"] {
        for source in ["/hello.txt", "/sub"] {
            for dest in [
                "/../sibling",
                "../sibling",
                "/../sibling/x.txt",
                "../../sibling",
                "sub/../../sibling",
                "%2e%2e/sibling",
                "..%2Fsibling",
                "/sub/..%5C..%2F../sibling",
            ] {
                let target = format!("/api/1{source}?cmd={cmd}&dest={dest}");
                let response = post(&server, &target);
                json_error(&response, 403);
                server.assert_no_leak(&response, &target);
            }
        }
    }
    assert_sibling_empty(&server);
    assert_same(&before, &disk(&server), "climbing dests");
}

#[test]
fn absolute_looking_dests_are_paths_from_the_root() {
    let server = server_with_sibling();
    let before = disk(&server);
    let host_sibling = sibling(&server).to_string_lossy().into_owned();
    for cmd in ["copy", "move"] {
        for dest in [
            "//abs/path".to_owned(),
            format!("/{host_sibling}"),
            format!("/{host_sibling}/x.txt"),
            host_sibling.clone(),
        ] {
            // Inside the root none of these folders exist.
            let target = format!("/api/1/hello.txt?cmd={cmd}&dest={dest}");
            let response = post(&server, &target);
            json_error(&response, 404);
            server.assert_no_leak(&response, &target);
        }
    }
    assert_sibling_empty(&server);
    assert_same(&before, &disk(&server), "absolute dests");

    // Where the folder exists inside the root, that is where it lands.
    fs::create_dir_all(server.root().join("abs")).unwrap();
    let response = post(&server, "/api/1/hello.txt?cmd=copy&dest=//abs/path");
    assert_eq!(response.status, 204, "{}", response.text());
    assert_eq!(
        fs::read(server.root().join("abs/path")).unwrap(),
        b"hello world\n"
    );
    assert_sibling_empty(&server);
}

#[test]
fn dests_through_a_symlinked_directory_that_points_outside_are_refused() {
    let server = server_with_sibling();
    let before = disk(&server);
    for cmd in ["copy", "move"] {
        for source in ["/hello.txt", "/sub"] {
            for dest in [
                "/to-sibling",
                "/to-sibling/x.txt",
                "/rel-sibling",
                "/rel-sibling/x.txt",
                "to-sibling/new/x.txt",
                "/outside-dir",
                "/outside-dir/secret.txt",
                "/outside-dir/x.txt",
            ] {
                let target = format!("/api/1{source}?cmd={cmd}&dest={dest}");
                assert_refused(&server, &post(&server, &target), &target);
            }
        }
    }
    assert_sibling_empty(&server);
    assert_same(&before, &disk(&server), "dests through symlinks");
}

#[test]
fn sources_through_an_outward_symlink_are_refused() {
    let server = server_with_sibling();
    fs::write(sibling(&server).join("bait.txt"), b"beside the root").unwrap();
    let before = disk(&server);
    for cmd in ["copy", "move"] {
        for source in [
            "/outside-dir/secret.txt",
            "/outside-abs.txt",
            "/outside-rel.txt",
            "/outside-dir",
            "/to-sibling",
            "/to-sibling/bait.txt",
        ] {
            let target = format!("/api/1{source}?cmd={cmd}&dest=/stolen");
            assert_refused(&server, &post(&server, &target), &target);
        }
    }
    for path in [
        "/outside-dir/secret.txt",
        "/to-sibling/bait.txt",
        "/rel-sibling/bait.txt",
    ] {
        let response = server.request("DELETE", &format!("/api/1{path}"), None);
        assert_refused(&server, &response, path);
    }
    assert_same(&before, &disk(&server), "sources through symlinks");
}

#[test]
fn uploads_and_mkdir_through_a_symlinked_directory_are_refused() {
    let server = server_with_sibling();
    let before = disk(&server);
    let form = Form::new(BOUNDARY).file("f", "x.txt", b"escaped");
    for dir in ["/to-sibling", "/rel-sibling", "/outside-dir"] {
        let raw = rawclient::send(
            server.addr(),
            "POST",
            &format!("/api/1{dir}/x.txt?cmd=upload"),
            &[],
            b"escaped",
        );
        assert_refused(&server, &raw, &format!("raw upload into {dir}"));
        let headers = [("Content-Type", form.content_type())];
        let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
        for target in [format!("/api/1{dir}?cmd=upload"), format!("{dir}/")] {
            let response = rawclient::send(server.addr(), "POST", &target, &headers, &form.body());
            assert_refused(&server, &response, &target);
        }
        assert_refused(
            &server,
            &post(&server, &format!("/api/1{dir}/new?cmd=mkdir")),
            dir,
        );
        assert_refused(
            &server,
            &post(&server, &format!("/api/1{dir}/a/b?cmd=mkdir")),
            dir,
        );
        assert_refused(
            &server,
            &post(&server, &format!("/api/1{dir}?cmd=mkdir&dir=new")),
            dir,
        );
        assert_refused(
            &server,
            &post(&server, &format!("/api/1/?cmd=mkdir&dir={dir}/new")),
            dir,
        );
    }
    // Over an in-root symlink that points at a file outside.
    for name in ["/outside-abs.txt", "/outside-rel.txt"] {
        let raw = rawclient::send(
            server.addr(),
            "POST",
            &format!("/api/1{name}?cmd=upload"),
            &[],
            b"overwritten",
        );
        assert_refused(&server, &raw, name);
    }
    let onto_link = Form::new(BOUNDARY).file("f", "outside-abs.txt", b"overwritten");
    let headers = [("Content-Type", onto_link.content_type())];
    let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let response = rawclient::send(
        server.addr(),
        "POST",
        "/api/1/?cmd=upload",
        &headers,
        &onto_link.body(),
    );
    assert_refused(&server, &response, "form onto outward link");
    assert_sibling_empty(&server);
    assert_same(&before, &disk(&server), "writes through symlinks");
}

#[test]
fn multipart_file_names_with_paths_land_inside_the_directory_as_their_last_part() {
    let server = server_with_sibling();
    let host_sibling = sibling(&server).to_string_lossy().into_owned();
    let absolute_sibling = format!("{host_sibling}/x");
    let names = [
        "../../x",
        "/abs/x",
        "..\\..\\x",
        "sub/../../x",
        "../sibling/x",
        "../../sibling/x",
        absolute_sibling.as_str(),
        "C:\\Users\\student\\..\\..\\x",
        "./x",
        "x",
    ];
    let before = disk(&server);
    for (i, name) in names.iter().enumerate() {
        for target in ["/api/1/sub?cmd=upload", "/sub/"] {
            let content = format!("upload {i} named {name} to {target}\r\n");
            let form = Form::new(BOUNDARY).file("file", name, content.as_bytes());
            let content_type = form.content_type();
            let response = rawclient::send(
                server.addr(),
                "POST",
                target,
                &[("Content-Type", &content_type)],
                &form.body(),
            );
            assert_eq!(
                response.status,
                204,
                "{name} to {target}: {}",
                response.text()
            );
            let stored = fs::read(server.root().join("sub/x"))
                .unwrap_or_else(|e| panic!("{name}: not stored as sub/x: {e}"));
            assert_eq!(stored, content.as_bytes(), "{name} to {target}");

            // Exactly one file was added to the whole temp tree: sub/x.
            let mut expected = before.clone();
            expected.insert(
                "share/sub/x".into(),
                Entry::File {
                    len: content.len() as u64,
                    sha256: sha256_hex(content.as_bytes()),
                },
            );
            assert_same(&expected, &disk(&server), name);
        }
    }
    assert_sibling_empty(&server);
}
