//! Holes found by a security review, each pinned by a test: symlinks
//! inside the shared folder must not carry requests past the permissions
//! file or the hidden rule; copy and move must respect a protected target;
//! other sites may not change files through a visitor's browser; file
//! names in multipart forms are never silently dropped; log lines cannot
//! be forged; huge `Range` numbers are still ranges.

use std::fs;
use std::os::unix::fs::symlink;

use integration_tests::Server;
use integration_tests::inspect::json_error;
use integration_tests::multipart::{self, Form};
use integration_tests::rawclient;
use integration_tests::snapshot::snapshot;

const RULES: &str = "\
[DEFAULT]
allow = all

[/locked]
allow = none

[/protected.txt]
allow = list, download
";

/// A server whose root holds `locked/` (no access at all), a protected
/// file, and symlinks leading into both from open places.
fn server() -> Server {
    let builder = Server::builder().config(RULES);
    builder.tree().write("locked/secret.txt", b"locked content");
    builder.tree().write("protected.txt", b"keep me");
    builder
        .tree()
        .write(".private/notes.txt", b"hidden content");
    let server = builder.start();
    let root = server.root();
    symlink("locked", root.join("alias")).unwrap();
    symlink("../locked/secret.txt", root.join("sub/secret-link.txt")).unwrap();
    symlink(".private", root.join("visible")).unwrap();
    server
}

#[test]
fn symlinks_do_not_carry_requests_into_a_locked_folder() {
    let server = server();
    let before = snapshot(&server.root());
    for (method, target, body) in [
        ("GET", "/api/1/alias/secret.txt", None),
        ("GET", "/api/1/alias", None),
        ("GET", "/api/1/sub/secret-link.txt", None),
        ("GET", "/api/1/sub/secret-link.txt?cmd=info", None),
        ("POST", "/api/1/alias?cmd=mkdir&dir=new", Some(&b""[..])),
        ("POST", "/api/1/alias/up.txt?cmd=upload", Some(&b"x"[..])),
        (
            "POST",
            "/api/1/hello.txt?cmd=copy&dest=/alias",
            Some(&b""[..]),
        ),
        (
            "POST",
            "/api/1/alias/secret.txt?cmd=move&dest=/out.txt",
            Some(&b""[..]),
        ),
        ("DELETE", "/api/1/alias/secret.txt", None),
    ] {
        let response = server.request(method, target, body);
        assert_eq!(
            response.status,
            403,
            "{method} {target}: {}",
            response.text()
        );
    }
    let page = server.get("/alias/secret.txt");
    assert_eq!(page.status, 403);
    assert_eq!(server.get("/sub/secret-link.txt").status, 403);
    assert_eq!(snapshot(&server.root()), before, "nothing changed");
}

#[test]
fn archives_leave_out_files_reached_through_links_into_a_locked_folder() {
    let server = server();
    let zip = server.get("/api/1/?cmd=archive&format=tar.gz");
    assert_eq!(zip.status, 200);
    let gz = flate2_free_contains(&zip.body, b"locked content");
    assert!(!gz, "the locked file's content is in the archive");
}

/// Whether the gzip stream `data`, unpacked with Python, contains `needle`.
fn flate2_free_contains(data: &[u8], needle: &[u8]) -> bool {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a.tar.gz");
    fs::write(&file, data).unwrap();
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import gzip,sys; sys.stdout.buffer.write(gzip.open(sys.argv[1]).read())",
        ])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "unpack: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn symlinks_do_not_reveal_hidden_folders() {
    let server = server();
    json_error(&server.get("/api/1/visible/notes.txt"), 404);
    json_error(&server.get("/api/1/visible"), 404);
}

#[test]
fn copy_and_move_cannot_overwrite_a_protected_file() {
    let server = server();
    let before = snapshot(&server.root());
    json_error(
        &server.request(
            "POST",
            "/api/1/hello.txt?cmd=copy&dest=/protected.txt",
            Some(b""),
        ),
        403,
    );
    json_error(
        &server.request(
            "POST",
            "/api/1/hello.txt?cmd=move&dest=/protected.txt",
            Some(b""),
        ),
        403,
    );
    assert_eq!(snapshot(&server.root()), before);
    assert_eq!(
        fs::read(server.root().join("protected.txt")).unwrap(),
        b"keep me"
    );
}

#[test]
fn other_sites_cannot_change_files_through_a_browser() {
    let server = server();
    let host = server.addr().to_string();
    let evil = rawclient::send(
        server.addr(),
        "POST",
        "/api/1/sub?cmd=mkdir&dir=csrf",
        &[
            ("Host", &host),
            ("Origin", "http://evil.example"),
            ("Content-Type", "text/plain"),
        ],
        b"",
    );
    assert_eq!(evil.status, 403, "{}", evil.text());
    assert!(!server.root().join("sub/csrf").exists());
    let own = format!("http://{host}");
    let same = rawclient::send(
        server.addr(),
        "POST",
        "/api/1/sub?cmd=mkdir&dir=same",
        &[("Host", &host), ("Origin", &own)],
        b"",
    );
    assert_eq!(same.status, 204, "{}", same.text());
    assert!(server.root().join("sub/same").is_dir());
}

