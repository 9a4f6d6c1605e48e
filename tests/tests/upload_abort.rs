//! Uploads that do not arrive whole (issue 3, "Atomic"): a client that
//! hangs up after half its body, or stops sending early, leaves neither a
//! new file nor a temp file, and an existing file of that name keeps its
//! old content; two uploads racing for one name end with exactly one of the
//! two complete bodies. The directory is checked on disk, temp files
//! included, and the server must keep answering.

use std::fs;
use std::path::Path;
use std::time::Duration;

use integration_tests::inspect::sha256_hex;
use integration_tests::multipart::{self, Form};
use integration_tests::payload::pseudo_random;
use integration_tests::rawclient::{self, Connection};
use integration_tests::snapshot::{Snapshot, assert_same, snapshot, temp_files, wait_until};
use integration_tests::{Response, Server};

/// The boundary of every form here.
const BOUNDARY: &str = "----abortBoundary0123456789";

/// Size of each aborted body: several of the server's 256 KiB steps.
const BODY_LEN: usize = 2 << 20;

/// How long the server may take to start writing, or to clean up after a
/// client is gone.
const SETTLE: Duration = Duration::from_secs(15);

/// Waits until an upload temp file exists in `dir`: the server is in the
/// middle of writing. Panics if none appears.
fn wait_for_temp_file(dir: &Path) {
    assert!(
        wait_until(SETTLE, || !temp_files(dir).is_empty()),
        "the server never started writing into {}",
        dir.display()
    );
}

/// Waits until no temp file is left under the root, then checks that the
/// whole tree (root and beside it) is as `before`.
fn assert_left_as_before(server: &Server, before: &Snapshot, what: &str) {
    let gone = wait_until(SETTLE, || temp_files(&server.root()).is_empty());
    assert!(
        gone,
        "{what}: temp files left behind: {:?}",
        temp_files(&server.root())
    );
    assert_same(before, &snapshot(server.tree().base()), what);
}

/// Checks that the server still answers, and still takes a whole upload.
fn assert_still_serving(server: &Server) {
    assert_eq!(server.get("/api/health").status, 200, "health after abort");
    let response = rawclient::send(
        server.addr(),
        "POST",
        "/api/1/after-abort.txt?cmd=upload",
        &[],
        b"still working",
    );
    assert_eq!(
        response.status,
        204,
        "upload after abort: {}",
        response.text()
    );
    let stored = std::fs::read(server.root().join("after-abort.txt")).expect("stored");
    assert_eq!(stored, b"still working");
}

/// Starts a raw upload of `len` bytes to `target`.
fn start_raw(server: &Server, target: &str, len: usize) -> Connection {
    let length = len.to_string();
    Connection::start(
        server.addr(),
        "POST",
        target,
        &[
            ("Content-Type", "application/octet-stream"),
            ("Content-Length", &length),
        ],
    )
}

/// Starts a multipart upload of `body` (whose length is announced) to
/// `target`.
fn start_form(server: &Server, target: &str, body_len: usize) -> Connection {
    let length = body_len.to_string();
    let content_type = multipart::content_type(BOUNDARY);
    Connection::start(
        server.addr(),
        "POST",
        target,
        &[("Content-Type", &content_type), ("Content-Length", &length)],
    )
}

/// Sends the first half of a raw body to `target`, waits until the server
/// is writing, hangs up, and checks that nothing changed.
fn abort_raw_halfway(target: &str, dir: &str) {
    let server = Server::start();
    let before = snapshot(server.tree().base());
    let body = pseudo_random(10, BODY_LEN);
    let mut upload = start_raw(&server, target, body.len());
    upload.send(&body[..BODY_LEN / 2]);
    wait_for_temp_file(&server.root().join(dir));
    upload.hang_up();
    assert_left_as_before(&server, &before, target);
    assert_still_serving(&server);
}

