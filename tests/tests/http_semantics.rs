//! Downloads behave like a real web server's (issue #6, contract §3
//! download): byte ranges, validators and conditional requests, the same
//! on web and API addresses; `HEAD` agrees with `GET`; connections are kept
//! alive, slow clients are cut off, and a crowd of connections is served.
//!
//! Documented choice: a request for several ranges at once gets the whole
//! file (200), which RFC 9110 §14.2 allows.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant, UNIX_EPOCH};

use integration_tests::wire::{self, KeepAlive};
use integration_tests::{Response, Server, visible_files};

/// The fixture file that spans several download chunks (300 001 bytes).
const PATTERN: &str = "pattern.bin";

/// The `--header-timeout` of the slow-client test (the default, 30 s, is
/// checked by the host's unit tests).
const HEADER_TIMEOUT: Duration = Duration::from_secs(3);

/// 2020-01-01T12:00:00Z in seconds since the epoch: tests set a file's
/// modification time to this (plus a fraction of a second) so that its
/// `Last-Modified` can be compared with the fixed dates below.
const NOON: u64 = 1_577_880_000;
/// [`NOON`] as an HTTP date, and a day either side of it.
const NOON_DATE: &str = "Wed, 01 Jan 2020 12:00:00 GMT";
const DAY_BEFORE: &str = "Tue, 31 Dec 2019 12:00:00 GMT";
const DAY_AFTER: &str = "Thu, 02 Jan 2020 12:00:00 GMT";

/// The three addresses that download the root file `name`.
fn addresses(name: &str) -> [String; 3] {
    [
        format!("/{name}"),
        format!("/api/1/{name}"),
        format!("/api/1/{name}?cmd=download"),
    ]
}

/// The content of `pattern.bin`.
fn pattern() -> Vec<u8> {
    visible_files()
        .into_iter()
        .find(|(path, _)| *path == PATTERN)
        .expect("pattern.bin is a fixture")
        .1
}

fn get(server: &Server, target: &str, headers: &[(&str, &str)]) -> Response {
    wire::request(server.addr(), "GET", target, headers)
}

fn head(server: &Server, target: &str, headers: &[(&str, &str)]) -> Response {
    wire::request(server.addr(), "HEAD", target, headers)
}

/// Sets the modification time of `path` to `secs` + `nanos` after the epoch.
fn set_mtime(path: &std::path::Path, secs: u64, nanos: u32) {
    let file = File::options()
        .write(true)
        .open(path)
        .expect("open to set mtime");
    let time = UNIX_EPOCH + Duration::new(secs, nanos);
    file.set_modified(time).expect("set mtime");
}

/// The `ETag` of a 200 download, asserted present.
fn etag_of(server: &Server, target: &str) -> String {
    let response = get(server, target, &[]);
    assert_eq!(response.status, 200, "{target}: {}", response.text());
    response
        .header("etag")
        .unwrap_or_else(|| panic!("{target}: no ETag in {:?}", response.headers))
        .to_owned()
}

/// What a request is about, for assertion messages.
fn what(target: &str, headers: &[(&str, &str)]) -> String {
    format!("GET {target} {headers:?}")
}

fn assert_partial(response: &Response, context: &str, start: usize, end: usize, whole: &[u8]) {
    assert_eq!(response.status, 206, "{context}: {}", response.text());
    let range = format!("bytes {start}-{end}/{}", whole.len());
    assert_eq!(
        response.header("content-range"),
        Some(range.as_str()),
        "{context}"
    );
    let length = (end - start + 1).to_string();
    assert_eq!(
        response.header("content-length"),
        Some(length.as_str()),
        "{context}"
    );
    assert!(
        response.body == whole[start..=end],
        "{context}: other bytes"
    );
}

fn assert_whole(response: &Response, context: &str, whole: &[u8]) {
    assert_eq!(response.status, 200, "{context}: {}", response.text());
    assert_eq!(response.header("content-range"), None, "{context}");
    assert!(response.body == whole, "{context}: not the whole file");
}

fn assert_not_modified(response: &Response, context: &str, etag: &str) {
    assert_eq!(response.status, 304, "{context}: {}", response.text());
    assert!(response.body.is_empty(), "{context}: a 304 with a body");
    assert_eq!(
        response.header("etag"),
        Some(etag),
        "{context}: 304 names the ETag"
    );
}

// ---------------------------------------------------------------- Range

