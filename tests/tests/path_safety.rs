//! Path safety: traversal attempts, NUL and bad UTF-8, absolute-looking
//! paths and symlinks that lead outside the root never reach outside, and
//! answer 4xx — JSON on API paths, HTML on web paths (contract §1, §5).
//!
//! Request targets go over a raw socket: a URL library would resolve the
//! `..` and `%2e%2e` segments before the server saw them.

use std::fs;

use integration_tests::inspect::{entry_names, json_error, sha256_hex};
use integration_tests::{OUTSIDE_LINKS, OUTSIDE_SECRET, Response, Server};

/// Allow everything, so that a 403 can only come from the path rules.
const ALLOW_ALL: &str = "[DEFAULT]\nallow = all\n";

/// API targets with a `..` segment, before or after decoding: 403.
const API_DOT_DOT: &[&str] = &[
    "/api/1/../outside/secret.txt",
    "/api/1/sub/../../outside/secret.txt",
    "/api/1/%2e%2e/outside/secret.txt",
    "/api/1/%2E%2E/outside/secret.txt",
    "/api/1/.%2e/outside/secret.txt",
    "/api/1/..%2foutside%2fsecret.txt",
    "/api/1/sub%2f..%2f..%2foutside%2fsecret.txt",
    "/api/1/../outside/secret.txt?cmd=checksum",
    "/api/1/../outside?cmd=list",
    "/api/1/%2e%2e?cmd=list",
    "/api/1/..",
];

/// Web targets with a `..` segment: 403.
const WEB_DOT_DOT: &[&str] = &[
    "/../outside/secret.txt",
    "/sub/../../outside/secret.txt",
    "/%2e%2e/outside/secret.txt",
    "/..%2foutside%2fsecret.txt",
    "/..",
    "/%2e%2e/",
];

/// Targets with a NUL or invalid UTF-8 once decoded: 400.
const BAD_BYTES: &[&str] = &[
    "/hello.txt%00",
    "/hello.txt%00.png",
    "/%00",
    "/%ff%fe",
    "/caf%e9/",
    "/%c0%ae%c0%ae/outside/secret.txt",
];

/// Targets that name nothing inside the root: 404.
const NOTHING_INSIDE: &[&str] = &[
    "//etc/passwd",
    "///etc/passwd",
    "/%2Fetc%2Fpasswd",
    "/%252e%252e/outside/secret.txt",
    "/..%5coutside%5csecret.txt",
    "/...",
];

/// The address of the outside file as an absolute host path, in the two
/// absolute-looking spellings (`//abs` and `%2F`-encoded).
fn absolute_spellings(server: &Server) -> Vec<String> {
    let outside = server.tree().outside().join("secret.txt");
    let outside = outside.to_str().expect("UTF-8 temp path");
    vec![
        format!("/{outside}"),
        format!("/{}", outside.replace('/', "%2F")),
    ]
}

/// Checks an API answer: the status, a JSON envelope, no leak.
fn assert_api(server: &Server, target: &str, response: &Response, status: u16) {
    server.assert_no_leak(response, target);
    json_error(response, status);
}

/// Checks a web answer: the status, an HTML page, no leak.
fn assert_web(server: &Server, target: &str, response: &Response, status: u16) {
    server.assert_no_leak(response, target);
    assert_eq!(response.status, status, "{target}: {}", response.text());
    assert!(
        response.is_html(),
        "{target}: headers {:?}",
        response.headers
    );
}

#[test]
fn dot_dot_segment_is_forbidden_on_api_paths() {
    let server = Server::builder().config(ALLOW_ALL).start();
    for target in API_DOT_DOT {
        assert_api(&server, target, &server.raw_request("GET", target), 403);
    }
}

#[test]
fn dot_dot_segment_is_forbidden_on_web_paths() {
    let server = Server::start();
    for target in WEB_DOT_DOT {
        assert_web(&server, target, &server.raw_request("GET", target), 403);
    }
}

#[test]
fn nul_or_invalid_utf8_is_a_bad_request() {
    let server = Server::builder().config(ALLOW_ALL).start();
    for target in BAD_BYTES {
        assert_web(&server, target, &server.raw_request("GET", target), 400);
        let api = format!("/api/1{target}");
        assert_api(&server, &api, &server.raw_request("GET", &api), 400);
    }
}

#[test]
fn absolute_looking_paths_stay_inside_the_root() {
    let server = Server::builder().config(ALLOW_ALL).start();
    let mut targets: Vec<String> = NOTHING_INSIDE.iter().map(|t| t.to_string()).collect();
    targets.extend(absolute_spellings(&server));
    for target in &targets {
        let response = server.raw_request("GET", target);
        assert_web(&server, target, &response, 404);
        assert!(
            !response.text().contains("root:x:0:0"),
            "{target}: /etc/passwd was served"
        );
        let api = format!("/api/1{target}");
        let response = server.raw_request("GET", &api);
        assert_api(&server, &api, &response, 404);
        assert!(
            !response.text().contains("root:x:0:0"),
            "{api}: /etc/passwd was served"
        );
    }
}

