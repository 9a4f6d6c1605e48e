//! Uploads (contract §3 `upload`, issue 3): raw bodies with a length, chunked
//! and empty; multipart forms through the API and the web address; byte-exact
//! storage; `&checksum=`; and every refusal (missing or wrong target, bad
//! file names, hidden names, permissions) leaving the tree on disk as it was.

use std::fs;

use integration_tests::inspect::{encode_path, json_error, sha256_hex};
use integration_tests::multipart::{self, Form};
use integration_tests::payload::{pseudo_random, tricky_bytes};
use integration_tests::rawclient;
use integration_tests::snapshot::{assert_same, snapshot, temp_files};
use integration_tests::{Response, Server};

/// The boundary of every form here: long, like a browser's.
const BOUNDARY: &str = "----httpuploaderBoundary7MA4YWxkTrZu0gW";

/// `POST target` with `body` as `application/octet-stream`.
fn upload_raw(server: &Server, target: &str, body: &[u8]) -> Response {
    let headers = [("Content-Type", "application/octet-stream")];
    rawclient::send(server.addr(), "POST", target, &headers, body)
}

/// Asserts a `204 No Content` with no body.
fn assert_204(response: &Response, what: &str) {
    assert_eq!(response.status, 204, "{what}: {}", response.text());
    assert!(response.body.is_empty(), "{what}: a 204 has no body");
}

/// Asserts that `path` (from the root) holds exactly `expected`.
fn assert_stored(server: &Server, path: &str, expected: &[u8]) {
    let stored =
        fs::read(server.root().join(path)).unwrap_or_else(|e| panic!("{path} was not stored: {e}"));
    assert_eq!(stored.len(), expected.len(), "{path}: stored size");
    assert_eq!(
        sha256_hex(&stored),
        sha256_hex(expected),
        "{path}: stored bytes differ"
    );
}

/// Asserts that no upload temp file is left anywhere in the root.
fn assert_no_temp_files(server: &Server) {
    let left = temp_files(&server.root());
    assert!(left.is_empty(), "temp files left behind: {left:?}");
}

/// A server where everything is allowed.
fn open_server() -> Server {
    Server::builder().config("[DEFAULT]\nallow = all\n").start()
}

#[test]
fn raw_upload_with_content_length_stores_the_body_byte_exact() {
    let server = open_server();
    // Several of the server's 256 KiB steps, plus bytes that look like
    // structure.
    let mut body = tricky_bytes(BOUNDARY);
    body.extend(pseudo_random(1, 700_001));
    body.extend(tricky_bytes(BOUNDARY));
    let response = upload_raw(&server, "/api/1/sub/raw.bin?cmd=upload", &body);
    assert_204(&response, "raw upload");
    assert_stored(&server, "sub/raw.bin", &body);

    // The server's own checksum agrees.
    let checksum = server.json("/api/1/sub/raw.bin?cmd=checksum");
    assert_eq!(checksum["data"]["checksum"], sha256_hex(&body));
    assert_no_temp_files(&server);
}

#[test]
fn raw_upload_of_any_non_multipart_type_stores_the_body_as_sent() {
    let server = Server::start();
    // Text that looks like a form, sent as text/plain: stored, not parsed.
    let body = Form::new("abc").file("f", "inner.txt", b"x").body();
    let headers = [("Content-Type", "text/plain; charset=utf-8")];
    let response = rawclient::send(
        server.addr(),
        "POST",
        "/api/1/sub/form.txt?cmd=upload",
        &headers,
        &body,
    );
    assert_204(&response, "text/plain upload");
    assert_stored(&server, "sub/form.txt", &body);
    assert!(!server.root().join("sub/inner.txt").exists());

    // No Content-Type at all.
    let response = server.request("POST", "/api/1/sub/untyped.bin?cmd=upload", Some(b"\0\r\n"));
    assert_204(&response, "upload without a type");
    assert_stored(&server, "sub/untyped.bin", b"\0\r\n");
}

#[test]
fn chunked_raw_upload_stores_the_body_byte_exact() {
    let server = Server::start();
    let big = pseudo_random(2, 600_000);
    let tricky = tricky_bytes(BOUNDARY);
    let chunks: Vec<&[u8]> = vec![
        b"a",
        b"\r\n",
        &tricky,
        &big[..4095],
        &big[4095..70_000],
        &big[70_000..],
        b"0\r\n\r\n",
    ];
    let expected: Vec<u8> = chunks.concat();
    let response = rawclient::send_chunked(
        server.addr(),
        "POST",
        "/api/1/sub/chunked.bin?cmd=upload",
        &[("Content-Type", "application/octet-stream")],
        &chunks,
    );
    assert_204(&response, "chunked upload");
    assert_stored(&server, "sub/chunked.bin", &expected);
    assert_no_temp_files(&server);
}