#[test]
fn single_ranges_give_206_with_content_range_and_the_exact_bytes() {
    let server = Server::start();
    let whole = pattern();
    let last = whole.len() - 1;
    let cases = [
        ("bytes=0-99", 0, 99),
        ("bytes=0-0", 0, 0),
        ("bytes=65530-131080", 65_530, 131_080),
        ("bytes=299990-", 299_990, last),
        ("bytes=-500", last - 499, last),
        ("bytes=-1", last, last),
        ("bytes=250000-999999", 250_000, last),
        ("bytes=-999999", 0, last),
    ];
    for target in addresses(PATTERN) {
        for (range, start, end) in cases {
            let headers = [("Range", range)];
            let response = get(&server, &target, &headers);
            assert_partial(&response, &what(&target, &headers), start, end, &whole);
            assert_eq!(response.header("accept-ranges"), Some("bytes"));
        }
    }
}

#[test]
fn unsatisfiable_ranges_give_416_naming_the_size() {
    let server = Server::start();
    for target in addresses(PATTERN) {
        for range in ["bytes=300001-", "bytes=400000-400100", "bytes=-0"] {
            let headers = [("Range", range)];
            let response = get(&server, &target, &headers);
            let context = what(&target, &headers);
            assert_eq!(response.status, 416, "{context}: {}", response.text());
            assert_eq!(
                response.header("content-range"),
                Some("bytes */300001"),
                "{context}"
            );
        }
    }
    for target in addresses("empty.txt") {
        let response = get(&server, &target, &[("Range", "bytes=0-")]);
        assert_eq!(response.status, 416, "{target}: {}", response.text());
        assert_eq!(response.header("content-range"), Some("bytes */0"));
    }
}

#[test]
fn several_or_unusable_ranges_get_the_whole_file() {
    let server = Server::start();
    let whole = pattern();
    let several = ["bytes=0-9,20-29", "bytes=0-0,-1", "bytes=500-, 0-1"];
    let malformed_or_foreign = ["bytes=9-1", "bytes=a-b", "items=0-9", "bytes=", "0-9"];
    for target in addresses(PATTERN) {
        for range in several.into_iter().chain(malformed_or_foreign) {
            let headers = [("Range", range)];
            assert_whole(
                &get(&server, &target, &headers),
                &what(&target, &headers),
                &whole,
            );
        }
    }
}

#[test]
fn whole_file_answers_advertise_byte_ranges() {
    let server = Server::start();
    for target in addresses(PATTERN).into_iter().chain(addresses("hello.txt")) {
        let response = get(&server, &target, &[]);
        assert_eq!(response.status, 200, "{target}");
        assert_eq!(response.header("accept-ranges"), Some("bytes"), "{target}");
    }
}

#[test]
fn if_range_keeps_the_range_only_while_the_file_is_unchanged() {
    let server = Server::start();
    let path = server.root().join(PATTERN);
    set_mtime(&path, NOON, 250_000_000);
    let whole = pattern();
    for target in addresses(PATTERN) {
        let etag = etag_of(&server, &target);
        let current = [("Range", "bytes=10-19"), ("If-Range", etag.as_str())];
        assert_partial(
            &get(&server, &target, &current),
            &what(&target, &current),
            10,
            19,
            &whole,
        );
        let by_date = [("Range", "bytes=10-19"), ("If-Range", NOON_DATE)];
        assert_partial(
            &get(&server, &target, &by_date),
            &what(&target, &by_date),
            10,
            19,
            &whole,
        );
        // A weak tag never matches in If-Range (strong comparison).
        let weak = format!("W/{etag}");
        let weak = [("Range", "bytes=10-19"), ("If-Range", weak.as_str())];
        assert_whole(&get(&server, &target, &weak), &what(&target, &weak), &whole);
        let other_date = [("Range", "bytes=10-19"), ("If-Range", DAY_BEFORE)];
        assert_whole(
            &get(&server, &target, &other_date),
            &what(&target, &other_date),
            &whole,
        );
    }

    // The file changes: the old validator now asks for the whole new file.
    let old = etag_of(&server, &format!("/{PATTERN}"));
    let mut changed = whole.clone();
    changed[15] ^= 0xff;
    fs::write(&path, &changed).expect("rewrite pattern.bin");
    set_mtime(&path, NOON + 60, 0);
    for target in addresses(PATTERN) {
        let stale = [("Range", "bytes=10-19"), ("If-Range", old.as_str())];
        assert_whole(
            &get(&server, &target, &stale),
            &what(&target, &stale),
            &changed,
        );
    }
}

