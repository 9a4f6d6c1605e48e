//! The access log: one line per request on stderr with method, path and
//! status; control characters in paths are escaped (issue 2, CLI).

use std::time::Duration;

use integration_tests::Server;

/// How long a log line may lag behind its response.
const LOG_DELAY: Duration = Duration::from_secs(10);

/// The stderr lines that contain `needle`.
fn lines_with<'a>(log: &'a str, needle: &str) -> Vec<&'a str> {
    log.lines().filter(|l| l.contains(needle)).collect()
}

#[test]
fn each_request_logs_one_line_with_method_path_and_status() {
    let server = Server::start();
    // (method, path, status, a marker that only this request's line holds)
    let requests = [
        ("GET", "/sub/readme.txt", 200, "/sub/readme.txt"),
        ("HEAD", "/empty.txt", 200, "/empty.txt"),
        (
            "GET",
            "/api/1/no-such-api-marker",
            404,
            "no-such-api-marker",
        ),
        ("GET", "/no-such-web-marker", 404, "no-such-web-marker"),
        ("DELETE", "/api/1/hello.txt", 403, "/api/1/hello.txt"),
    ];
    for (method, path, status, _) in requests {
        assert_eq!(
            server.request(method, path, None).status,
            status,
            "{method} {path}"
        );
    }
    let log = server.wait_for_stderr(LOG_DELAY, |log| requests.iter().all(|r| log.contains(r.3)));
    for (method, path, status, marker) in requests {
        let lines = lines_with(&log, marker);
        assert_eq!(
            lines.len(),
            1,
            "{method} {path}: expected one line, got {lines:?}"
        );
        let line = lines[0];
        assert!(line.contains(method), "no method in {line:?}");
        assert!(
            line.split_whitespace().any(|w| w == status.to_string()),
            "no status in {line:?}"
        );
    }
}

#[test]
fn rejected_paths_are_logged_with_their_status() {
    let server = Server::start();
    assert_eq!(server.raw_request("GET", "/../dotdot-marker").status, 403);
    assert_eq!(server.raw_request("GET", "/nul-marker%00").status, 400);
    let log = server.wait_for_stderr(LOG_DELAY, |log| {
        log.contains("dotdot-marker") && log.contains("nul-marker")
    });
    let dotdot = lines_with(&log, "dotdot-marker");
    assert_eq!(dotdot.len(), 1, "{dotdot:?}");
    assert!(
        dotdot[0].split_whitespace().any(|w| w == "403"),
        "{dotdot:?}"
    );
    let nul = lines_with(&log, "nul-marker");
    assert_eq!(nul.len(), 1, "{nul:?}");
    assert!(nul[0].split_whitespace().any(|w| w == "400"), "{nul:?}");
}

#[test]
fn control_characters_in_paths_are_logged_escaped() {
    let server = Server::start();
    // ESC [31m (a terminal colour), BEL, and CR LF (a forged log line).
    let target = "/%1b%5b31mred-marker%07%0d%0afake-line%09tab";
    let status = server.raw_request("GET", target).status;
    assert!((400..500).contains(&status), "{target}: {status}");
    server.wait_for_stderr(LOG_DELAY, |log| log.contains("red-marker"));
    let bytes = server.stderr_bytes();
    for control in [0x1b_u8, 0x07, b'\r'] {
        assert!(
            !bytes.contains(&control),
            "raw control byte {control:#04x} in stderr"
        );
    }
    let log = server.stderr();
    assert!(
        !log.lines().any(|l| l.trim_start().starts_with("fake-line")),
        "a forged line:\n{log}"
    );
    let line = lines_with(&log, "red-marker");
    assert_eq!(line.len(), 1, "{line:?}");
    assert!(
        line[0].contains("fake-line"),
        "the whole path stays on one line: {line:?}"
    );
}

#[test]
fn heads_refused_before_the_server_reads_them_are_logged_too() {
    let server = Server::start();
    let too_large = format!(
        "GET /hello.txt HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(70 * 1024)
    );
    assert!(server.raw(too_large.as_bytes()).starts_with("HTTP/1.1 431"));
    assert!(
        server
            .raw(b"NOT HTTP\x01\r\n\r\n")
            .starts_with("HTTP/1.1 400")
    );
    let log = server.wait_for_stderr(LOG_DELAY, |log| {
        log.contains("request head too large") && log.contains("request head unreadable")
    });
    for (why, status) in [
        ("request head too large", "431"),
        ("request head unreadable", "400"),
    ] {
        let lines = lines_with(&log, why);
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(
            lines[0].split_whitespace().any(|w| w == status),
            "{lines:?}"
        );
    }
}