#[test]
fn empty_bodies_make_empty_files() {
    let server = Server::start();
    assert_204(
        &upload_raw(&server, "/api/1/sub/empty-cl.txt?cmd=upload", b""),
        "Content-Length: 0",
    );
    assert_stored(&server, "sub/empty-cl.txt", b"");

    let response = rawclient::send_chunked(
        server.addr(),
        "POST",
        "/api/1/sub/empty-chunked.txt?cmd=upload",
        &[],
        &[],
    );
    assert_204(&response, "empty chunked body");
    assert_stored(&server, "sub/empty-chunked.txt", b"");

    // No framing header at all: an HTTP/1.1 request without a body.
    let mut bare = rawclient::Connection::start(
        server.addr(),
        "POST",
        "/api/1/sub/no-body.txt?cmd=upload",
        &[],
    );
    bare.send(b"");
    assert_204(&bare.response(), "no body");
    assert_stored(&server, "sub/no-body.txt", b"");

    // An empty upload over a file empties it.
    assert_204(
        &upload_raw(&server, "/api/1/hello.txt?cmd=upload", b""),
        "empty over existing",
    );
    assert_stored(&server, "hello.txt", b"");
}

#[test]
fn raw_upload_replaces_an_existing_file() {
    let server = Server::start();
    let new = b"brand new content\r\n".repeat(1000);
    assert_204(
        &upload_raw(&server, "/api/1/sub/readme.txt?cmd=upload", &new),
        "replace",
    );
    assert_stored(&server, "sub/readme.txt", &new);
    assert_no_temp_files(&server);
}

#[test]
fn raw_upload_keeps_odd_and_non_ascii_names() {
    let server = Server::start();
    let name = "a b#c%d+e[1] 日本 ü.txt";
    let target = format!("/api/1{}?cmd=upload", encode_path(&format!("/sub/{name}")));
    assert_204(&upload_raw(&server, &target, b"odd"), name);
    assert_stored(&server, &format!("sub/{name}"), b"odd");
}

#[test]
fn raw_upload_into_a_missing_directory_is_404_and_creates_nothing() {
    let server = Server::start();
    let before = snapshot(server.tree().base());
    for target in [
        "/api/1/nowhere/x.txt?cmd=upload",
        "/api/1/nowhere/deeper/x.txt?cmd=upload",
        "/api/1/sub/nowhere/x.txt?cmd=upload",
    ] {
        let extra = json_error(&upload_raw(&server, target, b"data"), 404);
        assert!(extra.contains("nowhere"), "{target}: {extra}");
    }
    assert_same(
        &before,
        &snapshot(server.tree().base()),
        "uploads to missing dirs",
    );
}

#[test]
fn raw_upload_onto_a_directory_or_under_a_file_is_400_and_changes_nothing() {
    let server = Server::start();
    let before = snapshot(server.tree().base());
    for target in [
        "/api/1/sub?cmd=upload",
        "/api/1/sub/deeper?cmd=upload",
        "/api/1/?cmd=upload",
    ] {
        json_error(&upload_raw(&server, target, b"raw body"), 400);
    }
    // Under a file: "no such directory" (404) or "a file is in the way"
    // (400) are both fair; writing is not.
    let under_file = upload_raw(&server, "/api/1/hello.txt/x.txt?cmd=upload", b"raw body");
    assert!(
        under_file.status == 400 || under_file.status == 404,
        "under a file: {} {}",
        under_file.status,
        under_file.text()
    );
    json_error(&under_file, under_file.status);
    assert_same(
        &before,
        &snapshot(server.tree().base()),
        "raw uploads onto dirs",
    );
}

#[test]
fn matching_checksum_keeps_the_upload_in_either_case() {
    let server = Server::start();
    let body = pseudo_random(3, 10_000);
    let digest = sha256_hex(&body);
    let target = format!("/api/1/sub/sum.bin?cmd=upload&checksum={digest}");
    assert_204(&upload_raw(&server, &target, &body), "lower-case checksum");
    assert_stored(&server, "sub/sum.bin", &body);

    let target = format!(
        "/api/1/sub/sum-upper.bin?cmd=upload&checksum={}",
        digest.to_ascii_uppercase()
    );
    assert_204(&upload_raw(&server, &target, &body), "upper-case checksum");
    assert_stored(&server, "sub/sum-upper.bin", &body);
}

