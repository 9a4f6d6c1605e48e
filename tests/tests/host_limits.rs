//! The host's limits (security review): one client cannot hold every
//! instance, an idle request body is cut off, a client that sends no
//! request head is let go, each of these is set on the command line
//! (`--max-requests`, `--max-per-client`, `--idle-timeout`,
//! `--header-timeout`), every request is logged even when its client hangs
//! up, an oversized permissions file is refused, and a large folder still
//! lists.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

use integration_tests::{Server, run_httpuploader};
use socket2::{Domain, Protocol, Socket, Type};

/// A server where everything is allowed.
fn open_server() -> Server {
    Server::builder().config("[DEFAULT]\nallow = all\n").start()
}

/// The second loopback address, standing for another client.
const OTHER_CLIENT: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));

/// The `--idle-timeout` and `--header-timeout` of the servers below that
/// set them (the defaults, 30 s, are checked by the host's unit tests).
const SHORT_TIMEOUT: Duration = Duration::from_secs(2);

/// A server where everything is allowed, with `args` added.
fn server_with(args: &[&str]) -> Server {
    Server::builder()
        .config("[DEFAULT]\nallow = all\n")
        .args(args.iter().copied())
        .start()
}

/// Connects to `server` from `source` (port chosen by the system).
fn connect_from(source: IpAddr, server: SocketAddr) -> TcpStream {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP)).expect("socket");
    socket
        .bind(&SocketAddr::new(source, 0).into())
        .expect("bind 127.0.0.2 (Linux routes all of 127/8 to lo)");
    socket
        .connect_timeout(&server.into(), Duration::from_secs(5))
        .expect("connect");
    let stream: TcpStream = socket.into();
    stream.set_nodelay(true).expect("nodelay");
    stream
}

/// Sends the head of a raw upload of 1000 bytes to `target` and the first
/// two of them, then leaves the request hanging.
fn start_stalled_upload(mut stream: TcpStream, addr: SocketAddr, target: &str) -> TcpStream {
    let head = format!(
        "POST {target} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/octet-stream\r\n\
         Content-Length: 1000\r\nConnection: close\r\n\r\nab"
    );
    stream.write_all(head.as_bytes()).expect("send head");
    stream
}

/// `GET /api/health` on a fresh connection from 127.0.0.1, with a deadline.
fn health_within(addr: SocketAddr, limit: Duration) -> String {
    let mut stream = TcpStream::connect_timeout(&addr, limit).expect("connect");
    stream.set_read_timeout(Some(limit)).expect("read timeout");
    let request = format!("GET /api/health HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).expect("send");
    let mut answer = String::new();
    let started = Instant::now();
    let _ = stream.read_to_string(&mut answer);
    assert!(
        started.elapsed() < limit && answer.starts_with("HTTP/1.1 200"),
        "/api/health did not answer within {limit:?}: {answer:?}"
    );
    answer
}

/// `GET /api/health` answers, but only after a while (at least 1 s): the
/// one request slot was held until a timeout freed it. `held` says what
/// it means if the answer came at once.
fn health_once_the_slot_is_free(addr: SocketAddr, held: &str) {
    let started = Instant::now();
    health_within(addr, Duration::from_secs(20));
    let waited = started.elapsed();
    assert!(waited >= Duration::from_secs(1), "{held} ({waited:?})");
}

/// The names of upload temporaries (`.httpuploader-*.part`) in `dir`.
fn part_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .expect("read dir")
        .map(|entry| {
            entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|name| name.starts_with(".httpuploader-") && name.ends_with(".part"))
        .collect()
}

#[test]
fn stalled_uploads_from_one_client_do_not_stall_the_others() {
    let server = open_server();
    let addr = server.addr();
    // More stalled uploads than the server has instances (64), all from
    // 127.0.0.2: that client gets 16 at a time, the rest wait.
    let stalled: Vec<TcpStream> = (0..70)
        .map(|n| {
            let stream = connect_from(OTHER_CLIENT, addr);
            start_stalled_upload(stream, addr, &format!("/api/1/sub/slow{n}.txt?cmd=upload"))
        })
        .collect();
    // Let them all reach the server and take what they can.
    std::thread::sleep(Duration::from_millis(500));
    for _ in 0..3 {
        health_within(addr, Duration::from_secs(5));
    }
    // The stalled client is not shut out either: its extra requests queue.
    drop(stalled);
    health_within(addr, Duration::from_secs(5));
}

#[test]
fn a_stalled_upload_body_is_cut_after_the_idle_timeout() {
    let server = server_with(&["--idle-timeout", "2s"]);
    let addr = server.addr();
    let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).expect("connect");
    let mut stream = start_stalled_upload(stream, addr, "/api/1/sub/stalled.txt?cmd=upload");
    // The server answers (an error) or closes once it gives up on the body.
    let (answer, waited) = read_until_closed(&mut stream, SHORT_TIMEOUT + Duration::from_secs(20));
    assert!(
        waited >= SHORT_TIMEOUT - Duration::from_millis(500),
        "cut after only {waited:?}"
    );
    assert!(
        answer.starts_with("HTTP/1.1 408") && answer.contains("/sub/stalled.txt"),
        "a stalled upload is not answered 408 naming its path: {answer}"
    );
    let sub = server.root().join("sub");
    assert!(!sub.join("stalled.txt").exists(), "the cut upload was kept");
    // The guest removes its temporary as it finishes, just after answering.
    let deadline = Instant::now() + Duration::from_secs(5);
    while !part_files(&sub).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(part_files(&sub), Vec::<String>::new());
}