#[test]
fn multipart_names_are_read_or_refused_never_dropped() {
    let server = server();
    let form = Form::new("XyZ").part(
        b"Content-Disposition: form-data; name=\"f\"; filename*=UTF-8''caf%C3%A9.txt",
        b"star",
    );
    let response = multipart::post(server.addr(), "/api/1/sub?cmd=upload", &form, &[]);
    assert_eq!(response.status, 204, "{}", response.text());
    assert_eq!(
        fs::read(server.root().join("sub/café.txt")).unwrap(),
        b"star"
    );

    let latin1 = Form::new("XyZ").part(
        b"Content-Disposition: form-data; name=\"f\"; filename=\"caf\xe9.txt\"",
        b"x",
    );
    let response = multipart::post(server.addr(), "/api/1/sub?cmd=upload", &latin1, &[]);
    assert_eq!(response.status, 400, "{}", response.text());
}

#[test]
fn error_lines_in_the_log_cannot_be_forged() {
    let server = server();
    let long = "Z".repeat(300);
    let target = format!("/api/1/sub/{long}%0aFORGED%1b%5b2J?cmd=mkdir");
    let response = server.request("POST", &target, Some(b""));
    assert_eq!(response.status, 400, "{}", response.text());
    let stderr = server.stderr_bytes();
    assert!(!stderr.contains(&0x1b), "raw ESC in the log");
    assert!(
        !String::from_utf8_lossy(&stderr)
            .lines()
            .any(|l| l.starts_with("FORGED"))
    );
}

#[test]
fn huge_range_numbers_are_still_ranges() {
    let server = server();
    let whole = server.get("/hello.txt").body;
    let response = rawclient::send(
        server.addr(),
        "GET",
        "/hello.txt",
        &[("Range", "bytes=1-99999999999999999999")],
        b"",
    );
    assert_eq!(response.status, 206);
    assert_eq!(response.body, whole[1..]);
}

/// The upload answered by `response` went through the link `link` (under
/// `root`) to `hello.txt`, which now holds `content`; the link stays.
fn assert_written_through(
    response: &integration_tests::Response,
    root: &std::path::Path,
    link: &str,
    content: &[u8],
) {
    assert_eq!(response.status, 204, "{}", response.text());
    assert_eq!(fs::read(root.join("hello.txt")).unwrap(), content);
    let meta = fs::symlink_metadata(root.join(link)).unwrap();
    assert!(
        meta.file_type().is_symlink(),
        "the link {link} was replaced"
    );
}

#[test]
fn an_upload_over_a_link_is_judged_where_the_link_leads_and_keeps_the_link() {
    let server = server();
    let root = server.root();
    symlink("../protected.txt", root.join("sub/protected-link.txt")).unwrap();
    symlink(".private/notes.txt", root.join("notes-link.txt")).unwrap();
    symlink("nowhere", root.join("dangling")).unwrap();
    symlink("hello.txt", root.join("hello-link.txt")).unwrap();
    let before = snapshot(&root);
    for (path, status) in [
        ("sub/secret-link.txt", 403),
        ("sub/protected-link.txt", 403),
        ("notes-link.txt", 404),
        ("dangling", 404),
        ("dangling/inside.txt", 404),
    ] {
        for target in [format!("/api/1/{path}"), format!("/{path}")] {
            let response = server.request("PUT", &target, Some(b"taken over"));
            assert_eq!(response.status, status, "PUT {target}: {}", response.text());
        }
    }
    assert_eq!(snapshot(&root), before, "nothing changed");

    // Where the link is allowed, the content goes where it leads and the
    // link stays a link.
    let response = server.request("PUT", "/hello-link.txt", Some(b"new hello"));
    assert_written_through(&response, &root, "hello-link.txt", b"new hello");
}