#[test]
fn checksum_mismatch_is_400_names_both_digests_and_saves_nothing() {
    let server = Server::start();
    let body = b"the body that was sent".to_vec();
    let actual = sha256_hex(&body);
    let expected = sha256_hex(b"the body that was meant");
    let before = snapshot(server.tree().base());
    // A new name, and over an existing file.
    for path in ["/api/1/sub/new.bin", "/api/1/sub/readme.txt"] {
        let target = format!("{path}?cmd=upload&checksum={expected}");
        let extra = json_error(&upload_raw(&server, &target, &body), 400);
        assert!(
            extra.contains(&expected) && extra.contains(&actual),
            "{path}: both digests in extra: {extra}"
        );
    }
    assert_same(
        &before,
        &snapshot(server.tree().base()),
        "checksum mismatch",
    );
    assert_no_temp_files(&server);
}

#[test]
fn malformed_checksum_is_400_and_saves_nothing() {
    let server = Server::start();
    let before = snapshot(server.tree().base());
    let body = b"data";
    let good = sha256_hex(body);
    for bad in [
        "abc".to_owned(),
        "g".repeat(64),
        good[..63].to_owned(),
        format!("{good}0"),
        format!("sha256:{good}"),
    ] {
        let target = format!("/api/1/sub/bad-sum.bin?cmd=upload&checksum={bad}");
        json_error(&upload_raw(&server, &target, body), 400);
    }
    assert_same(
        &before,
        &snapshot(server.tree().base()),
        "malformed checksums",
    );
}

#[test]
fn multipart_upload_stores_every_file_byte_exact() {
    let server = Server::start();
    let tricky = tricky_bytes(BOUNDARY);
    // Bigger than the server's read size, so a delimiter look-alike can
    // straddle two reads.
    let mut big = pseudo_random(4, 700_000);
    big.extend_from_slice(&tricky);
    let crlf_end = b"ends with what precedes a delimiter\r\n--\r\n\r\n".to_vec();
    let form = Form::new(BOUNDARY)
        .text("comment", "a text field, not a file")
        .file("f1", "tricky.bin", &tricky)
        .file("f2", "big.bin", &big)
        .file("f3", "crlf end.txt", &crlf_end)
        .file("f4", "日本語 ü.txt", "名前\r\n".as_bytes());
    let response = multipart::post(server.addr(), "/api/1/sub?cmd=upload", &form, &[]);
    assert_204(&response, "multipart upload");
    assert_stored(&server, "sub/tricky.bin", &tricky);
    assert_stored(&server, "sub/big.bin", &big);
    assert_stored(&server, "sub/crlf end.txt", &crlf_end);
    assert_stored(&server, "sub/日本語 ü.txt", "名前\r\n".as_bytes());
    assert!(
        !server.root().join("sub/comment").exists(),
        "a text field is not a file"
    );
    assert_no_temp_files(&server);
}

#[test]
fn multipart_to_the_api_without_cmd_uploads_and_replaces() {
    let server = Server::start();
    let form = Form::new(BOUNDARY).file("file", "readme.txt", b"replaced by a form\n");
    assert_204(
        &multipart::post(server.addr(), "/api/1/sub", &form, &[]),
        "POST without cmd",
    );
    assert_stored(&server, "sub/readme.txt", b"replaced by a form\n");
}

#[test]
fn three_files_under_one_field_name_are_all_saved() {
    let server = Server::start();
    let form = Form::new(BOUNDARY)
        .file("files", "one.txt", b"first\r\n")
        .file("files", "two.txt", b"second\r\n")
        .file("files", "three.bin", &pseudo_random(5, 5000));
    assert_204(
        &multipart::post(server.addr(), "/api/1/sub?cmd=upload", &form, &[]),
        "3 files",
    );
    assert_stored(&server, "sub/one.txt", b"first\r\n");
    assert_stored(&server, "sub/two.txt", b"second\r\n");
    assert_stored(&server, "sub/three.bin", &pseudo_random(5, 5000));
}