#[test]
fn a_stalled_multipart_upload_is_answered_408_and_saves_nothing() {
    let server = server_with(&["--idle-timeout", "2s"]);
    let addr = server.addr();
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).expect("connect");
    let head = format!(
        "POST /api/1/sub?cmd=upload HTTP/1.1\r\nHost: {addr}\r\n\
         Content-Type: multipart/form-data; boundary=XyZ\r\nContent-Length: 1000\r\n\
         Connection: close\r\n\r\n--XyZ\r\n\
         Content-Disposition: form-data; name=\"f\"; filename=\"form.txt\"\r\n\r\nthe start"
    );
    stream.write_all(head.as_bytes()).expect("send");
    let (answer, _) = read_until_closed(&mut stream, SHORT_TIMEOUT + Duration::from_secs(20));
    assert!(
        answer.starts_with("HTTP/1.1 408") && answer.contains("form.txt"),
        "{answer}"
    );
    assert!(!server.root().join("sub/form.txt").exists());
}

/// Reads from `stream` until the server closes it (or `limit` passes);
/// returns what arrived and how long it took.
fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> (String, Duration) {
    stream.set_read_timeout(Some(limit)).expect("read timeout");
    let started = Instant::now();
    let mut answer = Vec::new();
    let read = stream.read_to_end(&mut answer);
    let waited = started.elapsed();
    assert!(
        read.is_ok(),
        "the server kept the connection open for {waited:?}: {read:?}"
    );
    (String::from_utf8_lossy(&answer).into_owned(), waited)
}

#[test]
fn a_client_that_sends_no_request_head_is_let_go_after_the_header_timeout() {
    let server = server_with(&["--header-timeout", "2s"]);
    let addr = server.addr();

    // Half a request line, then nothing.
    let mut partial = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).expect("connect");
    partial.write_all(b"GET /api/he").expect("send");
    let (_, waited) = read_until_closed(&mut partial, Duration::from_secs(20));
    assert!(
        waited >= SHORT_TIMEOUT - Duration::from_millis(500),
        "closed after only {waited:?}"
    );

    // A keep-alive connection that has been answered, then goes quiet.
    let mut idle = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).expect("connect");
    let request = format!("GET /api/health HTTP/1.1\r\nHost: {addr}\r\n\r\n");
    idle.write_all(request.as_bytes()).expect("send");
    let (answer, _) = read_until_closed(&mut idle, Duration::from_secs(20));
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");

    // The server itself is fine.
    health_within(addr, Duration::from_secs(5));
}

/// A server started with `args` and a 2 s idle timeout, and a stalled
/// upload from [`OTHER_CLIENT`] that holds one request slot until then.
fn holding_one_upload(args: &[&str]) -> (Server, TcpStream) {
    let server = server_with(&[args, &["--idle-timeout", "2s"]].concat());
    let addr = server.addr();
    let stream = connect_from(OTHER_CLIENT, addr);
    let stalled = start_stalled_upload(stream, addr, "/api/1/sub/held.txt?cmd=upload");
    std::thread::sleep(Duration::from_millis(300));
    (server, stalled)
}

#[test]
fn max_per_client_queues_a_clients_extra_requests_but_no_one_elses() {
    let (server, _stalled) = holding_one_upload(&["--max-per-client", "1"]);
    let addr = server.addr();

    // Another address is answered at once.
    health_within(addr, Duration::from_secs(5));

    // The same address waits until its one slot is free: the stalled
    // upload is cut after the idle timeout, then this is answered.
    let mut second = connect_from(OTHER_CLIENT, addr);
    let request = format!("GET /api/health HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    second.write_all(request.as_bytes()).expect("send");
    let (answer, waited) = read_until_closed(&mut second, Duration::from_secs(20));
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        waited >= Duration::from_secs(1),
        "a second request from the same client ran at once ({waited:?})"
    );
    assert!(!server.root().join("sub/held.txt").exists());
}