#[test]
fn raw_upload_cut_off_halfway_leaves_no_new_file() {
    abort_raw_halfway("/api/1/sub/cut.bin?cmd=upload", "sub");
}

#[test]
fn raw_upload_cut_off_halfway_leaves_the_existing_file_intact() {
    abort_raw_halfway("/api/1/sub/readme.txt?cmd=upload", "sub");
}

#[test]
fn chunked_upload_cut_off_halfway_leaves_nothing() {
    let server = Server::start();
    let before = snapshot(server.tree().base());
    let body = pseudo_random(11, BODY_LEN);
    for target in [
        "/api/1/sub/chunked-cut.bin?cmd=upload",
        "/api/1/sub/readme.txt?cmd=upload",
    ] {
        let mut upload = Connection::start(
            server.addr(),
            "POST",
            target,
            &[("Transfer-Encoding", "chunked")],
        );
        for piece in body[..BODY_LEN / 2].chunks(100_000) {
            upload.send_chunk(piece);
        }
        wait_for_temp_file(&server.root().join("sub"));
        upload.hang_up();
        assert_left_as_before(&server, &before, target);
    }
    assert_still_serving(&server);
}

#[test]
fn a_body_shorter_than_its_content_length_saves_nothing() {
    let server = Server::start();
    let before = snapshot(server.tree().base());
    let body = pseudo_random(12, BODY_LEN);
    for target in [
        "/api/1/sub/short.bin?cmd=upload",
        "/api/1/sub/readme.txt?cmd=upload",
    ] {
        let mut upload = start_raw(&server, target, body.len());
        upload.send(&body[..BODY_LEN / 2]);
        wait_for_temp_file(&server.root().join("sub"));
        // The client says it is done sending, and waits for the answer.
        let answer = upload.close_write();
        if let Some(answer) = &answer {
            assert!(
                answer.status >= 400,
                "{target}: a cut-off body was accepted: {} {}",
                answer.status,
                answer.text()
            );
        }
        assert_left_as_before(&server, &before, target);
    }
    assert_still_serving(&server);
}

/// A form with one file part of [`BODY_LEN`] bytes named `filename`.
fn big_form(filename: &str, seed: u64) -> Form {
    Form::new(BOUNDARY).file("file", filename, &pseudo_random(seed, BODY_LEN))
}

/// Sends the first `sent` bytes of `form` to `/api/1/sub`, waits until the
/// server is writing, hangs up, and checks that nothing changed.
fn abort_form(form: &Form, sent: usize, what: &str) {
    let server = Server::start();
    let before = snapshot(server.tree().base());
    let body = form.body();
    for target in ["/api/1/sub?cmd=upload", "/sub"] {
        let mut upload = start_form(&server, target, body.len());
        upload.send(&body[..sent]);
        wait_for_temp_file(&server.root().join("sub"));
        upload.hang_up();
        assert_left_as_before(&server, &before, &format!("{what} to {target}"));
    }
    assert_still_serving(&server);
}

#[test]
fn multipart_upload_cut_off_halfway_leaves_no_new_file() {
    let form = big_form("cut.bin", 13);
    abort_form(&form, form.body().len() / 2, "new name");
}

#[test]
fn multipart_upload_cut_off_halfway_leaves_the_existing_file_intact() {
    let form = big_form("readme.txt", 14);
    abort_form(&form, form.body().len() / 2, "existing name");
}

#[test]
fn multipart_cut_off_in_its_second_file_saves_not_even_the_first() {
    let first = b"a complete first file\r\n".to_vec();
    let form = Form::new(BOUNDARY).file("file", "first.txt", &first).file(
        "file",
        "second.bin",
        &pseudo_random(15, BODY_LEN),
    );
    let sent = form.body().len() - BODY_LEN / 2;
    abort_form(&form, sent, "second part cut");
}

