//! The write and archive commands (`mkdir`, `upload`, `delete`, `copy`,
//! `move`, `archive`, `compress`) route through the API, check their
//! permission before anything else, and work once permitted: one success
//! and the basic errors of each, end to end.
//!
//! Their full behaviour (atomic and streamed uploads, multipart, every
//! `dest` escape, archive contents) is tested in the files that issues 3
//! and 4 add.

use integration_tests::Server;
use integration_tests::inspect::{disposition_filename, json_error};

/// A permissions file that allows every command everywhere.
const ALLOW_ALL: &str = "[DEFAULT]\nallow = all\n";

/// Each command as (method, path, body), aimed at the right kind of target
/// with every argument it needs.
const COMMANDS: &[(&str, &str, Option<&[u8]>)] = &[
    ("POST", "/api/1/sub?cmd=mkdir&dir=made", Some(b"")),
    ("POST", "/api/1/sub/made?cmd=mkdir", Some(b"")),
    (
        "POST",
        "/api/1/sub/new.txt?cmd=upload",
        Some(b"new content"),
    ),
    ("DELETE", "/api/1/sub/readme.txt", None),
    ("DELETE", "/api/1/sub/deeper?cmd=delete", None),
    (
        "POST",
        "/api/1/hello.txt?cmd=copy&dest=/copied.txt",
        Some(b""),
    ),
    (
        "POST",
        "/api/1/hello.txt?cmd=move&dest=/moved.txt",
        Some(b""),
    ),
    ("GET", "/api/1/sub?cmd=archive", None),
    ("GET", "/api/1/sub?cmd=archive&format=tar.gz", None),
    ("GET", "/api/1/hello.txt?cmd=compress", None),
    ("GET", "/api/1/hello.txt?cmd=compress&format=gz", None),
];

/// The command a request of [`COMMANDS`] names.
fn command_of(method: &str, path: &str) -> &'static str {
    let names = [
        "mkdir", "upload", "delete", "copy", "move", "archive", "compress",
    ];
    let named = names
        .into_iter()
        .find(|n| path.contains(&format!("cmd={n}")));
    named.unwrap_or(if method == "DELETE" {
        "delete"
    } else {
        "upload"
    })
}

/// Checks that the tree is as the fixture made it.
fn assert_untouched(server: &Server) {
    let root = server.root();
    assert!(root.join("sub/readme.txt").is_file() && root.join("sub/deeper/file.txt").is_file());
    assert!(root.join("hello.txt").is_file());
    for made in ["sub/made", "sub/new.txt", "copied.txt", "moved.txt"] {
        assert!(!root.join(made).exists(), "{made} was created");
    }
}

/// Checks a `204 No Content` answer with an empty body.
fn assert_no_content(server: &Server, method: &str, path: &str, body: Option<&[u8]>) {
    let response = server.request(method, path, body);
    assert_eq!(response.status, 204, "{method} {path}: {}", response.text());
    assert!(
        response.body.is_empty(),
        "{method} {path}: a 204 with a body"
    );
}

#[test]
fn forbidden_commands_answer_403_and_touch_nothing() {
    let server = Server::builder()
        .config("[DEFAULT]\nallow = list, download\n")
        .start();
    for (method, path, body) in COMMANDS {
        json_error(&server.request(method, path, *body), 403);
    }
    assert_untouched(&server);
}

#[test]
fn default_permissions_allow_upload_and_mkdir_but_no_other_write() {
    let server = Server::start();
    for (method, path, body) in COMMANDS {
        if !matches!(command_of(method, path), "mkdir" | "upload") {
            json_error(&server.request(method, path, *body), 403);
        }
    }
    assert_untouched(&server);
    assert_no_content(&server, "POST", "/api/1/sub/made?cmd=mkdir", Some(b""));
    assert_no_content(
        &server,
        "POST",
        "/api/1/sub/new.txt?cmd=upload",
        Some(b"new"),
    );
}

#[test]
fn mkdir_creates_the_folder_with_its_parents() {
    let server = Server::builder().config(ALLOW_ALL).start();
    assert_no_content(&server, "POST", "/api/1/new/a/b?cmd=mkdir", Some(b""));
    assert!(server.root().join("new/a/b").is_dir());
    assert_no_content(&server, "POST", "/api/1/sub?cmd=mkdir&dir=made", Some(b""));
    assert!(server.root().join("sub/made").is_dir());
    json_error(
        &server.request("POST", "/api/1/sub?cmd=mkdir", Some(b"")),
        400,
    );
    json_error(
        &server.request("POST", "/api/1/hello.txt?cmd=mkdir", Some(b"")),
        400,
    );
}