#[test]
fn max_requests_caps_the_whole_server() {
    let (server, _stalled) = holding_one_upload(&["--max-requests", "1"]);
    let addr = server.addr();

    // The one instance is taken: even another client waits for it.
    health_once_the_slot_is_free(addr, "a second request ran beside the first");
}

#[test]
fn bad_limits_are_refused_at_start() {
    for args in [
        ["--max-requests", "0"],
        ["--max-per-client", "100000"],
        ["--header-timeout", "0s"],
        ["--idle-timeout", "soon"],
    ] {
        let outcome = run_httpuploader(
            ["-p", "0", "-b", "127.0.0.1"].into_iter().chain(args),
            Duration::from_secs(20),
        );
        assert_eq!(
            outcome.status.and_then(|s| s.code()),
            Some(2),
            "{args:?}: {outcome:?}"
        );
        assert!(
            outcome.stderr.contains(args[0]),
            "{args:?}: the error does not name the option: {}",
            outcome.stderr
        );
    }
}

/// The access-log lines that contain `marker`.
fn lines_with(log: &str, marker: &str) -> Vec<String> {
    log.lines()
        .filter(|l| l.contains(marker))
        .map(str::to_owned)
        .collect()
}

#[test]
fn requests_whose_client_hangs_up_are_logged_once() {
    let server = open_server();
    let addr = server.addr();

    // 1. Gone mid-body: the guest answers a read error, perhaps to no one.
    let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).expect("connect");
    let stream = start_stalled_upload(stream, addr, "/api/1/sub/gone-marker.txt?cmd=upload");
    std::thread::sleep(Duration::from_millis(300));
    stream.shutdown(std::net::Shutdown::Both).expect("hang up");
    drop(stream);

    // 2. Gone before the head, while the guest deletes a large folder.
    let big = server.root().join("big-delete-marker");
    std::fs::create_dir(&big).expect("mkdir");
    for n in 0..8_000 {
        std::fs::File::create(big.join(format!("f{n}"))).expect("create");
    }
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).expect("connect");
    let request = format!("DELETE /api/1/big-delete-marker HTTP/1.1\r\nHost: {addr}\r\n\r\n");
    stream.write_all(request.as_bytes()).expect("send");
    // Once the guest is at work (a hang-up before the request is read
    // only closes the connection).
    std::thread::sleep(Duration::from_millis(100));
    stream.shutdown(std::net::Shutdown::Both).expect("hang up");
    drop(stream);

    // 3. A complete request for comparison.
    assert_eq!(server.get("/sub/readme.txt").status, 200);

    let log = server.wait_for_stderr(Duration::from_secs(20), |log| {
        ["gone-marker", "big-delete-marker", "GET /sub/readme.txt"]
            .iter()
            .all(|marker| log.contains(marker))
    });
    let gone = lines_with(&log, "gone-marker");
    assert_eq!(gone.len(), 1, "expected one line, got {gone:?}");
    assert!(
        gone[0].contains("POST /api/1/sub/gone-marker.txt?cmd=upload\" 4"),
        "{}",
        gone[0]
    );

    let deleted = lines_with(&log, "big-delete-marker");
    assert_eq!(deleted.len(), 1, "expected one line, got {deleted:?}");
    assert!(
        deleted[0].contains("DELETE /api/1/big-delete-marker\" 2"),
        "{}",
        deleted[0]
    );
    // Usually ` client gone`; a busy machine may let the 204 reach the
    // socket before the hang-up is noticed, and then it was sent.
    assert!(!big.exists(), "the guest did not finish the delete");

    let complete = lines_with(&log, "GET /sub/readme.txt");
    assert_eq!(complete.len(), 1, "{complete:?}");
    assert!(!complete[0].contains("client gone"), "{}", complete[0]);

    // Nothing more is logged for them later.
    std::thread::sleep(Duration::from_millis(500));
    let again = server.stderr();
    assert_eq!(lines_with(&again, "gone-marker").len(), 1, "{again}");
    assert_eq!(lines_with(&again, "big-delete-marker").len(), 1, "{again}");
}