// ---------------------------------------------------------------- validators

#[test]
fn downloads_carry_a_strong_etag_and_last_modified() {
    let server = Server::start();
    set_mtime(&server.root().join(PATTERN), NOON, 250_000_000);
    for target in addresses(PATTERN) {
        let response = get(&server, &target, &[]);
        let etag = response.header("etag").unwrap_or_default();
        assert!(
            etag.len() > 2 && etag.starts_with('"') && etag.ends_with('"'),
            "{target}: ETag {etag:?} is not a strong quoted tag"
        );
        assert_eq!(
            response.header("last-modified"),
            Some(NOON_DATE),
            "{target}"
        );
    }
    let tags: Vec<String> = addresses(PATTERN)
        .iter()
        .map(|t| etag_of(&server, t))
        .collect();
    assert!(
        tags.windows(2).all(|w| w[0] == w[1]),
        "one file, one ETag: {tags:?}"
    );
}

#[test]
fn if_none_match_gives_304_without_a_body() {
    let server = Server::start();
    for target in addresses(PATTERN) {
        let etag = etag_of(&server, &target);
        let list = format!("\"nope\", {etag}, \"other\"");
        let weak = format!("W/{etag}");
        for condition in [etag.as_str(), list.as_str(), weak.as_str(), "*"] {
            let headers = [("If-None-Match", condition)];
            let response = get(&server, &target, &headers);
            assert_not_modified(&response, &what(&target, &headers), &etag);
        }
        for condition in ["\"nope\"", "W/\"nope\", \"other\""] {
            let headers = [("If-None-Match", condition)];
            assert_whole(
                &get(&server, &target, &headers),
                &what(&target, &headers),
                &pattern(),
            );
        }
    }
}

#[test]
fn if_modified_since_gives_304_unless_the_file_is_newer() {
    let server = Server::start();
    set_mtime(&server.root().join(PATTERN), NOON, 250_000_000);
    let whole = pattern();
    for target in addresses(PATTERN) {
        let etag = etag_of(&server, &target);
        for date in [NOON_DATE, DAY_AFTER] {
            let headers = [("If-Modified-Since", date)];
            assert_not_modified(
                &get(&server, &target, &headers),
                &what(&target, &headers),
                &etag,
            );
        }
        for date in [DAY_BEFORE, "not a date", "2020-01-02T00:00:00Z", ""] {
            let headers = [("If-Modified-Since", date)];
            assert_whole(
                &get(&server, &target, &headers),
                &what(&target, &headers),
                &whole,
            );
        }
        // If-None-Match decides when both are present (RFC 9110 §13.1.3).
        let both = [
            ("If-None-Match", "\"nope\""),
            ("If-Modified-Since", DAY_AFTER),
        ];
        assert_whole(&get(&server, &target, &both), &what(&target, &both), &whole);
    }
}

#[test]
fn a_same_size_rewrite_within_the_same_second_gets_a_new_etag() {
    let server = Server::start();
    let path = server.tree().write("same-second.txt", b"first version\n");
    set_mtime(&path, NOON, 100_000_000);
    let [web, api, _] = addresses("same-second.txt");
    let before = get(&server, &web, &[]);
    let old = before.header("etag").expect("an ETag").to_owned();

    fs::write(&path, b"other version\n").expect("rewrite");
    set_mtime(&path, NOON, 600_000_000);
    for target in [&web, &api] {
        let after = get(&server, target, &[]);
        assert_eq!(after.body, b"other version\n", "{target}");
        assert_eq!(
            after.header("last-modified"),
            before.header("last-modified"),
            "{target}: the same second"
        );
        let new = after.header("etag").expect("an ETag");
        assert_ne!(
            new, old,
            "{target}: same size, same second, yet a new version"
        );
        let headers = [("If-None-Match", old.as_str())];
        let revalidated = get(&server, target, &headers);
        assert_eq!(revalidated.status, 200, "{}", what(target, &headers));
        assert_eq!(revalidated.body, b"other version\n");
    }
}

// ---------------------------------------------------------------- HEAD

/// Headers that must match between HEAD and GET, sorted: all but `Date`.
fn comparable(response: &Response) -> Vec<(String, String)> {
    let mut headers: Vec<_> = response
        .headers
        .iter()
        .filter(|(name, _)| name != "date")
        .cloned()
        .collect();
    headers.sort();
    headers
}