#[test]
fn upload_temporary_names_are_out_of_reach_even_with_hidden_names_shown() {
    let server = Server::builder()
        .config("[DEFAULT]\nallow = all\n")
        .show_hidden()
        .start();
    // As a crashed upload would leave one.
    server
        .tree()
        .write("sub/.httpuploader-00000000000000ab.part", b"half");
    let before = snapshot(server.tree().base());
    let form = Form::new("XyZ").file("f", ".httpuploader-f.part", b"form");
    let multipart = multipart::post(server.addr(), "/api/1/sub?cmd=upload", &form, &[]);
    let mut answers = vec![("multipart upload".to_owned(), multipart)];
    for (method, target) in [
        ("GET", "/sub/.httpuploader-00000000000000ab.part"),
        ("GET", "/api/1/sub/.httpuploader-00000000000000ab.part"),
        ("PUT", "/.httpuploader-abc.part"),
        ("PUT", "/api/1/sub/.httpuploader-abc.part"),
        ("PUT", "/sub/.httpuploader-x.part/inner.txt"),
        ("POST", "/api/1/sub?cmd=mkdir&dir=.httpuploader-d.part"),
        (
            "POST",
            "/api/1/hello.txt?cmd=copy&dest=/.httpuploader-c.part",
        ),
        ("DELETE", "/api/1/sub/.httpuploader-00000000000000ab.part"),
    ] {
        let body = (method != "GET" && method != "DELETE").then_some(&b"x"[..]);
        answers.push((
            format!("{method} {target}"),
            server.request(method, target, body),
        ));
    }
    for (what, response) in answers {
        assert_eq!(response.status, 404, "{what}: {}", response.text());
        assert!(
            response.text().contains(".httpuploader-"),
            "{what}: the answer does not name the path: {}",
            response.text()
        );
    }
    assert_eq!(snapshot(server.tree().base()), before, "nothing changed");
}

#[test]
fn names_inside_a_request_are_judged_where_their_links_lead_too() {
    let server = server();
    let root = server.root();
    symlink("../protected.txt", root.join("sub/protected-link.txt")).unwrap();
    symlink("../.private/notes.txt", root.join("sub/notes-link.txt")).unwrap();
    symlink("nowhere", root.join("sub/dangling")).unwrap();
    symlink("../locked", root.join("sub/locked-dir")).unwrap();
    symlink("../.private", root.join("sub/private-dir")).unwrap();
    symlink("../hello.txt", root.join("sub/hello-link.txt")).unwrap();
    let before = snapshot(&root);
    let upload_as = |name: &str| {
        let form = Form::new("XyZ").file("f", name, b"taken over");
        multipart::post(server.addr(), "/api/1/sub?cmd=upload", &form, &[])
    };
    for (what, response, status) in [
        (
            "multipart over a link to a protected file",
            upload_as("protected-link.txt"),
            403,
        ),
        (
            "multipart over a link to a hidden file",
            upload_as("notes-link.txt"),
            404,
        ),
        ("multipart over a dangling link", upload_as("dangling"), 404),
        (
            "mkdir through a link to a locked folder",
            server.request("POST", "/api/1/sub?cmd=mkdir&dir=locked-dir/new", Some(b"")),
            403,
        ),
        (
            "mkdir through a link to a hidden folder",
            server.request(
                "POST",
                "/api/1/sub?cmd=mkdir&dir=private-dir/new",
                Some(b""),
            ),
            404,
        ),
    ] {
        assert_eq!(response.status, status, "{what}: {}", response.text());
    }
    assert_eq!(snapshot(&root), before, "nothing changed");

    // An allowed link is written through and stays a link.
    let response = upload_as("hello-link.txt");
    assert_written_through(&response, &root, "sub/hello-link.txt", b"taken over");
}

#[test]
fn paths_too_long_for_any_file_system_are_refused_quickly() {
    let server = server();
    let deep = vec!["a"; 1500].join("/");
    let huge = vec!["a"; 30_000].join("/");
    for (method, target) in [
        ("POST", format!("/api/1/{huge}?cmd=mkdir")),
        ("POST", format!("/api/1/hello.txt?cmd=copy&dest=/{huge}")),
        ("PUT", format!("/{huge}")),
        ("GET", format!("/api/1/{huge}")),
    ] {
        let response = server.request(method, &target, Some(b""));
        assert_eq!(
            response.status,
            400,
            "{method} 30000 segments: {}",
            response.text()
        );
        assert!(response.text().contains("too long"), "{}", response.text());
    }
    // Two trees 1500 levels deep each fit; one moved into the other would
    // not, so the move is refused and both stay deletable.
    for top in ["x", "y"] {
        let made = server.request("POST", &format!("/api/1/{top}/{deep}?cmd=mkdir"), Some(b""));
        assert_eq!(made.status, 204, "{}", made.text());
    }
    let moved = server.request(
        "POST",
        &format!("/api/1/y?cmd=move&dest=/x/{deep}"),
        Some(b""),
    );
    assert_eq!(moved.status, 400, "{}", moved.text());
    for top in ["x", "y"] {
        let deleted = server.request("DELETE", &format!("/api/1/{top}"), None);
        assert_eq!(deleted.status, 204, "{}", deleted.text());
    }
    assert!(
        !server.stderr().contains("guest failed"),
        "{}",
        server.stderr()
    );
}