#[test]
fn a_huge_permissions_file_is_refused_at_start() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("huge-perms.ini");
    let line = "# a comment line that pads the file\n";
    std::fs::write(&config, line.repeat((2 << 20) / line.len())).expect("write config");
    let outcome = run_httpuploader(
        [
            "-b".as_ref(),
            "127.0.0.1".as_ref(),
            "-p".as_ref(),
            "0".as_ref(),
            "-d".as_ref(),
            dir.path().as_os_str(),
            "-c".as_ref(),
            config.as_os_str(),
        ],
        Duration::from_secs(20),
    );
    let status = outcome.status.expect("it exits at once");
    assert_eq!(status.code(), Some(2), "{outcome:?}");
    assert!(
        outcome.stderr.contains("huge-perms.ini"),
        "{}",
        outcome.stderr
    );
    assert!(outcome.stderr.contains("larger than"), "{}", outcome.stderr);
    assert!(!outcome.stdout.contains("http://"), "{}", outcome.stdout);
}

#[test]
fn a_folder_of_25000_files_lists_as_json() {
    const FILES: usize = 25_000;
    let server = Server::start();
    let many = server.root().join("many");
    std::fs::create_dir(&many).expect("mkdir");
    for n in 0..FILES {
        std::fs::File::create(many.join(format!("file-{n:05}.txt"))).expect("create");
    }
    let started = Instant::now();
    let response = server.get("/api/1/many");
    assert_eq!(response.status, 200, "{}", response.text());
    let json = response.json();
    let text = json.to_string();
    assert!(text.contains("file-00000.txt") && text.contains("file-24999.txt"));
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn a_client_that_stops_reading_a_download_lets_go_of_its_slot() {
    // Far more than the socket buffers and the response queue hold.
    let builder = Server::builder().args(["--max-requests", "1", "--idle-timeout", "2s"]);
    builder.tree().write("big.bin", &vec![7u8; 64 << 20]);
    let server = builder.start();
    let addr = server.addr();
    let mut reader = connect_from(OTHER_CLIENT, addr);
    let request = format!("GET /big.bin HTTP/1.1\r\nHost: {addr}\r\n\r\n");
    reader.write_all(request.as_bytes()).expect("send");
    // It reads nothing from here on, but holds the connection open.
    std::thread::sleep(Duration::from_millis(300));

    // The one instance is let go once writing to it has stalled that long.
    health_once_the_slot_is_free(addr, "the stalled download did not hold its slot at all");
    drop(reader);
}

/// Starts a server with a 1 s idle timeout sharing an 8 MiB file (more
/// than the socket buffers hold, so the server waits on its reader), and
/// asks for it; returns the server, the connection and the content.
fn slow_download_started(step: u32) -> (Server, TcpStream, Vec<u8>) {
    let content: Vec<u8> = (0..8u32 << 20).map(|i| (i % step) as u8).collect();
    let builder = Server::builder().args(["--idle-timeout", "1s"]);
    builder.tree().write("slow.bin", &content);
    let server = builder.start();
    let addr = server.addr();
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("read timeout");
    let request = format!("GET /slow.bin HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).expect("send");
    (server, stream, content)
}

/// Checks that `answer` is a 200 carrying exactly `content`.
fn assert_whole_download(answer: &[u8], content: &[u8], cut_off: &str) {
    let body_at = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a response head")
        + 4;
    assert!(answer.starts_with(b"HTTP/1.1 200"));
    assert_eq!(answer.len() - body_at, content.len(), "{cut_off}");
    assert!(answer[body_at..] == content[..], "the body differs");
}

#[test]
fn a_slow_but_steady_reader_gets_the_whole_download() {
    let (_server, mut stream, content) = slow_download_started(251);
    // About 1 MB/s: far slower than the server sends, never idle for long.
    let mut answer = Vec::new();
    let mut piece = vec![0u8; 32 * 1024];
    let started = Instant::now();
    loop {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the download took too long"
        );
        match stream.read(&mut piece).expect("read") {
            0 => break,
            n => answer.extend_from_slice(&piece[..n]),
        }
        std::thread::sleep(Duration::from_millis(30));
    }
    assert_whole_download(&answer, &content, "a steady reader was cut off");
}

#[test]
fn a_reader_slower_than_the_buffers_drain_still_counts_as_moving() {
    // ~128 KB/s against a 1 s idle timeout: the socket is writable again
    // only after ~190 KiB were taken (TCP_NOTSENT_LOWAT), more than this
    // reader takes in a second; its acknowledgements show it moving.
    let (_server, mut stream, content) = slow_download_started(253);
    let mut answer = Vec::new();
    let mut piece = vec![0u8; 6400];
    let slow_until = Instant::now() + Duration::from_secs(5);
    while Instant::now() < slow_until {
        match stream.read(&mut piece).expect("read slowly") {
            0 => break,
            n => answer.extend_from_slice(&piece[..n]),
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    stream.read_to_end(&mut answer).expect("read the rest");
    assert_whole_download(&answer, &content, "a slow reader was cut off");
}