/// A request to compare: address, extra headers, expected status.
type Case<'a> = (String, Vec<(&'a str, &'a str)>, u16);

#[test]
fn head_agrees_with_get_for_200_206_304_404_and_416() {
    let server = Server::start();
    let etag = etag_of(&server, &format!("/{PATTERN}"));
    let cases: Vec<Case> = addresses(PATTERN)
        .into_iter()
        .flat_map(|target| {
            [
                (target.clone(), vec![], 200),
                (target.clone(), vec![("Range", "bytes=100-199")], 206),
                (target.clone(), vec![("Range", "bytes=-10")], 206),
                (target.clone(), vec![("If-None-Match", etag.as_str())], 304),
                (target.clone(), vec![("If-None-Match", "*")], 304),
                (target.clone(), vec![("Range", "bytes=999999-")], 416),
                (target.clone(), vec![("Range", "bytes=0-1,5-6")], 200),
            ]
        })
        .chain([
            ("/no-such-file".to_owned(), vec![], 404),
            ("/api/1/no-such-file".to_owned(), vec![], 404),
            (
                "/no-such-file".to_owned(),
                vec![("Range", "bytes=0-1")],
                404,
            ),
        ])
        .collect();
    for (target, headers, status) in &cases {
        let context = what(target, headers);
        let get = get(&server, target, headers);
        let head = head(&server, target, headers);
        assert_eq!(get.status, *status, "{context}: {}", get.text());
        assert_eq!(head.status, get.status, "HEAD vs {context}");
        assert_eq!(comparable(&head), comparable(&get), "HEAD vs {context}");
    }
}

// ---------------------------------------------------------------- connections

#[test]
fn several_requests_are_answered_over_one_connection() {
    let server = Server::start();
    let etag = etag_of(&server, &format!("/{PATTERN}"));
    let whole = pattern();
    let mut connection = KeepAlive::open(server.addr());

    let hello = connection.exchange("GET", "/hello.txt", &[]);
    assert_eq!(
        (hello.status, hello.body.as_slice()),
        (200, &b"hello world\n"[..])
    );
    let head = connection.exchange("HEAD", &format!("/{PATTERN}"), &[]);
    assert_eq!(head.header("content-length"), Some("300001"));
    let range = connection.exchange(
        "GET",
        &format!("/api/1/{PATTERN}"),
        &[("Range", "bytes=5-9")],
    );
    assert_partial(&range, "range on a kept-alive connection", 5, 9, &whole);
    let cached = connection.exchange(
        "GET",
        &format!("/{PATTERN}"),
        &[("If-None-Match", etag.as_str())],
    );
    assert_not_modified(&cached, "304 on a kept-alive connection", &etag);
    let missing = connection.exchange("GET", "/no-such-file", &[]);
    assert_eq!(missing.status, 404);
    let listing = connection.exchange("GET", "/api/1/?cmd=list", &[]);
    assert_eq!(listing.status, 200);
    let full = connection.exchange("GET", &format!("/{PATTERN}"), &[]);
    assert_whole(&full, "a large body on a kept-alive connection", &whole);
    for response in [&hello, &head, &range, &cached, &missing, &listing, &full] {
        let connection_header = response.header("connection").unwrap_or_default();
        assert!(
            !connection_header.eq_ignore_ascii_case("close"),
            "{response:?}"
        );
    }
    assert!(
        !connection.closed_within(Duration::from_millis(300)),
        "the server closed a kept-alive connection"
    );

    let last = connection.exchange("GET", "/hello.txt", &[("Connection", "close")]);
    assert_eq!(last.status, 200);
    assert!(
        connection.closed_within(Duration::from_secs(5)),
        "`Connection: close` was not honoured"
    );
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let server = Server::start();
    let mut connection = KeepAlive::open(server.addr());
    let addr = server.addr();
    let mut burst = Vec::new();
    burst.extend(wire::request_head(addr, "GET", "/hello.txt", &[]));
    burst.extend(wire::request_head(addr, "HEAD", "/pattern.bin", &[]));
    burst.extend(wire::request_head(addr, "GET", "/sub/readme.txt", &[]));
    connection
        .stream()
        .write_all(&burst)
        .expect("send three requests");
    let first = connection.read_response(false).expect("first answer");
    let second = connection.read_response(true).expect("second answer");
    let third = connection.read_response(false).expect("third answer");
    assert_eq!(first.body, b"hello world\n");
    assert_eq!(second.header("content-length"), Some("300001"));
    assert_eq!(third.body, b"the sub folder\n");
}