#[test]
fn a_text_field_and_an_empty_file_input_save_nothing() {
    let server = Server::start();
    let before = snapshot(server.tree().base());
    // What a browser sends for a form whose file input was left empty.
    let empty_input = b"Content-Disposition: form-data; name=\"file\"; filename=\"\"\r\n\
                        Content-Type: application/octet-stream";
    let form = Form::new(BOUNDARY)
        .text("note", "hello")
        .part(empty_input, b"");
    assert_204(
        &multipart::post(server.addr(), "/api/1/sub?cmd=upload", &form, &[]),
        "empty form",
    );
    assert_same(&before, &snapshot(server.tree().base()), "an empty form");

    // The same beside a real file: only the file is saved.
    let form = form.file("file", "real.txt", b"real");
    assert_204(
        &multipart::post(server.addr(), "/api/1/sub?cmd=upload", &form, &[]),
        "mixed form",
    );
    let mut expected = before.clone();
    expected.insert(
        "share/sub/real.txt".into(),
        integration_tests::snapshot::Entry::File {
            len: 4,
            sha256: sha256_hex(b"real"),
        },
    );
    assert_same(&expected, &snapshot(server.tree().base()), "one real file");
}

#[test]
fn an_empty_file_with_a_name_is_saved_empty() {
    let server = Server::start();
    let form = Form::new(BOUNDARY).file("file", "empty-upload.txt", b"");
    assert_204(
        &multipart::post(server.addr(), "/api/1/sub?cmd=upload", &form, &[]),
        "empty file",
    );
    assert_stored(&server, "sub/empty-upload.txt", b"");
}

#[test]
fn unusable_file_names_refuse_the_whole_form() {
    let server = Server::start();
    let before = snapshot(server.tree().base());
    // (A name may not end in `\`: in a quoted header value that would
    // escape the closing quote.)
    let bad_names = [".", "..", "dir/", "a/..", "c:\\..", "a\\..", "/", "sub\\."];
    for bad in bad_names {
        // A good part before and after: neither may be saved.
        let form = Form::new(BOUNDARY)
            .file("f", "good-before.txt", b"before")
            .file("f", bad, b"content")
            .file("f", "good-after.txt", b"after");
        let response = multipart::post(server.addr(), "/api/1/sub?cmd=upload", &form, &[]);
        json_error(&response, 400);
    }
    // A nameless part that has content is not an empty file input.
    let nameless = b"Content-Disposition: form-data; name=\"f\"; filename=\"\"";
    let form = Form::new(BOUNDARY)
        .file("f", "good-before.txt", b"before")
        .part(nameless, b"content without a name");
    json_error(
        &multipart::post(server.addr(), "/api/1/sub?cmd=upload", &form, &[]),
        400,
    );
    // A NUL in the file name.
    let nul = b"Content-Disposition: form-data; name=\"f\"; filename=\"a\0b.txt\"";
    let form = Form::new(BOUNDARY)
        .file("f", "good-before.txt", b"before")
        .part(nul, b"content");
    json_error(
        &multipart::post(server.addr(), "/api/1/sub?cmd=upload", &form, &[]),
        400,
    );

    assert_same(&before, &snapshot(server.tree().base()), "unusable names");
}

#[test]
fn a_part_named_like_an_existing_directory_refuses_the_form() {
    let server = Server::start();
    let before = snapshot(server.tree().base());
    let form = Form::new(BOUNDARY).file("f", "ok.txt", b"ok").file(
        "f",
        "deeper",
        b"would replace a directory",
    );
    json_error(
        &multipart::post(server.addr(), "/api/1/sub?cmd=upload", &form, &[]),
        400,
    );
    assert_same(&before, &snapshot(server.tree().base()), "part onto a dir");
}