#[test]
fn raw_upload_writes_the_body_to_the_path() {
    let server = Server::builder().config(ALLOW_ALL).start();
    assert_no_content(
        &server,
        "POST",
        "/api/1/sub/up.txt?cmd=upload",
        Some(b"uploaded\n"),
    );
    assert_eq!(
        std::fs::read(server.root().join("sub/up.txt")).expect("read"),
        b"uploaded\n"
    );
    // POST without a command is an upload; an empty body, an empty file.
    assert_no_content(&server, "POST", "/api/1/sub/empty-upload.txt", Some(b""));
    assert_eq!(
        std::fs::read(server.root().join("sub/empty-upload.txt")).expect("read"),
        b""
    );
    // An existing file is replaced.
    assert_no_content(
        &server,
        "POST",
        "/api/1/hello.txt?cmd=upload",
        Some(b"replaced"),
    );
    assert_eq!(server.get("/hello.txt").body, b"replaced");
}

#[test]
fn delete_removes_a_file_or_a_tree_but_never_the_root() {
    let server = Server::builder().config(ALLOW_ALL).start();
    assert_no_content(&server, "DELETE", "/api/1/sub/readme.txt", None);
    assert!(!server.root().join("sub/readme.txt").exists());
    assert_no_content(&server, "DELETE", "/api/1/sub", None);
    assert!(!server.root().join("sub").exists());
    json_error(&server.request("DELETE", "/api/1/sub", None), 404);
    json_error(&server.request("DELETE", "/api/1/", None), 403);
    assert!(server.root().join("hello.txt").is_file());
}

#[test]
fn copy_and_move_place_the_file_at_dest() {
    let server = Server::builder().config(ALLOW_ALL).start();
    assert_no_content(
        &server,
        "POST",
        "/api/1/hello.txt?cmd=copy&dest=/sub/copy.txt",
        Some(b""),
    );
    assert_eq!(server.get("/sub/copy.txt").body, b"hello world\n");
    assert!(server.root().join("hello.txt").is_file());
    assert_no_content(
        &server,
        "POST",
        "/api/1/sub/copy.txt?cmd=move&dest=moved.txt",
        Some(b""),
    );
    assert!(!server.root().join("sub/copy.txt").exists());
    assert_eq!(server.get("/moved.txt").body, b"hello world\n");
    // An existing directory as dest receives the source under its name.
    assert_no_content(
        &server,
        "POST",
        "/api/1/moved.txt?cmd=copy&dest=/sub/deeper",
        Some(b""),
    );
    assert_eq!(server.get("/sub/deeper/moved.txt").body, b"hello world\n");
    json_error(
        &server.request("POST", "/api/1/hello.txt?cmd=copy", Some(b"")),
        400,
    );
    json_error(
        &server.request(
            "POST",
            "/api/1/hello.txt?cmd=copy&dest=/hello.txt",
            Some(b""),
        ),
        400,
    );
    json_error(
        &server.request("POST", "/api/1/sub?cmd=move&dest=/sub/deeper", Some(b"")),
        400,
    );
    json_error(
        &server.request("POST", "/api/1/gone.txt?cmd=move&dest=/x.txt", Some(b"")),
        404,
    );
}

#[test]
fn archive_and_compress_answer_named_archives() {
    let server = Server::builder().config(ALLOW_ALL).start();
    let cases: [(&str, &[u8], &str); 6] = [
        ("/api/1/sub?cmd=archive", b"PK\x03\x04", "sub.zip"),
        (
            "/api/1/sub?cmd=archive&format=zip",
            b"PK\x03\x04",
            "sub.zip",
        ),
        (
            "/api/1/sub?cmd=archive&format=tar.gz",
            b"\x1f\x8b",
            "sub.tar.gz",
        ),
        (
            "/api/1/hello.txt?cmd=compress",
            b"PK\x03\x04",
            "hello.txt.zip",
        ),
        (
            "/api/1/hello.txt?cmd=compress&format=gz",
            b"\x1f\x8b",
            "hello.txt.gz",
        ),
        (
            "/api/1/hello.txt?cmd=compress&format=tar.gz",
            b"\x1f\x8b",
            "hello.txt.tar.gz",
        ),
    ];
    for (path, magic, name) in cases {
        let response = server.get(path);
        assert_eq!(response.status, 200, "{path}: {}", response.text());
        assert!(
            response.body.starts_with(magic),
            "{path}: not the expected format"
        );
        let disposition = response.header("content-disposition").unwrap_or_default();
        assert_eq!(
            disposition_filename(disposition).as_deref(),
            Some(name),
            "{path}"
        );
        server.assert_no_leak(&response, path);
    }
    let zip = server.get("/api/1/sub?cmd=archive").body;
    let holds = |name: &[u8]| zip.windows(name.len()).any(|w| w == name);
    assert!(
        holds(b"readme.txt") && holds(b"deeper/file.txt"),
        "entry names missing from the zip"
    );
    assert!(!holds(b"/sub/readme.txt"), "entry names are not relative");
    let root = server.get("/api/1/?cmd=archive");
    let disposition = root.header("content-disposition").unwrap_or_default();
    assert_eq!(
        disposition_filename(disposition).as_deref(),
        Some("top.zip")
    );
    json_error(&server.get("/api/1/sub?cmd=archive&format=rar"), 400);
    json_error(&server.get("/api/1/hello.txt?cmd=compress&format=7z"), 400);
    json_error(&server.get("/api/1/hello.txt?cmd=archive"), 400);
    json_error(&server.get("/api/1/sub?cmd=compress"), 400);
}