#[test]
fn a_client_sending_one_byte_a_second_is_cut_off() {
    let server = Server::builder()
        .args([
            "--header-timeout".to_owned(),
            format!("{}s", HEADER_TIMEOUT.as_secs()),
        ])
        .start();
    let mut slow = KeepAlive::open(server.addr());
    let padding = "x".repeat(200);
    let request = format!(
        "GET /hello.txt HTTP/1.1\r\nHost: {}\r\nX-Slow: {padding}\r\n\r\n",
        server.addr()
    );
    let limit = HEADER_TIMEOUT + Duration::from_secs(15);
    let started = Instant::now();
    let mut sent = 0;
    let mut checked_others = false;
    let cut_off = loop {
        assert!(
            started.elapsed() < limit,
            "a client sending one byte a second held its connection for {limit:?} ({sent} bytes sent)"
        );
        if slow
            .stream()
            .write_all(&request.as_bytes()[sent..=sent])
            .is_err()
        {
            break started.elapsed();
        }
        sent += 1;
        if !checked_others && sent == 3 {
            // Meanwhile other clients are served at once.
            let quick = Instant::now();
            assert_eq!(server.get("/hello.txt").status, 200);
            assert!(
                quick.elapsed() < Duration::from_secs(5),
                "a slow client blocks the others"
            );
            checked_others = true;
        }
        if slow.closed_within(Duration::from_secs(1)) {
            break started.elapsed();
        }
    };
    assert!(sent < request.len(), "the whole request went through");
    eprintln!("the slow client was cut off after {cut_off:?} and {sent} bytes");
    assert_eq!(
        server.get("/hello.txt").status,
        200,
        "the server is still up"
    );
}

/// How one of many simultaneous clients fared.
#[derive(Debug)]
enum Fate {
    Answered,
    /// Refused cleanly: no connection, a close or reset before any answer,
    /// or 503.
    Refused(String),
    /// Anything else: a wrong or partial answer.
    Broken(String),
}

fn crowd_member(addr: SocketAddr, start: &Barrier) -> Fate {
    let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(10));
    // Everyone connects first, then everyone asks at once.
    start.wait();
    let mut stream = match stream {
        Ok(stream) => stream,
        Err(e) => return Fate::Refused(format!("connect: {e}")),
    };
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .expect("set read timeout");
    let request = format!("GET /hello.txt HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    if let Err(e) = stream.write_all(request.as_bytes()) {
        return Fate::Refused(format!("send: {e}"));
    }
    let mut answer = Vec::new();
    match stream.read_to_end(&mut answer) {
        Err(e) if answer.is_empty() && e.kind() == io::ErrorKind::ConnectionReset => {
            return Fate::Refused("reset before answering".into());
        }
        Err(e) if answer.is_empty() => return Fate::Broken(format!("read: {e}")),
        _ => {}
    }
    let text = String::from_utf8_lossy(&answer);
    if answer.is_empty() {
        Fate::Refused("closed without answering".into())
    } else if text.starts_with("HTTP/1.1 503") {
        Fate::Refused("503".into())
    } else if text.starts_with("HTTP/1.1 200") && text.ends_with("\r\n\r\nhello world\n") {
        Fate::Answered
    } else {
        Fate::Broken(text.chars().take(300).collect())
    }
}

#[test]
fn a_hundred_simultaneous_connections_are_answered_or_cleanly_refused() {
    const CLIENTS: usize = 100;
    let server = Server::start();
    let addr = server.addr();
    let start = Arc::new(Barrier::new(CLIENTS));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let start = Arc::clone(&start);
            thread::spawn(move || crowd_member(addr, &start))
        })
        .collect();
    let (mut answered, mut refused, mut broken) = (0, Vec::new(), Vec::new());
    for client in clients {
        match client.join().expect("client thread") {
            Fate::Answered => answered += 1,
            Fate::Refused(why) => refused.push(why),
            Fate::Broken(what) => broken.push(what),
        }
    }
    assert!(
        broken.is_empty(),
        "{} broken answers: {broken:#?}",
        broken.len()
    );
    assert!(answered > 0, "nobody was answered; refused: {refused:?}");
    eprintln!("{answered} of {CLIENTS} answered; refused cleanly: {refused:?}");
    assert_eq!(
        server.get("/hello.txt").status,
        200,
        "the server is still up"
    );
}