#[test]
fn multipart_to_a_web_address_redirects_browsers_and_answers_scripts_204() {
    let server = Server::start();
    let form = Form::new(BOUNDARY).file("file", "from-browser.txt", b"browser");
    let browser_accept = [(
        "Accept",
        "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    )];
    let response = multipart::post(server.addr(), "/sub", &form, &browser_accept);
    assert_eq!(response.status, 303, "{}", response.text());
    assert_eq!(response.header("location"), Some("/sub/"));
    assert_stored(&server, "sub/from-browser.txt", b"browser");

    let form = Form::new(BOUNDARY).file("file", "from-script.txt", b"script");
    assert_204(
        &multipart::post(server.addr(), "/sub/", &form, &[]),
        "script upload",
    );
    assert_stored(&server, "sub/from-script.txt", b"script");

    let form = Form::new(BOUNDARY).file("file", "in-root.txt", b"root");
    let response = multipart::post(server.addr(), "/", &form, &browser_accept);
    assert_eq!(response.status, 303, "{}", response.text());
    assert_eq!(response.header("location"), Some("/"));
    assert_stored(&server, "in-root.txt", b"root");

    let form = Form::new(BOUNDARY).file("file", "menu2.txt", b"caf");
    let response = multipart::post(server.addr(), &encode_path("/café"), &form, &browser_accept);
    assert_eq!(response.status, 303, "{}", response.text());
    assert_eq!(response.header("location"), Some("/caf%C3%A9/"));
    assert_stored(&server, "café/menu2.txt", b"caf");
}

#[test]
fn multipart_into_a_missing_directory_is_404_and_into_a_file_is_400() {
    let server = Server::start();
    let before = snapshot(server.tree().base());
    let form = Form::new(BOUNDARY).file("file", "x.txt", b"x");
    for target in ["/api/1/nowhere?cmd=upload", "/nowhere", "/sub/nowhere/"] {
        let response = multipart::post(server.addr(), target, &form, &[]);
        assert_eq!(response.status, 404, "{target}: {}", response.text());
    }
    for target in ["/api/1/hello.txt?cmd=upload", "/hello.txt"] {
        let response = multipart::post(server.addr(), target, &form, &[]);
        assert_eq!(response.status, 400, "{target}: {}", response.text());
    }
    assert_same(&before, &snapshot(server.tree().base()), "bad form targets");
}

#[test]
fn a_web_post_that_is_not_multipart_is_400_and_saves_nothing() {
    let server = Server::start();
    let before = snapshot(server.tree().base());
    let response = rawclient::send(
        server.addr(),
        "POST",
        "/sub/",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        b"file=x.txt",
    );
    assert_eq!(response.status, 400, "{}", response.text());
    assert!(response.is_html(), "a web address answers HTML");
    assert_same(&before, &snapshot(server.tree().base()), "urlencoded post");
}

#[test]
fn broken_forms_are_400_and_save_nothing() {
    let server = Server::start();
    let before = snapshot(server.tree().base());
    let form = Form::new(BOUNDARY).file("file", "broken.txt", b"content");
    let target = "/api/1/sub?cmd=upload";
    // No boundary in the type.
    let response = rawclient::send(
        server.addr(),
        "POST",
        target,
        &[("Content-Type", "multipart/form-data")],
        &form.body(),
    );
    json_error(&response, 400);
    // No closing delimiter, though the whole declared length arrives.
    let response = rawclient::send(
        server.addr(),
        "POST",
        target,
        &[("Content-Type", &form.content_type())],
        &form.unterminated(),
    );
    json_error(&response, 400);
    // A body cut in the middle of a part's headers.
    let body = form.body();
    let response = rawclient::send(
        server.addr(),
        "POST",
        target,
        &[("Content-Type", &form.content_type())],
        &body[..40],
    );
    json_error(&response, 400);
    assert_same(&before, &snapshot(server.tree().base()), "broken forms");
}

#[test]
fn multipart_checksum_keeps_a_matching_file_and_refuses_a_mismatch() {
    let server = Server::start();
    let content = b"checked content\r\n";
    let form = Form::new(BOUNDARY).file("file", "checked.txt", content);
    let target = format!("/api/1/sub?cmd=upload&checksum={}", sha256_hex(content));
    assert_204(
        &multipart::post(server.addr(), &target, &form, &[]),
        "matching checksum",
    );
    assert_stored(&server, "sub/checked.txt", content);

    let before = snapshot(server.tree().base());
    let form = Form::new(BOUNDARY).file("file", "unchecked.txt", content);
    let target = format!("/api/1/sub?cmd=upload&checksum={}", sha256_hex(b"other"));
    json_error(&multipart::post(server.addr(), &target, &form, &[]), 400);
    assert_same(&before, &snapshot(server.tree().base()), "mismatched form");
}

#[test]
fn uploads_to_hidden_names_are_404_without_show_hidden() {
    let server = Server::start();
    let before = snapshot(server.tree().base());
    for target in [
        "/api/1/.new-hidden?cmd=upload",
        "/api/1/.secret?cmd=upload",
        "/api/1/.hidden/new.txt?cmd=upload",
        "/api/1/.hidden/inner.txt?cmd=upload",
    ] {
        json_error(&upload_raw(&server, target, b"hidden"), 404);
    }
    let into_sub =
        Form::new(BOUNDARY)
            .file("f", "visible.txt", b"v")
            .file("f", ".hidden-upload", b"h");
    json_error(
        &multipart::post(server.addr(), "/api/1/sub?cmd=upload", &into_sub, &[]),
        404,
    );
    assert_eq!(
        multipart::post(server.addr(), "/sub", &into_sub, &[]).status,
        404
    );
    let into_hidden = Form::new(BOUNDARY).file("f", "x.txt", b"x");
    json_error(
        &multipart::post(
            server.addr(),
            "/api/1/.hidden?cmd=upload",
            &into_hidden,
            &[],
        ),
        404,
    );
    assert_eq!(
        multipart::post(server.addr(), "/.hidden/", &into_hidden, &[]).status,
        404
    );
    assert_same(&before, &snapshot(server.tree().base()), "hidden uploads");
}

#[test]
fn with_show_hidden_hidden_names_can_be_uploaded() {
    let server = Server::builder().show_hidden().start();
    assert_204(
        &upload_raw(&server, "/api/1/.hidden/new.txt?cmd=upload", b"raw"),
        "raw into hidden dir",
    );
    assert_stored(&server, ".hidden/new.txt", b"raw");
    let form = Form::new(BOUNDARY).file("f", ".dotfile", b"dot");
    assert_204(
        &multipart::post(server.addr(), "/api/1/sub?cmd=upload", &form, &[]),
        "dotfile",
    );
    assert_stored(&server, "sub/.dotfile", b"dot");
}

#[test]
fn uploads_where_upload_is_not_allowed_are_403_and_change_nothing() {
    let rules = "\
[DEFAULT]
allow = all

[/café]
allow = list, download

[/sub/locked.txt]
allow = list
";
    let server = Server::builder().config(rules).start();
    let before = snapshot(server.tree().base());
    let cafe = encode_path("/café");
    json_error(
        &upload_raw(&server, &format!("/api/1{cafe}/new.txt?cmd=upload"), b"x"),
        403,
    );
    json_error(
        &upload_raw(&server, &format!("/api/1{cafe}/menu.txt?cmd=upload"), b"x"),
        403,
    );
    json_error(
        &upload_raw(&server, "/api/1/sub/locked.txt?cmd=upload", b"x"),
        403,
    );
    let form = Form::new(BOUNDARY).file("f", "new.txt", b"x");
    json_error(
        &multipart::post(
            server.addr(),
            &format!("/api/1{cafe}?cmd=upload"),
            &form,
            &[],
        ),
        403,
    );
    assert_eq!(
        multipart::post(server.addr(), &cafe, &form, &[]).status,
        403
    );
    // One forbidden target in a form refuses all of it.
    let form = Form::new(BOUNDARY).file("f", "allowed.txt", b"fine").file(
        "f",
        "locked.txt",
        b"not allowed here",
    );
    json_error(
        &multipart::post(server.addr(), "/api/1/sub?cmd=upload", &form, &[]),
        403,
    );
    assert_eq!(
        multipart::post(server.addr(), "/sub", &form, &[]).status,
        403
    );
    assert_same(
        &before,
        &snapshot(server.tree().base()),
        "forbidden uploads",
    );

    // The rest of /sub still takes uploads.
    let form = Form::new(BOUNDARY).file("f", "allowed.txt", b"fine");
    assert_204(
        &multipart::post(server.addr(), "/api/1/sub?cmd=upload", &form, &[]),
        "allowed",
    );
    assert_stored(&server, "sub/allowed.txt", b"fine");
}

#[test]
fn a_new_upload_is_listed_with_its_exact_size() {
    let server = open_server();
    let body = pseudo_random(6, 12_345);
    assert_204(
        &upload_raw(&server, "/api/1/sub/listed.bin?cmd=upload", &body),
        "upload",
    );
    let listing = server.json("/api/1/sub");
    let file = integration_tests::inspect::entry(&listing["data"]["files"], "listed.bin");
    assert_eq!(file["bytes"], 12_345);
    let info = server.json("/api/1/sub/listed.bin?cmd=info");
    assert_eq!(info["data"]["checksum"], sha256_hex(&body));
}

#[test]
fn put_is_a_raw_upload_as_curl_t_sends_it() {
    let server = Server::start();
    let with_cmd = server.request("PUT", "/api/1/sub/put.txt?cmd=upload", Some(b"put"));
    assert_eq!(with_cmd.status, 204, "{}", with_cmd.text());
    let without = server.request("PUT", "/api/1/sub/put2.txt", Some(b"put two"));
    assert_eq!(without.status, 204, "{}", without.text());
    assert_eq!(fs::read(server.root().join("sub/put.txt")).unwrap(), b"put");
    assert_eq!(
        fs::read(server.root().join("sub/put2.txt")).unwrap(),
        b"put two"
    );
}

#[test]
fn upload_with_another_method_is_400_and_writes_nothing() {
    let server = Server::start();
    let before = snapshot(server.tree().base());
    json_error(&server.get("/api/1/sub/get.txt?cmd=upload"), 400);
    json_error(
        &server.request("DELETE", "/api/1/sub?cmd=upload", None),
        400,
    );
    assert_same(&before, &snapshot(server.tree().base()), "wrong methods");
}

#[test]
fn put_to_a_page_address_is_a_raw_upload_too() {
    let server = Server::start();
    let put = server.request("PUT", "/sub/web-put.txt", Some(b"from a page address"));
    assert_eq!(put.status, 204, "{}", put.text());
    assert_stored(&server, "sub/web-put.txt", b"from a page address");
    // Again: the file is replaced whole.
    let again = server.request("PUT", "/sub/web-put.txt", Some(b"v2"));
    assert_eq!(again.status, 204, "{}", again.text());
    assert_stored(&server, "sub/web-put.txt", b"v2");
    assert_no_temp_files(&server);
}

#[test]
fn curl_upload_file_puts_it_into_the_folder() {
    // What a user types: `curl -T FILE http://host:port/folder/` (curl
    // appends the file's name to a URL that ends in `/`).
    let server = Server::start();
    let source = server.tree().base().join("homework ü.txt");
    fs::write(&source, b"my homework\n").unwrap();
    let output = std::process::Command::new("curl")
        .args(["-sS", "-o", "/dev/null", "-w", "%{http_code}", "-T"])
        .arg(&source)
        .arg(server.url("/sub/"))
        .output()
        .expect("curl (apt-get install -y curl)");
    assert_eq!(String::from_utf8_lossy(&output.stdout), "204", "{output:?}");
    assert_stored(&server, "sub/homework ü.txt", b"my homework\n");
}

#[test]
fn bad_puts_to_page_addresses_are_refused_and_write_nothing() {
    let server = Server::builder()
        .config("[DEFAULT]\nallow = all\n\n[/readonly]\nallow = list, download\n")
        .start();
    fs::create_dir_all(server.root().join("readonly")).unwrap();
    let before = snapshot(server.tree().base());
    for (target, status, names) in [
        ("/sub", 400, "sub"),
        ("/", 400, "/"),
        ("/missing-dir/file.txt", 404, "missing-dir"),
        ("/readonly/file.txt", 403, "readonly/file.txt"),
        ("/sub/.hidden.txt", 404, ".hidden.txt"),
    ] {
        let response = server.request("PUT", target, Some(b"nope"));
        assert_eq!(response.status, status, "PUT {target}: {}", response.text());
        assert!(
            response.is_html(),
            "PUT {target}: a page address answers HTML"
        );
        assert!(
            response.text().contains(names),
            "PUT {target}: the error does not name `{names}`: {}",
            response.text()
        );
    }
    // Sent byte for byte: the test client would resolve the dots itself.
    let escape = server.raw(
        b"PUT /sub/%2e%2e/%2e%2e/escape.txt HTTP/1.1\r\nHost: x\r\n\
          Content-Length: 4\r\nConnection: close\r\n\r\nnope",
    );
    assert!(escape.starts_with("HTTP/1.1 403"), "{escape}");
    assert_same(&before, &snapshot(server.tree().base()), "refused PUTs");
}

#[test]
fn uploads_to_the_servers_own_addresses_are_refused() {
    let server = Server::start();
    for target in ["/api/assets/x/y.css", "/api/health"] {
        let response = server.request("PUT", target, Some(b"mine now"));
        assert!(
            matches!(response.status, 400 | 404),
            "PUT {target}: {}",
            response.text()
        );
        assert!(
            response.text().contains(target),
            "PUT {target}: the error does not name the address: {}",
            response.text()
        );
    }
    assert_no_temp_files(&server);
}