/// A races B for one name: A sends half its body, B is sent whole and
/// answered, then A sends the rest. The file ends as exactly one of the
/// two complete bodies, and no temp file is left.
fn race(server: &Server, target: &str, a: &[u8], b: &[u8], multipart: bool) -> Vec<u8> {
    let (header, form_a, form_b);
    let (body_a, body_b, headers): (&[u8], &[u8], Vec<(&str, &str)>) = if multipart {
        form_a = Form::new(BOUNDARY).file("file", "race.bin", a).body();
        form_b = Form::new(BOUNDARY).file("file", "race.bin", b).body();
        header = multipart::content_type(BOUNDARY);
        (&form_a, &form_b, vec![("Content-Type", header.as_str())])
    } else {
        (a, b, vec![("Content-Type", "application/octet-stream")])
    };
    let length = body_a.len().to_string();
    let mut headers_a = headers.clone();
    headers_a.push(("Content-Length", &length));
    let mut upload_a = Connection::start(server.addr(), "POST", target, &headers_a);
    upload_a.send(&body_a[..body_a.len() / 2]);
    wait_for_temp_file(&server.root().join("sub"));

    let answer_b = rawclient::send(server.addr(), "POST", target, &headers, body_b);
    assert_eq!(answer_b.status, 204, "B: {}", answer_b.text());
    let between = std::fs::read(server.root().join("sub/race.bin")).expect("B's file");
    assert_eq!(sha256_hex(&between), sha256_hex(b), "B's complete body");

    upload_a.send(&body_a[body_a.len() / 2..]);
    let answer_a: Response = upload_a.response();
    assert_eq!(answer_a.status, 204, "A: {}", answer_a.text());
    assert!(
        wait_until(SETTLE, || temp_files(&server.root()).is_empty()),
        "temp files left: {:?}",
        temp_files(&server.root())
    );
    std::fs::read(server.root().join("sub/race.bin")).expect("the raced file")
}

#[test]
fn overlapping_uploads_to_one_name_end_with_one_complete_body() {
    let server = Server::start();
    let a = pseudo_random(16, BODY_LEN);
    let b = pseudo_random(17, BODY_LEN / 2 + 3);
    for (target, multipart) in [
        ("/api/1/sub/race.bin?cmd=upload", false),
        ("/api/1/sub?cmd=upload", true),
    ] {
        let result = race(&server, target, &a, &b, multipart);
        let digest = sha256_hex(&result);
        assert!(
            digest == sha256_hex(&a) || digest == sha256_hex(&b),
            "{target}: the file ({} bytes) is neither complete body",
            result.len()
        );
        let names = integration_tests::snapshot::names_in(&server.root().join("sub"));
        assert!(
            names.iter().filter(|n| n.starts_with("race")).count() == 1,
            "{target}: exactly one file of that name: {names:?}"
        );
    }
    assert_still_serving(&server);
}

#[test]
fn an_upload_whose_folder_is_moved_meanwhile_leaves_no_temporary_file() {
    let server = Server::builder().config("[DEFAULT]\nallow = all\n").start();
    fs::create_dir_all(server.root().join("inbox/class")).unwrap();
    let mut upload = Connection::start(
        server.addr(),
        "PUT",
        "/api/1/inbox/class/essay.txt",
        &[("Content-Length", "10")],
    );
    upload.send(b"first");
    wait_for_temp_file(&server.root().join("inbox/class"));

    let moved = server.request(
        "POST",
        "/api/1/inbox/class?cmd=move&dest=/inbox/renamed",
        Some(b""),
    );
    assert_eq!(moved.status, 204, "{}", moved.text());
    upload.send(b" half");
    let answer = upload.response();
    assert!(
        answer.status >= 400,
        "an upload into a moved folder succeeded: {}",
        answer.text()
    );
    let gone = wait_until(SETTLE, || temp_files(&server.root()).is_empty());
    assert!(
        gone,
        "temporary left behind: {:?}",
        temp_files(&server.root())
    );
    assert!(!server.root().join("inbox/renamed/essay.txt").exists());
}
