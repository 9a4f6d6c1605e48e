//! Downloads: `GET /<file>` and `GET /api/1/<file>[?cmd=download]` stream
//! the exact bytes with `Content-Length`, a type guessed from the name and
//! an RFC 6266 / 5987 `Content-Disposition` (contract §3 download).

use std::fs::{self, File};
use std::time::Duration;

use integration_tests::inspect::{decode, disposition_filename, encode_path, json_error};
use integration_tests::payload::pseudo_random;
use integration_tests::rawget::RawGet;
use integration_tests::{Server, visible_files};

/// Whether a file has a web address: files under the root folder `api`
/// are only reached through `/api/1/api/…` (contract §1).
fn on_the_web(path: &str) -> bool {
    !path.starts_with("api/")
}

/// The addresses that download the file at `path` (from the root).
fn download_addresses(path: &str) -> Vec<String> {
    let encoded = encode_path(&format!("/{path}"));
    let mut addresses = vec![
        format!("/api/1{encoded}"),
        format!("/api/1.0{encoded}"),
        format!("/api/1.0.0{encoded}?cmd=download"),
    ];
    if on_the_web(path) {
        addresses.push(encoded);
    }
    addresses
}

#[test]
fn every_file_downloads_its_exact_bytes_on_web_and_api_paths() {
    let server = Server::start();
    for (path, content) in visible_files() {
        for address in download_addresses(path) {
            let response = server.get(&address);
            assert_eq!(response.status, 200, "{address}: {}", response.text());
            assert!(response.body == content, "{address}: other bytes");
            let length = response.header("content-length");
            assert_eq!(
                length,
                Some(content.len().to_string().as_str()),
                "{address}"
            );
        }
    }
}

#[test]
fn app_js_and_favicon_in_the_root_are_the_shared_files() {
    // The web application's own assets must not shadow files of the share.
    let server = Server::start();
    let files = visible_files();
    for name in ["app.js", "favicon.ico"] {
        let expected = &files
            .iter()
            .find(|(p, _)| *p == name)
            .expect("fixture file")
            .1;
        let response = server.get(&format!("/{name}"));
        assert_eq!(response.status, 200, "/{name}");
        assert_eq!(&response.body, expected, "/{name} is not the shared file");
        assert!(
            response
                .header("content-disposition")
                .unwrap_or_default()
                .starts_with("attachment")
        );
    }
}

#[test]
fn content_type_is_guessed_from_the_name() {
    let server = Server::start();
    let cases = [
        ("/hello.txt", "text/plain"),
        ("/app.js", "javascript"),
        ("/favicon.ico", "image/"),
        ("/mystery.zzz9", "application/octet-stream"),
        ("/pattern.bin", "application/octet-stream"),
    ];
    for (path, wanted) in cases {
        let response = server.get(path);
        let content_type = response
            .header("content-type")
            .unwrap_or_default()
            .to_ascii_lowercase();
        assert!(
            content_type.contains(wanted),
            "{path}: Content-Type {content_type:?}, wanted {wanted}"
        );
    }
}

#[test]
fn content_disposition_is_an_attachment_that_keeps_every_name() {
    let server = Server::start();
    for (path, _) in visible_files() {
        let name = path.rsplit('/').next().expect("a name");
        let headers: Vec<Option<String>> = download_addresses(path)
            .iter()
            .map(|a| {
                server
                    .get(a)
                    .header("content-disposition")
                    .map(str::to_owned)
            })
            .collect();
        assert!(
            headers.windows(2).all(|w| w[0] == w[1]),
            "{path}: addresses differ: {headers:?}"
        );
        let header = headers[0].as_deref().unwrap_or_default();
        assert!(
            header.to_ascii_lowercase().starts_with("attachment"),
            "{path}: {header:?}"
        );
        assert_eq!(
            disposition_filename(header).as_deref(),
            Some(name),
            "{path}: {header:?}"
        );
        assert!(
            header.is_ascii(),
            "{path}: raw non-ASCII in the header {header:?}"
        );
    }
}

#[test]
fn non_ascii_name_uses_the_rfc_5987_form() {
    let server = Server::start();
    let header = server
        .get("/%E6%97%A5%E6%9C%AC%E8%AA%9E.txt")
        .header("content-disposition")
        .map(str::to_owned);
    let header = header.expect("a Content-Disposition header");
    let lower = header.to_ascii_lowercase();
    let at = lower
        .find("filename*=utf-8''")
        .unwrap_or_else(|| panic!("no filename* in {header:?}"));
    let value = header[at + "filename*=utf-8''".len()..]
        .split(';')
        .next()
        .unwrap_or_default();
    assert_eq!(decode(value).as_deref(), Some("日本語.txt"), "{header:?}");
}

#[test]
fn empty_file_downloads_as_zero_bytes() {
    let server = Server::start();
    for path in ["/empty.txt", "/api/1/empty.txt"] {
        let response = server.get(path);
        assert_eq!(response.status, 200, "{path}");
        assert_eq!(response.header("content-length"), Some("0"), "{path}");
        assert!(response.body.is_empty(), "{path}");
    }
}