#[test]
fn a_file_of_that_name_inside_the_root_is_what_an_absolute_path_means() {
    let server = Server::start();
    server
        .tree()
        .write("etc/passwd", b"the share's own passwd file\n");
    for target in [
        "//etc/passwd",
        "/%2Fetc%2Fpasswd",
        "/api/1//etc/passwd",
        "/api/1/%2Fetc%2Fpasswd",
    ] {
        let response = server.raw_request("GET", target);
        assert_eq!(response.status, 200, "{target}");
        assert_eq!(response.body, b"the share's own passwd file\n", "{target}");
    }
}

#[test]
fn empty_and_dot_segments_are_dropped() {
    let server = Server::start();
    let cases = [
        ("/./hello.txt", "hello.txt"),
        ("//hello.txt", "hello.txt"),
        ("/sub//deeper///file.txt", "sub/deeper/file.txt"),
        ("/sub/./deeper/./file.txt", "sub/deeper/file.txt"),
        ("/api/1/./sub//readme.txt", "sub/readme.txt"),
    ];
    for (target, path) in cases {
        let response = server.raw_request("GET", target);
        assert_eq!(response.status, 200, "{target}");
        let expected = fs::read(server.root().join(path)).expect("fixture file");
        assert_eq!(response.body, expected, "{target}");
    }
    let response = server.raw_request("GET", "/api/1/./sub//?cmd=list");
    assert_eq!(response.status, 200);
    assert_eq!(response.json()["data"]["name"], "/sub");
}

#[test]
fn traversal_touches_nothing_outside() {
    let server = Server::builder().config(ALLOW_ALL).start();
    let outside = server.tree().outside();
    let attempts = [
        ("DELETE", "/api/1/../outside/secret.txt"),
        ("DELETE", "/api/1/%2e%2e/outside"),
        ("POST", "/api/1/../outside/made-by-server?cmd=mkdir"),
        ("POST", "/api/1/%2e%2e/made-by-server?cmd=mkdir"),
        ("POST", "/api/1/../outside/uploaded.txt?cmd=upload"),
    ];
    for (method, target) in attempts {
        let response = server.raw_request(method, target);
        assert_api(&server, target, &response, 403);
    }
    assert_eq!(
        fs::read_to_string(outside.join("secret.txt")).expect("still there"),
        OUTSIDE_SECRET
    );
    let mut names: Vec<_> = fs::read_dir(&outside)
        .expect("outside dir")
        .map(|e| e.expect("entry").file_name())
        .collect();
    names.sort();
    assert_eq!(names, ["secret.txt"], "something was created outside");
    assert!(!server.tree().base().join("made-by-server").exists());
}

#[test]
fn symlinks_leading_outside_are_404() {
    let server = Server::builder().config(ALLOW_ALL).start();
    for link in OUTSIDE_LINKS {
        for target in [
            format!("/{link}"),
            format!("/{link}/"),
            format!("/{link}/secret.txt"),
        ] {
            assert_web(&server, &target, &server.get(&target), 404);
        }
        for suffix in [
            "",
            "?cmd=download",
            "?cmd=info",
            "?cmd=checksum",
            "?cmd=list",
            "/secret.txt",
        ] {
            let target = format!("/api/1/{link}{suffix}");
            assert_api(&server, &target, &server.get(&target), 404);
        }
    }
}

#[test]
fn symlinks_leading_outside_are_not_listed() {
    let server = Server::start();
    let data = server.json("/api/1/")["data"].clone();
    let mut names = entry_names(&data["files"]);
    names.extend(entry_names(&data["directories"]));
    for link in OUTSIDE_LINKS {
        assert!(
            !names.iter().any(|n| n == link),
            "{link} listed in {names:?}"
        );
    }
    let html = server.get("/").text();
    for link in OUTSIDE_LINKS {
        assert!(!html.contains(link), "{link} shown in the web listing");
    }
}

#[test]
fn outside_content_never_appears_in_any_response() {
    let server = Server::builder().config(ALLOW_ALL).start();
    let secret_sum = sha256_hex(OUTSIDE_SECRET.as_bytes());
    let mut targets: Vec<String> = Vec::new();
    targets.extend(API_DOT_DOT.iter().chain(WEB_DOT_DOT).map(|t| t.to_string()));
    targets.extend(
        BAD_BYTES
            .iter()
            .chain(NOTHING_INSIDE)
            .map(|t| t.to_string()),
    );
    targets.extend(absolute_spellings(&server));
    for link in OUTSIDE_LINKS {
        for suffix in [
            "",
            "/",
            "/secret.txt",
            "?cmd=info",
            "?cmd=checksum",
            "?cmd=list",
        ] {
            targets.push(format!("/{link}{suffix}"));
            targets.push(format!("/api/1/{link}{suffix}"));
        }
    }
    targets.extend(["/", "/api/1/", "/api/1/?cmd=list"].map(str::to_owned));
    for target in &targets {
        for method in ["GET", "HEAD"] {
            let response = server.raw_request(method, target);
            server.assert_no_leak(&response, target);
            assert!(
                !response.text().contains(&secret_sum),
                "{method} {target}: the outside checksum leaked"
            );
            assert!(
                response.status < 500,
                "{method} {target}: {}",
                response.status
            );
        }
    }
}
