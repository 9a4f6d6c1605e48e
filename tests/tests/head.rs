//! `HEAD` on every address answers like `GET`: same status, same headers
//! (but `Date`), no body (contract §1).

use integration_tests::{Response, Server};

/// Addresses of every kind: files, folders, API listings and errors.
const TARGETS: &[&str] = &[
    "/hello.txt",
    "/%E6%97%A5%E6%9C%AC%E8%AA%9E.txt",
    "/a%20b%23c%25d%2Be%5B1%5D.txt",
    "/empty.txt",
    "/pattern.bin",
    "/favicon.ico",
    "/",
    "/sub/",
    "/no-such-file",
    "/api/health",
    "/api/1/",
    "/api/1/sub",
    "/api/1/hello.txt",
    "/api/1/hello.txt?cmd=download",
    "/api/1/no-such-file",
    "/api/1/?cmd=frobnicate",
    "/api/1/hello.txt?cmd=info",
    "/api/2/",
    "/.secret",
    "/outside-abs.txt",
];

/// Targets only a raw client can send: traversal and bad bytes.
const RAW_TARGETS: &[&str] = &[
    "/../outside/secret.txt",
    "/api/1/%2e%2e/x",
    "/api/1/%00",
    "/%ff",
];

/// Headers of `response` that must match, sorted: all but `Date`.
fn comparable(response: &Response) -> Vec<(String, String)> {
    let mut headers: Vec<_> = response
        .headers
        .iter()
        .filter(|(n, _)| n != "date")
        .cloned()
        .collect();
    headers.sort();
    headers
}

fn assert_head_matches_get(target: &str, get: &Response, head: &Response) {
    assert_eq!(head.status, get.status, "{target}: status");
    assert_eq!(comparable(head), comparable(get), "{target}: headers");
    assert!(head.body.is_empty(), "{target}: HEAD sent a body");
    if let Some(length) = get.header("content-length") {
        assert_eq!(
            length,
            get.body.len().to_string(),
            "{target}: GET Content-Length"
        );
    }
}

#[test]
fn head_matches_get_on_every_kind_of_address() {
    let server = Server::start();
    for target in TARGETS {
        assert_head_matches_get(target, &server.get(target), &server.head(target));
    }
}

#[test]
fn head_matches_get_on_rejected_paths() {
    let server = Server::start();
    for target in RAW_TARGETS {
        let get = server.raw_request("GET", target);
        let head = server.raw_request("HEAD", target);
        assert_head_matches_get(target, &get, &head);
        assert!(
            get.status >= 400 && get.status < 500,
            "{target}: {}",
            get.status
        );
    }
}

#[test]
fn head_of_a_file_announces_its_full_length() {
    let server = Server::start();
    let head = server.head("/pattern.bin");
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-length"), Some("300001"));
    assert!(
        head.header("content-disposition")
            .is_some_and(|v| v.starts_with("attachment"))
    );
}

#[test]
fn head_changes_nothing() {
    let server = Server::builder().config("[DEFAULT]\nallow = all\n").start();
    for target in ["/api/1/hello.txt?cmd=delete", "/api/1/newdir?cmd=mkdir"] {
        let response = server.head(target);
        assert!(
            response.status >= 400,
            "{target}: HEAD answered {}",
            response.status
        );
    }
    assert!(server.root().join("hello.txt").is_file());
    assert!(!server.root().join("newdir").exists());
}