#[test]
fn files_in_a_folder_called_api_are_reached_through_a_version() {
    let server = Server::start();
    let response = server.get("/api/1/api/inside.txt");
    assert_eq!(response.status, 200);
    assert_eq!(response.body, b"a file in a folder called api\n");
}

#[test]
fn api_download_of_a_missing_file_is_404_json() {
    let server = Server::start();
    let extra = json_error(&server.get("/api/1/sub/missing.txt?cmd=download"), 404);
    assert!(
        extra.contains("sub/missing.txt"),
        "extra names the path: {extra}"
    );
    let extra = json_error(&server.get("/api/1/nothing-here.txt"), 404);
    assert!(
        extra.contains("nothing-here.txt"),
        "extra names the path: {extra}"
    );
}

#[test]
fn api_download_of_a_folder_is_400_json() {
    let server = Server::start();
    json_error(&server.get("/api/1/sub?cmd=download"), 400);
    json_error(&server.get("/api/1/?cmd=download"), 400);
}

#[test]
fn api_download_with_the_wrong_method_is_400_json() {
    let server = Server::start();
    json_error(
        &server.request("DELETE", "/api/1/hello.txt?cmd=download", None),
        400,
    );
    assert!(server.root().join("hello.txt").is_file());
}

#[test]
fn download_not_permitted_is_403_json() {
    let server = Server::builder()
        .config("[DEFAULT]\nallow = list\n")
        .start();
    let extra = json_error(&server.get("/api/1/hello.txt?cmd=download"), 403);
    assert!(extra.contains("hello.txt"), "extra names the path: {extra}");
    json_error(&server.get("/api/1/hello.txt"), 403);
    assert_eq!(
        server.get("/hello.txt").status,
        403,
        "the web path obeys the permission too"
    );
}

#[test]
fn a_file_that_shrinks_while_sent_cuts_the_transfer_short() {
    let builder = Server::builder();
    let content = pseudo_random(11, 64 << 20);
    let victim = builder.tree().write("shrinks.bin", &content);
    let server = builder.start();

    for (target, headers) in [
        ("/shrinks.bin", &[][..]),
        ("/api/1/shrinks.bin", &[("Range", "bytes=1000-")][..]),
    ] {
        let mut get = RawGet::send(&server, target, headers);
        assert!(get.head.starts_with("http/1.1 20"), "{}", get.head);
        get.read_at_least(64 * 1024);
        // The server cannot be more than the socket buffers ahead of us,
        // far less than 64 MiB: cut the file under it.
        File::options()
            .write(true)
            .open(&victim)
            .and_then(|f| f.set_len(1000))
            .expect("truncate the file");
        get.read_to_close();
        let length = get.content_length();
        assert!(
            (get.body.len() as u64) < length,
            "{target}: {} of {length} bytes, as if complete",
            get.body.len()
        );
        fs::write(&victim, &content).expect("restore the file");
    }

    let log = server.wait_for_stderr(Duration::from_secs(10), |log| {
        log.matches("the file shrank while sent").count() >= 2
    });
    assert!(!log.contains("panicked"), "{log}");
    let again = server.get("/shrinks.bin");
    assert_eq!(again.status, 200);
    assert!(again.body == content, "other bytes after the cut transfers");
}

#[test]
fn a_client_that_leaves_mid_download_leaves_the_server_serving() {
    let builder = Server::builder();
    let content = pseudo_random(12, 32 << 20);
    builder.tree().write("big.bin", &content);
    let server = builder.start();
    for _ in 0..8 {
        let mut get = RawGet::send(&server, "/big.bin", &[]);
        get.read_at_least(64 * 1024);
        drop(get);
    }
    let log = server.wait_for_stderr(Duration::from_secs(10), |log| {
        log.matches("response body cut off").count() >= 8
    });
    assert!(!log.contains("the file shrank"), "{log}");
    let again = server.get("/big.bin");
    assert_eq!(again.status, 200);
    assert!(again.body == content);
}

#[test]
fn a_named_pipe_does_not_exist_on_any_address() {
    let builder = Server::builder();
    let pipe = builder.tree().root().join("pipe");
    let made = std::process::Command::new("mkfifo")
        .arg(&pipe)
        .status()
        .expect("run mkfifo");
    assert!(made.success(), "mkfifo failed");
    let server = builder.start();
    for target in [
        "/api/1/pipe",
        "/api/1/pipe?cmd=download",
        "/api/1/pipe?cmd=info",
        "/api/1/pipe?cmd=checksum",
    ] {
        let extra = json_error(&server.get(target), 404);
        assert!(
            extra.contains("pipe"),
            "{target}: extra names the path: {extra}"
        );
    }
    let delete = server.request("DELETE", "/api/1/pipe", None);
    json_error(&delete, 404);
    assert_eq!(server.get("/pipe").status, 404);
    let listing = server.get("/api/1/").text();
    assert!(!listing.contains("\"pipe\""), "{listing}");
    assert!(pipe.exists(), "the pipe was removed");
}
